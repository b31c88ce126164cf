import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { ANCESTRY_FLOOR_ID, NO_ANCESTRY } from '../../src/core/ancestry.js';
import type { Age } from '../../src/core/age.js';
import { type Ballot, ZERO_BALLOT } from '../../src/core/ballot.js';
import { InvalidArgumentError } from '../../src/errors.js';
import type { StoreMeta } from '../../src/acceptor/acceptor-store.js';
import type { KeyRecord } from '../../src/core/acceptor-rules.js';
import {
  CorruptRecordError,
  RECORD_FORMAT_VERSION,
  crc32,
  decodeKey,
  decodeMeta,
  decodeRecord,
  encodeKey,
  encodeMeta,
  encodeRecord,
} from '../../src/lmdb/record-codec.js';

// --- Exact comparison: tells `null` from an empty state and `undefined` from `[]` -----------------

function sameBallot(a: Ballot, b: Ballot): boolean {
  return a.counter === b.counter && a.id === b.id;
}

function sameBallots(a: readonly Ballot[] | undefined, b: readonly Ballot[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((x, i) => sameBallot(x, b[i] as Ballot));
}

function sameRecord(a: KeyRecord, b: KeyRecord): boolean {
  if (!sameBallot(a.promise, b.promise) || !sameBallot(a.accepted, b.accepted)) return false;
  if (a.state === null || b.state === null) {
    if (a.state !== b.state) return false;
  } else if (!(b.state instanceof Uint8Array) || a.state.length !== b.state.length || a.state.some((x, i) => x !== b.state?.[i])) {
    return false;
  }
  return sameBallots(a.ancestry, b.ancestry);
}

function sameMeta(a: StoreMeta, b: StoreMeta): boolean {
  return sameBallot(a.floor, b.floor) && a.ages.length === b.ages.length && a.ages.every((x, i) => x.counter === b.ages[i]?.counter && x.id === b.ages[i]?.id);
}

// --- Arbitraries ----------------------------------------------------------------------------------

/** Any UTF-16 string: ASCII, any code point, and lone surrogates (which UTF-8 cannot carry). */
const anyString = (constraints: { minLength?: number; maxLength?: number } = {}): fc.Arbitrary<string> =>
  fc.string({
    ...constraints,
    unit: fc.oneof(
      fc.constantFrom('a', 'p', '1', '…', '\uFEFF', '\uD800', '\uDFFF', 'é', '\u0000'),
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    ),
  });

const counter = fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));

const ballot: fc.Arbitrary<Ballot> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(ZERO_BALLOT) },
  { weight: 6, arbitrary: fc.record({ counter, id: anyString({ minLength: 1, maxLength: 6 }) }) },
);

const record: fc.Arbitrary<KeyRecord> = fc.record({
  promise: ballot,
  accepted: ballot,
  state: fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 300 })),
  ancestry: fc.oneof(fc.constant(undefined), fc.constant(NO_ANCESTRY), fc.array(ballot, { maxLength: 5 })),
});

const age: fc.Arbitrary<Age> = fc.record({ counter: fc.oneof(fc.nat(5), counter), id: anyString({ minLength: 1, maxLength: 6 }) });
const meta: fc.Arbitrary<StoreMeta> = fc.record({ floor: ballot, ages: fc.array(age, { maxLength: 6 }) });

const r1: KeyRecord = { promise: { counter: 3, id: 'p1' }, accepted: { counter: 2, id: 'p1' }, state: new Uint8Array([1, 2, 3]), ancestry: NO_ANCESTRY };

/** A copy of `bytes` with a valid checksum over its first `length - 4` bytes (to reach the structural checks). */
function resealed(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes);
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out, 0, out.length - 4));
  return out;
}

// --- Records --------------------------------------------------------------------------------------

