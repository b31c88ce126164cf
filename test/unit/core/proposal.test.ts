import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { type Ballot, ZERO_BALLOT, compareBallots } from '../../../src/core/ballot.js';
import type { Conflict, PrepareReply } from '../../../src/core/messages.js';
import { AcceptRound, PrepareRound } from '../../../src/core/proposal.js';

const B = (counter: number, id: string): Ballot => ({ counter, id });
const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);
const promised = (accepted: Ballot, state: Uint8Array | null): PrepareReply => ({ type: 'promised', accepted, state });
const conflict = (ballot: Ballot, kind: Conflict['kind'] = 'promise'): Conflict => ({ type: 'conflict', ballot, kind });
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

  test('rejectedByAll: lost and every accepter rejected, late rejections included', () => {
    const r = new AcceptRound(MINE, 3, 2);
    r.onReply(conflict(B(11, 'x')));
    expect(r.onReply(conflict(B(12, 'x')))).toBe('lost');
    expect(r.rejectedSoFar).toBe(true);
    expect(r.rejectedByAll).toBe(false);
    r.onReply(age(2));
    expect(r.rejectedByAll).toBe(true);
    expect(r.rejectedSoFar).toBe(true);
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

  test('a full quorum is lost on the first rejection', () => {
    const r = new AcceptRound(MINE, 3, 3);
    r.onReply({ type: 'accepted' });
    expect(r.onReply(age(1))).toBe('lost');
  });
});
