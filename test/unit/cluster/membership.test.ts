import { describe, expect, test } from 'vitest';
import {
  DuplicateError,
  MemoryAcceptor,
  MemoryProposer,
  NotFoundError,
  type State,
  StepFailedError,
  type TraceEvent,
  growCluster,
  shrinkCluster,
} from '../../../src/index.js';
import { GatedAcceptor } from '../gated-acceptor.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (s: State): string | null => (s === null ? null : new TextDecoder().decode(s));

function cluster() {
  const acceptors = ['a1', 'a2', 'a3'].map((a) => new GatedAcceptor(a));
  const proposers = ['p1', 'p2', 'p3'].map((p) => new MemoryProposer(p, acceptors, { sleep: async () => {} }));
  return { acceptors, proposers };
}

const configurations = async (proposers: MemoryProposer[]) =>
  Promise.all(proposers.map(async (p) => ({ prepare: await p.listPreparers(), accept: await p.listAccepters() })));

describe('growCluster', () => {
  test('runs the paper’s steps in order: add accepter everywhere, identity pass, add preparer everywhere', async () => {
    const { proposers } = cluster();
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
    const { proposers } = cluster();
    const keys = Array.from({ length: 100 }, (_, i) => `key-${i}`);
    await Promise.all(keys.map((k, i) => (proposers[i % 3] as MemoryProposer).propose(k, () => enc(k))));
    const a4 = new MemoryAcceptor('a4');
    await growCluster(a4, proposers, { concurrency: 7 });
    for (const k of keys) expect(dec(a4.inspect(k)?.state ?? null), k).toBe(k);
  });

  test('the proposer running the identity pass is chosen by the injected random source', async () => {
    const { proposers } = cluster();
    await (proposers[0] as MemoryProposer).propose('k', () => enc('v'));
    const a4 = new MemoryAcceptor('a4');
    await growCluster(a4, proposers, { random: () => 0.99 });
    expect(a4.inspect('k')?.accepted.id).toBe('p3');
  });

  test('a failed identity pass undoes step 1 and reports the step, retryable', async () => {
    const { acceptors, proposers } = cluster();
    await (proposers[0] as MemoryProposer).propose('k', () => enc('v'));
    // Two acceptors down: the identity read cannot reach an accept quorum of four.
    (acceptors[0] as GatedAcceptor).down = true;
    (acceptors[1] as GatedAcceptor).down = true;
    const error = await growCluster(new MemoryAcceptor('a4'), proposers, { random: () => 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error).toMatchObject({ operation: 'grow', step: '2 (identity pass)', retryable: true });
    for (const c of await configurations(proposers)) expect(c).toEqual({ prepare: ['a1', 'a2', 'a3'], accept: ['a1', 'a2', 'a3'] });
  });

  test('growing with an acceptor already in the cluster fails at step 1 and changes nothing', async () => {
    const { acceptors, proposers } = cluster();
    const error = await growCluster(acceptors[0] as GatedAcceptor, proposers).catch((e: unknown) => e);
    expect(error).toMatchObject({ step: '1 (add accepter)', retryable: false });
    expect((error as StepFailedError).cause).toBeInstanceOf(DuplicateError);
    for (const c of await configurations(proposers)) expect(c).toEqual({ prepare: ['a1', 'a2', 'a3'], accept: ['a1', 'a2', 'a3'] });
  });

  test('an abort rejects with signal.reason after undoing the completed steps', async () => {
    const { proposers } = cluster();
    const reason = new Error('operator gave up');
    const error = await growCluster(new MemoryAcceptor('a4'), proposers, { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    expect(error).toBe(reason);
    for (const c of await configurations(proposers)) expect(c).toEqual({ prepare: ['a1', 'a2', 'a3'], accept: ['a1', 'a2', 'a3'] });
  });
});

describe('shrinkCluster', () => {
  test('runs the steps in reverse order and the remaining acceptors hold every key', async () => {
    const { acceptors, proposers } = cluster();
    const a4 = new MemoryAcceptor('a4');
    await growCluster(a4, proposers);
    // Written while a1 and a2 are down: the value is on a3 and a4 only.
    (acceptors[0] as GatedAcceptor).down = true;
    (acceptors[1] as GatedAcceptor).down = true;
    await expect((proposers[0] as MemoryProposer).propose('k', () => enc('v'))).rejects.toThrow();
    (acceptors[0] as GatedAcceptor).down = false;
    (acceptors[1] as GatedAcceptor).down = false;
    await (proposers[0] as MemoryProposer).propose('k', () => enc('v'));
    const events: TraceEvent[] = [];
    await shrinkCluster(a4, proposers, { tracer: (e) => events.push(e) });
    expect(events.filter((e) => e.type === 'membership-step' && e.outcome === 'completed').map((e) => (e.type === 'membership-step' ? e.step : ''))).toEqual([
      'remove-preparer',
      'identity-pass',
      'remove-accepter',
    ]);
    for (const c of await configurations(proposers)) expect(c).toEqual({ prepare: ['a1', 'a2', 'a3'], accept: ['a1', 'a2', 'a3'] });
    // After the identity pass a quorum of a1..a3 holds the value under one ballot.
    const holders = acceptors.filter((a) => dec(a.inspect('k')?.state ?? null) === 'v');
    expect(holders.length).toBeGreaterThanOrEqual(2);
  });

  test('shrinking by an acceptor that is not in the cluster fails at step 1 and changes nothing', async () => {
    const { proposers } = cluster();
    const error = await shrinkCluster(new MemoryAcceptor('stranger'), proposers).catch((e: unknown) => e);
    expect(error).toMatchObject({ operation: 'shrink', step: '1 (remove preparer)' });
    expect((error as StepFailedError).cause).toBeInstanceOf(NotFoundError);
    for (const c of await configurations(proposers)) expect(c).toEqual({ prepare: ['a1', 'a2', 'a3'], accept: ['a1', 'a2', 'a3'] });
  });

  test('rejects bad arguments before changing anything', async () => {
    const { acceptors } = cluster();
    await expect(shrinkCluster(acceptors[0] as GatedAcceptor, [])).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(growCluster(acceptors[0] as GatedAcceptor, [])).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });
});
