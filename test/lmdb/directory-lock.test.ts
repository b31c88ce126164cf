/**
 * The directory lock (`src/lmdb/directory-lock.ts`) between real processes: a second process is
 * refused while the first lives, whether it runs or is stopped (SIGSTOP); the lock is free again
 * once the holder dies by SIGKILL (its socket file left behind is recognised as stale) or releases
 * it; a holder whose socket is removed learns that it lost the lock.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectoryLockedError, LOCK_FILE, lockDirectory } from '../../src/lmdb/directory-lock.js';
import { killHard } from '../support/processes.js';

const CHILD = fileURLToPath(new URL('./lock-holder-child.ts', import.meta.url));
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill('SIGCONT');
    await killHard(child);
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'caspaxos-lock-'));
  dirs.push(dir);
  return dir;
}

/** Starts a child holding the lock of `dir`; resolves with it once it says `locked`, and a way to read its later lines. */
function holder(dir: string): Promise<{ child: ChildProcess; lines: () => string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => (err += c));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (c: string) => {
      out += c;
      if (out.includes('locked\n')) resolve({ child, lines: () => out.split('\n').filter((l) => l !== '') });
    });
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code}): ${err}`)));
  });
}

async function refused(dir: string): Promise<DirectoryLockedError> {
  const error = await lockDirectory(dir).then(
    async (lock) => {
      await lock.release();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(error, 'the lock was taken').toBeInstanceOf(DirectoryLockedError);
  return error as DirectoryLockedError;
}

describe('the directory lock between processes', () => {
  it('refuses a second process while the first lives, naming its pid; free again after kill -9 (stale socket)', async () => {
    const dir = scratch();
    const { child } = await holder(dir);
    expect((await refused(dir)).holder).toBe(child.pid);
    await killHard(child);
    // The socket file outlives the process; connecting to it is refused, so it is stale.
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
    const lock = await lockDirectory(dir);
    await lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  }, 30_000);

  it('a stopped holder (SIGSTOP) still holds it: refused, without a pid', async () => {
    const dir = scratch();
    const { child } = await holder(dir);
    child.kill('SIGSTOP');
    const error = await refused(dir);
    expect(error.holder).toBeUndefined();
    expect(error.message).toMatch(/did not say its pid/);
    child.kill('SIGCONT');
  }, 30_000);

  it('is free once the holder releases it', async () => {
    const dir = scratch();
    const { child, lines } = await holder(dir);
    child.stdin?.write('release\n');
    // 'close', not 'exit': the child's last lines may still be in the pipe at its exit.
    await new Promise((resolve) => child.once('close', resolve));
    expect(lines()).toContain('released');
    const lock = await lockDirectory(dir);
    await lock.release();
  }, 30_000);

  it('a holder whose socket is removed (the directory wiped under it) learns it lost the lock', async () => {
    const dir = scratch();
    const lost: string[] = [];
    const lock = await lockDirectory(dir, { onLost: (reason) => lost.push(reason), checkIntervalMs: 50 });
    unlinkSync(join(dir, LOCK_FILE));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatch(/gone or is no longer this process's socket/);
    // Another process may now take it; the first, released, does not remove the newcomer's socket.
    const second = await lockDirectory(dir);
    await lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
    await second.release();
  });

  it('refuses a lock path that is not a socket (nothing of ours to remove)', async () => {
    const dir = scratch();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, LOCK_FILE), 'not a socket');
    await expect(lockDirectory(dir)).rejects.toThrow(/not a socket/);
  });
});
