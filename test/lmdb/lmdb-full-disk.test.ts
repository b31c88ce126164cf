/**
 * `LmdbStore` under a `StoreAcceptor` on a real filesystem that fills up: each test mounts a small
 * tmpfs (root only; skipped loudly elsewhere) and writes 1 KB values to new keys until the disk
 * (or the quota below it) refuses them. What must hold: the refusal is an answer with a stable
 * code (`ERR_STORAGE_FULL`; `ERR_STORAGE_FAILED` on a disk the kernel made read-only), no
 * rejection goes unhandled (lmdb's `commitError` once did, and ended the process), a refused group
 * commit keeps none of its records, every acknowledged write reads back (and after a reopen), the
 * state change is logged once, and writes resume by themselves once the filesystem grows or turns
 * writable. Also `committed`, which digs the cause of a failed lmdb commit out of `commitError`.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreAcceptor } from '../../src/acceptor/store-acceptor.js';
import type { Ballot } from '../../src/core/ballot.js';
import { LmdbStore, committed } from '../../src/lmdb/lmdb-store.js';
import type { Logger } from '../../src/logger.js';
import { type Ext4, type Tmpfs, mountExt4, mountTmpfs, skipWithoutExt4, skipWithoutTmpfs } from '../support/tmpfs.js';

const skip = skipWithoutTmpfs('the LMDB full-disk tests (test/lmdb/lmdb-full-disk.test.ts)');
const skipExt4 = skip || skipWithoutExt4('the LMDB read-only and failing-disk tests (test/lmdb/lmdb-full-disk.test.ts)');

const KiB = 1024;
const MiB = 1024 * KiB;
const AGE = { counter: 0, id: 'p1' };

function b(counter: number): Ballot {
  return { counter, id: 'p1' };
}

/** A 1000-byte value that differs per key. */
function valueOf(i: number): Uint8Array {
  return Uint8Array.from({ length: 1000 }, (_, j) => (i * 7 + j) & 0xff);
}

/** A logger that keeps the records at warn, info and error (the storage state changes). */
function recordingLogger(): Logger & { readonly records: Array<{ level: string; msg: string | undefined; obj: Record<string, unknown> }> } {
  const records: Array<{ level: string; msg: string | undefined; obj: Record<string, unknown> }> = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg?: string) => void records.push({ level, msg, obj });
  return { records, debug: () => {}, info: at('info'), warn: at('warn'), error: at('error'), isLevelEnabled: (level) => level !== 'debug' };
}

const codeOf = (error: unknown): unknown => (error as { code?: unknown })?.code;

/** How many records `logger` holds whose message starts with `prefix` (each names its level: warn, info, error). */
function logged(logger: ReturnType<typeof recordingLogger>, prefix: string): number {
  return logger.records.filter((r) => r.msg?.startsWith(prefix) === true).length;
}

/** Writes bursts of `burst` new keys (one group commit each) until a burst is refused; returns what happened. */
async function fillWithNewKeys(acceptor: StoreAcceptor, burst: number, limit = 20_000) {
  const acknowledged = new Map<string, Uint8Array>();
  for (let next = 0; next < limit; next += burst) {
    const keys = Array.from({ length: burst }, (_, i) => `key-${next + i}`);
    const outcomes = await Promise.allSettled(keys.map((key, i) => acceptor.accept(key, AGE, b(1), valueOf(next + i))));
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'fulfilled') acknowledged.set(keys[i] as string, valueOf(next + i));
    });
    if (outcomes.some((o) => o.status === 'rejected')) return { acknowledged, refusedKeys: keys, outcomes };
  }
  throw new Error(`the disk never filled in ${limit} writes`);
}

/** A store in `dir`/data (with `options`) and an acceptor over it that logs to a recording logger. */
async function acceptorIn(dir: string, options: Omit<Parameters<typeof LmdbStore.open>[0], 'path'> = {}) {
  const logger = recordingLogger();
  const path = join(dir, 'data');
  const store = await LmdbStore.open({ path, ...options });
  const acceptor = await StoreAcceptor.open('a1', store, { logger });
  return { logger, path, store, acceptor };
}

/** The keys of `written` whose state in `store` is not the one written (none, when all read back). */
async function missing(store: LmdbStore, written: ReadonlyMap<string, Uint8Array>): Promise<string[]> {
  const wrong: string[] = [];
  for (const [key, value] of written) {
    const state = (await store.get(key))?.state;
    if (state === null || state === undefined || Buffer.compare(state, value) !== 0) wrong.push(key);
  }
  return wrong;
}

