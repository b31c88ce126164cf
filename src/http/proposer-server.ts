/**
 * The HTTP API of a proposer node (`caspaxos node`), as the seed's `httpapi` sketches it: a user
 * API over the typed key-value store, an operator API for membership and garbage collection, and
 * the proposer API other nodes call to include this node in those (see `RemoteProposer`).
 *
 * User API (values are JSON; versions are decimal strings, usable as fencing tokens):
 *   GET    /v1/kv/{key}                 -> 200 { key, value, version } | 404
 *   PUT    /v1/kv/{key}  { value }      -> 200 { key, version }
 *   POST   /v1/kv/{key}/cas { version, value }   (version null: only if absent)
 *                                       -> 200 { key, version } | 409 { code, current }
 *   POST   /v1/kv/{key}/increment { by? }        -> 200 { key, value, version }
 *   DELETE /v1/kv/{key}                 -> 200 { key, deleted: true }  (collection in the background)
 *   GET    /v1/kv/{key}/watch           -> 200 text/event-stream: the key's changes (`key-watch.ts`);
 *                                          `Last-Event-ID` or `?since=` resumes; 503 past `maxWatches`
 * Operator API:
 *   GET    /v1/admin/acceptors          -> { preparers, accepters }
 *   POST   /v1/admin/grow   { acceptor } -> paper §2.3, every node of the cluster included
 *   POST   /v1/admin/shrink { acceptor }
 *   POST   /v1/admin/gc     { key }      -> paper §3.1, now (deletes also schedule it)
 *   POST   /v1/admin/sweep               -> collect tombstones left behind
 *   GET    /v1/admin/operations         -> { operations }: grow, shrink, gc and sweep, running and
 *                                          recent, with their progress (`admin-operations.ts`)
 *   GET    /v1/admin/operations/{id}    DELETE /v1/admin/operations/{id} (cancel)
 *   (the four POSTs wait for the end unless sent with `Prefer: respond-async`: 202 and `Location`)
 * Proposer API (for other nodes): POST /v1/proposer/{identity-read, full-identity-read,
 * fast-forward-increment, add-accepter, add-preparer, remove-preparer, remove-accepter},
 * GET /v1/proposer/keys (NDJSON); with a `clusterId`, these require `Caspaxos-Cluster` naming it
 * (421 otherwise). And, without authentication, GET /v1/health (liveness: the process serves; with
 * the key-value store's collection counts, `KeyValueStore.collectionStats`) and GET /v1/ready
 * (readiness: 200 when a majority of the preparers and of the accepters answer a probe now, else
 * 503). GET /metrics serves Prometheus metrics (behind the secret; see
 * docs/operations/metrics.md). With `tls`, everything is served over HTTPS.
 *
 * A value larger than `maxValueBytes(key)` gets 413 before anything is proposed (the acceptors
 * would refuse it, and the proposer would retry until its deadline). Slow clients are cut
 * (`headersTimeoutMs`, `receiveTimeoutMs`) and connections capped (`maxConnections`).
 *
 * Every endpoint but health requires `Authorization: Bearer <secret>` when a secret is set.
 * Errors are `{ code, message, retryable }` with a 4xx for the caller's mistakes (nothing changed)
 * and 503 for retryable failures of the cluster. A write that failed because acceptors' storage
 * refused it is 507 `ERR_STORAGE_FULL` (full disks or quotas) or 503 `ERR_STORAGE_FAILED`
 * (read-only or failing disks), at once, with `acceptors` (the ones the failure names) and
 * `outcome` (`none`: nothing was written; `unknown`: a minority may hold the value).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type Ballot, MAX_BALLOT_COUNTER, isBallot } from '../core/ballot.js';
import { AcceptFailedError, type CASPaxosError, InvalidArgumentError, NotFoundError, type StorageFailedError, type StorageFullError } from '../errors.js';
import { retryWhile } from '../retry.js';
import type { KeyValueStore } from '../kv/key-value-store.js';
import { CLUSTER_HEADER, encodeState, utf8Length } from './wire.js';
import { majority } from '../core/quorum.js';
import { formatVersion, parseVersion } from '../kv/record-format.js';
import type { Logger } from '../logger.js';
import type { Acceptor, Proposer } from '../roles.js';
import { integerOption } from '../internal/validate.js';
import { parseWatchId, serveKeyWatch } from './key-watch.js';
import { AdminOperations } from './admin-operations.js';
import type { ProgressListener } from '../cluster/options.js';
import { type SecretCheck, drained, readJsonBody, secretCheck, sendJson, timeoutOptions } from './json.js';
import { Deadlines } from './deadlines.js';
import { type RequestTarget, requestTarget } from './request-target.js';
import { type ListenAddress, type ServerTlsOptions, createServer, listenOn } from './listen.js';
import { METRICS_CONTENT_TYPE, MetricsRegistry } from '../metrics/registry.js';
import { requestMetrics } from '../metrics/server-metrics.js';

/** What `GET /v1/ready` reports of one set of acceptors (the preparers, or the accepters). */
export interface ReadinessOfSet {
  /** How many of the set answered the probe. */
  readonly reachable: number;
  /** How many must, for a quorum (a majority of the set). */
  readonly required: number;
  /** The set's size. */
  readonly total: number;
}

