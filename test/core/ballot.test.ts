import { test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  type Ballot,
  ZERO_BALLOT,
  ballotEquals,
  ballotGreaterThan,
  compareBallots,
  formatBallot,
  isBallot,
  isZeroBallot,
  maxBallot,
} from '../../src/core/ballot.js';
import { anyBallot, smallBallot, tupleCompare } from './arbitraries.js';

const sign = (n: number): number => (n > 0 ? 1 : n < 0 ? -1 : 0);

describe('ballot order laws', () => {
  test.prop([anyBallot])('reflexive: every ballot equals itself and is not greater than itself', (a) => {
    expect(compareBallots(a, a)).toBe(0);
    expect(ballotEquals(a, a)).toBe(true);
    expect(ballotEquals(a, { counter: a.counter, id: a.id })).toBe(true);
    expect(ballotGreaterThan(a, a)).toBe(false);
  });

  test.prop([smallBallot, smallBallot])('antisymmetric: a <= b and b <= a imply a == b', (a, b) => {
    if (compareBallots(a, b) <= 0 && compareBallots(b, a) <= 0) {
      expect(a.counter).toBe(b.counter);
      expect(a.id).toBe(b.id);
    }
    expect(sign(compareBallots(a, b)) + sign(compareBallots(b, a))).toBe(0);
  });

  test.prop([smallBallot, smallBallot, smallBallot])('transitive: a <= b and b <= c imply a <= c', (a, b, c) => {
    if (compareBallots(a, b) <= 0 && compareBallots(b, c) <= 0) expect(compareBallots(a, c)).toBeLessThanOrEqual(0);
    if (ballotGreaterThan(a, b) && ballotGreaterThan(b, c)) expect(ballotGreaterThan(a, c)).toBe(true);
  });

  test.prop([smallBallot, smallBallot])('total: exactly one of a < b, a == b, a > b holds', (a, b) => {
    const lt = ballotGreaterThan(b, a);
    const eq = ballotEquals(a, b);
    const gt = ballotGreaterThan(a, b);
    expect([lt, eq, gt].filter(Boolean)).toHaveLength(1);
  });

  test.prop([anyBallot, anyBallot])('compareBallots agrees with tuple comparison (counter, then id)', (a, b) => {
    expect(sign(compareBallots(a, b))).toBe(tupleCompare(a, b));
  });

  test.prop([smallBallot, smallBallot])('compareBallots is consistent with ballotGreaterThan, ballotEquals and maxBallot', (a, b) => {
    const c = compareBallots(a, b);
    expect(ballotGreaterThan(a, b)).toBe(c > 0);
    expect(ballotEquals(a, b)).toBe(c === 0);
    const m = maxBallot(a, b);
    expect(compareBallots(m, a)).toBeGreaterThanOrEqual(0);
    expect(compareBallots(m, b)).toBeGreaterThanOrEqual(0);
    expect(m === a || m === b).toBe(true);
    expect(ballotEquals(maxBallot(a, b), maxBallot(b, a))).toBe(true);
  });
});

describe('ballot comparison', () => {
  test('counters compare before ids', () => {
    expect(ballotGreaterThan({ counter: 2, id: 'a' }, { counter: 1, id: 'z' })).toBe(true);
    expect(compareBallots({ counter: 1, id: 'z' }, { counter: 2, id: 'a' })).toBeLessThan(0);
    // Numeric, not string, order of counters: 10 > 9.
    expect(ballotGreaterThan({ counter: 10, id: 'a' }, { counter: 9, id: 'a' })).toBe(true);
  });

  test('ids break ties on equal counters', () => {
    expect(ballotGreaterThan({ counter: 3, id: 'b' }, { counter: 3, id: 'a' })).toBe(true);
    expect(compareBallots({ counter: 3, id: 'a' }, { counter: 3, id: 'b' })).toBeLessThan(0);
    expect(ballotEquals({ counter: 3, id: 'a' }, { counter: 3, id: 'b' })).toBe(false);
  });

  test('the zero ballot is below every generated ballot', () => {
    expect(ballotGreaterThan({ counter: 1, id: 'a' }, ZERO_BALLOT)).toBe(true);
    expect(isZeroBallot(ZERO_BALLOT)).toBe(true);
    expect(isZeroBallot({ counter: 0, id: '' })).toBe(true);
    expect(isZeroBallot({ counter: 1, id: 'a' })).toBe(false);
  });

  test('maxBallot returns the first argument when both are equal', () => {
    const a: Ballot = { counter: 2, id: 'p' };
    const b: Ballot = { counter: 2, id: 'p' };
    expect(maxBallot(a, b)).toBe(a);
  });
});

describe('formatBallot', () => {
  test('renders counter/id', () => {
    expect(formatBallot({ counter: 3, id: 'p1' })).toBe('3/p1');
  });

  test('renders the zero ballot as ø', () => {
    expect(formatBallot(ZERO_BALLOT)).toBe('ø');
    expect(formatBallot({ counter: 0, id: '' })).toBe('ø');
  });
});

describe('isBallot', () => {
  test('accepts well-formed ballots and the zero ballot', () => {
    expect(isBallot({ counter: 1, id: 'p1' })).toBe(true);
    expect(isBallot({ counter: Number.MAX_SAFE_INTEGER, id: 'x' })).toBe(true);
    expect(isBallot(ZERO_BALLOT)).toBe(true);
    expect(isBallot({ counter: 0, id: '' })).toBe(true);
  });

  test.prop([anyBallot])('accepts every ballot the arbitrary generates', (b) => {
    expect(isBallot(b)).toBe(true);
  });

  test.each([
    ['a negative counter', { counter: -1, id: 'p' }],
    ['a fractional counter', { counter: 1.5, id: 'p' }],
    ['a NaN counter', { counter: Number.NaN, id: 'p' }],
    ['an infinite counter', { counter: Number.POSITIVE_INFINITY, id: 'p' }],
    ['an unsafe integer counter', { counter: 2 ** 53, id: 'p' }],
    ['a string counter', { counter: '1', id: 'p' }],
    ['counter 0 with a non-empty id', { counter: 0, id: 'p' }],
    ['counter > 0 with an empty id', { counter: 1, id: '' }],
    ['a numeric id', { counter: 1, id: 1 }],
    ['a missing id', { counter: 1 }],
    ['a missing counter', { id: 'p' }],
  ])('rejects %s', (_name, value) => {
    expect(isBallot(value)).toBe(false);
  });

  test.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', '1/p'],
    ['a number', 1],
    ['a tuple', [1, 'p']],
  ])('rejects non-objects: %s', (_name, value) => {
    expect(isBallot(value)).toBe(false);
  });
});
