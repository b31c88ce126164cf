/**
 * `HttpAcceptor`: an `Acceptor` on another machine, reached over HTTP with the wire format of
 * `wire.ts` (served by `createAcceptorServer`). Built on `fetch`, so it runs in Node (whose `fetch`
 * keeps connections alive and reuses them) and in browsers.
 *
 * Outcomes of the protocol (promises, conflicts, stale ages) resolve as reply values, exactly as
 * the remote acceptor gave them; everything else rejects:
 * - the server could not be reached, did not answer within `timeoutMs`, failed (5xx), or sent a
 *   reply that does not decode: `UnavailableError` (retryable), with the underlying error as `cause`;
 * - the server refused the request (4xx): the acceptor's own error when it raised one
 *   (`InvalidArgumentError`, `NotTombstoneError`, or a `CASPaxosError` with its code), else
 *   `InvalidArgumentError` naming the HTTP failure (a wrong secret, a key over the server's limit);
 * - the acceptor's storage refused the write (507 / 503, or the same codes in a batch or stream
 *   reply): `StorageFullError` / `StorageFailedError` naming this acceptor; nothing was applied;
 * - the caller's signal aborted: `signal.reason`.
 * It never resolves with a reply it did not receive.
 *
 * ## When a request is sent again
 *
 * A request whose reply was lost may or may not have reached the acceptor. Sending it again is
 * safe only if a second delivery cannot change what the first one did, or what the caller learns:
 * - `rejectByAge` only ever raises minimum ages to the values given: idempotent, resent.
 * - `removeIfEqual` removes a record only if its accepted ballot is exactly the tombstone's; a
 *   second delivery finds the record gone (`absent`, which garbage collection treats as removed)
 *   or rewritten under a higher ballot (`not-equal`, correctly): idempotent, resent.
 * - `listKeys` pages carry their page number and the server serves a repeated page again, and
 *   `watch` and the health check only read: resent.
 * - `prepare` and `accept` are **not** resent once they may have been delivered. It would be safe
 *   (the acceptor's strict `>` rules answer a duplicate with a conflict and change nothing), but
 *   the conflict misleads: a duplicate prepare turns a promise already given into a rejection, and
 *   a duplicate of an accept that also promised `next` reports a conflict whose `accepted` equals
 *   the request's ballot (see `Conflict.accepted`), which the proposer must read as "outcome
 *   unknown" rather than as the success it was. An `UnavailableError` says exactly what is known;
 *   the proposer has its own retries, with fresh ballots, for that.
 * - Any request is resent when the connection was refused (or the host not found), so that no
 *   byte of it was sent, or when the server answered 503 `ERR_SHUTTING_DOWN`, which it does without
 *   reading the request.
 * Resends happen at once, at most `retries` times, within the call's one `timeoutMs`.
 *
 * ## Batches
 *
 * `prepare` and `accept` calls made in one event-loop turn travel to the server as one request
 * (`POST /v2/batch`, see `wire.ts`): a proposer running many proposals sends each acceptor one
 * request per turn instead of one per message, and the server commits the batch's writes together.
 * The rule: a call is queued, and the queue is sent when the turn ends (`setImmediate`; a
 * macrotask in browsers). A lone call, the only one of its turn, goes out then by itself over v1,
 * so nothing ever waits for company. Each item keeps its own reply, its own abort (an item aborted
 * before the batch leaves is dropped from it; after, it rejects at once and its reply is ignored)
 * and its own timeout (the batch's request has one timer, started when it leaves, within one turn
 * of the call). Batches are split at `MAX_BATCH_ITEMS` items or `MAX_BATCH_BYTES` of body; an item
 * larger than that goes alone. A server without `/v2/batch` (404, nothing run) gets the items one
 * by one over v1 from then on. Resending follows the rules above: a batch of prepares and accepts
 * is resent only when it was never sent.
 *
 * With a `fetch` that can open the acceptor stream (`nodeFetch()`'s can), every batch, lone calls
 * included, goes as one frame over one persistent connection (`GET /v2/stream`, see `wire.ts`)
 * instead of an HTTP request, under one timer per frame. A stream that could not be opened sent
 * nothing: its calls go over HTTP (and for good when the server has no streams, 404; else the
 * stream is tried again a second later). A stream that breaks once open fails the calls in flight
 * with `UnavailableError` and is not resent (a frame may have been delivered); the next call opens
 * a new one.
 */
import type { Age } from '../core/age.js';
import type { Ballot } from '../core/ballot.js';
import type { AcceptReply, AcceptedState, PeekReply, PrepareReply, RemoveReply, State, Tombstone } from '../core/messages.js';
import { checkAcceptRequest, checkAges, checkPrepareRequest, checkRemoveRequest } from '../acceptor/request-checks.js';
import { CASPaxosError, InvalidArgumentError, NotTombstoneError, StorageFailedError, StorageFullError, UnavailableError, UnsupportedError, isErrorCode } from '../errors.js';
import { DebugGate, type Logger } from '../logger.js';
import type { AcceptOptions, Acceptor, CallOptions, WatchOptions } from '../roles.js';
import { assertKey, integerOption } from '../internal/validate.js';
import { afterTurn } from '../internal/after-turn.js';
import { type FrameStream, type PendingPost, type PostReply, type Poster, type StreamOpener, StreamRefused, posterOf, streamOpenerOf } from './poster.js';
import {
  type BatchOp,
  CLUSTER_HEADER,
  DEFAULT_LIST_LIMIT,
  INCARNATION_HEADER,
  type IdentityReply,
  JSON_TYPE,
  MAX_BATCH_ITEMS,
  MAX_LIST_LIMIT,
  MAX_WATCH_BUFFER,
  PATHS,
  type WireError,
  acceptedState,
  batchItemError,
  decodeBatchReply,
  encodeBatchItem,
  encodeBatchRequest,
  decodeAcceptReply,
  decodeEmptyReply,
  decodeListKeysPage,
  decodePeekReply,
  decodePrepareReply,
  decodeRemoveReply,
  checkSecret,
  decodeWatchLine,
  decodeWireError,
  decodeIdentityReply,
  encodeAcceptRequest,
  isClusterId,
  isIncarnation,
  encodeListKeysCloseRequest,
  encodeListKeysRequest,
  encodePeekRequest,
  encodePrepareRequest,
  encodeRejectByAgeRequest,
  encodeRemoveIfEqualRequest,
  encodeWatchRequest,
  parseJson,
  utf8Length,
} from './wire.js';

