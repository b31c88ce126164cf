// caspaxos next to etcd on the same machine, in one run: the same workloads, driven from this Node
// process, against
//   etcd        3 etcd members on loopback (own temporary data directories, default fsync), through
//               the etcd3 npm client (gRPC)
//   http-lmdb   3 `caspaxos acceptor` processes (LMDB, every write synced), reached over HTTP by
//               HttpAcceptor (nodeFetch), as `caspaxos node` does
//   redis       3 redis-servers (appendonly yes, appendfsync always), RedisAcceptor over ioredis
// For caspaxos, the library's KeyValueStore over a MemoryProposer in this process ("kv" cells), and
// raw proposals through the same proposer ("raw" puts, as bench/deployments.mjs measures them).
//
// Cells (c = concurrent callers, k = keys, round-robin; 16-byte values):
//   put     c1/c64 x k1/k10000      etcd put; kv set; raw: propose(key, () => value)
//   cas     c1/c64 x k10000         etcd: a transaction on mod_revision (else get); kv compareAndSet
//                                  on the version; both start from the version last seen in this
//                                  process, so nearly every attempt succeeds
//   read    c1/c64 x k10000         linearizable reads of existing keys (etcd's default get; kv get)
//   mix     c64 x k10000            90% reads, 10% puts of existing keys
// Per cell: ops/s, p50/p99 latency (ms), CPU µs per op summed over every process of the deployment
// and this one (utime + stime from /proc/<pid>/stat, before and after the cell), and the ratio of
// ops/s to etcd's same cell (raw puts: to etcd's put cell).
//
//   npm run bench:etcd                         (builds, then node bench/etcd.mjs)
//   node bench/etcd.mjs [--ms N] [--only etcd,http-lmdb,redis] [--cells put-c1-k1,...] [--out file]
//
// etcd: `etcd` on the PATH, else installed with `apt-get install -y etcd-server` when running as
// root, else the etcd cells are skipped (loudly). Progress on stderr; the last line of stdout is
// one JSON object. Not part of npm test. The members, acceptors, servers and this process share the
// machine's cores: compare ratios within one run.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import { KeyValueStore, MemoryProposer } from '../dist/index.js';
import { HttpAcceptor, nodeFetch } from '../dist/http.js';
import { RedisAcceptor, fromIoredis } from '../dist/redis.js';
import { BENCH_CLUSTER, cpuOf, measure, round, startAcceptors, startEtcd, startRedis } from './deploy-support.mjs';

const VALUE_TEXT = '0123456789abcdef';
const VALUE = new TextEncoder().encode(VALUE_TEXT);
const KEYS = 10_000;

/** Every cell: workload, concurrency, key count. */
const CELLS = [
  ['put', 1, 1],
  ['put', 1, KEYS],
  ['put', 64, 1],
  ['put', 64, KEYS],
  ['raw-put', 1, 1],
  ['raw-put', 1, KEYS],
  ['raw-put', 64, 1],
  ['raw-put', 64, KEYS],
  ['cas', 1, KEYS],
  ['cas', 64, KEYS],
  ['read', 1, KEYS],
  ['read', 64, KEYS],
  ['mix', 64, KEYS],
].map(([workload, c, k]) => ({ workload, c, k, name: `${workload}-c${c}-k${k}` }));

function parseOptions(argv) {
  const options = { ms: 3000, only: undefined, cells: undefined, out: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--help' || flag === '-h') {
      console.log(`usage: node bench/etcd.mjs [--ms N] [--only etcd,http-lmdb,redis] [--cells ${CELLS.map((c) => c.name).join(',')}] [--out file]`);
      process.exit(0);
    } else if (flag === '--ms') options.ms = Number(value());
    else if (flag === '--only') options.only = value().split(',');
    else if (flag === '--cells') options.cells = value().split(',');
    else if (flag === '--out') options.out = value();
    else throw new Error(`unknown option ${argv[i]} (try --help)`);
  }
  if (!Number.isSafeInteger(options.ms) || options.ms < 1) throw new Error('--ms must be a positive integer');
  return options;
}

const log = (...args) => console.error('[etcd-bench]', ...args);