describe('encodeRecord / decodeRecord', () => {
  test('round-trips a typical record', () => {
    const bytes = encodeRecord(r1);
    expect(bytes[0]).toBe(RECORD_FORMAT_VERSION);
    expect(sameRecord(decodeRecord(bytes), r1)).toBe(true);
  });

  test('is compact: a small record takes a few bytes beyond its state', () => {
    // header 2 + flags 1 + ballots 2 * (1 + 1 + 2) + state 1 + 3 + ancestry count 1 + crc 4
    expect(encodeRecord(r1).length).toBe(20);
  });

  test('tells a null state from an empty one', () => {
    const empty = decodeRecord(encodeRecord({ ...r1, state: new Uint8Array(0) }));
    const none = decodeRecord(encodeRecord({ ...r1, state: null }));
    expect(empty.state).toEqual(new Uint8Array(0));
    expect(none.state).toBeNull();
  });

  test('tells an unknown ancestry (undefined) from an empty one ([])', () => {
    const unknown = decodeRecord(encodeRecord({ ...r1, ancestry: undefined }));
    const empty = decodeRecord(encodeRecord({ ...r1, ancestry: [] }));
    expect(unknown.ancestry).toBeUndefined();
    expect(empty.ancestry).toEqual([]);
    expect(Object.isFrozen(empty.ancestry)).toBe(true);
  });

  test('keeps non-ASCII and ill-formed ballot ids, the ancestry floor entry, and the largest counter', () => {
    const ids = ['π', 'プロポーザー', '🦀', '\uFEFFbom', 'a\u0000b', '\uD800', 'x\uDC00', ANCESTRY_FLOOR_ID];
    for (const id of ids) {
      const b = { counter: Number.MAX_SAFE_INTEGER, id };
      const rec: KeyRecord = { promise: b, accepted: ZERO_BALLOT, state: null, ancestry: [{ counter: 7, id: ANCESTRY_FLOOR_ID }, b] };
      const back = decodeRecord(encodeRecord(rec));
      expect(back.promise).toEqual(b);
      expect(sameRecord(back, rec)).toBe(true);
    }
  });

  test('the decoded state shares no memory with the input bytes, also for a Node Buffer', () => {
    const bytes = Buffer.from(encodeRecord(r1));
    const back = decodeRecord(bytes);
    expect(back.state?.buffer).not.toBe(bytes.buffer);
    expect(back.state?.constructor).toBe(Uint8Array);
    bytes.fill(0);
    expect(back.state).toEqual(new Uint8Array([1, 2, 3]));
  });

  test('decodes from a view at an offset into a larger buffer', () => {
    const bytes = encodeRecord(r1);
    const big = new Uint8Array(bytes.length + 10);
    big.set(bytes, 7);
    expect(sameRecord(decodeRecord(big.subarray(7, 7 + bytes.length)), r1)).toBe(true);
  });

  test.prop([record])('round-trips every record exactly, and encoding is deterministic', (rec) => {
    const bytes = encodeRecord(rec);
    const back = decodeRecord(bytes);
    expect(sameRecord(back, rec)).toBe(true);
    expect(encodeRecord(back)).toEqual(bytes);
  });

  test('negative control: the exact comparison tells apart what a lossy codec would merge', () => {
    expect(sameRecord({ ...r1, ancestry: [] }, { ...r1, ancestry: undefined })).toBe(false);
    expect(sameRecord({ ...r1, state: null }, { ...r1, state: new Uint8Array(0) })).toBe(false);
    expect(sameRecord({ ...r1, state: new Uint8Array([1, 2, 4]) }, r1)).toBe(false);
    // Plain UTF-8 turns a lone surrogate into U+FFFD.
    const viaUtf8 = (s: string): string => new TextDecoder().decode(new TextEncoder().encode(s));
    expect(sameRecord({ ...r1, promise: { counter: 3, id: viaUtf8('\uD800') } }, { ...r1, promise: { counter: 3, id: '\uD800' } })).toBe(false);
    expect(sameRecord(r1, { ...r1, ancestry: [ZERO_BALLOT] })).toBe(false);
  });

  test('rejects malformed input to encode with InvalidArgumentError', () => {
    const bad: unknown[] = [
      { ...r1, promise: { counter: -1, id: 'p' } },
      { ...r1, promise: { counter: 1.5, id: 'p' } },
      { ...r1, accepted: { counter: 0, id: 'p' } },
      { ...r1, accepted: { counter: 2 ** 53, id: 'p' } },
      { ...r1, state: 'bytes' },
      { ...r1, ancestry: [{ counter: 1, id: '' }] },
      { ...r1, ancestry: 'none' },
    ];
    for (const rec of bad) expect(() => encodeRecord(rec as KeyRecord)).toThrow(InvalidArgumentError);
  });
});

