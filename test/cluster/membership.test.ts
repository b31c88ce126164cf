import { describe, expect, test } from 'vitest';
import {
  DuplicateError,
  MemoryAcceptor,
  MemoryProposer,
  NotFoundError,
  StepFailedError,
  type TraceEvent,
  growCluster,
  shrinkCluster,
} from '../../src/index.js';
import { TestCluster } from '../support/cluster.js';
import { dec, enc } from '../support/text.js';

/** A `TestCluster` of acceptors a1..a3 (behind `FaultyAcceptor`s) and proposers p1..p3 over all of them. */
function setup() {
  const cluster = new TestCluster({ acceptors: ['a1', 'a2', 'a3'], proposers: ['p1', 'p2', 'p3'] });
  return { cluster, acceptors: cluster.acceptors, proposers: cluster.proposers };
}

const configurations = async (proposers: MemoryProposer[]) =>
  Promise.all(proposers.map(async (p) => ({ prepare: await p.listPreparers(), accept: await p.listAccepters() })));

describe('growCluster', () => {
  test('runs the paper’s steps in order: add accepter everywhere, identity pass, add preparer everywhere', async () => {
    const { proposers } = setup();
    const events: TraceEvent[] = [];
    await growCluster(new MemoryAcceptor('a4'), proposers, { tracer: (e) => events.push(e) });
    expect(events.map((e) => (e.type === 'membership-step' ? `${e.step}:${e.outcome}` : e.type))).toEqual([
      'add-accepter:started',
      'add-accepter:completed',
      'identity-pass:started',
      'identity-pass:completed',
      'add-preparer:started',
      'add-preparer:completed',
    ]);
    for (const c of await configurations(proposers)) expect(c).toEqual({ prepare: ['a1', 'a2', 'a3', 'a4'], accept: ['a1', 'a2', 'a3', 'a4'] });
  });

  test('the identity pass re-writes every key the acceptors hold, not one reserved key', async () => {
    const { proposers } = setup();
    const keys = Array.from({ length: 100 }, (_, i) => `key-${i}`);
    await Promise.all(keys.map((k, i) => (proposers[i % 3] as MemoryProposer).propose(k, () => enc(k))));
    const a4 = new MemoryAcceptor('a4');
    await growCluster(a4, proposers, { concurrency: 7 });
    for (const k of keys) expect(dec(a4.inspect(k)?.state ?? null), k).toBe(k);
  });

  test('the proposer running the identity pass is chosen by the injected random source', async () => {
    const { cluster, proposers } = setup();
    await cluster.proposer('p1').propose('k', () => enc('v'));
    const a4 = new MemoryAcceptor('a4');
    await growCluster(a4, proposers, { random: () => 0.99 });
    expect(a4.inspect('k')?.accepted.id).toBe('p3');
  });

  test('a failed identity pass undoes step 1 and reports the step, retryable', async () => {
    const { cluster, proposers } = setup();
    await cluster.proposer('p1').propose('k', () => enc('v'));
    // Two acceptors down: the identity read cannot reach an accept quorum of four.
    cluster.acceptor('a1').down = true;
    cluster.acceptor('a2').down = true;
    const error = await growCluster(new MemoryAcceptor('a4'), proposers, { random: () => 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error).toMatchObject({ operation: 'grow', step: '2 (identity pass)', retryable: true });
    for (const c of await configurations(proposers)) expect(c).toEqual({ prepare: ['a1', 'a2', 'a3'], accept: ['a1', 'a2', 'a3'] });
  });

  test('growing with an acceptor already in the cluster fails at step 1 and changes nothing', async () => {
    const { cluster, proposers } = setup();
    const error = await growCluster(cluster.acceptor('a1'), proposers).catch((e: unknown) => e);
    expect(error).toMatchObject({ step: '1 (add accepter)', retryable: false });
    expect((error as StepFailedError).cause).toBeInstanceOf(DuplicateError);
    for (const c of await configurations(proposers)) expect(c).toEqual({ prepare: ['a1', 'a2', 'a3'], accept: ['a1', 'a2', 'a3'] });
  });

  test('an abort rejects with signal.reason after undoing the completed steps', async () => {
    const { proposers } = setup();
    const reason = new Error('operator gave up');
    const error = await growCluster(new MemoryAcceptor('a4'), proposers, { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    expect(error).toBe(reason);
    for (const c of await configurations(proposers)) expect(c).toEqual({ prepare: ['a1', 'a2', 'a3'], accept: ['a1', 'a2', 'a3'] });
  });
});

describe('shrinkCluster', () => {
  test('runs the steps in the order growing does: accepts first, then the identity pass, then prepares', async () => {
    const { proposers } = setup();
    const a4 = new MemoryAcceptor('a4');
    await growCluster(a4, proposers);
    const events: TraceEvent[] = [];
    await shrinkCluster(a4, proposers, { tracer: (e) => events.push(e) });
    expect(events.filter((e) => e.type === 'membership-step' && e.outcome === 'completed').map((e) => (e.type === 'membership-step' ? e.step : ''))).toEqual([
      'remove-accepter',
      'identity-pass',
      'remove-preparer',
    ]);
    for (const c of await configurations(proposers)) expect(c).toEqual({ prepare: ['a1', 'a2', 'a3'], accept: ['a1', 'a2', 'a3'] });
  });

  test('the identity pass keeps a key written on a bare majority readable through successive shrinks', async () => {
    // Five acceptors; v is written while a1 and a2 are down, so only a3, a4, a5 hold it.
    const cluster = new TestCluster({ acceptors: ['a1', 'a2', 'a3', 'a4', 'a5'], proposers: ['p1', 'p2'] });
    const [a1, a2, a3, a4, a5] = ['a1', 'a2', 'a3', 'a4', 'a5'].map((a) => cluster.acceptor(a));
    if (a1 === undefined || a2 === undefined || a3 === undefined || a4 === undefined || a5 === undefined) throw new Error('setup');
    a1.down = true;
    a2.down = true;
    await cluster.proposer('p1').propose('k', () => enc('v'));
    a1.down = false;
    a2.down = false;
    // Shrink to a1..a4, then to a1..a3. Without re-writing every key, v would now sit on a3 alone,
    // and the prepare quorum {a1, a2} would read an empty register.
    await shrinkCluster(a5, cluster.proposers, { random: () => 0 });
    await shrinkCluster(a4, cluster.proposers, { random: () => 0 });
    a3.down = true;
    expect(dec((await cluster.proposer('p2').identityRead('k')).state)).toBe('v');
  });

  test('shrinking by an acceptor that is not in the cluster fails at step 1 and changes nothing', async () => {
    const { proposers } = setup();
    const error = await shrinkCluster(new MemoryAcceptor('stranger'), proposers).catch((e: unknown) => e);
    expect(error).toMatchObject({ operation: 'shrink', step: '1 (remove accepter)' });
    expect((error as StepFailedError).cause).toBeInstanceOf(NotFoundError);
    for (const c of await configurations(proposers)) expect(c).toEqual({ prepare: ['a1', 'a2', 'a3'], accept: ['a1', 'a2', 'a3'] });
  });

  test('rejects bad arguments before changing anything', async () => {
    const { cluster } = setup();
    await expect(shrinkCluster(cluster.acceptor('a1'), [])).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(growCluster(cluster.acceptor('a1'), [])).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });
});
