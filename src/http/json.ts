/**
 * Small pieces every JSON HTTP server of this package needs: reading a bounded JSON body, sending
 * a JSON answer, and checking the shared secret in constant time.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerOptions, ServerResponse } from 'node:http';
import { checkSecret } from './wire.js';
import { readBody } from './request-body.js';

export type JsonBodyResult =
  | { readonly type: 'json'; readonly value: Record<string, unknown> }
  | { readonly type: 'too-large' }
  | { readonly type: 'invalid'; readonly message: string };

/** Reads `req`'s body (at most `limit` bytes) as one JSON object. An empty body is `{}`. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<JsonBodyResult> {
  const body = await readBody(req, limit);
  if (body.type === 'too-large') return body;
  if (body.type !== 'body') return { type: 'invalid', message: body.type === 'not-utf8' ? 'the body is not UTF-8' : 'the request was aborted' };
  if (body.text.trim() === '') return { type: 'json', value: {} };
  let value: unknown;
  try {
    value = JSON.parse(body.text);
  } catch (error) {
    return { type: 'invalid', message: `the body is not JSON: ${(error as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { type: 'invalid', message: 'the body must be a JSON object' };
  return { type: 'json', value: value as Record<string, unknown> };
}

/** Sends `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

/**
 * Resolves once `res` can take more data, or is closed (a client that went away never drains:
 * waiting for `'drain'` alone would hang the handler).
 */
export function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** True when a request's `Authorization` header carries the secret (always true without one). */
export type SecretCheck = (authorization: string | undefined) => boolean;

/**
 * A check of `Authorization: Bearer <secret>` in constant time. Both sides are hashed first:
 * digests of equal length, so `timingSafeEqual` never sees lengths differ (which it would report
 * by throwing, early) and the time taken says nothing about the secret. `InvalidArgumentError`
 * for an empty or non-string secret.
 */
export function secretCheck(secret: string | undefined): SecretCheck {
  if (secret === undefined) return () => true;
  const expected = sha256(checkSecret(secret));
  return (authorization) => {
    if (authorization === undefined) return false;
    // RFC 6750: `Bearer` (case-insensitive) and the token, separated by one or more spaces.
    const match = /^bearer +(\S+)$/i.exec(authorization);
    return match !== null && timingSafeEqual(sha256(match[1] as string), expected);
  };
}

function sha256(text: string): Buffer {
  // The one-shot `hash` (Node 20.12+) costs half what a `Hash` object does; this runs per request.
  return hash('sha256', text, 'buffer');
}

/**
 * The `node:http` options that bound how long a client may hold a connection: the whole request
 * within `receiveTimeoutMs` (else 408), its headers within `headersTimeoutMs` (a slow-header client
 * is cut), an idle keep-alive connection `keepAliveTimeoutMs`.
 */
export function timeoutOptions(receiveTimeoutMs: number, headersTimeoutMs: number, keepAliveTimeoutMs: number): ServerOptions {
  return {
    requestTimeout: receiveTimeoutMs,
    headersTimeout: headersTimeoutMs,
    keepAliveTimeout: keepAliveTimeoutMs,
    // How often Node checks the two timeouts above (its default, 30 s, would let them overrun).
    connectionsCheckingInterval: Math.min(1000, headersTimeoutMs),
  };
}