describe('decodeRecord rejects corrupt input', () => {
  test.prop([record, fc.nat(), fc.integer({ min: 0, max: 7 })])('any flipped bit', (rec, at, bit) => {
    const bytes = encodeRecord(rec);
    bytes[at % bytes.length] = (bytes[at % bytes.length] as number) ^ (1 << bit);
    expect(() => decodeRecord(bytes)).toThrow(CorruptRecordError);
  });

  test.prop([record, fc.nat()])('any truncation', (rec, cut) => {
    const bytes = encodeRecord(rec);
    expect(() => decodeRecord(bytes.subarray(0, cut % bytes.length))).toThrow(CorruptRecordError);
  });

  test.prop([record, fc.uint8Array({ minLength: 1, maxLength: 8 })])('any trailing bytes, even with a valid checksum', (rec, extra) => {
    const bytes = encodeRecord(rec);
    const longer = new Uint8Array(bytes.length + extra.length);
    longer.set(bytes.subarray(0, bytes.length - 4));
    longer.set(extra, bytes.length - 4);
    expect(() => decodeRecord(resealed(longer))).toThrow(/trailing bytes/);
  });

  test('structural errors behind a valid checksum say what is wrong', () => {
    const good = encodeRecord(r1);
    const withByte = (i: number, v: number): Uint8Array => {
      const b = new Uint8Array(good);
      b[i] = v;
      return resealed(b);
    };
    expect(() => decodeRecord(withByte(0, 9))).toThrow(/unknown format version 9/);
    expect(() => decodeRecord(withByte(1, 2))).toThrow(/kind 2, expected 1/);
    expect(() => decodeRecord(withByte(2, 0x80))).toThrow(/unknown flags/);
    // promise counter 0 with id 'p1' is not a ballot
    expect(() => decodeRecord(withByte(3, 0))).toThrow(/malformed ballot/);
    // a non-shortest varint: counter 3 written as 0x83 0x00
    const overlong = new Uint8Array([1, 1, 0, 0x83, 0x00, 4, 0x70, 0x31, 0, 0, 0, 0, 0, 0]);
    expect(() => decodeRecord(resealed(overlong))).toThrow(/shortest form/);
    // a string that is not UTF-8
    const badUtf8 = new Uint8Array([1, 1, 0, 3, 2, 0xff, 0, 0, 0, 0, 0, 0]);
    expect(() => decodeRecord(resealed(badUtf8))).toThrow(/invalid UTF-8/);
    // an ancestry count far beyond the bytes left is refused before anything is allocated
    const hugeCount = new Uint8Array([1, 1, 2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0]);
    expect(() => decodeRecord(resealed(hugeCount))).toThrow(/exceeds the bytes left/);
    expect(() => decodeRecord(new Uint8Array(3))).toThrow(/truncated/);
    expect(() => decodeRecord('x' as unknown as Uint8Array)).toThrow(CorruptRecordError);
  });

  test('a meta value is not a record, and a record is not meta', () => {
    expect(() => decodeRecord(encodeMeta({ floor: ZERO_BALLOT, ages: [] }))).toThrow(/kind 2, expected 1/);
    expect(() => decodeMeta(encodeRecord(r1))).toThrow(/kind 1, expected 2/);
  });

  test('CorruptRecordError is an InvalidArgumentError with a stable code', () => {
    let caught: unknown;
    try {
      decodeRecord(new Uint8Array(10));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CorruptRecordError);
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect((caught as CorruptRecordError).code).toBe('ERR_INVALID_ARGUMENT');
    expect((caught as CorruptRecordError).name).toBe('CorruptRecordError');
  });
});

// --- Meta -----------------------------------------------------------------------------------------