/** Options of `HttpAcceptor`. */
export interface HttpAcceptorOptions {
  /**
   * The server's shared secret, sent as `Authorization: Bearer <secret>`.
   * @default undefined (no `Authorization` header)
   */
  readonly secret?: string | undefined;
  /**
   * How long one call may take, resends included (for `watch`: until the stream starts; for
   * `listKeys`: per page). Past it the call rejects with `UnavailableError`.
   * @default 5000
   */
  readonly timeoutMs?: number | undefined;
  /**
   * How many times a call is sent again after a failure that makes resending safe (see the module
   * comment). Resends are immediate: the proposer above retries proposals with backoff.
   * @default 1
   */
  readonly retries?: number | undefined;
  /**
   * How many keys each `listKeys` page asks for (at most 10000).
   * @default 256
   */
  readonly listPageSize?: number | undefined;
  /**
   * Receives a debug record per failed attempt. Silent when absent.
   * @default undefined (no logging)
   */
  readonly logger?: Logger | undefined;
  /**
   * The `fetch` to use: to count or fault requests in tests, or to pass a custom agent. In Node
   * pass `nodeFetch()`: besides being cheaper as a `fetch`, it carries a leaner request path that
   * `HttpAcceptor` then uses for every call but `watch`.
   * @default globalThis.fetch
   */
  readonly fetch?: typeof fetch | undefined;
  /**
   * Send the `prepare` and `accept` calls of one event-loop turn as one request (`POST /v2/batch`;
   * see the module comment). A lone call is never delayed. `false` sends every call by itself
   * over v1.
   * @default true
   */
  readonly batch?: boolean | undefined;
  /**
   * The cluster this client's acceptor must belong to. Every request names it
   * (`Caspaxos-Cluster`), and every reply must too: a reply from an acceptor of another cluster,
   * or from one without an identity, rejects with `UnavailableError`, so the proposer never counts
   * it (see `wire.ts`, "Identity").
   * @default undefined (no check)
   */
  readonly clusterId?: string | undefined;
  /**
   * The incarnation of the acceptor this client talks to: the member it stands for. Requests name
   * it, and a reply from another incarnation (a data directory initialised anew at the same
   * address) rejects with `UnavailableError`. Also accepted as the URL's fragment
   * (`http://10.0.0.7:7001#<incarnation>`). With it, `address` is `<url>#<incarnation>`, so a
   * proposer knows the member by address and incarnation. Needs `clusterId`.
   * @default undefined (any incarnation)
   */
  readonly incarnation?: string | undefined;
  /**
   * Send the batches over the acceptor stream (`/v2/stream`: one persistent connection, frames,
   * pipelined; see `wire.ts`) when the `fetch` can open one (`nodeFetch()`'s can) and the server
   * has it; lone calls go over it too. A server without streams gets HTTP batches. Ignored when
   * `batch` is false.
   * @default true
   */
  readonly stream?: boolean | undefined;
}

/** How long after a stream failed to open before the next try (meanwhile, HTTP batches). */
const STREAM_RETRY_MS = 1000;

/** The largest batch body sent, in bytes of JSON (an item above it goes alone). */
export const MAX_BATCH_BYTES = 256 * 1024;

/** Bytes of a batch body besides its items (`{"items":[` and `]}`), rounded up. */
const BATCH_WRAPPER_BYTES = 16;

/**
 * A `prepare` or `accept` waiting for its batch, then for its reply. It is its own abort listener
 * (`handleEvent`): no closure per call.
 */
class QueuedCall {
  settled = false;
  constructor(
    readonly op: BatchOp,
    readonly body: object,
    readonly key: string,
    readonly signal: AbortSignal | undefined,
    readonly decode: (json: unknown) => unknown,
    readonly resolve: (reply: never) => void,
    readonly reject: (error: unknown) => void,
  ) {}

  /** The caller's abort: reject at once; a reply that comes later is dropped. */
  handleEvent(): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(this.signal?.reason);
  }

  /** True the first time: the call is settled now, and no longer listens to its signal. */
  settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.signal?.removeEventListener('abort', this);
    return true;
  }
}

/** How long a client that learned its server cannot peek rejects peeks without asking (the server may be upgraded). */
const PEEK_RETRY_MS = 60_000;

/** Why a request was cut: its timeout. */
const TIMED_OUT = new Error('timed out');

/** Whether a call may be sent again after a failure whose delivery is unknown (see the module comment). */
type Resend = 'always' | 'if-unsent';

