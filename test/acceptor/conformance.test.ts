/**
 * The conformance suite against the in-process acceptors: `MemoryAcceptor` (not durable) and
 * `StoreAcceptor` over a `MemoryStore`, whose "crash" drops the acceptor without closing it and
 * opens a new one over the same store. A negative control checks that the suite catches an
 * acceptor that forgets its promises in a crash.
 */
import { describe, expect, it } from 'vitest';
import { MemoryAcceptor, StorageFullError, ZERO_BALLOT, ballotEquals } from '../../src/index.js';
import type { KeyRecord } from '../../src/core/acceptor-rules.js';
import { MemoryStore } from '../../src/acceptor/memory-store.js';
import type { StoreWrite } from '../../src/acceptor/acceptor-store.js';
import { StoreAcceptor } from '../../src/acceptor/store-acceptor.js';
import { type ConformanceSubject, type StorageControl, describeAcceptorConformance } from '../../src/testing/acceptor-conformance.js';

describeAcceptorConformance('MemoryAcceptor', async () => ({ acceptor: new MemoryAcceptor('a1'), close: async () => {} }), { describe, it, durable: false });

async function storeSubject(store: MemoryStore): Promise<ConformanceSubject> {
  let acceptor = await StoreAcceptor.open('a1', store);
  return {
    acceptor,
    async crashAndRestart() {
      // Dropped without close: whatever it had not acknowledged may or may not have landed.
      acceptor = await StoreAcceptor.open('a1', store);
      return acceptor;
    },
    storage: memoryStoreControl(store),
    close: () => acceptor.close(),
  };
}

/** Fills a `MemoryStore` by setting its byte limit to what it holds; frees it by lifting it. */
function memoryStoreControl(store: MemoryStore): StorageControl {
  return {
    fill: async () => store.setLimits({ maxBytes: store.capacity().usedBytes }),
    free: async () => store.setLimits({}),
  };
}

describeAcceptorConformance('StoreAcceptor over MemoryStore', () => storeSubject(new MemoryStore()), { describe, it, fullStorage: 'refuses-growth' });

/** A store that acknowledges promise-only writes without keeping them: it loses promises in a crash. */
class ForgetfulStore extends MemoryStore {
  #volatile = new Map<string, KeyRecord>();
  override async get(key: string): Promise<KeyRecord | undefined> {
    return this.#volatile.get(key) ?? super.get(key);
  }
  override async put(key: string, record: KeyRecord): Promise<void> {
    const accepted = (await super.get(key))?.accepted ?? ZERO_BALLOT;
    if (ballotEquals(accepted, record.accepted)) {
      this.#volatile.set(key, record);
      return;
    }
    this.#volatile.delete(key);
    await super.put(key, record);
  }
  forget(): void {
    this.#volatile.clear();
  }
}

describe('negative control: the conformance suite catches an acceptor that forgets promises in a crash', () => {
  const cases: Array<{ name: string; body: () => Promise<void> }> = [];
  const collect = Object.assign((name: string, body: () => Promise<void>) => void cases.push({ name, body }), { skip: () => {} });
  describeAcceptorConformance(
    'forgetful',
    async () => {
      const store = new ForgetfulStore();
      const subject = await storeSubject(store);
      return { ...subject, crashAndRestart: () => (store.forget(), subject.crashAndRestart?.() as Promise<StoreAcceptor>) };
    },
    { describe: (_name, body) => body(), it: collect },
  );

  it('fails the durability case that re-prepares a promised ballot', async () => {
    const durable = cases.find((c) => c.name.startsWith('keeps promises, accepted states'));
    expect(durable).toBeDefined();
    await expect(durable?.body()).rejects.toThrow(/the promise must survive/);
  });

  it('passes the cases that do not crash', async () => {
    const basic = cases.find((c) => c.name.startsWith('promises a ballot on an empty key'));
    await expect(basic?.body()).resolves.toBeUndefined();
  });
});

/**
 * Runs the conformance suite's concurrent-burst durability case over a store whose group writes
 * are acknowledged before they are applied (`lost` set by the crash), and expects it to fail.
 */
async function expectLazyGroupsCaught(lazyStore: () => GroupingStore): Promise<void> {
  const cases: Array<{ name: string; body: () => Promise<void> }> = [];
  const collect = Object.assign((name: string, body: () => Promise<void>) => void cases.push({ name, body }), { skip: () => {} });
  describeAcceptorConformance(
    'lazy',
    async () => {
      const store = lazyStore();
      const subject = await storeSubject(store);
      // The crash loses what the store had not applied yet.
      return { ...subject, crashAndRestart: () => ((store.lost = true), subject.crashAndRestart?.() as Promise<StoreAcceptor>) };
    },
    { describe: (_name, body) => body(), it: collect },
  );
  const burst = cases.find((c) => c.name.startsWith('keeps every acknowledged write of a concurrent burst'));
  expect(burst).toBeDefined();
  await expect(burst?.body()).rejects.toThrow(/after the crash/);
}