/** What `GET /v1/ready` answers (200 when `ready`, else 503). */
export interface Readiness {
  /** True when a quorum of the preparers and a quorum of the accepters answered just now. */
  readonly ready: boolean;
  /** The acceptors prepares go to. */
  readonly preparers: ReadinessOfSet;
  /** The acceptors accepts go to. */
  readonly accepters: ReadinessOfSet;
  /** The members that did not answer, with why. */
  readonly unreachable: ReadonlyArray<{
    /** The member's address. */
    readonly acceptor: string;
    /** Why the probe failed. */
    readonly reason: string;
  }>;
}

/** What the node's operator and proposer APIs act on. */
export interface NodeServerContext {
  /** This node's proposer. */
  readonly proposer: Proposer;
  /** The typed store the user API serves (JSON values). */
  readonly kv: KeyValueStore<unknown>;
  /** The acceptor at `address` (an `HttpAcceptor`, made once per address). */
  acceptorAt(address: string): Acceptor;
  /** Grows, shrinks or collects across every node of the cluster (see `ClusterOperations`). */
  readonly operations: ClusterOperations;
  /**
   * Resolves when the acceptor at `address` is reachable now (and is the member the proposer
   * knows), rejects otherwise; `GET /v1/ready` probes every preparer and accepter with it.
   * @default the acceptor's `identify()` when it has one (`HttpAcceptor`), else reachable
   */
  readonly probe?: ((address: string, signal: AbortSignal) => Promise<void>) | undefined;
}

/**
 * The cluster-wide operations the operator API triggers; run with every node's proposer. Each gets
 * a listener for its progress (pass it as `onProgress` to `growCluster`, `shrinkCluster`,
 * `garbageCollect`): `GET /v1/admin/operations` and the log show it.
 */
export interface ClusterOperations {
  /** Adds `acceptor` to the cluster (`growCluster` over every node's proposer). */
  grow(acceptor: Acceptor, signal: AbortSignal, progress?: ProgressListener): Promise<void>;
  /** Removes `acceptor` from the cluster (`shrinkCluster` over every node's proposer). */
  shrink(acceptor: Acceptor, signal: AbortSignal, progress?: ProgressListener): Promise<void>;
  /** Deletes `key` for good (`garbageCollect` over every proposer and acceptor). */
  collect(key: string, signal: AbortSignal, progress?: ProgressListener): Promise<void>;
}

/** Options of `createNodeServer`. */
export interface NodeServerOptions {
  /**
   * The shared secret clients and other nodes send as a bearer token. Without it, no
   * authentication.
   * @default undefined (no authentication)
   */
  readonly secret?: string | undefined;
  /**
   * The largest request body accepted.
   * @default 1048576 (1 MiB)
   */
  readonly maxBodyBytes?: number | undefined;
  /**
   * The longest key accepted, in UTF-8 bytes.
   * @default 1024
   */
  readonly maxKeyBytes?: number | undefined;
  /**
   * How long one request may run before it is aborted (503; the outcome of a write is then unknown).
   * @default 30000
   */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * Receives an info record per request and an error record per internal failure. Silent when
   * absent.
   * @default undefined (no logging)
   */
  readonly logger?: Logger | undefined;
  /**
   * How long a client may take to send the request headers; slower ones are disconnected.
   * @default 10000
   */
  readonly headersTimeoutMs?: number | undefined;
  /**
   * How long a client may take to send a whole request (headers and body); slower ones get 408.
   * @default 30000
   */
  readonly receiveTimeoutMs?: number | undefined;
  /**
   * How long an idle keep-alive connection stays open.
   * @default 5000
   */
  readonly keepAliveTimeoutMs?: number | undefined;
  /**
   * The most TCP connections open at once; Node closes the ones beyond at once.
   * @default 1024
   */
  readonly maxConnections?: number | undefined;
  /**
   * The largest value a PUT or compare-and-set may write for `key`, in bytes of JSON (UTF-8); a
   * larger one gets 413 at once, before anything is sent to an acceptor. `caspaxos node` derives
   * it from what its acceptors accept (see the README, "Limits").
   * @default undefined (no limit beyond maxBodyBytes)
   */
  readonly maxValueBytes?: ((key: string) => number) | undefined;
  /**
   * The cluster this node belongs to: with it, the proposer API (other nodes' calls) requires
   * `Caspaxos-Cluster: <id>` naming it, and answers 421 otherwise.
   * @default undefined (no check)
   */
  readonly clusterId?: string | undefined;
  /**
   * The most watch streams (`GET /v1/kv/{key}/watch`) open at once; more get 503
   * `ERR_TOO_MANY_WATCHES` (retryable). Each stream holds a watch on every accepter (over HTTP, a
   * connection to each acceptor), so keep it well below the acceptors' connection limit.
   * @default 256
   */
  readonly maxWatches?: number | undefined;
  /**
   * How often an idle watch stream gets a heartbeat comment, so that proxies keep it open.
   * @default 15000
   */
  readonly watchHeartbeatMs?: number | undefined;
  /**
   * The shortest time between two progress lines of one operator operation (grow, shrink, gc,
   * sweep) in the log; each step's start is logged regardless.
   * @default 5000
   */
  readonly progressLogMs?: number | undefined;
  /**
   * Serve HTTPS with this certificate and key instead of HTTP.
   * @default undefined (plain HTTP)
   */
  readonly tls?: ServerTlsOptions | undefined;
  /**
   * Where the server records its metrics, served at `GET /metrics` (Prometheus text format; see
   * docs/operations/metrics.md). Pass the registry the proposer's tracer writes to
   * (`proposerMetrics`) to serve both on one page.
   * @default a registry of the server's own
   */
  readonly metrics?: MetricsRegistry | undefined;
}

