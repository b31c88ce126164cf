// Soak: the key-value API under sustained load, as an operator would run it, next to etcd in the
// same run (issue 18). No faults are injected.
//
//   caspaxos   3 `caspaxos acceptor` processes (LMDB, every write synced) and 2 `caspaxos node`
//              processes (each naming the other with --peers, so garbage collection fences both);
//              clients over HTTP keep-alive, client i on node i % 2
//   etcd       3 members on loopback (default fsync), clients through the `etcd3` npm client
//              (skipped when `etcd` is not on the PATH or `etcd3` is not installed)
//
// Each client owns its keys (so every key's last acknowledged value is known) and loops: pick one
// of its keys, do put / get / compare-and-set / delete in the given mix. Values are unique per
// write. Every window it prints ops/s, p50/p99, errors by code, and the RSS and open fds of every
// process; at the end it reads every key back and counts lost writes (a key whose value is not the
// last acknowledged one, or one of the values an unacknowledged write may have left). The last
// line of stdout is one JSON object, with the ratios to etcd.
//
//   npm run build && node bench/soak.mjs [flags]
//
// Flags:
//   --clients N          concurrent clients (default 64)
//   --keys N             keys per client (default 150)
//   --mix put=45,get=35,cas=15,delete=5
//   --duration S         seconds per backend (default 300)
//   --window S           seconds per printed window (default 10)
//   --rate N             offer at most N ops/s in all (each client paced at N / clients): a fixed
//                        load, so that memory is measured at a steady allocation rate (default: none,
//                        every client sends its next op as soon as the last one completes)
//   --only caspaxos,etcd backends to run (default both; etcd when installed)
//   --root DIR           the checkout whose bin/caspaxos.mjs and dist/ to run (default this one):
//                        measures another build of the project with the same harness
//   --sweep-interval-ms N  the nodes' sweep interval (default: the CLI's, 60000)
//   --node-args "ARGS"   more `caspaxos node` flags, space-separated (e.g. "--timeout-ms 1000")
//   --acceptor-node-flags "FLAGS"  Node.js flags for the `caspaxos acceptor` processes, space-separated
//                        (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them under the load)
//   --heap-snapshots DIR write heap snapshots of both nodes into DIR at the seconds --snapshot-at
//                        lists (node --heapsnapshot-signal), and report what grew in each node's
//                        heap between its first and last (`heap_growth`, bench/heap-diff.mjs)
//   --snapshot-at S,S    window ends (multiples of --window); default 120 and the end of the
//                        window before the last
//   --cpu-prof DIR       run every caspaxos process with node --cpu-prof, writing its profile into
//                        DIR/<process> when it exits (node n1, acceptor a1, ...): where their CPU goes
//   --smoke              30 s per backend, 16 clients, and exit 1 unless 0 errors and 0 lost writes
//                        (test/cli/soak-smoke.test.ts runs it with --only caspaxos)
//
// Progress and windows go to stderr; the summary table and the JSON line to stdout. On a 2-core
// machine every process shares the cores: compare the ratios within one run.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { cpuMicros, cpuOf, cpuTimes } from './deploy-support.mjs';
import { heapDiff, heapSummary } from './heap-diff.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));

// --- Options --------------------------------------------------------------------------------------

function parseOptions(argv) {
  const options = {
    clients: 64,
    keys: 150,
    mix: { put: 45, get: 35, cas: 15, delete: 5 },
    duration: 300,
    window: 10,
    rate: undefined,
    only: ['caspaxos', 'etcd'],
    root: dirname(BENCH),
    sweepIntervalMs: undefined,
    nodeArgs: [],
    heapSnapshots: undefined,
    snapshotAt: undefined,
    cpuProf: undefined,
    smoke: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--help' || flag === '-h') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport ')[0].replace(/^\/\/ ?/gm, ''));
      process.exit(0);
    } else if (flag === '--clients') options.clients = Number(value());
    else if (flag === '--keys') options.keys = Number(value());
    else if (flag === '--mix') options.mix = parseMix(value());
    else if (flag === '--duration') options.duration = Number(value());
    else if (flag === '--window') options.window = Number(value());
    else if (flag === '--rate') options.rate = Number(value());
    else if (flag === '--only') options.only = value().split(',');
    else if (flag === '--root') options.root = resolve(value());
    else if (flag === '--sweep-interval-ms') options.sweepIntervalMs = Number(value());
    else if (flag === '--node-args') options.nodeArgs = value().split(' ').filter((a) => a !== '');
    else if (flag === '--acceptor-node-flags') options.acceptorNodeFlags = value().split(' ').filter((a) => a !== '');
    else if (flag === '--heap-snapshots') options.heapSnapshots = resolve(value());
    else if (flag === '--snapshot-at') options.snapshotAt = value().split(',').map(Number);
    else if (flag === '--cpu-prof') options.cpuProf = resolve(value());
    else if (flag === '--smoke') options.smoke = true;
    else throw new Error(`unknown option ${argv[i]} (try --help)`);
  }
  if (options.smoke) Object.assign(options, { duration: 30, clients: Math.min(options.clients, 16), window: 5 });
  for (const name of ['clients', 'keys', 'duration', 'window']) {
    if (!Number.isSafeInteger(options[name]) || options[name] < 1) throw new Error(`--${name} must be a positive integer`);
  }
  if (options.rate !== undefined && !(options.rate > 0)) throw new Error('--rate must be a number > 0');
  for (const backend of options.only) if (!['caspaxos', 'etcd'].includes(backend)) throw new Error(`--only: unknown backend ${backend}`);
  const windowEnd = (s) => Math.floor(s / options.window) * options.window;
  options.snapshotAt ??= [windowEnd(Math.min(120, options.duration)), windowEnd(options.duration) - options.window].filter((s, i, all) => s > 0 && all.indexOf(s) === i);
  // Snapshots are taken as windows close: a second that is not a window's end would never come.
  for (const at of options.heapSnapshots === undefined ? [] : options.snapshotAt) {
    if (!Number.isSafeInteger(at) || at < options.window || at > options.duration || at % options.window !== 0) {
      throw new Error(`--snapshot-at: ${at} is not the end of a window (a multiple of --window ${options.window} up to --duration ${options.duration})`);
    }
  }
  return options;
}

