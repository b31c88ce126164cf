import { describe, expect, test } from 'vitest';
import {
  AcceptFailedError,
  AgeError,
  type Age,
  type Ballot,
  ConflictError,
  DuplicateError,
  InvalidArgumentError,
  MemoryAcceptor,
  MemoryProposer,
  type MemoryProposerOptions,
  NotFoundError,
  type PrepareReply,
  PrepareFailedError,
  type Sleep,
  type TraceEvent,
  UnavailableError,
  ZERO_BALLOT,
  formatBallot,
  isRetryable,
} from '../../src/index.js';
import { TestCluster, flush, noSleep, until } from '../support/cluster.js';
import { FaultyAcceptor } from '../support/faulty-acceptor.js';
import { dec, enc, write } from '../support/text.js';

/** Acceptors a1..an behind `FaultyAcceptor`s, and one proposer p1 over all of them. */
function cluster(n = 3, options: MemoryProposerOptions = {}) {
  const { acceptors, events, tracer } = new TestCluster({ acceptors: Array.from({ length: n }, (_, i) => `a${i + 1}`), proposers: [] });
  const proposer = new MemoryProposer('p1', acceptors, { tracer, sleep: noSleep, ...options });
  return { acceptors: acceptors as [FaultyAcceptor, FaultyAcceptor, FaultyAcceptor, ...FaultyAcceptor[]], proposer, events };
}

/** Waits until each of `acceptors` holds `count` messages. */
const held = (acceptors: readonly FaultyAcceptor[], count = 1): Promise<void> =>
  until(() => acceptors.every((a) => a.held.length === count), `${count} held message(s) at ${acceptors.map((a) => a.address).join(', ')}`);

/** Stops holding new messages and delivers every held one, at all of `acceptors` at once. */
const unblock = async (acceptors: readonly FaultyAcceptor[]): Promise<void> => {
  await Promise.all(
    acceptors.map((a) => {
      a.clearRules();
      return a.releaseAll();
    }),
  );
};

/**
 * A sleep that ends only by abort: a straggler wait under it lasts until every reply is in.
 * (Retries still happen: the first retry does not sleep.)
 */
const neverSleep: Sleep = (_ms, signal) =>
  new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));

const ofType = <T extends TraceEvent['type']>(events: TraceEvent[], type: T) =>
  events.filter((e): e is Extract<TraceEvent, { type: T }> => e.type === type);

