import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { type Ballot, ZERO_BALLOT, compareBallots } from '../../src/core/ballot.js';
import type { Conflict, PrepareReply } from '../../src/core/messages.js';
import { AcceptRound, PrepareRound } from '../../src/core/rounds.js';

const B = (counter: number, id: string): Ballot => ({ counter, id });
const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);
const promised = (accepted: Ballot, state: Uint8Array | null): PrepareReply => ({ type: 'promised', accepted, state });
/**
 * A conflict reply. `accepted` (the highest ballot the acceptor may have accepted) defaults to what
 * a real acceptor without a tombstone floor would most plausibly report: the conflict's own ballot
 * for kind 'accepted', nothing (the zero ballot) for kind 'promise'.
 */
const conflict = (ballot: Ballot, kind: Conflict['kind'] = 'promise', accepted: Ballot = kind === 'accepted' ? ballot : ZERO_BALLOT): Conflict => ({
  type: 'conflict',
  ballot,
  kind,
  accepted,
});
const age = (counter: number, id = 'p') => ({ type: 'age' as const, required: { counter, id } });

const MINE = B(10, 'me');

describe('PrepareRound', () => {
  test('picks the state of the highest accepted ballot', () => {
    const r = new PrepareRound(MINE, 3, 3);
    r.onReply(promised(B(2, 'a'), bytes(2)));
    r.onReply(promised(B(5, 'b'), bytes(5)));
    expect(r.onReply(promised(B(3, 'c'), bytes(3)))).toBe('won');
    expect(r.state).toEqual(bytes(5));
    expect(r.highestAccepted).toEqual(B(5, 'b'));
  });

  test('uses the id to break a tie between accepted counters', () => {
    const r = new PrepareRound(MINE, 2, 2);
    r.onReply(promised(B(4, 'b'), bytes(2)));
    r.onReply(promised(B(4, 'a'), bytes(1)));
    expect(r.state).toEqual(bytes(2));
  });

  test('a higher accepted empty state (a tombstone) wins over an older value', () => {
    const r = new PrepareRound(MINE, 2, 2);
    r.onReply(promised(B(1, 'a'), bytes(1)));
    r.onReply(promised(B(2, 'a'), null));
    expect(r.status).toBe('won');
    expect(r.state).toBeNull();
  });

  const acceptedSet = fc
    .uniqueArray(fc.record({ counter: fc.integer({ min: 0, max: 20 }), id: fc.constantFrom('a', 'b', 'c') }), {
      minLength: 1,
      maxLength: 7,
      selector: (b) => `${b.counter}/${b.id}`,
    })
    .chain((ballots) => fc.shuffledSubarray(ballots, { minLength: ballots.length }));

  test.prop([acceptedSet])('picks the state of the highest accepted ballot in any arrival order', (ballots) => {
    // Each accepted ballot carries its own state; the zero counter stands for "nothing accepted".
    const replies = ballots.map((b) =>
      b.counter === 0 ? promised(ZERO_BALLOT, null) : promised(b, bytes(b.counter, b.id.charCodeAt(0))),
    );
    const r = new PrepareRound(MINE, replies.length, replies.length);
    for (const reply of replies) r.onReply(reply);
    expect(r.status).toBe('won');
    const best = ballots.filter((b) => b.counter > 0).reduce<Ballot>((m, b) => (compareBallots(b, m) > 0 ? b : m), ZERO_BALLOT);
    expect(r.highestAccepted).toEqual(best);
    expect(r.state).toEqual(best.counter === 0 ? null : bytes(best.counter, best.id.charCodeAt(0)));
  });

  test('the state is null when every promise is empty', () => {
    const r = new PrepareRound(MINE, 3, 2);
    r.onReply(promised(ZERO_BALLOT, null));
    expect(r.onReply(promised(ZERO_BALLOT, null))).toBe('won');
    expect(r.state).toBeNull();
    expect(r.highestAccepted).toEqual(ZERO_BALLOT);
  });

  test('ignores replies once decided: a late promise with a higher accepted ballot does not change the state', () => {
    const r = new PrepareRound(MINE, 3, 2);
    r.onReply(promised(B(1, 'a'), bytes(1)));
    expect(r.onReply(promised(B(1, 'a'), bytes(1)))).toBe('won');
    expect(r.onReply(promised(B(9, 'z'), bytes(9)))).toBe('won');
    expect(r.state).toEqual(bytes(1));
    expect(r.highestAccepted).toEqual(B(1, 'a'));
    expect(r.status).toBe('won');
  });

  test('late replies do not change the decision, but still count and still raise highestConflict', () => {
    const r = new PrepareRound(MINE, 5, 2);
    r.onReply(promised(ZERO_BALLOT, null));
    r.onReply(promised(ZERO_BALLOT, null));
    expect(r.onReply(conflict(B(50, 'x')))).toBe('won');
    expect(r.onUnreachable()).toBe('won');
    expect(r.onReply(age(3))).toBe('won');
    // The quorum decision counts only the replies before it...
    expect([r.tally.yes, r.tally.no]).toEqual([2, 0]);
    // ...while the round's counters see everything, so the proposer can fast-forward past 50/x.
    expect([r.received, r.confirmations, r.rejections, r.unreachable]).toEqual([5, 2, 2, 1]);
    expect(r.highestConflict).toEqual(B(50, 'x'));
    expect(r.lastConflict).toEqual(conflict(B(50, 'x')));
    expect(r.requiredAge).toEqual({ counter: 3, id: 'p' });
    expect(r.state).toBeNull();
  });

  test('is lost after enough conflicts and unreachable acceptors', () => {
    const r = new PrepareRound(MINE, 3, 2);
    expect(r.onReply(conflict(B(11, 'x')))).toBe('pending');
    expect(r.onUnreachable()).toBe('lost');
    expect(r.unreachable).toBe(1);
    // A promise arriving after the loss does not revive the round or set a state.
    expect(r.onReply(promised(B(3, 'a'), bytes(3)))).toBe('lost');
    expect(r.state).toBeNull();
    expect(r.highestAccepted).toEqual(ZERO_BALLOT);
    expect(r.confirmations).toBe(1);
    expect(r.tally.yes).toBe(0);
  });

  test('is lost when only unreachable acceptors answer', () => {
    const r = new PrepareRound(MINE, 3, 2);
    r.onUnreachable();
    expect(r.onUnreachable()).toBe('lost');
    expect(r.unreachable).toBe(2);
    expect(r.highestConflict).toEqual(ZERO_BALLOT);
    expect(r.lastConflict).toBeUndefined();
  });

  test('highestConflict tracks the maximum, lastConflict the latest', () => {
    const r = new PrepareRound(MINE, 5, 3);
    r.onReply(conflict(B(12, 'a'), 'accepted'));
    r.onReply(conflict(B(14, 'b'), 'promise'));
    expect(r.onReply(conflict(B(13, 'c'), 'accepted'))).toBe('lost');
    expect(r.highestConflict).toEqual(B(14, 'b'));
    expect(r.lastConflict).toEqual(conflict(B(13, 'c'), 'accepted'));
  });

  test('requiredAge keeps the highest age required', () => {
    const r = new PrepareRound(MINE, 7, 4);
    r.onReply(age(2));
    r.onReply(age(5));
    r.onReply(age(3));
    expect(r.status).toBe('pending');
    expect(r.requiredAge).toEqual({ counter: 5, id: 'p' });
    // Age rejections are not conflicts.
    expect(r.highestConflict).toEqual(ZERO_BALLOT);
    expect(r.lastConflict).toBeUndefined();
  });

  test('exposes its ballot and tally', () => {
    const r = new PrepareRound(MINE, 5, 3);
    r.onReply(promised(ZERO_BALLOT, null));
    r.onReply(conflict(B(1, 'a')));
    expect(r.ballot).toEqual(MINE);
    expect(r.tally.yes).toBe(1);
    expect(r.tally.no).toBe(1);
    expect(r.tally.outstanding).toBe(3);
  });
});

