/**
 * Test helpers for register states (`Uint8Array | null`): text and JSON-list encodings.
 */
import type { State } from '../../src/index.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The UTF-8 bytes of `text`. */
export function enc(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The text of a state, or `null` for the empty state. */
export function dec(state: State): string | null {
  return state === null ? null : decoder.decode(state);
}

/** A change function that ignores the current state and writes `text` (`null` writes a tombstone). */
export function write(text: string | null): (current: State) => State {
  return () => (text === null ? null : enc(text));
}

/** The list of operation ids a state holds: `null` is the empty list. Throws on anything else. */
export function opsOf(state: State): string[] {
  if (state === null) return [];
  const parsed: unknown = JSON.parse(dec(state) ?? 'null');
  if (!Array.isArray(parsed) || !parsed.every((x): x is string => typeof x === 'string')) {
    throw new Error(`not a JSON list of op ids: ${dec(state)}`);
  }
  return parsed;
}

/** The state holding `ops` as a JSON list. */
export function opsState(ops: readonly string[]): Uint8Array {
  return enc(JSON.stringify(ops));
}

/**
 * The change function of a CAS increment with a unique id: reads the list of op ids, appends `id`.
 * Pure, so the proposer may apply it once per attempt.
 */
export function appendOp(id: string): (current: State) => State {
  return (current) => opsState([...opsOf(current), id]);
}

/** True when `prefix` is a prefix of `list`. */
export function isPrefix(prefix: readonly string[], list: readonly string[]): boolean {
  return prefix.length <= list.length && prefix.every((x, i) => list[i] === x);
}