/** A proposer node's HTTP server, made by `createNodeServer`: not listening until `listen`. */
export interface NodeServer {
  /** The underlying Node server (for its events; use `listen` and `close` to run it); an `https.Server` with `tls`. */
  readonly server: Server;
  /** The server's metrics, served at `GET /metrics` (the `metrics` option, or its own registry). */
  readonly metrics: MetricsRegistry;
  /**
   * Starts listening; port 0 picks a free port. Resolves with the address, as the acceptor
   * server's `listen` does. Before 0.2 this resolved with the base URL as a string; the address
   * still reads as that URL in a template string or `String(address)`: use `address.url`.
   */
  listen(port?: number, host?: string): Promise<ListenAddress>;
  /** Stops accepting, ends the watch streams, lets requests in flight finish (up to 10 s), then closes every connection. */
  close(): Promise<void>;
  /** How many watch streams are open now. */
  activeWatches(): number;
}

/**
 * An answer other than 200, with the error body. Made without a stack trace: most are a client's
 * everyday answers (404 for an absent key, 409 for a compare-and-set that lost), thrown and caught
 * within this module, and capturing a stack cost more than the rest of making the reply.
 */
class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly extra: Record<string, unknown>;

  constructor(status: number, code: string, message: string, extra: Record<string, unknown> = {}) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

/** Thrown by an increment's change function on a value it cannot increment. */
class NotAnInteger extends Error {}

const KV_PATH = /^\/v1\/kv\/([^/]+)(\/cas|\/increment|\/watch)?$/;
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Serves a proposer node's HTTP API (what `caspaxos node` runs): the user API over `context.kv`
 * (JSON values, versions as decimal strings), the operator API (membership changes and garbage
 * collection across the cluster, paper §2.3 and §3.1) and the proposer API other nodes call through
 * `RemoteProposer`. Errors are `{ code, message, retryable }`: 4xx for the caller's mistakes
 * (nothing changed), 503 for retryable failures of the cluster.
 */
