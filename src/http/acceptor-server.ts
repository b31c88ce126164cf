/**
 * An HTTP server hosting any `Acceptor` (a `MemoryAcceptor`, a `StoreAcceptor` over a durable
 * store, ...) with the wire format of `http/wire.ts`, for `HttpAcceptor` clients.
 *
 * The server adds no protocol logic: each request is decoded strictly, handed to the acceptor, and
 * the acceptor's reply encoded. It replies only after the acceptor's call resolved, and a durable
 * acceptor resolves only after its write is durable, so "persist before reply" (paper §2.2) holds
 * end to end. Input never crashes it: every bad request gets a 4xx with `{ code, message,
 * retryable }` and reaches the acceptor only if it decoded completely, so it changes nothing.
 *
 * Served with an `identity` (cluster and incarnation), it answers only requests that name its
 * cluster (and, when they name one, its incarnation), 421 otherwise, and puts its identity on every
 * reply (see `wire.ts`, "Identity"). Slow clients are cut (`headersTimeoutMs`, `requestTimeoutMs`)
 * and connections are capped (`maxConnections`).
 *
 * A full or failing store is an answer, not a crash: `StorageFullError` is 507
 * `ERR_STORAGE_FULL`, `StorageFailedError` 503 `ERR_STORAGE_FAILED`, alike in v1 replies, batch
 * items and stream frames. `GET /v1/ready` (unauthenticated, like `/v1/health`) is 200 while the
 * acceptor's storage takes writes and 503 with the reason while it is full or failing (for an
 * acceptor that reports its storage, as `StoreAcceptor` does); `/v1/health` stays 200 throughout:
 * the process is up and answering.
 *
 * `GET /metrics` serves Prometheus metrics (text format 0.0.4: requests, batch sizes, replies,
 * storage errors; see docs/operations/metrics.md), behind the secret like the protocol endpoints
 * but without the cluster check (a scrape changes nothing). With `tls`, it serves HTTPS, the
 * acceptor stream included.
 *
 * Node-only (`node:http`, `node:https`, `node:crypto`).
 */
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { abortable } from '../internal/abort.js';
import { CASPaxosError, InvalidArgumentError, StorageFailedError, StorageFullError } from '../errors.js';
import type { StorageStatus } from '../acceptor/storage.js';
import { DebugGate, type Logger } from '../logger.js';
import type { AcceptedState } from '../core/messages.js';
import type { Acceptor } from '../roles.js';
import {
  type AcceptorIdentity,
  CLUSTER_HEADER,
  HEALTH_REPLY,
  INCARNATION_HEADER,
  JSON_TYPE,
  NDJSON_TYPE,
  PATHS,
  STREAM_PROTOCOL,
  type BatchItem,
  type BatchItemReply,
  type UnsupportedItem,
  type WireError,
  decodeAcceptRequest,
  decodeBatchRequest,
  encodeBatchReply,
  encodeFrameError,
  decodeListKeysCloseRequest,
  decodeListKeysRequest,
  decodePeekRequest,
  decodePrepareRequest,
  decodeRejectByAgeRequest,
  decodeRemoveIfEqualRequest,
  decodeWatchRequest,
  encodeAcceptReply,
  encodeListKeysPage,
  encodePeekReply,
  encodePrepareReply,
  encodeRemoveReply,
  encodeWatchLine,
  encodeIdentityReply,
  isClusterId,
  isIncarnation,
  parseJson,
  utf8Length,
} from './wire.js';
import { ListCursorError, ListCursors } from './list-cursors.js';
import { drained, secretCheck, timeoutOptions } from './json.js';
import { readBody } from './request-body.js';
import { FrameReader, encodeFrame } from './frames.js';
import { integerOption } from '../internal/validate.js';
import { METRICS_CONTENT_TYPE, MetricsRegistry, SIZE_BUCKETS } from '../metrics/registry.js';
import { requestMetrics } from '../metrics/server-metrics.js';
import { type ListenAddress, type ServerTlsOptions, createServer, listenOn } from './listen.js';

export type { ListenAddress, ServerTlsOptions } from './listen.js';

