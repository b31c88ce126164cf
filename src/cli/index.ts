/**
 * The `caspaxos` command: `caspaxos acceptor` runs a durable acceptor (an LMDB store behind the
 * HTTP acceptor server); `caspaxos node` runs a proposer with the HTTP user and operator API of
 * `createNodeServer`. Logs are pino's JSON lines on stdout; the first `listening` record carries
 * the URL. SIGINT and SIGTERM shut down gracefully.
 *
 * Both commands guard the process: a rejection nobody handled is logged (one error line) and the
 * process keeps serving; it exits (one fatal line, exit code 1) only when the acceptor's store can
 * no longer be trusted: a read of committed data failed, a record is damaged
 * (`CorruptRecordError`), or LMDB declared its environment unusable (MDB_PANIC, MDB_CORRUPTED).
 * A full or read-only disk is none of these: requests get 507 / 503 and writes resume by
 * themselves (see docs/operations/full-disk.md).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { HttpAcceptor } from '../http/acceptor-client.js';
import { garbageCollect } from '../cluster/garbage-collect.js';
import { growCluster } from '../cluster/grow-cluster.js';
import { shrinkCluster } from '../cluster/shrink-cluster.js';
import { KeyValueStore } from '../kv/key-value-store.js';
import { MemoryProposer } from '../proposer/memory-proposer.js';
import { InvalidArgumentError, StorageFailedError, isRetryable } from '../errors.js';
import type { Logger } from '../logger.js';
import { retryWhile } from '../retry.js';
import type { Acceptor, FastForwarder } from '../roles.js';
import { StoreAcceptor } from '../acceptor/store-acceptor.js';
import { createAcceptorServer } from '../http/acceptor-server.js';
import { nodeFetch } from '../http/node-fetch.js';
import { createNodeServer } from '../http/proposer-server.js';
import { RemoteProposer } from '../http/proposer-client.js';
import { MissingIoredisError, RedisConnections, isRedisUrl } from './redis-acceptors.js';

const USAGE = `Usage: caspaxos <command> [flags]

Commands:
  acceptor   Run a durable acceptor: records in an LMDB data directory, served over HTTP.
  node       Run a proposer node: the HTTP key-value API over a set of acceptors.

Run 'caspaxos <command> --help' for the flags of a command.

Secrets: set CASPAXOS_SECRET, or pass --secret-file; every acceptor and node of a cluster must
share it. Without one, nothing is authenticated (loopback only).`;

const ACCEPTOR_USAGE = `Usage: caspaxos acceptor --data <dir> [flags]

Runs one acceptor. Every promise and accepted value is synced to disk before the reply (LMDB,
synchronous commits; the writes of requests that arrive together share one commit), so the process
can be killed at any moment and restarted from <dir>. It answers wire v1 (a POST per call), v2
batches (POST /v2/batch) and the v2 stream (GET /v2/stream, HTTP Upgrade), which 'caspaxos node'
uses.

Flags:
  --data <dir>            Data directory, created if missing. One acceptor process per directory. (required)
  --port <n>              TCP port to listen on; 0 picks a free one. Default 7001.
  --host <addr>           Interface to listen on. Default 127.0.0.1.
  --secret-file <file>    File holding the cluster's shared secret (else CASPAXOS_SECRET, else none).
  --max-body-bytes <n>    Largest request body accepted. Default 1048576.
  --max-key-bytes <n>     Longest key accepted, in UTF-8 bytes. Default 1024.
  --max-data-bytes <q>    A quota below the disk: past it, values for new keys and longer values get
                          507 ERR_STORAGE_FULL while reads, deletes and garbage collection still go
                          through.
                          Bytes of data (e.g. 2147483648 or 2GiB), or a percentage of the filesystem
                          holding <dir>, counting everything on it (e.g. 90%). Default 90%.
  --log-level <level>     pino level: fatal, error, warn, info, debug, trace, silent. Default info.
  --unsafe-no-sync        Do not sync writes to disk (a machine crash can lose promises and break
                          consensus). Only for measuring what durability costs.
  -h, --help              Show this help.

Example:
  caspaxos acceptor --port 7001 --data ./data/a1`;

const NODE_USAGE = `Usage: caspaxos node --acceptors <url,url,...> [flags]

Runs a proposer and serves:
  GET    /v1/kv/{key}                         read (linearizable): { key, value, version }
  PUT    /v1/kv/{key}            { value }    write: { key, version }
  POST   /v1/kv/{key}/cas        { version, value }   compare-and-set on the version (null: only
                                              if absent); 409 with the current value on mismatch
  POST   /v1/kv/{key}/increment  { by }       add to an integer value (absent counts as 0)
  DELETE /v1/kv/{key}                         delete; the tombstone is garbage-collected in the background
  GET    /v1/admin/acceptors                  the acceptors prepares and accepts go to
  POST   /v1/admin/grow          { acceptor } add an acceptor (URL) to the cluster, every node included
  POST   /v1/admin/shrink        { acceptor } remove an acceptor from the cluster
  POST   /v1/admin/gc            { key }      garbage-collect a deleted key now
  POST   /v1/admin/sweep                      collect tombstones left by crashed nodes
  GET    /v1/health

Flags:
  --acceptors <urls>      Comma-separated acceptor URLs (2F+1 of them). (required) Each is either
                          http(s)://host:port, a 'caspaxos acceptor' process, or redis://[:password@]host:port[/db]
                          (rediss:// for TLS), a Redis server holding the acceptor's records (needs the
                          ioredis package; run Redis with appendonly yes and appendfsync always).
  --peers <urls>          Comma-separated URLs of the other nodes: membership change and garbage
                          collection act on every proposer of the cluster. Default none.
  --id <name>             Proposer name. Each start runs under a new id, <name>@<incarnation>,
                          because a restarted proposer has lost its ballot counter. Default the host name.
  --port <n>              TCP port to listen on; 0 picks a free one. Default 8080.
  --host <addr>           Interface to listen on. Default 127.0.0.1.
  --secret-file <file>    File holding the cluster's shared secret (else CASPAXOS_SECRET, else none).
  --timeout-ms <n>        Per-call timeout towards acceptors. Default 5000.
  --sweep-interval-ms <n> Sweep for uncollected tombstones every n ms. Default 60000; 0 disables.
  --log-level <level>     pino level. Default info.
  -h, --help              Show this help.

Examples:
  caspaxos node --port 8080 --acceptors http://127.0.0.1:7001,http://127.0.0.1:7002,http://127.0.0.1:7003
  caspaxos node --port 8080 --acceptors redis://10.0.0.7:6379,redis://10.0.0.8:6379,redis://10.0.0.9:6379`;

/** A command-line mistake: printed with the command's usage, exit code 2. */
class UsageError extends Error {}