/**
 * A `MemoryStore` that applies group writes: at once, or, `lazy`, after acknowledging them (on the
 * next timer), so an acceptor over it replies before its writes are durable; `lost` (set by a
 * simulated crash) drops the groups not applied yet.
 */
class GroupingStore extends MemoryStore {
  lost = false;
  constructor(readonly lazy = false) {
    super();
  }
  protected async applyGroup(apply: () => Promise<void>): Promise<void> {
    const run = async (): Promise<void> => {
      if (!this.lost) await apply();
    };
    if (this.lazy) setTimeout(() => void run(), 50);
    else await run();
  }
}

/** A `GroupingStore` with `putMany`, so `StoreAcceptor` runs its group commit over it; it counts the groups and their records. */
class GroupStore extends GroupingStore {
  groups: number[] = [];
  async putMany(entries: ReadonlyArray<readonly [string, KeyRecord]>): Promise<void> {
    this.groups.push(entries.length);
    await this.applyGroup(async () => {
      for (const [key, record] of entries) await this.put(key, record);
    });
  }
}

describeAcceptorConformance('StoreAcceptor over a store with putMany (group commit)', () => storeSubject(new GroupStore()), { describe, it, fullStorage: 'refuses-growth' });

describe('group commit', () => {
  it('writes the records of one turn in one putMany, and every reply waits for it', async () => {
    const store = new GroupStore();
    const acceptor = await StoreAcceptor.open('a1', store);
    const age = { counter: 0, id: 'p' };
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => acceptor.accept(`k${i}`, age, { counter: 1, id: 'p' }, new Uint8Array([i]))));
    expect(replies.every((r) => r.type === 'accepted')).toBe(true);
    expect(store.groups).toEqual([50]);
    expect(store.size).toBe(50);
    // A lone write is a group of one.
    await acceptor.prepare('lone', age, { counter: 1, id: 'p' });
    expect(store.groups).toEqual([50, 1]);
  });

  it('fails every operation of a group whose write failed, and the next group works', async () => {
    const store = new GroupStore();
    const acceptor = await StoreAcceptor.open('a1', store);
    const age = { counter: 0, id: 'p' };
    const failing = store.putMany.bind(store);
    store.putMany = () => Promise.reject(new Error('disk full'));
    const outcomes = await Promise.allSettled([acceptor.prepare('a', age, { counter: 1, id: 'p' }), acceptor.prepare('b', age, { counter: 1, id: 'p' })]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    store.putMany = failing;
    expect((await acceptor.prepare('a', age, { counter: 2, id: 'p' })).type).toBe('promised');
  });

  it('negative control: a putMany that acknowledges before it writes fails the durability cases', async () => {
    await expectLazyGroupsCaught(() => new GroupStore(true));
  });
});

/**
 * A `GroupingStore` with `writeMany`, so `StoreAcceptor` sends it every write of a turn (records,
 * removals, age raises) as one group; it records each group's kinds.
 */
class WriteManyStore extends GroupingStore {
  groups: string[][] = [];
  async writeMany(writes: readonly StoreWrite[]): Promise<void> {
    this.groups.push(writes.map((w) => w.kind));
    await this.applyGroup(async () => {
      for (const w of writes) {
        if (w.kind === 'put') await this.put(w.key, w.record);
        else if (w.kind === 'remove') await this.remove(w.key, w.floor);
        else await this.raiseAges(w.ages);
      }
    });
  }
}

describeAcceptorConformance('StoreAcceptor over a store with writeMany (group commit of every write)', () => storeSubject(new WriteManyStore()), { describe, it, fullStorage: 'refuses-growth' });