function parseMix(text) {
  const mix = { put: 0, get: 0, cas: 0, delete: 0 };
  for (const part of text.split(',')) {
    const [op, weight] = part.split('=');
    if (!(op in mix) || !(Number(weight) >= 0)) throw new Error(`--mix: bad entry ${part} (ops: put, get, cas, delete)`);
    mix[op] = Number(weight);
  }
  if (Object.values(mix).every((w) => w === 0)) throw new Error('--mix: every weight is 0');
  return mix;
}

const log = (...args) => console.error('[soak]', ...args);
const round = (x, digits = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);

// --- Processes: spawn, wait until ready, measure, stop -------------------------------------------

/** A child process of this benchmark, with a name for the tables. */
class Child {
  constructor(name, command, args, options = {}) {
    this.name = name;
    this.output = '';
    /** Warnings and errors it logged (pino JSON lines, level >= 40), by message, with the first example. */
    this.warnings = {};
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let partial = '';
    const keep = (chunk) => {
      // The last 64 KiB, for the error message if it dies.
      this.output = (this.output + chunk).slice(-65_536);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        let record;
        try {
          record = JSON.parse(line);
        } catch {
          continue;
        }
        if (!(record.level >= 40)) continue;
        const entry = (this.warnings[record.msg] ??= { count: 0, first: line.slice(0, 2000) });
        entry.count++;
      }
    };
    this.child.stdout.setEncoding('utf8').on('data', keep);
    this.child.stderr.setEncoding('utf8').on('data', keep);
    this.exited = new Promise((resolveExit) => this.child.once('exit', (code, signal) => resolveExit({ code, signal })));
  }

  get pid() {
    return this.child.pid;
  }

  /** RSS in MB and open file descriptors, from /proc (Linux); `undefined` where unavailable. */
  stats() {
    return processStats(this.pid);
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

function processStats(pid) {
  try {
    return { rssMb: rssOf(pid), fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return { rssMb: undefined, fds: undefined };
  }
}

/** RSS in MB from /proc (Linux); `undefined` where unavailable. */
function rssOf(pid) {
  try {
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return rss === null ? undefined : Math.round(Number(rss[1]) / 102.4) / 10;
  } catch {
    return undefined;
  }
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until `url`/v1/health answers 200 (or the process exits, or 20 s pass). */
async function waitHealthy(child, url) {
  const agent = new Agent({ keepAlive: false });
  try {
    for (let attempt = 0; ; attempt++) {
      if (child.child.exitCode !== null) throw new Error(`${child.name} exited:\n${child.output}`);
      const reply = await httpJson(agent, url, 'GET', '/v1/health', {}, undefined).catch(() => undefined);
      if (reply?.status === 200) return;
      if (attempt > 200) throw new Error(`${child.name} not healthy after 20 s:\n${child.output}`);
      await sleep(100);
    }
  } finally {
    agent.destroy();
  }
}

// --- HTTP: one keep-alive connection per client --------------------------------------------------

/** A JSON request; resolves with `{ status, body }` (body parsed when JSON), rejects on transport errors. */
function httpJson(agent, base, method, path, headers, body) {
  return new Promise((resolveReply, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(`${base}${path}`, {
      method,
      agent,
      headers: { ...headers, ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) },
      timeout: 30_000,
    });
    req.on('timeout', () => req.destroy(new Error('client timeout (30 s)')));
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('error', reject);
      res.on('end', () => {
        let parsed;
        try {
          parsed = text === '' ? undefined : JSON.parse(text);
        } catch {
          parsed = text;
        }
        resolveReply({ status: res.statusCode, body: parsed });
      });
    });
    req.end(payload);
  });
}

/** A failed request's code for the error table, e.g. `503 ERR_ACCEPT_FAILED`. */
class OpError extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

// --- The caspaxos deployment ---------------------------------------------------------------------

/** The cluster id the soak's acceptors are initialised with and its nodes name. */
const SOAK_CLUSTER = 'soak';

