/**
 * `requestTarget`, the node server's reading of `req.url`: the same pathname and query as WHATWG
 * `URL` resolving the target against a base (what the server did before), for any target, while
 * skipping `URL` for plain paths. fast-check prints the seed of a failure (replay: FC_SEED=<seed>).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type RequestTarget, requestTarget } from '../../src/http/request-target.js';

const viaUrl = (target: string): RequestTarget => {
  const url = new URL(target, 'http://node');
  return { pathname: url.pathname, search: url.search };
};

/** Characters that matter to `URL`'s path parsing: dots and their escapes, slashes, escapes, the rest. */
const CHARS = ['a', 'Z', '0', '-', '_', '~', '.', '%', '2', 'e', 'E', 'f', '/', '/', '/', '\\', '?', '#', ' ', '"', '<', '`', '{', '|', '^', '[', "'", '!', '$', '&', '(', '*', '+', ',', ';', '=', ':', '@', 'é', '\u0000', '\t'];
const target = fc.oneof(
  fc.array(fc.constantFrom(...CHARS), { maxLength: 24 }).map((cs) => `/${cs.join('')}`),
  fc.array(fc.constantFrom(...CHARS), { maxLength: 12 }).map((cs) => `/v1/kv/${cs.join('')}`),
  fc.constantFrom('/v1/kv/%2e', '/v1/kv/.%2E/x', '//evil/v1/kv/k', '/v1/kv/k?since=7', 'http://host/v1/kv/k', '*', '/v1/kv/..', '/v1/kv/a/../b'),
);
/** What a reading gives: the target, or that it throws (`URL` refuses some, such as `//`). */
const outcome = (read: (t: string) => RequestTarget, t: string): RequestTarget | 'throws' => {
  try {
    return read(t);
  } catch {
    return 'throws';
  }
};
const property = (read: (t: string) => RequestTarget) => fc.property(target, (t) => {
  expect(outcome(read, t)).toEqual(outcome(viaUrl, t));
});

describe('requestTarget', () => {
  it('reads every target as URL does', () => {
    fc.assert(property(requestTarget), { numRuns: 3000 });
  });

  it('negative control: taking every path as it is fails the same property', () => {
    const naive = (t: string): RequestTarget => ({ pathname: t, search: '' });
    expect(fc.check(property(naive), { numRuns: 3000, seed: 1 }).failed).toBe(true);
  });

  it('keeps the key API\'s plain paths as they are, escapes included', () => {
    for (const t of ['/v1/kv/c1-k8', '/v1/kv/user.name/cas', `/v1/kv/${encodeURIComponent('a b/ü')}/increment`, '/v1/health']) expect(requestTarget(t)).toEqual({ pathname: t, search: '' });
  });
});
