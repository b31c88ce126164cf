// Real deployments: ops/s and p50/p99 latency of proposals through one MemoryProposer over three
// acceptors in other processes, at concurrency 1 and 64, on one key and on 10,000 keys:
//   http-lmdb          3 `caspaxos acceptor` processes (LMDB, every write synced), over HTTP
//                      through nodeFetch (node:http keep-alive agents), as the CLI does
//   http-lmdb-nosync   the same with --unsafe-no-sync: what durability costs
//   http-lmdb-fetch    http-lmdb through Node's built-in fetch (undici) instead
//   redis              3 redis-server processes (appendonly yes, appendfsync always), RedisAcceptor
//                      over ioredis (skipped when redis-server is missing)
// Each is set next to references measured in the same run:
//   limit.mjs          the in-process physical limit (asyncQuorum, scenario a for one key, b for
//                      10,000 keys): what the protocol costs with no transport at all
//   http-floor         two quorum phases (2 of 3) of POSTs through nodeFetch to 3 keep-alive
//                      node:http servers (in this process) that answer at once: the transport alone
//   redis-floor        two quorum phases of a one-SET Lua script on the same 3 Redis servers: the
//                      transport and Redis's own fsync, with no acceptor logic
//
//   npm run bench:deploy                    (builds, then node bench/deployments.mjs)
//   node bench/deployments.mjs [--ms N] [--runs N] [--only http-lmdb,redis]
//
// Options: --ms (per measurement, default 2000), --runs (default 3; figures are medians over runs,
// backends alternate order between runs). Progress goes to stderr; the last line of stdout is one
// JSON object. On a 2-core machine the acceptor processes and the proposer share the cores: compare
// ratios within one run, not absolute figures across machines.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { MemoryProposer } from '../dist/index.js';
import { HttpAcceptor, nodeFetch } from '../dist/http.js';
import { RedisAcceptor, fromIoredis } from '../dist/redis.js';
import { BENCH, BENCH_CLUSTER, measure, median, round, startAcceptors, startRedis } from './deploy-support.mjs';

const CONCURRENCY = [1, 64];
const KEYS = [1, 10_000];
const VALUE = new TextEncoder().encode('0123456789abcdef');

function parseOptions(argv) {
  const options = { ms: 2000, runs: 3, only: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--help' || flag === '-h') {
      console.log('usage: node bench/deployments.mjs [--ms N] [--runs N] [--only http-lmdb,http-lmdb-nosync,http-lmdb-fetch,redis]');
      process.exit(0);
    } else if (flag === '--ms') options.ms = Number(value());
    else if (flag === '--runs') options.runs = Number(value());
    else if (flag === '--only') options.only = value().split(',');
    else throw new Error(`unknown option ${argv[i]} (try --help)`);
  }
  for (const name of ['ms', 'runs']) if (!Number.isSafeInteger(options[name]) || options[name] < 1) throw new Error(`--${name} must be a positive integer`);
  return options;
}

const log = (...args) => console.error('[deployments]', ...args);

// --- Backends and references ----------------------------------------------------------------------

/** Two quorum phases (2 of 3) of `call(i)`: the message pattern of a proposal, with no protocol. */
function twoQuorumPhases(call) {
  const phase = () =>
    new Promise((resolve, reject) => {
      let ok = 0;
      let failed = 0;
      for (let i = 0; i < 3; i++) {
        call(i).then(
          () => ++ok === 2 && resolve(),
          (e) => ++failed === 2 && reject(e),
        );
      }
    });
  return () => phase().then(phase);
}

