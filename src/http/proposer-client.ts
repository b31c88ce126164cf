/**
 * Another node's proposer, reached over its proposer API (see `createNodeServer`): what membership
 * change and garbage collection need from every proposer of the cluster (paper §2.3 and §3.1 act
 * on all of them), so a node can run them across the whole cluster. And `watchNodeKey`, a user's
 * watch of a key through a node's user API.
 */
import type { Age } from '../core/age.js';
import type { Ballot } from '../core/ballot.js';
import { CASPaxosError, InvalidArgumentError, UnavailableError, isErrorCode } from '../errors.js';
import { CLUSTER_HEADER, checkSecret, decodeState } from './wire.js';
import { EventStreamReader, type ServerSentEvent } from './event-stream.js';
import { type PostReply, type Poster, posterOf } from './poster.js';
import type { Acceptor, Addresser, CallOptions, ConfigurationChanger, FastForwarder, ProposeResult, ReadOptions } from '../roles.js';

/** Options of `RemoteProposer`. */
export interface RemoteProposerOptions {
  /**
   * The cluster's shared secret, sent as `Authorization: Bearer <secret>`.
   * @default undefined (no `Authorization` header)
   */
  readonly secret?: string | undefined;
  /**
   * How long one call may take.
   * @default 30000
   */
  readonly timeoutMs?: number | undefined;
  /**
   * The cluster this node belongs to, sent as `Caspaxos-Cluster` (a node started with a cluster
   * id refuses proposer calls that do not name it).
   * @default undefined (no header)
   */
  readonly clusterId?: string | undefined;
  /**
   * The `fetch` to call the node with. In Node pass `nodeFetch()` (what `caspaxos node` does):
   * garbage collection calls every peer's `fast-forward-increment` once per collected key, and
   * Node's built-in `fetch` costs several times more CPU per request; `nodeFetch({ ca })` reaches
   * `https://` nodes whose certificates a private CA signed.
   * @default globalThis.fetch
   */
  readonly fetch?: typeof fetch | undefined;
}

/**
 * Another node's proposer, reached over its proposer API (`createNodeServer`): what `growCluster`,
 * `shrinkCluster` and `garbageCollect` need from each proposer of the cluster, since they act on
 * all of them (paper §2.3 and §3.1). Calls that fail reject with the node's `CASPaxosError`
 * (rebuilt from its code) or an `UnavailableError`.
 */
export class RemoteProposer implements ConfigurationChanger, FastForwarder, Addresser {
  /** The node's base URL. */
  readonly address: string;
  readonly #secret: string | undefined;
  readonly #timeoutMs: number;
  readonly #clusterId: string | undefined;
  readonly #fetchImpl: typeof fetch | undefined;
  /** How calls are POSTed: lean over `nodeFetch()`'s agents, else over the `fetch` (see `poster.ts`). */
  #poster: Poster | undefined;
  readonly #headers: Readonly<Record<string, string>>;

