/** MemoryProposer.propose when phases are lost: retries, fast-forwarding, straggler waits, PrepareFailedError / AcceptFailedError. */
import { describe, expect, test } from 'vitest';
import {
  AcceptFailedError,
  type Age,
  type Ballot,
  ConflictError,
  MemoryAcceptor,
  MemoryProposer,
  type PrepareReply,
  PrepareFailedError,
  type TraceEvent,
  ZERO_BALLOT,
  formatBallot,
  isRetryable,
} from '../../src/index.js';
import { flush, noSleep, until } from '../support/cluster.js';
import { dec, enc, write } from '../support/text.js';
import { cluster, held, neverSleep, ofType, unblock } from './support.js';

describe('MemoryProposer.propose: lost phases, retries and unknown outcomes', () => {
  test('a prepare conflict fast-forwards the ballot and the proposal retries', async () => {
    const { proposer, acceptors, events } = cluster();
    const other = new MemoryProposer('p2', acceptors);
    for (let i = 0; i < 5; i++) await other.propose('k', write(`other${i}`));
    const result = await proposer.propose('k', (s) => enc(`${dec(s)}+mine`));
    expect(dec(result.state)).toBe('other4+mine');
    // p2's five changes ran under 1/p2 .. 5/p2 (one round trip: each accept promised the next
    // ballot), and the last one left a promise of 6/p2: p1's 1/p1 conflicts with it.
    expect(result.ballot.counter).toBeGreaterThan(6);
    expect(ofType(events, 'fast-forwarded')[0]).toMatchObject({ from: 1, to: 6 });
    expect(ofType(events, 'retry')).toHaveLength(1);
  });

  test('when every attempt loses its prepare: PrepareFailedError, retryable, caused by the conflict', async () => {
    // Acceptors that always hold a promise just above whatever ballot comes in (a competitor that
    // keeps preempting): every attempt loses, each under a new ballot.
    class AlwaysAhead extends MemoryAcceptor {
      override async prepare(_key: string, _age: Age, ballot: Ballot): Promise<PrepareReply> {
        return { type: 'conflict', ballot: { counter: ballot.counter + 10, id: 'z' }, kind: 'promise', accepted: ZERO_BALLOT };
      }
    }
    const events: TraceEvent[] = [];
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new AlwaysAhead(a));
    const p = new MemoryProposer('p1', acceptors, { retry: { attempts: 3 }, sleep: async () => {}, tracer: (e) => events.push(e) });
    const error = await p.propose('k', write('v')).catch((e: unknown) => e);
    if (!(error instanceof PrepareFailedError)) throw new Error(`expected PrepareFailedError, got ${String(error)}`);
    expect(error.attempts).toBe(3);
    expect(isRetryable(error)).toBe(true);
    expect(error.cause).toBeInstanceOf(ConflictError);
    expect((error.cause as ConflictError).existing).toEqual({ counter: 33, id: 'z' });
    // Three attempts under three ballots, each past the conflict the previous one saw.
    expect([...new Set(ofType(events, 'prepare-sent').map((e) => formatBallot(e.ballot)))]).toEqual(['1/p1', '12/p1', '23/p1']);
    expect(ofType(events, 'retry').map((e) => e.attempt)).toEqual([1, 2]);
  });

  test('prepares failing by timeouts alone never make an attempt reuse a ballot', async () => {
    // Two round trips: every attempt prepares (with one round trip, the second proposal's first
    // attempt would be an accept; see the next test).
    const { proposer, acceptors, events } = cluster(3, { retry: { attempts: 4 }, oneRoundTrip: false });
    await proposer.propose('k', write('first'));
    for (const a of acceptors) a.down = true;
    const error = await proposer.propose('k', write('second')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrepareFailedError);
    expect((error as PrepareFailedError).cause).toBeInstanceOf(Error);
    for (const a of acceptors) a.down = false;
    await proposer.propose('k', write('third'));
    const attempts = [...new Set(ofType(events, 'prepare-sent').map((e) => formatBallot(e.ballot)))];
    expect(attempts).toEqual(['1/p1', '2/p1', '3/p1', '4/p1', '5/p1', '6/p1']);
  });

  test('with one round trip, timeouts alone never make an attempt reuse a ballot, a promised one included', async () => {
    const { proposer, acceptors, events } = cluster(3, { retry: { attempts: 4 } });
    await proposer.propose('k', write('first')); // 1/p1, promising 2/p1
    for (const a of acceptors) a.down = true;
    // The first attempt skips the prepare and sends accepts under 2/p1 (promising 3/p1): refused
    // everywhere, but not provably (a refusal is not a conflict), so the outcome is unknown; the
    // retries prepare 4/p1, 5/p1, 6/p1 and cannot decide it: AcceptFailedError.
    const error = await proposer.propose('k', write('second')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcceptFailedError);
    for (const a of acceptors) a.down = false;
    const third = await proposer.propose('k', write('third'));
    expect(dec(third.state)).toBe('third');
    expect(ofType(events, 'skip-prepare').map((e) => formatBallot(e.ballot))).toEqual(['2/p1']);
    const sent = events.filter((e) => e.type === 'prepare-sent' || e.type === 'accept-sent').map((e) => formatBallot(e.ballot));
    expect([...new Set(sent)]).toEqual(['1/p1', '2/p1', '4/p1', '5/p1', '6/p1', '7/p1']);
    // The ballots each accept asked to be promised: fresh ones, reserved when sent (3/p1 was
    // asked for by the refused accepts and is never used).
    const asked = acceptors[0].faults.map((f) => f.message).concat(acceptors[0].deliveries.map((d) => d.message));
    const promisedAsked = [...new Set(asked.filter((m) => m.method === 'accept' && m.next !== undefined).map((m) => formatBallot(m.next as Ballot)))];
    expect(promisedAsked.sort()).toEqual(['2/p1', '3/p1', '8/p1']);
    expect(third.ballot).toEqual({ counter: 7, id: 'p1' });
  });

  test('a failed accept phase with no retry left rejects with AcceptFailedError (outcome unknown)', async () => {
    const { proposer, acceptors, events } = cluster(3, { retry: { attempts: 1 } });
    const [a1, a2, a3] = acceptors;
    a1.addRule({ method: 'accept', when: 'request', action: 'hold' });
    a2.addRule({ method: 'accept', when: 'request', action: 'hold' });
    let calls = 0;
    const pending = proposer.propose('k', () => {
      calls++;
      return enc('maybe');
    });
    await held([a1, a2]);
    a1.dropAll();
    a2.dropAll();
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcceptFailedError);
    expect((error as AcceptFailedError).outcome).toBe('unknown');
    // One accept round only: an unknown outcome is never retried by re-applying the change.
    expect(new Set(ofType(events, 'accept-sent').map((e) => formatBallot(e.ballot))).size).toBe(1);
    expect(calls).toBe(1);
    // The third acceptor accepted the value: a later read may well adopt it.
    expect(dec(a3.inner.inspect('k')?.state ?? null)).toBe('maybe');
  });

  test('a failed accept phase is not re-applied: the next prepare finds its state and commits it again (recovery: current)', async () => {
    const { proposer, acceptors, events } = cluster();
    const [a1, a2, a3] = acceptors;
    // Only the first accepts are lost: a1's and a2's time out, a3 stores the state.
    for (const a of [a1, a2]) a.addRule({ method: 'accept', when: 'request', action: 'drop', times: 1 });
    // a2's promise to the retry is held, so the retry's prepare quorum is {a1, a3}: it holds the
    // state. (A quorum {a1, a2} would show that 1/p1 can never be chosen: 'reapply'.)
    a2.addRule({ method: 'prepare', when: 'reply', action: 'hold', times: 1, match: (m) => m.ballot?.counter !== 1 });
    let calls = 0;
    const pending = proposer.propose('k', () => {
      calls++;
      return enc('maybe');
    });
    await until(() => a2.heldOf('prepare', 'reply').length === 1 || ofType(events, 'recovery').length > 0, 'the retry');
    const result = await pending;
    a2.dropAll();
    expect(dec(result.state)).toBe('maybe');
    expect(calls).toBe(1);
    expect(ofType(events, 'recovery').map((e) => e.decision)).toEqual(['current']);
    // The state of the first accept (1/p1), committed again under the retry's ballot (3/p1; 2/p1
    // was reserved as the promise of the first accept).
    expect(ofType(events, 'committed').map((e) => `${formatBallot(e.ballot)} ${dec(e.state)}`)).toEqual(['3/p1 maybe']);
    expect(formatBallot(result.ballot)).toBe('3/p1');
    for (const a of [a1, a3]) expect(dec(a.inner.inspect('k')?.state ?? null)).toBe('maybe');
  });

  test('an accept every accepter rejected with proof it never stored it had no effect: the proposal retries', async () => {
    // No straggler timeout: p1 decides on every accepter's reply, whatever order they arrive in.
    const { proposer, acceptors, events } = cluster(3, { sleep: neverSleep });
    await proposer.propose('k', write('base')); // accepted under 1/p1 everywhere
    for (const a of acceptors) a.addRule({ method: 'accept', when: 'request', action: 'hold' });
    const seen: string[] = [];
    const pending = proposer.propose('k', (s) => {
      seen.push(dec(s) ?? 'ø');
      return enc(`${dec(s)}+p1`);
    });
    await held(acceptors);
    // A competitor only PREPARES a higher ballot (3/p2) at every acceptor while p1's accepts
    // (2/p1) are in flight; it accepts nothing. Each acceptor then rejects p1's accept with a
    // conflict whose `accepted` (1/p1) is below 2/p1: it certainly never stored p1's state.
    for (const a of acceptors) expect(await a.prepare('k', { counter: 0, id: 'p2' }, { counter: 3, id: 'p2' })).toMatchObject({ type: 'promised' });
    await unblock(acceptors);
    const result = await pending;
    for (const a of acceptors) {
      const rejected = a.deliveries.filter((d) => d.message.method === 'accept' && formatBallot(d.message.ballot ?? ZERO_BALLOT) === '2/p1');
      expect(rejected.map((d) => d.reply)).toEqual([{ type: 'conflict', ballot: { counter: 3, id: 'p2' }, kind: 'promise', accepted: { counter: 1, id: 'p1' } }]);
    }
    expect(ofType(events, 'accept-conflict')).toHaveLength(3);
    expect(ofType(events, 'retry')).toHaveLength(1);
    // The retry, past 3/p2, saw the same state as the first attempt: that one stored nothing.
    expect(seen).toEqual(['base', 'base']);
    expect(dec(result.state)).toBe('base+p1');
    expect(formatBallot(result.ballot)).toBe('4/p1');
    for (const a of acceptors) expect(dec(a.inner.inspect('k')?.state ?? null)).toBe('base+p1');
  });

  test.each([
    ['no retry left: AcceptFailedError', 1],
    ['retries: the next prepare shows the change is nowhere, so it is applied afresh (recovery: reapply)', 10],
  ])('an accept rejected by acceptors that accepted a higher ballot is not proven harmless: unknown outcome; %s', async (_, attempts) => {
    // Every accepter rejects, but each reports a competitor's ACCEPTED ballot at or above p1's: an
    // acceptor that stored p1's state and then accepted the competitor's would answer a duplicate
    // of p1's accept exactly so. The proposer cannot tell, so it must not retry blindly: only
    // once a prepare shows (through the competitor's state's ancestry) that p1's state is not an
    // ancestor of the current one.
    const { proposer, acceptors, events } = cluster(3, { retry: { attempts } });
    for (const a of acceptors) a.addRule({ method: 'accept', when: 'request', action: 'hold' });
    let calls = 0;
    const pending = proposer.propose('k', (s) => {
      calls++;
      return enc(`${dec(s) ?? ''}+p1`);
    });
    await held(acceptors);
    for (const a of acceptors) a.clearRules();
    await new MemoryProposer('p2', acceptors).propose('k', () => enc('p2'));
    const outcome = pending.catch((e: unknown) => e);
    await unblock(acceptors);
    const settled = await outcome;
    // p2's accepts piggybacked the promise of 2/p2: the conflicts name it, with 1/p2 accepted.
    expect(ofType(events, 'accept-conflict').map((e) => `${formatBallot(e.conflict)} ${e.kind}`)).toEqual(['2/p2 promise', '2/p2 promise', '2/p2 promise']);
    if (attempts === 1) {
      expect(settled).toBeInstanceOf(AcceptFailedError);
      expect((settled as AcceptFailedError).outcome).toBe('unknown');
      expect(ofType(events, 'retry')).toHaveLength(0);
      expect(calls).toBe(1);
      return;
    }
    // The retry's prepare saw p2's state, whose ancestry holds no ballot of p1's: p1's accept is
    // nowhere in it (and can never be chosen), so the change is applied afresh, to p2's state.
    expect(ofType(events, 'recovery').map((e) => e.decision)).toEqual(['reapply']);
    expect(calls).toBe(2);
    expect(dec((settled as { state: Uint8Array }).state)).toBe('p2+p1');
    for (const a of acceptors) expect(dec(a.inner.inspect('k')?.state ?? null)).toBe('p2+p1');
  });

  test.each([
    ['no retry left: AcceptFailedError, and no retry', 1],
    ["retries: the next prepare finds the change in the competitor's state and commits that (recovery: adopted)", 10],
  ])('the bug this fixes: a rejected duplicate of a stored accept never makes the proposal re-apply its change; %s', async (_, attempts) => {
    // With messages delivered twice, a plain rejection may answer a duplicate of an accept the
    // acceptor stored and then moved past. Scenario, p1 appending "+p1" under 1/p1:
    //  1. p1's accept reaches a1 and is stored, but a1's reply is lost; a duplicate of it is still
    //     in the network. p1's accepts to a2 and a3 are delayed.
    //  2. A competitor p2 prepares 2/p2 everywhere (after 1/p2, turned down by rule G1), adopts "+p1" from a1, and gets "+p1+p2"
    //     accepted at a1 (its accepts to a2 and a3 are lost).
    //  3. p1's accepts reach a2 and a3 (rejected: a promise to 2/p2, nothing accepted) and the
    //     duplicate reaches a1 (rejected: a1 accepted 2/p2 since).
    // Every accepter rejected p1's accept, yet its change is in "+p1+p2". Re-applying it would
    // apply it a second time. a2's and a3's rejections prove they never stored 1/p1; a1's does not.
    // With retries left, p1's next prepare sees "+p1+p2", whose ancestry names 1/p1: adopted.
    const { proposer, acceptors, events } = cluster(3, {
      // The straggler wait never ends on its own: p1 hears from every accepter before deciding.
      sleep: neverSleep,
      retry: { attempts },
    });
    const [a1, a2, a3] = acceptors;
    // Only p1's first accepts are held (so that a wrongful retry would run to completion).
    for (const a of acceptors) a.addRule({ method: 'accept', when: 'request', action: 'hold', match: (m) => m.ballot?.id === 'p1', times: 1 });
    for (const a of [a2, a3]) a.addRule({ method: 'accept', when: 'request', action: 'drop', match: (m) => m.ballot?.id === 'p2' });
    let calls = 0;
    const pending = proposer.propose('k', (s) => {
      calls++;
      return enc(`${dec(s) ?? ''}+p1`);
    });
    const outcome = pending.catch((e: unknown) => e);
    await held(acceptors);

    // 1. The first copy of p1's accept reaches a1 and is stored; nobody hears its reply. (It goes
    // straight to the inner acceptor; the held copy at a1 is the duplicate.)
    const [duplicate] = a1.heldOf('accept');
    if (duplicate === undefined) throw new Error('expected p1 accept held at a1');
    const { key, age, ballot, state } = duplicate.message;
    if (key === undefined || age === undefined || ballot === undefined || state === undefined) throw new Error('incomplete accept');
    expect(await a1.inner.accept(key, age, ballot, state)).toEqual({ type: 'accepted' });

    // 2. The competitor adopts the stored state and gets its own accepted at a1 only.
    const adopted: string[] = [];
    // (Two round trips for the competitor, so its accept promises nothing beyond 2/p2. Its first
    // prepare, 1/p2, wins but finds "+p1" accepted under the same counter: rule G1 sends no accept
    // under it, and the second attempt prepares 2/p2.)
    const competitor = new MemoryProposer('p2', acceptors, { sleep: noSleep, retry: { attempts: 2 }, oneRoundTrip: false });
    const competing = competitor.propose('k', (s) => {
      adopted.push(dec(s) ?? 'ø');
      return enc(`${dec(s) ?? ''}+p2`);
    });
    await expect(competing).rejects.toBeInstanceOf(AcceptFailedError);
    expect(adopted).toEqual(['+p1']);
    expect(a1.inner.inspect('k')).toEqual({ promise: { counter: 2, id: 'p2' }, accepted: { counter: 2, id: 'p2' }, state: enc('+p1+p2'), ancestry: [{ counter: 1, id: '…' }, { counter: 1, id: 'p1' }] });

    // 3. p1's delayed accepts reach a2 and a3: rejections that prove they never stored 1/p1...
    for (const a of [a2, a3]) {
      await expect(a.heldOf('accept')[0]?.release()).resolves.toEqual({
        type: 'conflict',
        ballot: { counter: 2, id: 'p2' },
        kind: 'promise',
        accepted: ZERO_BALLOT,
      });
    }
    await flush();
    // ...so p1 waits for a1, the last accepter (if it proved the same, p1 could safely retry).
    let settled = false;
    void outcome.then(() => (settled = true));
    await flush();
    expect(settled).toBe(false);

    // ...and the duplicate reaches a1: rejected, but a1 may have accepted 1/p1 (it did).
    await expect(duplicate.release()).resolves.toEqual({
      type: 'conflict',
      ballot: { counter: 2, id: 'p2' },
      kind: 'accepted',
      accepted: { counter: 2, id: 'p2' },
    });
    const settledWith = await outcome;
    // A blind retry would have re-applied the change to "+p1+p2" (and committed "+p1+p2+p1").
    expect(calls).toBe(1);
    if (attempts === 1) {
      expect(ofType(events, 'retry')).toHaveLength(0);
      expect(settledWith).toBeInstanceOf(AcceptFailedError);
      expect((settledWith as AcceptFailedError).outcome).toBe('unknown');
      expect([...new Set(ofType(events, 'accept-sent').map((e) => formatBallot(e.ballot)))]).toEqual(['1/p1']);
    } else {
      expect(ofType(events, 'recovery').map((e) => e.decision)).toEqual(['adopted']);
      // p1 resolves with the state its own change produced; the quorum's state, which contains it,
      // is committed again under p1's next ballot (3/p1: 2/p1 was reserved by the first accept).
      expect(settledWith).toMatchObject({ state: enc('+p1'), ballot: { counter: 3, id: 'p1' } });
      expect(ofType(events, 'accept-sent').map((e) => `${formatBallot(e.ballot)} ${dec(e.state)}`)).toEqual([
        ...Array<string>(3).fill('1/p1 +p1'),
        ...Array<string>(3).fill('3/p1 +p1+p2'),
      ]);
      for (const a of acceptors) expect(dec(a.inner.inspect('k')?.state ?? null)).toBe('+p1+p2');
    }
    // p1's change is applied exactly once wherever anything was stored.
    const applications = (state: string | null): number => state?.match(/\+p1/g)?.length ?? 0;
    for (const a of acceptors) {
      for (const d of a.deliveries) if (d.message.method === 'accept') expect(applications(dec(d.message.state ?? null))).toBeLessThanOrEqual(1);
    }
    expect(dec(a1.inner.inspect('k')?.state ?? null)).toBe('+p1+p2');
  });

  test('a silent accepter cannot hold a lost accept phase: after stragglerTimeoutMs the outcome is unknown', async () => {
    let wake: () => void = () => {};
    // A sleep the test controls: the straggler wait ends when the test says the time is up.
    const sleep = (_ms: number, signal?: AbortSignal): Promise<void> =>
      new Promise((resolve, reject) => {
        wake = resolve;
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    const { proposer, acceptors, events } = cluster(3, { sleep, retry: { attempts: 1 } });
    const [a1, a2, a3] = acceptors;
    for (const a of acceptors) a.addRule({ method: 'accept', when: 'request', action: 'hold' });
    const pending = proposer.propose('k', write('v'));
    let settled = false;
    const outcome = pending.catch((e: unknown) => {
      settled = true;
      return e;
    });
    await held(acceptors);
    // A competitor only PREPARES a higher ballot at a1 and a2: their rejections of p1's accept
    // prove they never stored it. a3 never answers p1's accept.
    for (const a of [a1, a2]) await a.prepare('k', { counter: 0, id: 'p2' }, { counter: 2, id: 'p2' });
    await unblock([a1, a2]);
    await flush();
    expect(ofType(events, 'accept-conflict')).toHaveLength(2);
    expect(settled).toBe(false); // lost, every reply so far proven: waiting for a3
    expect(a3.held).toHaveLength(1);
    wake(); // the straggler timeout elapses
    const error = await outcome;
    expect(error).toBeInstanceOf(AcceptFailedError);
    expect((error as AcceptFailedError).outcome).toBe('unknown');
    a3.dropAll();
  });

  test('a lost accept phase does not wait for stragglers once a reply proves nothing', async () => {
    // a1 rejects with proof (a competitor's promise), a2 with none (a competitor's accepted
    // ballot above p1's): the outcome is unknown whatever a3 says, so p1 fails at once.
    const waits: number[] = [];
    const { proposer, acceptors } = cluster(3, {
      // No retry: the point is the failed attempt's own wait (a retry would resolve the outcome).
      retry: { attempts: 1 },
      stragglerTimeoutMs: 50,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    const [a1, a2, a3] = acceptors;
    for (const a of acceptors) a.addRule({ method: 'accept', when: 'request', action: 'hold' });
    const outcome = proposer.propose('k', write('v')).catch((e: unknown) => e);
    await held(acceptors);
    await a1.prepare('k', { counter: 0, id: 'p2' }, { counter: 2, id: 'p2' });
    await a2.inner.accept('k', { counter: 0, id: 'p2' }, { counter: 2, id: 'p2' }, enc('w'));
    await unblock([a1, a2]);
    expect(await outcome).toBeInstanceOf(AcceptFailedError);
    expect(waits).toEqual([]); // no straggler wait
    expect(a3.held).toHaveLength(1); // a3 never answered
    a3.dropAll();
  });

});
