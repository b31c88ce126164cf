/**
 * The checks every acceptor runs on a request before it touches anything: the same for
 * `MemoryAcceptor`, `StoreAcceptor` and the acceptors in other subpaths, so every acceptor rejects
 * the same bad input with the same `InvalidArgumentError`, and bad input never changes a record.
 */
import { ANCESTRY_LIMIT, NO_ANCESTRY } from '../core/ancestry.js';
import type { Age } from '../core/age.js';
import { type Ballot, compareBallots, formatBallot } from '../core/ballot.js';
import type { Tombstone } from '../core/messages.js';
import { InvalidArgumentError, NotTombstoneError } from '../errors.js';
import type { AcceptOptions } from '../roles.js';
import { assertAge, assertBallot, assertKey, assertState } from '../internal/validate.js';

/** Checks a prepare request. */
export function checkPrepareRequest(key: unknown, age: unknown, ballot: unknown): void {
  assertKey(key);
  assertAge(age);
  assertBallot(ballot);
}

/**
 * Checks an accept request (`opts.next` included); returns the ancestry to store, frozen or
 * copied. Returns nothing else, so the hot path allocates nothing: callers read `opts.next`.
 */
export function checkAcceptRequest(key: unknown, age: unknown, ballot: unknown, state: unknown, opts: AcceptOptions | undefined): readonly Ballot[] | undefined {
  assertKey(key);
  assertAge(age);
  assertBallot(ballot);
  assertState(state, 'state');
  const next = opts?.next;
  const ancestry = opts?.ancestry;
  if (next !== undefined) {
    assertBallot(next, 'next');
    if (compareBallots(next, ballot) <= 0) throw new InvalidArgumentError(`next ballot ${formatBallot(next)} must be above the ballot ${formatBallot(ballot)}`);
  }
  // The shared empty ancestry (a key one proposer writes) is the common case: nothing to check.
  return ancestry === undefined || ancestry === NO_ANCESTRY ? ancestry : checkedAncestry(ancestry);
}

/** Checks a `rejectByAge` request. */
export function checkAges(ages: unknown): asserts ages is readonly Age[] {
  if (!Array.isArray(ages)) throw new InvalidArgumentError('ages must be an array');
  ages.forEach((age: unknown, i) => assertAge(age, `ages[${i}]`));
}

/** Checks a `removeIfEqual` request: only an empty state is a tombstone. */
export function checkRemoveRequest(key: unknown, tombstone: unknown): asserts tombstone is Tombstone {
  assertKey(key);
  if (typeof tombstone !== 'object' || tombstone === null) throw new InvalidArgumentError('tombstone must be { ballot, state }');
  const { ballot, state } = tombstone as { ballot?: unknown; state?: unknown };
  assertBallot(ballot, 'tombstone.ballot');
  assertState(state, 'tombstone.state');
  if (state !== null) throw new NotTombstoneError(key, ballot);
}

/**
 * A valid ancestry to store, or `InvalidArgumentError`. Stored as given when frozen (as
 * `ancestryOf` builds them: shared, never changed), copied otherwise, so no caller can change
 * what is stored.
 */
export function checkedAncestry(ancestry: readonly Ballot[]): readonly Ballot[] {
  if (!Array.isArray(ancestry) || ancestry.length > ANCESTRY_LIMIT + 1) {
    throw new InvalidArgumentError(`ancestry must be an array of at most ${ANCESTRY_LIMIT + 1} ballots`);
  }
  for (const b of ancestry) assertBallot(b, 'an ancestry entry');
  if (Object.isFrozen(ancestry)) return ancestry;
  return ancestry.length === 0 ? NO_ANCESTRY : Object.freeze([...ancestry]);
}
