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
 * Operator API:
 *   GET    /v1/admin/acceptors          -> { preparers, accepters }
 *   POST   /v1/admin/grow   { acceptor } -> paper §2.3, every node of the cluster included
 *   POST   /v1/admin/shrink { acceptor }
 *   POST   /v1/admin/gc     { key }      -> paper §3.1, now (deletes also schedule it)
 *   POST   /v1/admin/sweep               -> collect tombstones left behind
 * Proposer API (for other nodes): POST /v1/proposer/{identity-read, full-identity-read,
 * fast-forward-increment, add-accepter, add-preparer, remove-preparer, remove-accepter},
 * GET /v1/proposer/keys (NDJSON); with a `clusterId`, these require `Caspaxos-Cluster` naming it
 * (421 otherwise). And, without authentication, GET /v1/health (liveness: the process serves; with
 * the key-value store's collection counts, `KeyValueStore.collectionStats`) and GET /v1/ready
 * (readiness: 200 when a majority of the preparers and of the accepters answer a probe now, else
 * 503).
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
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
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
import { type SecretCheck, drained, readJsonBody, secretCheck, sendJson, timeoutOptions } from './json.js';

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

/** The cluster-wide operations the operator API triggers; run with every node's proposer. */
export interface ClusterOperations {
  /** Adds `acceptor` to the cluster (`growCluster` over every node's proposer). */
  grow(acceptor: Acceptor, signal: AbortSignal): Promise<void>;
  /** Removes `acceptor` from the cluster (`shrinkCluster` over every node's proposer). */
  shrink(acceptor: Acceptor, signal: AbortSignal): Promise<void>;
  /** Deletes `key` for good (`garbageCollect` over every proposer and acceptor). */
  collect(key: string, signal: AbortSignal): Promise<void>;
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
}

/** A proposer node's HTTP server, made by `createNodeServer`: not listening until `listen`. */
export interface NodeServer {
  /** The underlying Node server (for its events; use `listen` and `close` to run it). */
  readonly server: Server;
  /** Starts listening; port 0 picks a free port. Resolves with the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops accepting, lets requests in flight finish (up to 10 s), then closes every connection. */
  close(): Promise<void>;
}

/** An answer other than 200, with the error body. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Thrown by an increment's change function on a value it cannot increment. */
class NotAnInteger extends Error {}

const KV_PATH = /^\/v1\/kv\/([^/]+)(\/cas|\/increment)?$/;
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
  const authorized: SecretCheck = secretCheck(options.secret);
  const logger = options.logger;
  const inFlight = new Set<Promise<void>>();
  const sockets = new Set<Socket>();
  let closing = false;

  const server = createServer(
    timeoutOptions(receiveTimeoutMs, headersTimeoutMs, keepAliveTimeoutMs),
    (req, res) => {
      const handled = handle(req, res).catch((error: unknown) => {
        logger?.error({ err: error, path: req.url }, 'caspaxos node: request failed');
        if (!res.headersSent) sendJson(res, 500, { code: 'ERR_INTERNAL', message: 'internal error', retryable: true });
        else res.destroy();
      });
      inFlight.add(handled);
      void handled.finally(() => inFlight.delete(handled));
    },
  );
  server.maxConnections = maxConnections;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket: Socket) => socket.destroy());

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://node');
    const method = req.method ?? 'GET';
    const signal = AbortSignal.timeout(requestTimeoutMs);
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
      const kv = KV_PATH.exec(url.pathname);
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
      logger?.info({ method, path: url.pathname, status: res.statusCode, ms: Date.now() - started }, 'request');
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
    if (method !== 'POST') throw new HttpError(405, 'ERR_METHOD', `${method} is not allowed here`);
    const request = await body(req);
    switch (action) {
      case 'grow':
      case 'shrink': {
        const acceptor = context.acceptorAt(stringField(request, 'acceptor'));
        await (action === 'grow' ? context.operations.grow(acceptor, signal) : context.operations.shrink(acceptor, signal));
        const [preparers, accepters] = await Promise.all([context.proposer.listPreparers(), context.proposer.listAccepters()]);
        return sendJson(res, 200, { preparers, accepters });
      }
      case 'gc': {
        const key = stringField(request, 'key');
        await context.operations.collect(key, signal);
        return sendJson(res, 200, { key, collected: true });
      }
      case 'sweep':
        return sendJson(res, 200, await context.kv.sweep({ signal }));
      default:
        throw new HttpError(404, 'ERR_NO_ROUTE', `no operator endpoint ${JSON.stringify(action)}`);
    }
  }

  async function proposerApi(req: IncomingMessage, res: ServerResponse, method: string, url: URL, signal: AbortSignal): Promise<void> {
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
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          resolve(`http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`);
        });
      });
    },
    async close() {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref());
      await Promise.race([Promise.allSettled([...inFlight]), grace]);
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
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