/** Writes `n` keys (`key-<i>`, 1 KB each) one by one; returns them. */
async function writeSome(acceptor: StoreAcceptor, n: number): Promise<Map<string, Uint8Array>> {
  const written = new Map<string, Uint8Array>();
  for (let i = 0; i < n; i++) {
    expect((await acceptor.accept(`key-${i}`, AGE, b(1), valueOf(i))).type).toBe('accepted');
    written.set(`key-${i}`, valueOf(i));
  }
  return written;
}

/** Retries `check` until it passes or `ms` run out (state that catches up within a measurement interval). */
async function eventually(check: () => void, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return check();
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

describe.skipIf(skip)('LmdbStore on a disk that fills up (a real tmpfs)', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  beforeAll(() => void process.on('unhandledRejection', onUnhandled));
  afterAll(() => void process.off('unhandledRejection', onUnhandled));
  const mounts: Tmpfs[] = [];
  const ext4s: Ext4[] = [];
  afterAll(() => {
    for (const m of [...mounts, ...ext4s]) m.unmount();
  });

  for (const syncMode of ['commit', 'overlapping'] as const) {
    it(`a full disk refuses a whole group commit with ERR_STORAGE_FULL, keeps every acknowledged write, and takes writes again once it grows (syncMode ${syncMode})`, async () => {
      const disk = mountTmpfs(1 * MiB);
      mounts.push(disk);
      // No quota below the disk: the disk itself fills.
      const { logger, path, store, acceptor } = await acceptorIn(disk.dir, { syncMode, maxDataBytes: '100%' });

      const { acknowledged, refusedKeys, outcomes } = await fillWithNewKeys(acceptor, 8);
      expect(acknowledged.size).toBeGreaterThan(100);
      // One transaction carried the burst: all of it was refused, each with the same stable code.
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        expect(codeOf((outcome as PromiseRejectedResult).reason)).toBe('ERR_STORAGE_FULL');
      }
      const first = (outcomes[0] as PromiseRejectedResult).reason as Error;
      // The disk's room refused it (not a quota): the store's check before LMDB writes, or LMDB.
      expect(first.message).toMatch(/refused a write before trying it: the filesystem has \d+ bytes free|No space left on device|short write/);
      console.log(`[full disk, ${syncMode}] ${acknowledged.size} writes acknowledged; refused with: ${first.message}`);

      // A refused write was never observed; every acknowledged one reads back.
      for (const key of refusedKeys) expect(await store.get(key)).toBeUndefined();
      expect(await missing(store, acknowledged)).toEqual([]);
      expect(acceptor.storageStatus()).toMatchObject({ state: 'full', code: 'ERR_STORAGE_FULL' });
      // More refusals (bursts as large) change nothing: still full, still logged once.
      for (let i = 0; i < 5; i++) {
        const again = await Promise.allSettled(Array.from({ length: 8 }, (_, j) => acceptor.accept(`more-${i}-${j}`, AGE, b(1), valueOf(j))));
        for (const outcome of again) expect(codeOf((outcome as PromiseRejectedResult).reason)).toBe('ERR_STORAGE_FULL');
      }
      expect(logged(logger, 'storage full')).toBe(1);

      // Room: the filesystem grows. The same acceptor takes writes again, no restart.
      disk.resize(4 * MiB);
      // Ready again before any write: the store sees the room within its measurement interval.
      await eventually(() => expect(acceptor.storageStatus().state).toBe('writable'));
      expect((await acceptor.accept('after', AGE, b(1), valueOf(1))).type).toBe('accepted');
      const more = await Promise.all(Array.from({ length: 32 }, (_, i) => acceptor.accept(`after-${i}`, AGE, b(1), valueOf(i))));
      expect(more.every((r) => r.type === 'accepted')).toBe(true);
      expect(logged(logger, 'storage writable again')).toBe(1);
      await acceptor.close();

      // On disk, after a reopen: every acknowledged write, none of the refused ones.
      const reopened = await LmdbStore.open({ path, syncMode });
      try {
        expect(await missing(reopened, acknowledged)).toEqual([]);
        for (const key of refusedKeys) expect(await reopened.get(key)).toBeUndefined();
        expect((await reopened.get('after'))?.state).toEqual(valueOf(1));
      } finally {
        await reopened.close();
      }
      expect(unhandled).toEqual([]);
    });
  }

  /** An acceptor over a store on a fresh ext4 filesystem, with `writes` keys written. */
  async function onExt4(writes: number) {
    const disk = mountExt4(16 * MiB);
    ext4s.push(disk);
    const opened = await acceptorIn(disk.dir);
    return { disk, ...opened, acknowledged: await writeSome(opened.acceptor, writes) };
  }

  it.skipIf(skipExt4)('a disk the kernel turns read-only (ext4, errors=remount-ro): writes get ERR_STORAGE_FAILED, reads still work, nothing is lost', async () => {
    const { disk, logger, store, acceptor, acknowledged } = await onExt4(64);

    disk.failReadOnly();
    const refused = await Promise.allSettled([acceptor.accept('new', AGE, b(1), valueOf(2)), acceptor.prepare('key-0', AGE, b(5)), acceptor.accept('key-1', AGE, b(2), null)]);
    for (const outcome of refused) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as Error;
      expect(codeOf(reason)).toBe('ERR_STORAGE_FAILED');
      expect(reason.message).toMatch(/read-only|EROFS/i);
    }
    expect(acceptor.storageStatus()).toMatchObject({ state: 'failed', code: 'ERR_STORAGE_FAILED' });
    // Further failures are not logged again.
    await expect(acceptor.accept('new2', AGE, b(1), valueOf(3))).rejects.toMatchObject({ code: 'ERR_STORAGE_FAILED' });
    expect(logged(logger, 'storage failed')).toBe(1);
    // Committed data still reads; a prepare that conflicts writes nothing and is answered.
    expect((await acceptor.prepare('key-0', AGE, b(1))).type).toBe('conflict');
    expect(await missing(store, acknowledged)).toEqual([]);
    expect(await store.get('new')).toBeUndefined();
    expect((await store.get('key-1'))?.state).toEqual(valueOf(1));
    await acceptor.close();
    expect(unhandled).toEqual([]);
  });

  it.skipIf(skipExt4)('writes that fail otherwise (EPERM: an immutable data file) get ERR_STORAGE_FAILED, and resume by themselves once the file is writable', async () => {
    const { disk, logger, path, store, acceptor, acknowledged } = await onExt4(16);

    disk.immutable(join(path, 'data.mdb'), true);
    const refused = await Promise.allSettled([acceptor.accept('new', AGE, b(1), valueOf(2)), acceptor.prepare('key-0', AGE, b(5))]);
    for (const outcome of refused) expect(codeOf((outcome as PromiseRejectedResult).reason)).toBe('ERR_STORAGE_FAILED');
    expect(acceptor.storageStatus().state).toBe('failed');

    disk.immutable(join(path, 'data.mdb'), false);
    // The refused prepare at 5 left no promise: 4 is promised now, by the same acceptor.
    expect((await acceptor.prepare('key-0', AGE, b(4))).type).toBe('promised');
    expect(acceptor.storageStatus().state).toBe('writable');
    expect((await acceptor.accept('new', AGE, b(1), valueOf(2))).type).toBe('accepted');
    expect(await missing(store, acknowledged)).toEqual([]);
    expect(logged(logger, 'storage failed')).toBe(1);
    expect(logged(logger, 'storage writable again')).toBe(1);
    await acceptor.close();
    expect(unhandled).toEqual([]);
  });

  it('the default quota (90% of the filesystem) refuses new keys before the disk is full; deletes, garbage collection and same-size writes still go through', async () => {
    const disk = mountTmpfs(8 * MiB);
    mounts.push(disk);
    const { logger, store, acceptor } = await acceptorIn(disk.dir);
    // A deleted key (its tombstone) and a value, written while there is room.
    expect((await acceptor.accept('deleted', AGE, b(1), null)).type).toBe('accepted');
    expect((await acceptor.accept('value', AGE, b(1), valueOf(0))).type).toBe('accepted');

    const { acknowledged, outcomes } = await fillWithNewKeys(acceptor, 16);
    const refusal = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(codeOf(refusal.reason)).toBe('ERR_STORAGE_FULL');
    const status = acceptor.storageStatus();
    expect(status).toMatchObject({ state: 'full', code: 'ERR_STORAGE_FULL' });
    expect(status.reason).toMatch(/filesystem .* is \d+(\.\d)?% used/);
    // The quota, not the disk: there is room left for the writes that free space.
    expect(disk.available()).toBeGreaterThan(100 * KiB);
    console.log(`[quota 90%] ${acknowledged.size} new keys taken; then: ${status.reason}`);

    expect((await acceptor.removeIfEqual('deleted', { ballot: b(1), state: null })).type).toBe('removed');
    await acceptor.rejectByAge([{ counter: 1, id: 'gone' }]);
    expect((await acceptor.prepare('value', AGE, b(2))).type).toBe('promised');
    expect((await acceptor.accept('value', AGE, b(2), valueOf(5))).type).toBe('accepted');
    await expect(acceptor.accept('value', AGE, b(3), new Uint8Array(2000))).rejects.toMatchObject({ code: 'ERR_STORAGE_FULL' });
    expect(await missing(store, acknowledged)).toEqual([]);

    // Deleting data through the API (a tombstone, then its removal) makes room under the quota:
    // the data file does not shrink, but LMDB reuses the pages, and the quota counts them as free.
    // (Neighbours in key order: LMDB frees a page once the records on it are gone.)
    const before = disk.available();
    const doomed = [...acknowledged.keys()].sort().slice(0, 400);
    for (let i = 0; i < doomed.length; i += 20) {
      await Promise.all(
        doomed.slice(i, i + 20).map(async (key) => {
          expect((await acceptor.accept(key, AGE, b(2), null)).type).toBe('accepted');
          expect((await acceptor.removeIfEqual(key, { ballot: b(2), state: null })).type).toBe('removed');
        }),
      );
    }
    await eventually(() => expect(acceptor.storageStatus().state).toBe('writable'));
    expect(disk.available()).toBeLessThanOrEqual(before);
    // (Above the tombstone floor the removals raised to 2.)
    expect((await acceptor.accept('fresh', AGE, b(3), valueOf(9))).type).toBe('accepted');
    expect(logged(logger, 'storage full')).toBe(1);
    expect(logged(logger, 'storage writable again')).toBe(1);
    await acceptor.close();
    expect(unhandled).toEqual([]);
  });

  it('a byte quota (maxDataBytes) refuses new keys past it, whatever the disk holds', async () => {
    const disk = mountTmpfs(8 * MiB);
    mounts.push(disk);
    const { store, acceptor } = await acceptorIn(disk.dir, { maxDataBytes: 256 * KiB });
    const { acknowledged, outcomes } = await fillWithNewKeys(acceptor, 4);
    expect(codeOf((outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason)).toBe('ERR_STORAGE_FULL');
    const status = acceptor.storageStatus();
    expect(status.quotaBytes).toBe(256 * KiB);
    expect(status.usedBytes).toBeGreaterThanOrEqual(256 * KiB);
    // About the quota's worth of 1 KB values, far below what the disk holds.
    expect(acknowledged.size).toBeGreaterThan(100);
    expect(acknowledged.size).toBeLessThan(300);
    expect(disk.available()).toBeGreaterThan(4 * MiB);
    store.setMaxDataBytes(1 * MiB);
    expect((await acceptor.accept('fresh', AGE, b(1), valueOf(9))).type).toBe('accepted');
    await acceptor.close();
  });
});

describe('committed: the cause of a failed lmdb commit', () => {
  /** What lmdb rejects a write with when its commit failed: the cause comes separately. */
  function commitFailure(commitError: Promise<never>): Error {
    return Object.assign(new Error('Commit failed (see commitError for details)'), { commitError });
  }

  it('rejects with the cause from commitError, handling that promise (no unhandled rejection)', async () => {
    const cause = Object.assign(new Error('No space left on device'), { code: 28 });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      // lmdb rejects the write first, then commitError, in the same callback.
      const written = Promise.reject(commitFailure(Promise.reject(cause)));
      await expect(committed(written)).rejects.toBe(cause);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a write that succeeded, or failed without commitError, is passed through', async () => {
    await expect(committed(Promise.resolve(true))).resolves.toBe(true);
    const plain = new Error('Database is closed');
    await expect(committed(Promise.reject(plain))).rejects.toBe(plain);
  });

  it('when commitError never settles, rejects with the write\'s own error after a second', async () => {
    const failure = commitFailure(new Promise<never>(() => {}));
    const started = Date.now();
    await expect(committed(Promise.reject(failure))).rejects.toBe(failure);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});
