/**
 * The seed's protocol/basic_test.go, ported: read of an unwritten key, initialize-only-once,
 * fast-forward, multi-key reads, and concurrent compare-and-set writes through random proposers.
 */
import { describe, expect, test } from 'vitest';
import { type ChangeFunc, MemoryAcceptor, MemoryProposer, type State, statesEqual } from '../../src/index.js';
import { SeededRandom } from '../../src/sim/random.js';
import { dec, enc } from '../support/text.js';

function cluster(): { acceptors: MemoryAcceptor[]; proposers: MemoryProposer[] } {
  const acceptors = ['1', '2', '3'].map((a) => new MemoryAcceptor(a));
  const proposers = ['1', '2', '3'].map((p) => new MemoryProposer(p, acceptors));
  return { acceptors, proposers };
}

/** An initialize-only-once register (Synod): writes `value` only into an empty register. */
const initializeOnlyOnce =
  (value: string): ChangeFunc =>
  (current) =>
    current === null ? enc(value) : current;

const read: ChangeFunc = (current) => current;

describe('seed basic_test.go', () => {
  test('a read of a key never written returns the empty state', async () => {
    const { proposers } = cluster();
    for (const p of proposers) expect((await p.propose('nothing here', read)).state).toBeNull();
  });

  test('TestInitializeOnlyOnce', async () => {
    const [p1, p2, p3] = cluster().proposers as [MemoryProposer, MemoryProposer, MemoryProposer];
    expect(dec((await p1.propose('k', initializeOnlyOnce('val0'))).state)).toBe('val0');
    // If we make a read from anywhere, we should see the right thing.
    expect(dec((await p2.propose('k', read)).state)).toBe('val0');
    expect(dec((await p3.propose('k', read)).state)).toBe('val0');
    // Subsequent proposals should succeed but leave the value unaltered.
    expect(dec((await p2.propose('k', initializeOnlyOnce('alternate value'))).state)).toBe('val0');
    expect(dec((await p3.propose('k', initializeOnlyOnce('abcdefghijklmno'))).state)).toBe('val0');
  });

  test('TestFastForward: proposers behind in ballots catch up and read the value', async () => {
    const [p1, p2, p3] = cluster().proposers as [MemoryProposer, MemoryProposer, MemoryProposer];
    await p1.propose('k', initializeOnlyOnce('asdf')); // ballot 1/1
    await p1.propose('k', read); // 2/1
    await p1.propose('k', read); // 3/1
    for (const p of [p2, p3]) {
      const { state, ballot } = await p.propose('k', read);
      expect(dec(state)).toBe('asdf');
      // p2 and p3 started at counter 0: their first prepare lost to 3/1 and they fast-forwarded.
      expect(ballot.counter).toBeGreaterThan(3);
    }
  });

  test('TestMultiKeyReads', async () => {
    const [p1, p2, p3] = cluster().proposers as [MemoryProposer, MemoryProposer, MemoryProposer];
    await p1.propose('k1', initializeOnlyOnce('v1'));
    await p2.propose('k2', initializeOnlyOnce('v2'));
    expect(dec((await p3.propose('k1', read)).state)).toBe('v1');
    expect(dec((await p3.propose('k2', read)).state)).toBe('v2');
  });

  test('TestConcurrentCASWrites: 4 keys x ~1000 values, each write through a random proposer', async () => {
    const { proposers } = cluster();
    // A fixed-seed generator, so a failure replays (the seed used math/rand's default source).
    const random = new SeededRandom(0x2545f491).asFunction;
    const randomProposer = (): MemoryProposer => proposers[Math.floor(random() * proposers.length)] as MemoryProposer;
    const valuesFor = (key: string, n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => enc(`${key}${i + 1}`));
    const mutations = new Map([
      ['a', valuesFor('a', 997)],
      ['b', valuesFor('b', 998)],
      ['c', valuesFor('c', 999)],
      ['d', valuesFor('d', 1000)],
    ]);
    const cas =
      (prev: State, next: Uint8Array): ChangeFunc =>
      (current) =>
        statesEqual(current, prev) ? next : current;

    // One CAS writer per key; the four run concurrently.
    await Promise.all(
      Array.from(mutations, async ([key, values]) => {
        let prev: State = null;
        for (const [i, next] of values.entries()) {
          const { state } = await randomProposer().propose(key, cas(prev, next));
          if (!statesEqual(state, next)) throw new Error(`${key} step ${i + 1}: want ${dec(next)}, have ${dec(state)}`);
          prev = state;
        }
      }),
    );
    for (const [key, values] of mutations) {
      expect(dec((await randomProposer().propose(key, read)).state)).toBe(dec(values.at(-1) ?? null));
    }
  });
});
