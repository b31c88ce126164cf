/**
 * The read decision (`PeekRound`) and the peek rule, stepped by hand: no promises, no acceptors.
 */
import { describe, expect, test } from 'vitest';
import { type Ballot, PeekRound, type PeekReply, ZERO_BALLOT, acceptorRules } from '../../src/index.js';

const b = (counter: number, id = 'p1'): Ballot => ({ counter, id });
const peeked = (accepted: Ballot, state: Uint8Array | null = accepted.counter === 0 ? null : Uint8Array.of(accepted.counter)): PeekReply => ({ type: 'peeked', accepted, state });

describe('the peek rule', () => {
  test('reports the accepted ballot and state, and nothing to store', () => {
    const record = { promise: b(5), accepted: b(3), state: Uint8Array.of(3), ancestry: [] };
    const reply = acceptorRules.peek(record);
    expect(reply).toEqual({ type: 'peeked', accepted: b(3), state: Uint8Array.of(3) });
    // A rule result would carry `next`; a peek has none: it is a reply, not a verdict.
    expect(reply).not.toHaveProperty('next');
  });

  test('an absent key reports nothing accepted, even under a tombstone floor (the promise is not reported)', () => {
    expect(acceptorRules.peek(acceptorRules.absentRecord(b(9, 'gc')))).toEqual({ type: 'peeked', accepted: ZERO_BALLOT, state: null });
  });
});

describe('PeekRound', () => {
  test('wins as soon as a majority reports one ballot, without waiting for the rest', () => {
    const round = new PeekRound(3);
    expect(round.onReply(peeked(b(2)), 'a1')).toBe('pending');
    expect(round.onReply(peeked(b(2)), 'a3')).toBe('won');
    expect(round.agreed).toEqual({ accepted: b(2), state: Uint8Array.of(2), from: ['a1', 'a3'] });
    expect(round.absent).toBe(false);
    // A late reply changes nothing.
    expect(round.onReply(peeked(b(7)), 'a2')).toBe('won');
    expect(round.agreed?.accepted).toEqual(b(2));
    expect(round.received).toBe(3);
  });

  test('a majority holding nothing is agreement too: the key reads as absent', () => {
    const round = new PeekRound(3);
    round.onReply(peeked(ZERO_BALLOT), 'a1');
    expect(round.onReply(peeked(ZERO_BALLOT), 'a2')).toBe('won');
    expect(round.absent).toBe(true);
    expect(round.agreed?.state).toBeNull();
  });

  test('same counter, different proposer ids are different ballots: no agreement', () => {
    const round = new PeekRound(3);
    round.onReply(peeked(b(2, 'p1')), 'a1');
    round.onReply(peeked(b(2, 'p2')), 'a2');
    expect(round.status).toBe('pending');
    expect(round.onReply(peeked(b(3)), 'a3')).toBe('lost');
    expect(round.fallback).toBe('disagree');
  });

  test('loses as soon as no ballot can reach a majority (5 members: three different ballots)', () => {
    const round = new PeekRound(5);
    round.onReply(peeked(b(1)), 'a1');
    round.onReply(peeked(b(2)), 'a2');
    expect(round.onReply(peeked(b(3)), 'a3')).toBe('pending'); // 1 + 2 outstanding = 3: still possible
    expect(round.onReply(peeked(b(4)), 'a4')).toBe('lost'); // 1 + 1 < 3
    expect(round.agreed).toBeUndefined();
  });

  test('failures count against agreement; the reason says which kind', () => {
    const down = new PeekRound(3);
    down.onUnreachable(new Error('down'));
    down.onReply(peeked(b(1)), 'a2');
    expect(down.onReply(peeked(b(2)), 'a3')).toBe('lost');
    expect(down.fallback).toBe('unreachable');

    const old = new PeekRound(3);
    old.onUnreachable(new Error('unknown request'), true);
    expect(old.onUnreachable(new Error('unknown request'), true)).toBe('lost');
    expect(old.fallback).toBe('unsupported');
    expect(old.unsupported).toBe(2);
  });

  test('a member cannot answer twice', () => {
    const round = new PeekRound(1);
    expect(round.onReply(peeked(b(1)), 'a1')).toBe('won');
    expect(() => round.onReply(peeked(b(1)), 'a1')).toThrow(RangeError);
  });

  test('decides exactly when the arithmetic says, for every split of 1 to 7 members (exhaustive)', () => {
    // Every sequence of replies over up to 3 distinct ballots and failures, for n = 1..7: the round
    // is won iff some ballot reached a majority, lost iff none can any more, and never later.
    for (let n = 1; n <= 7; n++) {
      const needed = Math.floor(n / 2) + 1;
      const kinds = 4; // ballots 1, 2, 3, or a failure (3)
      for (let code = 0; code < kinds ** n; code++) {
        const round = new PeekRound(n);
        const counts = [0, 0, 0];
        for (let i = 0, c = code; i < n; i++, c = Math.floor(c / kinds)) {
          const kind = c % kinds;
          const before = round.status;
          if (kind === 3) {
            round.onUnreachable(new Error('x'));
          } else {
            round.onReply(peeked(b(kind + 1)), `a${i}`);
            if (before === 'pending') counts[kind] = (counts[kind] as number) + 1;
          }
          if (before !== 'pending') {
            expect(round.status).toBe(before);
            continue;
          }
          const best = Math.max(...counts);
          const outstanding = n - i - 1;
          const expected = best >= needed ? 'won' : best + outstanding < needed ? 'lost' : 'pending';
          expect(round.status, `n=${n} code=${code} step=${i}`).toBe(expected);
        }
        expect(round.status).not.toBe('pending');
      }
    }
  });
});