async function startCaspaxos(options, dir) {
  const cli = join(options.root, 'bin', 'caspaxos.mjs');
  if (!existsSync(cli)) throw new Error(`no ${cli}`);
  if (!existsSync(join(options.root, 'dist', 'cli.js'))) {
    throw new Error(`no dist/ under ${options.root}: run npm run build there first`);
  }
  const secret = randomBytes(16).toString('hex');
  const env = { ...process.env, CASPAXOS_SECRET: secret };
  // Quiet processes (level warn: a node logs each collection step at info), ready when /v1/health answers.
  const acceptorPorts = [await freePort(), await freePort(), await freePort()];
  // Since issue 11 a data directory is created explicitly and names its cluster, and a node keeps
  // its membership in a directory of its own; a checkout from before (--root) has neither flag.
  const explicitInit = spawnSync(process.execPath, [cli, 'acceptor', '--help'], { encoding: 'utf8' }).stdout.includes('--init');
  const clusterArgs = explicitInit ? ['--cluster-id', SOAK_CLUSTER] : [];
  if (explicitInit) {
    for (let i = 0; i < 3; i++) {
      const init = spawnSync(process.execPath, [cli, 'acceptor', '--init', ...clusterArgs, '--data', join(dir, `a${i + 1}`)], { encoding: 'utf8' });
      if (init.status !== 0) throw new Error(`caspaxos acceptor --init failed:\n${init.stdout}${init.stderr}`);
    }
  }
  /** `node --cpu-prof` flags for the process `name` (with --cpu-prof), else none. */
  const profiling = (name) => {
    if (options.cpuProf === undefined) return [];
    const into = join(options.cpuProf, name);
    mkdirSync(into, { recursive: true });
    return ['--cpu-prof', `--cpu-prof-dir=${into}`];
  };
  const acceptors = acceptorPorts.map(
    (port, i) =>
      new Child(`acceptor a${i + 1}`, process.execPath, [...profiling(`a${i + 1}`), ...(options.acceptorNodeFlags ?? []), cli, 'acceptor', '--port', String(port), '--data', join(dir, `a${i + 1}`), '--log-level', 'warn'], { env }),
  );
  const acceptorUrls = acceptorPorts.map((port) => `http://127.0.0.1:${port}`);
  await Promise.all(acceptors.map((a, i) => waitHealthy(a, acceptorUrls[i])));
  const nodePorts = [await freePort(), await freePort()];
  const nodeUrls = nodePorts.map((port) => `http://127.0.0.1:${port}`);
  const snapshots = options.heapSnapshots;
  const nodes = nodePorts.map((port, i) => {
    const nodeDir = snapshots === undefined ? undefined : join(snapshots, `n${i + 1}`);
    if (nodeDir !== undefined) mkdirSync(nodeDir, { recursive: true });
    const args = [
      ...(nodeDir === undefined ? [] : ['--heapsnapshot-signal=SIGUSR2']),
      ...profiling(`n${i + 1}`),
      cli,
      'node',
      '--port',
      String(port),
      '--id',
      `n${i + 1}`,
      ...(explicitInit ? ['--data', join(dir, `n${i + 1}`), ...clusterArgs] : []),
      '--acceptors',
      acceptorUrls.join(','),
      '--peers',
      nodeUrls[1 - i],
      '--log-level',
      'warn',
      ...(options.sweepIntervalMs === undefined ? [] : ['--sweep-interval-ms', String(options.sweepIntervalMs)]),
      ...options.nodeArgs,
    ];
    return new Child(`node n${i + 1}`, process.execPath, args, { env, ...(nodeDir === undefined ? {} : { cwd: nodeDir }) });
  });
  await Promise.all(nodes.map((n, i) => waitHealthy(n, nodeUrls[i])));
  const auth = { authorization: `Bearer ${secret}` };
  const path = (key) => `/v1/kv/${encodeURIComponent(key)}`;

  /** One client's connection: a keep-alive agent with one socket, on node `i % 2`. */
  const client = (i) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const base = nodeUrls[i % 2];
    const call = async (method, key, suffix, body, ok) => {
      const reply = await httpJson(agent, base, method, `${path(key)}${suffix}`, auth, body);
      if (!ok.includes(reply.status)) throw new OpError(`${reply.status} ${reply.body?.code ?? 'no code'}`);
      return reply;
    };
    return {
      async put(key, value) {
        return { version: (await call('PUT', key, '', { value }, [200])).body.version };
      },
      async get(key) {
        const reply = await call('GET', key, '', undefined, [200, 404]);
        return reply.status === 404 ? undefined : { value: reply.body.value, version: reply.body.version };
      },
      async cas(key, version, value) {
        const reply = await call('POST', key, '/cas', { version, value }, [200, 409]);
        if (reply.status === 200) return { ok: true, version: reply.body.version };
        const current = reply.body.details?.current ?? reply.body.current ?? null;
        return { ok: false, current: current === null ? undefined : { value: current.value, version: current.version } };
      },
      async delete(key) {
        await call('DELETE', key, '', undefined, [200]);
      },
      close: () => agent.destroy(),
    };
  };

  const health = async () => {
    const agent = new Agent({ keepAlive: false });
    const replies = await Promise.all(nodeUrls.map((url) => httpJson(agent, url, 'GET', '/v1/health', {}, undefined).catch(() => undefined)));
    agent.destroy();
    return replies.map((r) => r?.body);
  };

  /**
   * Per acceptor, from its /metrics: durable store writes so far (commits: each a sync) and the
   * records they carried; undefined where the scrape failed.
   */
  const storeWrites = async () => {
    const agent = new Agent({ keepAlive: false });
    const pages = await Promise.all(acceptorUrls.map((url) => httpJson(agent, url, 'GET', '/metrics', auth, undefined).catch(() => undefined)));
    agent.destroy();
    const total = (page, name) => [...String(page).matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
    return pages.map((r) => (r?.status === 200 ? { commits: total(r.body, 'caspaxos_store_write_duration_seconds_count'), records: total(r.body, 'caspaxos_store_commit_records_sum') } : undefined));
  };

  /**
   * Per process, from its /metrics: the JavaScript heap in use and reserved, and memory outside it,
   * in MB; what its RSS is made of. Undefined where the scrape failed.
   */
  const heap = async () => {
    const agent = new Agent({ keepAlive: false });
    const processes = [...acceptors, ...nodes];
    const pages = await Promise.all([...acceptorUrls, ...nodeUrls].map((url) => httpJson(agent, url, 'GET', '/metrics', auth, undefined).catch(() => undefined)));
    agent.destroy();
    const mb = (page, name) => {
      const match = new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(String(page));
      return match === null ? undefined : round(Number(match[1]) / 1048576, 1);
    };
    return Object.fromEntries(
      pages.map((r, i) => [
        processes[i].name,
        r?.status === 200
          ? {
              used: mb(r.body, 'nodejs_heap_size_used_bytes'),
              total: mb(r.body, 'nodejs_heap_size_total_bytes'),
              external: mb(r.body, 'nodejs_external_memory_bytes'),
              // The young generation, reserved (it grows with the allocation rate up to its cap),
              // and the old one (it swings with the full collections' cycle).
              new_total: mb(r.body, 'nodejs_heap_space_size_total_bytes{space="new"}'),
              old_total: mb(r.body, 'nodejs_heap_space_size_total_bytes{space="old"}'),
            }
          : undefined,
      ]),
    );
  };

  return {
    name: 'caspaxos',
    processes: [...acceptors, ...nodes],
    client,
    health,
    storeWrites,
    heap,
    /** SIGUSR2 to both nodes: each writes a heap snapshot into its directory. */
    snapshot: () => {
      if (snapshots === undefined) return false;
      for (const node of nodes) node.child.kill('SIGUSR2');
      return true;
    },
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      await Promise.all(acceptors.map((a) => a.stop()));
    },
  };
}

