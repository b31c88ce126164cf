/** Shared fast-check arbitraries for the core unit tests. */
import { fc } from '@fast-check/vitest';
import { type Ballot, ZERO_BALLOT } from '../../src/core/ballot.js';

/** A proposer id from a small alphabet, so that equal ids (and ties on the counter) are common. */
export const proposerId = fc.constantFrom('a', 'b', 'c', 'p1', 'p10', 'p9');

/** A well-formed ballot with a small counter; the zero ballot now and then. */
export const smallBallot: fc.Arbitrary<Ballot> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(ZERO_BALLOT) },
  { weight: 6, arbitrary: fc.record({ counter: fc.integer({ min: 1, max: 4 }), id: proposerId }) },
);

/** A well-formed ballot over a wider counter range. */
export const anyBallot: fc.Arbitrary<Ballot> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(ZERO_BALLOT) },
  { weight: 6, arbitrary: fc.record({ counter: fc.integer({ min: 1, max: 1_000_000 }), id: fc.string({ minLength: 1, maxLength: 4 }) }) },
);

/** Reference order: plain lexicographic comparison of the tuple (counter, id). */
export function tupleCompare(a: Ballot, b: Ballot): number {
  if (a.counter < b.counter) return -1;
  if (a.counter > b.counter) return 1;
  if (a.id < b.id) return -1;
  if (a.id > b.id) return 1;
  return 0;
}
