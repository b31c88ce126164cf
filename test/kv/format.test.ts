/**
 * Codecs and the register format of the key-value store: round trips, and every kind of foreign or
 * corrupt state refused with a `StateFormatError` instead of being misread.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { InvalidArgumentError, StateFormatError } from '../../src/errors.js';
import { bytesCodec, formatVersion, jsonCodec, parseVersion, textCodec, versionParts } from '../../src/kv/index.js';
import {
  FORMAT_BYTE,
  FORMAT_VERSION,
  MAX_SEQUENCE,
  composeVersion,
  encodeCreationMarker,
  encodeEpochCounter,
  encodeValueRecord,
  parseEpochCounter,
  parseState,
} from '../../src/kv/record-format.js';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe('codecs', () => {
  test('json round-trips JSON values and refuses values without JSON text', () => {
    const codec = jsonCodec<unknown>();
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(codec.decode(codec.encode(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
    expect(() => codec.encode(undefined)).toThrow(TypeError);
    expect(() => codec.encode(() => 1)).toThrow(TypeError);
    expect(() => codec.encode(1n)).toThrow(TypeError);
    expect(() => codec.decode(bytes(0xff, 0xfe))).toThrow(TypeError); // invalid UTF-8 is an error, not U+FFFD
    expect(() => codec.decode(new TextEncoder().encode('{'))).toThrow(SyntaxError);
  });

  test('text round-trips well-formed strings and refuses lone surrogates and non-strings', () => {
    const codec = textCodec();
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (text) => {
      expect(codec.decode(codec.encode(text))).toBe(text);
    }));
    expect(() => codec.encode('a\uD800b')).toThrow(/lone surrogate/);
    expect(() => codec.encode('\uDC00')).toThrow(/lone surrogate/);
    expect(() => codec.encode(42 as unknown as string)).toThrow(TypeError);
  });

  test('bytes copies both ways', () => {
    const codec = bytesCodec();
    const input = bytes(1, 2, 3);
    const encoded = codec.encode(input);
    input[0] = 9;
    expect(encoded).toEqual(bytes(1, 2, 3));
    const decoded = codec.decode(encoded);
    encoded[1] = 9;
    expect(decoded).toEqual(bytes(1, 2, 3));
    expect(() => codec.encode('abc' as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('versions', () => {
  test('epoch and sequence order a version: every epoch is above every version of a smaller epoch', () => {
    expect(composeVersion(1n, 1)).toBe(2n ** 32n + 1n);
    expect(composeVersion(1n, MAX_SEQUENCE) < composeVersion(2n, 1)).toBe(true);
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }), fc.integer({ min: 1, max: MAX_SEQUENCE }), (epoch, sequence) => {
        const version = composeVersion(epoch, sequence);
        expect(versionParts(version)).toEqual({ epoch, sequence });
        expect(parseVersion(formatVersion(version))).toBe(version);
      }),
    );
  });

  test('parseVersion refuses anything but a plain decimal', () => {
    for (const text of ['', '-1', '01', '1.5', ' 1', '1e3', '0x10', 'abc', '9'.repeat(41)]) {
      expect(() => parseVersion(text), text).toThrow(InvalidArgumentError);
    }
    expect(parseVersion('0')).toBe(0n);
    expect(() => formatVersion(-1n)).toThrow(InvalidArgumentError);
    expect(() => formatVersion(1 as unknown as bigint)).toThrow(InvalidArgumentError);
  });
});

describe('register format', () => {
  test('a value record round-trips', () => {
    const state = encodeValueRecord(7n, 3, 0xdead_beef_0000_0001n, bytes(1, 2));
    expect(state.slice(0, 3)).toEqual(bytes(FORMAT_BYTE, FORMAT_VERSION, 1));
    expect(parseState('k', state)).toEqual({ kind: 'value', epoch: 7n, sequence: 3, writer: 0xdead_beef_0000_0001n, payload: bytes(1, 2) });
    expect(parseState('k', null)).toEqual({ kind: 'absent' });
    expect(parseState('k', encodeCreationMarker(5n))).toEqual({ kind: 'creating', token: 5n });
    expect(parseEpochCounter('e', null)).toBe(0n);
    expect(parseEpochCounter('e', encodeEpochCounter(41n))).toBe(41n);
  });

  const value = encodeValueRecord(1n, 1, 1n, bytes());
  const corrupt: Array<[string, Uint8Array, RegExp]> = [
    ['empty bytes', bytes(), /shorter than the 3-byte header/],
    ['foreign bytes', new TextEncoder().encode('{"a":1}'), /format byte 0x7b is not 0xca/],
    ['a newer format version', bytes(FORMAT_BYTE, FORMAT_VERSION + 1, 1), /format version 2 is not 1/],
    ['an unknown kind', bytes(FORMAT_BYTE, FORMAT_VERSION, 9), /unknown record kind 9/],
    ['a truncated value record', value.slice(0, 20), /needs 23 bytes, got 20/],
    ['epoch 0', encodeValueRecord(0n, 1, 1n, bytes()), /epoch 0/],
    ['sequence 0', encodeValueRecord(1n, 0, 1n, bytes()), /sequence 0/],
    ['a marker of the wrong length', Uint8Array.from([...encodeCreationMarker(1n), 0]), /creation marker has 11 bytes, got 12/],
    ['an epoch counter under a user key', encodeEpochCounter(3n), /epoch counter/],
  ];
  test.each(corrupt)('%s is refused with StateFormatError naming the key', (_name, state, reason) => {
    let error: unknown;
    try {
      parseState('the-key', state);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StateFormatError);
    expect((error as StateFormatError).code).toBe('ERR_STATE_FORMAT');
    expect((error as StateFormatError).key).toBe('the-key');
    expect((error as StateFormatError).retryable).toBe(false);
    expect((error as Error).message).toMatch(reason);
  });

  test('the epoch key refuses anything but an epoch counter', () => {
    expect(() => parseEpochCounter('e', value)).toThrow(/not an epoch counter/);
    expect(() => parseEpochCounter('e', bytes(1, 2, 3))).toThrow(StateFormatError);
    expect(() => parseEpochCounter('e', encodeEpochCounter(1n).slice(0, 10))).toThrow(/epoch counter has 11 bytes/);
  });
});
