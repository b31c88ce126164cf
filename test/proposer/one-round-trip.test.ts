/** One round trip (paper §2.2.1) through a MemoryProposer, and gryadka's cache bug as a regression. */
import { describe, expect, test } from 'vitest';
import {
  AcceptFailedError,
  type Age,
  type Ballot,
  MemoryAcceptor,
  MemoryProposer,
  type TraceEvent,
  compareBallots,
  formatBallot,
} from '../../src/index.js';
import { TestCluster, flush, noSleep } from '../support/cluster.js';
import { FaultyAcceptor } from '../support/faulty-acceptor.js';
import { appendOp, dec, opsOf, opsState, write } from '../support/text.js';
import { cluster, held, ofType, twoStatesUnderOneBallot, unblock } from './support.js';

describe('one round trip (paper §2.2.1)', () => {
  test('a second change to a key sends no prepare: it is accepted under the ballot the first accept had promised', async () => {
    const { proposer, acceptors, events } = cluster();
    const first = await proposer.propose('k', appendOp('a'));
    expect(formatBallot(first.ballot)).toBe('1/p1');
    // The first accept asked every acceptor to promise 2/p1 as well, and they did.
    for (const a of acceptors) {
      const accept = a.deliveries.find((d) => d.message.method === 'accept');
      expect(accept?.message.next).toEqual({ counter: 2, id: 'p1' });
      expect(accept?.reply).toStrictEqual({ type: 'accepted', promised: { counter: 2, id: 'p1' } });
    }
    events.length = 0;
    const second = await proposer.propose('k', appendOp('b'));
    expect(opsOf(second.state)).toEqual(['a', 'b']);
    expect(formatBallot(second.ballot)).toBe('2/p1');
    expect(ofType(events, 'prepare-sent')).toHaveLength(0);
    // (Late replies, after the round was decided, left out: when they arrive is not the point.)
    expect(events.filter((e) => !('late' in e && e.late)).map((e) => e.type)).toEqual([
      'skip-prepare',
      'accept-sent',
      'accept-sent',
      'accept-sent',
      'accepted',
      'accepted',
      'committed',
    ]);
    expect(ofType(events, 'skip-prepare')).toEqual([{ type: 'skip-prepare', proposer: 'p1', key: 'k', ballot: { counter: 2, id: 'p1' } }]);
    for (const a of acceptors) expect(a.inner.inspect('k')).toEqual({ promise: { counter: 3, id: 'p1' }, accepted: { counter: 2, id: 'p1' }, state: opsState(['a', 'b']), ancestry: [] });
  });

  test('in steady state, one ballot per change: each accept reserves the next', async () => {
    const { proposer, events } = cluster();
    const ballots: string[] = [];
    for (let i = 0; i < 10; i++) ballots.push(formatBallot((await proposer.propose('k', appendOp(`op${i}`))).ballot));
    expect(ballots).toEqual(Array.from({ length: 10 }, (_, i) => `${i + 1}/p1`));
    expect(proposer.inspect().counter).toBe(11);
    expect(new Set(ofType(events, 'prepare-sent').map((e) => formatBallot(e.ballot)))).toEqual(new Set(['1/p1']));
    expect(ofType(events, 'skip-prepare')).toHaveLength(9);
  });

  test('keys are cached independently', async () => {
    const { proposer, events } = cluster();
    await proposer.propose('x', write('1'));
    await proposer.propose('y', write('1'));
    events.length = 0;
    await proposer.propose('y', write('2'));
    await proposer.propose('x', write('2'));
    expect(ofType(events, 'prepare-sent')).toHaveLength(0);
    expect(ofType(events, 'skip-prepare').map((e) => `${e.key}@${formatBallot(e.ballot)}`)).toEqual(['y@4/p1', 'x@2/p1']);
  });

  test("a competitor's prepare in between revokes the promise: the cached accept is rejected with proof, and the proposal retries with a prepare", async () => {
    const { proposer, acceptors, events } = cluster();
    await proposer.propose('k', appendOp('a')); // 1/p1, promising 2/p1
    // A competitor prepares 5/p2 everywhere, and writes nothing.
    for (const a of acceptors) expect(await a.prepare('k', { counter: 0, id: 'p2' }, { counter: 5, id: 'p2' })).toMatchObject({ type: 'promised' });
    events.length = 0;
    const seen: string[][] = [];
    const result = await proposer.propose('k', (s) => {
      seen.push(opsOf(s));
      return appendOp('b')(s);
    });
    expect(opsOf(result.state)).toEqual(['a', 'b']);
    // The accept under 2/p1 conflicted everywhere, each conflict proving nothing was stored.
    expect(ofType(events, 'skip-prepare').map((e) => formatBallot(e.ballot))).toEqual(['2/p1']);
    expect(ofType(events, 'accept-conflict').map((e) => `${formatBallot(e.ballot)} ${formatBallot(e.conflict)}`)).toEqual(Array(3).fill('2/p1 5/p2'));
    expect(ofType(events, 'recovery')).toHaveLength(0);
    expect(ofType(events, 'retry')).toHaveLength(1);
    expect(ofType(events, 'prepare-sent')).toHaveLength(3);
    // The change saw the same state twice (the first application was stored nowhere).
    expect(seen).toEqual([['a'], ['a']]);
    expect(result.ballot.counter).toBeGreaterThan(5);
    for (const a of acceptors) expect(opsOf(a.inner.inspect('k')?.state ?? null)).toEqual(['a', 'b']);
  });

  test("a competitor's commit in between: the cached accept's outcome is unknown, and the retry's prepare decides (reapply)", async () => {
    const { proposer, acceptors, events } = cluster();
    await proposer.propose('k', appendOp('a')); // 1/p1, promising 2/p1
    const competitor = new MemoryProposer('p2', acceptors, { sleep: noSleep });
    expect(opsOf((await competitor.propose('k', appendOp('c'))).state)).toEqual(['a', 'c']);
    events.length = 0;
    const result = await proposer.propose('k', appendOp('b'));
    expect(opsOf(result.state)).toEqual(['a', 'c', 'b']);
    expect(ofType(events, 'skip-prepare')).toHaveLength(1);
    // Rejected by acceptors that accepted a ballot above 2/p1: no proof, so an unknown outcome,
    // which the next prepare resolves: p2's state does not descend from p1's 2/p1 state.
    expect(ofType(events, 'recovery').map((e) => e.decision)).toEqual(['reapply']);
    for (const a of acceptors) expect(opsOf(a.inner.inspect('k')?.state ?? null)).toEqual(['a', 'c', 'b']);
    expect(twoStatesUnderOneBallot(acceptors)).toEqual([]);
  });

  test('a failed attempt leaves the key uncached: the next change prepares', async () => {
    const { proposer, acceptors, events } = cluster(3, { retry: { attempts: 1 } });
    await proposer.propose('k', write('a'));
    for (const a of acceptors) a.down = true;
    await expect(proposer.propose('k', write('b'))).rejects.toBeInstanceOf(AcceptFailedError);
    for (const a of acceptors) a.down = false;
    events.length = 0;
    // (The acceptors were down: the failed change reached none of them.)
    expect(dec((await proposer.propose('k', (s) => s)).state)).toBe('a');
    expect(ofType(events, 'prepare-sent')).toHaveLength(3);
    expect(ofType(events, 'skip-prepare')).toHaveLength(0);
  });

  test('fastForwardIncrement (garbage collection) forgets the key, and only that key', async () => {
    const { proposer, events } = cluster();
    await proposer.propose('k', write('a'));
    await proposer.propose('other', write('a'));
    await proposer.fastForwardIncrement('k', { counter: 7, id: 'p9' });
    events.length = 0;
    await proposer.propose('k', write('b'));
    await proposer.propose('other', write('b'));
    expect(ofType(events, 'prepare-sent').map((e) => e.key)).toEqual(['k', 'k', 'k']);
    expect(ofType(events, 'skip-prepare').map((e) => e.key)).toEqual(['other']);
  });

  test.each([
    ['addAccepter', async (p: MemoryProposer) => p.addAccepter(new FaultyAcceptor(new MemoryAcceptor('a4')))],
    ['removeAccepter', async (p: MemoryProposer) => p.removeAccepter({ address: 'a3' })],
    ['addPreparer', async (p: MemoryProposer) => p.addPreparer(new FaultyAcceptor(new MemoryAcceptor('a4')))],
    ['removePreparer', async (p: MemoryProposer) => p.removePreparer({ address: 'a3' })],
  ])('%s clears the cache: every key prepares again', async (_, reconfigure) => {
    const { proposer, events } = cluster();
    await proposer.propose('k', write('a'));
    await proposer.propose('other', write('a'));
    await reconfigure(proposer);
    events.length = 0;
    await proposer.propose('k', write('b'));
    await proposer.propose('other', write('b'));
    expect(ofType(events, 'skip-prepare')).toHaveLength(0);
    expect(new Set(ofType(events, 'prepare-sent').map((e) => e.key))).toEqual(new Set(['k', 'other']));
  });

  // "Any membership change clears the cache" (OneRoundTripCache) also for an attempt that runs across
  // the change: it commits after `addAccepter` installed the new configuration, and must not cache
  // a promise gathered from the old accept set (a proposer caches only if its configuration did not
  // change, and its key was not collected, during the round).
  test('a round committing during a configuration change leaves no cache entry behind', async () => {
    const { proposer, acceptors, events } = cluster();
    for (const a of acceptors) a.addRule({ method: 'accept', when: 'reply', action: 'hold', times: 1 });
    const inFlight = proposer.propose('k', write('a'));
    await held(acceptors);
    const changed = proposer.addAccepter(new FaultyAcceptor(new MemoryAcceptor('a4')));
    await flush();
    await unblock(acceptors);
    await inFlight;
    await changed;
    events.length = 0;
    await proposer.propose('k', write('b'));
    expect(ofType(events, 'skip-prepare')).toHaveLength(0);
  });

  // A garbage collection of another key during the round raises the proposer's age but clears
  // nothing of this key's: the round caches its promise (before, any age change during a round
  // left the key uncached, and a cluster that deletes prepared again on nearly every write).
  test('a round committing while another key is collected still caches its promise; the collected key prepares again', async () => {
    const { proposer, acceptors, events } = cluster();
    await proposer.propose('other', write('a'));
    for (const a of acceptors) a.addRule({ method: 'accept', when: 'reply', action: 'hold', times: 1 });
    const inFlight = proposer.propose('k', write('a'));
    await held(acceptors);
    await proposer.fastForwardIncrement('other', { counter: 7, id: 'p9' });
    await unblock(acceptors);
    await inFlight;
    events.length = 0;
    await proposer.propose('k', write('b'));
    await proposer.propose('other', write('b'));
    expect(ofType(events, 'skip-prepare').map((e) => e.key)).toEqual(['k']);
    expect(ofType(events, 'prepare-sent').map((e) => e.key)).toEqual(['other', 'other', 'other']);
  });

  test('two round trips: a caller changing the state it got back changes nothing in the register', async () => {
    const { proposer } = cluster(3, { oneRoundTrip: false });
    const result = await proposer.propose('k', write('ab'));
    (result.state as Uint8Array)[0] = 0x58; // 'X'
    expect(dec((await proposer.identityRead('k')).state)).toBe('ab');
  });

  // Regression (one round trip): the cache kept the very Uint8Array the caller got back, so a caller
  // changing its result changed the next change's "current state" and a value nobody proposed got
  // committed (an identity read re-wrote "Xb"). The cache now keeps its own copy.
  test("one round trip: a caller changing the state it got back changes nothing in the register", async () => {
    const { proposer, acceptors } = cluster();
    const result = await proposer.propose('k', write('ab'));
    (result.state as Uint8Array)[0] = 0x58; // 'X'
    expect(dec((await proposer.identityRead('k')).state)).toBe('ab');
    expect(dec((await new MemoryProposer('p2', acceptors, { sleep: noSleep }).identityRead('k')).state)).toBe('ab');
  });

  // With one round trip, the copy of the key's state a change function gets is reused from the
  // key's last change while it holds the bytes to hand out (the cache's `take`); with two, the
  // preparers' replies are fresh copies (the same checks guard both): a change that writes into its
  // input breaks its contract, and must still not make the next change see bytes nobody committed.
  test.each([
    ['one round trip', {}, 3],
    ['two round trips', { oneRoundTrip: false }, 0],
  ])('%s: a change that writes into its input changes nothing the next change sees', async (_, options, skipped) => {
    const proposer = new MemoryProposer('p1', ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a)), options);
    await proposer.propose('k', write('ab'));
    const inputs: Array<string | null> = [];
    const rude = (current: Uint8Array | null): Uint8Array | null => {
      inputs.push(dec(current));
      const next = current === null ? null : current.slice(); // commits the same bytes again
      current?.fill(0x58); // 'X'
      return next;
    };
    await proposer.propose('k', rude);
    await proposer.propose('k', rude);
    const { state } = await proposer.propose('k', (current) => current);
    expect(inputs).toEqual(['ab', 'ab']);
    expect(dec(state)).toBe('ab');
    expect(proposer.inspect().preparesSkipped).toBe(skipped);
  });

  // ... and a caller that gets that copy back (a change that returned its input) owns it: the next
  // change gets another array, so no two callers ever share one result.
  test.each([
    ['one round trip', {}],
    ['two round trips', { oneRoundTrip: false }],
  ])('%s: a change that returns its input gives its caller an array no later change or caller gets', async (_, options) => {
    const proposer = new MemoryProposer('p1', ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a)), options);
    await proposer.propose('k', write('ab'));
    const inputs: Array<Uint8Array | null> = [];
    const identity = (current: Uint8Array | null): Uint8Array | null => {
      inputs.push(current);
      return current;
    };
    const first = await proposer.propose('k', identity);
    const second = await proposer.propose('k', identity);
    expect(first.state).not.toBe(second.state);
    expect(inputs[0]).not.toBe(inputs[1]);
    (first.state as Uint8Array).fill(0x58);
    expect(dec(second.state)).toBe('ab');
    expect(dec((await proposer.propose('k', identity)).state)).toBe('ab');
  });

  test('a new proposer object (a restart, under a new id) starts with nothing cached', async () => {
    const { proposer, acceptors } = cluster();
    await proposer.propose('k', appendOp('a'));
    const events: TraceEvent[] = [];
    const restarted = new MemoryProposer('p1#2', acceptors, { sleep: noSleep, tracer: (e) => events.push(e) });
    const result = await restarted.propose('k', appendOp('b'));
    expect(opsOf(result.state)).toEqual(['a', 'b']);
    expect(ofType(events, 'skip-prepare')).toHaveLength(0);
    expect(ofType(events, 'prepare-sent').length).toBeGreaterThan(0);
    // Its prepare revoked the old object's promise (2/p1): had the old one a cached accept left,
    // it would now be rejected.
    for (const a of acceptors) expect(await a.accept('k', { counter: 0, id: 'p1' }, { counter: 2, id: 'p1' }, null)).toMatchObject({ type: 'conflict' });
  });

  test('oneRoundTrip: false: every change prepares, and no accept asks for a promise', async () => {
    const { proposer, acceptors, events } = cluster(3, { oneRoundTrip: false });
    for (let i = 0; i < 3; i++) await proposer.propose('k', appendOp(`op${i}`));
    expect(ofType(events, 'skip-prepare')).toHaveLength(0);
    expect([...new Set(ofType(events, 'prepare-sent').map((e) => formatBallot(e.ballot)))]).toEqual(['1/p1', '2/p1', '3/p1']);
    for (const a of acceptors) {
      for (const d of a.deliveries.filter((x) => x.message.method === 'accept')) {
        expect(d.message.next).toBeUndefined();
        expect(d.reply).toStrictEqual({ type: 'accepted' });
      }
    }
    expect(proposer.inspect().counter).toBe(3);
  });

  test('a full identity read always prepares and asks for no promise; it consumes the cached entry', async () => {
    const { proposer, acceptors, events } = cluster();
    await proposer.propose('k', write('a')); // cached: 2/p1
    events.length = 0;
    expect(dec((await proposer.fullIdentityRead('k')).state)).toBe('a');
    expect(ofType(events, 'skip-prepare')).toHaveLength(0);
    expect(ofType(events, 'prepare-sent')).toHaveLength(3);
    const last = acceptors[0].deliveries.at(-1);
    expect(last?.message).toMatchObject({ method: 'accept', next: undefined });
    events.length = 0;
    await proposer.propose('k', write('b'));
    expect(ofType(events, 'skip-prepare')).toHaveLength(0);
    expect(ofType(events, 'prepare-sent')).toHaveLength(3);
  });

  test('acceptors that cannot piggyback a promise (they ignore `next`) leave nothing to cache', async () => {
    class NoPromise extends MemoryAcceptor {
      override accept(key: string, age: Age, ballot: Ballot, state: Uint8Array | null, opts?: { signal?: AbortSignal }) {
        return super.accept(key, age, ballot, state, opts === undefined ? undefined : { signal: opts.signal });
      }
    }
    const events: TraceEvent[] = [];
    const proposer = new MemoryProposer(
      'p1',
      ['a1', 'a2', 'a3'].map((a) => new NoPromise(a)),
      { tracer: (e) => events.push(e), sleep: noSleep },
    );
    for (let i = 0; i < 3; i++) await proposer.propose('k', appendOp(`op${i}`));
    expect(ofType(events, 'skip-prepare')).toHaveLength(0);
    expect(ofType(events, 'prepare-sent')).toHaveLength(9);
  });

  test('one acceptor short of a quorum of promises: not cached', async () => {
    // 5 acceptors: the accept needs 3; two of them strip the promise from their reply.
    const { proposer, acceptors, events } = cluster(5);
    const stripPromise = (a: FaultyAcceptor) => {
      const accept = a.accept.bind(a);
      a.accept = async (...args) => {
        const reply = await accept(...args);
        return reply.type === 'accepted' ? { type: 'accepted' } : reply;
      };
    };
    // Only a1, a2 and a3 answer in time; a2 and a3 without the promise.
    for (const a of acceptors.slice(3)) a.addRule({ method: 'accept', when: 'request', action: 'hold' });
    stripPromise(acceptors[1]);
    stripPromise(acceptors[2]);
    await proposer.propose('k', write('a'));
    events.length = 0;
    for (const a of acceptors.slice(3)) {
      a.clearRules();
      a.dropAll();
    }
    await proposer.propose('k', write('b'));
    expect(ofType(events, 'skip-prepare')).toHaveLength(0);
    expect(ofType(events, 'prepare-sent')).toHaveLength(5);
  });
});

