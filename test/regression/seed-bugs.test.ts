/**
 * Regression tests: one per safety bug of the Go seed that this package must not have. Each builds
 * the scenario that breaks the seed on `FaultyAcceptor`s, checks that the dangerous message really
 * took the dangerous path (held, then delivered late; a key really missing from an acceptor; ...)
 * and then that nothing acknowledged is lost and nothing deleted comes back.
 */
import { describe, expect, it } from 'vitest';
import {
  AcceptFailedError,
  MemoryAcceptor,
  PrepareFailedError,
  StepFailedError,
  NotEqualError,
  type Ballot,
  type MemoryProposer,
  type PrepareReply,
  compareBallots,
  formatBallot,
  garbageCollect,
  growCluster,
  isRetryable,
  shrinkCluster,
  type TraceEvent,
} from '../../src/index.js';
import { TestCluster, attemptBallots, duplicates, flush, until } from '../support/cluster.js';
import type { FaultyAcceptor } from '../support/faulty-acceptor.js';
import { dec, enc, write } from '../support/text.js';

const b = (counter: number, id: string): Ballot => ({ counter, id });

/** Reads `key` through `proposer` (an identity read) and returns its text. */
async function read(proposer: MemoryProposer, key: string): Promise<string | null> {
  return dec((await proposer.identityRead(key)).state);
}

/** Reads `key` through `proposer` while each acceptor in `downs` is down. */
async function readWithout(proposer: MemoryProposer, key: string, downs: readonly FaultyAcceptor[]): Promise<string | null> {
  for (const a of downs) a.down = true;
  try {
    return await read(proposer, key);
  } finally {
    for (const a of downs) a.down = false;
  }
}

