/**
 * Strict base64 (RFC 4648 §4, the standard alphabet, with padding) for states on the HTTP wire
 * and in traces (NDJSON).
 *
 * Strict because a decoder that accepted several spellings of one state (missing padding, stray
 * whitespace, non-zero bits after the last byte, as `atob` and Node's `Buffer` tolerate) would let
 * two different request bodies carry the same bytes: harmless for an acceptor, but it makes the
 * codec's round trip (`encode(decode(s)) === s`) a property tests can rely on, and rejects
 * corrupted input instead of guessing. Written out by hand because `Buffer` is Node-only and
 * `Uint8Array.fromBase64` is not in Node 20.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Char code -> 6-bit value, or -1 for characters outside the alphabet. */
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Alphabet as char codes, for building the text as bytes. */
const ENCODE = new Uint8Array(64);
for (let i = 0; i < ALPHABET.length; i++) ENCODE[i] = ALPHABET.charCodeAt(i);
const PAD = 61; // '='
const ASCII = new TextDecoder();

/**
 * The canonical base64 text of `bytes`. Written as ASCII bytes and decoded once: an order of
 * magnitude faster than building the string from char codes.
 */
export function encodeBase64(bytes: Uint8Array): string {
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  const full = bytes.length - (bytes.length % 3);
  let o = 0;
  for (let i = 0; i < full; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out[o++] = ENCODE[n >>> 18] as number;
    out[o++] = ENCODE[(n >>> 12) & 63] as number;
    out[o++] = ENCODE[(n >>> 6) & 63] as number;
    out[o++] = ENCODE[n & 63] as number;
  }
  const rest = bytes.length - full;
  if (rest > 0) {
    const n = ((bytes[full] as number) << 16) | (rest === 2 ? (bytes[full + 1] as number) << 8 : 0);
    out[o++] = ENCODE[n >>> 18] as number;
    out[o++] = ENCODE[(n >>> 12) & 63] as number;
    out[o++] = rest === 2 ? (ENCODE[(n >>> 6) & 63] as number) : PAD;
    out[o++] = PAD;
  }
  return ASCII.decode(out);
}

/**
 * The bytes of canonical base64 `text`, or `undefined` when `text` is not exactly what
 * `encodeBase64` produces for some bytes (wrong length, a character outside the alphabet,
 * misplaced padding, or non-zero bits after the last byte).
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  let padding = 0;
  if (text.endsWith('==')) padding = 2;
  else if (text.endsWith('=')) padding = 1;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    const c = last && padding === 2 ? 0 : sextet(text, i + 2);
    const d = last && padding >= 1 ? 0 : sextet(text, i + 3);
    if (a < 0 || b < 0 || c < 0 || d < 0) return undefined;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >>> 16;
    if (last && padding === 2) {
      // Canonical: the 4 bits of `b` past the byte are zero.
      if ((n & 0xffff) !== 0) return undefined;
      break;
    }
    out[o++] = (n >>> 8) & 0xff;
    if (last && padding === 1) {
      // Canonical: the 2 bits of `c` past the second byte are zero.
      if ((n & 0xff) !== 0) return undefined;
      break;
    }
    out[o++] = n & 0xff;
  }
  return out;
}

function sextet(text: string, i: number): number {
  const code = text.charCodeAt(i);
  return code < 128 ? (DECODE[code] as number) : -1;
}