// --- The etcd deployment -------------------------------------------------------------------------

function etcdAvailable() {
  if (spawnSync('etcd', ['--version']).status !== 0) return 'etcd is not on the PATH';
  try {
    createRequire(join(BENCH, 'soak.mjs')).resolve('etcd3');
  } catch {
    return 'the etcd3 npm package is not installed (npm install -D etcd3)';
  }
  return undefined;
}

async function startEtcd(options, dir) {
  const { Etcd3 } = createRequire(join(BENCH, 'soak.mjs'))('etcd3');
  const ports = [];
  for (let i = 0; i < 6; i++) ports.push(await freePort());
  const members = [0, 1, 2].map((i) => ({ name: `m${i + 1}`, client: `http://127.0.0.1:${ports[i]}`, peer: `http://127.0.0.1:${ports[3 + i]}` }));
  const cluster = members.map((m) => `${m.name}=${m.peer}`).join(',');
  const processes = members.map(
    (m) =>
      new Child(`etcd ${m.name}`, 'etcd', [
        '--name',
        m.name,
        '--data-dir',
        join(dir, m.name),
        '--listen-client-urls',
        m.client,
        '--advertise-client-urls',
        m.client,
        '--listen-peer-urls',
        m.peer,
        '--initial-advertise-peer-urls',
        m.peer,
        '--initial-cluster',
        cluster,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        `soak-${process.pid}`,
        '--log-level',
        'warn',
      ]),
  );
  // Ready once every member answers /health with a leader elected.
  const agent = new Agent({ keepAlive: false });
  for (let attempt = 0; ; attempt++) {
    const replies = await Promise.all(members.map((m) => httpJson(agent, m.client, 'GET', '/health', {}, undefined).catch(() => undefined)));
    if (replies.every((r) => r?.status === 200 && String(r.body?.health) === 'true')) break;
    if (attempt > 100) throw new Error(`etcd did not become healthy:\n${processes.map((p) => p.output).join('\n')}`);
    await sleep(200);
  }
  agent.destroy();
  const etcd = new Etcd3({ hosts: members.map((m) => m.client) });
  const client = () => ({
    async put(key, value) {
      const res = await etcd.put(key).value(JSON.stringify(value)).exec();
      return { version: String(res.header.revision) };
    },
    async get(key) {
      const res = await etcd.get(key).exec();
      const kv = res.kvs[0];
      return kv === undefined ? undefined : { value: JSON.parse(kv.value.toString()), version: String(kv.mod_revision) };
    },
    async cas(key, version, value) {
      // A transaction on mod_revision (0: absent), as etcd's own compare-and-swap recipes do.
      const res = await etcd
        .if(key, 'Mod', '==', version === null ? 0 : version)
        .then(etcd.put(key).value(JSON.stringify(value)))
        .else(etcd.get(key))
        .commit();
      if (res.succeeded) return { ok: true, version: String(res.header.revision) };
      const kv = res.responses[0]?.response_range?.kvs?.[0];
      return { ok: false, current: kv === undefined ? undefined : { value: JSON.parse(kv.value.toString()), version: String(kv.mod_revision) } };
    },
    async delete(key) {
      await etcd.delete().key(key).exec();
    },
    close: () => {},
  });
  return {
    name: 'etcd',
    processes,
    client,
    health: async () => [],
    snapshot: () => false,
    stop: async () => {
      etcd.close();
      await Promise.all(processes.map((p) => p.stop()));
    },
  };
}

