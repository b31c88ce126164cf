/**
 * Deletion with garbage collection in the background: retries after injected failures, giving up
 * (the tombstone stays), sweeps after a crash (tombstones and creation markers of the previous
 * release), one collection per delete, the counts, the periodic sweeper, and close() with
 * collections pending.
 */
import { describe, expect, test, vi } from 'vitest';
import { until } from '../support/cluster.js';
import { MemoryAcceptor, MemoryProposer, type Sleep, type TraceEvent } from '../../src/index.js';
import { DEFAULT_EPOCH_KEY, KeyValueStore } from '../../src/kv/index.js';
import { encodeCreationMarker } from '../../src/kv/record-format.js';
import { FaultyAcceptor } from '../support/faulty-acceptor.js';
import { enc } from '../support/text.js';

function cluster(): { inner: MemoryAcceptor[]; acceptors: FaultyAcceptor[]; proposers: MemoryProposer[] } {
  const inner = ['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address));
  const acceptors = inner.map((a) => new FaultyAcceptor(a));
  return { inner, acceptors, proposers: ['p1', 'p2'].map((id) => new MemoryProposer(id, acceptors)) };
}

/** True when no acceptor holds a record of `key`. */
const gone = (inner: readonly MemoryAcceptor[], key: string): boolean => inner.every((a) => a.inspect(key) === undefined);
/** True when every acceptor holds the tombstone of `key`. */
const tombstoned = (inner: readonly MemoryAcceptor[], key: string): boolean => inner.every((a) => a.inspect(key)?.state === null);

/** A sleep that never waits, and records what it was asked. */
function recordingSleep(): Sleep & { calls: number[] } {
  const calls: number[] = [];
  const sleep = ((ms: number, signal?: AbortSignal) => {
    calls.push(ms);
    signal?.throwIfAborted();
    return Promise.resolve();
  }) as Sleep & { calls: number[] };
  sleep.calls = calls;
  return sleep;
}

function silentLogger() {
  return { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
}

describe('background collection', () => {
  test('delete collects the tombstone from every acceptor', async () => {
    const { inner, acceptors, proposers } = cluster();
    const s = new KeyValueStore<number>({ proposer: proposers[0]!, gc: { proposers, acceptors } });
    await s.set('k', 1);
    await s.delete('k');
    expect(s.pendingCollections).toBe(1);
    await s.idle();
    expect(s.pendingCollections).toBe(0);
    expect(gone(inner, 'k')).toBe(true);
  });

  test('retried with backoff after injected failures until done', async () => {
    const { inner, acceptors, proposers } = cluster();
    const events: TraceEvent[] = [];
    const sleep = recordingSleep();
    const s = new KeyValueStore<number>({
      proposer: proposers[0]!,
      gc: { proposers, acceptors, sleep, tracer: (e) => events.push(e), retry: { baseDelayMs: 5 }, random: () => 0.5 },
    });
    await s.set('k', 1);
    // a2 loses its next 3 removal requests: step d fails 3 times.
    const rule = acceptors[1]!.addRule({ method: 'removeIfEqual', when: 'request', action: 'drop', times: 3 });
    await s.delete('k');
    await s.idle();
    expect(rule.hits).toBe(3);
    expect(gone(inner, 'k')).toBe(true);
    const removeSteps = events.filter((e) => e.type === 'gc-step' && e.step === 'remove').map((e) => (e as { outcome: string }).outcome);
    expect(removeSteps).toEqual(['started', 'failed', 'started', 'failed', 'started', 'failed', 'started', 'completed']);
    // The first retry is immediate, later ones back off (jitter 0.5 of a cap doubling from 5 ms).
    expect(sleep.calls).toEqual([0, 2.5, 5]);
  });

  test('a non-retryable failure or exhausted attempts: a warning, the tombstone stays, a sweep collects it later', async () => {
    const { inner, acceptors, proposers } = cluster();
    const logger = silentLogger();
    const s = new KeyValueStore<number>({ proposer: proposers[0]!, logger, gc: { proposers, acceptors, sleep: recordingSleep(), retry: { attempts: 2 } } });
    await s.set('k', 1);
    const rule = acceptors[2]!.addRule({ method: 'rejectByAge', when: 'request', action: 'drop' });
    await s.delete('k');
    await s.idle();
    expect(rule.hits).toBe(2);
    expect(tombstoned(inner, 'k')).toBe(true);
    expect(logger.warn).toHaveBeenCalledWith(expect.objectContaining({ key: 'k', attempt: 2 }), expect.stringMatching(/tombstone stays/));
    rule.remove();
    const report = await s.sweep();
    expect(report).toMatchObject({ keys: 1, tombstones: 1, collected: 1, failed: 0 });
    expect(gone(inner, 'k')).toBe(true);
  });

  test('a key written again before its collection runs is left alone', async () => {
    const { inner, acceptors, proposers } = cluster();
    // random: 0 makes p1 run the collection's read, so p2's queue for the key stays free.
    const s = new KeyValueStore<number>({ proposer: proposers[0]!, gc: { proposers, acceptors, random: () => 0 } });
    // Hold the collection's first step (its full identity read needs every accept) until the key lives again.
    acceptors[0]!.addRule({ method: 'accept', key: 'k', when: 'request', action: 'hold', times: 1, match: () => s.pendingCollections > 0 });
    await s.set('k', 1);
    await s.delete('k');
    await until(() => acceptors[0]!.heldOf('accept').length === 1, 'the held message or the sleeping sweep', 200);
    const version = await new KeyValueStore<number>({ proposer: proposers[1]! }).set('k', 2);
    await acceptors[0]!.releaseAll();
    await s.idle();
    expect(await s.get('k')).toEqual({ value: 2, version });
    expect(inner.every((a) => a.inspect('k')?.state !== null)).toBe(true);
  });

  test('with ageRaiseWindowMs, the collections of a window share one age raise per acceptor, and every tombstone goes', async () => {
    const raisesPerAcceptor = async (ageRaiseWindowMs: number | undefined): Promise<number[]> => {
      const { inner, acceptors, proposers } = cluster();
      const counts = acceptors.map(() => 0);
      acceptors.forEach((a, i) => {
        const rejectByAge = a.rejectByAge.bind(a);
        a.rejectByAge = (ages, opts) => {
          counts[i]!++;
          return rejectByAge(ages, opts);
        };
      });
      const s = new KeyValueStore<number>({ proposer: proposers[0]!, gc: { proposers, acceptors, ageRaiseWindowMs } });
      const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
      for (const key of keys) await s.set(key, 1);
      await Promise.all(keys.map((key) => s.delete(key)));
      await s.idle();
      for (const key of keys) expect(gone(inner, key), key).toBe(true);
      expect(s.collectionStats).toMatchObject({ scheduled: 10, collected: 10, failed: 0 });
      return counts;
    };
    // The ten collections run side by side and reach step c within the window.
    expect(await raisesPerAcceptor(5)).toEqual([1, 1, 1]);
    // Without it (the default) each sends its own.
    expect(await raisesPerAcceptor(undefined)).toEqual([10, 10, 10]);
  });

  test('update returning undefined schedules a collection like delete', async () => {
    const { inner, acceptors, proposers } = cluster();
    const s = new KeyValueStore<number>({ proposer: proposers[0]!, gc: { proposers, acceptors } });
    await s.set('k', 1);
    await s.update('k', () => undefined);
    await s.idle();
    expect(gone(inner, 'k')).toBe(true);
  });
});

describe('sweep', () => {
  test('collects a tombstone left by a process that died between delete and collection', async () => {
    const { inner, acceptors, proposers } = cluster();
    // The crashed process: wrote a value, then its tombstone, and never collected it.
    const crashed = new KeyValueStore<number>({ proposer: proposers[1]! });
    await crashed.set('k', 1);
    await crashed.delete('k');
    await crashed.set('live', 2);
    expect(tombstoned(inner, 'k')).toBe(true);
    const s = new KeyValueStore<number>({ proposer: proposers[0]!, gc: { proposers, acceptors } });
    const report = await s.sweep();
    expect(report).toEqual({ keys: 2, tombstones: 1, collected: 1, staleMarkers: 0, foreign: 0, failed: 0 });
    expect(gone(inner, 'k')).toBe(true);
    expect((await s.get('live'))?.value).toBe(2);
    expect(inner.every((a) => a.inspect(DEFAULT_EPOCH_KEY) !== undefined)).toBe(true); // never collected
  });

  test('a creation marker (left by the previous release) is turned into a tombstone and collected by the next sweep', async () => {
    const { inner, acceptors, proposers } = cluster();
    const s = new KeyValueStore<number>({ proposer: proposers[0]!, gc: { proposers, acceptors } });
    await proposers[1]!.propose('stale', () => encodeCreationMarker(1n));
    expect(await s.sweep()).toMatchObject({ keys: 1, tombstones: 1, collected: 1, staleMarkers: 1 });
    expect(gone(inner, 'stale')).toBe(true);
  });

  test('a sweep leaves a tombstone whose collection runs in this store to it: one collection per delete', async () => {
    const { inner, acceptors, proposers } = cluster();
    const s = new KeyValueStore<number>({ proposer: proposers[0]!, gc: { proposers, acceptors, random: () => 0 } });
    await s.set('k', 1);
    await s.set('other', 1);
    // Hold the collection at its step c until the sweep is done.
    const rule = acceptors[0]!.addRule({ method: 'rejectByAge', when: 'request', action: 'hold', times: 1 });
    await s.delete('k');
    await until(() => acceptors[0]!.held.length === 1, 'the held step c');
    expect(await s.sweep()).toMatchObject({ keys: 2, tombstones: 0, collected: 0 });
    await acceptors[0]!.releaseAll();
    await s.idle();
    expect(rule.hits).toBe(1);
    expect(gone(inner, 'k')).toBe(true);
    expect(s.collectionStats).toEqual({ scheduled: 1, runs: 1, collected: 1, alive: 0, failed: 0, abandoned: 0 });
  });

  test('collectionStats counts what deletes and sweeps scheduled and how the collections ended', async () => {
    const { acceptors, proposers } = cluster();
    const s = new KeyValueStore<number>({ proposer: proposers[0]!, gc: { proposers, acceptors, sleep: recordingSleep() } });
    expect(s.collectionStats).toEqual({ scheduled: 0, runs: 0, collected: 0, alive: 0, failed: 0, abandoned: 0 });
    for (const key of ['a', 'b', 'c']) {
      await s.set(key, 1);
      await s.delete(key);
    }
    await s.idle();
    const rule = acceptors[1]!.addRule({ method: 'removeIfEqual', when: 'request', action: 'drop', times: 2 });
    await s.delete('d'); // an absent key: its tombstone is collected too, after 2 failed runs
    await s.idle();
    expect(rule.hits).toBe(2);
    expect(s.collectionStats).toEqual({ scheduled: 4, runs: 6, collected: 4, alive: 0, failed: 0, abandoned: 0 });
    expect(await s.sweep()).toMatchObject({ tombstones: 0 });
    expect(s.collectionStats.scheduled).toBe(4);
    expect(new KeyValueStore<number>({ proposer: proposers[0]! }).collectionStats.scheduled).toBe(0);
  });

  test('leaves foreign states alone and counts them', async () => {
    const { inner, acceptors, proposers } = cluster();
    const s = new KeyValueStore<number>({ proposer: proposers[0]!, gc: { proposers, acceptors } });
    await proposers[1]!.propose('foreign', () => enc('not ours'));
    expect(await s.sweep()).toMatchObject({ keys: 1, foreign: 1, tombstones: 0 });
    expect(inner.every((a) => a.inspect('foreign') !== undefined)).toBe(true);
  });

  test('runs every sweepIntervalMs on the injected sleep, until close', async () => {
    const { inner, acceptors, proposers } = cluster();
    let wake: (() => void) | undefined;
    const intervals: number[] = [];
    const sleep: Sleep = (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (ms === 1000) {
          intervals.push(ms);
          wake = resolve;
        } else resolve();
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    await proposers[1]!.propose('k', () => null);
    const s = new KeyValueStore<number>({ proposer: proposers[0]!, gc: { proposers, acceptors, sleep, sweepIntervalMs: 1000 } });
    await until(() => wake !== undefined, 'the held message or the sleeping sweep', 200);
    expect(tombstoned(inner, 'k')).toBe(true);
    const first = wake!;
    wake = undefined;
    first();
    await until(() => wake !== undefined, 'the held message or the sleeping sweep', 200); // the sweep ran and the loop sleeps again
    expect(gone(inner, 'k')).toBe(true);
    expect(intervals).toEqual([1000, 1000]);
    await s.close(); // aborts the sleeping loop
    expect(intervals).toEqual([1000, 1000]);
  });

  test('an aborted sweep rejects with the reason', async () => {
    const { acceptors, proposers } = cluster();
    const s = new KeyValueStore<number>({ proposer: proposers[0]!, gc: { proposers, acceptors } });
    await proposers[1]!.propose('k', () => null);
    const reason = new Error('enough');
    await expect(s.sweep({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    // The next sweep is not blocked by the aborted one.
    expect(await s.sweep()).toMatchObject({ collected: 1 });
  });
});

describe('close', () => {
  test('abandons pending collections safely: the tombstone stays for the next sweep', async () => {
    const { inner, acceptors, proposers } = cluster();
    const s = new KeyValueStore<number>({ proposer: proposers[0]!, gc: { proposers, acceptors } });
    await s.set('k', 1);
    // Step d never gets an answer from a3 (held), so the collection cannot finish.
    acceptors[2]!.addRule({ method: 'removeIfEqual', when: 'request', action: 'hold' });
    await s.delete('k');
    await until(() => acceptors[2]!.heldOf('removeIfEqual').length === 1, 'the held message or the sleeping sweep', 200);
    expect(s.pendingCollections).toBe(1);
    await s.close();
    expect(s.pendingCollections).toBe(0);
    acceptors[2]!.dropAll();
    acceptors[2]!.clearRules();
    // a1 and a2 removed their records, a3 keeps the tombstone; the register reads absent.
    expect(inner[2]!.inspect('k')?.state).toBeNull();
    const next = new KeyValueStore<number>({ proposer: proposers[1]!, gc: { proposers, acceptors } });
    expect(await next.get('k')).toBeUndefined();
    expect(await next.sweep()).toMatchObject({ tombstones: 1, collected: 1 });
    expect(gone(inner, 'k')).toBe(true);
    await next.close();
  });

  test('a delete running when close is called writes its tombstone and schedules nothing', async () => {
    const { inner, acceptors, proposers } = cluster();
    const s = new KeyValueStore<number>({ proposer: proposers[0]!, gc: { proposers, acceptors } });
    await s.set('k', 1);
    const deleting = s.delete('k');
    await s.close();
    await deleting;
    expect(s.pendingCollections).toBe(0);
    expect(tombstoned(inner, 'k')).toBe(true);
  });

  test('await using closes the store', async () => {
    const { acceptors, proposers } = cluster();
    let store: KeyValueStore<number> | undefined;
    {
      await using s = new KeyValueStore<number>({ proposer: proposers[0]!, gc: { proposers, acceptors } });
      store = s;
      await s.set('k', 1);
    }
    await expect(store.get('k')).rejects.toThrow(/closed/);
  });
});