describe('encodeMeta / decodeMeta', () => {
  test('round-trips the empty meta and a typical one', () => {
    const empty = { floor: ZERO_BALLOT, ages: [] };
    expect(sameMeta(decodeMeta(encodeMeta(empty)), empty)).toBe(true);
    const m = { floor: { counter: 9, id: 'プ' }, ages: [{ counter: 0, id: 'p1' }, { counter: 4, id: '\uDBFF' }] };
    expect(sameMeta(decodeMeta(encodeMeta(m)), m)).toBe(true);
  });

  test.prop([meta])('round-trips every meta exactly', (m) => {
    const bytes = encodeMeta(m);
    expect(sameMeta(decodeMeta(bytes), m)).toBe(true);
    expect(encodeMeta(decodeMeta(bytes))).toEqual(bytes);
  });

  test.prop([meta, fc.nat(), fc.integer({ min: 0, max: 7 })])('rejects any flipped bit', (m, at, bit) => {
    const bytes = encodeMeta(m);
    bytes[at % bytes.length] = (bytes[at % bytes.length] as number) ^ (1 << bit);
    expect(() => decodeMeta(bytes)).toThrow(CorruptRecordError);
  });

  test('rejects an age with an empty id, in both directions', () => {
    expect(() => encodeMeta({ floor: ZERO_BALLOT, ages: [{ counter: 1, id: '' }] })).toThrow(InvalidArgumentError);
    // floor ø (0, ''), one age: counter 1, id ''
    expect(() => decodeMeta(resealed(new Uint8Array([1, 2, 0, 0, 1, 1, 0, 0, 0, 0, 0])))).toThrow(/age 0 has an empty id/);
  });
});

// --- Keys -----------------------------------------------------------------------------------------

describe('encodeKey / decodeKey', () => {
  test('the empty key encodes to one byte, a well-formed key to 1 + its UTF-8 length', () => {
    expect(encodeKey('')).toEqual(new Uint8Array([1]));
    expect(encodeKey('é')).toEqual(new Uint8Array([1, 0xc3, 0xa9]));
    expect(decodeKey(encodeKey(''))).toBe('');
  });

  test('a key with a lone surrogate round-trips in UTF-16 form', () => {
    expect(encodeKey('a\uD800')).toEqual(new Uint8Array([2, 0, 0x61, 0xd8, 0x00]));
    expect(decodeKey(encodeKey('a\uD800'))).toBe('a\uD800');
  });

  test.prop([anyString({ maxLength: 12 })])('round-trips every string', (key) => {
    expect(decodeKey(encodeKey(key))).toBe(key);
  });

  test.prop([anyString({ maxLength: 6 }), anyString({ maxLength: 6 })])('distinct keys get distinct bytes', (a, b) => {
    fc.pre(a !== b);
    expect(encodeKey(a)).not.toEqual(encodeKey(b));
  });

  test('negative control: plain UTF-8 would merge two distinct keys', () => {
    const enc = new TextEncoder();
    expect(enc.encode('\uD800')).toEqual(enc.encode('\uDBFF'));
    expect(encodeKey('\uD800')).not.toEqual(encodeKey('\uDBFF'));
  });

  test('rejects bytes that are no key', () => {
    expect(() => decodeKey(new Uint8Array(0))).toThrow(/empty/);
    expect(() => decodeKey(new Uint8Array([3, 0x61]))).toThrow(/unknown form 3/);
    expect(() => decodeKey(new Uint8Array([1, 0xff]))).toThrow(/invalid UTF-8/);
    expect(() => decodeKey(new Uint8Array([2, 0, 0x61, 0]))).toThrow(/odd UTF-16 length/);
    expect(() => decodeKey(new Uint8Array([2, 0, 0x61]))).toThrow(/well-formed key in UTF-16 form/);
    expect(() => encodeKey(3 as unknown as string)).toThrow(InvalidArgumentError);
  });
});

describe('crc32', () => {
  test('matches the standard check value', () => {
    // The CRC-32/ISO-HDLC check value of the ASCII string "123456789".
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});