describe("regression: gryadka's one-round-trip bug (a cache that survives a failed accept)", () => {
  /*
   * A proposer caching (next ballot, state) after a commit must never use that entry once an
   * accept under the cached ballot has failed: the failed accept may have reached one acceptor.
   * Gryadka kept its cache: its next change went out under the SAME ballot, computed from the
   * OLD state, and was acknowledged by the other acceptors. One ballot then held two states, and
   * a read whose quorum met the acceptor holding the unacknowledged one could return it.
   *
   * Scenario (a1, a2, a3; p1 with one round trip): p1 commits [v1] under 1/p1 (cache: 2/p1). Its
   * next change [v1, v2] is accepted under 2/p1 by a1 only (a2 and a3 drop it: timeouts), so it
   * fails. With a1 down, p1 then commits a third change, v3 (acknowledged). Finally p2 reads
   * through a quorum {a1, a2}, a1's promise first: it must see [v1, v3], never [v1, v2].
   */
  test.each([
    ['p1 gives up at once', 1],
    ['p1 retries (the retries re-commit the v2 state on a1 alone)', 3],
  ])('a read through a quorum holding the failed accept returns the acknowledged value (%s)', async (_, attempts) => {
    const { acceptors, events, tracer } = new TestCluster({ acceptors: ['a1', 'a2', 'a3'], proposers: [] });
    const [a1, a2, a3] = acceptors as [FaultyAcceptor, FaultyAcceptor, FaultyAcceptor];
    const p1 = new MemoryProposer('p1', acceptors, { tracer, sleep: noSleep, retry: { attempts } });

    expect(opsOf((await p1.propose('k', appendOp('v1'))).state)).toEqual(['v1']);
    // The v2 change: every accept carrying it times out at a2 and a3.
    const carriesV2 = (m: { state: Uint8Array | null | undefined }) => m.state !== undefined && opsOf(m.state).includes('v2');
    for (const a of [a2, a3]) a.addRule({ method: 'accept', key: 'k', when: 'request', action: 'drop', match: carriesV2 });
    const failed = await p1.propose('k', appendOp('v2')).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(AcceptFailedError);
    expect(ofType(events, 'skip-prepare').map((e) => formatBallot(e.ballot))).toEqual(['2/p1']);
    expect(opsOf(a1.inner.inspect('k')?.state ?? null)).toEqual(['v1', 'v2']);
    const v2Ballot = a1.inner.inspect('k')?.accepted as Ballot;
    for (const a of [a2, a3]) a.clearRules();

    // The third change, acknowledged by a2 and a3 while a1 is down.
    a1.down = true;
    const third = await p1.propose('k', appendOp('v3'));
    a1.down = false;
    expect(opsOf(third.state)).toEqual(['v1', 'v3']);
    // It prepared: nothing was cached after the failure, and its ballot is above every earlier one.
    expect(ofType(events, 'skip-prepare')).toHaveLength(1);
    expect(compareBallots(third.ballot, v2Ballot)).toBeGreaterThan(0);

    // A read through another proposer, a1's promise first, a3's never: the quorum is {a1, a2}.
    const silence = a3.addRule({ method: 'prepare', key: 'k', when: 'reply', action: 'hold', match: (m) => m.ballot?.id === 'p2' });
    const mark = events.length;
    const p2 = new MemoryProposer('p2', acceptors, { tracer, sleep: noSleep });
    const read = await p2.identityRead('k');
    const promises = events.slice(mark).filter((e) => e.type === 'promised' && !e.late);
    expect(promises.map((e) => (e as { acceptor: string }).acceptor)).toEqual(['a1', 'a2']);
    expect(opsOf(read.state)).toEqual(['v1', 'v3']);
    silence.remove();
    a3.dropAll();

    // And no ballot was ever accepted with two different states.
    expect(twoStatesUnderOneBallot(acceptors)).toEqual([]);
    const p3 = new MemoryProposer('p3', acceptors, { sleep: noSleep });
    for (const p of [p2, p3]) expect(opsOf((await p.identityRead('k')).state)).toEqual(['v1', 'v3']);
  });
});
