/**
 * A store that fails each way a disk does, under `StoreAcceptor`: every failure is an answer with
 * a stable code (`ERR_STORAGE_FULL` for no room, `ERR_STORAGE_FAILED` otherwise), naming the
 * acceptor; the acceptor's view stays exactly what the store holds (records, the tombstone floor,
 * the minimum ages); a group commit that fails fails every request it carried; the storage state
 * is logged once per change and comes back to writable by itself; reads that fail mean the store
 * cannot be trusted (`onUntrusted`). Also `MemoryStore`'s limits and the quota admission rule.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/acceptor/memory-store.js';
import { StoreAcceptor } from '../../src/acceptor/store-acceptor.js';
import { growsData, storageError } from '../../src/acceptor/storage.js';
import type { KeyRecord } from '../../src/core/acceptor-rules.js';
import type { Ballot } from '../../src/core/ballot.js';
import { InvalidArgumentError, StorageFailedError, StorageFullError, UnavailableError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';

const AGE = { counter: 0, id: 'p1' };
const b = (counter: number): Ballot => ({ counter, id: 'p1' });
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

/** An error as Node's fs (and our LMDB store, after naming lmdb's numbers) reports one. */
function errno(code: string, message = `${code}: the disk said no`): Error {
  return Object.assign(new Error(message), { code });
}

/** A `MemoryStore` whose writes (and, on request, reads) fail with a chosen error while set. */
class FailingStore extends MemoryStore {
  writeError: unknown;
  readError: unknown;
  writes = 0;
  #check(): void {
    this.writes++;
    if (this.writeError !== undefined) throw this.writeError;
  }
  override async put(key: string, record: KeyRecord): Promise<void> {
    this.#check();
    return super.put(key, record);
  }
  override async remove(key: string, floor: Ballot): Promise<void> {
    this.#check();
    return super.remove(key, floor);
  }
  override async raiseAges(ages: ReadonlyArray<{ counter: number; id: string }>): Promise<void> {
    this.#check();
    return super.raiseAges(ages);
  }
  override async get(key: string): Promise<KeyRecord | undefined> {
    if (this.readError !== undefined) throw this.readError;
    return super.get(key);
  }
}

/** The same with a group commit (`putMany`): one failure fails the whole group. */
class FailingGroupStore extends FailingStore {
  groups: number[] = [];
  async putMany(entries: ReadonlyArray<readonly [string, KeyRecord]>): Promise<void> {
    this.groups.push(entries.length);
    if (this.writeError !== undefined) throw this.writeError;
    for (const [key, record] of entries) await MemoryStore.prototype.put.call(this, key, record);
  }
}

function recordingLogger(): Logger & { readonly lines: Array<[level: string, msg: string | undefined]> } {
  const lines: Array<[string, string | undefined]> = [];
  const at = (level: string) => (_obj: Record<string, unknown>, msg?: string) => void lines.push([level, msg]);
  return { lines, debug: () => {}, info: at('info'), warn: at('warn'), error: at('error'), isLevelEnabled: (level) => level !== 'debug' };
}

const FULL = ['ENOSPC', 'EDQUOT', 'EFBIG', 'MDB_MAP_FULL'] as const;
const FAILED = ['EIO', 'EROFS', 'EPERM', 'EACCES'] as const;

