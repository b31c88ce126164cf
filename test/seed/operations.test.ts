/**
 * The seed's protocol/operations_test.go, ported: configuration change 3 -> 4 -> 5 -> 4 -> 3 with
 * reads in between, and garbage collection of a key.
 */
import { expect, test } from 'vitest';
import { type ChangeFunc, MemoryAcceptor, MemoryProposer, garbageCollect, growCluster, shrinkCluster } from '../../src/index.js';
import { dec, enc } from '../support/text.js';

const read: ChangeFunc = (current) => current;
const initializeOnlyOnce =
  (value: string): ChangeFunc =>
  (current) =>
    current === null ? enc(value) : current;

test('TestConfigurationChange: 3 -> 4 -> 5 -> 4 -> 3', async () => {
  const [a1, a2, a3] = ['1', '2', '3'].map((a) => new MemoryAcceptor(a)) as [MemoryAcceptor, MemoryAcceptor, MemoryAcceptor];
  const proposers = ['1', '2', '3'].map((p) => new MemoryProposer(p, [a1, a2, a3]));
  const [, p2] = proposers as [MemoryProposer, MemoryProposer, MemoryProposer];
  const key = 'k';
  const val0 = 'xxx';

  const verifyReads = async (): Promise<void> => {
    for (const p of proposers) expect(dec((await p.propose(key, read)).state), `read via ${p.id}`).toBe(val0);
  };
  const verifyValue = (a: MemoryAcceptor): void => {
    expect(dec(a.inspect(key)?.state ?? null), `acceptor ${a.address}`).toBe(val0);
  };

  await p2.propose(key, initializeOnlyOnce(val0));

  // Add a new acceptor. After the grow (its identity pass), it holds the value.
  const a4 = new MemoryAcceptor('4');
  await growCluster(a4, proposers);
  verifyValue(a4);
  await verifyReads();

  const a5 = new MemoryAcceptor('5');
  await growCluster(a5, proposers);
  verifyValue(a5);
  await verifyReads();
  for (const p of proposers) {
    expect(await p.listPreparers()).toEqual(['1', '2', '3', '4', '5']);
    expect(await p.listAccepters()).toEqual(['1', '2', '3', '4', '5']);
  }

  // Remove one of the initial acceptors, then one of the new ones; reads still work.
  await shrinkCluster(a1, proposers);
  await verifyReads();
  await shrinkCluster(a4, proposers);
  await verifyReads();
  for (const p of proposers) {
    expect(await p.listPreparers()).toEqual(['2', '3', '5']);
    expect(await p.listAccepters()).toEqual(['2', '3', '5']);
  }
});

test('TestGarbageCollection', async () => {
  const acceptors = ['1', '2', '3'].map((a) => new MemoryAcceptor(a));
  const proposers = ['1', '2', '3'].map((p) => new MemoryProposer(p, acceptors));
  const [p1, , p3] = proposers as [MemoryProposer, MemoryProposer, MemoryProposer];
  const key = 'my key';

  await p1.propose(key, initializeOnlyOnce('initial value'));
  // Paper §3.1: a delete writes the empty state first; garbage collection removes the tombstone.
  await p1.propose(key, () => null);
  await garbageCollect(key, proposers, acceptors);

  for (const a of acceptors) expect(a.inspect(key), `acceptor ${a.address}`).toBeUndefined();
  // A read succeeds, with the empty state.
  expect((await p3.propose(key, read)).state).toBeNull();
  // Every proposer's age went up by one, and every acceptor requires it.
  for (const p of proposers) {
    expect(p.age.counter).toBe(1);
    for (const a of acceptors) expect(a.minimumAge(p.id)).toBe(1);
  }
});