export function createNodeServer(context: NodeServerContext, options: NodeServerOptions = {}): NodeServer {
  const maxBodyBytes = integerOption(options.maxBodyBytes, 'maxBodyBytes', 1, 1 << 20);
  const maxKeyBytes = integerOption(options.maxKeyBytes, 'maxKeyBytes', 1, 1024);
  const requestTimeoutMs = integerOption(options.requestTimeoutMs, 'requestTimeoutMs', 1, 30_000);
  const receiveTimeoutMs = integerOption(options.receiveTimeoutMs, 'receiveTimeoutMs', 1, 30_000);
  const headersTimeoutMs = Math.min(integerOption(options.headersTimeoutMs, 'headersTimeoutMs', 1, 10_000), receiveTimeoutMs);
  const keepAliveTimeoutMs = integerOption(options.keepAliveTimeoutMs, 'keepAliveTimeoutMs', 1, 5000);
  const maxConnections = integerOption(options.maxConnections, 'maxConnections', 1, 1024);
  const maxValueBytes = options.maxValueBytes;
  const clusterId = options.clusterId;
  const maxWatches = integerOption(options.maxWatches, 'maxWatches', 1, 256);
  const watchHeartbeatMs = integerOption(options.watchHeartbeatMs, 'watchHeartbeatMs', 1, 15_000);
  /** Aborted by `close`: ends every watch stream. */
  const closingWatches = new AbortController();
  let watchCount = 0;
  const authorized: SecretCheck = secretCheck(options.secret);
  const logger = options.logger;
  const operations = new AdminOperations({ logger, logIntervalMs: integerOption(options.progressLogMs, 'progressLogMs', 1, 5000) });
  /** Requests being handled, and the `close` calls waiting for them to end. */
  let inFlight = 0;
  const waitingForIdle: Array<() => void> = [];
  const deadlines = new Deadlines(requestTimeoutMs);
  const sockets = new Set<Socket>();
  let closing = false;
  const metrics = options.metrics ?? new MetricsRegistry();
  const requestFigures = requestMetrics(metrics, 'caspaxos_node_http', 'node server');
  metrics.gauge('caspaxos_kv_pending_collections', 'Deleted keys whose garbage collection is running or waiting for a retry.', [], (set) => set(context.kv.pendingCollections ?? 0));

  const server = createServer(
    options.tls,
    timeoutOptions(receiveTimeoutMs, headersTimeoutMs, keepAliveTimeoutMs),
    (req, res) => {
      // Counted, not collected in a set of promises: one promise per request (`close` waits for
      // the count to reach zero).
      inFlight++;
      handle(req, res).then(requestEnded, (error: unknown) => {
        requestEnded();
        logger?.error({ err: error, path: req.url }, 'caspaxos node: request failed');
        if (!res.headersSent) sendJson(res, 500, { code: 'ERR_INTERNAL', message: 'internal error', retryable: true });
        else res.destroy();
      });
    },
  );
  function requestEnded(): void {
    if (--inFlight === 0) for (const resolve of waitingForIdle.splice(0)) resolve();
  }
  server.maxConnections = maxConnections;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket: Socket) => socket.destroy());

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = requestTarget(req.url ?? '/');
    const method = req.method ?? 'GET';
    const deadline = deadlines.start();
    const signal = deadline.signal;
    try {
      if (closing) throw new HttpError(503, 'ERR_SHUTTING_DOWN', 'the node is shutting down');
      // Liveness: the process serves (with the key-value store's collections, for operators and
      // metrics: what deletes and sweeps scheduled, how they ended). Readiness: a quorum of each
      // acceptor set answers now.
      if (url.pathname === '/v1/health') {
        const kv = context.kv;
        return sendJson(res, 200, { status: 'ok', proposer: context.proposer.address, pendingCollections: kv.pendingCollections, collections: kv.collectionStats });
      }
      if (url.pathname === '/v1/ready') {
        const readiness = await ready();
        return sendJson(res, readiness.ready ? 200 : 503, readiness);
      }
      if (!authorized(req.headers.authorization)) throw new HttpError(401, 'ERR_UNAUTHORIZED', 'missing or wrong bearer token');
      if (url.pathname === '/metrics') {
        if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'ERR_METHOD', `${method} is not allowed here`);
        const text = metrics.render();
        res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
        res.end(method === 'HEAD' ? undefined : text);
        return;
      }
      const kv = KV_PATH.exec(url.pathname);
      if (kv !== null && kv[2] === '/watch') return await watchApi(req, res, method, decodeKey(kv[1] as string), url);
      if (kv !== null) return await userApi(req, res, method, decodeKey(kv[1] as string), kv[2], signal);
      if (url.pathname.startsWith('/v1/admin/')) return await operatorApi(req, res, method, url.pathname.slice('/v1/admin/'.length), signal);
      if (url.pathname.startsWith('/v1/proposer/')) {
        const named = req.headers[CLUSTER_HEADER];
        if (clusterId !== undefined && named !== clusterId) {
          throw new HttpError(421, 'ERR_WRONG_CLUSTER', `this node belongs to cluster ${JSON.stringify(clusterId)}; the request names ${typeof named === 'string' ? JSON.stringify(named) : `none (send ${CLUSTER_HEADER})`}`);
        }
        return await proposerApi(req, res, method, url, signal);
      }
      throw new HttpError(404, 'ERR_NO_ROUTE', `no endpoint at ${JSON.stringify(url.pathname)}`);
    } catch (error) {
      const failure = toHttpError(error, signal);
      // A full disk is the acceptors' state, logged there once per change, not per request here.
      if (failure.status >= 500 && failure.status !== 507) logger?.error({ err: error, method, path: url.pathname }, 'caspaxos node: request failed');
      if (!res.headersSent) sendJson(res, failure.status, { code: failure.code, message: failure.message, retryable: failure.status === 503, ...failure.extra });
      else res.destroy();
    } finally {
      deadline.end();
      const elapsed = performance.now() - started;
      requestFigures.observe(routeOf(url.pathname), method, res.statusCode, elapsed / 1000);
      logger?.info({ method, path: url.pathname, status: res.statusCode, ms: Math.round(elapsed) }, 'request');
    }
  }

  function decodeKey(encoded: string): string {
    let key: string;
    try {
      key = decodeURIComponent(encoded);
    } catch {
      throw new HttpError(400, 'ERR_INVALID_ARGUMENT', 'the key is not valid percent-encoded UTF-8');
    }
    if (utf8Length(key) > maxKeyBytes) throw new HttpError(400, 'ERR_KEY_TOO_LONG', `keys are limited to ${maxKeyBytes} UTF-8 bytes`);
    return key;
  }

  async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
    const result = await readJsonBody(req, maxBodyBytes);
    if (result.type === 'too-large') throw new HttpError(413, 'ERR_TOO_LARGE', `request bodies are limited to ${maxBodyBytes} bytes`);
    if (result.type === 'invalid') throw new HttpError(400, 'ERR_BAD_JSON', result.message);
    return result.value;
  }

  async function userApi(req: IncomingMessage, res: ServerResponse, method: string, key: string, action: string | undefined, signal: AbortSignal): Promise<void> {
    const opts = { signal };
    if (action === undefined && method === 'GET') {
      const entry = await context.kv.get(key, opts);
      if (entry === undefined) throw new HttpError(404, 'ERR_NOT_FOUND', `no value for key ${JSON.stringify(key)}`);
      return sendJson(res, 200, { key, value: entry.value, version: formatVersion(entry.version) });
    }
    if (action === undefined && method === 'PUT') {
      const value = requireField(await body(req), 'value');
      checkValueSize(key, value);
      return sendJson(res, 200, { key, version: formatVersion(await idempotent(() => context.kv.set(key, value, opts), signal)) });
    }
    if (action === undefined && method === 'DELETE') {
      await idempotent(() => context.kv.delete(key, opts), signal);
      return sendJson(res, 200, { key, deleted: true });
    }
    if (action === '/cas' && method === 'POST') {
      const request = await body(req);
      const expected = versionField(requireField(request, 'version'));
      checkValueSize(key, request.value);
      const result = await context.kv.compareAndSet(key, expected, requireField(request, 'value'), opts);
      if (result.ok) return sendJson(res, 200, { key, version: formatVersion(result.version) });
      const current = result.current === undefined ? null : { value: result.current.value, version: formatVersion(result.current.version) };
      throw new HttpError(409, 'ERR_VERSION_MISMATCH', 'the key is not at the expected version', { current });
    }
    if (action === '/increment' && method === 'POST') {
      const by = (await body(req)).by ?? 1;
      if (typeof by !== 'number' || !Number.isSafeInteger(by)) throw new HttpError(400, 'ERR_INVALID_ARGUMENT', '"by" must be a safe integer');
      // The change throws on a value that is not an integer: a throwing change writes nothing.
      // (Never read a flag set inside a change function: the proposer may call it more than once,
      // or return a state an earlier attempt produced.)
      const entry = await context.kv
        .update(
          key,
          (current) => {
            const next = ((current as number | undefined) ?? 0) + by;
            if ((current !== undefined && typeof current !== 'number') || !Number.isSafeInteger(next)) throw new NotAnInteger();
            return next;
          },
          opts,
        )
        .catch((error: unknown) => {
          if (error instanceof NotAnInteger) throw new HttpError(409, 'ERR_NOT_A_NUMBER', `the value of ${JSON.stringify(key)} is not an integer that can be incremented by ${by}`);
          throw error;
        });
      if (entry === undefined) throw new Error('internal: an increment deleted its key');
      return sendJson(res, 200, { key, value: entry.value, version: formatVersion(entry.version) });
    }
    throw new HttpError(405, 'ERR_METHOD', `${method} is not allowed here`);
  }

  /** `GET /v1/kv/{key}/watch` (see `key-watch.ts`): checked and counted here, streamed there. */
  async function watchApi(req: IncomingMessage, res: ServerResponse, method: string, key: string, url: RequestTarget): Promise<void> {
    if (method !== 'GET') throw new HttpError(405, 'ERR_METHOD', `${method} is not allowed here`);
    const accept = req.headers.accept;
    if (accept !== undefined && !/text\/event-stream|text\/\*|\*\/\*/.test(accept)) throw new HttpError(406, 'ERR_NOT_ACCEPTABLE', 'a watch answers text/event-stream only');
    const header = req.headers['last-event-id'];
    const resumeFrom = typeof header === 'string' && header !== '' ? header : new URLSearchParams(url.search).get('since');
    const since = resumeFrom === null ? undefined : parseWatchId(resumeFrom);
    if (resumeFrom !== null && since === undefined) throw new HttpError(400, 'ERR_INVALID_ARGUMENT', `${JSON.stringify(resumeFrom)} is not a watch event id (a version, or <version>-deleted)`);
    if (watchCount >= maxWatches) {
      res.setHeader('retry-after', '5');
      throw new HttpError(503, 'ERR_TOO_MANY_WATCHES', `this node serves at most ${maxWatches} watch streams at once`);
    }
    watchCount++;
    try {
      await serveKeyWatch(res, {
        kv: context.kv,
        key,
        since,
        heartbeatMs: watchHeartbeatMs,
        closing: closingWatches.signal,
        logger,
        describe: (error) => {
          const failure = toHttpError(error, closingWatches.signal);
          // A watch that broke on the node's own trouble (5xx, an internal error included) is worth
          // resuming from its last version; a 4xx is not.
          return { code: failure.code, message: failure.message, retryable: failure.status >= 500 };
        },
      });
    } finally {
      watchCount--;
    }
  }

  /**
   * 413 at once for a value the acceptors could not take (`maxValueBytes`): sent, it would be
   * refused by every acceptor and the proposer would retry until its deadline.
   */
  function checkValueSize(key: string, value: unknown): void {
    if (maxValueBytes === undefined) return;
    const limit = maxValueBytes(key);
    const text = JSON.stringify(value);
    const size = text === undefined ? 0 : Buffer.byteLength(text);
    if (size > limit) throw new HttpError(413, 'ERR_VALUE_TOO_LARGE', `the value is ${size} bytes of JSON; values of key ${JSON.stringify(key)} are limited to ${limit} (what the acceptors accept, after encoding)`);
  }

  /** The last readiness report and when it was made: probes run at most every 500 ms, one round at a time. */
  let lastReadiness: { at: number; report: Promise<Readiness> } | undefined;
  function ready(): Promise<Readiness> {
    const now = Date.now();
    if (lastReadiness !== undefined && now - lastReadiness.at < 500) return lastReadiness.report;
    const report = checkReadiness();
    lastReadiness = { at: now, report };
    return report;
  }

  async function checkReadiness(): Promise<Readiness> {
    const signal = AbortSignal.timeout(Math.min(requestTimeoutMs, 3000));
    const [preparers, accepters] = await Promise.all([context.proposer.listPreparers({ signal }), context.proposer.listAccepters({ signal })]);
    const probe = context.probe ?? defaultProbe;
    const members = [...new Set([...preparers, ...accepters])];
    const failures = new Map<string, string>();
    await Promise.all(
      members.map((address) =>
        probe(address, signal).catch((error: unknown) => {
          failures.set(address, error instanceof Error ? error.message : String(error));
        }),
      ),
    );
    const of = (set: readonly string[]): ReadinessOfSet => ({ reachable: set.filter((a) => !failures.has(a)).length, required: majority(set.length), total: set.length });
    const p = of(preparers);
    const a = of(accepters);
    return { ready: p.reachable >= p.required && a.reachable >= a.required, preparers: p, accepters: a, unreachable: [...failures].map(([acceptor, reason]) => ({ acceptor, reason })) };
  }

  async function defaultProbe(address: string, signal: AbortSignal): Promise<void> {
    const acceptor = context.acceptorAt(address) as Acceptor & { identify?: (opts: { signal: AbortSignal }) => Promise<unknown> };
    if (typeof acceptor.identify === 'function') await acceptor.identify({ signal });
  }

  async function operatorApi(req: IncomingMessage, res: ServerResponse, method: string, action: string, signal: AbortSignal): Promise<void> {
    if (action === 'acceptors' && method === 'GET') {
      const [preparers, accepters] = await Promise.all([context.proposer.listPreparers({ signal }), context.proposer.listAccepters({ signal })]);
      return sendJson(res, 200, { preparers, accepters });
    }
    if (action === 'operations' && method === 'GET') return sendJson(res, 200, { operations: operations.list() });
    if (action.startsWith('operations/')) {
      const id = action.slice('operations/'.length);
      if (method === 'DELETE' && !operations.cancel(id) && operations.get(id) !== undefined) throw new HttpError(409, 'ERR_NOT_RUNNING', `operation ${JSON.stringify(id)} is not running`);
      if (method !== 'GET' && method !== 'DELETE') throw new HttpError(405, 'ERR_METHOD', `${method} is not allowed here`);
      const record = operations.get(id);
      if (record === undefined) throw new HttpError(404, 'ERR_NOT_FOUND', `no operation ${JSON.stringify(id)} (only the last finished ones are kept)`);
      return sendJson(res, 200, record);
    }
    if (method !== 'POST') throw new HttpError(405, 'ERR_METHOD', `${method} is not allowed here`);
    const request = await body(req);
    // Each runs as an operation (`admin-operations.ts`): not bound by this request's timeout, and
    // followed through GET /v1/admin/operations.
    let started: { readonly id: string; readonly outcome: Promise<Record<string, unknown>> };
    switch (action) {
      case 'grow':
      case 'shrink': {
        const address = stringField(request, 'acceptor');
        const acceptor = context.acceptorAt(address);
        started = operations.start(action, address, async (signal, progress) => {
          await (action === 'grow' ? context.operations.grow(acceptor, signal, progress) : context.operations.shrink(acceptor, signal, progress));
          const [preparers, accepters] = await Promise.all([context.proposer.listPreparers(), context.proposer.listAccepters()]);
          return { preparers, accepters };
        });
        break;
      }
      case 'gc': {
        const key = stringField(request, 'key');
        started = operations.start('gc', key, async (signal, progress) => {
          await context.operations.collect(key, signal, progress);
          return { key, collected: true };
        });
        break;
      }
      case 'sweep':
        started = operations.start('sweep', undefined, async (signal, onProgress) => ({ ...(await context.kv.sweep({ signal, onProgress })) }));
        break;
      default:
        throw new HttpError(404, 'ERR_NO_ROUTE', `no operator endpoint ${JSON.stringify(action)}`);
    }
    const { id, outcome } = started;
    if (/\brespond-async\b/i.test(String(req.headers.prefer ?? ''))) {
      res.setHeader('location', `/v1/admin/operations/${id}`);
      return sendJson(res, 202, { operation: operations.get(id) });
    }
    let result: Record<string, unknown>;
    try {
      result = await outcome;
    } catch (error) {
      const record = operations.get(id);
      const failure =
        record?.state === 'cancelled'
          ? closing
            ? new HttpError(503, 'ERR_SHUTTING_DOWN', `the node is shutting down: ${action} stopped (completed steps undone)`)
            : new HttpError(409, 'ERR_CANCELLED', `${action} was cancelled (completed steps undone)`)
          : // The operation outlives the request's timeout by design: judge its failure as it is, not
            // as a request that timed out (503 ERR_TIMEOUT would invite a retry of a hopeless one).
            toHttpError(error, NEVER_ABORTED);
      throw new HttpError(failure.status, failure.code, failure.message, { ...failure.extra, operation: record });
    }
    return sendJson(res, 200, { ...result, operation: operations.get(id) });
  }

  async function proposerApi(req: IncomingMessage, res: ServerResponse, method: string, url: RequestTarget, signal: AbortSignal): Promise<void> {
    const p = context.proposer;
    const action = url.pathname.slice('/v1/proposer/'.length);
    if (action === 'keys' && method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for await (const key of p.listKeys({ signal })) {
        if (res.destroyed) break;
        if (!res.write(`${JSON.stringify(key)}\n`)) await drained(res);
      }
      res.end();
      return;
    }
    if (method !== 'POST') throw new HttpError(405, 'ERR_METHOD', `${method} is not allowed here`);
    const request = await body(req);
    const opts = { signal };
    switch (action) {
      case 'identity-read':
      case 'full-identity-read': {
        const key = stringField(request, 'key');
        // `writeBack: true` asks for the full round (a peer's re-replication pass); without it the
        // node reads without writing when it can (see `proposer/fast-read`).
        // (An older node ignores the field, and always writes back.)
        const writeBack = action === 'identity-read' && request.writeBack === true;
        const { state, ballot } = await (action === 'identity-read' ? p.identityRead(key, writeBack ? { signal, writeBack } : opts) : p.fullIdentityRead(key, opts));
        return sendJson(res, 200, { state: encodeState(state), ballot });
      }
      case 'fast-forward-increment': {
        const ballot = request.ballot;
        if (!isBallot(ballot)) throw new HttpError(400, 'ERR_INVALID_ARGUMENT', '"ballot" must be { counter, id }');
        // A tombstone's ballot comes from the acceptors, which accept no counter above the limit:
        // a higher one is a forged request that would push this proposer's counter out of range.
        if (ballot.counter > MAX_BALLOT_COUNTER) throw new HttpError(400, 'ERR_INVALID_ARGUMENT', `"ballot" counter is above the largest accepted, ${MAX_BALLOT_COUNTER} (2^48)`);
        return sendJson(res, 200, { age: await p.fastForwardIncrement(stringField(request, 'key'), ballot as Ballot, opts) });
      }
      case 'add-accepter':
        await p.addAccepter(context.acceptorAt(stringField(request, 'address')), opts);
        return sendJson(res, 200, {});
      case 'add-preparer':
        await p.addPreparer(context.acceptorAt(stringField(request, 'address')), opts);
        return sendJson(res, 200, {});
      case 'remove-preparer':
        await p.removePreparer({ address: stringField(request, 'address') }, opts);
        return sendJson(res, 200, {});
      case 'remove-accepter':
        await p.removeAccepter({ address: stringField(request, 'address') }, opts);
        return sendJson(res, 200, {});
      default:
        throw new HttpError(404, 'ERR_NO_ROUTE', `no proposer endpoint ${JSON.stringify(action)}`);
    }
  }

  return {
    server,
    metrics,
    listen(port = 0, host = '127.0.0.1') {
      return listenOn(server, options.tls !== undefined, port, host);
    },
    activeWatches: () => watchCount,
    async close() {
      closing = true;
      closingWatches.abort();
      operations.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref());
      const ended = inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => waitingForIdle.push(resolve));
      await Promise.race([ended, grace]);
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** The operator and proposer endpoints, by name; anything else is `unknown` (paths are client input). */
const NAMED_ROUTES = new Set(['/v1/health', '/v1/ready', '/metrics', '/v1/admin/acceptors', '/v1/admin/grow', '/v1/admin/shrink', '/v1/admin/gc', '/v1/admin/sweep', '/v1/proposer/keys',
  '/v1/proposer/identity-read', '/v1/proposer/full-identity-read', '/v1/proposer/fast-forward-increment', '/v1/proposer/add-accepter', '/v1/proposer/add-preparer', '/v1/proposer/remove-preparer', '/v1/proposer/remove-accepter']);