describe('AcceptRound', () => {
  test('is won after `needed` accepts', () => {
    const r = new AcceptRound(MINE, 3, 2);
    expect(r.onReply({ type: 'accepted' })).toBe('pending');
    expect(r.onReply(conflict(B(11, 'x')))).toBe('pending');
    expect(r.onReply({ type: 'accepted' })).toBe('won');
  });

  test('is lost after enough conflicts and unreachable acceptors', () => {
    const r = new AcceptRound(MINE, 3, 2);
    r.onUnreachable();
    expect(r.onReply(conflict(B(11, 'x')))).toBe('lost');
    expect(r.onReply({ type: 'accepted' })).toBe('lost');
    expect(r.unreachable).toBe(1);
  });

  test('late replies do not change the decision, but are counted', () => {
    const r = new AcceptRound(MINE, 4, 2);
    r.onReply({ type: 'accepted' });
    r.onReply({ type: 'accepted' });
    expect(r.onReply(conflict(B(99, 'z')))).toBe('won');
    expect(r.onReply(age(4))).toBe('won');
    expect(r.status).toBe('won');
    expect([r.tally.yes, r.tally.no]).toEqual([2, 0]);
    expect([r.received, r.confirmations, r.rejections]).toEqual([4, 2, 2]);
    expect(r.highestConflict).toEqual(B(99, 'z'));
    expect(r.requiredAge).toEqual({ counter: 4, id: 'p' });
    expect(r.rejectedSoFar).toBe(false);
    expect(r.rejectedByAll).toBe(false);
  });

  test('rejectedByAll: lost and every accepter gave a proven rejection, late ones included', () => {
    // Conflicts whose `accepted` is below MINE: those acceptors never stored MINE's state.
    const r = new AcceptRound(MINE, 3, 2);
    r.onReply(conflict(B(11, 'x'), 'promise', B(3, 'a')));
    expect(r.provenRejections).toBe(1);
    expect(r.onReply(conflict(B(12, 'x')))).toBe('lost');
    expect(r.provenRejections).toBe(2);
    expect(r.rejectedSoFar).toBe(true);
    expect(r.rejectedByAll).toBe(false); // the third accepter has not answered
    // A late proven rejection completes the proof.
    expect(r.onReply(conflict(B(13, 'y'), 'promise', B(9, 'zz')))).toBe('lost');
    expect([r.received, r.confirmations, r.rejections, r.provenRejections]).toEqual([3, 0, 3, 3]);
    expect(r.rejectedByAll).toBe(true);
    expect(r.rejectedSoFar).toBe(true);
  });

  test("(a) a conflict whose `accepted` is at or above the round's ballot is no proof: the acceptor may hold the state", () => {
    // `accepted` equal to MINE, with a higher promise: the acceptor accepted MINE, then promised more.
    const equal = new AcceptRound(MINE, 3, 2);
    equal.onReply(conflict(B(11, 'x')));
    expect(equal.onReply(conflict(B(12, 'x'), 'promise', MINE))).toBe('lost');
    expect(equal.rejectedSoFar).toBe(false);
    equal.onReply(conflict(B(13, 'x')));
    expect([equal.rejections, equal.provenRejections]).toEqual([3, 2]);
    expect(equal.rejectedByAll).toBe(false);

    // `accepted` above MINE: the acceptor moved on to a higher ballot, possibly after storing MINE
    // (it would answer a duplicate of MINE's accept exactly like this).
    const above = new AcceptRound(MINE, 3, 2);
    above.onReply(conflict(B(11, 'x')));
    above.onReply(conflict(B(12, 'x')));
    expect(above.rejectedSoFar).toBe(true);
    above.onReply(conflict(B(11, 'y'), 'accepted'));
    expect([above.rejections, above.provenRejections]).toEqual([3, 2]);
    expect(above.rejectedSoFar).toBe(false);
    expect(above.rejectedByAll).toBe(false);

    // A promise-kind conflict whose `accepted` was raised to a tombstone floor above MINE: the
    // acceptor may have accepted MINE before garbage collection removed the record.
    const floor = new AcceptRound(MINE, 3, 2);
    floor.onReply(conflict(B(11, 'x')));
    floor.onReply(conflict(B(12, 'x')));
    floor.onReply(conflict(B(20, 'f'), 'promise', B(20, 'f')));
    expect(floor.rejectedByAll).toBe(false);
  });

  test("(a) a proof needs `accepted` strictly below the ballot: the same counter with a higher id is above", () => {
    const r = new AcceptRound(MINE, 1, 1);
    expect(r.onReply(conflict(B(11, 'x'), 'promise', B(10, 'zz')))).toBe('lost');
    expect(r.provenRejections).toBe(0);
    expect(r.rejectedByAll).toBe(false);
    const lower = new AcceptRound(MINE, 1, 1);
    lower.onReply(conflict(B(11, 'x'), 'promise', B(10, 'a')));
    expect(lower.rejectedByAll).toBe(true);
  });

  test("(b) a conflict of kind 'accepted' naming the round's own ballot is a confirmation (a duplicate's answer)", () => {
    const r = new AcceptRound(MINE, 3, 2);
    expect(r.onReply(conflict(MINE, 'accepted'))).toBe('pending');
    expect([r.received, r.confirmations, r.rejections, r.provenRejections]).toEqual([1, 1, 0, 0]);
    // Not a conflict at all: nothing to fast-forward past, nothing to explain a loss with.
    expect(r.highestConflict).toEqual(ZERO_BALLOT);
    expect(r.lastConflict).toBeUndefined();
    expect(r.tally.yes).toBe(1);
    expect(r.onReply({ type: 'accepted' })).toBe('won');
  });

  test('(b) a late duplicate answer after the loss means the acceptor stored the state: no proof, no retry', () => {
    const r = new AcceptRound(MINE, 3, 2);
    r.onReply(conflict(B(11, 'x')));
    expect(r.onReply(conflict(B(12, 'x')))).toBe('lost');
    expect(r.rejectedSoFar).toBe(true);
    expect(r.onReply(conflict(MINE, 'accepted'))).toBe('lost');
    expect(r.confirmations).toBe(1);
    expect(r.rejectedSoFar).toBe(false);
    expect(r.rejectedByAll).toBe(false);
  });

  test("(b) only kind 'accepted' with exactly the round's ballot confirms", () => {
    // Same counter, another id: another proposer's ballot.
    const other = new AcceptRound(MINE, 1, 1);
    expect(other.onReply(conflict(B(10, 'zz'), 'accepted'))).toBe('lost');
    expect([other.confirmations, other.rejections]).toEqual([0, 1]);
    // Kind 'promise' naming the round's ballot is a rejection (a real acceptor would have accepted
    // such a request); its `accepted` decides whether it proves anything.
    const promise = new AcceptRound(MINE, 1, 1);
    expect(promise.onReply(conflict(MINE, 'promise', B(2, 'a')))).toBe('lost');
    expect([promise.confirmations, promise.rejections, promise.provenRejections]).toEqual([0, 1, 1]);
  });

  test('a conflict without `accepted` (an older or foreign acceptor) is a rejection that proves nothing', () => {
    const { accepted: _omitted, ...bare } = conflict(B(11, 'x'));
    const r = new AcceptRound(MINE, 1, 1);
    expect(r.onReply(bare as Conflict)).toBe('lost');
    expect([r.rejections, r.provenRejections]).toEqual([1, 0]);
    expect(r.highestConflict).toEqual(B(11, 'x'));
    expect(r.rejectedSoFar).toBe(false);
    expect(r.rejectedByAll).toBe(false);
  });

  test('(c) an age rejection is never proof, whatever came before or after', () => {
    const first = new AcceptRound(MINE, 3, 2);
    first.onReply(age(2));
    expect(first.onReply(conflict(B(11, 'x')))).toBe('lost');
    expect(first.rejectedSoFar).toBe(false);
    first.onReply(conflict(B(12, 'x')));
    expect([first.rejections, first.provenRejections]).toEqual([3, 2]);
    expect(first.rejectedByAll).toBe(false);

    const last = new AcceptRound(MINE, 3, 2);
    last.onReply(conflict(B(11, 'x')));
    last.onReply(conflict(B(12, 'x')));
    expect(last.rejectedSoFar).toBe(true);
    last.onReply(age(2));
    expect(last.rejectedSoFar).toBe(false);
    expect(last.rejectedByAll).toBe(false);

    const only = new AcceptRound(MINE, 2, 2);
    only.onReply(age(1));
    only.onReply(age(1));
    expect(only.status).toBe('lost');
    expect(only.provenRejections).toBe(0);
    expect(only.rejectedSoFar).toBe(false);
    expect(only.rejectedByAll).toBe(false);
  });

  test('rejectedByAll is false when one accepter accepted, even late', () => {
    const r = new AcceptRound(MINE, 3, 2);
    r.onReply(conflict(B(11, 'x')));
    r.onReply(conflict(B(12, 'x')));
    r.onReply({ type: 'accepted' });
    expect(r.status).toBe('lost');
    expect(r.rejectedSoFar).toBe(false);
    expect(r.rejectedByAll).toBe(false);
  });

  test('an unreachable accepter makes the outcome unknown: neither rejectedSoFar nor rejectedByAll', () => {
    const r = new AcceptRound(MINE, 3, 2);
    r.onReply(conflict(B(11, 'x')));
    r.onUnreachable();
    r.onReply(conflict(B(12, 'x')));
    expect(r.status).toBe('lost');
    expect(r.rejectedSoFar).toBe(false);
    expect(r.rejectedByAll).toBe(false);
  });

  test('neither flag holds while the round is pending or won', () => {
    const pending = new AcceptRound(MINE, 5, 3);
    pending.onReply(conflict(B(11, 'x')));
    expect(pending.status).toBe('pending');
    expect(pending.rejectedSoFar).toBe(false);
    expect(pending.rejectedByAll).toBe(false);
    const won = new AcceptRound(MINE, 1, 1);
    won.onReply({ type: 'accepted' });
    expect(won.rejectedSoFar).toBe(false);
    expect(won.rejectedByAll).toBe(false);
  });

  test('highestConflict tracks the maximum, lastConflict the latest, requiredAge the highest', () => {
    const r = new AcceptRound(MINE, 9, 5);
    r.onReply(conflict(B(20, 'b')));
    r.onReply(age(1));
    r.onReply(conflict(B(30, 'a'), 'accepted'));
    r.onReply(age(6));
    expect(r.onReply(conflict(B(15, 'c')))).toBe('lost');
    expect(r.highestConflict).toEqual(B(30, 'a'));
    expect(r.lastConflict).toEqual(conflict(B(15, 'c')));
    expect(r.requiredAge).toEqual({ counter: 6, id: 'p' });
  });

  /** One accept-phase outcome at one accepter, for the reference model below. */
  type Answer =
    | { readonly type: 'accepted' }
    | { readonly type: 'conflict'; readonly ballot: Ballot; readonly kind: Conflict['kind']; readonly accepted: Ballot }
    | { readonly type: 'age' }
    | { readonly type: 'unreachable' };

  // Ballots around MINE (10/me), MINE itself included, so every comparison outcome is common.
  const nearBallot = fc.oneof(
    fc.constant(MINE),
    fc.constant(ZERO_BALLOT),
    fc.record({ counter: fc.integer({ min: 9, max: 11 }), id: fc.constantFrom('a', 'me', 'zz') }),
  );
  const answer: fc.Arbitrary<Answer> = fc.oneof(
    fc.constant({ type: 'accepted' as const }),
    fc.record({ type: fc.constant('conflict' as const), ballot: nearBallot, kind: fc.constantFrom<Conflict['kind']>('promise', 'accepted'), accepted: nearBallot }),
    fc.constant({ type: 'age' as const }),
    fc.constant({ type: 'unreachable' as const }),
  );
  const roundArb = fc
    .integer({ min: 1, max: 5 })
    .chain((total) => fc.tuple(fc.constant(total), fc.integer({ min: 1, max: total }), fc.array(answer, { minLength: 0, maxLength: total })));

  test.prop([roundArb])('model: the flags follow from which replies prove non-storage, reply by reply', ([total, needed, answers]) => {
    const r = new AcceptRound(MINE, total, needed);
    const confirms = (a: Answer): boolean => a.type === 'accepted' || (a.type === 'conflict' && a.kind === 'accepted' && compareBallots(a.ballot, MINE) === 0);
    const proves = (a: Answer): boolean => a.type === 'conflict' && !confirms(a) && compareBallots(a.accepted, MINE) < 0;
    let yes = 0;
    let no = 0;
    let status = 'pending';
    answers.forEach((a, i) => {
      if (a.type === 'unreachable') r.onUnreachable();
      else if (a.type === 'age') r.onReply(age(1));
      else r.onReply(a.type === 'accepted' ? a : conflict(a.ballot, a.kind, a.accepted));
      if (status === 'pending') {
        if (confirms(a)) yes++;
        else no++;
        if (yes >= needed) status = 'won';
        else if (total - no < needed) status = 'lost';
      }
      const sofar = answers.slice(0, i + 1);
      expect(r.status).toBe(status);
      expect(r.provenRejections).toBe(sofar.filter(proves).length);
      expect(r.confirmations).toBe(sofar.filter(confirms).length);
      expect(r.rejectedSoFar).toBe(status === 'lost' && sofar.every(proves));
      expect(r.rejectedByAll).toBe(status === 'lost' && sofar.length === total && sofar.every(proves));
    });
  });

  test('a full quorum is lost on the first rejection', () => {
    const r = new AcceptRound(MINE, 3, 3);
    r.onReply({ type: 'accepted' });
    expect(r.onReply(age(1))).toBe('lost');
  });
});

