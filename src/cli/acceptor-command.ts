/**
 * `caspaxos acceptor`: creates (`--init`), adopts (`--adopt`) or serves an acceptor's data
 * directory (see `lmdb/data-directory.ts` for what is checked before anything is served).
 */
import { resolve } from 'node:path';
import { StoreAcceptor } from '../acceptor/store-acceptor.js';
import { createAcceptorServer } from '../http/acceptor-server.js';
import { COMMON_USAGE, type Running, UsageError, common, environmentHelp, integer, listenOrExplain, makeLogger, optionalPositive, parse, readClusterId, readSecret, readTls, serverLimits } from './flags.js';
import { MetricsRegistry } from '../metrics/registry.js';
import { instrumentStore } from '../metrics/store-metrics.js';
import { processMetrics } from './process-metrics.js';
import { EXIT, Refusal, asRefusal } from './refusal.js';
import { importOptional } from '../internal/optional-package.js';
import { guardProcess, stopUntrusted } from './process-guard.js';

export const ACCEPTOR_USAGE = `Usage: caspaxos acceptor --init --cluster-id <id> --data <dir>
       caspaxos acceptor --data <dir> [flags]
       caspaxos acceptor --adopt --cluster-id <id> --data <dir>

--init creates an acceptor: a new (or empty) data directory that records the cluster id and a
fresh random incarnation, then exits. Without --init the acceptor serves <dir>: every promise and
accepted value is synced to disk before the reply (LMDB, synchronous commits; the writes of
requests that arrive together share one commit), so the process can be killed at any moment and
restarted from <dir>. It answers wire v1 (a POST per call), v2 batches (POST /v2/batch) and the
v2 stream (GET /v2/stream, HTTP Upgrade), which 'caspaxos node' uses, only to requests that name
its cluster (and, when they name one, its incarnation).

It refuses to serve, with a message and an exit code, a directory that is missing or empty (3),
written by an earlier release without an identity (4: adopt it once with --adopt), of another
cluster (5), damaged (6: data.mdb truncated or missing, a record failing its checksum, an
identity that does not match the database), or held by another process (7). An acceptor that
lost its data must not come back as itself: --init it in an empty directory, then replace the old
member through the membership procedure (POST /v1/admin/shrink the old, /grow the new).

Flags:
  --data <dir>            The data directory. One process per directory (a lock inside it, freed
                          when the process dies); the serving process's pid is in <dir>/caspaxos.pid. (required)
  --init                  Create the acceptor in <dir> (new or empty), print its identity, exit.
  --adopt                 Give a directory written by an earlier release (records, no identity) an
                          identity in cluster --cluster-id, after checking every record; exit.
  --port <n>              TCP port to listen on; 0 picks a free one. Default 7001.
  --host <addr>           Interface to listen on. Default 127.0.0.1.
${COMMON_USAGE}
  --max-body-bytes <n>    Largest request body accepted (a request, a batch, a stream frame).
                          Default 1048576. Nodes read it and refuse larger values with 413.
  --max-key-bytes <n>     Longest key accepted, in UTF-8 bytes. Default 1024.
  --max-data-bytes <q>    A quota below the disk: past it, values for new keys and longer values get
                          507 ERR_STORAGE_FULL while reads, deletes and garbage collection still go
                          through.
                          Bytes of data (e.g. 2147483648 or 2GiB), or a percentage of the filesystem
                          holding <dir>, counting everything on it (e.g. 90%). Default 90%.
  --unsafe-no-sync        Do not sync writes to disk (a machine crash can lose promises and break
                          consensus). Only for measuring what durability costs.

GET /metrics serves Prometheus metrics (requests, batches, store commit latency, keys, storage
errors), behind the secret when there is one; see docs/operations/metrics.md.

The cluster id is required with --init and --adopt; when serving, it is optional and, if given,
must be the directory's.

Example:
  caspaxos acceptor --init --cluster-id prod-1 --data ./data/a1
  caspaxos acceptor --port 7001 --data ./data/a1`;

/** The flags of `caspaxos acceptor` (each also from its environment variable, see `flags.ts`). */
export const ACCEPTOR_OPTIONS = {
  ...common,
  data: { type: 'string' },
  init: { type: 'boolean' },
  adopt: { type: 'boolean' },
  'max-body-bytes': { type: 'string' },
  'max-key-bytes': { type: 'string' },
  'max-data-bytes': { type: 'string' },
  'unsafe-no-sync': { type: 'boolean' },
} as const;