describe('group commit over writeMany', () => {
  it('writes the records, removals and age raises of one turn in one writeMany, and every reply waits for it', async () => {
    const store = new WriteManyStore();
    const acceptor = await StoreAcceptor.open('a1', store);
    const age = { counter: 0, id: 'p' };
    const tombstone = { counter: 1, id: 'p' };
    await acceptor.prepare('gone', age, tombstone);
    await acceptor.accept('gone', age, tombstone, null);
    store.groups = [];
    const [accepted, removed] = await Promise.all([
      acceptor.accept('k', age, { counter: 1, id: 'p' }, new Uint8Array([1])),
      acceptor.removeIfEqual('gone', { ballot: tombstone, state: null }),
      acceptor.rejectByAge([{ counter: 4, id: 'q' }]),
    ]);
    expect(accepted.type).toBe('accepted');
    expect(removed.type).toBe('removed');
    // One group (its order is whichever operation reached its write first: keys are independent).
    expect(store.groups.map((kinds) => [...kinds].sort())).toEqual([['put', 'raiseAges', 'remove']]);
    // Every change is in the store once the replies are out.
    expect(await store.get('gone')).toBeUndefined();
    expect(await store.loadMeta()).toEqual({ floor: tombstone, ages: [{ counter: 4, id: 'q' }] });
    expect(acceptor.tombstoneFloor).toEqual(tombstone);
    expect(acceptor.minimumAge('q')).toBe(4);
  });

  it('fails every operation of a group whose write failed, changing nothing, and the next group works', async () => {
    const store = new WriteManyStore();
    const acceptor = await StoreAcceptor.open('a1', store);
    const age = { counter: 0, id: 'p' };
    const working = store.writeMany.bind(store);
    store.writeMany = () => Promise.reject(new Error('I/O error'));
    const outcomes = await Promise.allSettled([acceptor.prepare('a', age, { counter: 1, id: 'p' }), acceptor.rejectByAge([{ counter: 4, id: 'q' }])]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(acceptor.minimumAge('q')).toBe(0);
    store.writeMany = working;
    await acceptor.rejectByAge([{ counter: 4, id: 'q' }]);
    expect(acceptor.minimumAge('q')).toBe(4);
  });

  it('writes removals and age raises alone while the storage is full, so they never share a refused group', async () => {
    const store = new WriteManyStore();
    const acceptor = await StoreAcceptor.open('a1', store);
    const age = { counter: 0, id: 'p' };
    const tombstone = { counter: 1, id: 'p' };
    await acceptor.prepare('gone', age, tombstone);
    await acceptor.accept('gone', age, tombstone, null);
    store.setLimits({ maxBytes: store.capacity().usedBytes });
    await expect(acceptor.accept('new', age, { counter: 2, id: 'p' }, new Uint8Array([1]))).rejects.toThrow(StorageFullError);
    expect(acceptor.storageStatus().state).toBe('full');
    store.groups = [];
    const [promised, removed] = await Promise.all([
      acceptor.prepare('other', age, { counter: 3, id: 'p' }),
      acceptor.removeIfEqual('gone', { ballot: tombstone, state: null }),
      acceptor.rejectByAge([{ counter: 4, id: 'q' }]),
    ]);
    expect([promised.type, removed.type]).toEqual(['promised', 'removed']);
    // The promise (it does not grow the data) went as a group; the other two by themselves.
    expect(store.groups).toEqual([['put']]);
    expect(acceptor.minimumAge('q')).toBe(4);
    expect(await store.get('gone')).toBeUndefined();
  });

  it('negative control: a writeMany that acknowledges before it writes fails the durability cases', async () => {
    await expectLazyGroupsCaught(() => new WriteManyStore(true));
  });
});

describe('negative control: the storage-full cases catch an acceptor that ignores a full store, or keeps a refused write', () => {
  /** A store that, once `full`, writes the record and then reports the write refused: it keeps what it refused. */
  class LeakyStore extends MemoryStore {
    full = false;
    override async put(key: string, record: KeyRecord): Promise<void> {
      await super.put(key, record);
      if (this.full) throw new StorageFullError('full (but the record was written anyway)');
    }
  }

  function collectCases(subject: () => Promise<ConformanceSubject>): Array<{ name: string; body: () => Promise<void> }> {
    const cases: Array<{ name: string; body: () => Promise<void> }> = [];
    const collect = Object.assign((name: string, body: () => Promise<void>) => void cases.push({ name, body }), { skip: () => {} });
    describeAcceptorConformance('storage', subject, { describe: (_name, body) => body(), it: collect, fullStorage: 'refuses-growth' });
    return cases;
  }

  it('a store whose fill changes nothing fails: a value for a new key is not refused', async () => {
    const cases = collectCases(async () => ({ ...(await storeSubject(new MemoryStore())), storage: { fill: async () => {}, free: async () => {} } }));
    const refuses = cases.find((c) => c.name.startsWith('refuses values for new keys'));
    expect(refuses).toBeDefined();
    await expect(refuses?.body()).rejects.toThrow(/expected a rejection with ERR_STORAGE_FULL/);
  });

  it('a store that keeps a write it refused fails: the refused value is there after room returns', async () => {
    const cases = collectCases(async () => {
      const store = new LeakyStore();
      return { ...(await storeSubject(store)), storage: { fill: async () => void (store.full = true), free: async () => void (store.full = false) } };
    });
    const refuses = cases.find((c) => c.name.startsWith('refuses values for new keys'));
    await expect(refuses?.body()).rejects.toThrow(/a refused write must leave/);
    const passes = cases.find((c) => c.name.startsWith('takes writes again by itself'));
    await expect(passes?.body()).resolves.toBeUndefined();
  });
});
