/**
 * Issue 17 as an operator meets it, with the built CLI: three `caspaxos acceptor` processes, each
 * data directory on its own small filesystem, one `caspaxos node`, one client writing 1 KB values
 * to new keys.
 *
 * - Disks that fill (tmpfs mounts; no quota below the disk, so the disk itself says ENOSPC or,
 *   for a short write, EIO): one full acceptor does not stop the cluster; a majority full gets the
 *   client one 507 `ERR_STORAGE_FULL` at once; no process exits; `/v1/ready` says why while
 *   `/v1/health` stays 200; once the filesystems grow, writes resume with no restart, each
 *   acceptor logging the change once; every acknowledged write reads back.
 * - Disks the kernel turns read-only (ext4 on loop devices, `errors=remount-ro`): 503
 *   `ERR_STORAGE_FAILED`, no process exits; after the operator's fsck and a restart, every
 *   acknowledged write reads back.
 *
 * Needs root (mounts). Where mounting is refused the tests say so loudly and skip.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IDENTITY_FILE } from '../../src/lmdb/data-directory.js';
import { TEST_CLUSTER, launchCli, runCli } from '../support/cli-process.js';
import { killHard, relaunchOnSamePort } from '../support/processes.js';
import { type Ext4, type Tmpfs, mountExt4, mountTmpfs, skipWithoutExt4, skipWithoutTmpfs } from '../support/tmpfs.js';

const skipTmpfs = skipWithoutTmpfs('the CLI full-disk tests (test/cli/full-disk.test.ts)');
const skipExt4 = skipTmpfs || skipWithoutExt4('the CLI read-only disk test (test/cli/full-disk.test.ts)');

const MiB = 1024 * 1024;

/** A process of the test, with everything it logged (pino JSON lines) and how it ended, if it did. */
interface Proc {
  child: ChildProcess;
  url: string;
  readonly lines: string[];
  exited: string | undefined;
}

/**
 * Starts `caspaxos acceptor` (its data directory initialised first when it holds nothing yet) or
 * `caspaxos node` (with a fresh directory for its membership), in the test cluster.
 */
async function start(args: readonly string[]): Promise<Proc> {
  const full = [...args];
  if (args[0] === 'acceptor') {
    const dir = args[args.indexOf('--data') + 1] as string;
    if (!existsSync(join(dir, IDENTITY_FILE))) {
      const init = await runCli(['acceptor', '--init', '--cluster-id', TEST_CLUSTER, '--data', dir]);
      if (init.code !== 0) throw new Error(`--init failed (${init.code}): ${init.stderr}`);
    }
  } else {
    full.push('--data', mkdtempSync(join(tmpdir(), 'caspaxos-full-disk-node-')), '--cluster-id', TEST_CLUSTER);
  }
  const { child, url } = await launchCli(full);
  const proc: Proc = { child, url, lines: [], exited: undefined };
  watch(proc);
  return proc;
}

function watch(proc: Proc): void {
  let partial = '';
  proc.child.stdout?.on('data', (chunk: string) => {
    const text = partial + chunk;
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    proc.lines.push(...lines);
  });
  proc.child.stderr?.on('data', (chunk: string) => proc.lines.push(`stderr: ${chunk}`));
  proc.child.once('exit', (code, signal) => {
    proc.exited = `exit ${code ?? signal}`;
    if (signal !== 'SIGKILL') console.error(`*** ${proc.url} exited (${proc.exited}); its last output:\n${proc.lines.slice(-10).join('\n')}`);
  });
}

/** The log lines (`msg`) starting with `prefix`. */
function logged(proc: Proc, prefix: string): number {
  return proc.lines.filter((line) => line.startsWith('{') && (JSON.parse(line) as { msg?: string }).msg?.startsWith(prefix) === true).length;
}