describe('seed bug a: ballot reuse after timeouts', () => {
  /*
   * The seed fast-forwarded after a lost prepare with `counter = biggestConflict.counter`. When every
   * prepare reply was a timeout there is no conflict, biggestConflict is the zero ballot, and the
   * counter went back to 0: the next attempt reissued ballot 1/p1, already used by an earlier attempt
   * with another value. A delayed accept of that earlier attempt then lands next to the acknowledged
   * value under the SAME ballot, and a read that meets both picks either: the acknowledged write can
   * be lost.
   *
   * Scenario (A, B, C; p1 makes two attempts per proposal, and prepares every one: the seed's
   * bug is in the prepare path, so p1 runs without the one-round-trip shortcut):
   *  1. p1 writes v1 under 1/p1: every acceptor promises 1/p1; the accepts to A and B are lost, the
   *     one to C is held: an unknown outcome. p1's retry (2/p1), which would settle it, meets only
   *     timeouts in its prepare phase: p1 gets AcceptFailedError.
   *  2. p1 proposes again; every prepare request is lost (timeouts only, no conflict): attempts 3/p1
   *     and 4/p1 fail, PrepareFailedError. The seed would now be back at counter 0.
   *  3. With C down, p1 writes v2 and it is acknowledged (the seed would have used 1/p1 again).
   *  4. C comes back and the held accept (1/p1, v1) is delivered: C promised 1/p1 and accepted
   *     nothing, so it legitimately accepts v1 under 1/p1.
   *  5. Every proposer reads through a quorum that includes C, C's promise arriving first: v2 must win
   *     because its ballot is higher than 1/p1, not equal to it.
   */
  it('never reuses a ballot, so a late accept of an old attempt cannot overwrite an acknowledged value', async () => {
    const cluster = new TestCluster({ proposers: ['p1', 'p2', 'p3'], retry: { attempts: 2 }, proposerOptions: { p1: { oneRoundTrip: false } } });
    const [a, b_, c] = cluster.acceptors as [FaultyAcceptor, FaultyAcceptor, FaultyAcceptor];
    const p1 = cluster.proposer('p1');

    // 1. The accept of 1/p1: lost at A and B, held at C.
    a.addRule({ method: 'accept', key: 'k', when: 'request', action: 'drop', times: 1 });
    b_.addRule({ method: 'accept', key: 'k', when: 'request', action: 'drop', times: 1 });
    c.addRule({ method: 'accept', key: 'k', when: 'request', action: 'hold', times: 1 });
    // The retry's prepares (2/p1) are lost too.
    for (const x of [a, b_, c]) x.addRule({ method: 'prepare', key: 'k', when: 'request', action: 'drop', times: 1, match: (m) => m.ballot?.counter === 2 });
    await expect(p1.propose('k', write('v1'))).rejects.toBeInstanceOf(AcceptFailedError);
    const [late] = c.heldOf('accept', 'request');
    expect(late?.message.ballot).toEqual(b(1, 'p1'));
    expect(c.inner.inspect('k')?.promise).toEqual(b(1, 'p1'));

    // 2. Two attempts whose prepares all time out.
    for (const x of [a, b_, c]) x.addRule({ method: 'prepare', key: 'k', when: 'request', action: 'drop', times: 2 });
    const failed = p1.propose('k', write('never'));
    await expect(failed).rejects.toBeInstanceOf(PrepareFailedError);
    const unreachable = cluster.eventsOf('prepare-unreachable').filter((e) => e.proposer === 'p1');
    expect(unreachable.map((e) => formatBallot(e.ballot))).toEqual(['2/p1', '2/p1', '2/p1', '3/p1', '3/p1', '3/p1', '4/p1', '4/p1', '4/p1']);
    expect(cluster.eventsOf('prepare-conflict')).toEqual([]);
    // The seed's counter would be 0 here.
    expect(p1.inspect().counter).toBe(4);

    // 3. v2 is acknowledged while C is down.
    c.down = true;
    const acknowledged = await p1.propose('k', write('v2'));
    c.down = false;
    expect(acknowledged.ballot).toEqual(b(5, 'p1'));

    // 4. The old accept arrives late, and C accepts it.
    expect(late?.callerWaiting).toBe(true); // p1's first attempt ended long ago; the promise is orphaned
    await expect(late?.release()).resolves.toEqual({ type: 'accepted' });
    expect(c.inner.inspect('k')).toMatchObject({ accepted: b(1, 'p1'), state: enc('v1') });
    expect(cluster.eventsOf('accepted').some((e) => e.acceptor === 'C' && e.late && formatBallot(e.ballot) === '1/p1')).toBe(true);

    // 5. Reads through quorums containing C, C's promise first (B's prepare reply is held).
    for (const [i, proposer] of cluster.proposers.entries()) {
      a.down = true;
      const hold = b_.addRule({
        method: 'prepare',
        key: 'k',
        when: 'reply',
        action: 'hold',
        times: 1,
        match: (_m, reply) => (reply as PrepareReply | undefined)?.type === 'promised',
      });
      const mark = cluster.events.length;
      const reading = read(proposer, 'k');
      await until(() => b_.heldOf('prepare', 'reply').length === 1, "B's prepare reply");
      // C's promise came in first; on the first read it carries the late-accepted v1 under 1/p1.
      const promised = cluster.events.slice(mark).filter((e) => e.type === 'promised');
      expect(promised.map((e) => e.acceptor)).toEqual(['C']);
      expect(promised[0]?.late).toBe(false);
      if (i === 0) expect(promised[0]).toMatchObject({ accepted: b(1, 'p1'), state: enc('v1') });
      await b_.heldOf('prepare', 'reply')[0]?.release();
      expect(await reading).toBe('v2');
      hold.remove();
      a.down = false;
      expect(await readWithout(proposer, 'k', [b_])).toBe('v2');
    }

    // No two attempts of any proposer shared a ballot, and no acceptor got two prepares of one ballot.
    expect(duplicates(attemptBallots(cluster.events))).toEqual([]);
    const prepares = cluster.eventsOf('prepare-sent').map((e) => `${e.acceptor} ${formatBallot(e.ballot)}`);
    expect(new Set(prepares).size).toBe(prepares.length);
  });
});