describe('PrepareRound.ancestry', () => {
  test("is the ancestry reported with the highest accepted state; undefined when that reply has none", () => {
    const r = new PrepareRound(MINE, 3, 3);
    expect(r.ancestry).toEqual([]); // nothing accepted: no ancestors
    r.onReply({ type: 'promised', accepted: B(2, 'a'), state: bytes(2), ancestry: [B(1, 'b')] });
    expect(r.ancestry).toEqual([B(1, 'b')]);
    r.onReply({ type: 'promised', accepted: B(5, 'c'), state: bytes(5) });
    expect(r.ancestry).toBeUndefined();
    r.onReply({ type: 'promised', accepted: B(4, 'd'), state: bytes(4), ancestry: [B(3, 'a')] });
    expect(r.ancestry).toBeUndefined(); // still the highest's (5/c)
  });

  test('a late promise does not change it', () => {
    const r = new PrepareRound(MINE, 3, 2);
    r.onReply({ type: 'promised', accepted: B(2, 'a'), state: bytes(2), ancestry: [B(1, 'b')] });
    r.onReply({ type: 'promised', accepted: B(1, 'a'), state: bytes(1), ancestry: [] });
    r.onReply({ type: 'promised', accepted: B(9, 'z'), state: bytes(9), ancestry: [B(8, 'y')] });
    expect(r.ancestry).toEqual([B(1, 'b')]);
  });
});

