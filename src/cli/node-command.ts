/**
 * `caspaxos node`: a proposer with the HTTP user and operator API of `createNodeServer`, over the
 * members its data directory records (`membership-state.ts`), or, the first time, over
 * `--acceptors`, identified one by one.
 */
import { mkdir } from 'node:fs/promises';
import { rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { garbageCollect } from '../cluster/garbage-collect.js';
import { growCluster } from '../cluster/grow-cluster.js';
import { shrinkCluster } from '../cluster/shrink-cluster.js';
import { KeyValueStore } from '../kv/key-value-store.js';
import { MemoryProposer } from '../proposer/memory-proposer.js';
import { UnavailableError, isRetryable } from '../errors.js';
import type { Logger } from '../logger.js';
import type { OrchestrationOptions } from '../cluster/options.js';
import { retryWhile } from '../retry.js';
import type { Acceptor, FastForwarder, Proposer } from '../roles.js';
import { nodeFetch } from '../http/node-fetch.js';
import { createNodeServer } from '../http/proposer-server.js';
import { RemoteProposer } from '../http/proposer-client.js';
import { CLUSTER_HEADER } from '../http/wire.js';
import { DirectoryLockedError, lockDirectory } from '../lmdb/directory-lock.js';
import { COMMON_USAGE, type Running, UsageError, common, environmentHelp, integer, list, listenOrExplain, makeLogger, optionalPositive, parse, readClusterId, readPem, readSecret, readTls, serverLimits } from './flags.js';
import { MetricsRegistry } from '../metrics/registry.js';
import { proposerMetrics } from '../metrics/proposer-metrics.js';
import type { Tracer } from '../tracer.js';
import { processMetrics } from './process-metrics.js';
import { type MembershipState, MEMBERSHIP_FILE, readMembership, sameMembers, urlOf, writeMembership } from './membership-state.js';
import { Members } from './node-members.js';
import { PersistedProposer } from './persisted-proposer.js';
import { RedisConnections, isRedisUrl } from './redis-acceptors.js';
import { EXIT, Refusal } from './refusal.js';
import { guardProcess } from './process-guard.js';

/**
 * Deletes' collections share one age raise per this many milliseconds (`gc.ageRaiseWindowMs`):
 * each raise makes the acceptors turn down this node's messages still in flight, whatever their
 * key, and one per collection cost a tenth of all writes a retry under a 5 % delete load (the
 * soak). A collection takes several round trips already; 20 ms more runs in the background.
 */
const AGE_RAISE_WINDOW_MS = 20;

export const NODE_USAGE = `Usage: caspaxos node --data <dir> [--acceptors <url,url,...>] [flags]

Runs a proposer and serves:
  GET    /v1/kv/{key}                         read (linearizable): { key, value, version }
  PUT    /v1/kv/{key}            { value }    write: { key, version }
  POST   /v1/kv/{key}/cas        { version, value }   compare-and-set on the version (null: only
                                              if absent); 409 with the current value on mismatch
  POST   /v1/kv/{key}/increment  { by }       add to an integer value (absent counts as 0)
  DELETE /v1/kv/{key}                         delete; the tombstone is garbage-collected in the background
  GET    /v1/kv/{key}/watch                   the key's changes as server-sent events (text/event-stream);
                                              Last-Event-ID or ?since=<id> resumes after an event
  GET    /v1/admin/acceptors                  the members prepares and accepts go to
  POST   /v1/admin/grow          { acceptor } add an acceptor (URL) to the cluster, every node included
  POST   /v1/admin/shrink        { acceptor } remove an acceptor (URL, or member address) from the cluster
  POST   /v1/admin/gc            { key }      garbage-collect a deleted key now
  POST   /v1/admin/sweep                      collect tombstones left by crashed nodes
  GET    /v1/admin/operations                 grow, shrink, gc and sweep: running and recent, with their
                                              step and keys done / total (also logged every 5 s)
  DELETE /v1/admin/operations/{id}            cancel one (a grow or shrink undoes its completed steps)
                                              (the POSTs above wait for the end; with the header
                                              'Prefer: respond-async' they answer 202 and a Location)
  GET    /v1/health                           liveness: the process serves (no authentication)
  GET    /v1/ready                            readiness: 200 when a quorum of the preparers and of the
                                              accepters answers now, else 503 (no authentication)

Values larger than the acceptors accept (their --max-body-bytes, after base64 and the request's
own fields) get 413 at once.

The node keeps its membership in <dir>/membership.json, rewritten after every step of a grow or
a shrink, so a restart comes back with the current members whatever --acceptors says. Members are
known by address and incarnation: an acceptor whose data directory was initialised anew is a new
member, not counted until grown into the cluster.

Flags:
  --data <dir>            The node's data directory (created if missing): its membership and its
                          lock (one process per directory); the pid is in <dir>/caspaxos.pid. (required)
  --acceptors <urls>      Comma-separated acceptor URLs (2F+1 of them), to bootstrap a node with no
                          membership yet; ignored (with a warning if it differs) once <dir> has one.
                          Each is http(s)://host:port, a 'caspaxos acceptor' (every one must answer at
                          bootstrap, within 60 s: the node records its incarnation), or
                          redis://[:password@]host:port[/db] (rediss:// for TLS), a Redis server holding
                          the acceptor's records (needs the ioredis package; run Redis with appendonly
                          yes and appendfsync always).
  --peers <urls>          Comma-separated URLs of the other nodes: membership change and garbage
                          collection act on every proposer of the cluster. At start the node refuses
                          to run (exit 8) if a peer that answers runs with other members. Default none.
  --id <name>             Proposer name. Each start runs under a new id, <name>@<incarnation>,
                          because a restarted proposer has lost its ballot counter. Default the host name.
  --port <n>              TCP port to listen on; 0 picks a free one. Default 8080.
  --host <addr>           Interface to listen on. Default 127.0.0.1.
${COMMON_USAGE}
  --max-body-bytes <n>    Largest request body accepted. Default 1048576.
  --timeout-ms <n>        Per-call timeout towards acceptors. Default 5000.
  --sweep-interval-ms <n> Sweep for uncollected tombstones every n ms. Default 60000; 0 disables.
  --max-watches <n>       Watch streams open at once; more get 503. Each holds a connection to every
                          acceptor. Default 256.
  --tls-ca <file>         Certificate authorities (PEM) that https:// acceptors' and peers'
                          certificates must chain to, instead of Node's bundled ones (a private CA).
                          Certificates are always verified. Default Node's bundled authorities.

GET /metrics serves Prometheus metrics (proposal rounds, phases and their latency, conflicts,
retries, unknown outcomes, requests, garbage collection), behind the secret when there is one; see
docs/operations/metrics.md.

The cluster id (--cluster-id or CASPAXOS_CLUSTER_ID) is required to bootstrap, and checked
against the membership file afterwards.

Examples:
  caspaxos node --port 8080 --data ./data/n1 --cluster-id prod-1 --acceptors http://127.0.0.1:7001,http://127.0.0.1:7002,http://127.0.0.1:7003
  caspaxos node --port 8080 --data ./data/n1 --cluster-id prod-1 --acceptors redis://10.0.0.7:6379,redis://10.0.0.8:6379,redis://10.0.0.9:6379`;

const PID_FILE = 'caspaxos.pid';
/** How long a bootstrapping node waits for its acceptors to answer (they may be starting too). */
const BOOTSTRAP_WAIT_MS = 60_000;

/** The flags of `caspaxos node` (each also from its environment variable, see `flags.ts`). */
export const NODE_OPTIONS = {
  ...common,
  data: { type: 'string' },
  acceptors: { type: 'string' },
  peers: { type: 'string' },
  id: { type: 'string' },
  'timeout-ms': { type: 'string' },
  'sweep-interval-ms': { type: 'string' },
  'max-body-bytes': { type: 'string' },
  'tls-ca': { type: 'string' },
  'max-watches': { type: 'string' },
} as const;

/** Runs `caspaxos node`; resolves with the running node, or `undefined` after printing help. */
export async function runNode(args: readonly string[]): Promise<Running | undefined> {
  const { values } = parse(args, NODE_OPTIONS, NODE_USAGE);
  if (values.help === true) {
    console.log(`${NODE_USAGE}\n\n${environmentHelp(NODE_OPTIONS)}`);
    return undefined;
  }
  if (values.data === undefined) throw new UsageError(`--data is required: the node keeps its membership there\n\n${NODE_USAGE}`);
  const data = values.data;
  const bootstrap = list(values.acceptors);
  const secret = readSecret(values['secret-file']);
  const timeoutMs = integer(values['timeout-ms'] ?? '5000', '--timeout-ms', NODE_USAGE);
  const sweepIntervalMs = integer(values['sweep-interval-ms'] ?? '60000', '--sweep-interval-ms', NODE_USAGE);
  const port = integer(values.port ?? '8080', '--port', NODE_USAGE);
  const maxBodyBytes = optionalPositive(values['max-body-bytes'], '--max-body-bytes', NODE_USAGE);
  const maxWatches = optionalPositive(values['max-watches'], '--max-watches', NODE_USAGE);
  const receiveTimeoutMs = optionalPositive(values['receive-timeout-ms'], '--receive-timeout-ms', NODE_USAGE);
  const flagCluster = readClusterId(values['cluster-id'], NODE_USAGE);
  const limits = serverLimits(values, NODE_USAGE);
  const tls = readTls(values, NODE_USAGE);
  const ca = values['tls-ca'] === undefined ? undefined : readPem(values['tls-ca'], '--tls-ca', NODE_USAGE);
  // A restarted proposer must not reuse its id (it lost its ballot counter): a new incarnation each start.
  const id = `${values.id ?? hostname()}@${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36).padStart(4, '0')}`;
  const logger = makeLogger(values['log-level'], 'node', NODE_USAGE).child({ proposer: id });
  guardProcess(logger);

  await mkdir(data, { recursive: true });
  let fail!: (reason: Error) => void;
  const fatal = new Promise<Error>((resolve) => (fail = resolve));
  let lock;
  try {
    lock = await lockDirectory(data, {
      onLost: (reason) => {
        logger.fatal({ data }, `the data directory's lock was lost: ${reason}; stopping`);
        fail(new Refusal(EXIT.locked, `the data directory's lock was lost: ${reason}`));
      },
    });
  } catch (error) {
    if (error instanceof DirectoryLockedError) throw new Refusal(EXIT.locked, error.message, { cause: error });
    throw error;
  }
  const cleanups: Array<() => Promise<void> | void> = [() => lock.release()];
  const cleanUp = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const stored = readMembership(data);
    const clusterId = stored?.clusterId ?? flagCluster;
    if (clusterId === undefined) throw new UsageError(`--cluster-id (or CASPAXOS_CLUSTER_ID) is required to bootstrap a node\n\n${NODE_USAGE}`);
    if (stored !== undefined && flagCluster !== undefined && flagCluster !== stored.clusterId) {
      throw new Refusal(EXIT.foreign, `${join(data, MEMBERSHIP_FILE)} belongs to cluster ${JSON.stringify(stored.clusterId)}, not ${JSON.stringify(flagCluster)}`);
    }
    if (stored === undefined && bootstrap.length === 0) throw new UsageError(`--acceptors is required to bootstrap a node (${resolve(data)} holds no membership yet)\n\n${NODE_USAGE}`);

    const everyUrl = [...(stored?.preparers ?? []), ...(stored?.accepters ?? []), ...bootstrap];
    let redis: RedisConnections | undefined;
    if (everyUrl.some(isRedisUrl)) {
      redis = await RedisConnections.load(timeoutMs, logger);
      cleanups.push(() => redis?.close());
    }
    // Every call to acceptors and peers over https verifies their certificates (against --tls-ca).
    const fetch = nodeFetch(ca === undefined ? {} : { ca });
    const metrics = new MetricsRegistry();
    processMetrics(metrics, 'node');
    // Proposer, garbage-collection and membership figures come from trace events (`proposerMetrics`).
    const tracer: Tracer = proposerMetrics(metrics);
    const members = new Members({ clusterId, secret, timeoutMs, logger, fetch, redis, limits: stored?.limits ?? {} });

    let state: MembershipState;
    if (stored !== undefined) {
      state = stored;
      const urls = [...new Set([...stored.preparers, ...stored.accepters].map(urlOf))];
      if (bootstrap.length > 0 && !sameMembers(bootstrap.map((u) => urlOf(u.replace(/\/+$/, ''))), urls)) {
        logger.warn({ acceptors: bootstrap, members: { preparers: stored.preparers, accepters: stored.accepters } }, `--acceptors differs from the membership in ${join(data, MEMBERSHIP_FILE)}, which the node uses: --acceptors only bootstraps a node`);
      }
    } else {
      // Bootstrap: every acceptor must say who it is, so each member is known by its incarnation.
      // Acceptors starting at the same time as the node are waited for (BOOTSTRAP_WAIT_MS).
      const addresses: string[] = [];
      const deadline = Date.now() + BOOTSTRAP_WAIT_MS;
      for (const url of bootstrap) {
        for (let attempt = 0; ; attempt++) {
          try {
            addresses.push(await members.resolve(url, AbortSignal.timeout(timeoutMs)));
            break;
          } catch (error) {
            // A certificate that does not verify will not verify later: refuse now, saying why.
            if (error instanceof UnavailableError && Date.now() < deadline && certificateProblem(error) === undefined) {
              if (attempt % 20 === 0) logger.warn({ acceptor: url, err: error.message }, 'waiting for the acceptor to answer, to record its identity');
              await new Promise((resolve) => setTimeout(resolve, 250));
              continue;
            }
            const certificate = certificateProblem(error);
            if (certificate !== undefined) {
              throw new Refusal(EXIT.membership, `cannot bootstrap: ${url}: its TLS certificate does not verify (${certificate}): name the authority that signed it with --tls-ca, or fix the certificate (it must name the URL's host)`, { cause: error });
            }
            throw new Refusal(
              EXIT.membership,
              `cannot bootstrap: ${url}: ${(error as Error).message}. Bootstrapping records each acceptor's identity: every --acceptors member must answer, as a member of cluster ${JSON.stringify(clusterId)}`,
              { cause: error },
            );
          }
        }
      }
      state = { clusterId, preparers: addresses, accepters: addresses, limits: members.limitsOf(addresses) };
    }
    const peerUrls = list(values.peers);
    await checkPeers(peerUrls, state, { secret, clusterId, timeoutMs, logger, fetch });
    if (stored === undefined) await writeMembership(data, state);

    const proposerAcceptors = state.preparers.map(members.acceptorAt);
    const inner = new MemoryProposer(id, proposerAcceptors, { logger, tracer });
    // A membership change that stopped between its steps: accepters differ from preparers.
    for (const address of state.accepters) if (!state.preparers.includes(address)) await inner.addAccepter(members.acceptorAt(address));
    for (const address of state.preparers) if (!state.accepters.includes(address)) await inner.removeAccepter({ address });
    await redis?.ready();

    // Every acceptor of the current configuration, for garbage collection (updated in place after
    // every configuration change: the key-value store's collector reads this array at each collection).
    const gcAcceptors: Acceptor[] = [];
    let current = new Set([...state.preparers, ...state.accepters]);
    const refresh = async (): Promise<void> => {
      const [preparers, accepters] = await Promise.all([inner.listPreparers(), inner.listAccepters()]);
      current = new Set([...preparers, ...accepters]);
      gcAcceptors.splice(0, gcAcceptors.length, ...[...current].map(members.acceptorAt));
      await writeMembership(data, { clusterId, preparers, accepters, limits: members.limitsOf(current) });
    };
    gcAcceptors.push(...[...current].map(members.acceptorAt));
    const proposer: Proposer = new PersistedProposer(inner, async () => {
      await refresh();
      logger.info({ members: [...current] }, 'membership changed');
    });
    const proposers = [proposer, ...peerUrls.map((url) => new RemoteProposer(url, { secret, clusterId, fetch }))];
    const kv = new KeyValueStore<unknown>({
      proposer,
      logger,
      gc: { proposers, acceptors: gcAcceptors, logger, tracer, ageRaiseWindowMs: AGE_RAISE_WINDOW_MS, ...(sweepIntervalMs > 0 ? { sweepIntervalMs } : {}) },
    });
    cleanups.push(() => kv.close());
    // Learn the limits of members that were down when the state was written, in the background.
    for (const address of current) void members.probe(address, AbortSignal.timeout(timeoutMs)).catch(() => {});

    const server = createNodeServer(
      {
        proposer,
        kv,
        acceptorAt: members.acceptorAt,
        probe: members.probe,
        operations: {
          grow: async (acceptor, signal, onProgress) => {
            const member = members.acceptorAt(await members.resolve(acceptor.address, signal));
            await growCluster(member, proposers, { signal, logger, tracer, onProgress });
          },
          shrink: async (acceptor, signal, onProgress) => {
            await shrinkCluster(members.acceptorAt(memberAt(acceptor.address, current)), proposers, { signal, logger, tracer, onProgress });
          },
          collect: (key, signal, onProgress) => collectWithRetries(key, proposers, gcAcceptors, { signal, logger, tracer, onProgress }),
        },
      },
      {
        secret,
        logger,
        clusterId,
        tls,
        metrics,
        maxValueBytes: (key) => members.maxValueBytes(current, key),
        ...limits,
        ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
        ...(maxWatches === undefined ? {} : { maxWatches }),
        ...(receiveTimeoutMs === undefined ? {} : { receiveTimeoutMs }),
      },
    );
    const { url } = await listenOrExplain(server.listen(port, values.host), port, values.host);
    cleanups.push(() => server.close());
    writeFileSync(join(data, PID_FILE), `${process.pid}\n`);
    cleanups.push(() => rmSync(join(data, PID_FILE), { force: true }));
    logger.info({ url, cluster: clusterId, data, preparers: [...(await inner.listPreparers())], accepters: [...(await inner.listAccepters())], peers: peerUrls }, 'listening');
    return {
      stop: async () => {
        await cleanUp();
        logger.info('stopped');
      },
      fatal,
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

/** OpenSSL's and Node's codes for a peer certificate that does not verify (not a network fault). */
const CERTIFICATE_CODES = /^(ERR_TLS_CERT_ALTNAME_INVALID|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_\w+)$/;

/** The certificate error code in `error`'s cause chain, if a certificate failed to verify. */
function certificateProblem(error: unknown): string | undefined {
  return codeInCauses(error, CERTIFICATE_CODES);
}

/** The first error code in `error`'s cause chain (5 deep at most) that `pattern` matches. */
function codeInCauses(error: unknown, pattern: RegExp): string | undefined {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && pattern.test(code)) return code;
  }
  return undefined;
}

/**
 * The member that `address` names: itself when it is a member, else the one member at that URL
 * (an operator names an acceptor by URL; the node knows it by URL and incarnation).
 */
function memberAt(address: string, current: ReadonlySet<string>): string {
  if (current.has(address)) return address;
  const matches = [...current].filter((m) => urlOf(m) === urlOf(address));
  return matches.length === 1 ? (matches[0] as string) : address;
}

/**
 * Refuses to start when a peer that answers runs with other members: two proposers over different
 * configurations can each find a quorum the other never sees, and lose acknowledged writes. Peers
 * that do not answer are passed over (they may be restarting too).
 */
async function checkPeers(peers: readonly string[], state: MembershipState, opts: { secret: string | undefined; clusterId: string; timeoutMs: number; logger: Logger; fetch: typeof fetch }): Promise<void> {
  for (const peer of peers) {
    let reply: { preparers?: unknown; accepters?: unknown };
    try {
      const response = await opts.fetch(`${peer.replace(/\/+$/, '')}/v1/admin/acceptors`, {
        headers: { ...(opts.secret === undefined ? {} : { authorization: `Bearer ${opts.secret}` }), [CLUSTER_HEADER]: opts.clusterId },
        signal: AbortSignal.timeout(Math.min(opts.timeoutMs, 3000)),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      reply = (await response.json()) as typeof reply;
    } catch (error) {
      // Refused: nothing listens there, the usual case while a cluster's nodes start one by one.
      // The peer compares its membership with this node's when it starts (with --peers naming
      // this one), so this is not worth a warning; a peer that is up and does not answer is.
      if (codeInCauses(error, /^ECONNREFUSED$/) !== undefined) {
        opts.logger.info({ peer }, 'peer is not running (connection refused); its membership was not compared: it compares when it starts');
      } else {
        opts.logger.warn({ peer, err: (error as Error).message }, 'peer did not answer; its membership was not compared');
      }
      continue;
    }
    const same = (theirs: unknown, ours: readonly string[]): boolean => Array.isArray(theirs) && sameMembers(theirs as string[], ours);
    if (!same(reply.preparers, state.preparers) || !same(reply.accepters, state.accepters)) {
      throw new Refusal(
        EXIT.membership,
        `peer ${peer} runs with preparers ${JSON.stringify(reply.preparers)} and accepters ${JSON.stringify(reply.accepters)}; this node would run with ` +
          `preparers ${JSON.stringify(state.preparers)} and accepters ${JSON.stringify(state.accepters)}. Nodes over different members can lose acknowledged writes. ` +
          `If the peers are right, stop this node, delete ${MEMBERSHIP_FILE} in its data directory and start it with --acceptors naming their members`,
      );
    }
  }
}

/**
 * `garbageCollect`, retried while it fails retryably (every step is idempotent): a collection the
 * key-value store started in the background for the same key fences this one's proposers, and
 * the next attempt then runs with their new ages.
 */
function collectWithRetries(key: string, proposers: readonly FastForwarder[], acceptors: readonly Acceptor[], opts: OrchestrationOptions & { readonly signal: AbortSignal }): Promise<void> {
  return retryWhile(() => garbageCollect(key, proposers, acceptors, opts), isRetryable, { signal: opts.signal });
}