/** What the client knows of a request, to rebuild the acceptor's own errors from a 4xx. */
interface RequestContext {
  readonly key?: string;
  /** The batch kind of the request, when it is one (a peek's "no such request" is `UnsupportedError`). */
  readonly op?: BatchOp;
  readonly tombstone?: Ballot;
}


/** Error codes of a connection that was never made: nothing of the request was sent. */
const UNSENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL']);

/** The longest watch line accepted (a state of 48 MiB in base64), so a broken server cannot exhaust memory. */
const MAX_WATCH_LINE = 64 << 20;

/**
 * An `Acceptor` on another machine, reached over HTTP (served by `createAcceptorServer`, or
 * `caspaxos acceptor`). Protocol outcomes (promises, conflicts, stale ages) resolve as the remote
 * acceptor gave them; a server that cannot be reached, times out, fails or answers garbage rejects
 * with a retryable `UnavailableError`; a refused request rejects with the acceptor's own error or
 * `InvalidArgumentError`. `prepare` and `accept` are never sent twice once they may have been
 * delivered (a duplicate would turn a promise into a misleading conflict); idempotent calls are
 * resent up to `retries` times. Built on `fetch`: runs in Node (pass `fetch: nodeFetch()` from
 * `caspaxos/http`, several times cheaper per request than the built-in one) and in browsers.
 * @example
 * ```ts
 * import { MemoryProposer } from 'caspaxos';
 * import { HttpAcceptor, nodeFetch } from 'caspaxos/http';
 *
 * const options = { secret: process.env.CASPAXOS_SECRET, timeoutMs: 2000, fetch: nodeFetch() };
 * const acceptors = ['http://10.0.0.7:7001', 'http://10.0.0.8:7001', 'http://10.0.0.9:7001'].map(
 *   (url) => new HttpAcceptor(url, options),
 * );
 * const proposer = new MemoryProposer('p1', acceptors);
 * ```
 */
export class HttpAcceptor implements Acceptor {
  /**
   * The acceptor's address: the server's base URL, normalized (no trailing slash), followed by
   * `#<incarnation>` when the client names one (see `HttpAcceptorOptions.incarnation`).
   */
  readonly address: string;
  /** The server's base URL (the address without its incarnation). */
  readonly url: string;
  /** The incarnation this client stands for, if any. */
  readonly incarnation: string | undefined;
  readonly #clusterId: string | undefined;
  readonly #logger: Logger | undefined;
  /** The last identity mismatch warned about, so an outage logs one warning, not one per request. */
  #warned = '';
  /** The server's body limit, once `identify` learned it: batches and frames are cut to fit. */
  #serverMaxBodyBytes: number | undefined;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #pageSize: number;
  readonly #fetch: typeof fetch;
  readonly #poster: Poster;
  readonly #batch: boolean;
  readonly #debug: DebugGate;
  /** No peek before this time (`Date.now()`): the server answered that it does not know the request. */
  #peekUnsupportedUntil = 0;
  /** False once the server answered that it has no batch endpoint. */
  #batchEndpoint = true;
  /** Opens acceptor streams; absent when the `fetch` cannot, or streams are off or unsupported. */
  #openStream: StreamOpener | undefined;
  #stream: FrameStream | undefined;
  /** No stream before this time (`Date.now()`): the last one failed to open. */
  #streamRetryAt = 0;
  /** Calls of this turn, sent when it ends. */
  #queue: QueuedCall[] = [];
  #flushScheduled = false;

  /**
   * @param url the server's base URL, e.g. `http://10.0.0.7:7001` (`http:` or `https:`, no query).
   */
  constructor(url: string, options: HttpAcceptorOptions = {}) {
    const { base, fragment } = normalizeBaseUrl(url);
    if (options.secret !== undefined) checkSecret(options.secret);
    if (options.clusterId !== undefined && !isClusterId(options.clusterId)) throw new InvalidArgumentError(`clusterId ${JSON.stringify(options.clusterId)} is not a valid cluster id`);
    if (options.incarnation !== undefined && fragment !== undefined && options.incarnation !== fragment) {
      throw new InvalidArgumentError(`the url names incarnation ${fragment}, the options ${options.incarnation}`);
    }
    const incarnation = options.incarnation ?? fragment;
    if (incarnation !== undefined && !isIncarnation(incarnation)) throw new InvalidArgumentError(`incarnation ${JSON.stringify(incarnation)} is not a valid incarnation`);
    if (incarnation !== undefined && options.clusterId === undefined) throw new InvalidArgumentError('an incarnation needs the clusterId option');
    this.url = base;
    this.incarnation = incarnation;
    this.address = incarnation === undefined ? base : `${base}#${incarnation}`;
    this.#clusterId = options.clusterId;
    this.#logger = options.logger;
    this.#headers = {
      'Content-Type': JSON_TYPE,
      Accept: JSON_TYPE,
      ...(options.secret === undefined ? {} : { Authorization: `Bearer ${options.secret}` }),
      ...(options.clusterId === undefined ? {} : { [CLUSTER_HEADER]: options.clusterId }),
      ...(incarnation === undefined ? {} : { [INCARNATION_HEADER]: incarnation }),
    };
    this.#timeoutMs = integerOption(options.timeoutMs, 'timeoutMs', 1, 5000);
    this.#retries = integerOption(options.retries, 'retries', 0, 1);
    this.#pageSize = integerOption(options.listPageSize, 'listPageSize', 1, DEFAULT_LIST_LIMIT);
    if (this.#pageSize > MAX_LIST_LIMIT) throw new InvalidArgumentError(`listPageSize must be at most ${MAX_LIST_LIMIT}`);
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') throw new InvalidArgumentError('no fetch: pass options.fetch');
    this.#fetch = f;
    this.#poster = posterOf(f);
    if (options.batch !== undefined && typeof options.batch !== 'boolean') throw new InvalidArgumentError('batch must be a boolean');
    this.#batch = options.batch ?? true;
    if (options.stream !== undefined && typeof options.stream !== 'boolean') throw new InvalidArgumentError('stream must be a boolean');
    this.#openStream = this.#batch && options.stream !== false ? streamOpenerOf(f) : undefined;
    this.#debug = new DebugGate(options.logger);
  }

