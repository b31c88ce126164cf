/**
 * A `fetch` for `HttpAcceptor` over `node:http`'s keep-alive `Agent`. Node 20's built-in `fetch`
 * (undici) costs more CPU per request: `bench/http-client.mjs` measured 1,570 against 4,280
 * requests/s one at a time (2.7×) and 2,710 against 5,040 with 64 in flight (1.9×), on loopback
 * (bench/results/http-client.json). Proposals send six requests each, so in Node pass
 * `{ fetch: nodeFetch() }` to every `HttpAcceptor` (the CLI does).
 *
 * It implements what `HttpAcceptor` uses of `fetch`: a method, string headers, a string body, an
 * `AbortSignal`, and a `Response` with `status`, `text()`, `json()` and a streaming `body` (watch
 * replies, NDJSON, are streamed; others are read whole first). Failures before a response reject
 * with Node's own error (its `code`, such as `ECONNREFUSED`, tells a request never sent); an abort
 * rejects with the signal's reason.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { InvalidArgumentError } from '../errors.js';
import { integerOption } from '../internal/validate.js';

/** Options of `nodeFetch`. */
export interface NodeFetchOptions {
  /**
   * Connections kept per acceptor (host and port). Requests beyond wait for a free one.
   * @default 32
   */
  readonly maxSockets?: number | undefined;
  /**
   * How long an idle connection stays open, in milliseconds. Keep it below the server's
   * keep-alive timeout (the acceptor server's default is 5000 ms), so the client never reuses a
   * connection the server is closing.
   * @default 4000
   */
  readonly idleTimeoutMs?: number | undefined;
}

/** Replies with no body, by status. */
const NO_BODY = new Set([101, 204, 205, 304]);

/**
 * A `fetch` for `HttpAcceptor` over keep-alive `node:http`/`node:https` agents of its own. Node
 * 20's built-in `fetch` (undici) costs several times more CPU per request (measured on loopback:
 * about 1,100 requests/s one at a time and 2,800 with 64 in flight, against 7,600 and 13,500 this
 * way), and each proposal sends six requests. It implements what `HttpAcceptor` uses of `fetch` (a
 * method, string headers, a string body, an `AbortSignal`, a `Response` with a streaming `body`);
 * failures before a response reject with Node's own error, an abort with the signal's reason.
 * @example
 * ```ts
 * import { HttpAcceptor, nodeFetch } from 'caspaxos/http';
 *
 * const fetch = nodeFetch(); // one agent pool, shared by every acceptor client
 * const acceptor = new HttpAcceptor('http://10.0.0.7:7001', { fetch });
 * ```
 */
export function nodeFetch(options: NodeFetchOptions = {}): typeof fetch {
  const maxSockets = integerOption(options.maxSockets, 'maxSockets', 1, 32);
  const idleTimeoutMs = integerOption(options.idleTimeoutMs, 'idleTimeoutMs', 1, 4000);
  const agentOptions = { keepAlive: true, maxSockets, timeout: idleTimeoutMs, scheduling: 'lifo' as const };
  const http = new HttpAgent(agentOptions);
  const https = new HttpsAgent(agentOptions);

  return ((input: string | URL | Request, init: RequestInit = {}): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
      const signal = init.signal ?? undefined;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const body = init.body ?? undefined;
      if (body !== undefined && typeof body !== 'string') throw new InvalidArgumentError('nodeFetch sends string bodies only');
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, name) => (headers[name] = value));
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
      const secure = url.protocol === 'https:';
      const req = (secure ? httpsRequest : httpRequest)(url, { method: init.method ?? 'GET', headers, agent: secure ? https : http }, (res) => {
        toResponse(res).then(resolve, reject);
      });
      const onAbort = (): void => {
        req.destroy(signal?.reason instanceof Error ? signal.reason : new Error(String(signal?.reason)));
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.once('close', () => signal?.removeEventListener('abort', onAbort));
      req.once('error', reject);
      req.end(body);
    })) as typeof fetch;
}

/** A `Response` for `res`: streamed for NDJSON (watches), read whole otherwise. */
async function toResponse(res: IncomingMessage): Promise<Response> {
  const status = res.statusCode ?? 500;
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  if (NO_BODY.has(status)) {
    res.resume();
    return new Response(null, { status, headers });
  }
  if ((headers.get('content-type') ?? '').startsWith('application/x-ndjson')) {
    return new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, { status, headers });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return new Response(Buffer.concat(chunks), { status, headers });
}
