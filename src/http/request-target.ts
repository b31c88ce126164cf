/**
 * The path and query of a request's target (`req.url`), as WHATWG `URL` resolves them against a
 * base, without parsing a `URL` for the paths every request of the key-value API has.
 *
 * A path of characters `URL` copies unchanged into `pathname` (letters, digits, `-._~!$&'()*+,;=:@`,
 * `%` and `/`), with no `..`/`.` segment (`%2e` spells a dot too) and not starting with `//` (which
 * `URL` reads as an authority), and with no query or fragment, is its own pathname. Anything else
 * goes through `URL`, so the answer is the same either way (`test/http/request-target.test.ts`
 * checks that against `URL`).
 */

/** What a server needs of a request target. */
export interface RequestTarget {
  /** The path, normalized as `URL` normalizes it (percent-escapes kept as sent). */
  readonly pathname: string;
  /** The query with its `?`, or `''`: `new URLSearchParams(search)` reads it. */
  readonly search: string;
}

const PLAIN_PATH = /^\/(?!\/)[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;
/** A `.` or `..` segment, in any of the spellings `URL` reads as one. */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;

/** The pathname and query of `target` (a request line's target, such as `/v1/kv/a%20b?x=1`). */
export function requestTarget(target: string): RequestTarget {
  if (PLAIN_PATH.test(target) && !DOT_SEGMENT.test(target)) return { pathname: target, search: '' };
  const url = new URL(target, 'http://node');
  return { pathname: url.pathname, search: url.search };
}