  constructor(url: string, options: RemoteProposerOptions = {}) {
    this.address = url.replace(/\/+$/, '');
    this.#secret = options.secret === undefined ? undefined : checkSecret(options.secret);
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#clusterId = options.clusterId;
    this.#fetchImpl = options.fetch;
    this.#headers = {
      'content-type': 'application/json',
      ...(this.#secret === undefined ? {} : { authorization: `Bearer ${this.#secret}` }),
      ...(this.#clusterId === undefined ? {} : { [CLUSTER_HEADER]: this.#clusterId }),
    };
  }

  /** The node's `identityRead`: a read that writes nothing when it can; always the full round with `opts.writeBack`. */
  async identityRead(key: string, opts?: ReadOptions): Promise<ProposeResult> {
    return decodeResult(await this.#post('identity-read', opts?.writeBack === true ? { key, writeBack: true } : { key }, opts));
  }

  async fullIdentityRead(key: string, opts?: CallOptions): Promise<ProposeResult> {
    return decodeResult(await this.#post('full-identity-read', { key }, opts));
  }

  async fastForwardIncrement(key: string, ballot: Ballot, opts?: CallOptions): Promise<Age> {
    return ((await this.#post('fast-forward-increment', { key, ballot }, opts)) as { age: Age }).age;
  }

  async addAccepter(target: Acceptor, opts?: CallOptions): Promise<void> {
    await this.#post('add-accepter', { address: target.address }, opts);
  }

  async addPreparer(target: Acceptor, opts?: CallOptions): Promise<void> {
    await this.#post('add-preparer', { address: target.address }, opts);
  }

  async removePreparer(target: Addresser, opts?: CallOptions): Promise<void> {
    await this.#post('remove-preparer', { address: target.address }, opts);
  }

  async removeAccepter(target: Addresser, opts?: CallOptions): Promise<void> {
    await this.#post('remove-accepter', { address: target.address }, opts);
  }

  async *listKeys(opts?: CallOptions): AsyncIterable<string> {
    const response = await this.#fetch('keys', undefined, opts);
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of response.body ?? []) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line !== '') yield JSON.parse(line) as string;
      }
    }
    if (buffered.trim() !== '') throw new UnavailableError(`${this.address}: the key listing ended mid-line`);
  }

  /**
   * POSTs `body` to the proposer endpoint `action`; resolves with the reply's JSON, rejects as
   * `#fetch` does. Garbage collection calls a peer twice per collected key, so this takes the
   * lean way (`Poster`): one timer and at most one abort listener, no `Response` or signals made.
   */
  async #post(action: string, body: object, opts: CallOptions | undefined): Promise<unknown> {
    const signal = opts?.signal;
    signal?.throwIfAborted();
    this.#poster ??= posterOf(this.#fetchImpl ?? fetch);
    const pending = this.#poster(`${this.address}/v1/proposer/${action}`, this.#headers, JSON.stringify(body));
    const timer = setTimeout(() => pending.cancel(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), this.#timeoutMs);
    const onAbort = (): void => pending.cancel(signal?.reason instanceof Error ? signal.reason : new Error(String(signal?.reason)));
    signal?.addEventListener('abort', onAbort, { once: true });
    let reply: PostReply;
    try {
      reply = await pending.reply;
    } catch (error) {
      signal?.throwIfAborted();
      throw new UnavailableError(`proposer ${this.address} unreachable: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    if (reply.status >= 200 && reply.status < 300) return JSON.parse(reply.text) as unknown;
    let failure: unknown = {};
    try {
      failure = JSON.parse(reply.text);
    } catch {
      // Not JSON (a proxy's error page): the status alone says what failed.
    }
    throw errorFromBody(`proposer ${this.address}`, reply.status, failure);
  }

  async #fetch(action: string, body: object | undefined, opts: CallOptions | undefined): Promise<Response> {
    const signals = [AbortSignal.timeout(this.#timeoutMs), ...(opts?.signal === undefined ? [] : [opts.signal])];
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#secret !== undefined) headers.authorization = `Bearer ${this.#secret}`;
    if (this.#clusterId !== undefined) headers[CLUSTER_HEADER] = this.#clusterId;
    let response: Response;
    try {
      response = await (this.#fetchImpl ?? fetch)(`${this.address}/v1/proposer/${action}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.any(signals),
      });
    } catch (error) {
      opts?.signal?.throwIfAborted();
      throw new UnavailableError(`proposer ${this.address} unreachable: ${(error as Error).message}`, { cause: error });
    }
    if (response.ok) return response;
    throw errorFromBody(`proposer ${this.address}`, response.status, await response.json().catch(() => ({})));
  }
}

function decodeResult(json: unknown): ProposeResult {
  const { state, ballot } = json as { state: unknown; ballot: Ballot };
  return { state: decodeState(state, 'the state'), ballot };
}

/** What `watchNodeKey` yields: the key's value at a version, or its deletion. */
export type NodeWatchEvent =
  | {
      /** The key holds a value. */
      readonly type: 'value';
      /** The key watched. */
      readonly key: string;
      /** The value (JSON). */
      readonly value: unknown;
      /** The value's version: strictly increasing over the key's history. */
      readonly version: bigint;
      /** The event id: pass it as `since` to resume after this event. */
      readonly id: string;
    }
  | {
      /** The key is absent (deleted, or never written). */
      readonly type: 'deleted';
      /** The key watched. */
      readonly key: string;
      /** The event id: pass it as `since` to resume after this event. */
      readonly id: string;
    };

/** Options of `watchNodeKey`. */
export interface WatchNodeKeyOptions {
  /** Ends the iteration (quietly: the loop just stops). */
  readonly signal?: AbortSignal | undefined;
  /**
   * The cluster's shared secret, sent as `Authorization: Bearer <secret>`.
   * @default undefined (no `Authorization` header)
   */
  readonly secret?: string | undefined;
  /**
   * The id of the last event already seen (a `NodeWatchEvent.id`): the stream starts after it, and
   * never yields a state older than it.
   * @default undefined (start with the current state)
   */
  readonly since?: string | undefined;
  /**
   * The delay before the first reconnection after the stream broke; it doubles with each failed
   * attempt up to `maxReconnectDelayMs`, and starts again from here after an event arrived.
   * @default 1000 (or what the node's `retry:` field says)
   */
  readonly reconnectDelayMs?: number | undefined;
  /**
   * The longest delay between reconnections.
   * @default 30000
   */
  readonly maxReconnectDelayMs?: number | undefined;
  /**
   * The `fetch` to use.
   * @default globalThis.fetch
   */
  readonly fetch?: typeof fetch | undefined;
}

/**
 * Watches `key` through a node's `GET /v1/kv/{key}/watch` (server-sent events): yields the current
 * state, then each change (a slow reader skips intermediate versions, never the latest). When the
 * stream breaks (the node restarts, the network drops, the node answers 503) it reconnects by
 * itself, with backoff, sending the last event id, so it resumes where it stopped and never goes
 * back to an older version. Ends when `signal` aborts or the loop breaks; rejects with the node's
 * error (`CASPaxosError` rebuilt from its code, or `UnavailableError`) on an answer that retrying
 * cannot fix (400, 401, 404, 405, 406, or a watch error marked not retryable).
 * @example
 * ```ts
 * import { watchNodeKey } from 'caspaxos/http';
 *
 * const controller = new AbortController();
 * for await (const event of watchNodeKey('http://127.0.0.1:8080', 'greeting', { signal: controller.signal })) {
 *   if (event.type === 'value') console.log(event.version, event.value);
 *   else console.log('deleted');
 * }
 * ```
 */
export async function* watchNodeKey(url: string, key: string, options: WatchNodeKeyOptions = {}): AsyncGenerator<NodeWatchEvent, void, undefined> {
  const base = url.replace(/\/+$/, '');
  const { signal, secret } = options;
  if (secret !== undefined) checkSecret(secret);
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const maxDelay = options.maxReconnectDelayMs ?? 30_000;
  let lastId = options.since;
  let firstDelay = options.reconnectDelayMs;
  let delay = firstDelay ?? 1000;
  // Ends the open request when the consumer stops (break, return) or the signal aborts.
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    while (!stop.signal.aborted) {
      let response: Response | undefined;
      try {
        response = await fetchImpl(`${base}/v1/kv/${encodeURIComponent(key)}/watch`, {
          headers: {
            accept: 'text/event-stream',
            ...(secret === undefined ? {} : { authorization: `Bearer ${secret}` }),
            ...(lastId === undefined ? {} : { 'last-event-id': lastId }),
          },
          signal: stop.signal,
        });
      } catch {
        if (stop.signal.aborted) return;
      }
      if (response !== undefined && !response.ok && response.status !== 503) {
        const failure = (await response.json().catch(() => ({}))) as { code?: unknown; message?: unknown; retryable?: unknown };
        throw errorFromBody(`node ${base}`, response.status, failure);
      }
      if (response?.ok === true && response.body !== null) {
        const reader = new EventStreamReader(lastId);
        const decoder = new TextDecoder();
        try {
          for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
            for (const event of reader.push(decoder.decode(chunk, { stream: true }))) {
              if (event.event === 'error') {
                const failure = parseJson(event.data);
                if (failure.retryable !== true) throw errorFromBody(`node ${base}`, 200, failure);
                continue;
              }
              const parsed = toWatchEvent(key, event);
              if (parsed === undefined) continue;
              lastId = parsed.id;
              delay = firstDelay ?? reader.retryMs ?? 1000;
              yield parsed;
            }
          }
        } catch (error) {
          if (stop.signal.aborted) return;
          if (error instanceof CASPaxosError) throw error;
          // The stream broke mid-way: reconnect below.
        }
        firstDelay ??= reader.retryMs;
      } else {
        await response?.body?.cancel().catch(() => {});
      }
      if (stop.signal.aborted) return;
      await sleep(delay, stop.signal);
      delay = Math.min(maxDelay, delay * 2);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stop.abort();
  }
}

function toWatchEvent(key: string, event: ServerSentEvent): NodeWatchEvent | undefined {
  if (event.event === 'value') {
    const data = parseJson(event.data) as { value?: unknown; version?: unknown };
    if (typeof data.version !== 'string') return undefined;
    return { type: 'value', key, value: data.value, version: BigInt(data.version), id: event.id };
  }
  if (event.event === 'deleted') return { type: 'deleted', key, id: event.id };
  return undefined;
}

function parseJson(text: string): { code?: unknown; message?: unknown; retryable?: unknown } & Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A node's error body (`{ code, message, retryable }`) as the `CASPaxosError` of its code, or an `UnavailableError`. */
function errorFromBody(who: string, status: number, body: unknown): CASPaxosError {
  const failure = (typeof body === 'object' && body !== null ? body : {}) as { code?: unknown; message?: unknown; retryable?: unknown };
  const message = `${who}: ${typeof failure.message === 'string' ? failure.message : `HTTP ${status}`}`;
  if (isErrorCode(failure.code)) return new CASPaxosError(failure.code, message, failure.retryable === true);
  const code = typeof failure.code === 'string' ? failure.code : 'no code';
  // As `HttpAcceptor` does: another cluster's node (421) is a node not reached, like the server's
  // own trouble (5xx, too busy, a failure reported mid-stream as retryable); a refused request (a
  // wrong secret, a malformed call) is the caller's mistake, and retrying it cannot help.
  const where = status === 200 ? code : `${code}, HTTP ${status}`;
  if (status === 421 || status >= 500 || status === 429 || failure.retryable === true) return new UnavailableError(`${message} (${where})`);
  return new InvalidArgumentError(`${message} (${where})`);
}

/** Resolves after `ms`, or at once when `signal` aborts (the caller checks it). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
