/**
 * Helpers for register states (`Uint8Array | null`).
 *
 * Pure module: no I/O, safe in browsers and notebooks.
 */
import type { State } from './messages.js';

/** A copy of `state` that shares no memory with it (`null` stays `null`). */
export function copyState(state: State): State {
  return state === null ? null : state.slice();
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