/** The etcd binary, installing Debian's etcd-server when missing and running as root; undefined when there is none. */
function etcdBinary() {
  const found = () => spawnSync('etcd', ['--version']).status === 0;
  if (found()) return 'etcd';
  if (process.getuid?.() === 0) {
    log('etcd not found: apt-get install -y etcd-server');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () => spawnSync('apt-get', ['install', '-y', 'etcd-server'], { stdio: ['ignore', 'inherit', 'inherit'], env }).status === 0;
    // A machine whose package lists were never fetched finds nothing: update them once and retry.
    if (!install()) {
      spawnSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'], env });
      install();
    }
    if (found()) return 'etcd';
  }
  return undefined;
}

// --- Clients: one object per deployment with the same operations ----------------------------------

/** etcd through the etcd3 client. Versions are mod_revisions. */
function etcdClient(cluster) {
  const client = new Etcd3({ hosts: cluster.endpoints });
  return {
    client,
    put: async (key) => void (await client.put(key).value(VALUE_TEXT)),
    /** Writes if the key's mod_revision is `version`; resolves with the new version, or the current one on a mismatch. */
    cas: async (key, version) => {
      const result = await client.if(key, 'Mod', '==', version).then(client.put(key).value(VALUE_TEXT)).else(client.get(key)).commit();
      if (result.succeeded) return { ok: true, version: result.header.revision };
      const kv = result.responses[0]?.response_range?.kvs?.[0];
      return { ok: false, version: kv === undefined ? '0' : kv.mod_revision };
    },
    read: async (key) => {
      const value = await client.get(key).string();
      if (value !== VALUE_TEXT) throw new Error(`etcd read ${key}: ${value}`);
    },
    /** etcd's first version of a key: its mod_revision after a put. */
    create: async (key) => (await client.put(key).value(VALUE_TEXT)).header.revision,
    close: async () => client.close(),
  };
}

/** caspaxos: KeyValueStore (put, cas, read) and raw proposals, over one MemoryProposer. */
function caspaxosClient(acceptors) {
  const proposer = new MemoryProposer('bench', acceptors);
  const kv = new KeyValueStore({ proposer });
  const write = () => VALUE;
  return {
    put: async (key) => void (await kv.set(key, VALUE_TEXT)),
    rawPut: async (key) => void (await proposer.propose(key, write)),
    cas: async (key, version) => {
      const result = await kv.compareAndSet(key, version, VALUE_TEXT);
      return result.ok ? { ok: true, version: result.version } : { ok: false, version: result.current?.version ?? null };
    },
    read: async (key) => {
      const entry = await kv.get(key);
      if (entry?.value !== VALUE_TEXT) throw new Error(`kv read ${key}: ${JSON.stringify(entry)}`);
    },
    create: (key) => kv.set(key, VALUE_TEXT),
    close: () => kv.close(),
  };
}

// --- Cells ------------------------------------------------------------------------------------------

/** Writes the KEYS keys the read, cas and mix cells use (64 at a time); resolves with their versions. */
async function populate(client, prefix) {
  const versions = new Map();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < KEYS) {
        const key = `${prefix}:${next++}`;
        versions.set(key, await client.create(key));
      }
    }),
  );
  return versions;
}

function cellOp(client, cell, versions) {
  switch (cell.workload) {
    case 'put':
      return client.put;
    case 'raw-put':
      if (client.rawPut === undefined) return undefined;
      return client.rawPut;
    case 'read':
      return client.read;
    case 'cas':
      return async (key) => {
        const result = await client.cas(key, versions.get(key));
        versions.set(key, result.version);
      };
    case 'mix': {
      let n = 0;
      return (key) => (n++ % 10 === 9 ? client.put(key) : client.read(key));
    }
  }
  throw new Error(`unknown workload ${cell.workload}`);
}

async function runDeployment(name, cluster, client, cells, ms) {
  const results = {};
  const pids = [process.pid, ...cluster.pids];
  // Warm-up (JIT, connections, caches) so the first cell is not measured on cold processes: puts,
  // then reads, on keys of their own.
  log(`${name}: warming up`);
  await measure(client.put, { concurrency: 16, keyCount: 100, ms: Math.min(ms, 1500), prefix: 'warm' });
  await measure(client.read, { concurrency: 16, keyCount: 100, ms: Math.min(ms, 1000), prefix: 'warm' });
  let versions;
  let cellId = 0;
  for (const cell of cells) {
    const shared = cell.workload === 'read' || cell.workload === 'cas' || cell.workload === 'mix';
    if (shared && versions === undefined) {
      log(`${name}: writing ${KEYS} keys for the read, cas and mix cells`);
      versions = await populate(client, 'shared');
    }
    const op = cellOp(client, cell, versions);
    if (op === undefined) continue;
    log(`${name} ${cell.name}`);
    const cpuBefore = cpuOf(pids);
    const result = await measure(op, { concurrency: cell.c, keyCount: cell.k, ms, prefix: shared ? 'shared' : `${cell.name}-${cellId++}` });
    const cpu = cpuOf(pids) - cpuBefore;
    const ops = Math.round((result.ops_per_s * ms) / 1000);
    results[cell.name] = { ...result, cpu_us_per_op: ops === 0 ? null : Math.round(cpu / ops) };
  }
  return results;
}

