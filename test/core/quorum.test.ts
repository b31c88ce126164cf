import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { QuorumTally, type QuorumStatus, majority } from '../../src/core/quorum.js';

describe('majority', () => {
  test.each([
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
    [6, 4],
    [7, 4],
    [8, 5],
    [9, 5],
  ])('majority(%i) = %i', (n, expected) => {
    expect(majority(n)).toBe(expected);
  });

  test.prop([fc.integer({ min: 1, max: 1000 })])('any two majorities of the same set intersect, and a smaller count does not', (n) => {
    const m = majority(n);
    expect(2 * m).toBeGreaterThan(n);
    expect(2 * (m - 1)).toBeLessThanOrEqual(n);
  });

  test.each([[0], [-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY]])('majority(%s) throws', (n) => {
    expect(() => majority(n)).toThrow(RangeError);
  });
});

describe('QuorumTally', () => {
  test('is won as soon as `needed` members said yes', () => {
    const t = new QuorumTally(5, 3);
    expect(t.status).toBe('pending');
    expect(t.vote(true)).toBe('pending');
    expect(t.vote(false)).toBe('pending');
    expect(t.vote(true)).toBe('pending');
    expect(t.vote(true)).toBe('won');
    expect(t.status).toBe('won');
    expect(t.outstanding).toBe(1);
  });

  test('is lost as soon as `needed` yeses are out of reach', () => {
    const t = new QuorumTally(5, 3);
    expect(t.vote(false)).toBe('pending');
    expect(t.vote(true)).toBe('pending');
    expect(t.vote(false)).toBe('pending');
    expect(t.vote(false)).toBe('lost');
    expect(t.outstanding).toBe(1);
  });

  test('a full quorum (needed = total) is lost on the first no', () => {
    const t = new QuorumTally(3, 3);
    expect(t.vote(true)).toBe('pending');
    expect(t.vote(false)).toBe('lost');
  });

  test('the status is frozen once decided', () => {
    const won = new QuorumTally(3, 2);
    won.vote(true);
    won.vote(true);
    expect(won.vote(false)).toBe('won');
    expect(won.status).toBe('won');

    const lost = new QuorumTally(3, 2);
    lost.vote(false);
    lost.vote(false);
    expect(lost.vote(true)).toBe('lost');
    expect(lost.status).toBe('lost');
  });

  test('outstanding counts the replies not yet received', () => {
    const t = new QuorumTally(4, 3);
    expect(t.outstanding).toBe(4);
    t.vote(true);
    expect(t.outstanding).toBe(3);
    t.vote(false);
    expect(t.outstanding).toBe(2);
  });

  test.each([
    [3, 0],
    [3, 4],
    [3, 1.5],
    [3, Number.NaN],
    [0, 1],
  ])('new QuorumTally(%s, %s) throws', (total, needed) => {
    expect(() => new QuorumTally(total, needed)).toThrow(RangeError);
  });

  const scenario = fc
    .integer({ min: 1, max: 9 })
    .chain((total) =>
      fc.record({
        total: fc.constant(total),
        needed: fc.oneof(fc.integer({ min: 1, max: total }), fc.constant(majority(total)), fc.constant(total)),
        votes: fc.array(fc.boolean(), { maxLength: total }),
      }),
    );

  test.prop([scenario])('agrees with a naive count over random vote sequences', ({ total, needed, votes }) => {
    const t = new QuorumTally(total, needed);
    let decided: QuorumStatus = 'pending';
    for (let i = 0; i < votes.length; i++) {
      const prefix = votes.slice(0, i + 1);
      const yes = prefix.filter((v) => v).length;
      const no = prefix.length - yes;
      if (decided === 'pending') {
        if (yes >= needed) decided = 'won';
        else if (yes + (total - prefix.length) < needed) decided = 'lost';
      }
      expect(t.vote(votes[i] === true)).toBe(decided);
      expect(t.status).toBe(decided);
      expect(t.outstanding).toBe(total - yes - no);
    }
    if (votes.length === total) expect(t.status).not.toBe('pending');
  });
});