describe('AcceptRound.promisedNext (one round trip)', () => {
  const NEXT = B(11, 'me');

  test('counts the acceptances that also promised the requested ballot', () => {
    const r = new AcceptRound(MINE, 5, 3, NEXT);
    expect(r.next).toEqual(NEXT);
    r.onReply({ type: 'accepted', promised: NEXT });
    r.onReply({ type: 'accepted' }); // an acceptor that cannot piggyback ignores `next`
    r.onReply({ type: 'accepted', promised: B(12, 'me') }); // not what was asked
    expect(r.promisedNext).toBe(1);
    expect(r.status).toBe('won');
    r.onReply({ type: 'accepted', promised: { counter: 11, id: 'me' } }); // late, counted too
    expect(r.promisedNext).toBe(2);
  });

  test('a duplicate confirmation and rejections promise nothing', () => {
    const r = new AcceptRound(MINE, 3, 2, NEXT);
    r.onReply(conflict(MINE, 'accepted')); // a duplicate's answer: confirmed, but no promise reported
    r.onReply(conflict(B(20, 'x')));
    r.onReply(age(3));
    expect(r.confirmations).toBe(1);
    expect(r.promisedNext).toBe(0);
  });

  test('is 0 for a round that asked for no promise, whatever the replies say', () => {
    const r = new AcceptRound(MINE, 3, 2);
    expect(r.next).toBeUndefined();
    r.onReply({ type: 'accepted', promised: NEXT });
    r.onReply({ type: 'accepted', promised: NEXT });
    expect(r.status).toBe('won');
    expect(r.promisedNext).toBe(0);
  });
});