describe('seed bug b: the one-key rescan on membership change', () => {
  /*
   * Growing the cluster must re-write every key to a quorum of the new accept set (paper §2.3 step 2,
   * an identity read of the state). The seed re-read one reserved key ("—") only. A key written while
   * C was down lives on A and B only; after growing to D and then E, five acceptors should tolerate
   * two failures, but with A and B down no acceptor still holds the key: it reads as empty.
   */
  it('re-reads every key when growing, so a key written with one acceptor down survives two failures', async () => {
    const cluster = new TestCluster({ proposers: ['p1', 'p2'] });
    const [a, b_, c] = cluster.acceptors as [FaultyAcceptor, FaultyAcceptor, FaultyAcceptor];
    const [p1, p2] = cluster.proposers as [MemoryProposer, MemoryProposer];

    c.down = true;
    await p1.propose('k', write('v'));
    c.down = false;
    await p2.propose('other', write('x'));
    // The path: k is on A and B only.
    expect(c.inner.inspect('k')).toBeUndefined();
    expect(dec(a.inner.inspect('k')?.state ?? null)).toBe('v');

    const tracer = cluster.tracer;
    const d = cluster.addAcceptor('D');
    await growCluster(d, [p1, p2], { tracer, random: () => 0 });
    const e = cluster.addAcceptor('E');
    await growCluster(e, [p1, p2], { tracer, random: () => 0.99 });
    const passes = cluster.eventsOf('membership-step').filter((s) => s.step === 'identity-pass' && s.outcome === 'completed');
    expect(passes.map((s) => s.target)).toEqual(['D', 'E']);
    for (const x of [c, d, e]) expect(dec(x.inner.inspect('k')?.state ?? null)).toBe('v');

    a.down = true;
    b_.down = true;
    for (const proposer of [p1, p2]) {
      expect(await read(proposer, 'k')).toBe('v');
      expect(await read(proposer, 'other')).toBe('x');
    }
  });
});

describe('seed bug c: value-compared removal', () => {
  /*
   * GC step d removes a key's record "if it contains the tombstone from step a". The seed's
   * RemoveIfEqual compared the stored VALUE with the tombstone's (empty) value, so it also removed a
   * NEWER tombstone: an empty value accepted under a higher ballot, after the collection read. If
   * another acceptor still holds an older, unacknowledged value, the next read sees only that value
   * and resurrects it, although a delete after it was acknowledged.
   *
   * Scenario (A, B, C): k is deleted (tombstone); GC reads the tombstone under T and fences the
   * proposers; its removeIfEqual requests are held. Meanwhile p2 writes "v" but only A accepts it
   * (every attempt of p2's, each re-committing "v", loses its accepts to B and C: AcceptFailedError,
   * unknown outcome), then p1 deletes k again with A down: B and C accept the
   * empty state under a ballot above T (acknowledged). Now the removes arrive: the seed removed B
   * and C (empty = empty) and a read then returned "v" from A. We must keep both newer tombstones.
   */
  it('removes only the record accepted under the tombstone ballot, never a newer tombstone', async () => {
    const cluster = new TestCluster({ proposers: ['p1', 'p2'] });
    const [a, b_, c] = cluster.acceptors as [FaultyAcceptor, FaultyAcceptor, FaultyAcceptor];
    const [p1, p2] = cluster.proposers as [MemoryProposer, MemoryProposer];
    await p1.propose('k', write('old'));
    await p1.propose('k', write(null));

    for (const x of [a, b_, c]) x.addRule({ method: 'removeIfEqual', key: 'k', when: 'request', action: 'hold', times: 1 });
    const gc = garbageCollect('k', [p1, p2], cluster.acceptors, { random: () => 0, tracer: cluster.tracer });
    const gcSettled = gc.then(
      () => undefined,
      (error: unknown) => error,
    );
    await until(() => cluster.acceptors.every((x) => x.heldOf('removeIfEqual').length === 1), 'the held removes');
    const tombstone = cluster.acceptors[0]?.heldOf('removeIfEqual')[0]?.message.ballot as Ballot;
    // p1 wrote "old" under 1/p1 and the tombstone under 2/p1 (promised by the first accept); 3/p1
    // was promised by the second; the collection's full read (by p1) prepared 4/p1.
    expect(tombstone).toEqual(b(4, 'p1'));

    // "v" reaches A only, in every attempt of p2's (its retries find "v" on A and commit it again).
    const carriesV = (m: { state: Uint8Array | null | undefined }) => m.state !== undefined && dec(m.state) === 'v';
    const drops = [b_, c].map((x) => x.addRule({ method: 'accept', key: 'k', when: 'request', action: 'drop', match: carriesV }));
    await expect(p2.propose('k', write('v'))).rejects.toBeInstanceOf(AcceptFailedError);
    for (const drop of drops) drop.remove();
    const vBallot = a.inner.inspect('k')?.accepted as Ballot;
    expect(vBallot.id).toBe('p2');
    expect(compareBallots(vBallot, tombstone)).toBeGreaterThan(0);
    // An acknowledged delete on B and C, above the tombstone and above "v".
    const deleted = await readDeleting(p1, a);
    expect(deleted.id).toBe('p1');
    expect(compareBallots(deleted, vBallot)).toBeGreaterThan(0);
    expect(a.inner.inspect('k')).toMatchObject({ accepted: vBallot, state: enc('v') });
    for (const x of [b_, c]) expect(x.inner.inspect('k')).toMatchObject({ accepted: deleted, state: null });

    // The held removes arrive now.
    const replies = await Promise.all(cluster.acceptors.map((x) => x.heldOf('removeIfEqual')[0]?.release()));
    expect(replies).toEqual([
      { type: 'not-equal', accepted: vBallot },
      { type: 'not-equal', accepted: deleted },
      { type: 'not-equal', accepted: deleted },
    ]);
    const error = await gcSettled;
    expect(error).toBeInstanceOf(StepFailedError);
    expect((error as StepFailedError).cause).toBeInstanceOf(NotEqualError);
    expect(isRetryable(error)).toBe(true);
    for (const x of [b_, c]) expect(x.inner.inspect('k')).toMatchObject({ accepted: deleted, state: null });

    // No read resurrects "v", even one whose quorum is {A, C} (or {A, B}).
    const p3 = cluster.addProposer('p3');
    for (const proposer of [p1, p2, p3]) {
      expect(await readWithout(proposer, 'k', [b_])).toBeNull();
      expect(await readWithout(proposer, 'k', [c])).toBeNull();
    }

    // Collecting again succeeds, and the key stays empty.
    await garbageCollect('k', [p1, p2, p3], cluster.acceptors, { random: () => 0.5 });
    for (const x of cluster.acceptors) expect(x.inner.inspect('k')).toBeUndefined();
    for (const proposer of [p1, p2, p3]) expect(await read(proposer, 'k')).toBeNull();
  });

  it('removeIfEqual on one acceptor compares ballots, not values', async () => {
    const acceptor = new MemoryAcceptor('A');
    const age = { counter: 0, id: 'p1' };
    await acceptor.prepare('k', age, b(1, 'p1'));
    await acceptor.accept('k', age, b(1, 'p1'), null); // the tombstone GC read
    await acceptor.prepare('k', age, b(2, 'p1'));
    await acceptor.accept('k', age, b(2, 'p1'), null); // a newer tombstone, same (empty) value
    await expect(acceptor.removeIfEqual('k', { ballot: b(1, 'p1'), state: null })).resolves.toEqual({ type: 'not-equal', accepted: b(2, 'p1') });
    expect(acceptor.inspect('k')).toEqual({ promise: b(2, 'p1'), accepted: b(2, 'p1'), state: null });
    await expect(acceptor.removeIfEqual('k', { ballot: b(2, 'p1'), state: null })).resolves.toEqual({ type: 'removed' });
    expect(acceptor.inspect('k')).toBeUndefined();
    expect(acceptor.tombstoneFloor).toEqual(b(2, 'p1'));
  });
});