/** Options of `createAcceptorServer`. */
export interface AcceptorServerOptions {
  /**
   * The shared secret clients send as `Authorization: Bearer <secret>`; every endpoint but
   * `/v1/health` requires it. Compared in constant time. Without it the server accepts every
   * request: only for loopback or a network you trust entirely.
   * @default undefined (no authentication)
   */
  readonly secret?: string | undefined;
  /**
   * The largest request body accepted; larger ones get 413 and the connection is closed.
   * @default 1048576 (1 MiB)
   */
  readonly maxBodyBytes?: number | undefined;
  /**
   * The longest key accepted, in UTF-8 bytes; longer ones get 400.
   * @default 1024
   */
  readonly maxKeyBytes?: number | undefined;
  /**
   * Receives a debug record per request and an error record per internal failure. Silent when
   * absent.
   * @default undefined (no logging)
   */
  readonly logger?: Logger | undefined;
  /**
   * How long a client may take to send a whole request (headers and body); Node answers 408 after.
   * @default 30000
   */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * How long a client may take to send the request headers.
   * @default 10000
   */
  readonly headersTimeoutMs?: number | undefined;
  /**
   * How long an acceptor call may take before the server gives up on it (aborting its signal) and
   * answers 503 `ERR_TIMEOUT`. Its outcome is then unknown to the client, as with a lost reply.
   * @default 10000
   */
  readonly callTimeoutMs?: number | undefined;
  /**
   * How long an idle keep-alive connection stays open.
   * @default 5000
   */
  readonly keepAliveTimeoutMs?: number | undefined;
  /**
   * How long `close()` lets requests in flight finish before it cuts their connections.
   * @default 5000
   */
  readonly shutdownTimeoutMs?: number | undefined;
  /**
   * How long an unfinished `listKeys` listing waits for its next page request before it is dropped.
   * @default 30000
   */
  readonly listCursorTtlMs?: number | undefined;
  /**
   * How many `listKeys` listings may be open at once; more get 429.
   * @default 64
   */
  readonly maxListCursors?: number | undefined;
  /**
   * The most TCP connections open at once (acceptor streams included); Node closes the ones
   * beyond at once. Each proposer node holds one stream and a few keep-alive connections.
   * @default 1024
   */
  readonly maxConnections?: number | undefined;
  /**
   * Who this acceptor is (`caspaxos acceptor` reads it from its data directory). With it, every
   * request but `/v1/health` and `/v1/identity` must name this cluster (`Caspaxos-Cluster`) and,
   * if it names an incarnation (`Caspaxos-Incarnation`), this one, or get 421 and change nothing;
   * every reply carries both headers (see `wire.ts`, "Identity"). Without it, no check.
   * @default undefined (no identity)
   */
  readonly identity?: AcceptorIdentity | undefined;
  /**
   * Serve HTTPS with this certificate and key (the stream too: it upgrades an HTTPS request).
   * Clients then use `https://` URLs and verify the certificate (see `nodeFetch`'s `ca`).
   * @default undefined (plain HTTP)
   */
  readonly tls?: ServerTlsOptions | undefined;
  /**
   * Where the server records its metrics, served at `GET /metrics` (Prometheus text format; see
   * docs/operations/metrics.md). Pass one registry to add the acceptor's store metrics
   * (`instrumentStore`) or your own to the same page.
   * @default a registry of the server's own
   */
  readonly metrics?: MetricsRegistry | undefined;
}

/** An acceptor's HTTP server, made by `createAcceptorServer`: not listening until `listen`. */
export interface AcceptorServer {
  /** The underlying Node server (for its events; `listen` and `close` below are the supported way to run it); an `https.Server` with `tls`. */
  readonly server: Server;
  /** The server's metrics, served at `GET /metrics` (the `metrics` option, or its own registry). */
  readonly metrics: MetricsRegistry;
  /** Starts listening; port 0 picks a free port. @default port 0, host '127.0.0.1' */
  listen(port?: number, host?: string): Promise<ListenAddress>;
  /**
   * Graceful shutdown: stops accepting connections, answers new requests on open connections with
   * 503, ends watch streams (each with its end line), closes idle keep-alive connections, lets
   * requests in flight finish for up to `shutdownTimeoutMs`, then cuts what remains.
   */
  close(): Promise<void>;
  /** Abrupt shutdown: destroys every connection at once (what a crash looks like to clients). */
  terminate(): Promise<void>;
}

type Route = 'health' | 'identity' | 'prepare' | 'peek' | 'accept' | 'rejectByAge' | 'removeIfEqual' | 'listKeys' | 'listKeysClose' | 'watch' | 'batch' | 'stream';

/** An open acceptor stream: its socket, the frames it is running, and the reply frames of this turn. */
interface Stream {
  readonly socket: Socket;
  readonly running: Set<AbortController>;
  out: Buffer[];
  flushScheduled: boolean;
}

const ROUTES = new Map<string, Route>(Object.entries(PATHS).map(([route, path]) => [path, route as Route]));

/** Readiness: 200 while the acceptor's storage takes writes, 503 with the reason while not. */
const READY_PATH = '/v1/ready';
/** Prometheus metrics (text format), behind the secret like every endpoint but health and readiness. */
const METRICS_PATH = '/metrics';

/** An acceptor that reports its storage (`StoreAcceptor`). */
interface ReportsStorage {
  storageStatus(): StorageStatus;
}

