/** Recovery: an accept with an unknown outcome, decided by the next prepare (see `recoveryDecision`). */
import { describe, expect, test } from 'vitest';
import {
  AcceptFailedError,
  AgeError,
  type Age,
  type Ballot,
  MemoryAcceptor,
  MemoryProposer,
  type PrepareReply,
  StepFailedError,
  type TraceEvent,
  ZERO_BALLOT,
  formatBallot,
  garbageCollect,
} from '../../src/index.js';
import { TestCluster, flush, noSleep, until } from '../support/cluster.js';
import { FaultyAcceptor } from '../support/faulty-acceptor.js';
import { appendOp, dec, enc, opsOf, write } from '../support/text.js';
import { cluster, held, ofType, twoStatesUnderOneBallot, unblock } from './support.js';

describe('recovery: an accept with an unknown outcome, decided by the next prepare', () => {
  /**
   * p1's first accept (1/p1, appending "p1") reaches a1 only; a2 and a3 drop it (timeouts): an
   * unknown outcome. Its retry's prepares are held at every acceptor, so the competitor p2 runs
   * first, its prepare quorum with or without a1 (`p2Quorum`). Then p1's held prepares are released.
   */
  async function scenario(p2Quorum: 'with-a1' | 'without-a1') {
    const { acceptors, events, tracer } = new TestCluster({ acceptors: ['a1', 'a2', 'a3'], proposers: [] });
    const [a1, a2, a3] = acceptors as [FaultyAcceptor, FaultyAcceptor, FaultyAcceptor];
    let calls = 0;
    const p1 = new MemoryProposer('p1', acceptors, { tracer, sleep: noSleep });
    for (const a of [a2, a3]) a.addRule({ method: 'accept', when: 'request', action: 'drop', times: 1, match: (m) => m.ballot?.id === 'p1' });
    for (const a of acceptors) a.addRule({ method: 'prepare', when: 'request', action: 'hold', times: 1, match: (m) => m.ballot?.id === 'p1' && m.ballot.counter > 1 });
    const pending = p1.propose('k', (s) => {
      calls++;
      return appendOp('p1')(s);
    });
    await held(acceptors);
    expect(opsOf(a1.inner.inspect('k')?.state ?? null)).toEqual(['p1']);
    expect(a2.inner.inspect('k')?.accepted).toEqual(ZERO_BALLOT);

    // The competitor: its prepare quorum is {a1, a2} (a3's promise held) or {a2, a3} (a1's held).
    const excluded = p2Quorum === 'with-a1' ? a3 : a1;
    excluded.addRule({ method: 'prepare', when: 'reply', action: 'hold', match: (m) => m.ballot?.id === 'p2' });
    const p2 = new MemoryProposer('p2', acceptors, { tracer, sleep: noSleep });
    // Past p1's promise of 2/p1 (p1's first accept asked for it), so a1 promises p2 too.
    await p2.fastForwardIncrement('unrelated', { counter: 5, id: 'p0' });
    const p2Result = await p2.propose('k', appendOp('p2'));
    excluded.clearRules();

    // p1's retry goes on.
    for (const a of acceptors) await a.releaseAll();
    const result = await pending;
    return { acceptors, events, result, p2Result, calls: () => calls, p1, p2 };
  }

  test("adopted: the competitor's state descends from p1's: p1 resolves with its own state, its change applied exactly once", async () => {
    const { acceptors, events, result, p2Result, calls, p1 } = await scenario('with-a1');
    expect(opsOf(p2Result.state)).toEqual(['p1', 'p2']); // p2 adopted p1's state from a1
    expect(ofType(events, 'recovery').map((e) => `${e.proposer} ${e.decision}`)).toEqual(['p1 adopted']);
    expect(opsOf(result.state)).toEqual(['p1']);
    expect(calls()).toBe(1);
    for (const a of acceptors) expect(opsOf(a.inner.inspect('k')?.state ?? null)).toEqual(['p1', 'p2']);
    expect(opsOf((await p1.identityRead('k')).state)).toEqual(['p1', 'p2']);
    expect(twoStatesUnderOneBallot(acceptors)).toEqual([]);
  });

  test("not adopted: the competitor's state does not contain p1's change: p1 applies it afresh, exactly once", async () => {
    const { acceptors, events, result, p2Result, calls, p2 } = await scenario('without-a1');
    expect(opsOf(p2Result.state)).toEqual(['p2']); // p2 never saw p1's state
    expect(ofType(events, 'recovery').map((e) => `${e.proposer} ${e.decision}`)).toEqual(['p1 reapply']);
    expect(opsOf(result.state)).toEqual(['p2', 'p1']);
    expect(calls()).toBe(2);
    expect(opsOf((await p2.identityRead('k')).state)).toEqual(['p2', 'p1']);
    for (const a of acceptors) {
      const state = a.inner.inspect('k')?.state ?? null;
      expect(opsOf(state).filter((op) => op === 'p1')).toHaveLength(1);
    }
    expect(twoStatesUnderOneBallot(acceptors)).toEqual([]);
  });

  test('the state sits on a minority that the retry does not meet: reapply, and the stray copy is buried', async () => {
    const { proposer, acceptors, events } = cluster();
    const [a1, a2, a3] = acceptors;
    await proposer.propose('k', appendOp('base'));
    // The next change reaches a3 only; the retry's quorum is {a1, a2} (a3's promise held).
    for (const a of [a1, a2]) a.addRule({ method: 'accept', when: 'request', action: 'drop', times: 1 });
    a3.addRule({ method: 'prepare', when: 'reply', action: 'hold', times: 1 });
    let calls = 0;
    const result = await proposer.propose('k', (s) => {
      calls++;
      return appendOp('x')(s);
    });
    expect(ofType(events, 'recovery').map((e) => e.decision)).toEqual(['reapply']);
    expect(calls).toBe(2);
    expect(opsOf(result.state)).toEqual(['base', 'x']);
    await a3.releaseAll();
    // a3's stray copy (2/p1) is below the fresh commit: every read sees the change once.
    expect(opsOf((await new MemoryProposer('p2', acceptors, { sleep: noSleep }).identityRead('k')).state)).toEqual(['base', 'x']);
  });

  // Regression (recovery): garbage collection may choose an unknown state (its full identity read
  // re-commits it), fence the proposers and remove the key; the retry's prepare then found absent
  // records and, reading them as "never chosen", re-applied the change (a toggle applied twice).
  // Then (issue 18) a proposer whose age changed since the unknown accept reported the outcome as
  // unknown (AcceptFailedError) without any fault. Now the collection's step b waits for the
  // round running on its key: the round's retry decides its outcome while the records are still
  // there, exactly once, and the collection goes on after it.
  test('an unknown outcome that garbage collection chose is decided once, before the collection fences the proposer', async () => {
    const { acceptors, events, tracer } = new TestCluster({ acceptors: ['a1', 'a2', 'a3'], proposers: [] });
    const [a1, a2, a3] = acceptors as [FaultyAcceptor, FaultyAcceptor, FaultyAcceptor];
    const p1 = new MemoryProposer('p1', acceptors, { tracer, sleep: noSleep });
    const p2 = new MemoryProposer('p2', acceptors, { tracer, sleep: noSleep });
    await p1.propose('k', write('x'));
    // The toggle's accept reaches a1 only; its retry's prepares are held.
    for (const a of [a2, a3]) a.addRule({ method: 'accept', when: 'request', action: 'drop', times: 1, match: (m) => m.ballot?.id === 'p1' });
    for (const a of acceptors) a.addRule({ method: 'prepare', when: 'request', action: 'hold', times: 1, match: (m) => m.ballot?.id === 'p1' });
    let calls = 0;
    const toggle = (s: Uint8Array | null) => {
      calls++;
      return s === null ? enc('x') : null;
    };
    const toggled = p1.propose('k', toggle).then(
      (r) => ({ ok: true as const, state: dec(r.state) }),
      (e: unknown) => ({ ok: false as const, error: e }),
    );
    await held(acceptors);
    expect(a1.inner.inspect('k')?.state).toBeNull();
    // The collection, its full read through p2 with a quorum {a1, a2} (a3's promise held): it
    // adopts the empty state from a1 and commits it everywhere; step b then waits for p1's round.
    a3.addRule({ method: 'prepare', when: 'reply', action: 'hold', match: (m) => m.ballot?.id === 'p2' });
    const collected = garbageCollect('k', [p1, p2], acceptors, { random: () => 0.99, tracer }).then(
      () => 'removed',
      (e: unknown) => e,
    );
    await until(() => events.some((e) => e.type === 'gc-step' && e.step === 'fast-forward' && e.outcome === 'started'), 'step b');
    for (let i = 0; i < 5; i++) await flush();
    expect(events.some((e) => e.type === 'gc-step' && e.step === 'reject-by-age')).toBe(false);
    a3.clearRules();
    a3.dropAll();
    // p1's retry goes on: its prepare finds the empty state, computed from its own (recovery:
    // adopted), and commits it again.
    for (const a of [a1, a2]) await a.releaseAll();
    const outcome = await toggled;
    expect(calls).toBe(1);
    expect(outcome).toEqual({ ok: true, state: null });
    expect(ofType(events, 'recovery').map((e) => e.decision)).toEqual(['adopted']);
    // The collection went on after the round: that re-commit is newer than its tombstone, so
    // step d keeps it (a later collection removes it); nothing was applied twice.
    expect(await collected).toBeInstanceOf(StepFailedError);
    await garbageCollect('k', [p1, p2], acceptors);
    for (const a of acceptors) expect(a.inner.inspect('k')).toBeUndefined();
    expect(dec((await p2.identityRead('k')).state)).toBeNull();
    expect(calls).toBe(1);
  });

  // A collection erases the records of its own key only: a collection of another key, run while
  // a change's outcome is unknown, must not turn that outcome into AcceptFailedError (it did:
  // every age change was taken as "the evidence may be gone"); the retry's prepare decides it.
  test('a garbage collection of another key leaves an unknown outcome decidable: the retry recovers it', async () => {
    const { acceptors, events, tracer } = new TestCluster({ acceptors: ['a1', 'a2', 'a3'], proposers: [] });
    const [, a2, a3] = acceptors as [FaultyAcceptor, FaultyAcceptor, FaultyAcceptor];
    const p1 = new MemoryProposer('p1', acceptors, { tracer, sleep: noSleep });
    const p2 = new MemoryProposer('p2', acceptors, { tracer, sleep: noSleep });
    await p1.propose('k', appendOp('base'));
    await p2.propose('other', () => null);
    // p1's next change reaches a1 only; its retry's prepares on k are held.
    for (const a of [a2, a3]) a.addRule({ method: 'accept', when: 'request', action: 'drop', times: 1, match: (m) => m.ballot?.id === 'p1' });
    for (const a of acceptors) a.addRule({ method: 'prepare', when: 'request', action: 'hold', times: 1, match: (m) => m.ballot?.id === 'p1' && m.key === 'k' });
    let calls = 0;
    const changed = p1.propose('k', (s) => {
      calls++;
      return appendOp('x')(s);
    });
    await held(acceptors);
    // Meanwhile a collection of another key fences both proposers (p1's age becomes 1).
    await garbageCollect('other', [p1, p2], acceptors, { random: () => 0.99, tracer });
    for (const a of acceptors) await a.releaseAll();
    const result = await changed;
    // Decided, not unknown; applied exactly once.
    expect(opsOf(result.state)).toEqual(['base', 'x']);
    expect(ofType(events, 'recovery').length).toBeGreaterThan(0);
    expect(opsOf((await p2.identityRead('k')).state)).toEqual(['base', 'x']);
    expect(calls).toBeLessThanOrEqual(2);
    // p1 was fenced by the collection (a collection of k itself still makes the outcome unknown:
    // the test before this one).
    expect(p1.age.counter).toBe(1);
  });

  // After an unknown outcome, a retry that meets a higher required age reports AcceptFailedError
  // (cause: the AgeError): the caller must still learn that its change may have taken effect.
  test('an unknown outcome followed by a stale age is still reported as unknown (AcceptFailedError)', async () => {
    const { proposer, acceptors } = cluster();
    const [a1, a2, a3] = acceptors;
    for (const a of [a2, a3]) a.addRule({ method: 'accept', when: 'request', action: 'drop', times: 1 });
    for (const a of acceptors) a.addRule({ method: 'prepare', when: 'request', action: 'hold', times: 1, match: (m) => (m.ballot?.counter ?? 0) > 1 });
    const outcome = proposer.propose('k', write('maybe')).catch((e: unknown) => e);
    await held(acceptors);
    expect(dec(a1.inner.inspect('k')?.state ?? null)).toBe('maybe'); // it may well take effect
    // A garbage collection this proposer was left out of.
    for (const a of acceptors) await a.inner.rejectByAge([{ counter: 1, id: 'p1' }]);
    await unblock(acceptors);
    const error = await outcome;
    expect(error).toBeInstanceOf(AcceptFailedError);
    expect((error as AcceptFailedError).cause).toBeInstanceOf(AgeError);
  });

  // Regression: when the retries ran out after an unknown outcome, the AcceptFailedError named the
  // last attempt's ballot (here 3/p1, an attempt that never passed its prepare phase) instead of
  // the accept whose outcome is unknown (1/p1).
  test('retries exhausted after an unknown outcome: the AcceptFailedError names the unknown accept, not the last attempt', async () => {
    const { proposer, acceptors } = cluster(3, { retry: { attempts: 2 } });
    const [, a2, a3] = acceptors;
    for (const a of [a2, a3]) a.addRule({ method: 'accept', when: 'request', action: 'drop', times: 1 });
    for (const a of acceptors) a.addRule({ method: 'prepare', when: 'request', action: 'drop', match: (m) => (m.ballot?.counter ?? 0) > 1 });
    const error = await proposer.propose('x', write('v')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcceptFailedError);
    expect(formatBallot((error as AcceptFailedError).ballot)).toBe('1/p1');
    expect((error as AcceptFailedError).message).toContain('under ballot 1/p1');
    expect(proposer.inspect().counter).toBe(3); // the second attempt ran, under 3/p1
  });

  test('acceptors that report no ancestry: a buried unknown outcome stays unknown (AcceptFailedError), never re-applied', async () => {
    // An older acceptor: its promises carry no ancestry.
    class NoAncestry extends MemoryAcceptor {
      override async prepare(key: string, age: Age, ballot: Ballot, opts?: { signal?: AbortSignal }): Promise<PrepareReply> {
        const reply = await super.prepare(key, age, ballot, opts);
        if (reply.type !== 'promised') return reply;
        return { type: 'promised', accepted: reply.accepted, state: reply.state };
      }
    }
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new FaultyAcceptor(new NoAncestry(a)));
    const [a1, a2, a3] = acceptors as [FaultyAcceptor<NoAncestry>, FaultyAcceptor<NoAncestry>, FaultyAcceptor<NoAncestry>];
    const events: TraceEvent[] = [];
    const p1 = new MemoryProposer('p1', acceptors, { sleep: noSleep, tracer: (e) => events.push(e) });
    for (const a of [a2, a3]) a.addRule({ method: 'accept', when: 'request', action: 'drop', times: 1, match: (m) => m.ballot?.id === 'p1' });
    for (const a of acceptors) a.addRule({ method: 'prepare', when: 'request', action: 'hold', times: 1, match: (m) => m.ballot?.id === 'p1' && m.ballot.counter > 1 });
    let calls = 0;
    const pending = p1
      .propose('k', (s) => {
        calls++;
        return appendOp('p1')(s);
      })
      .catch((e: unknown) => e);
    await held(acceptors);
    // A competitor writes over it through {a2, a3}: p1's state may or may not be an ancestor.
    a1.addRule({ method: 'prepare', when: 'reply', action: 'hold', match: (m) => m.ballot?.id === 'p2' });
    const p2 = new MemoryProposer('p2', acceptors, { sleep: noSleep });
    await p2.fastForwardIncrement('unrelated', { counter: 5, id: 'p0' });
    await p2.propose('k', appendOp('p2'));
    a1.clearRules();
    for (const a of acceptors) await a.releaseAll();
    const error = await pending;
    expect(error).toBeInstanceOf(AcceptFailedError);
    expect((error as AcceptFailedError).outcome).toBe('unknown');
    expect(ofType(events, 'recovery').map((e) => e.decision)).toEqual(['undecidable']);
    expect(calls).toBe(1);
  });
});