// --- The workload --------------------------------------------------------------------------------

/**
 * What a client knows of one of its keys: the last acknowledged state (`value`, `undefined` when
 * absent) and its version, or, after a write whose outcome is unknown, every state the key may be
 * in (`possible`) until a read or an acknowledged write settles it.
 */
function keyState() {
  return { value: undefined, version: null, possible: undefined };
}

const sameValue = (a, b) => (a === undefined || b === undefined ? a === b : a === b);

/** Runs the workload on `backend` for `options.duration` seconds; returns the per-window and overall figures. */
async function soak(backend, options) {
  const ops = Object.entries(options.mix).filter(([, w]) => w > 0);
  const total = ops.reduce((sum, [, w]) => sum + w, 0);
  const pick = (r) => {
    let x = r * total;
    for (const [op, w] of ops) if ((x -= w) < 0) return op;
    return ops[ops.length - 1][0];
  };
  const clients = Array.from({ length: options.clients }, (_, i) => ({ i, api: backend.client(i), keys: Array.from({ length: options.keys }, keyState), n: 0 }));
  const windows = [];
  let current = { latencies: [], errors: {}, anomalies: 0 };
  const all = { latencies: [], errors: {}, anomalies: 0, ops: 0 };
  // RSS once a second, [seconds since the start, MB] per process: each window is summed up by the
  // median of its readings, as a single reading lands anywhere in the cycle of the garbage
  // collector (which grows and shrinks the heap it reserves by 10-40 MB) and one spike would move
  // a mean; all of them make the trend (see memoryGrowth).
  const rssPids = Object.fromEntries([...backend.processes.map((p) => [p.name, p.pid]), ['client', process.pid]]);
  const rssReadings = Object.fromEntries(Object.keys(rssPids).map((name) => [name, []]));
  const rssTimer = setInterval(() => {
    const at = (performance.now() - started) / 1000;
    for (const [name, pid] of Object.entries(rssPids)) {
      const mb = rssOf(pid);
      if (mb !== undefined) rssReadings[name].push([at, mb]);
    }
  }, 1000);
  // CPU of every process of the deployment and of this one (its clients), before and after.
  const cpuPids = [...backend.processes.map((p) => p.pid), process.pid];
  const cpuBefore = cpuOf(cpuPids);
  const cpuNames = [...backend.processes.map((p) => p.name), 'client'];
  const cpuEach = cpuPids.map(cpuMicros);
  const cpuSplitBefore = cpuPids.map(cpuTimes);
  const writesBefore = await backend.storeWrites?.();
  const started = performance.now();
  const end = started + options.duration * 1000;
  let stopping = false;
  const keyName = (c, k) => `c${c}-k${k}`;

  const record = (ms) => {
    current.latencies.push(ms);
    all.latencies.push(ms);
    all.ops++;
  };
  const fail = (error) => {
    const code = error instanceof OpError ? error.code : (error?.code ?? error?.name ?? 'error');
    current.errors[code] = (current.errors[code] ?? 0) + 1;
    all.errors[code] = (all.errors[code] ?? 0) + 1;
  };
  /** A read disagrees with what the client knows: an acknowledged write lost, or a stale read. */
  const anomaly = (what) => {
    current.anomalies++;
    all.anomalies++;
    if (all.anomalies <= 5) log(`${backend.name}: anomaly: ${what}`);
  };
  const settle = (state, value, version) => {
    state.value = value;
    state.version = version;
    state.possible = undefined;
  };
  const consistent = (state, value) => (state.possible === undefined ? sameValue(state.value, value) : state.possible.some((v) => sameValue(v, value)));

  const loop = async (client) => {
    // Each client its own seeded PRNG (xorshift32), so runs of the two backends draw the same ops.
    let seed = 0x9e3779b9 ^ (client.i * 0x85ebca6b);
    const random = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    // With --rate, this client's ops start at most every `interval` ms (a late one does not catch up).
    const interval = options.rate === undefined ? 0 : (1000 * options.clients) / options.rate;
    let next = performance.now() + random() * interval;
    while (!stopping && performance.now() < end) {
      if (interval > 0) {
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        next = Math.max(next + interval, performance.now());
        if (performance.now() >= end) break;
      }
      const k = Math.floor(random() * options.keys);
      const key = keyName(client.i, k);
      const state = client.keys[k];
      const op = pick(random());
      const value = op === 'put' || op === 'cas' ? `c${client.i}-${++client.n}` : undefined;
      const t0 = performance.now();
      try {
        if (op === 'put') {
          const { version } = await client.api.put(key, value);
          settle(state, value, version);
        } else if (op === 'get') {
          const entry = await client.api.get(key);
          if (!consistent(state, entry?.value)) anomaly(`${key}: read ${JSON.stringify(entry?.value)}, expected ${JSON.stringify(state.possible ?? state.value)}`);
          settle(state, entry?.value, entry?.version ?? null);
        } else if (op === 'cas') {
          const expected = state.possible === undefined ? (state.value === undefined ? null : state.version) : null;
          if (state.possible !== undefined) {
            // Not knowing the version, read it first (not timed as part of the cas).
            const entry = await client.api.get(key);
            settle(state, entry?.value, entry?.version ?? null);
            continue;
          }
          const result = await client.api.cas(key, expected, value);
          if (result.ok) settle(state, value, result.version);
          else {
            // The client owns the key: a mismatch means its knowledge was wrong.
            anomaly(`${key}: cas on ${expected} refused, current ${JSON.stringify(result.current)}`);
            settle(state, result.current?.value, result.current?.version ?? null);
          }
        } else {
          await client.api.delete(key);
          settle(state, undefined, null);
        }
        record(performance.now() - t0);
      } catch (error) {
        fail(error);
        // A write whose outcome is unknown may or may not have taken effect.
        if (op !== 'get') state.possible = [...(state.possible ?? [state.value]), op === 'delete' ? undefined : value];
      }
    }
  };

  const sample = async (at) => {
    // Close the window first (synchronously): ops completing while the health calls run count in the next one.
    const closed = current;
    current = { latencies: [], errors: {}, anomalies: 0 };
    const latencies = closed.latencies.sort((a, b) => a - b);
    const processes = Object.fromEntries(backend.processes.map((p) => [p.name, p.stats()]));
    processes.client = processStats(process.pid);
    for (const [name, readings] of Object.entries(rssReadings)) {
      const inWindow = readings.filter(([t]) => t > at - options.window && t <= at).map(([, mb]) => mb);
      if (processes[name] !== undefined && inWindow.length > 0) processes[name].rssMedianMb = round(median(inWindow), 1);
    }
    const window = {
      at_s: Math.round(at),
      ops_per_s: Math.round(latencies.length / options.window),
      p50_ms: round(percentile(latencies, 0.5), 2),
      p99_ms: round(percentile(latencies, 0.99), 2),
      errors: closed.errors,
      anomalies: closed.anomalies,
      processes,
    };
    const health = await backend.health();
    if (health.length > 0) window.collections = health.map((h) => h?.collections);
    const heap = await backend.heap?.();
    if (heap !== undefined) window.heap_mb = heap;
    windows.push(window);
    const errorCount = Object.values(window.errors).reduce((s, x) => s + x, 0);
    const procs = Object.entries(processes)
      .map(([name, s]) => `${name} ${s.rssMb ?? '?'}MB${s.rssMedianMb === undefined ? '' : ` (median ${s.rssMedianMb}${window.heap_mb?.[name] === undefined ? '' : `, heap ${window.heap_mb[name].used}/${window.heap_mb[name].total}`})`}/${s.fds ?? '?'}fd`)
      .join(', ');
    log(`${backend.name} t=${window.at_s}s ${window.ops_per_s} ops/s p50 ${window.p50_ms} ms p99 ${window.p99_ms} ms errors ${errorCount}${errorCount > 0 ? ` ${JSON.stringify(window.errors)}` : ''} | ${procs}`);
  };

  const sampler = (async () => {
    const snapshotsAt = new Set(options.snapshotAt);
    for (let w = 1; w * options.window <= options.duration; w++) {
      await sleep(Math.max(0, started + w * options.window * 1000 - performance.now()));
      await sample(w * options.window);
      if (options.heapSnapshots !== undefined && snapshotsAt.has(w * options.window) && backend.snapshot()) {
        log(`${backend.name}: heap snapshots of the nodes at ${w * options.window} s`);
      }
    }
  })();
  await Promise.all(clients.map(loop));
  stopping = true;
  await sampler;
  clearInterval(rssTimer);

  // Read every key back: the last acknowledged value, or one an unacknowledged write may have left.
  let lost = 0;
  let ambiguous = 0;
  let unreadable = 0;
  await Promise.all(
    clients.map(async (client) => {
      for (let k = 0; k < options.keys; k++) {
        const state = client.keys[k];
        if (state.possible !== undefined) ambiguous++;
        let entry;
        for (let attempt = 1; ; attempt++) {
          try {
            entry = await client.api.get(keyName(client.i, k));
            break;
          } catch (error) {
            if (attempt === 5) {
              unreadable++;
              log(`${backend.name}: cannot read ${keyName(client.i, k)} back: ${error}`);
              entry = null;
              break;
            }
            await sleep(100 * attempt);
          }
        }
        if (entry !== null && !consistent(state, entry?.value)) {
          lost++;
          if (lost <= 5) log(`${backend.name}: LOST ${keyName(client.i, k)}: read ${JSON.stringify(entry?.value)}, acknowledged ${JSON.stringify(state.possible ?? state.value)}`);
        }
      }
      client.api.close();
    }),
  );
  const cpuMicrosUsed = cpuOf(cpuPids) - cpuBefore;
  const writesAfter = await backend.storeWrites?.();
  const latencies = all.latencies.sort((a, b) => a - b);
  const failed = Object.values(all.errors).reduce((s, x) => s + x, 0);
  const elapsed = (performance.now() - started) / 1000;
  return {
    ops_per_s: Math.round(all.ops / Math.min(elapsed, options.duration)),
    p50_ms: round(percentile(latencies, 0.5), 2),
    p99_ms: round(percentile(latencies, 0.99), 2),
    ops: all.ops,
    // Less sensitive than ops/s to other work on the machine (which slows both backends unevenly).
    cpu_us_per_op: Math.round(cpuMicrosUsed / Math.max(1, all.ops)),
    cpu_us_per_op_by_process: Object.fromEntries(cpuPids.map((pid, i) => [cpuNames[i], Math.round((cpuMicros(pid) - cpuEach[i]) / Math.max(1, all.ops))])),
    // Where it goes: user space (JavaScript, parsing, LMDB's copying) or the kernel (syscalls, fsync).
    cpu_us_per_op_user_system_by_process: Object.fromEntries(
      cpuPids.map((pid, i) => {
        const now = cpuTimes(pid);
        const per = (us) => Math.round(us / Math.max(1, all.ops));
        return [cpuNames[i], { user: per(now.user - cpuSplitBefore[i].user), system: per(now.system - cpuSplitBefore[i].system) }];
      }),
    ),
    // Per acceptor: durable writes (commits, each a sync) per op, and records per commit.
    ...(writesAfter === undefined
      ? {}
      : {
          store_commits_per_op: writesAfter.map((w, i) => (w === undefined || writesBefore?.[i] === undefined ? undefined : round((w.commits - writesBefore[i].commits) / Math.max(1, all.ops), 3))),
          store_records_per_commit: writesAfter.map((w, i) =>
            w === undefined || writesBefore?.[i] === undefined ? undefined : round((w.records - writesBefore[i].records) / Math.max(1, w.commits - writesBefore[i].commits), 1),
          ),
        }),
    failed_requests: failed,
    failed_share_pct: round((100 * failed) / Math.max(1, failed + all.ops), 3),
    errors_by_code: all.errors,
    anomalies: all.anomalies,
    keys_checked: options.clients * options.keys,
    lost_writes: lost,
    ambiguous_keys: ambiguous,
    unreadable_keys: unreadable,
    memory: memoryGrowth(windows, backend.processes.map((p) => p.name), rssReadings),
    windows,
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The rise of the Theil-Sen line through `readings` ([s, MB]) from `from` s to `to` s, in % of its
 * value at `from`. Theil-Sen (the median of the slopes between pairs of readings, and the median
 * intercept) rather than least squares: the garbage collector's spikes, up to a quarter of the
 * readings, barely move it, while they tilt a least-squares line at either end of the span.
 */
function trendGrowth(readings, from, to) {
  const points = readings.filter(([at]) => at >= from - 1);
  if (points.length < 10 || to <= from) return undefined;
  // At most ~200,000 pairs: every pair up to 640 readings, a fixed stride of them beyond.
  const step = Math.max(1, Math.ceil((points.length * points.length) / 2 / 200_000));
  const slopes = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j += step) {
      if (points[j][0] > points[i][0]) slopes.push((points[j][1] - points[i][1]) / (points[j][0] - points[i][0]));
    }
  }
  const slope = median(slopes);
  const atFrom = median(points.map(([t, y]) => y - slope * (t - from)));
  return round((100 * slope * (to - from)) / atFrom, 1);
}