function reportsStorage(acceptor: Acceptor): acceptor is Acceptor & ReportsStorage {
  return typeof (acceptor as Partial<ReportsStorage>).storageStatus === 'function';
}

/** An error answered to the client: a status and the wire body. */
class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

/**
 * Hosts `acceptor` over HTTP for `HttpAcceptor` clients; call `listen` to start. The server adds no
 * protocol logic: it decodes each request strictly, calls the acceptor, and replies only after the
 * call resolved, so a durable acceptor's "persist before reply" (paper §2.2) holds end to end. Bad
 * input gets a 4xx and never reaches the acceptor; nothing a client sends crashes the server.
 * @example
 * ```ts
 * import { StoreAcceptor } from 'caspaxos';
 * import { createAcceptorServer } from 'caspaxos/http';
 * import { LmdbStore } from 'caspaxos/lmdb';
 *
 * const acceptor = await StoreAcceptor.open('a1', await LmdbStore.open({ path: '../node/data/a1' }));
 * const server = createAcceptorServer(acceptor, { secret: process.env.CASPAXOS_SECRET });
 * const { url } = await server.listen(7001, '0.0.0.0'); // give `url` to HttpAcceptor
 * process.once('SIGTERM', () => void server.close().then(() => acceptor.close()));
 * ```
 */
