import { test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { formatAge, isAge, isYounger } from '../../src/core/age.js';

describe('age', () => {
  test('isYounger compares counters only', () => {
    expect(isYounger({ counter: 1, id: 'a' }, { counter: 2, id: 'a' })).toBe(true);
    expect(isYounger({ counter: 2, id: 'a' }, { counter: 1, id: 'a' })).toBe(false);
    expect(isYounger({ counter: 2, id: 'a' }, { counter: 2, id: 'a' })).toBe(false);
    // Ids are not a tiebreaker: neither of two equal counters is younger.
    expect(isYounger({ counter: 2, id: 'a' }, { counter: 2, id: 'b' })).toBe(false);
    expect(isYounger({ counter: 2, id: 'b' }, { counter: 2, id: 'a' })).toBe(false);
    expect(isYounger({ counter: 1, id: 'z' }, { counter: 2, id: 'a' })).toBe(true);
  });

  test('formatAge renders counter:id', () => {
    expect(formatAge({ counter: 2, id: 'p1' })).toBe('2:p1');
    expect(formatAge({ counter: 0, id: 'x' })).toBe('0:x');
  });

  test('isAge accepts a non-negative integer counter with a non-empty id', () => {
    expect(isAge({ counter: 0, id: 'p1' })).toBe(true);
    expect(isAge({ counter: 5, id: 'p1' })).toBe(true);
    expect(isAge({ counter: Number.MAX_SAFE_INTEGER, id: 'p' })).toBe(true);
  });

  test.each([
    ['an empty id', { counter: 1, id: '' }],
    ['counter 0 with an empty id', { counter: 0, id: '' }],
    ['a negative counter', { counter: -1, id: 'p' }],
    ['a fractional counter', { counter: 0.5, id: 'p' }],
    ['a NaN counter', { counter: Number.NaN, id: 'p' }],
    ['an infinite counter', { counter: Number.POSITIVE_INFINITY, id: 'p' }],
    ['a string counter', { counter: '1', id: 'p' }],
    ['a numeric id', { counter: 1, id: 7 }],
    ['a missing counter', { id: 'p' }],
    ['null', null],
    ['undefined', undefined],
    ['a string', '1:p'],
  ])('isAge rejects %s', (_name, value) => {
    expect(isAge(value)).toBe(false);
  });
});
