/**
 * A compact, versioned binary encoding of what an `AcceptorStore` keeps: a `KeyRecord`, the
 * `StoreMeta` (tombstone floor and age table) and record keys. For stores that hold bytes (an
 * embedded database, a file, a remote key-value service).
 *
 * Records and meta values:
 *
 *     byte 0      format version (1)
 *     byte 1      kind: 1 record, 2 meta
 *     ...         the body (below)
 *     last 4      CRC-32 (IEEE) of every byte before it, big-endian
 *
 *     record body: flags (bit 0: state present, bit 1: ancestry known), promise, accepted,
 *                  [state: varint length, bytes], [ancestry: varint count, ballots]
 *     meta body:   floor, varint count, then per age: varint counter, string id
 *     ballot:      varint counter, string id
 *     varint:      unsigned LEB128, at most 2^53 - 1, shortest form only
 *     string:      varint (byteLength * 2 + form), then the bytes; form 0 is UTF-8, form 1 is
 *                  UTF-16 code units, big-endian, used only for strings that are not well-formed
 *                  UTF-16 (a lone surrogate), which UTF-8 cannot carry
 *
 * Every field round-trips exactly: `state: null` and an empty state differ (flag bit 0), and so do
 * `ancestry: undefined` (unknown: recovery must not read "no other writer" into it, see
 * `Promised.ancestry`) and `[]` (a claim: one writer). Decoding is strict: a wrong version or
 * kind, a checksum mismatch, a truncated field, trailing bytes, a non-shortest varint, invalid
 * UTF-8 or a malformed ballot or age throws `CorruptRecordError`. The checksum catches what the
 * structure alone cannot (a flipped bit inside a state's bytes).
 *
 * Keys are encoded separately (`encodeKey`): a form byte (1 UTF-8, 2 UTF-16 big-endian for keys
 * that are not well-formed) then the bytes, so every JS string, the empty one included, maps to a
 * distinct non-empty byte string.
 *
 * Bytes are `Uint8Array`s, not `Buffer`s, so a store of any kind (and a browser tool reading a
 * dump) can use the codec.
 */
import type { Age } from '../core/age.js';
import { isAge } from '../core/age.js';
import type { Ballot } from '../core/ballot.js';
import { isBallot } from '../core/ballot.js';
import { InvalidArgumentError } from '../errors.js';
import { assertBallot } from '../internal/validate.js';
import type { StoreMeta } from '../acceptor/acceptor-store.js';
import type { KeyRecord } from '../core/acceptor-rules.js';

/** The format version this module writes and reads. */
export const RECORD_FORMAT_VERSION = 1;

const KIND_RECORD = 1;
const KIND_META = 2;
const FLAG_STATE = 1;
const FLAG_ANCESTRY = 2;
const HEADER_BYTES = 2;
const CHECKSUM_BYTES = 4;

const KEY_FORM_UTF8 = 1;
const KEY_FORM_UTF16 = 2;

/**
 * Bytes that do not decode: corrupt or truncated storage, or bytes that were never written by this
 * codec. Nothing is returned from such bytes; the message says what was wrong and where.
 */
export class CorruptRecordError extends InvalidArgumentError {
  /** What was being decoded, e.g. `record`, or `record of key "k" in /data` when a store says. */
  readonly what: string;
  /** What was wrong with it. */
  readonly reason: string;

  constructor(what: string, reason: string) {
    super(`corrupt ${what}: ${reason}`);
    this.what = what;
    this.reason = reason;
  }
}

const utf8Encoder = new TextEncoder();
// `ignoreBOM`: a leading U+FEFF is part of the string, not a byte-order mark to strip.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// ---------------------------------------------------------------------------------------------
// Public API

/** Encodes a record. Throws `InvalidArgumentError` for a malformed ballot or state. */
export function encodeRecord(record: KeyRecord): Uint8Array {
  const { promise, accepted, state, ancestry } = record;
  assertBallot(promise, 'record.promise');
  assertBallot(accepted, 'record.accepted');
  if (state !== null && !(state instanceof Uint8Array)) throw new InvalidArgumentError('record.state must be a Uint8Array or null');
  if (ancestry !== undefined) {
    if (!Array.isArray(ancestry)) throw new InvalidArgumentError('record.ancestry must be an array of ballots or undefined');
    ancestry.forEach((b, i) => assertBallot(b, `record.ancestry[${i}]`));
  }
  const w = new Writer();
  w.byte(RECORD_FORMAT_VERSION);
  w.byte(KIND_RECORD);
  w.byte((state !== null ? FLAG_STATE : 0) | (ancestry !== undefined ? FLAG_ANCESTRY : 0));
  w.ballot(promise);
  w.ballot(accepted);
  if (state !== null) {
    w.varint(state.length);
    w.bytes(state);
  }
  if (ancestry !== undefined) {
    w.varint(ancestry.length);
    for (const b of ancestry) w.ballot(b);
  }
  return w.finish();
}

/**
 * Decodes a record written by `encodeRecord`. The result shares no memory with `bytes`; its
 * ancestry, when known, is frozen. Throws `CorruptRecordError` on anything else.
 */