/** p1 deletes k with `down` down; resolves with the ballot of the acknowledged delete. */
async function readDeleting(p1: MemoryProposer, down: FaultyAcceptor): Promise<Ballot> {
  down.down = true;
  try {
    const result = await p1.propose('k', write(null));
    expect(result.state).toBeNull();
    return result.ballot;
  } finally {
    down.down = false;
  }
}

describe('seed bug d: overwritten ages', () => {
  /*
   * GC step c asks acceptors to reject proposers younger than the ages of step b. The seed's
   * RejectByAge overwrote the recorded minimum, so a late (delayed) or repeated step c of an older
   * collection lowered it again and re-admitted the messages the newer collection had fenced off.
   *
   * Scenario (A, B, C): GC#1's rejectByAge (ages 1) to A is held and times out, so GC#1 fails at
   * step c. p1 (now age 1) proposes on k3; its prepare to A is held (the proposal commits on B and
   * C). GC#2 completes: ages 2 everywhere. Then GC#1's rejectByAge reaches A late, and after it the
   * held prepare of age 1. A must still require age 2 and reject it.
   */
  it('rejectByAge never lowers a minimum, even when an older collection step arrives late', async () => {
    const cluster = new TestCluster({ proposers: ['p1', 'p2'] });
    const [a] = cluster.acceptors as [FaultyAcceptor];
    const [p1, p2] = cluster.proposers as [MemoryProposer, MemoryProposer];
    for (const key of ['k1', 'k2']) {
      await p1.propose(key, write('x'));
      await p1.propose(key, write(null));
    }

    a.addRule({ method: 'rejectByAge', when: 'request', action: 'hold', times: 1 });
    const gc1 = garbageCollect('k1', [p1, p2], cluster.acceptors, { random: () => 0 }).catch((error: unknown) => error);
    await until(() => a.heldOf('rejectByAge').length === 1, "GC#1's rejectByAge");
    const staleAges = a.heldOf('rejectByAge')[0];
    staleAges?.timeout();
    const gc1Error = await gc1;
    expect(gc1Error).toBeInstanceOf(StepFailedError);
    expect((gc1Error as StepFailedError).step).toBe('c (reject by age)');
    expect(staleAges?.message.ages).toEqual([
      { counter: 1, id: 'p1' },
      { counter: 1, id: 'p2' },
    ]);
    expect(a.inner.minimumAge('p1')).toBe(0);

    a.addRule({ method: 'prepare', key: 'k3', when: 'request', action: 'hold', times: 1 });
    await p1.propose('k3', write('y'));
    const stalePrepare = a.heldOf('prepare')[0];
    expect(stalePrepare?.message.age).toEqual({ counter: 1, id: 'p1' });

    await garbageCollect('k2', [p1, p2], cluster.acceptors, { random: () => 0 });
    expect(p1.age).toEqual({ counter: 2, id: 'p1' });
    for (const x of cluster.acceptors) expect(x.inner.minimumAge('p1')).toBe(2);

    // The late step c of GC#1 arrives: the minimum stays 2 (the seed set it back to 1).
    await staleAges?.release();
    expect(a.inner.minimumAge('p1')).toBe(2);
    expect(a.inner.minimumAge('p2')).toBe(2);
    expect(a.deliveries.filter((d) => d.message.method === 'rejectByAge').at(-1)?.late).toBe(true);
    // The held prepare of age 1 arrives after it: rejected.
    await expect(stalePrepare?.release()).resolves.toEqual({ type: 'age', required: { counter: 2, id: 'p1' } });
    expect(cluster.eventsOf('prepare-age-rejected').some((e) => e.acceptor === 'A' && e.key === 'k3' && e.late)).toBe(true);
    expect(await read(p2, 'k3')).toBe('y');
  });

  it('on one acceptor: a lower age never lowers the minimum, and a message below it is rejected', async () => {
    const acceptor = new MemoryAcceptor('A');
    await acceptor.rejectByAge([{ counter: 3, id: 'p1' }]);
    await acceptor.rejectByAge([{ counter: 1, id: 'p1' }]);
    expect(acceptor.minimumAge('p1')).toBe(3);
    await acceptor.rejectByAge([
      { counter: 5, id: 'p1' },
      { counter: 4, id: 'p1' },
    ]);
    expect(acceptor.minimumAge('p1')).toBe(5);
    await expect(acceptor.prepare('k', { counter: 4, id: 'p1' }, b(9, 'p1'))).resolves.toEqual({
      type: 'age',
      required: { counter: 5, id: 'p1' },
    });
    await expect(acceptor.accept('k', { counter: 4, id: 'p1' }, b(9, 'p1'), enc('x'))).resolves.toEqual({
      type: 'age',
      required: { counter: 5, id: 'p1' },
    });
    expect(acceptor.inspect('k')).toBeUndefined();
    await expect(acceptor.prepare('k', { counter: 5, id: 'p1' }, b(9, 'p1'))).resolves.toMatchObject({ type: 'promised' });
  });
});

