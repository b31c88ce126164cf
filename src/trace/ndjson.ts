/**
 * A trace as NDJSON: one JSON object per line, one line per event, for `jq`, log pipelines and
 * notebooks.
 *
 * Each object starts with `seq`, `time` and `type`, then the event's fields in a fixed order.
 * Ballots are written formatted (`"3/p1"`, the zero ballot `"ø"`), ages as `"2:p1"`, states as
 * base64 (or hex) strings with `null` for the empty state, errors as `{ name, message, code? }`
 * (their causes nested, no stack traces). Bigints become decimal strings, `undefined` fields are
 * left out, and anything else is converted so that no event can make the line invalid JSON.
 */
import { encodeBase64 } from '../internal/base64.js';
import type { Age } from '../core/age.js';
import { type Ballot, formatBallot } from '../core/ballot.js';
import { formatAge } from '../core/age.js';
import { InvalidArgumentError } from '../errors.js';
import type { TracePredicate } from './filter.js';
import type { RecordedEvent } from './recorder.js';

/** Options of `renderNdjson` and `ndjsonLines`. */
export interface NdjsonOptions {
  /** Keeps only the events it returns true for. @default every event */
  readonly filter?: TracePredicate | undefined;
  /**
   * How states (`Uint8Array`) are written.
   * @default 'base64'
   */
  readonly states?: 'base64' | 'hex' | undefined;
}

/** Fields written in this order after `seq`, `time` and `type`; any others follow as they come. */
const FIELD_ORDER = [
  'operation',
  'target',
  'proposer',
  'acceptor',
  'key',
  'step',
  'outcome',
  'ballot',
  'age',
  'accepted',
  'state',
  'conflict',
  'kind',
  'required',
  'late',
  'from',
  'to',
  'decision',
  'attempt',
  'delayMs',
  'error',
] as const;

const BALLOT_FIELDS = new Set(['ballot', 'accepted', 'conflict']);
const AGE_FIELDS = new Set(['age', 'required']);

/** One JSON object per event, each followed by `\n` (the empty string for no events). */
export function renderNdjson(events: readonly RecordedEvent[], options: NdjsonOptions = {}): string {
  let out = '';
  for (const line of ndjsonLines(events, options)) out += `${line}\n`;
  return out;
}

/** The lines of `renderNdjson`, without their newlines. */
export function ndjsonLines(events: readonly RecordedEvent[], options: NdjsonOptions = {}): string[] {
  if (!Array.isArray(events)) throw new InvalidArgumentError('events must be an array of recorded events');
  const { filter, states = 'base64' } = options;
  if (states !== 'base64' && states !== 'hex') throw new InvalidArgumentError(`states must be 'base64' or 'hex', got ${String(states)}`);
  if (filter !== undefined && typeof filter !== 'function') throw new InvalidArgumentError('filter must be a function');
  const encode = states === 'hex' ? toHex : toBase64;
  const kept = filter === undefined ? events : events.filter(filter);
  return kept.map((recorded) => JSON.stringify(toJsonObject(recorded, encode)));
}

/** The JSON-ready object of one recorded event (what each NDJSON line holds). */
export function toJsonObject(recorded: RecordedEvent, encode: (bytes: Uint8Array) => string = toBase64): Record<string, unknown> {
  const { seq, time, event } = recorded;
  const fields = event as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { seq: jsonValue(seq, encode), time: jsonValue(time, encode), type: fields.type };
  const write = (name: string): void => {
    const value = fields[name];
    if (value === undefined) return;
    if (BALLOT_FIELDS.has(name) && isPair(value)) out[name] = formatBallot(value as Ballot);
    else if (AGE_FIELDS.has(name) && isPair(value)) out[name] = formatAge(value as Age);
    else if (name === 'error') out[name] = describeError(value, encode, 0);
    else out[name] = jsonValue(value, encode);
  };
  for (const name of FIELD_ORDER) write(name);
  for (const name of Object.keys(fields)) {
    if (name !== 'type' && !(FIELD_ORDER as readonly string[]).includes(name)) write(name);
  }
  // `jsonValue` returns undefined for values JSON cannot hold (functions, symbols): drop them.
  for (const name of Object.keys(out)) if (out[name] === undefined) delete out[name];
  return out;
}

function isPair(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const { counter, id } = value as { counter?: unknown; id?: unknown };
  return typeof counter === 'number' && typeof id === 'string';
}

const MAX_DEPTH = 4;

/** An error as `{ name, message, code?, cause? }`; any other thrown value as `{ value }`. */
function describeError(error: unknown, encode: (bytes: Uint8Array) => string, depth: number): unknown {
  try {
    if (typeof error === 'object' && error !== null && typeof (error as Error).message === 'string') {
      const { name, message } = error as Error;
      const out: Record<string, unknown> = { name: typeof name === 'string' ? name : 'Error', message };
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' || typeof code === 'number') out.code = code;
      const cause = (error as { cause?: unknown }).cause;
      if (cause !== undefined && depth < MAX_DEPTH) out.cause = describeError(cause, encode, depth + 1);
      return out;
    }
    return { value: jsonValue(error, encode, depth) ?? null };
  } catch {
    return { value: 'unprintable error' };
  }
}

/**
 * `value` as something `JSON.stringify` writes faithfully: bytes encoded, bigints as strings,
 * non-finite numbers as strings (`"NaN"`, `"Infinity"`), `undefined` and functions dropped from
 * objects (`null` in arrays), cycles and depth past a bound cut to `"[…]"`.
 */
function jsonValue(value: unknown, encode: (bytes: Uint8Array) => string, depth = 0, seen: Set<object> = new Set()): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return null;
  if (value instanceof Uint8Array) return encode(value);
  if (value instanceof Error) return describeError(value, encode, depth);
  const object = value as object;
  if (seen.has(object) || depth >= MAX_DEPTH) return '[…]';
  seen.add(object);
  try {
    if (Array.isArray(object)) return object.map((item) => jsonValue(item, encode, depth + 1, seen) ?? null);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(object)) {
      const converted = jsonValue(v, encode, depth + 1, seen);
      if (converted !== undefined) out[k] = converted;
    }
    return out;
  } finally {
    seen.delete(object);
  }
}

/** Standard base64 with padding (RFC 4648 §4), without `Buffer` or `btoa`. */
export function toBase64(bytes: Uint8Array): string {
  return encodeBase64(bytes);
}

/** Lower-case hexadecimal, two digits per byte. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