async function httpFloor() {
  const servers = await Promise.all(
    [0, 1, 2].map(
      () =>
        new Promise((resolve) => {
          const server = createServer((req, res) => {
            req.resume();
            req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 }).end('{}'));
          });
          server.keepAliveTimeout = 5000;
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const urls = servers.map((s) => `http://127.0.0.1:${s.address().port}/v1/prepare`);
  const body = JSON.stringify({ key: 'k', age: { counter: 0, id: 'p' }, ballot: { counter: 1, id: 'p' }, state: 'MDEyMzQ1Njc4OWFiY2RlZg==' });
  const round = twoQuorumPhases((i) => viaNode(urls[i], { method: 'POST', body, headers: { 'content-type': 'application/json' } }).then((r) => r.arrayBuffer()));
  return { op: () => round(), stop: async () => Promise.all(servers.map((s) => new Promise((resolve) => (s.closeAllConnections(), s.close(resolve))))) };
}

function redisFloor(redis) {
  const script = "redis.call('SET', KEYS[1], ARGV[1]) return 1";
  return (key) => twoQuorumPhases((i) => redis.servers[i].client.eval(script, 1, `floor:${key}`, '0123456789abcdef'))();
}

function proposerOp(acceptors) {
  const proposer = new MemoryProposer('bench', acceptors);
  const write = () => VALUE;
  return (key) => proposer.propose(key, write);
}

function runLimit(ms) {
  const result = spawnSync(process.execPath, [join(BENCH, 'limit.mjs'), String(ms)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`limit.mjs failed: ${result.stderr}`);
  const last = result.stdout.trim().split('\n').at(-1);
  return JSON.parse(last);
}

// --- Main -----------------------------------------------------------------------------------------

const options = parseOptions(process.argv.slice(2));
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
const backends = ['http-lmdb', 'http-lmdb-nosync', 'http-lmdb-fetch', ...(hasRedis ? ['redis'] : [])].filter((b) => options.only === undefined || options.only.includes(b));
if (!hasRedis) log('redis-server not found: the redis backend and redis-floor are SKIPPED');

const viaNode = nodeFetch({ maxSockets: 64 });
const samples = {}; // name -> list of measurement results per run
const push = (name, result) => (samples[name] ??= []).push(result);
const limitRuns = [];
let measurementId = 0;

for (let run = 0; run < options.runs; run++) {
  log(`run ${run + 1}/${options.runs}: limit.mjs`);
  limitRuns.push(runLimit(options.ms));
  const order = run % 2 === 0 ? backends : [...backends].reverse();
  const floor = await httpFloor();
  for (const concurrency of CONCURRENCY) {
    for (const keyCount of KEYS) {
      log(`run ${run + 1}: http-floor c=${concurrency} keys=${keyCount}`);
      push(`http-floor c${concurrency} k${keyCount}`, await measure(floor.op, { concurrency, keyCount, ms: options.ms, prefix: `m${measurementId++}` }));
    }
  }
  await floor.stop();
  for (const backend of order) {
    const cluster = backend === 'redis' ? await startRedis() : await startAcceptors(backend !== 'http-lmdb-nosync');
    const acceptors =
      backend === 'redis'
        ? cluster.servers.map((s) => new RedisAcceptor(`redis://127.0.0.1:${s.port}`, fromIoredis(s.client)))
        : cluster.urls.map((url) => new HttpAcceptor(url, { clusterId: BENCH_CLUSTER, timeoutMs: 10_000, ...(backend === 'http-lmdb-fetch' ? {} : { fetch: viaNode }) }));
    for (const concurrency of CONCURRENCY) {
      for (const keyCount of KEYS) {
        log(`run ${run + 1}: ${backend} c=${concurrency} keys=${keyCount}`);
        // A fresh proposer per measurement: no 1-RTT cache carried over.
        push(`${backend} c${concurrency} k${keyCount}`, await measure(proposerOp(acceptors), { concurrency, keyCount, ms: options.ms, prefix: `m${measurementId++}` }));
        if (backend === 'redis') {
          log(`run ${run + 1}: redis-floor c=${concurrency} keys=${keyCount}`);
          push(`redis-floor c${concurrency} k${keyCount}`, await measure(redisFloor(cluster), { concurrency, keyCount, ms: options.ms, prefix: `m${measurementId++}` }));
        }
      }
    }
    await cluster.stop();
  }
}

const figures = {};
for (const [name, results] of Object.entries(samples)) {
  figures[name] = {
    ops_per_s: median(results.map((r) => r.ops_per_s)),
    p50_ms: median(results.map((r) => r.p50_ms)),
    p99_ms: median(results.map((r) => r.p99_ms)),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
  };
}
const limit = { a: median(limitRuns.map((l) => l.asyncQuorum.a_ops_per_s)), b: median(limitRuns.map((l) => l.asyncQuorum.b_ops_per_s)) };
const ratios = {};
for (const backend of backends) {
  for (const c of CONCURRENCY) {
    for (const k of KEYS) {
      const ours = figures[`${backend} c${c} k${k}`];
      const floorName = backend === 'redis' ? `redis-floor c${c} k${k}` : `http-floor c${c} k${k}`;
      ratios[`${backend} c${c} k${k}`] = {
        vs_transport_floor: round(ours.ops_per_s / figures[floorName].ops_per_s),
        vs_limit: Number((ours.ops_per_s / (k === 1 ? limit.a : limit.b)).toPrecision(3)),
      };
    }
  }
  if (backend === 'http-lmdb-fetch' && backends.includes('http-lmdb')) {
    for (const c of CONCURRENCY) {
      for (const k of KEYS) ratios[`nodeFetch gain c${c} k${k}`] = { nodefetch_over_builtin_fetch: round(figures[`http-lmdb c${c} k${k}`].ops_per_s / figures[`http-lmdb-fetch c${c} k${k}`].ops_per_s) };
    }
  }
  if (backend === 'http-lmdb-nosync' && backends.includes('http-lmdb')) {
    for (const c of CONCURRENCY) {
      for (const k of KEYS) ratios[`durability cost c${c} k${k}`] = { durable_over_nosync: round(figures[`http-lmdb c${c} k${k}`].ops_per_s / figures[`http-lmdb-nosync c${c} k${k}`].ops_per_s) };
    }
  }
}

console.log('measurement                      ops/s      p50 ms    p99 ms   errors');
for (const [name, f] of Object.entries(figures)) {
  console.log(`${name.padEnd(30)} ${String(f.ops_per_s).padStart(8)} ${String(f.p50_ms).padStart(10)} ${String(f.p99_ms).padStart(9)} ${String(f.errors).padStart(8)}`);
}
console.log(JSON.stringify({ runs: options.runs, ms: options.ms, limit_async_quorum_ops_per_s: limit, figures, ratios }));
