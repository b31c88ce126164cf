/**
 * Helpers for register states (`Uint8Array | null`).
 */
import type { State } from './messages.js';

/**
 * A copy of `state` that shares no memory with it (`null` stays `null`), always a plain
 * `Uint8Array`. Not `state.slice()`: Node's `Buffer` overrides `slice` to return a view of the same
 * memory, so an acceptor would keep a live window onto its caller's buffer.
 */
export function copyState(state: State): State {
  return state === null ? null : new Uint8Array(state);
}

/** True when both states are empty, or hold the same bytes. */
export function statesEqual(a: State, b: State): boolean {
  if (a === b) return true;
  if (a === null || b === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True for `null` and for `Uint8Array` instances (Node's `Buffer` included). */
export function isState(value: unknown): value is State {
  return value === null || value instanceof Uint8Array;
}