describe('bug e: a delayed pre-GC accept after the key was removed', () => {
  /*
   * Paper §3.1: ages exist so that a message sent before a key was deleted cannot land after it was
   * removed. Without them (or without the acceptor-wide tombstone floor), an accept of the old value
   * delayed past the removal finds an absent record, is accepted, and the next read, seeing nothing
   * else, returns the deleted value.
   *
   * Scenario (A, B, C): p1 writes "old"; its accept to C is held (the write commits on A and B).
   * p2 deletes k; GC removes it everywhere. Then the held accept (1/p1, "old", age 0) arrives at C:
   * the age fence rejects it. Separately, an accept from a proposer GC never knew (age 0, ballot
   * below the removed record's promise) is rejected by the tombstone floor.
   */
  it('neither resurrects the old value through the age fence nor through the tombstone floor', async () => {
    const cluster = new TestCluster({ proposers: ['p1', 'p2'] });
    const c = cluster.acceptor('C');
    const [p1, p2] = cluster.proposers as [MemoryProposer, MemoryProposer];

    c.addRule({ method: 'accept', key: 'k', when: 'request', action: 'hold', times: 1 });
    await p1.propose('k', write('old'));
    const [stale] = c.heldOf('accept');
    expect(stale?.message).toMatchObject({ ballot: b(1, 'p1'), age: { counter: 0, id: 'p1' } });
    await p2.propose('k', write(null));
    await garbageCollect('k', [p1, p2], cluster.acceptors, { random: () => 0 });
    for (const x of cluster.acceptors) expect(x.inner.inspect('k')).toBeUndefined();
    const floor = c.inner.tombstoneFloor;
    expect(floor.counter).toBeGreaterThan(1);

    // The pre-GC accept arrives now.
    await expect(stale?.release()).resolves.toEqual({ type: 'age', required: { counter: 1, id: 'p1' } });
    expect(cluster.eventsOf('accept-age-rejected').some((e) => e.acceptor === 'C' && e.late)).toBe(true);
    expect(c.inner.inspect('k')).toBeUndefined();

    // A proposer GC did not fence (age 0): the floor still rejects an accept below the removed promise.
    // The conflict reports the floor as the highest ballot C may have accepted for k: C did accept
    // k under ballots up to it before the removal, so the rejection proves nothing about them.
    await expect(c.inner.accept('k', { counter: 0, id: 'p9' }, b(1, 'p9'), enc('old'))).resolves.toEqual({
      type: 'conflict',
      ballot: floor,
      kind: 'promise',
      accepted: floor,
    });
    expect(c.inner.inspect('k')).toBeUndefined();

    const p3 = cluster.addProposer('p3');
    for (const proposer of [p1, p2, p3]) {
      expect(await read(proposer, 'k')).toBeNull();
      await flush();
    }
  });
});