async function request(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A 1000-character value, different per key. */
function valueOf(key: string): string {
  return `${key}:`.padEnd(1000, String.fromCharCode(97 + (key.length % 26)));
}

/** Everything alive: no process exited. */
function expectAllAlive(procs: readonly Proc[]): void {
  expect(procs.map((p) => p.exited)).toEqual(procs.map(() => undefined));
}

async function eventually<T>(what: string, attempt: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const result = await attempt();
    if (result !== undefined) return result;
    if (Date.now() > until) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The processes and disks of a `describe`: killed and unmounted after its last test. */
function stoppedAfterAll<D extends { unmount(): void }>(): { disks: D[]; procs: Proc[] } {
  const disks: D[] = [];
  const procs: Proc[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => killHard(p.child)));
    for (const disk of disks) disk.unmount();
  });
  return { disks, procs };
}

describe.skipIf(skipTmpfs)('caspaxos acceptors whose disks fill up (each on its own tmpfs)', () => {
  const { disks, procs } = stoppedAfterAll<Tmpfs>();

  it('one full disk: the cluster serves; a majority full: 507 ERR_STORAGE_FULL at once; nobody exits; room again: writes resume; every acknowledged write reads back', async () => {
    disks.push(mountTmpfs(1.5 * MiB), mountTmpfs(6 * MiB), mountTmpfs(6 * MiB));
    // --max-data-bytes 100%: no quota below the disk; the disks themselves fill.
    const acceptors = await Promise.all(disks.map((disk) => start(['acceptor', '--data', join(disk.dir, 'data'), '--port', '0', '--max-data-bytes', '100%'])));
    procs.push(...acceptors);
    const node = await start(['node', '--port', '0', '--acceptors', acceptors.map((a) => a.url).join(','), '--sweep-interval-ms', '0']);
    procs.push(node);
    const [a1, a2, a3] = acceptors as [Proc, Proc, Proc];

    const acknowledged = new Set<string>();
    let next = 0;
    /** Writes `n` new keys, 4 at a time; returns the replies. */
    const writeNew = async (n: number) => {
      const replies: Array<{ key: string; status: number; body: Record<string, unknown>; ms: number }> = [];
      for (let i = 0; i < n; i += 4) {
        const keys = Array.from({ length: Math.min(4, n - i) }, () => `key-${next++}`);
        await Promise.all(
          keys.map(async (key) => {
            const started = Date.now();
            const reply = await request(node.url, 'PUT', `/v1/kv/${key}`, { value: valueOf(key) });
            if (reply.status === 200) acknowledged.add(key);
            replies.push({ key, ...reply, ms: Date.now() - started });
          }),
        );
      }
      return replies;
    };
    const ready = async (a: Proc) => request(a.url, 'GET', '/v1/ready');

    // 1. Fill the small disk. The other two are a majority: every write succeeds throughout.
    while ((await ready(a1)).status === 200) {
      const replies = await writeNew(20);
      expect(replies.filter((r) => r.status !== 200)).toEqual([]);
      if (next > 5000) throw new Error('the 1.5 MiB disk never filled');
    }
    const firstFull = acknowledged.size;
    const more = await writeNew(40);
    expect(more.filter((r) => r.status !== 200)).toEqual([]);
    const a1Ready = await ready(a1);
    expect(a1Ready).toMatchObject({ status: 503, body: { status: 'not-ready', code: 'ERR_STORAGE_FULL' } });
    expect((await request(a1.url, 'GET', '/v1/health')).status).toBe(200);
    expectAllAlive(procs);
    console.log(`[full disks] acceptor 1 full after ${firstFull} writes: ${String(a1Ready.body.reason)}`);

    // 2. The other two disks fill up too (another program's files, and then these writes).
    for (const disk of disks.slice(1)) disk.fill(256 * 1024);
    let refused: Array<{ status: number; body: Record<string, unknown>; ms: number }> = [];
    while (refused.length === 0) {
      const replies = await writeNew(8);
      refused = replies.filter((r) => r.status !== 200);
      if (next > 20_000) throw new Error('the disks never filled');
    }
    const after = await writeNew(12);
    for (const reply of [...refused, ...after]) {
      expect(reply.status).toBe(507);
      expect(reply.body).toMatchObject({ code: 'ERR_STORAGE_FULL', retryable: false });
      expect((reply.body.acceptors as string[]).length).toBeGreaterThan(0);
    }
    const latencies = after.map((r) => r.ms).sort((x, y) => x - y);
    // At once: a few quick proposer retries against acceptors that answer 507, not 30 s of timeouts.
    expect(latencies[latencies.length - 1]).toBeLessThan(5000);
    console.log(`[full disks] 507 ERR_STORAGE_FULL after ${acknowledged.size} acknowledged writes; latency median ${latencies[latencies.length >> 1]} ms, max ${latencies[latencies.length - 1]} ms; e.g. ${String(after[0]?.body.message)}`);
    for (const a of [a1, a2, a3]) expect((await request(a.url, 'GET', '/v1/health')).status).toBe(200);
    expect((await ready(a2)).status === 503 || (await ready(a3)).status === 503).toBe(true);
    expectAllAlive(procs);

    // 3. Room again: the filesystems grow. No restart: writes resume by themselves.
    for (const disk of disks) disk.resize(32 * MiB);
    await eventually('a write after the disks grew', async () => ((await writeNew(1))[0]?.status === 200 ? true : undefined));
    const resumed = await writeNew(20);
    expect(resumed.filter((r) => r.status !== 200)).toEqual([]);
    for (const a of [a1, a2, a3]) await eventually('ready again', async () => ((await ready(a)).status === 200 ? true : undefined));
    expectAllAlive(procs);

    // 4. Every acknowledged write reads back.
    let readBack = 0;
    for (const key of acknowledged) {
      const reply = await request(node.url, 'GET', `/v1/kv/${key}`);
      expect(reply.status, key).toBe(200);
      expect(reply.body.value, key).toBe(valueOf(key));
      readBack++;
    }
    expect(readBack).toBe(acknowledged.size);
    // Each acceptor logged becoming full at most once (a1 and one other did), and writable again
    // as often: state changes, not once per request.
    expect(logged(a1, 'storage full')).toBe(1);
    for (const a of [a1, a2, a3]) {
      expect(logged(a, 'storage full')).toBeLessThanOrEqual(1);
      expect(logged(a, 'storage writable again')).toBe(logged(a, 'storage full'));
    }
    expect(logged(a2, 'storage full') + logged(a3, 'storage full')).toBeGreaterThanOrEqual(1);
    expectAllAlive(procs);
    console.log(`[full disks] ${acknowledged.size} acknowledged writes, all ${readBack} read back; no process exited`);
  }, 180_000);

  it('the default quota (90% of the filesystem): new keys get 507 while deletes and garbage collection go through, and the disks keep room', async () => {
    const small = [mountTmpfs(32 * MiB), mountTmpfs(32 * MiB), mountTmpfs(32 * MiB)];
    disks.push(...small);
    const acceptors = await Promise.all(small.map((d) => start(['acceptor', '--data', join(d.dir, 'data'), '--port', '0'])));
    procs.push(...acceptors);
    const node = await start(['node', '--port', '0', '--acceptors', acceptors.map((a) => a.url).join(','), '--sweep-interval-ms', '0']);
    procs.push(node);
    expect((await request(node.url, 'PUT', '/v1/kv/doomed', { value: valueOf('doomed') })).status).toBe(200);
    // Another program fills two of the disks to 95%: past the quota, not full.
    for (const d of small.slice(0, 2)) d.fill(Math.floor(0.05 * 32 * MiB));
    // Fresh keys each time: a key written before the quota was seen is an existing key after.
    let attempt = 0;
    await eventually('507 for a new key', async () => ((await request(node.url, 'PUT', `/v1/kv/new-${attempt++}`, { value: 'x' })).status === 507 ? true : undefined));
    const notReady = await request(acceptors[0]?.url as string, 'GET', '/v1/ready');
    expect(notReady).toMatchObject({ status: 503, body: { code: 'ERR_STORAGE_FULL' } });
    expect(String(notReady.body.reason)).toMatch(/% used .*the quota \(maxDataBytes\) is 90%/);
    // Deletes (a tombstone, then garbage collection) still go through: space can be freed through the API.
    expect((await request(node.url, 'DELETE', '/v1/kv/doomed')).status).toBe(200);
    expect((await request(node.url, 'GET', '/v1/kv/doomed')).status).toBe(404);
    expect((await request(node.url, 'POST', '/v1/admin/gc', { key: 'doomed' })).status).toBe(200);
    // Reads work while full, of keys that exist and of keys that do not (a promise takes no room).
    expect((await request(node.url, 'GET', '/v1/kv/doomed')).status).toBe(404);
    expect((await request(node.url, 'GET', '/v1/kv/never-written')).status).toBe(404);
    expect(small.every((d) => d.available() > MiB)).toBe(true);
    // The disks grow: new keys again, no restart.
    for (const d of small) d.resize(64 * MiB);
    await eventually('a new key once the quota has room', async () => ((await request(node.url, 'PUT', `/v1/kv/new-${attempt++}`, { value: 'x' })).status === 200 ? true : undefined));
    expectAllAlive(procs);
  }, 120_000);
});