export function decodeRecord(bytes: Uint8Array): KeyRecord {
  const r = Reader.open(bytes, KIND_RECORD, 'record');
  const flags = r.byte();
  if ((flags & ~(FLAG_STATE | FLAG_ANCESTRY)) !== 0) r.fail(`unknown flags 0x${flags.toString(16)}`);
  const promise = r.ballot();
  const accepted = r.ballot();
  let state: Uint8Array | null = null;
  if ((flags & FLAG_STATE) !== 0) state = r.copy(r.varint());
  let ancestry: readonly Ballot[] | undefined;
  if ((flags & FLAG_ANCESTRY) !== 0) {
    const count = r.count(2); // a ballot takes at least two bytes
    const list: Ballot[] = [];
    for (let i = 0; i < count; i++) list.push(r.ballot());
    ancestry = Object.freeze(list);
  }
  r.end();
  return { promise, accepted, state, ancestry };
}

/** Encodes the store meta. Throws `InvalidArgumentError` for a malformed floor or age. */
export function encodeMeta(meta: StoreMeta): Uint8Array {
  assertBallot(meta.floor, 'meta.floor');
  if (!Array.isArray(meta.ages)) throw new InvalidArgumentError('meta.ages must be an array');
  meta.ages.forEach((a, i) => {
    if (!isAge(a)) throw new InvalidArgumentError(`meta.ages[${i}] must be { counter, id } with a non-negative integer counter and a non-empty id`);
  });
  const w = new Writer();
  w.byte(RECORD_FORMAT_VERSION);
  w.byte(KIND_META);
  w.ballot(meta.floor);
  w.varint(meta.ages.length);
  for (const a of meta.ages) {
    w.varint(a.counter);
    w.string(a.id);
  }
  return w.finish();
}

/** Decodes store meta written by `encodeMeta`. Throws `CorruptRecordError` on anything else. */
export function decodeMeta(bytes: Uint8Array): StoreMeta {
  const r = Reader.open(bytes, KIND_META, 'meta');
  const floor = r.ballot();
  const count = r.count(2);
  const ages: Age[] = [];
  for (let i = 0; i < count; i++) {
    const counter = r.varint();
    const id = r.string();
    const age = { counter, id };
    if (!isAge(age)) r.fail(`age ${i} has an empty id`);
    ages.push(age);
  }
  r.end();
  return { floor, ages };
}

/** The bytes of `key`: one form byte, then UTF-8 (or UTF-16 code units for ill-formed keys). */
export function encodeKey(key: string): Uint8Array {
  if (typeof key !== 'string') throw new InvalidArgumentError('key must be a string');
  if (isWellFormed(key)) {
    const body = utf8Encoder.encode(key);
    const out = new Uint8Array(body.length + 1);
    out[0] = KEY_FORM_UTF8;
    out.set(body, 1);
    return out;
  }
  const out = new Uint8Array(key.length * 2 + 1);
  out[0] = KEY_FORM_UTF16;
  writeUtf16(out, 1, key);
  return out;
}

/** The key `encodeKey` encoded into `bytes`. Throws `CorruptRecordError` on anything else. */
export function decodeKey(bytes: Uint8Array): string {
  const fail = (reason: string): never => {
    throw new CorruptRecordError('key', reason);
  };
  if (bytes.length === 0) fail('empty');
  const body = bytes.subarray(1);
  if (bytes[0] === KEY_FORM_UTF8) {
    try {
      return utf8Decoder.decode(body);
    } catch {
      return fail('invalid UTF-8');
    }
  }
  if (bytes[0] === KEY_FORM_UTF16) {
    if (body.length % 2 !== 0) fail('odd UTF-16 length');
    const key = readUtf16(body);
    if (isWellFormed(key)) fail('well-formed key in UTF-16 form');
    return key;
  }
  return fail(`unknown form ${bytes[0]}`);
}

// ---------------------------------------------------------------------------------------------
// Writing

class Writer {
  #buf = new Uint8Array(64);
  #view = new DataView(this.#buf.buffer);
  #pos = 0;