describe('storage errors are answers', () => {
  const cases: Array<[label: string, error: unknown, expected: typeof StorageFullError | typeof StorageFailedError]> = [
    ...FULL.map((code): [string, unknown, typeof StorageFullError] => [code, errno(code), StorageFullError]),
    ...FAILED.map((code): [string, unknown, typeof StorageFailedError] => [code, errno(code), StorageFailedError]),
    ['an error without a code', new Error('Commit failed (see commitError for details)'), StorageFailedError],
    ['a thrown string', 'something odd', StorageFailedError],
    ["the store's own StorageFullError", new StorageFullError('memory store full'), StorageFullError],
    ["the store's own StorageFailedError", new StorageFailedError('replica is read-only'), StorageFailedError],
  ];

  it.each(cases)('%s: every kind of write is refused with the typed error, naming the acceptor, and changes nothing', async (_label, error, expected) => {
    const store = new FailingStore();
    const logger = recordingLogger();
    const acceptor = await StoreAcceptor.open('a1', store, { logger });
    expect((await acceptor.accept('k', AGE, b(1), bytes(1))).type).toBe('accepted');
    expect((await acceptor.accept('t', AGE, b(1), null)).type).toBe('accepted');
    const before = { k: await store.get('k'), t: await store.get('t'), floor: acceptor.tombstoneFloor, age: acceptor.minimumAge('old') };

    store.writeError = error;
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['prepare of a new key', () => acceptor.prepare('new', AGE, b(5))],
      ['prepare of an existing key', () => acceptor.prepare('k', AGE, b(5))],
      ['accept', () => acceptor.accept('k', AGE, b(6), bytes(2))],
      ['accept of a tombstone', () => acceptor.accept('k', AGE, b(6), null)],
      ['removeIfEqual', () => acceptor.removeIfEqual('t', { ballot: b(1), state: null })],
      ['rejectByAge', () => acceptor.rejectByAge([{ counter: 3, id: 'old' }])],
    ];
    for (const [what, call] of calls) {
      const refusal = await call().then(
        (value) => ({ value }),
        (err: unknown) => ({ err }),
      );
      expect('err' in refusal, what).toBe(true);
      const err = (refusal as { err: unknown }).err;
      expect(err, what).toBeInstanceOf(expected);
      expect((err as StorageFullError).acceptors, what).toEqual(['a1']);
      expect((err as Error).message, what).toMatch(/acceptor a1/);
      expect((err as StorageFailedError).retryable, what).toBe(true);
    }
    // The acceptor's view is exactly what the store holds: nothing of the refused writes.
    expect(await store.get('new')).toBeUndefined();
    expect(await store.get('k')).toEqual(before.k);
    expect(await store.get('t')).toEqual(before.t);
    expect(acceptor.tombstoneFloor).toEqual(before.floor);
    expect(acceptor.minimumAge('old')).toBe(before.age);
    const state = expected === StorageFullError ? 'full' : 'failed';
    expect(acceptor.storageStatus()).toMatchObject({ state, code: expected === StorageFullError ? 'ERR_STORAGE_FULL' : 'ERR_STORAGE_FAILED' });
    expect(logger.lines.filter(([, msg]) => msg?.startsWith('storage '))).toHaveLength(1);

    // The disk recovers: the same acceptor takes writes again, by itself.
    store.writeError = undefined;
    expect((await acceptor.prepare('new', AGE, b(2))).type).toBe('promised');
    expect((await acceptor.accept('new', AGE, b(2), bytes(7))).type).toBe('accepted');
    expect(acceptor.storageStatus().state).toBe('writable');
    expect((await acceptor.removeIfEqual('t', { ballot: b(1), state: null })).type).toBe('removed');
    await acceptor.rejectByAge([{ counter: 3, id: 'old' }]);
    expect(acceptor.minimumAge('old')).toBe(3);
    expect(logger.lines.filter(([, msg]) => msg?.startsWith('storage writable again'))).toHaveLength(1);
  });

  it('a failed group commit fails every request it carried, with one error, and keeps none of them', async () => {
    const store = new FailingGroupStore();
    const acceptor = await StoreAcceptor.open('a1', store);
    store.writeError = errno('ENOSPC');
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => acceptor.accept(`k${i}`, AGE, b(1), bytes(i))));
    expect(store.groups).toEqual([20]);
    const reasons = outcomes.map((o) => (o.status === 'rejected' ? o.reason : undefined));
    expect(reasons.every((r) => r instanceof StorageFullError)).toBe(true);
    expect(new Set(reasons).size).toBe(1);
    expect(store.size).toBe(0);
    store.writeError = undefined;
    const again = await Promise.all(Array.from({ length: 20 }, (_, i) => acceptor.accept(`k${i}`, AGE, b(1), bytes(i))));
    expect(again.every((r) => r.type === 'accepted')).toBe(true);
    expect(store.groups).toEqual([20, 20]);
  });

  it("the package's own errors from a store pass unchanged (a bad key, a closed store)", async () => {
    for (const error of [new InvalidArgumentError('key too long for LMDB'), new UnavailableError('the store is closed')]) {
      const store = new FailingStore();
      const acceptor = await StoreAcceptor.open('a1', store);
      store.writeError = error;
      await expect(acceptor.prepare('k', AGE, b(1))).rejects.toBe(error);
      // Not a storage state.
      expect(acceptor.storageStatus().state).toBe('writable');
    }
  });

  it('a failed read means the store cannot be trusted: StorageFailedError with untrusted, and onUntrusted hears of it', async () => {
    for (const error of [errno('EIO'), Object.assign(new InvalidArgumentError('corrupt record of key "k": bad CRC'), { name: 'CorruptRecordError' })]) {
      const store = new FailingStore();
      const heard: StorageFailedError[] = [];
      const acceptor = await StoreAcceptor.open('a1', store, { onUntrusted: (e) => heard.push(e) });
      store.readError = error;
      const refusal = await acceptor.prepare('k', AGE, b(1)).catch((e: unknown) => e);
      expect(refusal).toBeInstanceOf(StorageFailedError);
      expect((refusal as StorageFailedError).untrusted).toBe(true);
      expect((refusal as StorageFailedError).cause).toBe(error);
      expect(heard).toEqual([refusal]);
      await expect(acceptor.removeIfEqual('k', { ballot: b(1), state: null })).rejects.toMatchObject({ untrusted: true });
      expect(heard).toHaveLength(2);
    }
    // A store's own untrusted failure on a write (LMDB's MDB_PANIC) is reported too; a full disk is not.
    const store = new FailingStore();
    const heard: unknown[] = [];
    const acceptor = await StoreAcceptor.open('a1', store, { onUntrusted: (e) => heard.push(e) });
    store.writeError = errno('ENOSPC');
    await expect(acceptor.prepare('k', AGE, b(1))).rejects.toBeInstanceOf(StorageFullError);
    expect(heard).toEqual([]);
    store.writeError = new StorageFailedError('MDB_PANIC', { untrusted: true });
    await expect(acceptor.prepare('k', AGE, b(1))).rejects.toMatchObject({ untrusted: true });
    expect(heard).toHaveLength(1);
  });

  it('a write that does not grow the data does not end a full state (no flapping); one that grows does', async () => {
    const store = new FailingStore();
    const logger = recordingLogger();
    const acceptor = await StoreAcceptor.open('a1', store, { logger });
    expect((await acceptor.accept('k', AGE, b(1), bytes(1, 2))).type).toBe('accepted');
    store.writeError = errno('ENOSPC');
    await expect(acceptor.prepare('new', AGE, b(1))).rejects.toBeInstanceOf(StorageFullError);
    store.writeError = undefined;
    // Promises (a new key's too), a shorter state: they succeed, but prove nothing about room.
    expect((await acceptor.prepare('k', AGE, b(2))).type).toBe('promised');
    expect((await acceptor.accept('k', AGE, b(2), bytes(1))).type).toBe('accepted');
    expect((await acceptor.prepare('new', AGE, b(1))).type).toBe('promised');
    expect(acceptor.storageStatus().state).toBe('full');
    expect((await acceptor.accept('new', AGE, b(1), bytes(5))).type).toBe('accepted');
    expect(acceptor.storageStatus().state).toBe('writable');
    expect(logger.lines.map(([level, msg]) => `${level} ${msg?.split(':')[0]}`)).toEqual(['warn storage full', 'info storage writable again']);
  });

  it('negative control: without the storage monitor, a store failure would not be a typed answer', () => {
    // What StoreAcceptor does to a raw failure; the raw one is no CASPaxos error at all.
    const raw = errno('ENOSPC');
    expect((raw as { retryable?: unknown }).retryable).toBeUndefined();
    expect(storageError(raw, 'a1')).toBeInstanceOf(StorageFullError);
    expect(storageError(errno('EROFS'), 'a1')).toBeInstanceOf(StorageFailedError);
  });
});

