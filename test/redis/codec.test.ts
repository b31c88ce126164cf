/**
 * The byte encodings RedisAcceptor relies on (no Redis needed): WTF-8 is injective on every JS
 * string and is UTF-8 on well-formed ones; UTF-16BE ids compare byte-wise exactly as JS compares
 * the strings (with a negative control: UTF-8 does not); ancestries and counters round-trip.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NO_ANCESTRY } from '../../src/core/ancestry.js';
import { ZERO_BALLOT } from '../../src/index.js';
import { decodeAncestry, decodeBallot, decodeCounter, decodeId, decodeWtf8, encodeAncestry, encodeId, encodeWtf8 } from '../../src/redis/codec.js';
import { controlParameters, parameters } from '../support/property-harness.js';

/** Any code unit, lone surrogates included, and now and then a valid surrogate pair. */
const anyString = fc
  .array(fc.oneof(fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), fc.constantFrom('\u{10000}', '\u{1f600}', '\u{10ffff}', 'a', 'é')), { maxLength: 12 })
  .map((parts) => parts.join(''));

/** memcmp order, as Lua's byte loop and Redis's lexicographic sorted sets compare. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

/** No lone surrogates (String.prototype.isWellFormed is ES2024, beyond this project's lib). */
const wellFormed = (s: string): boolean => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
const sign = (x: number): number => (x < 0 ? -1 : x > 0 ? 1 : 0);
const jsOrder = (a: string, b: string): number => (a === b ? 0 : a < b ? -1 : 1);

describe('RedisAcceptor encodings', () => {
  it('WTF-8 round-trips every string, and is UTF-8 on well-formed ones', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        expect(decodeWtf8(encodeWtf8(s))).toBe(s);
        if (wellFormed(s)) expect(encodeWtf8(s)).toEqual(new TextEncoder().encode(s));
      }),
      parameters(2000),
    );
    // The case TextEncoder gets wrong: two lone surrogates, one U+FFFD.
    expect(encodeWtf8('\ud800')).not.toEqual(encodeWtf8('\udc00'));
    expect(encodeWtf8('\ud800\udc00')).toEqual(new TextEncoder().encode('\u{10000}'));
  });

  it('WTF-8 decoding refuses bytes the encoder never writes', () => {
    for (const bad of [[0x80], [0xc3], [0xe0, 0x80], [0xf8, 0x80, 0x80, 0x80, 0x80], [0xf0, 0x80, 0x80, 0x80]]) {
      expect(() => decodeWtf8(Uint8Array.from(bad)), JSON.stringify(bad)).toThrow(RangeError);
    }
  });

  it('UTF-16BE ids round-trip and compare byte-wise as JS compares the strings', () => {
    fc.assert(
      fc.property(anyString, anyString, (a, b) => {
        expect(decodeId(encodeId(a))).toBe(a);
        expect(sign(compareBytes(encodeId(a), encodeId(b)))).toBe(jsOrder(a, b));
      }),
      parameters(5000),
    );
  });

  it('negative control: UTF-8 bytes do not compare as JS compares strings', () => {
    const result = fc.check(
      fc.property(anyString, anyString, (a, b) => sign(compareBytes(new TextEncoder().encode(a), new TextEncoder().encode(b))) === jsOrder(a, b)),
      controlParameters(5000),
    );
    expect(result.failed).toBe(true);
  });

  it('ancestries round-trip; the empty one is zero bytes and comes back as NO_ANCESTRY', () => {
    expect(encodeAncestry([])).toHaveLength(0);
    expect(decodeAncestry(new Uint8Array(0))).toBe(NO_ANCESTRY);
    fc.assert(
      fc.property(fc.array(fc.record({ counter: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), id: anyString.filter((s) => s !== '') }), { maxLength: 33 }), (ancestry) => {
        const back = decodeAncestry(encodeAncestry(ancestry));
        expect(back).toEqual(ancestry);
        expect(Object.isFrozen(back)).toBe(true);
      }),
      parameters(500),
    );
    expect(() => decodeAncestry(new TextEncoder().encode('[[0,"p1"]]'))).toThrow(RangeError);
  });

  it('counters are canonical decimal safe integers', () => {
    expect(decodeCounter(new TextEncoder().encode(String(Number.MAX_SAFE_INTEGER)))).toBe(Number.MAX_SAFE_INTEGER);
    for (const bad of ['', '01', '1e3', '-1', '9007199254740993', '1.5', ' 1']) {
      expect(() => decodeCounter(new TextEncoder().encode(bad)), bad).toThrow(RangeError);
    }
    expect(decodeBallot(new TextEncoder().encode('0'), new Uint8Array(0))).toBe(ZERO_BALLOT);
    expect(() => decodeBallot(new TextEncoder().encode('0'), encodeId('p1'))).toThrow(RangeError);
  });
});
