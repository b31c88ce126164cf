/**
 * LmdbStore: the store contract (exact round trips, owned copies, floor and ages that only rise
 * under concurrent calls, scan paging, bad keys, close), the acceptor conformance suite over it
 * (crash = dropping the store and acceptor without closing, then reopening the directory), and a
 * real crash: a child process writing as fast as it can is SIGKILLed, and every write it
 * acknowledged must be on disk.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fc } from '@fast-check/vitest';
import { open } from 'lmdb';
import { afterEach, describe, expect, it } from 'vitest';
import { NO_ANCESTRY } from '../../src/core/ancestry.js';
import { type Ballot, ZERO_BALLOT, compareBallots, maxBallot } from '../../src/core/ballot.js';
import { InvalidArgumentError, UnavailableError } from '../../src/errors.js';
import { LmdbStore } from '../../src/lmdb/lmdb-store.js';
import type { StoreMeta } from '../../src/acceptor/acceptor-store.js';
import type { KeyRecord } from '../../src/core/acceptor-rules.js';
import { CorruptRecordError, decodeMeta, encodeKey, encodeMeta } from '../../src/lmdb/record-codec.js';
import { StoreAcceptor } from '../../src/acceptor/store-acceptor.js';
import { type ConformanceSubject, describeAcceptorConformance } from '../../src/testing/acceptor-conformance.js';
import { crashKey, crashRecord } from './lmdb-crash-records.js';

// --- Temp directories, removed after each test --------------------------------------------------

const dirs: string[] = [];
const stores: LmdbStore[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'caspaxos-lmdb-'));
  dirs.push(dir);
  return dir;
}

async function openStore(path: string = tempDir(), durable = true): Promise<LmdbStore> {
  const store = await LmdbStore.open({ path, durable });
  stores.push(store);
  return store;
}

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const r1: KeyRecord = { promise: { counter: 3, id: 'p1' }, accepted: { counter: 2, id: 'p1' }, state: Uint8Array.from([1, 2, 3]), ancestry: NO_ANCESTRY };

type SyncMode = 'commit' | 'overlapping';
const SYNC_MODES: readonly SyncMode[] = ['commit', 'overlapping'];

function b(counter: number, id = 'p1'): Ballot {
  return { counter, id };
}

function plain(meta: StoreMeta): { floor: Ballot; ages: Record<string, number> } {
  return { floor: meta.floor, ages: Object.fromEntries(meta.ages.map((a) => [a.id, a.counter])) };
}

// --- The store contract -------------------------------------------------------------------------

describe('LmdbStore', () => {
  for (const syncMode of SYNC_MODES) {
    it(`putMany writes every record in one call, and writes nothing when one is bad (syncMode ${syncMode})`, async () => {
      const path = tempDir();
      const store = await LmdbStore.open({ path, syncMode });
      stores.push(store);
      const entries = Array.from({ length: 100 }, (_, i) => [`k${i}`, { ...r1, state: Uint8Array.from([i]) }] as const);
      await store.putMany(entries);
      for (const [key, record] of entries) expect(await store.get(key)).toEqual(record);
      await expect(store.putMany([['fine', r1], ['x'.repeat(5000), r1]])).rejects.toThrow(InvalidArgumentError);
      await expect(store.putMany([['fine', r1], ['bad', { ...r1, promise: { counter: -1, id: 'p1' } }]])).rejects.toThrow();
      expect(await store.get('fine')).toBeUndefined();
      await store.putMany([]);
    });
  }

  for (const syncMode of SYNC_MODES) {
    it(`writeMany applies records, removals and age raises in one transaction, floor and ages only rising (syncMode ${syncMode})`, async () => {
      const path = tempDir();
      const store = await LmdbStore.open({ path, syncMode });
      stores.push(store);
      await store.putMany([
        ['old', r1],
        ['kept', r1],
      ]);
      await store.raiseAges([{ counter: 5, id: 'q' }]);
      await store.writeMany([
        { kind: 'put', key: 'new', record: { ...r1, state: Uint8Array.from([9]) } },
        { kind: 'remove', key: 'old', floor: b(7) },
        { kind: 'remove', key: 'absent', floor: b(4) },
        { kind: 'raiseAges', ages: [{ counter: 3, id: 'q' }, { counter: 2, id: 'r' }] },
        { kind: 'raiseAges', ages: [{ counter: 6, id: 'r' }] },
      ]);
      expect(await store.get('old')).toBeUndefined();
      expect(await store.get('kept')).toEqual(r1);
      expect(await store.get('new')).toEqual({ ...r1, state: Uint8Array.from([9]) });
      // The higher of the two floors; q keeps 5 (3 would lower it); r gets the higher raise.
      expect(plain(await store.loadMeta())).toEqual({ floor: b(7), ages: { q: 5, r: 6 } });
      // A lower floor and lower ages change nothing.
      await store.writeMany([
        { kind: 'remove', key: 'kept', floor: b(1) },
        { kind: 'raiseAges', ages: [{ counter: 1, id: 'r' }] },
      ]);
      expect(await store.get('kept')).toBeUndefined();
      expect(plain(await store.loadMeta())).toEqual({ floor: b(7), ages: { q: 5, r: 6 } });
      await store.writeMany([]);
    });

    it(`writeMany writes nothing when one write is bad or the meta is damaged (syncMode ${syncMode})`, async () => {
      const path = tempDir();
      const store = await LmdbStore.open({ path, syncMode });
      stores.push(store);
      await store.put('k', r1);
      const bad: Array<Parameters<LmdbStore['writeMany']>[0]> = [
        [{ kind: 'put', key: 'fine', record: r1 }, { kind: 'remove', key: 'k', floor: { counter: -1, id: 'p1' } }],
        [{ kind: 'remove', key: 'k', floor: b(9) }, { kind: 'raiseAges', ages: [{ counter: 1.5, id: 'q' }] }],
        [{ kind: 'remove', key: 'k', floor: b(9) }, { kind: 'put', key: 'x'.repeat(5000), record: r1 }],
        [{ kind: 'put', key: 'fine', record: r1 }, { kind: 'nonsense', key: 'k' } as never],
      ];
      for (const writes of bad) await expect(store.writeMany(writes)).rejects.toThrow(InvalidArgumentError);
      expect(await store.get('fine')).toBeUndefined();
      expect(await store.get('k')).toEqual(r1);
      expect(plain(await store.loadMeta())).toEqual({ floor: ZERO_BALLOT, ages: {} });
      // A damaged meta: a group that would rewrite it fails whole, before writing anything.
      const raw = open<Uint8Array, Uint8Array>({ path, keyEncoding: 'binary', encoding: 'binary', overlappingSync: syncMode === 'overlapping' });
      await raw.put(new Uint8Array([0]), Uint8Array.from([1, 2, 3]));
      await expect(store.writeMany([{ kind: 'put', key: 'fine', record: r1 }, { kind: 'remove', key: 'k', floor: b(9) }])).rejects.toThrow(CorruptRecordError);
      expect(await store.get('fine')).toBeUndefined();
      expect(await store.get('k')).toEqual(r1);
      // Records alone do not read the meta: they still go through.
      await store.writeMany([{ kind: 'put', key: 'fine', record: r1 }]);
      expect(await store.get('fine')).toEqual(r1);
      await raw.close();
    });
  }

  it('starts empty', async () => {
    const store = await openStore();
    expect(await store.loadMeta()).toEqual({ floor: ZERO_BALLOT, ages: [] });
    expect(await store.get('k')).toBeUndefined();
    expect(await store.scan({ limit: 10 })).toEqual([]);
    expect(store.durable).toBe(true);
    expect(store.syncMode).toBe('commit');
    expect(store.maxKeyBytes).toBe(1978);
  });

  it('round-trips records exactly: null vs empty state, unknown vs empty ancestry, odd ids', async () => {
    const store = await openStore();
    const records: Record<string, KeyRecord> = {
      a: r1,
      b: { ...r1, state: null, ancestry: undefined },
      c: { ...r1, state: new Uint8Array(0), ancestry: [] },
      d: { promise: b(9, '\uD800x'), accepted: b(8, '🦀'), state: new Uint8Array(70_000).fill(7), ancestry: [b(4, '…'), b(3, 'プ')] },
      '': { ...r1, promise: b(Number.MAX_SAFE_INTEGER) },
    };
    await Promise.all(Object.entries(records).map(([k, r]) => store.put(k, r)));
    for (const [k, r] of Object.entries(records)) {
      const got = await store.get(k);
      expect(got).toStrictEqual({ ...r, ancestry: r.ancestry === undefined ? undefined : [...r.ancestry] });
      expect(got?.state === null).toBe(r.state === null);
      expect(got?.ancestry === undefined).toBe(r.ancestry === undefined);
    }
  });

  it('keeps its own copies: the caller may reuse its buffers, and gets fresh ones', async () => {
    const store = await openStore();
    const state = Uint8Array.from([1, 2, 3]);
    const pending = store.put('k', { ...r1, state });
    state.fill(9); // reused before the write even resolved
    await pending;
    const got = await store.get('k');
    expect(got?.state).toEqual(Uint8Array.from([1, 2, 3]));
    got?.state?.fill(0);
    expect((await store.get('k'))?.state).toEqual(Uint8Array.from([1, 2, 3]));
  });

  it('put replaces, remove deletes the record and raises the floor, never lowering it', async () => {
    const store = await openStore();
    await store.put('k', r1);
    await store.put('k', { ...r1, accepted: b(3) });
    expect((await store.get('k'))?.accepted).toEqual(b(3));
    await store.remove('k', b(5));
    expect(await store.get('k')).toBeUndefined();
    expect((await store.loadMeta()).floor).toEqual(b(5));
    await store.remove('absent', b(4, 'zz'));
    expect((await store.loadMeta()).floor).toEqual(b(5));
    await store.remove('absent', b(5, 'q'));
    expect((await store.loadMeta()).floor).toEqual(b(5, 'q'));
  });

  it('raiseAges raises each listed id to its highest listed counter and never lowers one', async () => {
    const store = await openStore();
    await store.raiseAges([{ counter: 2, id: 'p1' }, { counter: 5, id: 'p2' }, { counter: 3, id: 'p1' }]);
    await store.raiseAges([{ counter: 1, id: 'p1' }, { counter: 0, id: 'p3' }]);
    expect(plain(await store.loadMeta()).ages).toEqual({ p1: 3, p2: 5 });
    await store.remove('x', b(7));
    await store.raiseAges([{ counter: 6, id: 'p2' }]);
    expect(plain(await store.loadMeta())).toEqual({ floor: b(7), ages: { p1: 3, p2: 6 } });
  });

  it('under concurrent remove and raiseAges calls, the floor and each age end at the maximum (property)', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('floor' as const), ballot: fc.record({ counter: fc.integer({ min: 1, max: 50 }), id: fc.constantFrom('a', 'b') }) }),
      fc.record({ kind: fc.constant('ages' as const), ages: fc.array(fc.record({ counter: fc.nat(50), id: fc.constantFrom('p1', 'p2', 'p3') }), { maxLength: 3 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        const store = await openStore();
        await Promise.all(ops.map((o) => (o.kind === 'floor' ? store.remove('k', o.ballot) : store.raiseAges(o.ages))));
        let floor: Ballot = ZERO_BALLOT;
        const ages: Record<string, number> = {};
        for (const o of ops) {
          if (o.kind === 'floor') floor = maxBallot(floor, o.ballot);
          else for (const a of o.ages) if (a.counter > (ages[a.id] ?? 0)) ages[a.id] = a.counter;
        }
        expect(plain(await store.loadMeta())).toEqual({ floor, ages });
        await store.close();
      }),
      { numRuns: 25 },
    );
  });

  it('negative control: the same check catches a read-then-write floor update (lost update)', async () => {
    const path = tempDir();
    const store = await openStore(path);
    const raw = open<Uint8Array, Uint8Array>({ path, keyEncoding: 'binary', encoding: 'binary', overlappingSync: false });
    const META = new Uint8Array([0]);
    const racyRaise = async (floor: Ballot): Promise<void> => {
      const bytes = raw.get(META);
      const meta = bytes === undefined ? { floor: ZERO_BALLOT, ages: [] } : decodeMeta(bytes);
      await Promise.resolve(); // the other calls read the same meta meanwhile
      if (compareBallots(floor, meta.floor) > 0) await raw.put(META, encodeMeta({ ...meta, floor }));
    };
    await Promise.all([b(5), b(9), b(3)].map(racyRaise));
    expect((await store.loadMeta()).floor).not.toEqual(b(9));
    await raw.close();
  });

  it('scan pages through every record once, in encoded-key order, resuming strictly after a key', async () => {
    const store = await openStore();
    const keys = ['', 'a', 'A', 'a/b', 'ключ', '键🔑', '\uD800', 'z\uDFFF', 'x'.repeat(1977), '\u0000', 'b', 'ba'];
    await Promise.all(keys.map((k, i) => store.put(k, { ...r1, accepted: b(i + 1) })));
    const expected = [...keys].sort((x, y) => Buffer.compare(encodeKey(x), encodeKey(y)));
    for (const limit of [1, 2, 5, 100]) {
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.scan({ after, limit });
        expect(page.length).toBeLessThanOrEqual(limit);
        for (const [k, r] of page) {
          seen.push(k);
          expect(r.accepted).toEqual(b(keys.indexOf(k) + 1));
        }
        if (page.length < limit) break;
        after = page[page.length - 1]?.[0];
      }
      expect(seen).toEqual(expected);
    }
    // Resuming after a key that was removed meanwhile still goes on from its place.
    await store.remove('a', ZERO_BALLOT);
    const page = await store.scan({ after: 'a', limit: 1 });
    expect(page.map(([k]) => k)).toEqual([expected[expected.indexOf('a') + 1]]);
    // The meta entry is never listed.
    await store.raiseAges([{ counter: 1, id: 'p1' }]);
    expect((await store.scan({ limit: 100 })).map(([k]) => k)).toEqual(expected.filter((k) => k !== 'a'));
  });

  it('rejects keys LMDB cannot store with InvalidArgumentError, before writing anything', async () => {
    const store = await openStore();
    const longest = 'x'.repeat(store.maxKeyBytes - 1);
    await store.put(longest, r1);
    expect((await store.get(longest))?.accepted).toEqual(r1.accepted);
    const tooLong = ['x'.repeat(store.maxKeyBytes), 'é'.repeat(989), '\uD800'.repeat(989)];
    for (const key of tooLong) {
      await expect(store.put(key, r1)).rejects.toThrow(InvalidArgumentError);
      await expect(store.put(key, r1)).rejects.toThrow(/key too long for LMDB/);
      await expect(store.get(key)).rejects.toThrow(InvalidArgumentError);
      await expect(store.remove(key, b(50))).rejects.toThrow(InvalidArgumentError);
      await expect(store.scan({ after: key, limit: 1 })).rejects.toThrow(InvalidArgumentError);
    }
    await expect(store.put(42 as unknown as string, r1)).rejects.toThrow(InvalidArgumentError);
    // The longest key is the only record, and the floor did not move.
    expect((await store.scan({ limit: 10 })).map(([k]) => k)).toEqual([longest]);
    expect((await store.loadMeta()).floor).toEqual(ZERO_BALLOT);
  });

  it('rejects malformed records, floors, ages and limits, and changes nothing', async () => {
    const store = await openStore();
    await expect(store.put('k', { ...r1, promise: b(-1) })).rejects.toThrow(InvalidArgumentError);
    await expect(store.put('k', { ...r1, state: 'x' as unknown as Uint8Array })).rejects.toThrow(InvalidArgumentError);
    await expect(store.remove('k', { counter: 1, id: '' })).rejects.toThrow(InvalidArgumentError);
    await expect(store.raiseAges([{ counter: 1, id: 'p1' }, { counter: -1, id: 'p2' }])).rejects.toThrow(InvalidArgumentError);
    await expect(store.raiseAges('p1' as unknown as [])).rejects.toThrow(InvalidArgumentError);
    await expect(store.scan({ limit: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(store.scan({ limit: 1.5 })).rejects.toThrow(InvalidArgumentError);
    expect(await store.get('k')).toBeUndefined();
    expect(await store.loadMeta()).toEqual({ floor: ZERO_BALLOT, ages: [] });
  });

  it('reports a damaged value as CorruptRecordError naming the key, and refuses to open over damaged meta', async () => {
    const path = tempDir();
    const store = await openStore(path);
    await store.put('k', r1);
    const raw = open<Uint8Array, Uint8Array>({ path, keyEncoding: 'binary', encoding: 'binary', overlappingSync: false });
    const value = raw.get(encodeKey('k'));
    if (value === undefined) throw new Error('the record is not under its encoded key');
    const damaged = new Uint8Array(value);
    const at = damaged.length - 6; // a byte of the state
    damaged[at] = (damaged[at] as number) ^ 1;
    await raw.put(encodeKey('k'), damaged);
    await expect(store.get('k')).rejects.toThrow(CorruptRecordError);
    await expect(store.get('k')).rejects.toThrow(/corrupt record of key "k" in .*checksum mismatch/);
    await expect(store.scan({ limit: 10 })).rejects.toThrow(CorruptRecordError);
    await raw.put(new Uint8Array([0]), Uint8Array.from([1, 2, 3]));
    await store.close();
    await expect(LmdbStore.open({ path })).rejects.toThrow(/corrupt meta in/);
    await raw.close();
  });

  it('close waits for pending writes; later calls reject with UnavailableError; data survives reopening', async () => {
    const path = tempDir();
    const store = await LmdbStore.open({ path });
    const pending = Promise.all(Array.from({ length: 50 }, (_, i) => store.put(`k${i}`, r1)));
    await store.raiseAges([{ counter: 4, id: 'p1' }]);
    await store.close();
    await pending;
    await store.close(); // idempotent
    for (const call of [store.get('k0'), store.put('k', r1), store.remove('k', b(1)), store.raiseAges([]), store.scan({ limit: 1 }), store.loadMeta()]) {
      await expect(call).rejects.toThrow(UnavailableError);
    }
    const again = await openStore(path);
    expect((await again.scan({ limit: 100 })).length).toBe(50);
    expect(plain(await again.loadMeta()).ages).toEqual({ p1: 4 });
  });

  it('validates its options, and makes a directory even when the path has an extension', async () => {
    await expect(LmdbStore.open({ path: '' })).rejects.toThrow(InvalidArgumentError);
    await expect(LmdbStore.open(undefined as unknown as { path: string })).rejects.toThrow(InvalidArgumentError);
    await expect(LmdbStore.open({ path: tempDir(), durable: 'yes' as unknown as boolean })).rejects.toThrow(InvalidArgumentError);
    await expect(LmdbStore.open({ path: tempDir(), syncMode: 'never' as unknown as SyncMode })).rejects.toThrow(/syncMode must be/);
    const path = join(tempDir(), 'acceptor.db');
    const store = await openStore(path);
    await store.put('k', r1);
    expect(statSync(path).isDirectory()).toBe(true);
  });

  it('syncMode overlapping keeps the same contract (the conformance suite and the crash test run it too)', async () => {
    const store = await LmdbStore.open({ path: tempDir(), syncMode: 'overlapping' });
    stores.push(store);
    expect(store.syncMode).toBe('overlapping');
    await Promise.all([store.put('k', r1), store.remove('j', b(4)), store.raiseAges([{ counter: 2, id: 'p1' }]), store.remove('i', b(3))]);
    expect(await store.get('k')).toStrictEqual({ ...r1, ancestry: [] });
    expect(plain(await store.loadMeta())).toEqual({ floor: b(4), ages: { p1: 2 } });
  });

  it('durable: false works the same (without syncing)', async () => {
    const store = await openStore(tempDir(), false);
    expect(store.durable).toBe(false);
    expect(store.syncMode).toBe('commit');
    await store.put('k', r1);
    await store.remove('j', b(2));
    expect((await store.get('k'))?.state).toEqual(r1.state);
    expect((await store.loadMeta()).floor).toEqual(b(2));
  });

  it('refuses to open a directory this process has open with other settings (lmdb would share its flags)', async () => {
    const dir = tempDir();
    const unsafe = await LmdbStore.open({ path: dir, durable: false });
    // A durable store here would get the open environment's noSync and acknowledge unsynced writes.
    await expect(LmdbStore.open({ path: dir })).rejects.toThrow(/already open in this process with durable: false/);
    await expect(LmdbStore.open({ path: `${dir}/.`, syncMode: 'overlapping' })).rejects.toBeInstanceOf(InvalidArgumentError);
    // The same settings share it (a store dropped without close, then reopened: a crash in a test).
    const again = await LmdbStore.open({ path: dir, durable: false });
    await Promise.all([again.close(), unsafe.close(), unsafe.close()]);
    // Once every handle closed, the directory opens with any settings.
    const durable = await LmdbStore.open({ path: dir });
    expect(durable.durable).toBe(true);
    await durable.close();
  });
});

// --- The acceptor conformance suite over LmdbStore ----------------------------------------------

async function lmdbSubject(syncMode: SyncMode): Promise<ConformanceSubject> {
  const path = mkdtempSync(join(tmpdir(), 'caspaxos-lmdb-conf-'));
  const opened: LmdbStore[] = [];
  const start = async (): Promise<StoreAcceptor> => {
    const store = await LmdbStore.open({ path, syncMode });
    opened.push(store);
    return StoreAcceptor.open('a1', store);
  };
  let acceptor = await start();
  // Full: a quota of 0 bytes (the data always exceeds it); room: the default quota again.
  const quota = (maxDataBytes: number | `${number}%`): void => {
    for (const store of opened) store.setMaxDataBytes(maxDataBytes);
  };
  return {
    acceptor,
    async crashAndRestart() {
      // Dropped without closing the acceptor or the store, as a killed process would leave them;
      // the new store reads the directory back (lmdb shares one environment per path in a process).
      acceptor = await start();
      return acceptor;
    },
    storage: {
      fill: async () => quota(0),
      free: async () => quota('90%'),
    },
    async close() {
      await acceptor.close();
      for (const store of opened) await store.close();
      rmSync(path, { recursive: true, force: true });
    },
  };
}

for (const syncMode of SYNC_MODES) {
  describeAcceptorConformance(`StoreAcceptor over LmdbStore (syncMode ${syncMode})`, () => lmdbSubject(syncMode), { describe, it, fullStorage: 'refuses-growth' });
}

// --- A real crash: SIGKILL a writing child process ----------------------------------------------

const CHILD = fileURLToPath(new URL('./lmdb-crash-child.ts', import.meta.url));

interface ChildRun {
  readonly lines: string[];
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/** Runs the child on `dir` until it has acknowledged `acks` writes, then kills it with SIGKILL. */
function runAndKill(dir: string, syncMode: SyncMode, grouped: boolean, acks: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, syncMode, ...(grouped ? ['grouped'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let partial = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
      if (!killed && lines.length > acks) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    // 'close': stdout fully read. A line cut by the kill (no newline yet) is not an acknowledgement.
    child.on('close', (_code, signal) => resolve({ lines, signal, stderr }));
  });
}

