/**
 * How `RedisAcceptor` turns keys, ballots, ancestries and states into Redis bytes and back.
 *
 * Two encodings of strings, each chosen for what Redis (or its Lua) must do with the bytes:
 *
 * - **Keys, age ids, the prefix: WTF-8.** UTF-8 generalized to lone surrogates, which JS strings
 *   may hold. `TextEncoder` would turn every lone surrogate into U+FFFD, so two different keys
 *   could share one record (a safety bug: a proposal on one key would read the other's state).
 *   WTF-8 is injective on all JS strings and equals UTF-8 on well-formed ones, so keys stay
 *   readable in `redis-cli`.
 * - **Ballot ids: UTF-16BE.** Lua compares ids byte by byte, and `compareBallots` compares them by
 *   UTF-16 code units. Big-endian code units compare byte-wise exactly as the code units do (a
 *   proper prefix stays a proper prefix), so Lua's order is JS's order. UTF-8 orders by code point
 *   instead, which disagrees for U+E000..U+FFFF against astral characters.
 *
 * Counters travel as decimal strings: exact for every safe integer in both directions (Lua parses
 * them into doubles, which hold every integer up to 2^53 exactly; Lua never prints them back, as
 * its `tostring` keeps 14 digits only).
 */
import { ANCESTRY_LIMIT, NO_ANCESTRY } from '../core/ancestry.js';
import { type Ballot, ZERO_BALLOT, isBallot } from '../core/ballot.js';

/** WTF-8 bytes of `s`: UTF-8, with each lone surrogate encoded as if it were a code point. */
export function encodeWtf8(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 3);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
      continue;
    }
    if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const low = s.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        i++;
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        out[n++] = 0xf0 | (c >> 18);
        out[n++] = 0x80 | ((c >> 12) & 0x3f);
        out[n++] = 0x80 | ((c >> 6) & 0x3f);
        out[n++] = 0x80 | (c & 0x3f);
        continue;
      }
    }
    // Any other code unit, lone surrogates included: three bytes.
    out[n++] = 0xe0 | (c >> 12);
    out[n++] = 0x80 | ((c >> 6) & 0x3f);
    out[n++] = 0x80 | (c & 0x3f);
  }
  return out.subarray(0, n);
}

/** The string whose WTF-8 bytes are `b`; throws on bytes `encodeWtf8` never produces. */
export function decodeWtf8(b: Uint8Array): string {
  const units: number[] = [];
  let i = 0;
  const cont = (): number => {
    const x = b[i++];
    if (x === undefined || (x & 0xc0) !== 0x80) throw new RangeError('malformed WTF-8');
    return x & 0x3f;
  };
  while (i < b.length) {
    const x = b[i++] as number;
    if (x < 0x80) units.push(x);
    else if ((x & 0xe0) === 0xc0) units.push(((x & 0x1f) << 6) | cont());
    else if ((x & 0xf0) === 0xe0) units.push(((x & 0x0f) << 12) | (cont() << 6) | cont());
    else if ((x & 0xf8) === 0xf0) {
      const cp = ((x & 0x07) << 18) | (cont() << 12) | (cont() << 6) | cont();
      if (cp < 0x10000 || cp > 0x10ffff) throw new RangeError('malformed WTF-8');
      units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
    } else throw new RangeError('malformed WTF-8');
  }
  let s = '';
  for (let k = 0; k < units.length; k += 4096) s += String.fromCharCode(...units.slice(k, k + 4096));
  return s;
}

/** UTF-16BE bytes of `s`, code unit by code unit (lone surrogates included). */
export function encodeId(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[2 * i] = c >> 8;
    out[2 * i + 1] = c & 0xff;
  }
  return out;
}

/** The string whose UTF-16BE bytes are `b`. */
export function decodeId(b: Uint8Array): string {
  if (b.length % 2 !== 0) throw new RangeError('a ballot id has an odd number of bytes');
  let s = '';
  for (let i = 0; i < b.length; i += 2) s += String.fromCharCode(((b[i] as number) << 8) | (b[i + 1] as number));
  return s;
}

/** The bytes of `parts`, one after the other (strings as WTF-8). */
export function concatBytes(...parts: ReadonlyArray<Uint8Array | string>): Uint8Array {
  const arrays = parts.map((p) => (typeof p === 'string' ? encodeWtf8(p) : p));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let n = 0;
  for (const a of arrays) {
    out.set(a, n);
    n += a.length;
  }
  return out;
}

/** A reply counter (decimal ASCII) as a number; throws unless it is a canonical safe integer. */
export function decodeCounter(b: Uint8Array): number {
  const text = asciiOf(b);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0 || String(n) !== text) throw new RangeError(`malformed counter ${JSON.stringify(text)}`);
  return n;
}

/** A ballot from its two reply fields; the zero ballot comes back as `ZERO_BALLOT` itself. */
export function decodeBallot(counter: Uint8Array, id: Uint8Array): Ballot {
  const ballot = { counter: decodeCounter(counter), id: decodeId(id) };
  if (ballot.counter === 0 && ballot.id === '') return ZERO_BALLOT;
  if (!isBallot(ballot)) throw new RangeError('malformed ballot');
  return ballot;
}

/** Bytes as ASCII text (tags and counters). */
export function asciiOf(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i] as number);
  return s;
}

/**
 * An ancestry as stored: the empty ancestry as zero bytes (Lua writes exactly that for a record it
 * creates for an absent key, whose ancestry is `NO_ANCESTRY`), any other as JSON of
 * `[counter, id]` pairs. An unknown ancestry (`undefined`) is not encoded: the field is absent.
 */
export function encodeAncestry(ancestry: readonly Ballot[]): Uint8Array {
  if (ancestry.length === 0) return new Uint8Array(0);
  // JSON.stringify escapes lone surrogates, so its output is well-formed and WTF-8 is UTF-8 here.
  return encodeWtf8(JSON.stringify(ancestry.map((b) => [b.counter, b.id])));
}

/** The ancestry `encodeAncestry` encoded, frozen like the ones the acceptor rules build. */
export function decodeAncestry(b: Uint8Array): readonly Ballot[] {
  if (b.length === 0) return NO_ANCESTRY;
  const parsed: unknown = JSON.parse(decodeWtf8(b));
  if (!Array.isArray(parsed) || parsed.length > ANCESTRY_LIMIT + 1) throw new RangeError('malformed ancestry');
  const out = parsed.map((entry: unknown) => {
    const [counter, id] = Array.isArray(entry) ? (entry as unknown[]) : [];
    const ballot = { counter, id };
    if (!isBallot(ballot)) throw new RangeError('malformed ancestry entry');
    return ballot;
  });
  return Object.freeze(out);
}
