/** MemoryProposer.propose: results, ballots, change functions, queueing, cancellation, ages. */
import { describe, expect, test } from 'vitest';
import {
  AcceptFailedError,
  AgeError,
  type ChangeContext,
  InvalidArgumentError,
  MemoryProposer,
  PrepareFailedError,
  type Sleep,
  type TraceEvent,
  formatBallot,
  isRetryable,
} from '../../src/index.js';
import { flush } from '../support/cluster.js';
import { dec, enc, write } from '../support/text.js';
import { cluster, held, ofType, unblock } from './support.js';

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

  // The `failed` event is a regression test for batching, which once rejected such a proposal
  // without tracing it (tracer.ts: "`error` is what its caller receives").
  test('a throwing change function rejects with its own error, is traced as failed, and sends no accept', async () => {
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
    expect(ofType(events, 'failed').map((e) => e.error)).toEqual([boom]);
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
    // 43: the accept of 42/p1 reserved 43/p1 as the promise for the next change (one round trip).
    expect(proposer.inspect().counter).toBe(43); // never moves back
  });

  test('a proposer left out of a garbage collection gets a non-retryable AgeError', async () => {
    const { proposer, acceptors } = cluster();
    for (const a of acceptors) await a.rejectByAge([{ counter: 3, id: 'p1' }]);
    const error = await proposer.propose('k', write('v')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgeError);
    expect(isRetryable(error)).toBe(false);
  });

  test("an accept that raced a collection of another key is a race, not a stale proposer: retried, or reported as raced", async () => {
    for (const attempts of [1, 3]) {
      const { proposer, acceptors } = cluster(3, { oneRoundTrip: false, retry: { attempts } });
      for (const a of acceptors) a.addRule({ method: 'accept', when: 'request', action: 'hold' });
      const pending = proposer.propose('k', write('v')).catch((e: unknown) => e);
      await held(acceptors);
      for (const a of acceptors) a.clearRules();
      // A collection of another key, steps b and c, while the accept (carrying age 0) is in flight.
      await proposer.fastForwardIncrement('other', { counter: 1, id: 'x' });
      for (const a of acceptors) await a.rejectByAge([proposer.age]);
      await unblock(acceptors);
      const outcome = await pending;
      if (attempts === 1) {
        // Unknown outcome, as every accept that failed for age is reported (see `Attempt.afterAccept`).
        expect(outcome).toBeInstanceOf(AcceptFailedError);
        const cause = (outcome as AcceptFailedError).cause;
        expect(cause).toBeInstanceOf(AgeError);
        expect((cause as AgeError).raced).toBe(true);
        expect((cause as AgeError).message).not.toContain('restart');
      } else {
        expect(dec((outcome as { state: Uint8Array }).state)).toBe('v');
      }
    }
  });

  test('rule G1: a prepare won on an equal counter sends no accept; the retry runs at once, past it', async () => {
    const { proposer: p1, acceptors } = cluster(3, { oneRoundTrip: false });
    await p1.propose('k', write('a')); // 1/p1
    const events: TraceEvent[] = [];
    const sleep: Sleep = () => Promise.reject(new Error('no delay expected'));
    const p2 = new MemoryProposer('p2', acceptors, { tracer: (e) => events.push(e), sleep });
    const result = await p2.propose('k', write('b')); // 1/p2 wins the prepare over 1/p1, and is turned down
    expect(formatBallot(result.ballot)).toBe('2/p2');
    expect([...new Set(ofType(events, 'prepare-sent').map((e) => formatBallot(e.ballot)))]).toEqual(['1/p2', '2/p2']);
    expect([...new Set(ofType(events, 'accept-sent').map((e) => formatBallot(e.ballot)))]).toEqual(['2/p2']);
    expect(ofType(events, 'retry')).toEqual([expect.objectContaining({ delayMs: 0 })]);
  });

  test('each change is told the ballot it is accepted under and its step in the round', async () => {
    const { proposer, acceptors } = cluster();
    for (const a of acceptors) a.addRule({ method: 'accept', when: 'request', action: 'hold' });
    const seen: string[] = [];
    const tell = (name: string) => (s: Uint8Array | null, context?: ChangeContext) => {
      seen.push(`${name}@${context === undefined ? '-' : `${formatBallot(context.ballot)}#${context.step}`}`);
      return enc(`${dec(s) ?? ''}${name}`);
    };
    const first = proposer.propose('k', tell('a'));
    await held(acceptors);
    const batched = [proposer.propose('k', tell('b')), proposer.propose('k', tell('c'))];
    await unblock(acceptors);
    const results = [await first, ...(await Promise.all(batched))];
    expect(seen).toEqual(['a@1/p1#0', 'b@2/p1#0', 'c@2/p1#1']);
    expect(results.map((r) => formatBallot(r.ballot))).toEqual(['1/p1', '2/p1', '2/p1']);
  });

  test('an attempt fenced off by a concurrent garbage collection (of another key) retries with the new age', async () => {
    const { proposer, acceptors } = cluster();
    for (const a of acceptors) a.addRule({ method: 'prepare', when: 'request', action: 'hold' });
    const pending = proposer.propose('k', write('v'));
    await held(acceptors);
    // The collection runs while the prepares are in flight: the proposer's age goes to 1 and the
    // acceptors start requiring it, so the in-flight prepares (age 0) are rejected.
    const newAge = await proposer.fastForwardIncrement('other', { counter: 0, id: '' });
    for (const a of acceptors) {
      await a.rejectByAge([newAge]);
      a.clearRules();
      await a.releaseAll();
    }
    expect(dec((await pending).state)).toBe('v');
  });

  test("a collection's fast-forward of a key waits for the round running on it, and applies before the next one", async () => {
    const { proposer, acceptors, events } = cluster();
    await proposer.propose('k', write('a'));
    for (const a of acceptors) a.addRule({ method: 'accept', when: 'request', action: 'hold' });
    const running = proposer.propose('k', write('b'));
    await held(acceptors);
    const queued = proposer.propose('k', write('c')); // the next round, behind the running one
    const forwarded = proposer.fastForwardIncrement('k', { counter: 40, id: 'p2' });
    let age: number | undefined;
    void forwarded.then((a) => (age = a.counter));
    await flush();
    expect(age).toBeUndefined(); // the round is still running
    expect(proposer.age.counter).toBe(0);
    // Other keys are not held up.
    expect((await proposer.fastForwardIncrement('other', { counter: 0, id: '' })).counter).toBe(1);
    await unblock(acceptors);
    // The running round committed under the age it started with (nothing fenced it) ...
    expect(dec((await running).state)).toBe('b');
    expect((await forwarded).counter).toBe(2);
    // ... and the next round runs past the tombstone's ballot, under the new age.
    const next = await queued;
    expect(dec(next.state)).toBe('c');
    expect(next.ballot.counter).toBeGreaterThan(40);
    expect(ofType(events, 'accept-sent').filter((e) => dec(e.state) === 'c').every((e) => e.age.counter === 2)).toBe(true);
  });

  test('an aborted wait for the round leaves the proposer as it was', async () => {
    const { proposer, acceptors } = cluster();
    for (const a of acceptors) a.addRule({ method: 'accept', when: 'request', action: 'hold' });
    const running = proposer.propose('k', write('b'));
    await held(acceptors);
    const controller = new AbortController();
    const forwarded = proposer.fastForwardIncrement('k', { counter: 40, id: 'p2' }, { signal: controller.signal });
    controller.abort(new Error('gave up'));
    await expect(forwarded).rejects.toThrow('gave up');
    await unblock(acceptors);
    await running;
    expect(proposer.inspect()).toMatchObject({ age: { counter: 0 } });
    expect(proposer.inspect().counter).toBeLessThan(40);
  });
});
