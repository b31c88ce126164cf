import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { fromCompactState, toCompactState } from '../../src/acceptor/compact-state.js';

describe('stored states', () => {
  it('round-trips every length up to past the string limit, every byte value', () => {
    for (let n = 0; n <= 1030; n++) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 37 + n) & 0xff);
      const stored = toCompactState(bytes);
      expect(typeof stored).toBe(n <= 1024 ? 'string' : 'object');
      expect(fromCompactState(stored)).toEqual(bytes);
    }
    const all = new Uint8Array(256).map((_, i) => i);
    expect(fromCompactState(toCompactState(all))).toEqual(all);
    expect(toCompactState(null)).toBeNull();
    expect(fromCompactState(null)).toBeNull();
  });

  it('keeps a copy: later writes to the input or the output do not reach it', () => {
    for (const n of [16, 2000]) {
      const input = new Uint8Array(n).fill(7);
      const stored = toCompactState(input);
      input.fill(9);
      const out = fromCompactState(stored);
      out?.fill(1);
      expect(fromCompactState(stored)).toEqual(new Uint8Array(n).fill(7));
    }
  });

  test('given the kept state it replaces, shares it when the bytes are the same, else copies', () => {
    for (const n of [0, 3, 16, 2000]) {
      const bytes = new Uint8Array(n).map((_, i) => i & 0xff);
      const kept = toCompactState(bytes);
      expect(toCompactState(new Uint8Array(bytes), kept)).toBe(kept);
      if (n === 0) continue;
      const other = new Uint8Array(bytes);
      other[n - 1] = (other[n - 1] ?? 0) ^ 1;
      const copy = toCompactState(other, kept);
      expect(fromCompactState(copy)).toEqual(other);
      expect(fromCompactState(kept)).toEqual(bytes);
    }
    // A kept state of another length, or none, is never shared.
    expect(fromCompactState(toCompactState(Uint8Array.of(1, 2), toCompactState(Uint8Array.of(1))))).toEqual(Uint8Array.of(1, 2));
    expect(toCompactState(null, toCompactState(Uint8Array.of(1)))).toBeNull();
  });

  test('a shared large state is the very same object (strings compare by value, arrays by identity)', () => {
    const kept = toCompactState(new Uint8Array(2000).fill(3));
    expect(toCompactState(new Uint8Array(2000).fill(3), kept)).toBe(kept);
    expect(toCompactState(new Uint8Array(2000).fill(4), kept)).not.toBe(kept);
  });

  test.prop([fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 })])('a copy made against any kept state holds the bytes given', (bytes, previous) => {
    expect(fromCompactState(toCompactState(bytes, toCompactState(previous)))).toEqual(bytes);
  });

  test.prop([fc.uint8Array({ maxLength: 40 })])('round-trips any small state', (bytes) => {
    expect(fromCompactState(toCompactState(bytes))).toEqual(bytes);
  });
});
