import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { copyState, isState, statesEqual } from '../../src/core/state.js';

describe('copyState', () => {
  test('null stays null', () => {
    expect(copyState(null)).toBeNull();
  });

  test('copies the bytes of a Uint8Array', () => {
    const original = new Uint8Array([1, 2, 3]);
    const copy = copyState(original);
    expect(copy).not.toBe(original);
    expect(copy).toEqual(new Uint8Array([1, 2, 3]));
  });

  test('mutating the copy leaves the original, and the other way round', () => {
    const original = new Uint8Array([1, 2, 3]);
    const copy = copyState(original);
    if (copy === null) throw new Error('unexpected null');
    copy[0] = 9;
    expect(Array.from(original)).toEqual([1, 2, 3]);
    original[1] = 8;
    expect(Array.from(copy)).toEqual([9, 2, 3]);
  });

  test('a copy of a view into a larger buffer holds only the view and shares no memory', () => {
    const backing = new Uint8Array([0, 1, 2, 3, 4, 5]);
    const view = backing.subarray(2, 4);
    const copy = copyState(view);
    if (copy === null) throw new Error('unexpected null');
    expect(Array.from(copy)).toEqual([2, 3]);
    expect(copy.buffer).not.toBe(backing.buffer);
    copy[0] = 99;
    expect(backing[2]).toBe(2);
  });

  // Regression: copyState used `state.slice()`, but Node's Buffer (which isState accepts as a state)
  // overrides slice() to return a view on the same memory, so MemoryAcceptor kept a live view of
  // the caller's buffer. Failing case then: c = copyState(Buffer.from([1, 2, 3])); c[0] = 9 -> b[0] === 9.
  test('a copy of a Node Buffer shares no memory with it and is a plain Uint8Array', () => {
    const original = Buffer.from([1, 2, 3]);
    const copy = copyState(original);
    if (copy === null) throw new Error('unexpected null');
    copy[0] = 9;
    expect(Array.from(original)).toEqual([1, 2, 3]);
    original[1] = 8;
    expect(Array.from(copy)).toEqual([9, 2, 3]);
    expect(Buffer.isBuffer(copy)).toBe(false);
    expect(copy).toBeInstanceOf(Uint8Array);
  });

  test.prop([fc.uint8Array({ maxLength: 32 })])('the copy is equal to and independent of the original', (bytes) => {
    const snapshot = Array.from(bytes);
    const copy = copyState(bytes);
    if (copy === null) throw new Error('unexpected null');
    expect(statesEqual(copy, bytes)).toBe(true);
    copy.fill(0xff);
    expect(Array.from(bytes)).toEqual(snapshot);
  });
});

describe('statesEqual', () => {
  test('null equals only null', () => {
    expect(statesEqual(null, null)).toBe(true);
    expect(statesEqual(null, new Uint8Array())).toBe(false);
    expect(statesEqual(new Uint8Array(), null)).toBe(false);
  });

  test('compares bytes, not identity', () => {
    expect(statesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(statesEqual(new Uint8Array(), new Uint8Array())).toBe(true);
    expect(statesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(statesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0]))).toBe(false);
    expect(statesEqual(new Uint8Array([1, 2, 0]), new Uint8Array([1, 2]))).toBe(false);
    expect(statesEqual(Buffer.from([4, 5]), new Uint8Array([4, 5]))).toBe(true);
  });

  test.prop([fc.option(fc.uint8Array({ maxLength: 4 })), fc.option(fc.uint8Array({ maxLength: 4 }))])(
    'agrees with comparing byte lists',
    (a, b) => {
      const expected = a === null || b === null ? a === b : JSON.stringify(Array.from(a)) === JSON.stringify(Array.from(b));
      expect(statesEqual(a, b)).toBe(expected);
      expect(statesEqual(b, a)).toBe(expected);
    },
  );
});

describe('isState', () => {
  test('accepts null, Uint8Array and Buffer', () => {
    expect(isState(null)).toBe(true);
    expect(isState(new Uint8Array())).toBe(true);
    expect(isState(new Uint8Array([1]))).toBe(true);
    expect(isState(Buffer.from('x'))).toBe(true);
  });

  test.each([
    ['undefined', undefined],
    ['a plain array', [1, 2]],
    ['a string', 'abc'],
    ['a number', 1],
    ['an ArrayBuffer', new ArrayBuffer(2)],
    ['a Uint16Array', new Uint16Array(2)],
    ['a DataView', new DataView(new ArrayBuffer(2))],
    ['a plain object', { 0: 1, length: 1 }],
  ])('rejects %s', (_name, value) => {
    expect(isState(value)).toBe(false);
  });
});
