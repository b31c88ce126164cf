/**
 * Errors. Every error this package throws is a `CASPaxosError` with a stable `code` to switch on,
 * a `retryable` flag (see `isRetryable`) and, where another error caused it, a `cause`. The one
 * exception is cancellation: an aborted call rejects with its `signal.reason`, exactly as `fetch`
 * does, so `AbortSignal.timeout()` yields the usual `TimeoutError`.
 */
import type { Age } from './core/age.js';
import { formatAge } from './core/age.js';
import type { Ballot } from './core/ballot.js';
import { formatBallot } from './core/ballot.js';
import type { ConflictKind } from './core/messages.js';

/** Stable machine-readable error codes. */
export type ErrorCode =
  | 'ERR_CONFLICT'
  | 'ERR_AGE'
  | 'ERR_PREPARE_FAILED'
  | 'ERR_ACCEPT_FAILED'
  | 'ERR_DUPLICATE'
  | 'ERR_NOT_FOUND'
  | 'ERR_NOT_EQUAL'
  | 'ERR_NOT_TOMBSTONE'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_UNAVAILABLE'
  | 'ERR_STEP_FAILED';

interface BaseOptions {
  readonly cause?: unknown;
}

/** The base class of every error this package throws. */
export class CASPaxosError extends Error {
  /** A stable identifier of the kind of failure. */
  readonly code: ErrorCode;
  /** True when retrying the same operation may succeed (see `isRetryable`). */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, retryable: boolean, options: BaseOptions = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    this.retryable = retryable;
  }
}

/**
 * A proposal's ballot lost to a higher one at an acceptor. Acceptors return conflicts as reply
 * values; the proposer uses this error as the `cause` of a failed phase, naming the ballot that won.
 */
export class ConflictError extends CASPaxosError {
  constructor(
    readonly proposed: Ballot,
    readonly existing: Ballot,
    readonly existingKind: ConflictKind,
  ) {
    super(
      'ERR_CONFLICT',
      `conflict: proposed ballot ${formatBallot(proposed)} is not above the ${existingKind} ballot ${formatBallot(existing)}`,
      true,
    );
  }
}

/**
 * A proposer's age is younger than an acceptor requires. Messages sent before a garbage collection
 * are fenced off this way (paper §3.1); a proposer that gets this error outside that race was left
 * out of a garbage collection and must be restarted under a new id. Not retryable.
 */
export class AgeError extends CASPaxosError {
  constructor(
    readonly incoming: Age,
    readonly existing: Age,
  ) {
    super(
      'ERR_AGE',
      `age conflict: proposer age ${formatAge(incoming)} is younger than the required ${formatAge(existing)}; ` +
        'this proposer was left out of a garbage collection: restart it under a new id',
      false,
    );
  }
}

/**
 * Every attempt the retry policy allowed ended without effect: its prepare phase found no quorum
 * (the usual case), or every accepter rejected its accept. Nothing was accepted under any of the
 * attempts' ballots, so the proposal had no effect. Retryable.
 */
export class PrepareFailedError extends CASPaxosError {
  constructor(
    readonly key: string,
    readonly ballot: Ballot,
    readonly attempts: number,
    options: BaseOptions = {},
  ) {
    super(
      'ERR_PREPARE_FAILED',
      `proposal for key ${JSON.stringify(key)} had no effect: not enough confirmations in ${attempts} attempt(s), last ballot ${formatBallot(ballot)}`,
      true,
      options,
    );
  }
}

/**
 * The accept phase found no quorum. The outcome is unknown: some acceptors may hold the new state,
 * and a later proposal (a read included) may still adopt it. Retrying applies the change function
 * again, which is right only for change functions that are safe to apply twice (a compare-and-set
 * on a version is; a blind increment is not). Retryable in that sense.
 */
export class AcceptFailedError extends CASPaxosError {
  /** Always `'unknown'`: the value may or may not take effect. */
  readonly outcome = 'unknown' as const;

  constructor(
    readonly key: string,
    readonly ballot: Ballot,
    options: BaseOptions = {},
  ) {
    super(
      'ERR_ACCEPT_FAILED',
      `accept of key ${JSON.stringify(key)} under ballot ${formatBallot(ballot)} failed: not enough confirmations; the outcome is unknown`,
      true,
      options,
    );
  }
}

/** An acceptor was added to a proposer's set twice. */
export class DuplicateError extends CASPaxosError {
  constructor(
    readonly address: string,
    set: string,
  ) {
    super('ERR_DUPLICATE', `acceptor ${JSON.stringify(address)} is already in the ${set} set`, false);
  }
}

/** An acceptor to remove is not in a proposer's set. */
export class NotFoundError extends CASPaxosError {
  constructor(
    readonly address: string,
    set: string,
  ) {
    super('ERR_NOT_FOUND', `acceptor ${JSON.stringify(address)} is not in the ${set} set`, false);
  }
}

/**
 * Garbage collection found an acceptor whose record for the key was not accepted under the
 * tombstone's ballot, so it kept the record. Retryable when that record is newer than the tombstone
 * (a new garbage collection re-reads the key and decides afresh); not when it is older, which means
 * the acceptor never received the tombstone (it is not in the proposers' accept set).
 */
export class NotEqualError extends CASPaxosError {
  constructor(
    readonly key: string,
    readonly address: string,
    readonly tombstone: Ballot,
    readonly accepted: Ballot,
    newer: boolean,
  ) {
    super(
      'ERR_NOT_EQUAL',
      `acceptor ${JSON.stringify(address)} kept key ${JSON.stringify(key)}: its accepted ballot ${formatBallot(accepted)} ` +
        `is not the tombstone's ${formatBallot(tombstone)}`,
      newer,
    );
  }
}

/**
 * Garbage collection was asked to delete a key whose state is not empty, or an acceptor was given
 * a tombstone whose state is not empty. Write `null` first. Not retryable.
 */
export class NotTombstoneError extends CASPaxosError {
  constructor(
    readonly key: string,
    readonly ballot: Ballot,
  ) {
    super(
      'ERR_NOT_TOMBSTONE',
      `key ${JSON.stringify(key)} is not a tombstone at ballot ${formatBallot(ballot)}: its state is not empty; write null before collecting it`,
      false,
    );
  }
}

/** A malformed argument: wrong type, empty id, empty acceptor list. Nothing was changed. */
export class InvalidArgumentError extends CASPaxosError {
  constructor(message: string) {
    super('ERR_INVALID_ARGUMENT', message, false);
  }
}

/**
 * Too few acceptors answered a request that needs a quorum of them outside of a proposal (listing
 * keys, watching). Retryable.
 */
export class UnavailableError extends CASPaxosError {
  constructor(message: string, options: BaseOptions = {}) {
    super('ERR_UNAVAILABLE', message, true, options);
  }
}

/**
 * A step of a multi-step operation (growing or shrinking the cluster, garbage collection) failed.
 * `operation` and `step` say where; `cause` says why; `retryable` is the cause's.
 */
export class StepFailedError extends CASPaxosError {
  constructor(
    readonly operation: 'grow' | 'shrink' | 'gc',
    readonly step: string,
    cause: unknown,
    retryable: boolean,
  ) {
    super('ERR_STEP_FAILED', `${operation} step ${step} failed: ${describe(cause)}`, retryable, { cause });
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * True when `err` says that retrying the operation may succeed: a `CASPaxosError` (or any error,
 * so that errors crossing package copies or transports still count) whose `retryable` is true.
 * Aborts, bad input and programming errors are not retryable.
 */
export function isRetryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === true;
}
