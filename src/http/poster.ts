/**
 * How `HttpAcceptor` sends a request: a `Poster` POSTs a string body and resolves with the status
 * and the whole reply text, and can be cancelled. Two exist:
 * - over any `fetch` (`fetchPoster`): what runs in browsers, and with any `fetch` a caller passes
 *   (test doubles, counters);
 * - over `node:http` directly (`nodeFetch` carries one under the `POSTER` symbol; see
 *   `node-fetch.ts`): no WHATWG `Request`/`Response`/`Headers` per request, no `AbortSignal`;
 *   the request is cut with `cancel`. `HttpAcceptor` uses it whenever its `fetch` has one.
 * Either way the caller runs one timer per request (see `HttpAcceptor`), not a signal per call.
 */
import { CLUSTER_HEADER, INCARNATION_HEADER } from './wire.js';

/** A reply, read whole. */
export interface PostReply {
  readonly status: number;
  readonly text: string;
  /** The reply's `Caspaxos-Cluster` and `Caspaxos-Incarnation` headers (see `wire.ts`, "Identity"). */
  readonly cluster?: string | undefined;
  readonly incarnation?: string | undefined;
}

/** A reply's identity headers, from a lookup of header values by lower-case name. */
export function identityOf(get: (name: string) => string | string[] | null | undefined): { cluster?: string; incarnation?: string } {
  const cluster = get(CLUSTER_HEADER);
  const incarnation = get(INCARNATION_HEADER);
  return {
    ...(typeof cluster === 'string' ? { cluster } : {}),
    ...(typeof incarnation === 'string' ? { incarnation } : {}),
  };
}

/** A request on its way: its reply, and a way to cut it (the reply then rejects with `reason`). */
export interface PendingPost {
  readonly reply: Promise<PostReply>;
  cancel(reason: Error): void;
}

/**
 * POSTs `body` to `url` with `headers`. Failures before a reply reject with the transport's own
 * error (a Node error's `code`, such as `ECONNREFUSED`, says the request was never sent).
 */
export type Poster = (url: string, headers: Readonly<Record<string, string>>, body: string) => PendingPost;

/** Where a `fetch` made by `nodeFetch` carries its lean `Poster`. */
export const POSTER: unique symbol = Symbol.for('caspaxos.http.poster');

/** The lean `Poster` a `fetch` carries, else one over the `fetch` itself. */
export function posterOf(f: typeof fetch): Poster {
  const carried = (f as { [POSTER]?: unknown })[POSTER];
  return typeof carried === 'function' ? (carried as Poster) : fetchPoster(f);
}

/** A `Poster` over any `fetch`. */
export function fetchPoster(f: typeof fetch): Poster {
  return (url, headers, body) => {
    const controller = new AbortController();
    const reply = f(url, { method: 'POST', headers, body, signal: controller.signal }).then(async (response) => ({
      status: response.status,
      text: await response.text(),
      ...identityOf((name) => response.headers.get(name)),
    }));
    return { reply, cancel: (reason) => controller.abort(reason) };
  };
}

/**
 * A persistent framed connection to one acceptor server (`/v2/stream`, see `wire.ts`), opened by
 * `nodeFetch`'s `StreamOpener`. `send` writes one batch body as a frame (queued until the
 * connection is open) and resolves with the reply frame's payload.
 */
export interface FrameStream {
  /**
   * Sends `payload` as a frame. Rejects with `StreamRefused` when the stream never opened (nothing
   * was sent: send it another way), or with the connection's failure once it may have been sent.
   */
  send(payload: string): { readonly reply: Promise<string>; cancel(reason: unknown): void };
  /** True once the stream failed or was closed: open another. */
  readonly closed: boolean;
  close(): void;
}

/**
 * Opens a `FrameStream` to the server at `baseUrl` (no trailing slash), with these headers.
 * `verify`, when given, sees the identity headers of the server's `101` reply: an error it returns
 * refuses the stream (`StreamRefused`) before anything is sent on it.
 */
export type StreamOpener = (
  baseUrl: string,
  headers: Readonly<Record<string, string>>,
  verify?: (identity: { cluster?: string; incarnation?: string }) => Error | undefined,
) => FrameStream;

/** Where a `fetch` made by `nodeFetch` carries its `StreamOpener`. */
export const STREAM_OPENER: unique symbol = Symbol.for('caspaxos.http.stream');

/** The stream could not be opened, so nothing sent on it was sent; `unsupported`: the server has no streams (404). */
export class StreamRefused extends Error {
  constructor(
    readonly unsupported: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StreamRefused';
  }
}

/** The `StreamOpener` a `fetch` carries, if any. */
export function streamOpenerOf(f: typeof fetch): StreamOpener | undefined {
  const carried = (f as { [STREAM_OPENER]?: unknown })[STREAM_OPENER];
  return typeof carried === 'function' ? (carried as StreamOpener) : undefined;
}
