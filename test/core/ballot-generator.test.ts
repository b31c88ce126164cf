import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { BallotGenerator } from '../../src/core/ballot-generator.js';
import { type Ballot, ZERO_BALLOT, compareBallots, formatBallot } from '../../src/core/ballot.js';
import { PrepareRound } from '../../src/core/rounds.js';
import { anyBallot, smallBallot } from './arbitraries.js';

describe('BallotGenerator', () => {
  test('starts after the given counter and carries its id', () => {
    expect(new BallotGenerator('p1').next()).toEqual({ counter: 1, id: 'p1' });
    const g = new BallotGenerator('p2', 7);
    expect(g.counter).toBe(7);
    expect(g.next()).toEqual({ counter: 8, id: 'p2' });
    expect(g.counter).toBe(8);
  });

  test.prop([fc.integer({ min: 1, max: 200 }), fc.nat({ max: 1000 })])('next() is strictly increasing and never repeats', (n, start) => {
    const g = new BallotGenerator('p', start);
    const seen = new Set<string>();
    let previous: Ballot = ZERO_BALLOT;
    for (let i = 0; i < n; i++) {
      const b = g.next();
      expect(compareBallots(b, previous)).toBeGreaterThan(0);
      expect(seen.has(formatBallot(b))).toBe(false);
      seen.add(formatBallot(b));
      previous = b;
    }
  });

  test('fastForward moves the counter up and reports it', () => {
    const g = new BallotGenerator('a', 3);
    expect(g.fastForward({ counter: 9, id: 'z' })).toBe(true);
    expect(g.counter).toBe(9);
    expect(g.next()).toEqual({ counter: 10, id: 'a' });
  });

  test('fastForward never moves the counter down and returns false then', () => {
    const g = new BallotGenerator('a', 5);
    expect(g.fastForward({ counter: 2, id: 'z' })).toBe(false);
    expect(g.counter).toBe(5);
    expect(g.fastForward(ZERO_BALLOT)).toBe(false);
    expect(g.counter).toBe(5);
    expect(g.next()).toEqual({ counter: 6, id: 'a' });
  });

  test('fastForward to the same counter with a higher id does not move, yet the next ballot is still greater', () => {
    const g = new BallotGenerator('a', 5);
    const seen = { counter: 5, id: 'z' };
    expect(g.fastForward(seen)).toBe(false);
    expect(compareBallots(g.next(), seen)).toBeGreaterThan(0);
  });

  test.prop([fc.array(fc.oneof(fc.constant('next' as const), anyBallot), { maxLength: 60 })])(
    'after any mix of next() and fastForward(seen), every ballot is above everything handed out or seen before',
    (ops) => {
      const g = new BallotGenerator('p');
      let highest: Ballot = ZERO_BALLOT;
      const handedOut = new Set<string>();
      for (const op of ops) {
        if (op === 'next') {
          const b = g.next();
          expect(compareBallots(b, highest)).toBeGreaterThan(0);
          expect(handedOut.has(formatBallot(b))).toBe(false);
          handedOut.add(formatBallot(b));
          highest = b;
        } else {
          const before = g.counter;
          const moved = g.fastForward(op);
          expect(moved).toBe(op.counter > before);
          expect(g.counter).toBe(Math.max(before, op.counter));
          if (compareBallots(op, highest) > 0) highest = op;
        }
      }
      expect(compareBallots(g.next(), highest)).toBeGreaterThan(0);
    },
  );

  test.prop([smallBallot])('after fastForward(seen) the next ballot is greater than seen', (seen) => {
    const g = new BallotGenerator('b', 2);
    g.fastForward(seen);
    expect(compareBallots(g.next(), seen)).toBeGreaterThan(0);
  });

  test.prop([fc.integer({ min: 1, max: 30 }), fc.nat({ max: 50 })])(
    'attempts that fail with no conflict information never reuse a ballot',
    (attempts, start) => {
      // The seed, after an attempt whose replies were all timeouts, assigned
      // `counter = biggestConflict.counter`, which is 0 then: the next attempt reissued ballot 1/p,
      // and a delayed accept of the old 1/p could overwrite an acknowledged value. Here each attempt
      // takes next(), and fast-forwarding to the (zero) highest conflict must not move the counter back.
      const g = new BallotGenerator('p', start);
      const used = new Set<string>();
      for (let i = 0; i < attempts; i++) {
        const ballot = g.next();
        expect(used.has(formatBallot(ballot))).toBe(false);
        used.add(formatBallot(ballot));
        const round = new PrepareRound(ballot, 3, 2);
        round.onUnreachable();
        round.onUnreachable();
        expect(round.status).toBe('lost');
        expect(round.highestConflict).toEqual(ZERO_BALLOT);
        expect(g.fastForward(round.highestConflict)).toBe(false);
      }
      expect(g.counter).toBe(start + attempts);
    },
  );

  test('a run of failed attempts without any fastForward call never reuses a ballot', () => {
    const g = new BallotGenerator('p');
    const ballots = Array.from({ length: 5 }, () => g.next());
    expect(new Set(ballots.map(formatBallot)).size).toBe(5);
    expect(ballots.map((b) => b.counter)).toEqual([1, 2, 3, 4, 5]);
  });

  test('the constructor rejects an empty id', () => {
    expect(() => new BallotGenerator('')).toThrow(RangeError);
  });

  test.each([[-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY], [2 ** 53]])('the constructor rejects counter %s', (counter) => {
    expect(() => new BallotGenerator('p', counter)).toThrow(RangeError);
  });
});
