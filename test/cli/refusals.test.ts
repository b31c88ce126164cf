/**
 * What `caspaxos acceptor` and `caspaxos node` refuse to run on, with real processes and their exit
 * codes (src/cli/refusal.ts): a data.mdb truncated to half or a record flipped on disk (6, never a
 * SIGBUS), another cluster (5), a second process on the directory (7, naming the holder's pid),
 * a directory of an earlier release (4, until --adopt), the directory's lock lost while running
 * (7); a node whose bootstrap acceptor belongs to another cluster (8), whose state names another
 * cluster (5) or fails its checksum (6), or whose directory another node holds (7). And a clean
 * SIGTERM: exit 0, the lock and the pid file gone; after kill -9 the lock left behind is stale and
 * the next start takes it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LmdbStore } from '../../src/lmdb/lmdb-store.js';
import { type AcceptorProcess, type NodeProcess, TEST_CLUSTER, launchCli, runCli, startAcceptorProcess, startNodeProcess } from '../support/cli-process.js';

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});
function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'caspaxos-refusals-'));
  scratch.push(dir);
  return dir;
}

describe('caspaxos acceptor refuses', () => {
  let a: AcceptorProcess;
  beforeAll(async () => {
    a = await startAcceptorProcess();
  }, 60_000);
  afterAll(async () => {
    await a.stop();
  });

  it('a second process on its directory (7), naming the holder; then kill -9 leaves a stale lock the restart takes', async () => {
    const second = await runCli(['acceptor', '--data', a.dir, '--port', '0']);
    expect(second.code).toBe(7);
    expect(second.stderr).toMatch(/in use by another process, pid \d+/);
    await a.kill();
    expect(existsSync(join(a.dir, 'caspaxos.lock'))).toBe(true);
    await a.restart();
  }, 60_000);

  it('another cluster (5)', async () => {
    await a.kill();
    const foreign = await runCli(['acceptor', '--data', a.dir, '--port', '0', '--cluster-id', 'other-cluster']);
    expect(foreign.code).toBe(5);
    expect(foreign.stderr).toMatch(/belongs to cluster "test-cluster", not "other-cluster"/);
    await a.restart();
  }, 30_000);

  it('data.mdb truncated to half (6, an exit code, not a SIGBUS), a record flipped on disk (6)', async () => {
    const dir = scratchDir();
    expect((await runCli(['acceptor', '--init', '--cluster-id', TEST_CLUSTER, '--data', dir])).code).toBe(0);
    // Records through the store directly (the CLI serves them the same way).
    const { openDataDirectory } = await import('../../src/lmdb/data-directory.js');
    const opened = await openDataDirectory(dir);
    for (let i = 0; i < 40; i++) await opened.store.put(`k${i}`, { promise: { counter: 1, id: 'p' }, accepted: { counter: 1, id: 'p' }, state: new TextEncoder().encode(`record-${i}-${'z'.repeat(300)}`), ancestry: undefined });
    await opened.store.close();
    await opened.release();
    const bytes = readFileSync(join(dir, 'data.mdb'));
    // Control: it starts as it is.
    expect((await runCli(['acceptor', '--data', dir, '--port', '0'])).listening).toBe(true);

    const at = bytes.indexOf(Buffer.from('record-17-'));
    expect(at).toBeGreaterThan(0);
    const flipped = Buffer.from(bytes);
    flipped[at + 3] = (flipped[at + 3] as number) ^ 0x20;
    writeFileSync(join(dir, 'data.mdb'), flipped);
    const corrupt = await runCli(['acceptor', '--data', dir, '--port', '0']);
    expect(corrupt.code).toBe(6);
    expect(corrupt.stderr).toMatch(/is damaged: a record failed its check/);

    writeFileSync(join(dir, 'data.mdb'), bytes);
    truncateSync(join(dir, 'data.mdb'), Math.floor(statSync(join(dir, 'data.mdb')).size / 2));
    const half = await runCli(['acceptor', '--data', dir, '--port', '0']);
    expect(half.code).toBe(6);
    expect(half.stderr).toMatch(/data\.mdb is truncated/);
  }, 60_000);

  it('a directory of an earlier release (4) until --adopt, which then serves its records', async () => {
    const dir = join(scratchDir(), 'old');
    const store = await LmdbStore.open({ path: dir });
    await store.put('k', { promise: { counter: 3, id: 'p' }, accepted: { counter: 3, id: 'p' }, state: new TextEncoder().encode('old'), ancestry: undefined });
    await store.close();
    const unadopted = await runCli(['acceptor', '--data', dir, '--port', '0']);
    expect(unadopted.code).toBe(4);
    expect(unadopted.stderr).toMatch(/--adopt --cluster-id/);
    const adopted = await runCli(['acceptor', '--adopt', '--cluster-id', TEST_CLUSTER, '--data', dir]);
    expect(adopted.code, adopted.stderr).toBe(0);
    expect(adopted.stdout).toMatch(/"msg":"adopted"/);
    const served = await runCli(['acceptor', '--data', dir, '--port', '0']);
    expect(served.listening).toBe(true);
    expect(served.stdout).toMatch(/"records":1/);
  }, 60_000);

  it('stops (7) when its lock is lost while it runs (the directory wiped under it)', async () => {
    const dir = scratchDir();
    expect((await runCli(['acceptor', '--init', '--cluster-id', TEST_CLUSTER, '--data', dir])).code).toBe(0);
    const { child } = await launchCli(['acceptor', '--data', dir, '--port', '0']);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    unlinkSync(join(dir, 'caspaxos.lock'));
    expect(await exited).toBe(7);
  }, 30_000);

  it('SIGTERM: a clean stop, exit 0, the lock and the pid file gone', async () => {
    const dir = scratchDir();
    expect((await runCli(['acceptor', '--init', '--cluster-id', TEST_CLUSTER, '--data', dir])).code).toBe(0);
    const { child } = await launchCli(['acceptor', '--data', dir, '--port', '0']);
    expect(readFileSync(join(dir, 'caspaxos.pid'), 'utf8').trim()).toBe(String(child.pid));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(join(dir, 'caspaxos.lock'))).toBe(false);
    expect(existsSync(join(dir, 'caspaxos.pid'))).toBe(false);
  }, 30_000);
});

describe('caspaxos node refuses', () => {
  let a: AcceptorProcess;
  let node: NodeProcess;
  beforeAll(async () => {
    a = await startAcceptorProcess();
    node = await startNodeProcess(['--acceptors', a.url]);
  }, 60_000);
  afterAll(async () => {
    await node.stop();
    await a.stop();
  });

  it('to bootstrap over an acceptor of another cluster (8), at once', async () => {
    const started = Date.now();
    const refused = await runCli(['node', '--data', scratchDir(), '--port', '0', '--cluster-id', 'other-cluster', '--acceptors', a.url]);
    expect(refused.code).toBe(8);
    expect(refused.stderr).toMatch(/belongs to cluster "test-cluster", not "other-cluster"/);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);

  it('a second process on its directory (7); a state of another cluster (5); a state failing its checksum (6)', async () => {
    const second = await runCli(['node', '--data', node.dir, '--port', '0']);
    expect(second.code).toBe(7);
    await node.kill();
    const foreign = await runCli(['node', '--data', node.dir, '--port', '0', '--cluster-id', 'other-cluster']);
    expect(foreign.code).toBe(5);
    const file = join(node.dir, 'membership.json');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.replace('"preparers": [', '"preparers": [\n    "http://127.0.0.1:1#forged-incarnation",'));
    const tampered = await runCli(['node', '--data', node.dir, '--port', '0']);
    expect(tampered.code).toBe(6);
    expect(tampered.stderr).toMatch(/fails its checksum/);
    writeFileSync(file, good);
    await node.restart([]);
  }, 60_000);
});
