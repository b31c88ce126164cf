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
 *
 * The `fetch` it returns also carries, under the `POSTER` symbol, a leaner way to POST over the
 * same agents, which `HttpAcceptor` uses instead of `fetch` for its unary calls and batches: no
 * `Headers`, `Response` or `AbortSignal` per request, the URL parsed once per endpoint, and
 * shared event handlers (the request's state hangs on the request) instead of closures per
 * request. It cost 150 to 300 µs of CPU per request less than the `fetch` path when measured.
 * And it carries, under `STREAM_OPENER`, the client end of the acceptor stream (`/v2/stream`),
 * over which `HttpAcceptor` sends its prepares and accepts when the server has it.
 */
import { Agent as HttpAgent, type ClientRequest, type RequestOptions, request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { InvalidArgumentError } from '../errors.js';
import { integerOption } from '../internal/validate.js';
import { POSTER, type PendingPost, type PostReply, type Poster, STREAM_OPENER, identityOf } from './poster.js';
import { frameStreamOpener } from './frame-stream.js';

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
  /**
   * Certificate authorities (PEM) that `https://` acceptors' certificates must chain to, instead of
   * Node's bundled ones: a private CA. Certificates are always verified; there is no option to
   * turn that off.
   * @default Node's bundled authorities (and NODE_EXTRA_CA_CERTS)
   */
  readonly ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined;
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
  const ca = options.ca === undefined ? undefined : (Array.isArray(options.ca) ? options.ca : [options.ca]).map((c: string | Uint8Array) => (typeof c === 'string' ? c : Buffer.from(c)));
  const http = new HttpAgent(agentOptions);
  const https = new HttpsAgent({ ...agentOptions, ...(ca === undefined ? {} : { ca }) });

  const f = ((input: string | URL | Request, init: RequestInit = {}): Promise<Response> =>
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
  Object.defineProperty(f, POSTER, { value: leanPoster(http, https) });
  Object.defineProperty(f, STREAM_OPENER, { value: frameStreamOpener(ca === undefined ? {} : { ca }) });
  return f;
}

/** Where a lean post keeps its state: on the request and the response, for the shared handlers. */
const POST = Symbol('caspaxos.post');

type Carrier = { [POST]?: LeanPost };

/** A request of the lean `Poster`: the promise's settle functions and the reply's chunks. */
class LeanPost implements PendingPost {
  readonly reply: Promise<PostReply>;
  resolve!: (reply: PostReply) => void;
  reject!: (error: unknown) => void;
  req: ClientRequest | undefined;
  chunks: Buffer[] = [];
  size = 0;
  status = 0;
  identity: { cluster?: string; incarnation?: string } = {};

  constructor() {
    this.reply = new Promise<PostReply>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  cancel(reason: Error): void {
    this.req?.destroy(reason);
    this.reject(reason);
  }
}

function onResponse(this: ClientRequest, res: IncomingMessage): void {
  const post = (this as Carrier)[POST] as LeanPost;
  post.status = res.statusCode ?? 500;
  post.identity = identityOf((name) => res.headers[name]);
  (res as Carrier)[POST] = post;
  res.on('data', onData);
  res.once('end', onEnd);
  res.once('error', onError);
}

function onData(this: IncomingMessage, chunk: Buffer): void {
  const post = (this as Carrier)[POST] as LeanPost;
  post.chunks.push(chunk);
  post.size += chunk.length;
}

function onEnd(this: IncomingMessage): void {
  const post = (this as Carrier)[POST] as LeanPost;
  const text = post.chunks.length === 1 ? (post.chunks[0] as Buffer).toString('utf8') : Buffer.concat(post.chunks, post.size).toString('utf8');
  post.resolve({ status: post.status, text, ...post.identity });
}

function onError(this: ClientRequest | IncomingMessage, error: Error): void {
  ((this as Carrier)[POST] as LeanPost).reject(error);
}

/** The most endpoints whose parsed URL a poster remembers (an acceptor has a handful). */
const MAX_TARGETS = 256;

function leanPoster(http: HttpAgent, https: HttpsAgent): Poster {
  const targets = new Map<string, { options: RequestOptions; secure: boolean }>();
  const target = (url: string): { options: RequestOptions; secure: boolean } => {
    let t = targets.get(url);
    if (t === undefined) {
      const parsed = new URL(url);
      const secure = parsed.protocol === 'https:';
      t = { secure, options: { protocol: parsed.protocol, hostname: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port, path: parsed.pathname + parsed.search, method: 'POST', agent: secure ? https : http } };
      if (targets.size >= MAX_TARGETS) targets.clear();
      targets.set(url, t);
    }
    return t;
  };
  return (url, headers, body) => {
    const post = new LeanPost();
    try {
      const { options, secure } = target(url);
      const req = (secure ? httpsRequest : httpRequest)({ ...options, headers: { ...headers, 'content-length': Buffer.byteLength(body) } });
      (req as Carrier)[POST] = post;
      post.req = req;
      req.once('response', onResponse);
      req.once('error', onError);
      req.end(body);
    } catch (error) {
      post.reject(error);
    }
    return post;
  };
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