export function createAcceptorServer(acceptor: Acceptor, options: AcceptorServerOptions = {}): AcceptorServer {
  const maxBodyBytes = integerOption(options.maxBodyBytes, 'maxBodyBytes', 1, 1 << 20);
  const maxKeyBytes = integerOption(options.maxKeyBytes, 'maxKeyBytes', 1, 1024);
  const requestTimeoutMs = integerOption(options.requestTimeoutMs, 'requestTimeoutMs', 1, 30_000);
  const headersTimeoutMs = Math.min(integerOption(options.headersTimeoutMs, 'headersTimeoutMs', 1, 10_000), requestTimeoutMs);
  const callTimeoutMs = integerOption(options.callTimeoutMs, 'callTimeoutMs', 1, 10_000);
  const keepAliveTimeoutMs = integerOption(options.keepAliveTimeoutMs, 'keepAliveTimeoutMs', 1, 5000);
  const shutdownTimeoutMs = integerOption(options.shutdownTimeoutMs, 'shutdownTimeoutMs', 1, 5000);
  const cursorTtlMs = integerOption(options.listCursorTtlMs, 'listCursorTtlMs', 1, 30_000);
  const maxCursors = integerOption(options.maxListCursors, 'maxListCursors', 1, 64);
  const maxConnections = integerOption(options.maxConnections, 'maxConnections', 1, 1024);
  const identity = options.identity;
  if (identity !== undefined && (!isClusterId(identity.clusterId) || !isIncarnation(identity.incarnation))) {
    throw new InvalidArgumentError('identity must be { clusterId, incarnation } with a valid cluster id and incarnation (see isClusterId, isIncarnation)');
  }
  /** The acceptor's identity headers, on every reply. */
  const identityHeaders: Readonly<Record<string, string>> = identity === undefined ? {} : { [CLUSTER_HEADER]: identity.clusterId, [INCARNATION_HEADER]: identity.incarnation };
  const identityLines = Object.entries(identityHeaders).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  const authorized = secretCheck(options.secret);
  const logger = options.logger;
  const debug = new DebugGate(logger);
  const cursors = new ListCursors(acceptor, maxCursors, cursorTtlMs);
  /** Aborting ends a watch stream cleanly (with its end line). */
  const watches = new Set<AbortController>();
  /** Open acceptor streams (`/v2/stream`). */
  const streams = new Set<Stream>();
  let closing: Promise<void> | undefined;
  const metrics = options.metrics ?? new MetricsRegistry();
  const requestFigures = requestMetrics(metrics, 'caspaxos_acceptor_http', 'acceptor server');
  const batchItems = metrics.histogram('caspaxos_acceptor_batch_items', 'Items per batch (POST /v2/batch) and per stream frame (GET /v2/stream).', ['transport'], SIZE_BUCKETS);
  const operations = metrics.counter('caspaxos_acceptor_operations_total', 'Prepares, accepts and peeks the acceptor answered, by op and reply (promised, accepted, peeked, conflict, age, error).', ['op', 'reply']);
  const storageErrors = metrics.counter('caspaxos_acceptor_storage_errors_total', 'Answers refused by storage: ERR_STORAGE_FULL (507) or ERR_STORAGE_FAILED (503), per request, batch item or frame.', ['code']);
  metrics.gauge('caspaxos_acceptor_streams', 'Acceptor streams (GET /v2/stream) open now.', [], (set) => set(streams.size));
  metrics.gauge('caspaxos_acceptor_storage_writable', '1 while the acceptor\'s storage takes writes, 0 while it is full or failing (as GET /v1/ready reports).', [], (set) => {
    if (reportsStorage(acceptor)) set(acceptor.storageStatus().state === 'writable' ? 1 : 0);
  });

  const server = createServer(
    options.tls,
    timeoutOptions(requestTimeoutMs, headersTimeoutMs, keepAliveTimeoutMs),
    (req, res) => {
      // While closing, a connection whose reply just finished is idle: close it now, not at its
      // keep-alive timeout (replies written after `close()` began also carry `Connection: close`).
      res.once('finish', () => {
        if (closing !== undefined) setImmediate(() => server.closeIdleConnections());
      });
      handle(req, res).catch((error: unknown) => {
        // `handle` answers every failure itself; this is the last line of defence.
        logger?.error({ err: error, path: req.url }, 'caspaxos http: request handler failed');
        if (!res.headersSent) sendError(res, new HttpFailure(500, 'ERR_INTERNAL', 'internal error', true));
        else res.destroy();
      });
    },
  );

  server.maxConnections = maxConnections;

  // Malformed HTTP (Node's parser refused it): answer in JSON as well, then close.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const [status, code] =
      error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'ERR_HEADERS_TOO_LARGE'] : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'ERR_TIMEOUT'] : [400, 'ERR_BAD_HTTP'];
    const body = JSON.stringify({ code, message: `malformed HTTP request (${error.code ?? 'parse error'})`, retryable: false });
    socket.end(`HTTP/1.1 ${status} ${status === 400 ? 'Bad Request' : status === 408 ? 'Request Timeout' : 'Request Header Fields Too Large'}\r\n` +
      `Content-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });

  // The acceptor stream: an HTTP Upgrade on /v2/stream, then frames (see `wire.ts`).
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => {});
    const refuse = (failure: HttpFailure): void => {
      const body = JSON.stringify(wireError(failure));
      const reason = { 401: 'Unauthorized', 404: 'Not Found', 421: 'Misdirected Request', 503: 'Service Unavailable' }[failure.status] ?? 'Bad Request';
      socket.end(`HTTP/1.1 ${failure.status} ${reason}\r\n${identityLines}` +
        `Content-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    if (closing !== undefined) return refuse(new HttpFailure(503, 'ERR_SHUTTING_DOWN', 'the server is shutting down', true));
    if (req.url !== PATHS.stream) return refuse(new HttpFailure(404, 'ERR_NO_ROUTE', `no stream at ${JSON.stringify(req.url)}`));
    if (req.method !== 'GET' || String(req.headers.upgrade ?? '').toLowerCase() !== STREAM_PROTOCOL) {
      return refuse(new HttpFailure(400, 'ERR_INVALID_ARGUMENT', `open the stream with GET and Upgrade: ${STREAM_PROTOCOL}`));
    }
    if (!authorized(req.headers.authorization)) return refuse(new HttpFailure(401, 'ERR_UNAUTHORIZED', 'missing or wrong bearer token'));
    const misdirected = callerMismatch(req.headers);
    if (misdirected !== undefined) return refuse(misdirected);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${STREAM_PROTOCOL}\r\n${identityLines}\r\n`);
    serveStream(socket, head);
  });

  /**
   * One acceptor stream: each request frame is a batch, run as `serveBatch` runs one (decoded whole
   * first, items handed to the acceptor in order, one timer per frame), and answered under its id
   * once all its items are done; frames run concurrently. The reply frames of one turn leave in one
   * write. When the client goes away, the frames it was running are aborted.
   */
  function serveStream(socket: Socket, head: Buffer): void {
    const stream: Stream = { socket, running: new Set(), out: [], flushScheduled: false };
    streams.add(stream);
    socket.setNoDelay(true);
    const reader = new FrameReader(maxBodyBytes, {
      frame: (id, payload) => runFrame(stream, id, payload),
      tooLarge: (id) => replyFrame(stream, id, encodeFrameError({ code: 'ERR_BODY_TOO_LARGE', message: `the frame exceeds ${maxBodyBytes} bytes`, retryable: false })),
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('close', () => {
      streams.delete(stream);
      for (const controller of stream.running) controller.abort(new HttpFailure(499, 'ERR_CLIENT_GONE', 'the client closed the connection'));
    });
    if (head.length > 0) reader.push(head);
  }

  function runFrame(stream: Stream, id: number, payload: string): void {
    if (closing !== undefined) {
      replyFrame(stream, id, encodeFrameError({ code: 'ERR_SHUTTING_DOWN', message: 'the server is shutting down', retryable: true }));
      return;
    }
    let items: Array<BatchItem | UnsupportedItem>;
    try {
      items = decodeBatchRequest(parseJson(payload, 'the frame'));
    } catch (error) {
      replyFrame(stream, id, encodeFrameError(wireError(toFailure(error, 'stream'))));
      return;
    }
    const controller = new AbortController();
    stream.running.add(controller);
    const started = performance.now();
    batchItems.observe(items.length, { transport: 'stream' });
    const timer = setTimeout(() => controller.abort(new HttpFailure(503, 'ERR_TIMEOUT', `the acceptor did not answer within ${callTimeoutMs} ms`, true)), callTimeoutMs);
    abortable(Promise.all(items.map((item) => runItem(item, controller.signal))), controller.signal)
      .then(
        (replies) => replyFrame(stream, id, encodeBatchReply(replies)),
        (error: unknown) => replyFrame(stream, id, encodeFrameError(wireError(toFailure(error, 'stream')))),
      )
      .finally(() => {
        requestFigures.observe('stream_frame', 'GET', 200, (performance.now() - started) / 1000);
        clearTimeout(timer);
        stream.running.delete(controller);
        if (closing !== undefined && stream.running.size === 0) stream.socket.end();
      });
    debug.get()?.debug({ acceptor: acceptor.address, path: PATHS.stream, items: items.length }, 'caspaxos http frame');
  }

  function replyFrame(stream: Stream, id: number, payload: string): void {
    if (stream.socket.destroyed) return;
    stream.out.push(encodeFrame(id, payload));
    if (stream.flushScheduled) return;
    stream.flushScheduled = true;
    setImmediate(() => {
      stream.flushScheduled = false;
      const out = stream.out;
      stream.out = [];
      if (!stream.socket.destroyed && out.length > 0) stream.socket.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out));
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = ROUTES.get(req.url ?? '');
    const started = performance.now();
    try {
      if (closing !== undefined) throw new HttpFailure(503, 'ERR_SHUTTING_DOWN', 'the server is shutting down', true);
      if (req.url === METRICS_PATH) {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed(res, 'GET, HEAD');
        if (!authorized(req.headers.authorization)) throw unauthorized(res);
        sendText(res, 200, metrics.render(), req.method === 'HEAD', METRICS_CONTENT_TYPE);
        return;
      }
      if (req.url === READY_PATH) {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed(res, 'GET, HEAD');
        const storage = reportsStorage(acceptor) ? acceptor.storageStatus() : undefined;
        if (storage === undefined || storage.state === 'writable') send(res, 200, { status: 'ready', storage }, req.method === 'HEAD');
        else send(res, 503, { status: 'not-ready', code: storage.code, reason: storage.reason, storage }, req.method === 'HEAD');
        return;
      }
      if (route === undefined) throw new HttpFailure(404, 'ERR_NO_ROUTE', `no endpoint at ${JSON.stringify(req.url)}`);
      if (route === 'stream') throw new HttpFailure(426, 'ERR_UPGRADE_REQUIRED', `open the stream with GET and Upgrade: ${STREAM_PROTOCOL}`);
      if (route === 'health') {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed(res, 'GET, HEAD');
        send(res, 200, HEALTH_REPLY, req.method === 'HEAD');
        return;
      }
      if (route === 'identity') {
        if (req.method !== 'GET') throw methodNotAllowed(res, 'GET');
        if (!authorized(req.headers.authorization)) throw unauthorized(res);
        send(res, 200, encodeIdentityReply({ identity: identity ?? null, maxBodyBytes, maxKeyBytes }));
        return;
      }
      if (req.method !== 'POST') throw methodNotAllowed(res, 'POST');
      if (!authorized(req.headers.authorization)) throw unauthorized(res);
      const misdirected = callerMismatch(req.headers);
      if (misdirected !== undefined) throw misdirected;
      if (!isJson(req.headers['content-type'])) throw new HttpFailure(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', `the body must be ${JSON_TYPE}`);
      const body = await readBody(req, maxBodyBytes);
      if (body.type === 'aborted') return;
      if (body.type === 'too-large') throw new HttpFailure(413, 'ERR_BODY_TOO_LARGE', `the body exceeds ${maxBodyBytes} bytes`);
      if (body.type === 'not-utf8') throw new InvalidArgumentError('the body is not UTF-8');
      const json = parseJson(body.text, 'the body');
      if (route === 'watch') {
        await serveWatch(res, json);
        return;
      }
      if (route === 'batch') {
        await serveBatch(res, json);
        return;
      }
      const reply = await call(res, route, json);
      send(res, 200, reply);
    } catch (error) {
      const failure = toFailure(error, route);
      if (failure.status === 413) {
        // The rest of the body was not read: the connection cannot carry another request.
        res.setHeader('Connection', 'close');
      }
      if (res.headersSent || res.destroyed) return;
      sendError(res, failure);
    } finally {
      const name = route ?? (req.url === READY_PATH ? 'ready' : req.url === METRICS_PATH ? 'metrics' : 'unknown');
      requestFigures.observe(name, req.method ?? 'GET', res.statusCode, (performance.now() - started) / 1000);
      if (debug.get() !== undefined) {
        debug.get()?.debug({ acceptor: acceptor.address, method: req.method, path: req.url, status: res.statusCode }, 'caspaxos http request');
      }
    }
  }

  /**
   * A batch (`POST /v2/batch`, see `wire.ts`): decoded whole first (a malformed one reaches the
   * acceptor not at all), then every item handed to the acceptor at once, in order (so items on
   * one key keep their order in the acceptor's per-key queue), and one reply sent once every item
   * is answered, each with its own outcome. A durable acceptor resolves an item only once its write
   * is durable, so persist-before-reply holds per item; `StoreAcceptor` commits the writes of
   * items that arrive together in one store write. One timer and one close listener per batch.
   */
  async function serveBatch(res: ServerResponse, json: unknown): Promise<void> {
    const items = decodeBatchRequest(json);
    batchItems.observe(items.length, { transport: 'batch' });
    const controller = new AbortController();
    const signal = controller.signal;
    const onClose = (): void => {
      if (!res.writableFinished) controller.abort(new HttpFailure(499, 'ERR_CLIENT_GONE', 'the client closed the connection'));
    };
    res.once('close', onClose);
    const timer = setTimeout(() => controller.abort(new HttpFailure(503, 'ERR_TIMEOUT', `the acceptor did not answer within ${callTimeoutMs} ms`, true)), callTimeoutMs);
    try {
      const replies = await abortable(Promise.all(items.map((item) => runItem(item, signal))), signal);
      sendText(res, 200, encodeBatchReply(replies));
    } finally {
      clearTimeout(timer);
      res.off('close', onClose);
    }
  }

  /** One item of a batch: its reply, or its own failure (never rejects). */
  function runItem(item: BatchItem | UnsupportedItem, signal: AbortSignal): Promise<BatchItemReply> {
    let reply: Promise<object>;
    try {
      if ('unsupported' in item) throw new HttpFailure(501, 'ERR_UNSUPPORTED_OP', `this server does not run ${JSON.stringify(item.op)} in a batch`);
      checkKey(item.key);
      if (item.op === 'prepare') reply = counted('prepare', acceptor.prepare(item.key, item.age, item.ballot, { signal })).then(encodePrepareReply);
      else if (item.op === 'accept') reply = counted('accept', acceptor.accept(item.key, item.age, item.ballot, item.state, { signal, next: item.next, ancestry: item.ancestry })).then(encodeAcceptReply);
      // A hosted acceptor without `peek` answers as an older server does: not run here.
      else if (acceptor.peek === undefined) throw new HttpFailure(501, 'ERR_UNSUPPORTED_OP', 'this acceptor does not run "peek"');
      else reply = counted('peek', acceptor.peek(item.key, { signal })).then(encodePeekReply);
    } catch (error) {
      reply = Promise.reject(error);
    }
    return reply.then(
      (ok) => ({ ok }),
      (error: unknown) => ({ error: wireError(toFailure(error, 'batch')) }),
    );
  }

  /** Runs one unary acceptor call, bounded by `callTimeoutMs` and by the client staying connected. */
  async function call(res: ServerResponse, route: Exclude<Route, 'health' | 'identity' | 'watch' | 'batch' | 'stream'>, json: unknown): Promise<object> {
    const controller = new AbortController();
    // The response closes before it finished only when the connection went away: nobody is left
    // to answer, so the acceptor may stop. (Per response, not per socket: a keep-alive socket
    // would collect one listener per request.)
    const onClose = (): void => {
      if (!res.writableFinished) controller.abort(new HttpFailure(499, 'ERR_CLIENT_GONE', 'the client closed the connection'));
    };
    res.once('close', onClose);
    const timer = setTimeout(() => controller.abort(new HttpFailure(503, 'ERR_TIMEOUT', `the acceptor did not answer within ${callTimeoutMs} ms`, true)), callTimeoutMs);
    const signal = controller.signal;
    try {
      switch (route) {
        case 'prepare': {
          const r = decodePrepareRequest(json);
          checkKey(r.key);
          return encodePrepareReply(await abortable(counted('prepare', acceptor.prepare(r.key, r.age, r.ballot, { signal })), signal));
        }
        case 'peek': {
          // A hosted acceptor without `peek` has no such endpoint, as an older server has none.
          if (acceptor.peek === undefined) throw new HttpFailure(404, 'ERR_NO_ROUTE', `no endpoint at ${JSON.stringify(PATHS.peek)}`);
          const r = decodePeekRequest(json);
          checkKey(r.key);
          return encodePeekReply(await abortable(counted('peek', acceptor.peek(r.key, { signal })), signal));
        }
        case 'accept': {
          const r = decodeAcceptRequest(json);
          checkKey(r.key);
          return encodeAcceptReply(await abortable(counted('accept', acceptor.accept(r.key, r.age, r.ballot, r.state, { signal, next: r.next, ancestry: r.ancestry })), signal));
        }
        case 'rejectByAge': {
          const r = decodeRejectByAgeRequest(json);
          await abortable(acceptor.rejectByAge(r.ages, { signal }), signal);
          return {};
        }
        case 'removeIfEqual': {
          const r = decodeRemoveIfEqualRequest(json);
          checkKey(r.key);
          return encodeRemoveReply(await abortable(acceptor.removeIfEqual(r.key, r.tombstone, { signal }), signal));
        }
        case 'listKeys': {
          const r = decodeListKeysRequest(json);
          const page = await abortable(r.cursor === undefined ? cursors.start(r.limit, signal) : cursors.next(r.cursor, r.page, r.limit, signal), signal);
          return encodeListKeysPage(page);
        }
        case 'listKeysClose': {
          cursors.close(decodeListKeysCloseRequest(json).cursor);
          return {};
        }
      }
    } finally {
      clearTimeout(timer);
      res.off('close', onClose);
    }
  }

  /**
   * A watch: the acceptor's stream as NDJSON, one `state` line per state, ended by an `end` line
   * (the stream ended, or the server is closing) or an `error` line. The first state is awaited
   * before the headers go out, so a watch the acceptor refuses gets an ordinary error reply.
   * Writes wait for the socket to drain; meanwhile the acceptor's own buffer drops the oldest
   * states (`bufferSize`), so a slow client never holds the acceptor up.
   */
  async function serveWatch(res: ServerResponse, json: unknown): Promise<void> {
    const r = decodeWatchRequest(json);
    checkKey(r.key);
    const controller = new AbortController();
    const onClose = (): void => controller.abort();
    res.once('close', onClose);
    watches.add(controller);
    const iterator = acceptor.watch(r.key, { signal: controller.signal, bufferSize: r.bufferSize })[Symbol.asyncIterator]();
    // The stream ends when the signal aborts even if the acceptor's iterator does not notice.
    const ended = new Promise<IteratorResult<never>>((resolve) => controller.signal.addEventListener('abort', () => resolve({ done: true, value: undefined }), { once: true }));
    const pull = (): Promise<IteratorResult<AcceptedState>> => Promise.race([iterator.next(), ended]);
    try {
      let next = await pull();
      if (res.destroyed) return;
      res.writeHead(200, { 'Content-Type': NDJSON_TYPE, 'Cache-Control': 'no-store', ...identityHeaders, ...(closing === undefined ? {} : { Connection: 'close' }) });
      // Headers now, not with the first line: the client's `fetch` resolves on them.
      res.flushHeaders();
      try {
        while (next.done !== true) {
          if (!res.write(`${encodeWatchLine({ type: 'state', ballot: next.value.ballot, state: next.value.state })}\n`)) await drained(res);
          if (res.destroyed) return;
          next = await pull();
        }
        res.end(`${encodeWatchLine({ type: 'end' })}\n`);
      } catch (error) {
        if (res.destroyed) return;
        const failure = toFailure(error, 'watch');
        res.end(`${encodeWatchLine({ type: 'error', ...wireError(failure) })}\n`);
      }
    } finally {
      watches.delete(controller);
      res.off('close', onClose);
      controller.abort();
      void Promise.resolve(iterator.return?.()).catch(() => {});
    }
  }

  /**
   * A request from outside this acceptor's cluster, or meant for another incarnation of it (see
   * `wire.ts`, "Identity"): answered 421 before anything runs.
   */
  function callerMismatch(headers: IncomingHttpHeaders): HttpFailure | undefined {
    if (identity === undefined) return undefined;
    const cluster = headers[CLUSTER_HEADER];
    if (cluster !== identity.clusterId) {
      const named = typeof cluster === 'string' ? `cluster ${JSON.stringify(cluster)}` : `no cluster (send ${CLUSTER_HEADER})`;
      return new HttpFailure(421, 'ERR_WRONG_CLUSTER', `this acceptor belongs to cluster ${JSON.stringify(identity.clusterId)}; the request names ${named}`);
    }
    const incarnation = headers[INCARNATION_HEADER];
    if (incarnation !== undefined && incarnation !== identity.incarnation) {
      return new HttpFailure(
        421,
        'ERR_WRONG_INCARNATION',
        `this acceptor is incarnation ${identity.incarnation}, not ${JSON.stringify(incarnation)}: its data directory was initialised anew, so it holds none of that member's promises; ` +
          'add it through the membership procedure (shrink the old member, grow this one)',
      );
    }
    return undefined;
  }

  /** `reply`, its kind counted (`promised`, `accepted`, `conflict`, `age`; `error` when it rejects). */
  function counted<R extends { readonly type: string }>(op: 'prepare' | 'accept' | 'peek', reply: Promise<R>): Promise<R> {
    return reply.then(
      (r) => {
        operations.inc({ op, reply: r.type });
        return r;
      },
      (error: unknown) => {
        operations.inc({ op, reply: 'error' });
        throw error;
      },
    );
  }

  function checkKey(key: string): void {
    if (utf8Length(key) > maxKeyBytes) throw new InvalidArgumentError(`the key exceeds ${maxKeyBytes} bytes in UTF-8`);
  }

  function toFailure(error: unknown, route: Route | undefined): HttpFailure {
    if (error instanceof HttpFailure) return error;
    if (error instanceof ListCursorError) {
      const status = { ERR_CURSOR_UNKNOWN: 410, ERR_CURSOR_BUSY: 409, ERR_TOO_MANY_CURSORS: 429, ERR_INVALID_ARGUMENT: 400 }[error.code];
      return new HttpFailure(status, error.code, error.message, error.code !== 'ERR_INVALID_ARGUMENT');
    }
    // Storage trouble: the acceptor logs each change of its storage state once (not per request).
    if (error instanceof StorageFullError || error instanceof StorageFailedError) {
      storageErrors.inc({ code: error.code });
      return new HttpFailure(error instanceof StorageFullError ? 507 : 503, error.code, error.message, true);
    }
    // The acceptor's own errors keep their code; retryable ones (a store that is unavailable) are
    // the server's trouble, not the request's: 503.
    if (error instanceof CASPaxosError) return new HttpFailure(error.retryable ? 503 : 400, error.code, error.message, error.retryable);
    // Anything else is a bug or a broken store: say nothing about it beyond "internal".
    logger?.error({ err: error, route }, 'caspaxos http: the acceptor failed');
    return new HttpFailure(500, 'ERR_INTERNAL', 'internal error', true);
  }

  function sendError(res: ServerResponse, failure: HttpFailure): void {
    send(res, failure.status, wireError(failure));
  }

  function send(res: ServerResponse, status: number, body: object, headOnly = false): void {
    sendText(res, status, JSON.stringify(body), headOnly);
  }

  function sendText(res: ServerResponse, status: number, text: string, headOnly = false, contentType = JSON_TYPE): void {
    res.statusCode = status;
    res.setHeader('Content-Type', contentType);
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.setHeader('Cache-Control', 'no-store');
    for (const [name, value] of Object.entries(identityHeaders)) res.setHeader(name, value);
    // While closing, every reply ends its connection, so keep-alive connections drain away.
    if (closing !== undefined) res.setHeader('Connection', 'close');
    res.end(headOnly ? undefined : text);
  }

  function close(): Promise<void> {
    if (closing !== undefined) return closing;
    closing = new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      for (const watch of watches) watch.abort();
      // Streams: idle ones end now, busy ones once their frames are answered (new frames get
      // ERR_SHUTTING_DOWN); the shutdown timer cuts what remains.
      for (const stream of streams) if (stream.running.size === 0) stream.socket.end();
      cursors.closeAll();
      const timer = setTimeout(() => {
        server.closeAllConnections();
        for (const stream of streams) stream.socket.destroy();
      }, shutdownTimeoutMs);
      timer.unref();
      server.once('close', () => clearTimeout(timer));
    });
    return closing;
  }

  function terminate(): Promise<void> {
    const closed = close();
    server.closeAllConnections();
    for (const stream of streams) stream.socket.destroy();
    return closed;
  }

  function listen(port = 0, host = '127.0.0.1'): Promise<ListenAddress> {
    return listenOn(server, options.tls !== undefined, port, host);
  }

  return { server, metrics, listen, close, terminate };
}

function unauthorized(res: ServerResponse): HttpFailure {
  res.setHeader('WWW-Authenticate', 'Bearer');
  return new HttpFailure(401, 'ERR_UNAUTHORIZED', 'missing or wrong bearer token');
}

function methodNotAllowed(res: ServerResponse, allow: string): HttpFailure {
  res.setHeader('Allow', allow);
  return new HttpFailure(405, 'ERR_METHOD_NOT_ALLOWED', `use ${allow}`);
}

function wireError(failure: HttpFailure): WireError {
  return { code: failure.code, message: failure.message, retryable: failure.retryable };
}

function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [type] = contentType.split(';', 1);
  return type?.trim().toLowerCase() === JSON_TYPE;
}

