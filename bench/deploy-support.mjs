// Shared by the deployment benchmarks (deployments.mjs, etcd.mjs): child processes on loopback
// (caspaxos acceptors, redis-servers, etcd members), the closed-loop measurement, and the CPU time
// of processes read from /proc.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

export const BENCH = dirname(fileURLToPath(import.meta.url));
export const ROOT = dirname(BENCH);
export const CLI = join(ROOT, 'bin', 'caspaxos.mjs');

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const round = (x) => Math.round(x * 1000) / 1000;

export function percentile(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/**
 * Runs `op(key, worker)` from `concurrency` loops for `ms`, keys drawn round-robin (one counter
 * shared by the loops) from `keyCount` keys named `${prefix}:${i}`. Returns ops/s and latency
 * percentiles in ms; an op that throws counts as an error, not an op.
 */
export async function measure(op, { concurrency, keyCount, ms, prefix }) {
  const latencies = [];
  let errors = 0;
  let firstError;
  const end = performance.now() + ms;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < end) {
        const key = `${prefix}:${next++ % keyCount}`;
        const start = performance.now();
        try {
          await op(key, worker);
          latencies.push(performance.now() - start);
        } catch (error) {
          errors++;
          firstError ??= error;
        }
      }
    }),
  );
  const elapsed = ms + Math.max(0, performance.now() - end);
  latencies.sort((a, b) => a - b);
  return {
    ops_per_s: Math.round((latencies.length / elapsed) * 1000),
    p50_ms: round(percentile(latencies, 0.5)),
    p99_ms: round(percentile(latencies, 0.99)),
    errors,
    ...(firstError === undefined ? {} : { first_error: String(firstError?.message ?? firstError).slice(0, 200) }),
  };
}

/** Resolves with `predicate(line)` for the first line of the child's stdout (or stderr) where it is defined. */
export function waitForLine(child, predicate, what, stream = 'stdout') {
  return new Promise((resolve, reject) => {
    let output = '';
    const source = child[stream];
    const timer = setTimeout(() => reject(new Error(`${what} did not start:\n${output}`)), 20_000);
    const onData = (chunk) => {
      output += chunk;
      for (const line of output.split('\n')) {
        const found = predicate(line);
        if (found !== undefined) {
          clearTimeout(timer);
          source.off('data', onData);
          child.stdout?.resume();
          child.stderr?.resume();
          resolve(found);
          return;
        }
      }
    };
    source.setEncoding('utf8');
    source.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}:\n${output}`)));
  });
}

function killAll(children) {
  return Promise.all(children.map((c) => new Promise((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : (c.once('exit', resolve), c.kill('SIGKILL'))))));
}

/** The cluster id of the benchmarks' acceptors: every `HttpAcceptor` of a benchmark names it (`clusterId`). */
export const BENCH_CLUSTER = 'bench';

/** Three `caspaxos acceptor` processes (LMDB), each in its own temporary data directory, created with --init. */
export async function startAcceptors(durable, extraArgs = []) {
  const dirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), 'caspaxos-bench-')));
  for (const dir of dirs) {
    const init = spawnSync(process.execPath, [CLI, 'acceptor', '--init', '--cluster-id', BENCH_CLUSTER, '--data', dir], { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`caspaxos acceptor --init failed: ${init.stderr}`);
  }
  // At level info an acceptor logs only its start and stop (requests are debug records).
  const started = dirs.map((dir) =>
    spawn(process.execPath, [CLI, 'acceptor', '--port', '0', '--data', dir, '--log-level', 'info', ...(durable ? [] : ['--unsafe-no-sync']), ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  const urls = await Promise.all(started.map((c) => waitForLine(c, (line) => (line.includes('"listening"') ? JSON.parse(line).url : undefined), 'caspaxos acceptor')));
  return {
    urls,
    pids: started.map((c) => c.pid),
    stop: async () => {
      await killAll(started);
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Three durable redis-servers (AOF, fsync on every write, no RDB), each with an ioredis client. */
export async function startRedis() {
  const servers = [];
  for (let i = 0; i < 3; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'caspaxos-bench-redis-'));
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: ['ignore', 'pipe', 'pipe'] });
    await waitForLine(child, (line) => (line.includes('Ready to accept connections') ? true : undefined), 'redis-server');
    const client = new Redis(port, '127.0.0.1');
    servers.push({ child, dir, port, client });
  }
  return {
    servers,
    pids: servers.map((s) => s.child.pid),
    stop: async () => {
      for (const s of servers) s.client.disconnect();
      await killAll(servers.map((s) => s.child));
      for (const s of servers) rmSync(s.dir, { recursive: true, force: true });
    },
  };
}

/**
 * Three etcd members on loopback (their own temporary data directories, default fsync), a
 * cluster of three as a production deployment would be. Resolves once every member serves.
 */
export async function startEtcd(binary = 'etcd') {
  const members = [];
  for (let i = 0; i < 3; i++) members.push({ name: `m${i}`, client: await freePort(), peer: await freePort(), dir: mkdtempSync(join(tmpdir(), 'caspaxos-bench-etcd-')) });
  const initial = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
  const children = members.map((m) =>
    spawn(
      binary,
      [
        '--name', m.name, '--data-dir', m.dir,
        '--listen-client-urls', `http://127.0.0.1:${m.client}`, '--advertise-client-urls', `http://127.0.0.1:${m.client}`,
        '--listen-peer-urls', `http://127.0.0.1:${m.peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peer}`,
        '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', `bench-${process.pid}`,
        '--log-level', 'warn', '--logger', 'zap',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  for (const c of children) {
    c.stdout.resume();
    c.stderr.resume();
  }
  return {
    endpoints: members.map((m) => `http://127.0.0.1:${m.client}`),
    pids: children.map((c) => c.pid),
    stop: async () => {
      await killAll(children);
      for (const m of members) rmSync(m.dir, { recursive: true, force: true });
    },
  };
}

/** The CPU time (user + system, all threads) `pid` has used, in microseconds; 0 once it is gone. */
export function cpuMicros(pid) {
  const { user, system } = cpuTimes(pid);
  return user + system;
}

/** The user and system CPU time (all threads) `pid` has used, in microseconds; 0 once it is gone. */
export function cpuTimes(pid) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return { user: 0, system: 0 };
  }
  // Fields after the command name (in parentheses, which may hold spaces): utime is field 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(fields[11]) * 1e6) / CLOCK_TICKS, system: (Number(fields[12]) * 1e6) / CLOCK_TICKS };
}

/** `sysconf(_SC_CLK_TCK)`: 100 on every Linux Node runs on (USER_HZ is fixed at 100 by the kernel ABI). */
const CLOCK_TICKS = 100;

/** The total CPU time of `pids`, in microseconds. */
export const cpuOf = (pids) => pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);