describe('MemoryProposer.propose', () => {
  test('resolves with the new state and the ballot it was accepted under', async () => {
    const { proposer } = cluster();
    const first = await proposer.propose('k', write('a'));
    const second = await proposer.propose('k', (s) => enc(`${dec(s)}b`));
    expect(dec(first.state)).toBe('a');
    expect(formatBallot(first.ballot)).toBe('1/p1');
    expect(dec(second.state)).toBe('ab');
    expect(formatBallot(second.ballot)).toBe('2/p1');
  });

  test('the ballot is taken and the prepares are sent synchronously, before the first await', () => {
    const { proposer, events } = cluster();
    void proposer.propose('x', write('1'));
    void proposer.propose('y', write('2'));
    expect(ofType(events, 'prepare-sent').map((e) => `${e.key}@${formatBallot(e.ballot)}`)).toEqual([
      'x@1/p1',
      'x@1/p1',
      'x@1/p1',
      'y@2/p1',
      'y@2/p1',
      'y@2/p1',
    ]);
  });

  test('a throwing change function rejects with its own error and sends no accept', async () => {
    const { proposer, acceptors, events } = cluster();
    await proposer.propose('k', write('before'));
    const boom = new Error('boom');
    events.length = 0;
    await expect(
      proposer.propose('k', () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(ofType(events, 'accept-sent')).toHaveLength(0);
    expect(ofType(events, 'failed')).toHaveLength(1);
    for (const a of acceptors) expect(dec(a.inner.inspect('k')?.state ?? null)).toBe('before');
  });

  test('a change function returning something other than bytes or null is rejected, nothing accepted', async () => {
    const { proposer, events } = cluster();
    await expect(proposer.propose('k', () => 'text' as unknown as Uint8Array)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(ofType(events, 'accept-sent')).toHaveLength(0);
  });

  test('bad arguments reject with InvalidArgumentError before anything is sent', async () => {
    const { proposer, events } = cluster();
    await expect(proposer.propose(1 as unknown as string, write('x'))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(proposer.propose('k', 'nope' as unknown as () => null)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(events).toHaveLength(0);
  });

  test('resolves as soon as a quorum accepted, without waiting for a hanging acceptor', async () => {
    const { proposer, acceptors, events } = cluster();
    const a3 = acceptors[2];
    a3.addRule({ when: 'request', action: 'hold' });
    expect(dec((await proposer.propose('k', write('v'))).state)).toBe('v');
    expect(a3.held.map((h) => h.message.method)).toEqual(['prepare', 'accept']);
    await a3.releaseAll();
    await flush();
    // The straggler's replies arrived after the rounds were decided and were marked late.
    expect(events.filter((e) => 'late' in e && e.late).map((e) => e.type)).toEqual(['promised', 'accepted']);
  });

  test('fails as soon as a quorum is impossible, without waiting for a hanging acceptor', async () => {
    const { proposer, acceptors } = cluster(3, { retry: { attempts: 1 } });
    const [a1, a2, a3] = acceptors;
    a1.down = true;
    a2.down = true;
    a3.addRule({ when: 'request', action: 'hold' });
    await expect(proposer.propose('k', write('v'))).rejects.toBeInstanceOf(PrepareFailedError);
    expect(a3.held).toHaveLength(1); // a3 never answered
  });

  test('late replies do not change the state the change function saw', async () => {
    const { proposer, acceptors } = cluster();
    const a3 = acceptors[2];
    // a3 alone holds a value accepted under 1/a, below p1's first ballot 1/p1: a minority accept,
    // never committed. Were a3's promise counted, the change function would see 'minority'.
    await a3.accept('k', { counter: 0, id: 'a' }, { counter: 1, id: 'a' }, enc('minority'));
    a3.addRule({ method: 'prepare', when: 'reply', action: 'hold' });
    const seen: string[] = [];
    const result = await proposer.propose('k', (s) => {
      seen.push(dec(s) ?? 'ø');
      return enc('new');
    });
    expect(seen).toEqual(['ø']);
    expect(dec(result.state)).toBe('new');
    // The held promise (accepted 1/a, 'minority') arrives now, after the round was decided.
    expect(a3.held).toHaveLength(1);
    await a3.releaseAll();
    await flush();
    expect(seen).toEqual(['ø']);
  });

  test('a prepare conflict fast-forwards the ballot and the proposal retries', async () => {
    const { proposer, acceptors, events } = cluster();
    const other = new MemoryProposer('p2', acceptors);
    for (let i = 0; i < 5; i++) await other.propose('k', write(`other${i}`));
    const result = await proposer.propose('k', (s) => enc(`${dec(s)}+mine`));
    expect(dec(result.state)).toBe('other4+mine');
    expect(result.ballot.counter).toBeGreaterThan(5);
    expect(ofType(events, 'fast-forwarded')[0]).toMatchObject({ from: 1, to: 5 });
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
    const { proposer, acceptors, events } = cluster(3, { retry: { attempts: 4 } });
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

  test('a failed accept phase rejects with AcceptFailedError (outcome unknown) and is not retried', async () => {
    const { proposer, acceptors, events } = cluster();
    const [a1, a2, a3] = acceptors;
    a1.addRule({ method: 'accept', when: 'request', action: 'hold' });
    a2.addRule({ method: 'accept', when: 'request', action: 'hold' });
    const pending = proposer.propose('k', write('maybe'));
    await held([a1, a2]);
    a1.dropAll();
    a2.dropAll();
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcceptFailedError);
    expect((error as AcceptFailedError).outcome).toBe('unknown');
    // One accept round only: an unknown outcome is never retried by re-applying the change.
    expect(new Set(ofType(events, 'accept-sent').map((e) => formatBallot(e.ballot))).size).toBe(1);
    // The third acceptor accepted the value: a later read may well adopt it.
    expect(dec(a3.inner.inspect('k')?.state ?? null)).toBe('maybe');
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

  test('an accept rejected by acceptors that accepted a higher ballot is not proven harmless: unknown outcome, no retry', async () => {
    // Every accepter rejects, but each reports a competitor's ACCEPTED ballot at or above p1's: an
    // acceptor that stored p1's state and then accepted the competitor's would answer a duplicate
    // of p1's accept exactly so. The proposer cannot tell, so it must not retry.
    const { proposer, acceptors, events } = cluster();
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
    const error = await outcome;
    expect(error).toBeInstanceOf(AcceptFailedError);
    expect((error as AcceptFailedError).outcome).toBe('unknown');
    expect(ofType(events, 'accept-conflict').map((e) => `${formatBallot(e.conflict)} ${e.kind}`)).toEqual(['1/p2 accepted', '1/p2 accepted', '1/p2 accepted']);
    expect(ofType(events, 'retry')).toHaveLength(0);
    expect(calls).toBe(1);
  });

  test('the bug this fixes: a rejected duplicate of a stored accept never makes the proposal retry (no double application)', async () => {
    // With messages delivered twice, a plain rejection may answer a duplicate of an accept the
    // acceptor stored and then moved past. Scenario, p1 appending "+p1" under 1/p1:
    //  1. p1's accept reaches a1 and is stored, but a1's reply is lost; a duplicate of it is still
    //     in the network. p1's accepts to a2 and a3 are delayed.
    //  2. A competitor p2 prepares 1/p2 everywhere, adopts "+p1" from a1, and gets "+p1+p2"
    //     accepted at a1 (its accepts to a2 and a3 are lost).
    //  3. p1's accepts reach a2 and a3 (rejected: a promise to 1/p2, nothing accepted) and the
    //     duplicate reaches a1 (rejected: a1 accepted 1/p2 since).
    // Every accepter rejected p1's accept, yet its change is in "+p1+p2". Retrying would apply it a
    // second time. a2's and a3's rejections prove they never stored 1/p1; a1's does not.
    const { proposer, acceptors, events } = cluster(3, {
      // The straggler wait never ends on its own: p1 hears from every accepter before deciding.
      sleep: neverSleep,
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
    const competitor = new MemoryProposer('p2', acceptors, { sleep: noSleep, retry: { attempts: 1 } });
    const competing = competitor.propose('k', (s) => {
      adopted.push(dec(s) ?? 'ø');
      return enc(`${dec(s) ?? ''}+p2`);
    });
    await expect(competing).rejects.toBeInstanceOf(AcceptFailedError);
    expect(adopted).toEqual(['+p1']);
    expect(a1.inner.inspect('k')).toEqual({ promise: { counter: 1, id: 'p2' }, accepted: { counter: 1, id: 'p2' }, state: enc('+p1+p2') });

    // 3. p1's delayed accepts reach a2 and a3: rejections that prove they never stored 1/p1...
    for (const a of [a2, a3]) {
      await expect(a.heldOf('accept')[0]?.release()).resolves.toEqual({
        type: 'conflict',
        ballot: { counter: 1, id: 'p2' },
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
      ballot: { counter: 1, id: 'p2' },
      kind: 'accepted',
      accepted: { counter: 1, id: 'p2' },
    });
    const error = await outcome;
    // A retry would have re-applied the change to "+p1+p2" (and committed "+p1+p2+p1").
    expect(calls).toBe(1);
    expect(ofType(events, 'retry')).toHaveLength(0);
    expect(error).toBeInstanceOf(AcceptFailedError);
    expect((error as AcceptFailedError).outcome).toBe('unknown');
    expect([...new Set(ofType(events, 'accept-sent').map((e) => formatBallot(e.ballot)))]).toEqual(['1/p1']);
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

  test('proposals for one key queue in arrival order; none is rejected for being concurrent', async () => {
    const { proposer } = cluster();
    const appended = await Promise.all(Array.from({ length: 20 }, (_, i) => proposer.propose('k', (s) => enc(`${dec(s) ?? ''}${String.fromCharCode(97 + i)}`))));
    expect(appended.map((r) => dec(r.state))).toEqual(Array.from({ length: 20 }, (_, i) => 'abcdefghijklmnopqrst'.slice(0, i + 1)));
  });

  test('proposals for different keys run concurrently', async () => {
    const { proposer, acceptors } = cluster();
    for (const a of acceptors) a.addRule({ key: 'slow', when: 'request', action: 'hold' });
    const slow = proposer.propose('slow', write('s'));
    // 'fast' completes although 'slow' is stuck in its prepare phase.
    expect(dec((await proposer.propose('fast', write('f'))).state)).toBe('f');
    expect(acceptors.map((a) => a.heldOf('prepare').length)).toEqual([1, 1, 1]);
    await unblock(acceptors);
    expect(dec((await slow).state)).toBe('s');
  });

  describe('cancellation', () => {
    test('an already aborted signal rejects with its reason and sends nothing', async () => {
      const { proposer, events } = cluster();
      const reason = new Error('cancelled');
      await expect(proposer.propose('k', write('v'), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
      expect(events).toHaveLength(0);
    });

    test('an abort during the prepare phase rejects with signal.reason', async () => {
      const { proposer, acceptors } = cluster();
      // The prepares hang and the transport cannot cancel them: the proposer must stop waiting itself.
      for (const a of acceptors) {
        a.ignoreAbort = true;
        a.addRule({ when: 'request', action: 'hold' });
      }
      const controller = new AbortController();
      const pending = proposer.propose('k', write('v'), { signal: controller.signal });
      await held(acceptors);
      controller.abort(new Error('deadline'));
      await expect(pending).rejects.toThrow('deadline');
      await unblock(acceptors);
      // The key is free again for the next proposal.
      expect(dec((await proposer.propose('k', write('next'))).state)).toBe('next');
    });

    test('a proposal aborted while queued behind another never runs', async () => {
      const { proposer, acceptors } = cluster();
      for (const a of acceptors) a.addRule({ when: 'request', action: 'hold' });
      const first = proposer.propose('k', write('first'));
      const controller = new AbortController();
      let ran = false;
      const second = proposer.propose(
        'k',
        () => {
          ran = true;
          return enc('second');
        },
        { signal: controller.signal },
      );
      controller.abort();
      await expect(second).rejects.toMatchObject({ name: 'AbortError' });
      await unblock(acceptors);
      await first;
      await flush();
      expect(ran).toBe(false);
    });
  });

  test('fullIdentityRead needs every accepter', async () => {
    const { proposer, acceptors } = cluster();
    await proposer.propose('k', write('v'));
    expect(dec((await proposer.fullIdentityRead('k')).state)).toBe('v');
    acceptors[2].down = true;
    await expect(proposer.fullIdentityRead('k')).rejects.toBeInstanceOf(AcceptFailedError);
    expect(dec((await proposer.identityRead('k')).state)).toBe('v');
  });

  test('fastForwardIncrement moves the counter past the ballot and increments the age', async () => {
    const { proposer } = cluster();
    expect(await proposer.fastForwardIncrement('k', { counter: 41, id: 'zz' })).toEqual({ counter: 1, id: 'p1' });
    expect((await proposer.propose('k', write('v'))).ballot).toEqual({ counter: 42, id: 'p1' });
    expect(await proposer.fastForwardIncrement('k', { counter: 3, id: 'a' })).toEqual({ counter: 2, id: 'p1' });
    expect(proposer.inspect().counter).toBe(42); // never moves back
  });

  test('a proposer left out of a garbage collection gets a non-retryable AgeError', async () => {
    const { proposer, acceptors } = cluster();
    for (const a of acceptors) await a.rejectByAge([{ counter: 3, id: 'p1' }]);
    const error = await proposer.propose('k', write('v')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgeError);
    expect(isRetryable(error)).toBe(false);
  });

  test('an attempt fenced off by a concurrent garbage collection retries with the new age', async () => {
    const { proposer, acceptors } = cluster();
    for (const a of acceptors) a.addRule({ method: 'prepare', when: 'request', action: 'hold' });
    const pending = proposer.propose('k', write('v'));
    await held(acceptors);
    // The collection runs while the prepares are in flight: the proposer's age goes to 1 and the
    // acceptors start requiring it, so the in-flight prepares (age 0) are rejected.
    const newAge = await proposer.fastForwardIncrement('k', { counter: 0, id: '' });
    for (const a of acceptors) {
      await a.rejectByAge([newAge]);
      a.clearRules();
      await a.releaseAll();
    }
    expect(dec((await pending).state)).toBe('v');
  });
});

describe('a tracer that throws', () => {
  test('fails the proposal with its error instead of hanging it, and the key stays usable', async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    let armed = true;
    const boom = new Error('tracer bug');
    const proposer = new MemoryProposer('p1', acceptors, {
      tracer: (event) => {
        if (armed && event.type === 'promised') throw boom;
      },
    });
    await expect(proposer.propose('k', write('v'))).rejects.toBe(boom);
    armed = false;
    expect(dec((await proposer.propose('k', write('w'))).state)).toBe('w');
  });
});

describe('MemoryProposer configuration', () => {
  test('constructor validates its arguments', () => {
    const a = new MemoryAcceptor('a1');
    expect(() => new MemoryProposer('', [a])).toThrow(InvalidArgumentError);
    expect(() => new MemoryProposer('p1', [])).toThrow(InvalidArgumentError);
    expect(() => new MemoryProposer('p1', [a, new MemoryAcceptor('a1')])).toThrow(DuplicateError);
    expect(() => new MemoryProposer('p1', [a], { retry: { attempts: 0 } })).toThrow(InvalidArgumentError);
  });

  test('adding a duplicate or removing a missing acceptor is a typed error that changes nothing', async () => {
    const { proposer, acceptors } = cluster();
    await expect(proposer.addAccepter(acceptors[0])).rejects.toBeInstanceOf(DuplicateError);
    await expect(proposer.addPreparer(acceptors[0])).rejects.toBeInstanceOf(DuplicateError);
    await expect(proposer.removeAccepter({ address: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(proposer.removePreparer({ address: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await proposer.listAccepters()).toEqual(['a1', 'a2', 'a3']);
    expect(await proposer.listPreparers()).toEqual(['a1', 'a2', 'a3']);
  });

  test('an empty prepare or accept set is refused, never treated as a quorum', async () => {
    const a = new MemoryAcceptor('a1');
    const p = new MemoryProposer('p1', [a]);
    await expect(p.removePreparer(a)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(p.removeAccepter(a)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await p.listPreparers()).toEqual(['a1']);
  });

  test('the accept quorum is a majority of the accept set, which may differ from the prepare set', async () => {
    const { proposer, acceptors } = cluster();
    const a4 = new FaultyAcceptor(new MemoryAcceptor('a4'));
    await proposer.addAccepter(a4);
    // The accept set a1..a4 needs 3 accepts: with a1's accept lost and a4 down, 2 are not enough,
    // although they are a majority of the prepare set a1..a3.
    const a1 = acceptors[0];
    a1.addRule({ method: 'accept', when: 'request', action: 'hold', times: 1 });
    a4.down = true;
    const pending = proposer.propose('k', write('v'));
    await held([a1]);
    a1.dropAll();
    await expect(pending).rejects.toBeInstanceOf(AcceptFailedError);
    a4.down = false;
    expect(dec((await proposer.propose('k', (s) => s)).state)).toBe('v');
  });

  test('a configuration change resolves only when no attempt runs under the old configuration', async () => {
    const { proposer, acceptors } = cluster();
    for (const a of acceptors) a.addRule({ when: 'request', action: 'hold' });
    const inFlight = proposer.propose('k', write('v'));
    await held(acceptors);
    let changed = false;
    const change = proposer.addAccepter(new FaultyAcceptor(new MemoryAcceptor('a4'))).then(() => (changed = true));
    await flush();
    // The change is in place for new attempts at once...
    expect(await proposer.listAccepters()).toEqual(['a1', 'a2', 'a3', 'a4']);
    // ...but waits for the attempt that started before it.
    expect(changed).toBe(false);
    await unblock(acceptors);
    await inFlight;
    await change;
    expect(changed).toBe(true);
  });

  test('listKeys is the union over the accepters, and needs a majority of them', async () => {
    const { proposer, acceptors } = cluster();
    const [a1, a2, a3] = acceptors;
    await a1.accept('only-on-a1', { counter: 0, id: 'x' }, { counter: 1, id: 'x' }, null);
    await proposer.propose('everywhere', write('v'));
    const keys = async (): Promise<string[]> => {
      const out: string[] = [];
      for await (const k of proposer.listKeys()) out.push(k);
      return out;
    };
    expect(await keys()).toEqual(['everywhere', 'only-on-a1']);
    a2.addRule({ method: 'listKeys', when: 'request', action: 'drop' });
    expect(await keys()).toEqual(['everywhere', 'only-on-a1']);
    a3.addRule({ method: 'listKeys', when: 'request', action: 'drop' });
    await expect(keys()).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe('MemoryProposer.watch', () => {
  test('yields the current state, then each committed change, and ends on abort', async () => {
    const { proposer, acceptors } = cluster();
    const other = new MemoryProposer('p2', acceptors);
    await other.propose('k', write('v0'));
    const controller = new AbortController();
    const seen: Array<string | null> = [];
    const done = (async () => {
      for await (const s of proposer.watch('k', { signal: controller.signal })) seen.push(dec(s));
    })();
    await flush();
    await other.propose('k', write('v1'));
    await other.propose('k', (s) => s); // a read re-commits the same bytes: not a change
    await other.propose('k', () => null);
    await flush();
    controller.abort();
    await done;
    expect(seen).toEqual(['v0', 'v1', null]);
  });

  test('retries its first read while it fails retryably, then yields the state it read', async () => {
    const { proposer, acceptors, events } = cluster();
    await proposer.propose('k', write('v0'));
    // The first identity read loses two of its three accepts: an unknown outcome (retryable).
    for (const a of acceptors.slice(0, 2)) a.addRule({ method: 'accept', when: 'request', action: 'drop', times: 1 });
    const controller = new AbortController();
    const iterator = proposer.watch('k', { signal: controller.signal })[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    expect(dec(first.value as Uint8Array)).toBe('v0');
    expect(ofType(events, 'failed').map((e) => e.error)).toEqual([expect.any(AcceptFailedError)]);
    expect(ofType(events, 'committed').map((e) => formatBallot(e.ballot))).toEqual(['1/p1', '3/p1']);
    controller.abort();
  });

  test('gives up on the first read after retry.attempts reads, failing with the last error', async () => {
    const { proposer, acceptors, events } = cluster(3, { retry: { attempts: 2 } });
    for (const a of acceptors.slice(0, 2)) a.addRule({ method: 'accept', when: 'request', action: 'drop' });
    const iterator = proposer.watch('k')[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toBeInstanceOf(AcceptFailedError);
    expect(ofType(events, 'failed')).toHaveLength(2);
  });

  test('does not retry a first read that failed for good', async () => {
    const { proposer, acceptors, events } = cluster();
    for (const a of acceptors) await a.rejectByAge([{ counter: 1, id: 'p1' }]);
    const iterator = proposer.watch('k')[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toBeInstanceOf(AgeError);
    expect(ofType(events, 'failed')).toHaveLength(1);
  });

  test('fails when too few accepters can be watched', async () => {
    const { proposer, acceptors } = cluster();
    for (const a of acceptors.slice(0, 2)) {
      a.watch = () => ({
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('unreachable')) }),
      });
    }
    const iterator = proposer.watch('k')[Symbol.asyncIterator]();
    await expect(
      (async () => {
        for (;;) if ((await iterator.next()).done === true) return;
      })(),
    ).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe('logging', () => {
  const recorder = (enabled: boolean) => {
    const records: Array<Record<string, unknown>> = [];
    const log = (obj: Record<string, unknown>): void => {
      records.push(obj);
    };
    return { records, logger: { debug: log, info: log, warn: log, error: log, isLevelEnabled: () => enabled } };
  };

  test('one debug record per phase, naming the key, ballot and result', async () => {
    const { records, logger } = recorder(true);
    const p = new MemoryProposer('p1', [new MemoryAcceptor('a1'), new MemoryAcceptor('a2'), new MemoryAcceptor('a3')], { logger });
    await p.propose('k', write('v'));
    expect(records).toEqual([
      expect.objectContaining({ proposer: 'p1', key: 'k', B: '1/p1', phase: 'prepare', result: 'success' }),
      expect.objectContaining({ proposer: 'p1', key: 'k', B: '1/p1', phase: 'accept', result: 'success' }),
    ]);
  });

  test('nothing is built or written when debug is disabled', async () => {
    const { records, logger } = recorder(false);
    const p = new MemoryProposer('p1', [new MemoryAcceptor('a1', { logger })], { logger });
    await p.propose('k', write('v'));
    expect(records).toEqual([]);
  });
});