  async prepare(key: string, age: Age, ballot: Ballot, opts?: CallOptions): Promise<PrepareReply> {
    opts?.signal?.throwIfAborted();
    checkPrepareRequest(key, age, ballot);
    return this.#send1('prepare', encodePrepareRequest({ key, age, ballot }), key, opts?.signal, decodePrepareReply);
  }

  async accept(key: string, age: Age, ballot: Ballot, state: State, opts?: AcceptOptions): Promise<AcceptReply> {
    opts?.signal?.throwIfAborted();
    const ancestry = checkAcceptRequest(key, age, ballot, state, opts);
    const next = opts?.next;
    return this.#send1('accept', encodeAcceptRequest({ key, age, ballot, state, next, ancestry }), key, opts?.signal, decodeAcceptReply);
  }

  /**
   * What the acceptor accepted for `key`, without a promise (see `Peeker`), batched with this
   * turn's other calls. An acceptor of an older version, which does not know the request, rejects
   * it with `UnsupportedError` (nothing ran there); the client then remembers for a minute and
   * rejects peeks at once, so a proposer reads through the full round without a wasted round trip.
   */
  async peek(key: string, opts?: CallOptions): Promise<PeekReply> {
    opts?.signal?.throwIfAborted();
    assertKey(key);
    if (Date.now() < this.#peekUnsupportedUntil) throw new UnsupportedError(`${this.address} does not run peek (an older acceptor)`);
    try {
      return await this.#send1('peek', encodePeekRequest({ key }), key, opts?.signal, decodePeekReply);
    } catch (error) {
      if (error instanceof UnsupportedError) this.#peekUnsupportedUntil = Date.now() + PEEK_RETRY_MS;
      throw error;
    }
  }

  /** A prepare, accept or peek: queued for this turn's batch, or sent at once by itself. */
  #send1<R>(op: BatchOp, body: object, key: string, signal: AbortSignal | undefined, decode: (json: unknown) => R): Promise<R> {
    if (!this.#batch) return this.#call(PATHS[op], body, signal, 'if-unsent', { key, op }).then((json) => this.#decode(json, decode));
    return new Promise<R>((resolve, reject) => {
      const call = new QueuedCall(op, body, key, signal, decode, resolve as (reply: never) => void, reject);
      signal?.addEventListener('abort', call, { once: true });
      this.#queue.push(call);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        afterTurn(this.#flush);
      }
    });
  }

  /** Sends this turn's calls: alone when there is one, else in batches (see the module comment). */
  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const calls = this.#queue;
    this.#queue = [];
    const live = calls.filter((c) => !c.settled);
    const stream = this.#currentStream();
    if (stream === undefined && (live.length === 1 || !this.#batchEndpoint)) {
      for (const call of live) this.#sendAlone(call);
      return;
    }
    let batch: QueuedCall[] = [];
    let texts: string[] = [];
    let bytes = 0;
    const send = (): void => {
      if (batch.length === 0) return;
      if (stream !== undefined) this.#sendFrame(stream, batch, texts);
      else if (batch.length === 1) this.#sendAlone(batch[0] as QueuedCall);
      else this.#sendBatch(batch, texts);
      batch = [];
      texts = [];
      bytes = 0;
    };
    // Batches (and frames) must fit the server's body limit, once known, with room for the wrapper.
    const server = this.#serverMaxBodyBytes;
    const cap = server === undefined ? MAX_BATCH_BYTES : Math.min(MAX_BATCH_BYTES, server - BATCH_WRAPPER_BYTES);
    for (const call of live) {
      const text = encodeBatchItem(call.op, call.body);
      const size = utf8Length(text);
      if (size > cap) {
        // Too large for any batch: alone over v1 (which refuses it at once if it cannot fit).
        this.#sendAlone(call);
        continue;
      }
      if (batch.length === MAX_BATCH_ITEMS || bytes + size > cap) send();
      batch.push(call);
      texts.push(text);
      bytes += size + 1;
    }
    send();
  };