describe('LmdbStore survives SIGKILL', () => {
  const runs = SYNC_MODES.flatMap((syncMode) => [false, true].map((grouped) => [syncMode, grouped] as const));
  it.each(runs)('keeps every write the killed process acknowledged, exactly (syncMode %s, group commit %s)', async (syncMode, grouped) => {
    const dir = tempDir();
    // Two runs over the same directory: the second also starts from a directory a kill left behind.
    const acknowledged = { puts: [] as number[], age: 0, floor: ZERO_BALLOT as Ballot };
    for (const acks of [3000, 5000]) {
      const run = await runAndKill(dir, syncMode, grouped, acks);
      expect(run.signal, `the child ended on its own: ${run.stderr}`).toBe('SIGKILL');
      expect(run.lines[0]).toBe('ready');
      for (const line of run.lines.slice(1)) {
        const [kind, n] = line.split(' ') as [string, string];
        const i = Number(n);
        if (kind === 'put') acknowledged.puts.push(i);
        else if (kind === 'age') acknowledged.age = Math.max(acknowledged.age, i);
        else if (kind === 'floor') acknowledged.floor = maxBallot(acknowledged.floor, b(i, 'gc'));
        else throw new Error(`unexpected line from the child: ${line}`);
      }
    }
    expect(acknowledged.puts.length).toBeGreaterThan(7000);
    expect(acknowledged.age).toBeGreaterThan(0);
    expect(acknowledged.floor.counter).toBeGreaterThan(0);

    const store = await LmdbStore.open({ path: dir, syncMode });
    stores.push(store);
    const missing: number[] = [];
    for (const i of acknowledged.puts) {
      const got = await store.get(crashKey(i));
      const want = crashRecord(i);
      if (got === undefined) missing.push(i);
      else expect(got).toStrictEqual({ ...want, ancestry: want.ancestry === undefined ? undefined : [...want.ancestry] });
    }
    expect(missing, 'acknowledged writes lost in the crash').toEqual([]);
    const meta = await store.loadMeta();
    expect(compareBallots(meta.floor, acknowledged.floor)).toBeGreaterThanOrEqual(0);
    expect(plain(meta).ages['gc'] ?? 0).toBeGreaterThanOrEqual(acknowledged.age);
  }, 120_000);
});