/** Runs `caspaxos acceptor`; resolves with the running acceptor, or `undefined` after a one-shot command. */
export async function runAcceptor(args: readonly string[]): Promise<Running | undefined> {
  const { values } = parse(args, ACCEPTOR_OPTIONS, ACCEPTOR_USAGE);
  if (values.help === true) {
    console.log(`${ACCEPTOR_USAGE}\n\n${environmentHelp(ACCEPTOR_OPTIONS)}`);
    return undefined;
  }
  if (values.data === undefined) throw new UsageError(`--data is required\n\n${ACCEPTOR_USAGE}`);
  if (values.init === true && values.adopt === true) throw new UsageError(`--init and --adopt exclude each other\n\n${ACCEPTOR_USAGE}`);
  const logger = makeLogger(values['log-level'], 'acceptor', ACCEPTOR_USAGE);
  guardProcess(logger);
  const maxDataBytes = quota(values['max-data-bytes'] ?? '90%');
  const clusterId = readClusterId(values['cluster-id'], ACCEPTOR_USAGE);
  const port = integer(values.port ?? '7001', '--port', ACCEPTOR_USAGE);
  const limits = serverLimits(values, ACCEPTOR_USAGE);
  const maxBodyBytes = optionalPositive(values['max-body-bytes'], '--max-body-bytes', ACCEPTOR_USAGE);
  const maxKeyBytes = optionalPositive(values['max-key-bytes'], '--max-key-bytes', ACCEPTOR_USAGE);
  const requestTimeoutMs = optionalPositive(values['receive-timeout-ms'], '--receive-timeout-ms', ACCEPTOR_USAGE);
  const durable = values['unsafe-no-sync'] !== true;
  // Before the directory is touched: a secret that could never authenticate is a usage error.
  const secret = readSecret(values['secret-file']);
  const tls = readTls(values, ACCEPTOR_USAGE);
  const data = values.data;
  // Loaded here: `lmdb` is an optional peer dependency, and `caspaxos node` runs without it: say
  // what to install.
  await importOptional('lmdb', 'caspaxos acceptor', () => import('lmdb'));
  const directories = await import('../lmdb/data-directory.js');
  try {
    if (values.init === true || values.adopt === true) {
      if (clusterId === undefined) throw new UsageError(`${values.init === true ? '--init' : '--adopt'} needs --cluster-id (or CASPAXOS_CLUSTER_ID)\n\n${ACCEPTOR_USAGE}`);
      const identity = values.init === true ? await directories.initDataDirectory(data, clusterId, { durable }) : await directories.adoptDataDirectory(data, clusterId, { durable });
      logger.info({ data: resolve(data), cluster: identity.clusterId, incarnation: identity.incarnation }, values.init === true ? 'initialised' : 'adopted');
      return undefined;
    }
  } catch (error) {
    throw asRefusal(error);
  }

  let fail!: (reason: Error) => void;
  const fatal = new Promise<Error>((resolve) => (fail = resolve));
  let opened;
  try {
    opened = await directories.openDataDirectory(data, {
      clusterId,
      durable,
      maxDataBytes,
      onLockLost: (reason) => {
        logger.fatal({ data }, `the data directory's lock was lost: ${reason}; stopping`);
        fail(new Refusal(EXIT.locked, `the data directory's lock was lost: ${reason}`));
      },
    });
  } catch (error) {
    throw asRefusal(error);
  }
  const { identity, store, records, release } = opened;
  const metrics = new MetricsRegistry();
  processMetrics(metrics, 'acceptor');
  let acceptor: StoreAcceptor;
  try {
    // Every write's commit and sync timed, and the keys counted, for GET /metrics.
    const timed = instrumentStore(store, metrics, { records: () => store.recordCount() });
    acceptor = await StoreAcceptor.open(`lmdb:${resolve(data)}`, timed, { logger, onUntrusted: (error) => stopUntrusted(logger, error) });
  } catch (error) {
    await store.close();
    await release();
    throw error;
  }
  const server = createAcceptorServer(acceptor, {
    secret,
    logger,
    identity,
    tls,
    metrics,
    ...limits,
    ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
    ...(maxKeyBytes === undefined ? {} : { maxKeyBytes }),
    ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
  });
  const stop = async (): Promise<void> => {
    await server.close();
    // Closes the store too, once the requests in flight are done.
    await acceptor.close();
    await release();
    logger.info('stopped');
  };
  let listening;
  try {
    listening = await listenOrExplain(server.listen(port, values.host), port, values.host);
  } catch (error) {
    await stop();
    throw error;
  }
  logger.info({ url: listening.url, tls: tls !== undefined, data, durable, maxDataBytes, cluster: identity.clusterId, incarnation: identity.incarnation, records }, 'listening');
  return { stop, fatal };
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
