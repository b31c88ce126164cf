/**
 * The parts of the WGL search on their own, where a rule is easy to get subtly wrong and the whole
 * checker would only show it as a changed verdict on some history: the order of events at equal
 * times, the dancing links restoring the candidate lists, and the direction of the cache's
 * subsumption.
 */
import { describe, expect, test } from 'vitest';
import { registerModel } from '../../src/check/models.js';
import { ConfigurationCache } from '../../src/check/wgl-cache.js';
import { BLIND, CandidateLists, keyOperations, OTHER, positionEvents, READ } from '../../src/check/wgl-events.js';
import { HistoryBuilder } from './histories.js';

/** The positions in the main list, from its head. */
function mainList(lists: CandidateLists): number[] {
  const walked: number[] = [];
  for (let k = lists.next[lists.head] as number; k >= 0; k = lists.next[k] as number) walked.push(k);
  return walked;
}

/** The operations in the unknown list, from its head. */
function unknownList(lists: CandidateLists): number[] {
  const walked: number[] = [];
  for (let i = lists.unknownNext[lists.unknownHead] as number; i >= 0; i = lists.unknownNext[i] as number) walked.push(i);
  return walked;
}

describe('keyOperations', () => {
  test('with the model hint, unknown reads are dropped and the rest classified', () => {
    const b = new HistoryBuilder();
    b.op(0, 'read', 0, null);
    b.op(0, 'write', 1, 2, { arg: 'a' });
    b.op(1, 'read', 1, 3, { output: 'a' });
    b.op(2, 'write', 2, null, { arg: 'b' });
    const key = keyOperations(b.operations, registerModel);
    expect(key.ops.map((op) => op.id)).toEqual([1, 2, 3]);
    expect([...key.unknown]).toEqual([0, 0, 1]);
    expect([...key.effects]).toEqual([BLIND, READ, BLIND]);
    expect(key.completed).toBe(2);
  });

  test('without a hint, nothing is dropped', () => {
    const b = new HistoryBuilder();
    b.op(0, 'read', 0, null);
    const { effect: _, ...noHint } = registerModel;
    const key = keyOperations(b.operations, noHint);
    expect(key.ops).toHaveLength(1);
    expect([...key.effects]).toEqual([OTHER]);
  });
});

describe('positionEvents', () => {
  test('at equal times calls come before returns (touching operations are concurrent), then history order', () => {
    const b = new HistoryBuilder();
    b.op(0, 'write', 0, 5, { arg: 'a' }); // #0 returns at 5
    b.op(1, 'write', 5, 7, { arg: 'b' }); // #1 is called at 5
    b.op(2, 'read', 5, 5, { output: 'a' }); // #2 is called and returns at 5
    b.op(3, 'write', 1, null, { arg: 'c' }); // #3: unknown, no return event
    const positions = positionEvents(keyOperations(b.operations, registerModel));
    // 0: call #0, 1: call #3, 2: call #1, 3: call #2, 4: return #0, 5: return #2, 6: return #1
    expect(positions.count).toBe(7);
    expect([...positions.op]).toEqual([0, 3, 1, 2, 0, 2, 1]);
    expect([...positions.isReturn]).toEqual([0, 0, 0, 0, 1, 1, 1]);
    expect([...positions.call]).toEqual([0, 2, 3, 1]);
    expect([...positions.return]).toEqual([4, 6, 5, -1]);
  });
});

describe('CandidateLists', () => {
  test('lifting takes an operation out, unlifting in reverse order restores both lists exactly', () => {
    const b = new HistoryBuilder();
    b.op(0, 'write', 0, 0.5, { arg: 'a' });
    b.op(1, 'write', 1, null, { arg: 'b' });
    b.op(2, 'write', 2, 6, { arg: 'c' });
    b.op(3, 'write', 3, null, { arg: 'd' });
    b.op(4, 'write', 5, 8, { arg: 'e' });
    const key = keyOperations(b.operations, registerModel);
    const positions = positionEvents(key);
    const lists = new CandidateLists(key, positions);
    const before = { main: mainList(lists), unknown: unknownList(lists), next: [...lists.next], prev: [...lists.prev] };
    expect(before.main.map((k) => positions.op[k])).toEqual([0, 0, 2, 4, 2, 4]);
    expect(before.unknown).toEqual([1, 3]);

    lists.lift(2);
    lists.lift(1);
    lists.lift(0);
    expect(mainList(lists).map((k) => positions.op[k])).toEqual([4, 4]);
    expect(unknownList(lists)).toEqual([3]);
    lists.unlift(0);
    lists.unlift(1);
    lists.unlift(2);
    expect({ main: mainList(lists), unknown: unknownList(lists), next: [...lists.next], prev: [...lists.prev] }).toEqual(before);
  });
});

describe('ConfigurationCache', () => {
  // operations 0 and 1 completed, 2 and 3 unknown
  const unknown = Uint8Array.from([0, 0, 1, 1]);

  test('a configuration reached again is skipped, in a different state it is not', () => {
    const cache = new ConfigurationCache(unknown);
    cache.place(0);
    expect(cache.remember('"a"')).toBe(true);
    expect(cache.remember('"a"')).toBe(false);
    expect(cache.remember('"b"')).toBe(true);
    cache.place(1);
    expect(cache.remember('"a"')).toBe(true);
  });

  test('more unknown operations placed is subsumed; fewer is not (it has more options)', () => {
    const cache = new ConfigurationCache(unknown);
    cache.place(0);
    cache.place(2);
    expect(cache.remember('"a"')).toBe(true); // {0} ∪ unknown {2}
    cache.place(3);
    expect(cache.remember('"a"')).toBe(false); // unknown {2, 3} ⊇ {2}: nothing new to explore
    cache.unplace(2);
    expect(cache.remember('"a"')).toBe(true); // unknown {3} ⊉ {2}
    cache.unplace(3);
    expect(cache.remember('"a"')).toBe(true); // unknown {}: a subset of both, more options
    cache.place(2);
    expect(cache.remember('"a"')).toBe(false);
  });

  test('the completed sets must be equal, not merely included', () => {
    const cache = new ConfigurationCache(unknown);
    cache.place(0);
    expect(cache.remember('"a"')).toBe(true);
    cache.place(1);
    expect(cache.remember('"a"')).toBe(true);
    cache.unplace(0);
    expect(cache.remember('"a"')).toBe(true);
  });
});