  #reserve(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.#reserve(1);
    this.#buf[this.#pos++] = b;
  }

  bytes(b: Uint8Array): void {
    this.#reserve(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }

  /** Unsigned LEB128. `n` is a safe non-negative integer (checked by the callers' validation). */
  varint(n: number): void {
    this.#reserve(8);
    // Arithmetic, not bit operators: those truncate to 32 bits.
    while (n >= 0x80) {
      this.#buf[this.#pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.#buf[this.#pos++] = n;
  }

  string(s: string): void {
    if (isWellFormed(s)) {
      const body = utf8Encoder.encode(s);
      this.varint(body.length * 2);
      this.bytes(body);
    } else {
      this.varint(s.length * 4 + 1); // byteLength (2 per code unit) * 2 + form 1
      this.#reserve(s.length * 2);
      writeUtf16(this.#buf, this.#pos, s);
      this.#pos += s.length * 2;
    }
  }

  ballot(b: Ballot): void {
    this.varint(b.counter);
    this.string(b.id);
  }

  /** Appends the checksum and returns the encoding, in a buffer of its exact size. */
  finish(): Uint8Array {
    this.#reserve(CHECKSUM_BYTES);
    this.#view.setUint32(this.#pos, crc32(this.#buf, 0, this.#pos));
    this.#pos += CHECKSUM_BYTES;
    return this.#buf.slice(0, this.#pos);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

class Reader {
  readonly #bytes: Uint8Array;
  readonly #end: number;
  readonly #what: string;
  #pos = HEADER_BYTES;

  private constructor(bytes: Uint8Array, end: number, what: string) {
    this.#bytes = bytes;
    this.#end = end;
    this.#what = what;
  }

  /** Checks type, length, checksum, version and kind, and positions after the header. */
  static open(bytes: Uint8Array, kind: number, what: string): Reader {
    if (!(bytes instanceof Uint8Array)) throw new CorruptRecordError(what, 'not a Uint8Array');
    if (bytes.length < HEADER_BYTES + CHECKSUM_BYTES) throw new CorruptRecordError(what, `truncated: ${bytes.length} bytes`);
    const end = bytes.length - CHECKSUM_BYTES;
    const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(end);
    const computed = crc32(bytes, 0, end);
    if (stored !== computed) {
      throw new CorruptRecordError(what, `checksum mismatch (stored ${hex(stored)}, computed ${hex(computed)}): damaged or truncated`);
    }
    if (bytes[0] !== RECORD_FORMAT_VERSION) throw new CorruptRecordError(what, `unknown format version ${bytes[0]}`);
    if (bytes[1] !== kind) throw new CorruptRecordError(what, `kind ${bytes[1]}, expected ${kind}`);
    return new Reader(bytes, end, what);
  }

  fail(reason: string): never {
    throw new CorruptRecordError(this.#what, `${reason} (at byte ${this.#pos})`);
  }

  #need(n: number): void {
    if (n > this.#end - this.#pos) this.fail(`truncated: needs ${n} more bytes, has ${this.#end - this.#pos}`);
  }

  byte(): number {
    this.#need(1);
    return this.#bytes[this.#pos++] as number;
  }

  /** Unsigned LEB128, shortest form, at most `Number.MAX_SAFE_INTEGER`. */
  varint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) this.fail('varint not in shortest form');
        if (n > Number.MAX_SAFE_INTEGER) this.fail('varint above 2^53 - 1');
        return n;
      }
      scale *= 0x80;
      if (i >= 7) this.fail('varint longer than 8 bytes');
    }
  }

  /** A count of items of at least `minBytes` each: checked against the bytes left, before any allocation. */
  count(minBytes: number): number {
    const n = this.varint();
    if (n * minBytes > this.#end - this.#pos) this.fail(`count ${n} exceeds the bytes left`);
    return n;
  }

  /** A fresh copy of the next `n` bytes. */
  copy(n: number): Uint8Array {
    this.#need(n);
    // `new Uint8Array(view)` copies, also from a Node Buffer (whose `slice` would return a view).
    const out = new Uint8Array(this.#bytes.subarray(this.#pos, this.#pos + n));
    this.#pos += n;
    return out;
  }

  string(): string {
    const header = this.varint();
    const length = Math.floor(header / 2);
    this.#need(length);
    const body = this.#bytes.subarray(this.#pos, this.#pos + length);
    this.#pos += length;
    if (header % 2 === 0) {
      try {
        return utf8Decoder.decode(body);
      } catch {
        return this.fail('invalid UTF-8 in a string');
      }
    }
    if (length % 2 !== 0) this.fail('odd UTF-16 string length');
    const s = readUtf16(body);
    if (isWellFormed(s)) this.fail('well-formed string in UTF-16 form');
    return s;
  }

  ballot(): Ballot {
    const counter = this.varint();
    const id = this.string();
    const b = { counter, id };
    if (!isBallot(b)) this.fail(`malformed ballot (counter ${counter}, id ${JSON.stringify(id)})`);
    return b;
  }

  /** Checks that every byte before the checksum was read. */
  end(): void {
    if (this.#pos !== this.#end) this.fail(`${this.#end - this.#pos} trailing bytes`);
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Strings

/** True when `s` has no lone surrogate, so UTF-8 carries it exactly. */
function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c > 0xdbff) return false; // a low surrogate with no high one before it
    const next = s.charCodeAt(i + 1); // NaN past the end
    if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
    i++;
  }
  return true;
}

function writeUtf16(out: Uint8Array, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[at + 2 * i] = c >>> 8;
    out[at + 2 * i + 1] = c & 0xff;
  }
}

function readUtf16(body: Uint8Array): string {
  let s = '';
  for (let i = 0; i + 1 < body.length; i += 2) s += String.fromCharCode(((body[i] as number) << 8) | (body[i + 1] as number));
  return s;
}

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), table-driven.

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 of `bytes[from, to)`. */
export function crc32(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let c = 0xffffffff;
  for (let i = from; i < to; i++) c = (CRC_TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
