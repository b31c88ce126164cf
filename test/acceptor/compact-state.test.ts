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

  test.prop([fc.uint8Array({ maxLength: 40 })])('round-trips any small state', (bytes) => {
    expect(fromCompactState(toCompactState(bytes))).toEqual(bytes);
  });
});
