import { describe, expect, test } from 'vitest';
import type { Ballot } from '../../src/index.js';
import type { CachedRound } from '../../src/core/attempt.js';
import { OneRoundTripCache } from '../../src/proposer/one-round-trip-cache.js';

const b = (counter: number, id = 'p1'): Ballot => ({ counter, id });
const entry = (n: number): CachedRound => ({ next: b(n + 1), state: Uint8Array.of(n), ancestry: [b(n, 'q')], accepted: b(n), doubt: n % 3 });

/** The fields of what `take` returned, copied at once (the cache may reuse the object for the key's next entry). */
const copy = (e: CachedRound | undefined): CachedRound | undefined =>
  e === undefined ? undefined : { next: e.next, state: e.state, ancestry: e.ancestry, accepted: e.accepted, doubt: e.doubt };

describe('OneRoundTripCache', () => {
  test('take returns the entry and removes it: a second take finds nothing', () => {
    const cache = new OneRoundTripCache(10);
    cache.put('k', entry(1));
    expect(cache.size).toBe(1);
    expect(copy(cache.take('k'))).toEqual(entry(1));
    expect(cache.size).toBe(0);
    expect(cache.take('k')).toBeUndefined();
    expect(cache.take('never')).toBeUndefined();
  });

  test('put replaces the entry of its key; keys are independent', () => {
    const cache = new OneRoundTripCache(10);
    cache.put('k', entry(1));
    cache.put('k', entry(2));
    cache.put('j', entry(7));
    expect(cache.size).toBe(2);
    expect(copy(cache.take('k'))).toEqual(entry(2));
    expect(copy(cache.take('j'))).toEqual(entry(7));
  });

  test('a key taken and cached again holds the new entry (the slot is reused, the content is not mixed)', () => {
    const cache = new OneRoundTripCache(10);
    cache.put('k', entry(1));
    const first = copy(cache.take('k'));
    cache.put('k', entry(5));
    expect(first).toEqual(entry(1));
    expect(copy(cache.take('k'))).toEqual(entry(5));
    expect(cache.size).toBe(0);
  });

  test('keeps its own copy of the state: changing the cached or the taken bytes changes nothing kept', () => {
    const cache = new OneRoundTripCache(10);
    const state = Uint8Array.of(1, 2, 3);
    cache.put('k', { ...entry(1), state });
    state[0] = 9;
    const taken = cache.take('k');
    expect(taken?.state).toEqual(Uint8Array.of(1, 2, 3));
    taken?.state?.fill(7);
    cache.put('k', { ...entry(2), state: Uint8Array.of(1, 2, 3) });
    expect(cache.take('k')?.state).toEqual(Uint8Array.of(1, 2, 3));
  });

  test('keeps the kept form it is given; without one, shares the last kept state when the bytes are the same', () => {
    // States above 1 KiB are kept as Uint8Array copies, whose identity a test can see (small ones
    // are kept as strings, compared by value).
    const big = (last: number) => new Uint8Array(2000).fill(4).fill(last, 1999);
    const cache = new OneRoundTripCache(10);
    const given = big(5);
    cache.put('k', { ...entry(1), state: big(5) }, given);
    expect(cache.take('k')?.kept).toBe(given);
    cache.put('k', { ...entry(2), state: big(5) });
    expect(cache.take('k')?.kept).toBe(given); // same bytes: shared, not copied
    cache.put('k', { ...entry(3), state: big(6) });
    const taken = cache.take('k');
    expect(taken?.kept).not.toBe(given);
    expect(taken?.state).toEqual(big(6));
    expect(taken?.state).not.toBe(taken?.kept); // the taker gets a copy of its own
  });

  test('forget removes one key; clear removes all', () => {
    const cache = new OneRoundTripCache(10);
    for (const [i, key] of ['a', 'b', 'c'].entries()) cache.put(key, entry(i));
    cache.forget('b');
    cache.forget('b'); // idempotent
    cache.forget('nope');
    expect(cache.size).toBe(2);
    expect(cache.take('b')).toBeUndefined();
    expect(copy(cache.take('a'))).toEqual(entry(0));
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.take('c')).toBeUndefined();
    cache.put('c', entry(9));
    expect(copy(cache.take('c'))).toEqual(entry(9));
  });

  test('holds at most `capacity` keys: at capacity, caching a new key evicts the oldest', () => {
    const cache = new OneRoundTripCache(3);
    for (let i = 0; i < 3; i++) cache.put(`k${i}`, entry(i));
    cache.put('k3', entry(3));
    expect(cache.size).toBe(3);
    expect(cache.take('k0')).toBeUndefined();
    for (let i = 1; i <= 3; i++) expect(copy(cache.take(`k${i}`))).toEqual(entry(i));
  });

  test('never holds more than `capacity` live entries, whatever the sequence', () => {
    const cache = new OneRoundTripCache(4);
    const live = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const key = `k${(i * 7) % 13}`;
      if (i % 3 === 0) {
        if (cache.take(key) !== undefined) expect(live.has(key)).toBe(true);
        live.delete(key);
      } else {
        cache.put(key, entry(i));
        live.add(key);
      }
      expect(cache.size).toBeLessThanOrEqual(4);
    }
  });

  test('second chance: a key cached again since eviction last passed it stays, the cold one goes', () => {
    const cache = new OneRoundTripCache(2);
    cache.put('hot', entry(1));
    cache.put('cold', entry(2));
    // 'hot' is used again (taken by an attempt, cached again when it commits)...
    cache.take('hot');
    cache.put('hot', entry(3));
    // ...so caching a third key evicts 'cold', though 'hot' was cached first.
    cache.put('new', entry(4));
    expect(cache.size).toBe(2);
    expect(cache.take('cold')).toBeUndefined();
    expect(copy(cache.take('hot'))).toEqual(entry(3));
    expect(copy(cache.take('new'))).toEqual(entry(4));
  });

  test('when every key was cached again, one still goes (never the key being cached)', () => {
    const cache = new OneRoundTripCache(3);
    for (let i = 0; i < 3; i++) cache.put(`k${i}`, entry(i));
    for (let i = 0; i < 3; i++) cache.put(`k${i}`, entry(10 + i));
    cache.put('new', entry(4));
    expect(cache.size).toBe(3);
    expect(copy(cache.take('new'))).toEqual(entry(4));
    expect(cache.take('k0')).toBeUndefined(); // all had their second chance: the oldest went
  });
});