/** The route label of `pathname`: `kv`, `kv_cas`, `kv_increment`, a named endpoint (`admin_grow`, ...), or `unknown`. */
function routeOf(pathname: string): string {
  const kv = KV_PATH.exec(pathname);
  if (kv !== null) return kv[2] === undefined ? 'kv' : `kv_${kv[2].slice(1)}`;
  if (!NAMED_ROUTES.has(pathname)) return 'unknown';
  return pathname.replace(/^\/(v1\/)?/, '').replace(/[/-]/g, '_');
}

/**
 * Runs a write that is idempotent in effect (HTTP's PUT and DELETE: writing the same value, or the
 * tombstone, twice leaves what once does), again when its outcome was unknown: typically a garbage
 * collection of the key fenced the proposer mid-round. Non-idempotent writes (increment,
 * compare-and-set) report the unknown outcome instead (503, retryable: the client decides).
 */
function idempotent<T>(write: () => Promise<T>, signal: AbortSignal): Promise<T> {
  // Not when storage refused it: acceptors stay full until someone frees space; say so at once.
  return retryWhile(write, (error) => error instanceof AcceptFailedError && storageFailureOf(error) === undefined, { signal });
}

/** The acceptors' storage error that made `error` (itself, or one in its cause chain), if any. */
function storageFailureOf(error: unknown): StorageFullError | StorageFailedError | undefined {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    // By code, not class: the error may come from another copy of the package.
    const code = (e as { code?: unknown }).code;
    if (code === 'ERR_STORAGE_FULL' || code === 'ERR_STORAGE_FAILED') return e as StorageFullError | StorageFailedError;
  }
  return undefined;
}