function percentile(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/**
 * Per process: RSS at the window closest to minute 2 and at the last window, and the growth
 * between, three ways: the readings at the windows' ends (`*_mb`, `growth_pct`); the windows'
 * medians of one reading a second (`*_median_mb`, `median_growth_pct`); and the Theil-Sen line
 * through every reading from minute 2 on (`trend_growth_pct`: its rise over that span, as a share
 * of its value at minute 2). A node's RSS swings by 10-20 % with the garbage collector's cycle
 * (more when the load varies), so two readings compare two points of that cycle; the line through
 * a few hundred readings tells a level from a rise.
 */
function memoryGrowth(windows, names, readings) {
  if (windows.length === 0) return {};
  const at2 = windows.reduce((best, w) => (Math.abs(w.at_s - 120) < Math.abs(best.at_s - 120) ? w : best));
  const last = windows[windows.length - 1];
  const growth = (from, to) => (from === undefined || to === undefined ? undefined : round((100 * (to - from)) / from, 1));
  return Object.fromEntries(
    names.map((name) => {
      const from = at2.processes[name]?.rssMb;
      const to = last.processes[name]?.rssMb;
      const fromMedian = at2.processes[name]?.rssMedianMb;
      const toMedian = last.processes[name]?.rssMedianMb;
      const max = Math.max(...windows.map((w) => w.processes[name]?.rssMb ?? 0));
      return [
        name,
        {
          from_s: at2.at_s,
          from_mb: from,
          to_s: last.at_s,
          to_mb: to,
          max_mb: max,
          growth_pct: growth(from, to),
          from_median_mb: fromMedian,
          to_median_mb: toMedian,
          median_growth_pct: growth(fromMedian, toMedian),
          trend_growth_pct: trendGrowth(readings[name] ?? [], at2.at_s, last.at_s),
        },
      ];
    }),
  );
}

/**
 * Per node: what grew in its heap between its first and last snapshot of this run (files in
 * DIR/<node> written since `since`, older ones being another run's), the largest changes first.
 */
function heapGrowth(dir, since) {
  return Object.fromEntries(
    ['n1', 'n2'].map((node) => {
      const files = readdirSync(join(dir, node))
        .filter((f) => f.endsWith('.heapsnapshot'))
        .map((f) => ({ path: join(dir, node, f), at: statSync(join(dir, node, f)).mtimeMs }))
        .filter((f) => f.at >= since)
        .sort((a, b) => a.at - b.at);
      if (files.length < 2) return [node, { snapshots: files.length }];
      const diff = heapDiff(heapSummary(files[0].path), heapSummary(files[files.length - 1].path), 8);
      log(`caspaxos: ${node} heap ${diff.heap_mb[0]} -> ${diff.heap_mb[1]} MB; most changed: ${diff.top.slice(0, 4).map((r) => `${r.kind} ${r.count[0]} -> ${r.count[1]} (${r.delta_bytes >= 0 ? '+' : ''}${r.delta_bytes} B)`).join(', ')}`);
      return [node, { snapshots: files.length, ...diff }];
    }),
  );
}

// --- Main ----------------------------------------------------------------------------------------

const options = parseOptions(process.argv.slice(2));
const results = {};
const skipped = {};
for (const name of options.only) {
  if (name === 'etcd') {
    const missing = etcdAvailable();
    if (missing !== undefined) {
      skipped.etcd = missing;
      log(`etcd skipped: ${missing}`);
      continue;
    }
  }
  const dir = mkdtempSync(join(tmpdir(), `soak-${name}-`));
  const startedAt = Date.now();
  log(`${name}: starting (data in ${dir})`);
  const backend = name === 'caspaxos' ? await startCaspaxos(options, dir) : await startEtcd(options, dir);
  try {
    log(`${name}: ${options.clients} clients x ${options.keys} keys, mix ${JSON.stringify(options.mix)}, ${options.duration} s`);
    results[name] = await soak(backend, options);
    if (name === 'caspaxos') results[name].collections = (await backend.health()).map((h) => h?.collections);
    results[name].warnings = Object.fromEntries(backend.processes.filter((p) => Object.keys(p.warnings).length > 0).map((p) => [p.name, p.warnings]));
    for (const [process, warnings] of Object.entries(results[name].warnings)) {
      for (const [msg, { count, first }] of Object.entries(warnings)) log(`${name}: ${process} logged ${count} x "${msg}", first: ${first}`);
    }
  } finally {
    await backend.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  if (name === 'caspaxos' && options.heapSnapshots !== undefined) results[name].heap_growth = heapGrowth(options.heapSnapshots, startedAt);
}

const table = Object.entries(results).map(([name, r]) => ({
  backend: name,
  'ops/s': r.ops_per_s,
  'p50 ms': r.p50_ms,
  'p99 ms': r.p99_ms,
  'CPU µs/op': r.cpu_us_per_op,
  failed: r.failed_requests,
  lost: r.lost_writes,
  ambiguous: r.ambiguous_keys,
  anomalies: r.anomalies,
  rss: Object.entries(r.memory)
    .map(([p, m]) => `${p} ${m.from_mb}->${m.to_mb}MB (${m.growth_pct}%; medians ${m.from_median_mb}->${m.to_median_mb}MB, ${m.median_growth_pct}%; trend ${m.trend_growth_pct}%)`)
    .join('; '),
}));
console.table(table);
for (const [name, r] of Object.entries(results)) {
  log(`${name}: CPU µs/op by process (user+system): ${Object.entries(r.cpu_us_per_op_user_system_by_process).map(([p, t]) => `${p} ${t.user}+${t.system}`).join(', ')}`);
  if (r.store_commits_per_op !== undefined) log(`${name}: acceptor store commits (syncs) per op ${r.store_commits_per_op.join(', ')}; records per commit ${r.store_records_per_commit.join(', ')}`);
}
const c = results.caspaxos;
const e = results.etcd;
const ratios =
  c !== undefined && e !== undefined
    ? { ops_per_s: round(c.ops_per_s / e.ops_per_s, 3), p50: round(c.p50_ms / e.p50_ms, 3), p99: round(c.p99_ms / e.p99_ms, 3), cpu_per_op: round(c.cpu_us_per_op / e.cpu_us_per_op, 3) }
    : undefined;
const summary = Object.fromEntries(Object.entries(results).map(([name, { windows, ...rest }]) => [name, { ...rest, windows: windows.map(({ processes, ...w }) => ({ ...w, rss_mb: Object.fromEntries(Object.entries(processes).map(([p, s]) => [p, s.rssMb])), rss_median_mb: Object.fromEntries(Object.entries(processes).map(([p, s]) => [p, s.rssMedianMb])), fds: Object.fromEntries(Object.entries(processes).map(([p, s]) => [p, s.fds])) })) }]));
console.log(
  JSON.stringify({
    clients: options.clients,
    keys_per_client: options.keys,
    mix: options.mix,
    duration_s: options.duration,
    window_s: options.window,
    root: options.root,
    node: process.version,
    ...summary,
    ...(ratios === undefined ? {} : { ratios_to_etcd: ratios }),
    ...(Object.keys(skipped).length > 0 ? { skipped } : {}),
  }),
);
if (options.smoke) {
  const bad = Object.entries(results).filter(([, r]) => r.failed_requests > 0 || r.lost_writes > 0 || r.anomalies > 0 || r.unreadable_keys > 0);
  if (bad.length > 0) {
    log(`smoke: FAILED: ${bad.map(([name, r]) => `${name}: ${r.failed_requests} failed, ${r.lost_writes} lost, ${r.anomalies} anomalies`).join('; ')}`);
    process.exit(1);
  }
  log('smoke: 0 failed requests, 0 lost writes');
}
process.exit(0);