  #sendAlone(call: QueuedCall): void {
    this.#call(PATHS[call.op], call.body, call.signal, 'if-unsent', { key: call.key, op: call.op }).then(
      (json) => this.#deliver(call, json),
      (error: unknown) => {
        if (call.settle()) call.reject(error);
      },
    );
  }

  /** The open (or opening) stream, opening one if none is; undefined when streams are not to be used now. */
  #currentStream(): FrameStream | undefined {
    if (this.#openStream === undefined) return undefined;
    if (this.#stream !== undefined && !this.#stream.closed) return this.#stream;
    if (Date.now() < this.#streamRetryAt) return undefined;
    this.#stream = this.#openStream(this.url, this.#headers, this.#clusterId === undefined ? undefined : (identity) => this.#wrongIdentity(identity));
    return this.#stream;
  }

  /**
   * One batch as one frame of the stream, under one timer. A stream that never opened sent
   * nothing: the calls go over HTTP instead (and for good if the server has no streams).
   */
  #sendFrame(stream: FrameStream, calls: readonly QueuedCall[], texts: readonly string[]): void {
    const sent = stream.send(encodeBatchRequest(texts));
    const timer = setTimeout(() => sent.cancel(TIMED_OUT), this.#timeoutMs);
    sent.reply.then(
      (payload) => {
        clearTimeout(timer);
        this.#deliverBatch(calls, payload, () => this.#sendOverHttp(calls, texts));
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (error instanceof StreamRefused) {
          if (error.unsupported) this.#openStream = undefined;
          else this.#streamRetryAt = Date.now() + STREAM_RETRY_MS;
          this.#debug.get()?.debug({ acceptor: this.address, path: PATHS.stream, error: error.message }, 'caspaxos http: stream refused, sending over HTTP');
          this.#sendOverHttp(calls, texts);
          return;
        }
        const failure = this.#failure(error, undefined);
        for (const call of calls) if (call.settle()) call.reject(failure);
      },
    );
  }

  /** Calls that were not sent (or not run) another way: over HTTP, batched or alone. */
  #sendOverHttp(calls: readonly QueuedCall[], texts: readonly string[]): void {
    const live = calls.filter((c) => !c.settled);
    if (live.length === 1 || !this.#batchEndpoint) for (const call of live) this.#sendAlone(call);
    else if (live.length > 1) this.#sendBatch(live, live === calls ? texts : live.map((c) => encodeBatchItem(c.op, c.body)));
  }

  #sendBatch(calls: readonly QueuedCall[], texts: readonly string[]): void {
    this.#exchange(PATHS.batch, encodeBatchRequest(texts), undefined, 'if-unsent').then((reply) => {
      if (reply.status === 404 && this.#isNoRoute(reply.text)) {
        // A v1 server: it ran nothing. From now on every call goes by itself.
        this.#batchEndpoint = false;
        for (const call of calls) if (!call.settled) this.#sendAlone(call);
        return;
      }
      const wrong = this.#wrongIdentity(reply);
      if ((wrong !== undefined && reply.status !== 421) || reply.status < 200 || reply.status >= 300) {
        const failure = wrong !== undefined && reply.status !== 421 ? wrong : this.#httpFailure(reply.status, reply.text, {});
        const error = failure instanceof ShuttingDown ? failure.error : failure;
        for (const call of calls) if (call.settle()) call.reject(error);
        return;
      }
      this.#deliverBatch(calls, reply.text, undefined);
    }, (error: unknown) => {
      const failure = this.#failure(error, undefined);
      for (const call of calls) if (call.settle()) call.reject(failure);
    });
  }

  /**
   * Hands each call its item of a batch reply (`{ items }`), or fails them all when the reply does
   * not decode. A stream's reply may instead refuse the frame whole (`{ error }`): `notRun` then
   * sends the calls again when the server said it ran nothing (shutting down), else they fail.
   */
  #deliverBatch(calls: readonly QueuedCall[], text: string, notRun: (() => void) | undefined): void {
    const fail = (error: unknown): void => {
      for (const call of calls) if (call.settle()) call.reject(error);
    };
    let items: unknown[];
    try {
      const json = parseJson(text, 'the batch reply');
      const refused = notRun === undefined ? undefined : batchItemError(json);
      if (refused !== undefined) {
        if (refused.code === 'ERR_SHUTTING_DOWN') notRun?.();
        else fail(this.#wireFailure(refused.retryable ? 503 : 400, refused, {}));
        return;
      }
      items = decodeBatchReply(json, calls.length);
    } catch (error) {
      fail(new UnavailableError(`${this.address} sent a malformed reply: ${describe(error)}`, { cause: error }));
      return;
    }
    calls.forEach((call, i) => {
      const item = items[i];
      let wire: WireError | undefined;
      try {
        wire = this.#decode(item, batchItemError);
      } catch (error) {
        if (call.settle()) call.reject(error);
        return;
      }
      if (wire === undefined) this.#deliver(call, item);
      // A kind this server does not batch: nothing was run, so it may go by itself.
      else if (wire.code === 'ERR_UNSUPPORTED_OP') this.#sendAlone(call);
      else if (call.settle()) call.reject(this.#wireFailure(wire.retryable ? 503 : 400, wire, { key: call.key }));
    });
  }

  #deliver(call: QueuedCall, json: unknown): void {
    if (!call.settle()) return;
    let reply: unknown;
    try {
      reply = this.#decode(json, call.decode);
    } catch (error) {
      call.reject(error);
      return;
    }
    (call.resolve as (reply: unknown) => void)(reply);
  }

  #isNoRoute(text: string): boolean {
    try {
      return decodeWireError(parseJson(text, 'the error reply')).code === 'ERR_NO_ROUTE';
    } catch {
      return false;
    }
  }

  async rejectByAge(ages: readonly Age[], opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    checkAges(ages);
    const json = await this.#call(PATHS.rejectByAge, encodeRejectByAgeRequest({ ages }), opts?.signal, 'always', {});
    this.#decode(json, (j) => decodeEmptyReply(j, 'reject-by-age reply'));
  }

  async removeIfEqual(key: string, tombstone: Tombstone, opts?: CallOptions): Promise<RemoveReply> {
    opts?.signal?.throwIfAborted();
    checkRemoveRequest(key, tombstone);
    const json = await this.#call(PATHS.removeIfEqual, encodeRemoveIfEqualRequest({ key, tombstone }), opts?.signal, 'always', { key, tombstone: tombstone.ballot });
    return this.#decode(json, decodeRemoveReply);
  }

  async *listKeys(opts?: CallOptions): AsyncIterable<string> {
    const signal = opts?.signal;
    signal?.throwIfAborted();
    const limit = this.#pageSize;
    let cursor: string | undefined;
    let page = 0;
    try {
      for (;;) {
        const json = await this.#call(PATHS.listKeys, encodeListKeysRequest({ cursor, page, limit }), signal, 'always', {});
        const result = this.#decode(json, (j) => decodeListKeysPage(j, limit));
        // Set before yielding: a consumer that stops mid-page leaves the listing to close below.
        cursor = result.cursor ?? undefined;
        for (const key of result.keys) {
          signal?.throwIfAborted();
          yield key;
        }
        if (cursor === undefined) return;
        page++;
      }
    } finally {
      // Stopped early (the consumer broke off, an abort, a failure): free the server's listing now
      // rather than at its expiry. Best effort: nothing waits for it.
      if (cursor !== undefined) this.#call(PATHS.listKeysClose, encodeListKeysCloseRequest({ cursor }), undefined, 'always', {}).catch(() => {});
    }
  }

  /**
   * Watches `key` on the remote acceptor. The stream ends when the signal aborts, when the consumer
   * stops, or when the server ends it (it is closing); it throws `UnavailableError` when the
   * connection is cut without the server's end line, which the caller may answer by watching again
   * (the first state of a new watch is the current one).
   */
  watch(key: string, opts: WatchOptions = {}): AsyncIterable<AcceptedState> {
    assertKey(key);
    const { signal, bufferSize } = opts;
    if (bufferSize !== undefined && (!Number.isSafeInteger(bufferSize) || bufferSize < 1 || bufferSize > MAX_WATCH_BUFFER)) {
      throw new InvalidArgumentError(`bufferSize must be an integer from 1 to ${MAX_WATCH_BUFFER}, got ${bufferSize}`);
    }
    return { [Symbol.asyncIterator]: () => this.#watch(key, bufferSize, signal) };
  }

  async *#watch(key: string, bufferSize: number | undefined, signal: AbortSignal | undefined): AsyncGenerator<AcceptedState> {
    if (signal?.aborted) return;
    // One controller for the whole stream: the caller's abort and the consumer stopping both end
    // it, which cancels the response body and tells the server (its socket closes).
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      let response: Response;
      // The timeout covers the wait for the headers only (the stream itself has no end in sight),
      // so it is a timer on the stream's controller rather than a signal tied to the body.
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, this.#timeoutMs);
      try {
        response = await this.#send(PATHS.watch, encodeWatchRequest({ key, bufferSize }), controller.signal, 'always', { key });
      } catch (error) {
        if (signal?.aborted) return;
        if (timedOut) throw this.#timedOut(error);
        throw error instanceof CASPaxosError ? error : new UnavailableError(`${this.address} failed: ${describe(error)}`, { cause: error });
      } finally {
        clearTimeout(timer);
      }
      if (response.body === null) throw new UnavailableError(`${this.address}: watch reply has no body`);
      reader = response.body.getReader();
      const decoder = new TextDecoder('utf-8', { fatal: true });
      let buffered = '';
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          if (signal?.aborted) return;
          throw new UnavailableError(`${this.address}: watch stream of ${JSON.stringify(key)} was cut`, { cause: error });
        }
        if (chunk.done) throw new UnavailableError(`${this.address}: watch stream of ${JSON.stringify(key)} ended without its end line`);
        buffered += this.#decode(chunk.value, (bytes) => decoder.decode(bytes, { stream: true }));
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const text = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          const line = this.#decode(text, (t) => decodeWatchLine(parseJson(t, 'watch line')));
          if (line.type === 'end') return;
          if (line.type === 'error') throw this.#wireFailure(200, line, { key });
          yield acceptedState(line);
          if (signal?.aborted) return;
        }
        if (buffered.length > MAX_WATCH_LINE) throw new UnavailableError(`${this.address}: watch line exceeds ${MAX_WATCH_LINE} characters`);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      controller.abort();
      reader?.cancel().catch(() => {});
    }
  }

  /** POSTs `body` and resolves with the parsed JSON of a 2xx reply; rejects with the mapped error of any other. */
  async #call(path: string, body: object, signal: AbortSignal | undefined, resend: Resend, context: RequestContext): Promise<unknown> {
    const text = JSON.stringify(body);
    // A body the server is known to refuse (413) is refused here, without the round trip.
    const limit = this.#serverMaxBodyBytes;
    if (limit !== undefined && text.length > limit / 3 && utf8Length(text) > limit) {
      throw new InvalidArgumentError(`${this.address}: a request of ${utf8Length(text)} bytes exceeds the acceptor's body limit of ${limit} bytes`);
    }
    for (let attempt = 0; ; attempt++) {
      let reply: PostReply;
      try {
        reply = await this.#exchange(path, text, signal, resend);
      } catch (error) {
        throw this.#failure(error, signal);
      }
      const wrong = this.#wrongIdentity(reply);
      if (wrong !== undefined && reply.status !== 421) throw wrong;
      if (reply.status >= 200 && reply.status < 300) return this.#decode(reply.text, (t) => parseJson(t, 'the reply'));
      const failure = this.#httpFailure(reply.status, reply.text, context);
      // 503 ERR_SHUTTING_DOWN: the server refused the request before reading it.
      if (failure instanceof ShuttingDown) {
        if (attempt < this.#retries) continue;
        throw failure.error;
      }
      throw failure;
    }
  }

  /**
   * POSTs `text` through the poster, resending after a failure as `resend` allows, and resolves
   * with whatever reply came. One timer bounds the whole exchange (resends included); the caller's
   * signal, if any, cuts it. Rejects with `TIMED_OUT`, the signal's reason, or an
   * `UnavailableError` for a server that could not be reached.
   */
  #exchange(path: string, text: string, signal: AbortSignal | undefined, resend: Resend): Promise<PostReply> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const url = this.url + path;
    return new Promise<PostReply>((resolve, reject) => {
      let current: PendingPost | undefined;
      let stopped = false;
      const stop = (reason: unknown): void => {
        if (stopped) return;
        stopped = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        current?.cancel(reason instanceof Error ? reason : new Error(String(reason)));
        reject(reason);
      };
      const onAbort = (): void => stop(signal?.reason);
      const timer = setTimeout(stop, this.#timeoutMs, TIMED_OUT);
      signal?.addEventListener('abort', onAbort, { once: true });
      const attempt = (n: number): void => {
        current = this.#poster(url, this.#headers, text);
        current.reply.then(
          (reply) => {
            if (stopped) return;
            stopped = true;
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            resolve(reply);
          },
          (error: unknown) => {
            if (stopped) return;
            const retry = n < this.#retries && (resend === 'always' || unsent(error));
            this.#debug.get()?.debug({ acceptor: this.address, path, attempt: n, error: describe(error), retry }, 'caspaxos http: request failed');
            if (retry) attempt(n + 1);
            else stop(new UnavailableError(`${this.address} unreachable: ${describe(error)}`, { cause: error }));
          },
        );
      };
      attempt(0);
    });
  }

  /**
   * POSTs `body`, resending as `resend` allows, and resolves with a 200 response (its body unread);
   * rejects with the mapped error of any other status. Once `signal` aborts, rejects with what
   * `fetch` rejected with, for the caller to map (it knows which signal it was).
   */
  async #send(path: string, body: object, signal: AbortSignal, resend: Resend, context: RequestContext): Promise<Response> {
    const text = JSON.stringify(body);
    const url = this.url + path;
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.#fetch(url, { method: 'POST', headers: this.#headers, body: text, signal });
      } catch (error) {
        if (signal.aborted) throw error;
        const retry = attempt < this.#retries && (resend === 'always' || unsent(error));
        this.#debug.get()?.debug({ acceptor: this.address, path, attempt, error: describe(error), retry }, 'caspaxos http: request failed');
        if (retry) continue;
        throw new UnavailableError(`${this.address} unreachable: ${describe(error)}`, { cause: error });
      }
      const wrong = this.#wrongIdentity({ cluster: response.headers.get(CLUSTER_HEADER) ?? undefined, incarnation: response.headers.get(INCARNATION_HEADER) ?? undefined });
      if (wrong !== undefined && response.status !== 421) {
        void response.body?.cancel().catch(() => {});
        throw wrong;
      }
      if (response.ok) return response;
      const failure = this.#httpFailure(response.status, await response.text(), context);
      // 503 ERR_SHUTTING_DOWN: the server refused the request before reading it.
      if (failure instanceof ShuttingDown) {
        if (attempt < this.#retries) continue;
        throw failure.error;
      }
      throw failure;
    }
  }

  /**
   * Asks the server who it is (`GET /v1/identity`): its identity, or null for an acceptor without
   * one, and its limits. Remembers the body limit, to cut batches and frames to fit it and refuse
   * at once a request that cannot fit. A client with a `clusterId` rejects (`UnavailableError`)
   * when the server is not its member (another cluster, another incarnation, no identity); one
   * without returns whatever the server says, for the caller to judge.
   */
  async identify(opts?: CallOptions): Promise<IdentityReply> {
    opts?.signal?.throwIfAborted();
    const signals = [AbortSignal.timeout(this.#timeoutMs), ...(opts?.signal === undefined ? [] : [opts.signal])];
    const signal = AbortSignal.any(signals);
    let response: Response;
    try {
      response = await this.#fetch(this.url + PATHS.identity, { method: 'GET', headers: this.#headers, signal });
    } catch (error) {
      opts?.signal?.throwIfAborted();
      throw new UnavailableError(`${this.address} unreachable: ${describe(error)}`, { cause: error });
    }
    const text = await response.text();
    if (!response.ok) throw this.#httpFailure(response.status, text, {});
    const reply = this.#decode(text, (t) => decodeIdentityReply(parseJson(t, 'the identity reply')));
    const wrong = this.#wrongIdentity({ cluster: reply.identity?.clusterId, incarnation: reply.identity?.incarnation });
    if (wrong !== undefined) throw wrong;
    this.#serverMaxBodyBytes = reply.maxBodyBytes;
    return reply;
  }

  /** Why a reply with these identity headers is not from the member this client stands for (undefined: it is). */
  #wrongIdentity(reply: { readonly cluster?: string | undefined; readonly incarnation?: string | undefined }): UnavailableError | undefined {
    if (this.#clusterId === undefined) return undefined;
    let problem: string | undefined;
    if (reply.cluster !== this.#clusterId) {
      problem =
        reply.cluster === undefined
          ? `the server there has no acceptor identity (an earlier release, or not a caspaxos acceptor); this client belongs to cluster ${JSON.stringify(this.#clusterId)}`
          : `the acceptor there belongs to cluster ${JSON.stringify(reply.cluster)}, not ${JSON.stringify(this.#clusterId)}`;
    } else if (this.incarnation !== undefined && reply.incarnation !== this.incarnation) {
      problem = `the acceptor there is incarnation ${String(reply.incarnation)}, not ${this.incarnation}, the member this client stands for (its data directory was initialised anew?): it is not counted until added through the membership procedure`;
    }
    if (problem === undefined) return undefined;
    this.#warnOnce(problem, `${this.address}: ${problem}`);
    return new UnavailableError(`${this.address}: ${problem}`);
  }

  #warnOnce(kind: string, message: string): void {
    if (this.#warned === kind) return;
    this.#warned = kind;
    this.#logger?.warn({ acceptor: this.address }, message);
  }

  #timedOut(cause: unknown): UnavailableError {
    return new UnavailableError(`${this.address} did not answer within ${this.#timeoutMs} ms`, { cause });
  }

  /** The error a failed call rejects with: the caller's abort reason, a timeout, or the failure itself. */
  #failure(error: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason;
    if (error instanceof CASPaxosError) return error;
    if (error === TIMED_OUT) return this.#timedOut(undefined);
    return new UnavailableError(`${this.address} failed: ${describe(error)}`, { cause: error });
  }

  /** Decodes a reply; one that does not decode is the server's failure, not the caller's. */
  #decode<T, R>(json: T, decode: (json: T) => R): R {
    try {
      return decode(json);
    } catch (error) {
      throw new UnavailableError(`${this.address} sent a malformed reply: ${describe(error)}`, { cause: error });
    }
  }

  #httpFailure(status: number, text: string, context: RequestContext): Error | ShuttingDown {
    let wire: WireError;
    try {
      wire = decodeWireError(parseJson(text, 'the error reply'));
    } catch (error) {
      return status >= 500
        ? new UnavailableError(`${this.address} failed with HTTP ${status}`, { cause: error })
        : new InvalidArgumentError(`${this.address} refused the request with HTTP ${status}`, { cause: error });
    }
    const failure = this.#wireFailure(status, wire, context);
    return wire.code === 'ERR_SHUTTING_DOWN' ? new ShuttingDown(failure) : failure;
  }

  /** The error for a failure the server reported (`status` 200: in a watch stream). */
  #wireFailure(status: number, wire: WireError, context: RequestContext): Error {
    const message = `${this.address}: ${wire.message}`;
    if (wire.code === 'ERR_INVALID_ARGUMENT') return new InvalidArgumentError(message);
    // A request this acceptor does not know (an older version): nothing ran.
    if (context.op === 'peek' && (wire.code === 'ERR_NO_ROUTE' || wire.code === 'ERR_UNSUPPORTED_OP')) return new UnsupportedError(`${message} (${wire.code})`);
    if (wire.code === 'ERR_NOT_TOMBSTONE' && context.key !== undefined && context.tombstone !== undefined) return new NotTombstoneError(context.key, context.tombstone);
    if (wire.code === 'ERR_UNAVAILABLE') return new UnavailableError(message);
    // Another cluster's acceptor, or another incarnation: the member this client stands for is
    // not there, which to a proposer is an unreachable acceptor (never a vote).
    if (status === 421 || wire.code === 'ERR_WRONG_CLUSTER' || wire.code === 'ERR_WRONG_INCARNATION') {
      this.#warnOnce(wire.code, message);
      return new UnavailableError(`${message} (${wire.code})`);
    }
    // The acceptor's storage is full (507) or failing (503): the request was not applied.
    if (wire.code === 'ERR_STORAGE_FULL') return new StorageFullError(message, { acceptors: [this.address] });
    if (wire.code === 'ERR_STORAGE_FAILED') return new StorageFailedError(message, { acceptors: [this.address] });
    if (isErrorCode(wire.code)) return new CASPaxosError(wire.code, message, wire.retryable);
    // The transport's own codes: the server's trouble (5xx, too busy, an expired listing, shutting
    // down) is retryable; a refused request (bad secret, oversized, unknown path) is the caller's.
    if (status >= 500 || status === 429 || status === 410 || status === 200 || wire.retryable) {
      return new UnavailableError(`${message} (${wire.code}${status === 200 ? '' : `, HTTP ${status}`})`);
    }
    return new InvalidArgumentError(`${message} (${wire.code}, HTTP ${status})`);
  }
}

/** A 503 `ERR_SHUTTING_DOWN`: safe to resend (the server did not read the request). */
class ShuttingDown {
  constructor(readonly error: Error) {}
}

/** True when `error` shows the connection was never made, so nothing of the request was sent. */
function unsent(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNSENT_CODES.has(code)) return true;
  }
  return false;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

/** The normalized base URL, and the fragment (an incarnation) if the URL has one. */
function normalizeBaseUrl(url: string): { base: string; fragment: string | undefined } {
  if (typeof url !== 'string') throw new InvalidArgumentError('url must be a string');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError(`url ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new InvalidArgumentError(`url must be http: or https:, got ${parsed.protocol}`);
  if (parsed.search !== '' || parsed.username !== '' || parsed.password !== '') {
    throw new InvalidArgumentError('url must have no query or credentials (pass the secret as an option)');
  }
  const fragment = parsed.hash === '' ? undefined : parsed.hash.slice(1);
  if (fragment !== undefined && !isIncarnation(fragment)) throw new InvalidArgumentError(`url fragment ${JSON.stringify(parsed.hash)} is not an incarnation`);
  return { base: `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`, fragment };
}