/** Runs the command line `argv` (without node and the script). Resolves with a stop function. */
export async function main(argv: readonly string[]): Promise<(() => Promise<void>) | undefined> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    console.log(USAGE);
    return undefined;
  }
  if (command === 'acceptor') return runAcceptor(rest);
  if (command === 'node') return runNode(rest);
  throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
}

const common = {
  port: { type: 'string' },
  host: { type: 'string', default: '127.0.0.1' },
  'secret-file': { type: 'string' },
  'log-level': { type: 'string', default: 'info' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function runAcceptor(args: readonly string[]): Promise<(() => Promise<void>) | undefined> {
  const { values } = parse(
    args,
    { ...common, data: { type: 'string' }, 'max-body-bytes': { type: 'string' }, 'max-key-bytes': { type: 'string' }, 'max-data-bytes': { type: 'string' }, 'unsafe-no-sync': { type: 'boolean' } },
    ACCEPTOR_USAGE,
  );
  if (values.help === true) {
    console.log(ACCEPTOR_USAGE);
    return undefined;
  }
  if (values.data === undefined) throw new UsageError(`--data is required\n\n${ACCEPTOR_USAGE}`);
  const logger = makeLogger(values['log-level'], 'acceptor', ACCEPTOR_USAGE);
  guardProcess(logger);
  const port = integer(values.port ?? '7001', '--port', ACCEPTOR_USAGE);
  const maxDataBytes = quota(values['max-data-bytes'] ?? '90%');
  // Loaded here: `lmdb` is an optional dependency, and `caspaxos node` runs without it.
  const { LmdbStore } = await import('../lmdb/lmdb-store.js');
  const store = await LmdbStore.open({ path: values.data, durable: values['unsafe-no-sync'] !== true, maxDataBytes });
  // Proposers know an acceptor by its URL; this name is for its own logs (unique per machine).
  const acceptor = await StoreAcceptor.open(`lmdb:${resolve(values.data)}`, store, { logger, onUntrusted: (error) => stopUntrusted(logger, error) });
  const server = createAcceptorServer(acceptor, {
    secret: readSecret(values['secret-file']),
    logger,
    ...(values['max-body-bytes'] === undefined ? {} : { maxBodyBytes: integer(values['max-body-bytes'], '--max-body-bytes', ACCEPTOR_USAGE) }),
    ...(values['max-key-bytes'] === undefined ? {} : { maxKeyBytes: integer(values['max-key-bytes'], '--max-key-bytes', ACCEPTOR_USAGE) }),
  });
  const listening = await server.listen(port, values.host);
  logger.info({ url: listening.url, data: values.data, durable: values['unsafe-no-sync'] !== true, maxDataBytes }, 'listening');
  return async () => {
    await server.close();
    await acceptor.close();
    logger.info('stopped');
  };
}

async function runNode(args: readonly string[]): Promise<(() => Promise<void>) | undefined> {
  const { values } = parse(
    args,
    { ...common, acceptors: { type: 'string' }, peers: { type: 'string' }, id: { type: 'string' }, 'timeout-ms': { type: 'string' }, 'sweep-interval-ms': { type: 'string' } },
    NODE_USAGE,
  );
  if (values.help === true) {
    console.log(NODE_USAGE);
    return undefined;
  }
  const urls = list(values.acceptors);
  if (urls.length === 0) throw new UsageError(`--acceptors is required\n\n${NODE_USAGE}`);
  const secret = readSecret(values['secret-file']);
  const timeoutMs = integer(values['timeout-ms'] ?? '5000', '--timeout-ms', NODE_USAGE);
  const sweepIntervalMs = integer(values['sweep-interval-ms'] ?? '60000', '--sweep-interval-ms', NODE_USAGE);
  const port = integer(values.port ?? '8080', '--port', NODE_USAGE);
  // A restarted proposer must not reuse its id (it lost its ballot counter): a new incarnation each start.
  const id = `${values.id ?? hostname()}@${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36).padStart(4, '0')}`;
  const logger = makeLogger(values['log-level'], 'node', NODE_USAGE).child({ proposer: id });
  guardProcess(logger);

  const fetch = nodeFetch();
  let redis: RedisConnections | undefined;
  if (urls.some(isRedisUrl)) {
    try {
      redis = await RedisConnections.load(timeoutMs, logger);
    } catch (error) {
      if (error instanceof MissingIoredisError) throw new UsageError(error.message);
      throw error;
    }
  }
  const acceptors = new Map<string, Acceptor>();
  // One client per acceptor, keyed by its address (the proposer lists those): an HttpAcceptor's
  // is its normalized URL, a RedisAcceptor's the URL as given.
  const acceptorAt = (url: string): Acceptor => {
    const known = acceptors.get(isRedisUrl(url) ? url : new HttpAcceptor(url).address);
    if (known !== undefined) return known;
    let created: Acceptor;
    if (isRedisUrl(url)) {
      if (redis === undefined) throw new InvalidArgumentError(`${url}: redis:// acceptors can be added only to a node started with redis:// acceptors`);
      created = redis.acceptor(url);
    } else created = new HttpAcceptor(url, { secret, timeoutMs, logger, fetch });
    acceptors.set(created.address, created);
    return created;
  };
  const proposer = new MemoryProposer(id, urls.map(acceptorAt), { logger });
  await redis?.ready();
  const proposers = [proposer, ...list(values.peers).map((url) => new RemoteProposer(url, { secret }))];
  // Every acceptor of the current configuration, for garbage collection (updated in place after
  // a membership change: the key-value store's collector reads this array at each collection).
  const members: Acceptor[] = urls.map(acceptorAt);
  const refreshMembers = async (): Promise<void> => {
    const addresses = new Set([...(await proposer.listPreparers()), ...(await proposer.listAccepters())]);
    members.splice(0, members.length, ...[...addresses].map(acceptorAt));
  };
  const kv = new KeyValueStore<unknown>({
    proposer,
    logger,
    gc: { proposers, acceptors: members, logger, ...(sweepIntervalMs > 0 ? { sweepIntervalMs } : {}) },
  });
  const server = createNodeServer(
    {
      proposer,
      kv,
      acceptorAt,
      operations: {
        grow: async (acceptor, signal) => {
          await growCluster(acceptor, proposers, { signal, logger });
          await refreshMembers();
        },
        shrink: async (acceptor, signal) => {
          await shrinkCluster(acceptor, proposers, { signal, logger });
          await refreshMembers();
        },
        collect: (key, signal) => collectWithRetries(key, proposers, members, signal, logger),
      },
    },
    { secret, logger },
  );
  const url = await server.listen(port, values.host);
  logger.info({ url, acceptors: urls, peers: list(values.peers) }, 'listening');
  return async () => {
    await server.close();
    await kv.close();
    redis?.close();
    logger.info('stopped');
  };
}

/**
 * `garbageCollect`, retried while it fails retryably (every step is idempotent): a collection the
 * key-value store started in the background for the same key fences this one's proposers, and
 * the next attempt then runs with their new ages.
 */
function collectWithRetries(key: string, proposers: readonly FastForwarder[], acceptors: readonly Acceptor[], signal: AbortSignal, logger: Logger): Promise<void> {
  return retryWhile(() => garbageCollect(key, proposers, acceptors, { signal, logger }), isRetryable, { signal });
}

type Options = Parameters<typeof parseArgs>[0] extends infer C ? (C extends { options?: infer O } ? O : never) : never;

function parse<O extends NonNullable<Options>>(args: readonly string[], options: O, usage: string) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${usage}`);
  }
}

function integer(text: string, flag: string, usage: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new UsageError(`${flag} must be a non-negative integer, got ${JSON.stringify(text)}\n\n${usage}`);
  return n;
}

const BINARY_UNITS: Readonly<Record<string, number>> = { '': 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 };

/** `--max-data-bytes`: bytes (optionally in KiB, MiB, GiB, TiB), or a percentage of the filesystem. */
function quota(text: string): number | `${number}%` {
  const bytes = /^(\d+)(KiB|MiB|GiB|TiB)?$/.exec(text);
  if (bytes !== null) {
    const n = Number(bytes[1]) * (BINARY_UNITS[bytes[2] ?? ''] ?? 1);
    if (Number.isSafeInteger(n)) return n;
  }
  const percent = /^\d+(\.\d+)?%$/.test(text) ? Number(text.slice(0, -1)) : NaN;
  if (percent > 0 && percent <= 100) return text as `${number}%`;
  throw new UsageError(`--max-data-bytes must be a byte count (e.g. 2147483648 or 2GiB) or a percentage of the filesystem in (0%, 100%] (e.g. 90%), got ${JSON.stringify(text)}\n\n${ACCEPTOR_USAGE}`);
}

let guarded = false;

/**
 * No rejection goes unhandled, and no exception kills the process without a fatal log line: a
 * rejection nobody handled is logged as an error and the process keeps serving, unless it says
 * the store cannot be trusted (`isUntrusted`): then one fatal line and exit 1. An exception thrown
 * past every handler leaves the process in an unknown state: one fatal line and exit 1.
 */
function guardProcess(logger: pino.Logger): void {
  if (guarded) return;
  guarded = true;
  process.on('unhandledRejection', (reason: unknown) => {
    if (isUntrusted(reason)) stopUntrusted(logger, reason);
    else logger.error({ err: reason }, 'a rejection nobody handled (a bug; the process keeps serving)');
  });
  process.on('uncaughtException', (error: Error) => {
    logger.fatal({ err: error }, 'an exception nobody caught: stopping');
    logger.flush();
    process.exit(1);
  });
}

/**
 * Errors after which the acceptor's store can no longer be trusted: `StorageFailedError` with
 * `untrusted` (a read of committed data failed; LMDB's MDB_PANIC or MDB_CORRUPTED), and a damaged
 * record (`CorruptRecordError`). A full or read-only disk is not one: its writes fail cleanly.
 */
function isUntrusted(error: unknown): boolean {
  return (error instanceof StorageFailedError && error.untrusted) || (error instanceof Error && error.name === 'CorruptRecordError');
}

/** One fatal line, then exit 1: restarting reopens the store (LMDB's committed data is atomic). */
function stopUntrusted(logger: pino.Logger, error: unknown): void {
  logger.fatal({ err: error }, 'the store can no longer be trusted: stopping (see docs/operations/full-disk.md)');
  logger.flush();
  process.exit(1);
}

function list(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function readSecret(file: string | undefined): string | undefined {
  const secret = file === undefined ? process.env.CASPAXOS_SECRET : readFileSync(file, 'utf8').trim();
  return secret === undefined || secret === '' ? undefined : secret;
}

function makeLogger(level: string | undefined, role: string, usage: string): pino.Logger {
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (level === undefined || !levels.includes(level)) throw new UsageError(`--log-level must be one of ${levels.join(', ')}\n\n${usage}`);
  return pino({ level, base: { role, pid: process.pid } });
}

/** The process entry: runs `main`, prints usage errors, stops gracefully on SIGINT/SIGTERM. */
export async function run(argv: readonly string[]): Promise<void> {
  let stop: (() => Promise<void>) | undefined;
  try {
    stop = await main(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`caspaxos: ${error.message}`);
      process.exitCode = 2;
      return;
    }
    console.error(`caspaxos: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
    return;
  }
  if (stop === undefined) return;
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    stop?.().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`caspaxos: shutdown failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