/**
 * The client error for a write the acceptors' storage refused: 507 `ERR_STORAGE_FULL` or 503
 * `ERR_STORAGE_FAILED`, naming the acceptors the failure names, with what is known of the outcome.
 */
function storageHttpError(error: unknown, storage: StorageFullError | StorageFailedError): HttpError {
  const full = storage.code === 'ERR_STORAGE_FULL';
  const acceptors = Array.isArray(storage.acceptors) ? storage.acceptors : [];
  // The prepare phase failed: nothing was written. The accept phase: a minority may hold it.
  const outcome = error instanceof AcceptFailedError ? 'unknown' : 'none';
  const where = acceptors.length === 0 ? 'the acceptors' : `acceptor${acceptors.length === 1 ? '' : 's'} ${acceptors.join(', ')}`;
  const what = full ? `storage full at ${where}` : `storage failing at ${where}`;
  const written = outcome === 'none' ? 'the write was not applied' : 'the write may or may not have been applied';
  const advice = full ? 'free space (delete keys, or grow the disk) and writes resume by themselves' : 'the acceptors retry their disk with every write';
  return new HttpError(full ? 507 : 503, storage.code, `${what}: ${written}; ${advice} (${storage.message})`, { acceptors, outcome });
}

function requireField(request: Record<string, unknown>, name: string): unknown {
  if (!(name in request)) throw new HttpError(400, 'ERR_INVALID_ARGUMENT', `the request body needs "${name}"`);
  return request[name];
}