describe('bug f: shrinking from an odd size, prepares first', () => {
  /*
   * The paper shrinks in the reverse order of growing: prepares first, then the identity pass, then
   * accepts. From an odd size that leaves a hole: shrinking a1 out of five, a write committed after
   * the identity pass but before the last step goes to all five and may be acknowledged by a1, a2
   * and a5 only; once a1 is gone it is on 2 of the 4 left, not a majority, and after a2 leaves too
   * the prepare quorum {a3, a4} of the three left reads the older state: an acknowledged write is
   * lost. The simulator found it (grow-shrink: 3 -> 4 -> 5 -> 4 -> 3). Shrinking accepts first
   * closes it: that write needs 3 of the 4 staying acceptors.
   */
  it('a write racing the end of a shrink from five acceptors survives the next shrink', async () => {
    const cluster = new TestCluster({ acceptors: ['a1', 'a2', 'a3', 'a4', 'a5'], proposers: ['p1', 'p2'] });
    const [p1, p2] = cluster.proposers as [MemoryProposer, MemoryProposer];
    const [a1, a2, a3, a4, a5] = cluster.acceptors as [FaultyAcceptor, FaultyAcceptor, FaultyAcceptor, FaultyAcceptor, FaultyAcceptor];
    await p1.propose('k', write('v1'));

    // Right after the identity pass of the first shrink, p2 writes v2 while a3 and a4 miss it.
    let racing: Promise<unknown> | undefined;
    const tracer = (event: TraceEvent): void => {
      if (racing === undefined && event.type === 'membership-step' && event.step === 'identity-pass' && event.outcome === 'completed') {
        for (const a of [a3, a4]) a.addRule({ method: 'accept', key: 'k', when: 'request', action: 'drop', times: 1 });
        racing = p2.propose('k', write('v2'), { signal: AbortSignal.timeout(1000) }).then(
          () => 'ok',
          (error: unknown) => error,
        );
      }
    };
    await shrinkCluster(a1, [p1, p2], { tracer, random: () => 0 });
    const outcome = await racing;
    await shrinkCluster(a2, [p1, p2], { random: () => 0 });

    // The three left; a5's replies are lost, so the prepare quorum is {a3, a4}.
    a5.down = true;
    const read = dec((await p1.identityRead('k')).state);
    if (outcome === 'ok') expect(read).toBe('v2');
    else {
      // Accepts first: v2 reached a2 and a5 of the four staying, no quorum; its outcome is unknown
      // to p2, and either answer is linearizable.
      expect(outcome).toBeInstanceOf(AcceptFailedError);
      expect(['v1', 'v2']).toContain(read);
    }
  });
});
