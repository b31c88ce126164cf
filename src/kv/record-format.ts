/**
 * The bytes a key-value store keeps in a register, and its versions.
 *
 * Every state the store writes starts with a three-byte header, so that a state written by anything
 * else (another library sharing the cluster, a newer format, a truncated copy) is refused with a
 * `StateFormatError` instead of being misread:
 *
 *     byte 0     0xCA               format byte ("caspaxos key-value")
 *     byte 1     0x01               format version
 *     byte 2     kind               1 value, 2 creation marker, 3 epoch counter
 *
 * followed by, big-endian:
 *  - value (23 bytes + payload): epoch (u64, >= 1), sequence (u32, >= 1), writer (u64: a random
 *    number chosen per operation, so a caller can tell its own write from an equal one), then the
 *    codec's payload. The store writes the counter of the ballot of the round that wrote the value
 *    as its epoch, and 1 + the write's step in that round as its sequence (`key-value-store.ts`,
 *    "Versions"); the previous release wrote an epoch from a counter register;
 *  - creation marker (11 bytes): token (u64). Only the previous release wrote them (a creation in
 *    progress); it reads as absent;
 *  - epoch counter (11 bytes): the counter (u64), only under the reserved epoch key; the previous
 *    release's, read once to upgrade.
 * The empty state (`null`) reads as absent: a deleted key (a tombstone) or one never written.
 *
 * A version is `epoch * 2^32 + sequence` as a `bigint`: ordering versions as numbers orders them by
 * epoch, then sequence. `formatVersion` / `parseVersion` render it as a decimal string for JSON.
 */
import type { State } from '../core/messages.js';
import { InvalidArgumentError, StateFormatError } from '../errors.js';

export const FORMAT_BYTE = 0xca;
export const FORMAT_VERSION = 1;

const KIND_VALUE = 1;
const KIND_CREATING = 2;
const KIND_EPOCH = 3;

const HEADER_BYTES = 3;
const VALUE_HEADER_BYTES = HEADER_BYTES + 8 + 4 + 8;
const MARKER_BYTES = HEADER_BYTES + 8;

/** Bits of a version below its epoch. */
const SEQUENCE_BITS = 32n;
/** The highest sequence number: a round may write at most this many changes of one key. */
export const MAX_SEQUENCE = 2 ** 32 - 1;

/** A value record as stored: its version's two parts, its writer, and the codec's payload. */
export interface ValueRecord {
  readonly kind: 'value';
  readonly epoch: bigint;
  readonly sequence: number;
  readonly writer: bigint;
  readonly payload: Uint8Array;
}

/** A creation marker: the key is being created (it reads as absent). */
export interface CreationMarker {
  readonly kind: 'creating';
  readonly token: bigint;
}

/** What a key's register holds, as the store reads it. */
export type RegisterContent = { readonly kind: 'absent' } | CreationMarker | ValueRecord;

const ABSENT: RegisterContent = Object.freeze({ kind: 'absent' });

/** The version of a value record: `epoch * 2^32 + sequence`. */
export function composeVersion(epoch: bigint, sequence: number): bigint {
  return (epoch << SEQUENCE_BITS) + BigInt(sequence);
}

/** The epoch and sequence of a version (for debugging and display). */
export function versionParts(version: bigint): {
  /**
   * The ballot counter of the round that wrote the value (the previous release: an epoch, taken
   * once per creation of a key from a cluster-wide counter).
   */
  readonly epoch: bigint;
  /** 1 + the write's step in its round (the previous release: the count of writes in the epoch). */
  readonly sequence: number;
} {
  if (typeof version !== 'bigint' || version < 0n) throw new InvalidArgumentError(`a version is a non-negative bigint, got ${String(version)}`);
  return { epoch: version >> SEQUENCE_BITS, sequence: Number(version & ((1n << SEQUENCE_BITS) - 1n)) };
}

