/**
 * How `MemoryAcceptor` keeps states. A state is copied once on the way in and once on the way out,
 * so no caller can reach the acceptor's memory. A small state is kept as a one-byte string (one
 * char per byte): strings are immutable and live on the JS heap, so the copy costs a fraction of a
 * `Uint8Array`'s memory (a 16-byte state: 32 bytes instead of about 210) and of garbage
 * collection time. Larger states are kept as `Uint8Array` copies.
 */
import type { State } from '../core/messages.js';

/** A state as an acceptor keeps it. */
export type CompactState = string | Uint8Array | null;

/** States up to this size are kept as strings. */
const STRING_LIMIT = 1024;

/**
 * `String.fromCharCode`, typed to take typed-array reads: every read below is in bounds (the
 * switch is on the length), so no `undefined` ever reaches it.
 */
const chars = String.fromCharCode as (...codes: Array<number | undefined>) => string;

/**
 * A copy of `state` to keep. `previous`, a kept state (typically the one the state was computed
 * from), is returned instead of a new copy when it holds the same bytes: kept states are never
 * changed, so they can be shared. An identity read (which writes back the state it read) or a
 * change that leaves the bytes alone then costs no allocation; a state that differs costs one
 * comparison that stops at its first differing byte.
 */
export function toCompactState(state: State, previous?: CompactState): CompactState {
  if (state === null) return null;
  if (previous != null && previous.length === state.length && holdsBytes(previous, state)) return previous;
  if (state.length > STRING_LIMIT) return new Uint8Array(state);
  return bytesToString(state);
}

/** Whether the kept state `kept` holds exactly the bytes of `state` (same length). */
function holdsBytes(kept: string | Uint8Array, state: Uint8Array): boolean {
  if (typeof kept === 'string') {
    for (let i = 0; i < state.length; i++) if (kept.charCodeAt(i) !== state[i]) return false;
  } else {
    for (let i = 0; i < state.length; i++) if (kept[i] !== state[i]) return false;
  }
  return true;
}

/**
 * One char per byte: a flat one-byte string, converted exactly (unlike a latin1 `TextDecoder`,
 * which maps 0x80-0x9f to other characters). V8 runs `fromCharCode` with explicit arguments about
 * four times faster than through `apply` (measured: 16 bytes in 25 ns against 90 ns, as fast as a
 * `Uint8Array` copy), so the common small states get a call of their exact arity; building the
 * string piecewise instead would be slower and leave a rope behind for lengths of 13 and up.
 */
function bytesToString(b: Uint8Array): string {
  switch (b.length) {
    case 0: return '';
    case 1: return chars(b[0]);
    case 2: return chars(b[0], b[1]);
    case 3: return chars(b[0], b[1], b[2]);
    case 4: return chars(b[0], b[1], b[2], b[3]);
    case 5: return chars(b[0], b[1], b[2], b[3], b[4]);
    case 6: return chars(b[0], b[1], b[2], b[3], b[4], b[5]);
    case 7: return chars(b[0], b[1], b[2], b[3], b[4], b[5], b[6]);
    case 8: return chars(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
    case 9: return chars(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8]);
    case 10: return chars(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9]);
    case 11: return chars(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10]);
    case 12: return chars(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11]);
    case 13: return chars(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12]);
    case 14: return chars(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13]);
    case 15: return chars(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14]);
    case 16: return chars(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    default: return chars.apply(null, b as unknown as number[]);
  }
}

/**
 * A `Uint8Array` (or null) with the bytes of a kept state: `reusable` itself when it holds exactly
 * those bytes, else a fresh copy. For a caller that hands out a copy over and over (the
 * one-round-trip cache, a copy per proposal): comparing costs a fraction of a new `Uint8Array`
 * (three heap objects), and the comparison is what makes reuse safe: a holder that changed the
 * bytes (a change function breaking its contract) gets its array back never again.
 */
export function fromCompactStateReusing(stored: CompactState, reusable: Uint8Array | undefined): State {
  if (stored === null) return null;
  if (reusable !== undefined && reusable.length === stored.length && holdsBytes(stored, reusable)) return reusable;
  return fromCompactState(stored);
}

/** A fresh `Uint8Array` (or null) with the bytes of a kept state. */
export function fromCompactState(stored: CompactState): State {
  if (stored === null) return null;
  if (typeof stored !== 'string') return new Uint8Array(stored);
  const bytes = new Uint8Array(stored.length);
  for (let i = 0; i < stored.length; i++) bytes[i] = stored.charCodeAt(i);
  return bytes;
}
