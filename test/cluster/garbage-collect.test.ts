import { describe, expect, test } from 'vitest';
import {
  BallotsExhaustedError,
  type FastForwarder,
  MemoryAcceptor,
  MemoryProposer,
  NotEqualError,
  NotTombstoneError,
  StepFailedError,
  type TraceEvent,
  garbageCollect,
  isRetryable,
} from '../../src/index.js';
import { TestCluster } from '../support/cluster.js';
import { dec, enc } from '../support/text.js';

/** A `TestCluster` of acceptors a1..a3 (behind `FaultyAcceptor`s) and proposers p1..p3 over all of them. */
function setup() {
  const cluster = new TestCluster({ acceptors: ['a1', 'a2', 'a3'], proposers: ['p1', 'p2', 'p3'] });
  return { cluster, acceptors: cluster.acceptors, proposers: cluster.proposers, p1: cluster.proposer('p1') };
}

describe('garbageCollect', () => {
  test('runs steps a-d in order and removes the key everywhere', async () => {
    const { cluster, acceptors, proposers, p1 } = setup();
    await p1.propose('k', () => enc('v'));
    await p1.propose('k', () => null);
    const events: TraceEvent[] = [];
    await garbageCollect('k', proposers, acceptors, { tracer: (e) => events.push(e) });
    expect(events.filter((e) => e.type === 'gc-step').map((e) => (e.type === 'gc-step' ? `${e.step}:${e.outcome}` : ''))).toEqual([
      'identity-read:started',
      'identity-read:completed',
      'fast-forward:started',
      'fast-forward:completed',
      'reject-by-age:started',
      'reject-by-age:completed',
      'remove:started',
      'remove:completed',
    ]);
    for (const a of acceptors) expect(a.inner.inspect('k')).toBeUndefined();
    // Every proposer's next ballot is above the tombstone, and the key reads as empty.
    const after = await cluster.proposer('p2').propose('k', (s) => s);
    expect(after.state).toBeNull();
  });

  test('a key whose state is not empty is not collected: non-retryable NotTombstoneError, nothing changed', async () => {
    const { acceptors, proposers, p1 } = setup();
    await p1.propose('k', () => enc('alive'));
    const error = await garbageCollect('k', proposers, acceptors).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error).toMatchObject({ operation: 'gc', step: 'a (full identity read)', retryable: false });
    expect((error as StepFailedError).cause).toBeInstanceOf(NotTombstoneError);
    for (const p of proposers) expect(p.age.counter).toBe(0);
    for (const a of acceptors) expect(dec(a.inner.inspect('k')?.state ?? null)).toBe('alive');
  });

  test('an unreachable acceptor fails step a with a retryable error; a retry later succeeds', async () => {
    const { cluster, acceptors, proposers, p1 } = setup();
    await p1.propose('k', () => null);
    cluster.acceptor('a3').down = true;
    const error = await garbageCollect('k', proposers, acceptors).catch((e: unknown) => e);
    expect(error).toMatchObject({ operation: 'gc', step: 'a (full identity read)' });
    expect(isRetryable(error)).toBe(true);
    cluster.acceptor('a3').down = false;
    await garbageCollect('k', proposers, acceptors);
    for (const a of acceptors) expect(a.inner.inspect('k')).toBeUndefined();
  });

  test('a record written after the tombstone is kept: retryable NotEqualError, and a rerun re-decides', async () => {
    const { cluster, acceptors, proposers, p1 } = setup();
    await p1.propose('k', () => null);
    // Delay a3's removal; meanwhile a proposer writes a newer tombstone.
    const a3 = cluster.acceptor('a3');
    const delayed = a3.addRule({
      method: 'removeIfEqual',
      when: 'request',
      action: 'delay',
      until: () => cluster.proposer('p2').propose('k', () => null),
      times: 1,
    });
    const error = await garbageCollect('k', proposers, acceptors, { random: () => 0 }).catch((e: unknown) => e);
    expect(delayed.hits).toBe(1);
    expect((error as StepFailedError).cause).toBeInstanceOf(NotEqualError);
    expect(isRetryable(error)).toBe(true);
    expect(a3.inner.inspect('k')).toBeDefined(); // the newer tombstone was not removed
    await garbageCollect('k', proposers, acceptors);
    for (const a of acceptors) expect(a.inner.inspect('k')).toBeUndefined();
  });

  test("a value under the read's ballot (a recovery committed a later state) stops step d with NotTombstoneError, nothing removed", async () => {
    const { acceptors, proposers, p1 } = setup();
    await p1.propose('k', () => enc('v'));
    // Step a's read reports the empty state its own change saw, under the ballot of a round that
    // committed a later, non-empty state (what a recovery that adopts a descendant reports).
    const recovered: FastForwarder = {
      fullIdentityRead: async (key, opts) => ({ state: null, ballot: (await p1.fullIdentityRead(key, opts)).ballot }),
      fastForwardIncrement: (key, ballot, opts) => p1.fastForwardIncrement(key, ballot, opts),
    };
    const error = await garbageCollect('k', [recovered, ...proposers.slice(1)], acceptors, { random: () => 0 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ operation: 'gc', step: 'd (remove if equal)' });
    expect((error as StepFailedError).cause).toBeInstanceOf(NotTombstoneError);
    expect(isRetryable(error)).toBe(false);
    for (const a of acceptors) expect(dec(a.inner.inspect('k')?.state ?? null)).toBe('v');
  });

  test('a tombstone an acceptor keeps for a far promise (a hostile prepare during the collection) stops step d with BallotsExhaustedError, and other keys keep working', async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address));
    const [a1, a2, a3] = acceptors as [MemoryAcceptor, MemoryAcceptor, MemoryAcceptor];
    const p1 = new MemoryProposer('p1', acceptors);
    await p1.propose('k', () => enc('v'));
    await p1.propose('k', () => null);
    // Between steps b and d, an authenticated client prepares k on a1 at 2^40 (as the wire allows).
    const hostile = {
      address: a1.address,
      rejectByAge: async (ages: Parameters<MemoryAcceptor['rejectByAge']>[0]) => {
        await a1.prepare('k', { counter: 0, id: 'evil' }, { counter: 2 ** 40, id: 'evil' });
        return a1.rejectByAge(ages);
      },
      removeIfEqual: (key: string, tombstone: Parameters<MemoryAcceptor['removeIfEqual']>[1]) => a1.removeIfEqual(key, tombstone),
      peek: (key: string) => a1.peek(key),
    };
    const error = await garbageCollect('k', [p1], [hostile, a2, a3]).catch((e: unknown) => e);
    expect(error).toMatchObject({ operation: 'gc', step: 'd (remove if equal)', retryable: false });
    expect((error as StepFailedError).cause).toBeInstanceOf(BallotsExhaustedError);
    expect((error as StepFailedError).cause).toMatchObject({ reason: 'far-promise' });
    // a1 kept the tombstone (its promise did not become every absent key's floor); a2, a3 removed it.
    expect(a1.inspect('k')).toMatchObject({ promise: { counter: 2 ** 40, id: 'evil' }, state: null });
    expect([a2.inspect('k'), a3.inspect('k')]).toEqual([undefined, undefined]);
    const other = await p1.propose('other', () => enc('x'));
    expect(other.ballot.counter).toBeLessThan(2 ** 32);
  });

  test('ages rise to the incremented ages; repeating a collection raises them again', async () => {
    const { acceptors, proposers, p1 } = setup();
    await p1.propose('k', () => null);
    await garbageCollect('k', proposers, acceptors);
    await p1.propose('k', () => null);
    await garbageCollect('k', proposers, acceptors);
    for (const a of acceptors) for (const p of proposers) expect(a.inner.minimumAge(p.id)).toBe(2);
  });

  test('a proposer restarted under a new id cannot write below the removed tombstone', async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    const proposers = ['p1', 'p2'].map((p) => new MemoryProposer(p, acceptors));
    for (let i = 0; i < 10; i++) await (proposers[0] as MemoryProposer).propose('k', () => enc(`v${i}`));
    await (proposers[0] as MemoryProposer).propose('k', () => null);
    await garbageCollect('k', proposers, acceptors);
    // A fresh proposer (counter 0, unknown to the collection) writes: its first ballots are below
    // the tombstone's, so it must be pushed above it rather than write underneath.
    const fresh = new MemoryProposer('p1#2', acceptors);
    const result = await fresh.propose('k', () => enc('new'));
    expect(result.ballot.counter).toBeGreaterThan(11);
    expect(dec((await (proposers[1] as MemoryProposer).propose('k', (s) => s)).state)).toBe('new');
  });

  describe('steps a-c are retryable after a plain Error from a user transport (the seed\'s makeRetryable)', () => {
    /**
     * A user's own transport: its failures are plain `Error`s with no `retryable` flag. `failOnce`
     * names the one call that fails, once; everything else goes to the in-memory cluster.
     */
    function plainErrorTransport(failOnce: 'fullIdentityRead' | 'fastForwardIncrement' | 'rejectByAge' | 'removeIfEqual') {
      const { acceptors, proposers, p1 } = setup();
      let failed = false;
      const fail = (): never => {
        failed = true;
        throw new Error('socket hang up');
      };
      const wrappedProposers = proposers.map((p) => ({
        address: p.address,
        fullIdentityRead: (key: string) => (failOnce === 'fullIdentityRead' && !failed ? fail() : p.fullIdentityRead(key)),
        fastForwardIncrement: (key: string, ballot: Parameters<typeof p.fastForwardIncrement>[1]) =>
          failOnce === 'fastForwardIncrement' && !failed && p === proposers[1] ? fail() : p.fastForwardIncrement(key, ballot),
      }));
      const wrappedAcceptors = acceptors.map((a, i) => ({
        address: a.address,
        rejectByAge: (ages: Parameters<typeof a.rejectByAge>[0]) => (failOnce === 'rejectByAge' && !failed && i === 2 ? fail() : a.rejectByAge(ages)),
        removeIfEqual: (key: string, tombstone: Parameters<typeof a.removeIfEqual>[1]) =>
          failOnce === 'removeIfEqual' && !failed && i === 2 ? fail() : a.removeIfEqual(key, tombstone),
      }));
      return { acceptors, p1, wrappedProposers, wrappedAcceptors };
    }

    test.each([
      ['fullIdentityRead', 'a (full identity read)'],
      ['fastForwardIncrement', 'b (fast-forward proposers)'],
      ['rejectByAge', 'c (reject by age)'],
    ] as const)('a plain Error in %s fails step %s retryably; the retry collects the key', async (call, step) => {
      const { acceptors, p1, wrappedProposers, wrappedAcceptors } = plainErrorTransport(call);
      await p1.propose('k', () => null);
      const error = await garbageCollect('k', wrappedProposers, wrappedAcceptors, { random: () => 0 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StepFailedError);
      expect(error).toMatchObject({ operation: 'gc', step, retryable: true });
      expect(((error as StepFailedError).cause as Error).message).toBe('socket hang up');
      expect(isRetryable(error)).toBe(true);
      await garbageCollect('k', wrappedProposers, wrappedAcceptors, { random: () => 0 });
      for (const a of acceptors) expect(a.inner.inspect('k')).toBeUndefined();
    });

    test('step d keeps the cause\'s own flag: a plain Error there is not retryable (as in the seed)', async () => {
      const { p1, wrappedProposers, wrappedAcceptors } = plainErrorTransport('removeIfEqual');
      await p1.propose('k', () => null);
      const error = await garbageCollect('k', wrappedProposers, wrappedAcceptors, { random: () => 0 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ operation: 'gc', step: 'd (remove if equal)', retryable: false });
    });

    test('a verdict in step a stays final through the same transport: NotTombstoneError is not retryable', async () => {
      const { p1, wrappedProposers, wrappedAcceptors } = plainErrorTransport('removeIfEqual');
      await p1.propose('k', () => enc('alive'));
      const error = await garbageCollect('k', wrappedProposers, wrappedAcceptors).catch((e: unknown) => e);
      expect(error).toMatchObject({ operation: 'gc', step: 'a (full identity read)', retryable: false });
      expect((error as StepFailedError).cause).toBeInstanceOf(NotTombstoneError);
    });
  });

  test('rejects bad arguments before doing anything', async () => {
    const { acceptors, proposers } = setup();
    await expect(garbageCollect(5 as unknown as string, proposers, acceptors)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(garbageCollect('k', [], acceptors)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(garbageCollect('k', proposers, [])).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });
});