describe.skipIf(skipExt4)('caspaxos acceptors whose disks the kernel turns read-only (ext4, errors=remount-ro)', () => {
  const { disks, procs } = stoppedAfterAll<Ext4>();

  it('one read-only disk: the cluster serves; a majority: 503 ERR_STORAGE_FAILED; nobody exits; after fsck and a restart, every acknowledged write reads back', async () => {
    disks.push(mountExt4(16 * MiB), mountExt4(16 * MiB), mountExt4(16 * MiB));
    const dataOf = (disk: Ext4): string => join(disk.dir, 'data');
    const acceptors = await Promise.all(disks.map((disk) => start(['acceptor', '--data', dataOf(disk), '--port', '0'])));
    procs.push(...acceptors);
    const node = await start(['node', '--port', '0', '--acceptors', acceptors.map((a) => a.url).join(','), '--sweep-interval-ms', '0']);
    procs.push(node);
    const acknowledged: string[] = [];
    const put = async (key: string) => {
      const reply = await request(node.url, 'PUT', `/v1/kv/${key}`, { value: valueOf(key) });
      if (reply.status === 200) acknowledged.push(key);
      return reply;
    };
    for (let i = 0; i < 50; i++) expect((await put(`key-${i}`)).status).toBe(200);

    disks[0]?.failReadOnly();
    for (let i = 50; i < 80; i++) expect((await put(`key-${i}`)).status).toBe(200);
    const [a1, a2, a3] = acceptors as [Proc, Proc, Proc];
    const a1Ready = await request(a1.url, 'GET', '/v1/ready');
    expect(a1Ready).toMatchObject({ status: 503, body: { code: 'ERR_STORAGE_FAILED' } });
    expect(String(a1Ready.body.reason)).toMatch(/read-only|EROFS/i);

    disks[1]?.failReadOnly();
    const refused = await put('key-80');
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ code: 'ERR_STORAGE_FAILED', retryable: true });
    for (const a of [a1, a2, a3]) expect((await request(a.url, 'GET', '/v1/health')).status).toBe(200);
    expectAllAlive(procs);
    expect(logged(a1, 'storage failed')).toBe(1);

    // The operator: stop the acceptors on the failed disks, check the filesystems, restart.
    for (const [i, a] of [a1, a2].entries()) {
      await killHard(a.child);
      disks[i]?.recover();
      const port = new URL(a.url).port;
      const again = await relaunchOnSamePort(() => launchCli(['acceptor', '--data', dataOf(disks[i] as Ext4), '--port', port]));
      a.child = again.child;
      a.exited = undefined;
      a.lines.length = 0;
      watch(a);
    }
    await eventually('writes after the restart', async () => ((await put('key-81')).status === 200 ? true : undefined));
    for (const key of acknowledged) {
      const reply = await request(node.url, 'GET', `/v1/kv/${key}`);
      expect(reply.status, key).toBe(200);
      expect(reply.body.value, key).toBe(valueOf(key));
    }
    expectAllAlive(procs);
    console.log(`[read-only disks] ${acknowledged.length} acknowledged writes, all read back after fsck and restart`);
  }, 120_000);
});