function stringField(request: Record<string, unknown>, name: string): string {
  const value = request[name];
  if (typeof value !== 'string' || value === '') throw new HttpError(400, 'ERR_INVALID_ARGUMENT', `"${name}" must be a non-empty string`);
  return value;
}

function versionField(value: unknown): bigint | null {
  if (value === null) return null;
  if (typeof value !== 'string') throw new HttpError(400, 'ERR_INVALID_ARGUMENT', '"version" must be a version string, or null for "only if absent"');
  try {
    return parseVersion(value);
  } catch (error) {
    throw new HttpError(400, 'ERR_INVALID_ARGUMENT', (error as Error).message);
  }
}

/** The answer for a failure: the caller's mistakes are 4xx, the cluster's retryable ones 503. */
/** A signal that never aborts: for failures that have nothing to do with the request's deadline. */
const NEVER_ABORTED = new AbortController().signal;

function toHttpError(error: unknown, signal: AbortSignal): HttpError {
  if (error instanceof HttpError) return error;
  const storage = storageFailureOf(error);
  if (storage !== undefined) return storageHttpError(error, storage);
  if (signal.aborted) return new HttpError(503, 'ERR_TIMEOUT', 'the request took too long; a write may or may not have happened');
  const code = (error as Partial<CASPaxosError>)?.code;
  if (error instanceof InvalidArgumentError) return new HttpError(400, 'ERR_INVALID_ARGUMENT', error.message);
  if (error instanceof NotFoundError) return new HttpError(404, 'ERR_NOT_FOUND', error.message);
  if (typeof code === 'string') {
    const retryable = (error as { retryable?: unknown }).retryable === true;
    return new HttpError(retryable ? 503 : 409, code, (error as Error).message);
  }
  return new HttpError(500, 'ERR_INTERNAL', 'internal error');
}