describe('a quota below the disk (AcceptorStore.capacity)', () => {
  it('growsData: a value for a new key or a longer state grows the data; promises, equal or shorter states and tombstones do not', () => {
    const record = (state: Uint8Array | null): KeyRecord => ({ promise: b(1), accepted: b(1), state, ancestry: undefined });
    expect(growsData(undefined, record(bytes(1)))).toBe(true);
    expect(growsData(undefined, record(null))).toBe(false);
    expect(growsData(record(bytes(1)), record(bytes(1, 2)))).toBe(true);
    expect(growsData(record(null), record(bytes(1)))).toBe(true);
    expect(growsData(record(bytes(1, 2)), record(bytes(1, 2)))).toBe(false);
    expect(growsData(record(bytes(1, 2)), record(bytes(1)))).toBe(false);
    expect(growsData(record(bytes(1, 2)), record(null))).toBe(false);
  });

  it('MemoryStore limits: past maxKeys new keys are refused; past maxBytes longer states too; everything else goes through', async () => {
    const store = new MemoryStore({ maxKeys: 2, maxBytes: 10 });
    const acceptor = await StoreAcceptor.open('a1', store);
    expect((await acceptor.accept('a', AGE, b(1), bytes(1, 2, 3))).type).toBe('accepted');
    expect((await acceptor.accept('b', AGE, b(1), bytes(4, 5, 6))).type).toBe('accepted');
    expect(store.capacity()).toMatchObject({ full: true, usedBytes: 6, quotaBytes: 10, reason: '2 keys, the limit is 2' });
    await expect(acceptor.prepare('c', AGE, b(1))).rejects.toMatchObject({ code: 'ERR_STORAGE_FULL', acceptors: ['a1'] });
    // Full (by keys): a longer state is refused too, before it is tried.
    await expect(acceptor.accept('a', AGE, b(2), bytes(1, 2, 3, 4))).rejects.toBeInstanceOf(StorageFullError);
    expect((await acceptor.prepare('a', AGE, b(3))).type).toBe('promised');
    expect((await acceptor.accept('a', AGE, b(3), bytes(9))).type).toBe('accepted');
    expect((await acceptor.accept('b', AGE, b(2), null)).type).toBe('accepted');
    expect((await acceptor.removeIfEqual('b', { ballot: b(2), state: null })).type).toBe('removed');
    // Room again: one key free, 9 bytes of 10 free.
    expect(acceptor.storageStatus().state).toBe('writable');
    expect((await acceptor.accept('c', AGE, b(3), bytes(1, 2, 3, 4, 5, 6, 7, 8))).type).toBe('accepted');
    // 9 of 10 bytes: a write that would exceed maxBytes is refused by the store itself.
    await expect(acceptor.accept('a', AGE, b(4), bytes(1, 2, 3))).rejects.toMatchObject({ code: 'ERR_STORAGE_FULL', acceptors: ['a1'] });
    expect(() => store.setLimits({ maxKeys: -1 })).toThrow(InvalidArgumentError);
    expect(() => new MemoryStore({ maxBytes: 1.5 })).toThrow(InvalidArgumentError);
  });

  it('storageStatus reports the figures and when the state began', async () => {
    const store = new MemoryStore();
    const acceptor = await StoreAcceptor.open('a1', store);
    await acceptor.accept('a', AGE, b(1), bytes(1, 2, 3));
    const writable = acceptor.storageStatus();
    expect(writable).toMatchObject({ state: 'writable', usedBytes: 3 });
    expect(writable.code).toBeUndefined();
    store.setLimits({ maxBytes: 3 });
    const full = acceptor.storageStatus();
    expect(full).toMatchObject({ state: 'full', code: 'ERR_STORAGE_FULL', usedBytes: 3, quotaBytes: 3, reason: '3 bytes of state, the limit is 3' });
    expect(full.since).toBeGreaterThanOrEqual(writable.since);
  });
});