/** A version as a decimal string, for JSON (a `bigint` has no JSON form). */
export function formatVersion(version: bigint): string {
  if (typeof version !== 'bigint' || version < 0n) throw new InvalidArgumentError(`a version is a non-negative bigint, got ${String(version)}`);
  return version.toString(10);
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** The version a decimal string names (as `formatVersion` writes it); `InvalidArgumentError` otherwise. */
export function parseVersion(text: string): bigint {
  if (typeof text !== 'string' || !DECIMAL.test(text) || text.length > 40) {
    throw new InvalidArgumentError(`a version is a decimal string without sign or leading zeros, got ${JSON.stringify(text)}`);
  }
  return BigInt(text);
}

/** Reads the state of a user key. Throws `StateFormatError` for anything the store did not write. */
export function parseState(key: string, state: State): RegisterContent {
  if (state === null) return ABSENT;
  const view = header(key, state);
  const kind = state[2];
  if (kind === KIND_VALUE) {
    if (state.length < VALUE_HEADER_BYTES) throw new StateFormatError(key, `a value record needs ${VALUE_HEADER_BYTES} bytes, got ${state.length}`);
    const epoch = view.getBigUint64(3);
    const sequence = view.getUint32(11);
    if (epoch < 1n) throw new StateFormatError(key, 'a value record has epoch 0');
    if (sequence < 1) throw new StateFormatError(key, 'a value record has sequence 0');
    return { kind: 'value', epoch, sequence, writer: view.getBigUint64(15), payload: state.subarray(VALUE_HEADER_BYTES) };
  }
  if (kind === KIND_CREATING) {
    if (state.length !== MARKER_BYTES) throw new StateFormatError(key, `a creation marker has ${MARKER_BYTES} bytes, got ${state.length}`);
    return { kind: 'creating', token: view.getBigUint64(3) };
  }
  if (kind === KIND_EPOCH) throw new StateFormatError(key, 'it holds an epoch counter (is it the reserved epoch key of another store?)');
  throw new StateFormatError(key, `unknown record kind ${String(kind)}`);
}

/** Reads the epoch counter under the reserved key; `0n` when it was never written. */
export function parseEpochCounter(key: string, state: State): bigint {
  if (state === null) return 0n;
  const view = header(key, state);
  if (state[2] !== KIND_EPOCH) throw new StateFormatError(key, `the reserved epoch key holds a record of kind ${String(state[2])}, not an epoch counter`);
  if (state.length !== MARKER_BYTES) throw new StateFormatError(key, `an epoch counter has ${MARKER_BYTES} bytes, got ${state.length}`);
  return view.getBigUint64(3);
}

export function encodeValueRecord(epoch: bigint, sequence: number, writer: bigint, payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(VALUE_HEADER_BYTES + payload.length);
  const view = writeHeader(bytes, KIND_VALUE);
  view.setBigUint64(3, epoch);
  view.setUint32(11, sequence);
  view.setBigUint64(15, writer);
  bytes.set(payload, VALUE_HEADER_BYTES);
  return bytes;
}

export function encodeCreationMarker(token: bigint): Uint8Array {
  const bytes = new Uint8Array(MARKER_BYTES);
  writeHeader(bytes, KIND_CREATING).setBigUint64(3, token);
  return bytes;
}

export function encodeEpochCounter(counter: bigint): Uint8Array {
  const bytes = new Uint8Array(MARKER_BYTES);
  writeHeader(bytes, KIND_EPOCH).setBigUint64(3, counter);
  return bytes;
}

function header(key: string, state: Uint8Array): DataView {
  if (state.length < HEADER_BYTES) throw new StateFormatError(key, `${state.length} byte(s), shorter than the ${HEADER_BYTES}-byte header`);
  if (state[0] !== FORMAT_BYTE) throw new StateFormatError(key, `format byte 0x${hex(state[0])} is not 0x${hex(FORMAT_BYTE)}: not written by a key-value store`);
  if (state[1] !== FORMAT_VERSION) throw new StateFormatError(key, `format version ${String(state[1])} is not ${FORMAT_VERSION} (written by a newer release?)`);
  return new DataView(state.buffer, state.byteOffset, state.byteLength);
}

function writeHeader(bytes: Uint8Array, kind: number): DataView {
  bytes[0] = FORMAT_BYTE;
  bytes[1] = FORMAT_VERSION;
  bytes[2] = kind;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function hex(byte: number | undefined): string {
  return (byte ?? 0).toString(16).padStart(2, '0');
}
