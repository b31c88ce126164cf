/**
 * Short, safe, deterministic text for trace renderers: state previews, names, errors.
 *
 * Every string produced here is a single line with no control characters, no line or paragraph
 * separators and no bidirectional overrides (which could make a rendered key read as another), so
 * each renderer only has to apply its own format's escaping (Mermaid codes, XML entities) on top.
 */
import { formatAge, type Age } from '../core/age.js';
import { formatBallot, isZeroBallot, type Ballot } from '../core/ballot.js';
import type { State } from '../core/messages.js';

/**
 * Characters that must never reach a rendered line as themselves: C0 and C1 controls, DEL, line
 * and paragraph separators, bidirectional embeddings, overrides and isolates, the BOM, and lone
 * surrogates (no encoding can carry them).
 */
// With the `u` flag a surrogate pair is one code point, so `[\ud800-\udfff]` matches lone halves only.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]/gu;

/** `text` with every unsafe character written as a `\uXXXX` escape. */
export function escapeUnsafe(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

/** Characters a key, proposer id or acceptor address may show bare (anything else is quoted). */
const BARE = /^[\p{L}\p{N}_.:/@+~-]+$/u;

/**
 * A key, proposer id or acceptor address as shown in a diagram: bare when it is made of letters,
 * digits and `_.:/@+~-` only, otherwise as a JSON string literal (so spaces, quotes, `<`, `&`,
 * newlines and the empty string stay visible and unambiguous), with unsafe characters escaped.
 */
export function displayName(name: string): string {
  if (BARE.test(name)) return name;
  return escapeUnsafe(JSON.stringify(name));
}

/** `text` cut to at most `max` code points, the cut marked with `…`. */
export function truncate(text: string, max: number): string {
  const points = Array.from(text);
  if (points.length <= max) return text;
  return `${points.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** A ballot as `3/p1`, the zero ballot as `ø` (`formatBallot`), safe to render. */
export function ballotText(ballot: Ballot): string {
  return escapeUnsafe(formatBallot(ballot));
}

/** An age as `2:p1` (`formatAge`), safe to render. */
export function ageText(age: Age): string {
  return escapeUnsafe(formatAge(age));
}

/** Code points that count as printable in a state preview. */
function printable(cp: number): boolean {
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return false;
  if (cp === 0x2028 || cp === 0x2029 || cp === 0xfeff) return false;
  if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) return false;
  return true;
}

/**
 * Decodes up to `max` code points of strict UTF-8 from the start of `bytes`. `undefined` when that
 * prefix is not valid UTF-8 (overlong forms, surrogates, values past U+10FFFF, a sequence cut by
 * the end of the state) or holds a character that is not printable. Written out rather than using
 * `TextDecoder` so that a preview of a large state reads only the bytes it shows.
 */
function decodePrintablePrefix(bytes: Uint8Array, max: number): { text: string; complete: boolean } | undefined {
  let text = '';
  let i = 0;
  for (let n = 0; n < max && i < bytes.length; n++) {
    const b0 = bytes[i] as number;
    let cp: number;
    let len: number;
    let min: number;
    if (b0 < 0x80) [cp, len, min] = [b0, 1, 0];
    else if (b0 >= 0xc0 && b0 < 0xe0) [cp, len, min] = [b0 & 0x1f, 2, 0x80];
    else if (b0 >= 0xe0 && b0 < 0xf0) [cp, len, min] = [b0 & 0x0f, 3, 0x800];
    else if (b0 >= 0xf0 && b0 < 0xf8) [cp, len, min] = [b0 & 0x07, 4, 0x10000];
    else return undefined;
    if (i + len > bytes.length) return undefined;
    for (let k = 1; k < len; k++) {
      const b = bytes[i + k] as number;
      if ((b & 0xc0) !== 0x80) return undefined;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || !printable(cp)) return undefined;
    text += String.fromCodePoint(cp);
    i += len;
  }
  return { text, complete: i === bytes.length };
}

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/**
 * A brief, deterministic rendering of a register state: `∅` for the empty state (`null`), a JSON
 * string literal when the state starts with printable UTF-8 (`"hello"`, cut after `maxChars` code
 * points and marked `"hello wor"…`), otherwise hexadecimal (`0x00ff17`, cut after `maxChars / 2`
 * bytes and marked with the total length: `0x00ff1700…(20 bytes)`).
 */
export function previewState(state: State, maxChars = 16): string {
  if (state === null) return '∅';
  const max = Math.max(2, Math.floor(maxChars));
  const decoded = decodePrintablePrefix(state, max);
  if (decoded !== undefined) return `${escapeUnsafe(JSON.stringify(decoded.text))}${decoded.complete ? '' : '…'}`;
  const shown = Math.max(1, Math.floor(max / 2));
  if (state.length <= shown) return `0x${hex(state)}`;
  return `0x${hex(state.subarray(0, shown))}…(${state.length} bytes)`;
}

/**
 * An error (or any thrown value) as one short line: `Name: message` for errors, the text of
 * anything else; unsafe characters escaped, cut at `max` code points. Never throws, even for
 * values whose `toString` does.
 */
export function errorText(error: unknown, max = 60): string {
  let text: string;
  try {
    if (error instanceof Error || (typeof error === 'object' && error !== null && typeof (error as Error).message === 'string')) {
      const { name, message } = error as Error;
      text = typeof name === 'string' && name !== '' ? `${name}: ${message}` : message;
    } else if (typeof error === 'string') {
      text = error;
    } else if (typeof error === 'symbol') {
      text = error.toString();
    } else {
      text = String(error);
    }
  } catch {
    text = 'unprintable error';
  }
  return truncate(escapeUnsafe(text), max);
}

/** `a1, a2 report 1/p1` (or `report nothing accepted`): what the quorum of a fast read agreed on. */
export function fastReadAgreement(from: readonly string[], accepted: Ballot | undefined): string {
  const who = from.join(', ');
  return accepted === undefined || isZeroBallot(accepted) ? `${who} report nothing accepted` : `${who} report ${ballotText(accepted)}`;
}