// --- Main ---------------------------------------------------------------------------------------------

const options = parseOptions(process.argv.slice(2));
const cells = CELLS.filter((c) => options.cells === undefined || options.cells.includes(c.name));
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
const wanted = (d) => options.only === undefined || options.only.includes(d);
const etcd = wanted('etcd') ? etcdBinary() : undefined;
if (wanted('etcd') && etcd === undefined) log('etcd not found (and not root to install etcd-server): the etcd cells are SKIPPED');
if (wanted('redis') && !hasRedis) log('redis-server not found: the redis cells are SKIPPED');
const deployments = [...(etcd === undefined ? [] : ['etcd']), ...(wanted('http-lmdb') ? ['http-lmdb'] : []), ...(wanted('redis') && hasRedis ? ['redis'] : [])];

const figures = {};
const viaNode = nodeFetch({ maxSockets: 64 });
for (const deployment of deployments) {
  let cluster;
  let client;
  if (deployment === 'etcd') {
    cluster = await startEtcd(etcd);
    client = etcdClient(cluster);
    // Wait for a leader: the first put succeeds once the cluster serves.
    for (let attempt = 0; ; attempt++) {
      try {
        await client.put('warm-up');
        break;
      } catch (error) {
        if (attempt > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } else if (deployment === 'http-lmdb') {
    cluster = await startAcceptors(true);
    client = caspaxosClient(cluster.urls.map((url) => new HttpAcceptor(url, { clusterId: BENCH_CLUSTER, timeoutMs: 10_000, fetch: viaNode })));
  } else {
    cluster = await startRedis();
    client = caspaxosClient(cluster.servers.map((s) => new RedisAcceptor(`redis://127.0.0.1:${s.port}`, fromIoredis(s.client))));
  }
  try {
    figures[deployment] = await runDeployment(deployment, cluster, client, cells, options.ms);
  } finally {
    await client.close();
    await cluster.stop();
  }
}

const ratios = {};
if (figures.etcd !== undefined) {
  for (const deployment of deployments.filter((d) => d !== 'etcd')) {
    ratios[deployment] = {};
    for (const [cell, f] of Object.entries(figures[deployment])) {
      const reference = figures.etcd[cell.replace(/^raw-/, '')];
      if (reference === undefined) continue;
      ratios[deployment][cell] = {
        ops: round(f.ops_per_s / reference.ops_per_s),
        p99: round(f.p99_ms / reference.p99_ms),
        cpu: f.cpu_us_per_op === null || reference.cpu_us_per_op === null ? null : round(f.cpu_us_per_op / reference.cpu_us_per_op),
      };
    }
  }
}

console.log('deployment   cell               ops/s    p50 ms    p99 ms  CPU µs/op  errors   x etcd (ops)');
for (const [deployment, results] of Object.entries(figures)) {
  for (const [cell, f] of Object.entries(results)) {
    const ratio = ratios[deployment]?.[cell]?.ops;
    console.log(
      `${deployment.padEnd(12)} ${cell.padEnd(16)} ${String(f.ops_per_s).padStart(8)} ${String(f.p50_ms).padStart(9)} ${String(f.p99_ms).padStart(9)} ${String(f.cpu_us_per_op).padStart(10)} ${String(f.errors).padStart(7)}   ${ratio === undefined ? '' : `${ratio}x`}`,
    );
  }
}
const summary = { ms: options.ms, keys: KEYS, value_bytes: VALUE.length, etcd: etcd === undefined ? null : spawnSync(etcd, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0], figures, ratios };
if (options.out !== undefined) writeFileSync(options.out, `${JSON.stringify(summary, null, 2)}\n`);
console.log(JSON.stringify(summary));
