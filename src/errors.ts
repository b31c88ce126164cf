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
  | 'ERR_STEP_FAILED'
  | 'ERR_STATE_FORMAT'
  | 'ERR_STORAGE_FULL'
  | 'ERR_STORAGE_FAILED'
  | 'ERR_BALLOTS_EXHAUSTED'
  | 'ERR_UNSUPPORTED';

/** Every `ErrorCode` (the compiler keeps the table complete), to check codes that crossed a wire. */
const ERROR_CODES: Record<ErrorCode, true> = {
  ERR_CONFLICT: true,
  ERR_AGE: true,
  ERR_PREPARE_FAILED: true,
  ERR_ACCEPT_FAILED: true,
  ERR_DUPLICATE: true,
  ERR_NOT_FOUND: true,
  ERR_NOT_EQUAL: true,
  ERR_NOT_TOMBSTONE: true,
  ERR_INVALID_ARGUMENT: true,
  ERR_UNAVAILABLE: true,
  ERR_STEP_FAILED: true,
  ERR_STATE_FORMAT: true,
  ERR_STORAGE_FULL: true,
  ERR_STORAGE_FAILED: true,
  ERR_BALLOTS_EXHAUSTED: true,
  ERR_UNSUPPORTED: true,
};

/** True when `code` is one of this package's error codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/**
 * Options of the error constructors that wrap another error.
 * @inline
 */
interface BaseOptions {
  /** The error that caused this one: becomes `Error.cause`. */
  readonly cause?: unknown;
}

/**
 * The base class of every error this package throws: switch on {@link CASPaxosError.code}, and ask
 * {@link isRetryable} (which also works across copies of the package and across transports).
 */
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
 * values; the proposer uses this error as the `cause` of a failed phase ({@link PrepareFailedError},
 * {@link AcceptFailedError}), naming the ballot that won.
 */
export class ConflictError extends CASPaxosError {
  constructor(
    /** The proposer's ballot that lost. */
    readonly proposed: Ballot,
    /** The acceptor's ballot that beat it. */
    readonly existing: Ballot,
    /** Whether `existing` is the acceptor's promise or its accepted ballot. */
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
 * out of a garbage collection ({@link garbageCollect} must be given every proposer) and must be
 * restarted under a new id. Not retryable. Thrown by {@link MemoryProposer.propose}.
 */
export class AgeError extends CASPaxosError {
  /**
   * True when the proposer's age had already reached the required one when the rejection came
   * back: a garbage collection raised it while the request was in flight (the request carried the
   * age the attempt started with). A race, not a stale proposer: retryable, a retry carries the
   * new age. False (the default) for a proposer left out of a garbage collection.
   */
  readonly raced: boolean;

  constructor(
    /** The proposer's age carried by the request. */
    readonly incoming: Age,
    /** The minimum age the acceptor requires of that proposer. */
    readonly existing: Age,
    /** The proposer's age when the rejection came back, when known (see `raced`). */
    current?: Age,
  ) {
    const raced = current !== undefined && current.id === existing.id && current.counter >= existing.counter;
    super(
      'ERR_AGE',
      `age conflict: proposer age ${formatAge(incoming)} is younger than the required ${formatAge(existing)}; ` +
        (raced
          ? `a garbage collection raised this proposer's age to ${formatAge(current)} while the request was in flight: a retry carries the new age`
          : 'this proposer was left out of a garbage collection: restart it under a new id'),
      raced,
    );
    this.raced = raced;
  }
}

/**
 * Every attempt the retry policy allowed ended without effect: its prepare phase found no quorum
 * (the usual case), or every accepter rejected its accept. Nothing was accepted under any of the
 * attempts' ballots, so the proposal had no effect. Retryable. Thrown by
 * {@link MemoryProposer.propose}; its `cause` is the last {@link ConflictError} or transport error.
 */
export class PrepareFailedError extends CASPaxosError {
  constructor(
    /** The key of the proposal. */
    readonly key: string,
    /** The last attempt's ballot. */
    readonly ballot: Ballot,
    /** How many attempts were made. */
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
 * on a version is; a blind increment is not). Retryable in that sense. Thrown by
 * {@link MemoryProposer.propose}; {@link KeyValueStore.get} reads again by itself, and
 * {@link KeyValueStore.compareAndSet} is safe to call again.
 */
export class AcceptFailedError extends CASPaxosError {
  /** Always `'unknown'`: the value may or may not take effect. */
  readonly outcome = 'unknown' as const;

  constructor(
    /** The key of the proposal. */
    readonly key: string,
    /** The ballot of the accept whose outcome is unknown. */
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

/**
 * An acceptor was added to a proposer's set twice ({@link MemoryProposer.addAccepter},
 * {@link MemoryProposer.addPreparer}, {@link growCluster}).
 */
export class DuplicateError extends CASPaxosError {
  constructor(
    /** The acceptor's address. */
    readonly address: string,
    set: string,
  ) {
    super('ERR_DUPLICATE', `acceptor ${JSON.stringify(address)} is already in the ${set} set`, false);
  }
}

/**
 * An acceptor to remove is not in a proposer's set ({@link MemoryProposer.removeAccepter},
 * {@link MemoryProposer.removePreparer}, {@link shrinkCluster}).
 */
export class NotFoundError extends CASPaxosError {
  constructor(
    /** The acceptor's address. */
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
 * the acceptor never received the tombstone (it is not in the proposers' accept set). The `cause`
 * of a {@link StepFailedError} from {@link garbageCollect}.
 */
export class NotEqualError extends CASPaxosError {
  constructor(
    /** The key being collected. */
    readonly key: string,
    /** The acceptor that kept its record. */
    readonly address: string,
    /** The tombstone's ballot. */
    readonly tombstone: Ballot,
    /** The ballot the acceptor's record was accepted under. */
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
 * a tombstone whose state is not empty. Write `null` first. Not retryable. The `cause` of a
 * {@link StepFailedError} from {@link garbageCollect}.
 */
export class NotTombstoneError extends CASPaxosError {
  constructor(
    /** The key. */
    readonly key: string,
    /** The ballot of the non-empty state: the one a full identity read found, or the given tombstone's. */
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
  constructor(message: string, options: BaseOptions = {}) {
    super('ERR_INVALID_ARGUMENT', message, false, options);
  }
}

/**
 * Something needed could not be reached or used, and trying again later may work: too few
 * acceptors answered a request that needs a quorum outside of a proposal (listing keys,
 * watching); a remote acceptor (HTTP, Redis) was unreachable, timed out or answered nonsense; a
 * store, acceptor or key-value store was closed. Retryable.
 */
export class UnavailableError extends CASPaxosError {
  constructor(message: string, options: BaseOptions = {}) {
    super('ERR_UNAVAILABLE', message, true, options);
  }
}

/**
 * A remote acceptor does not know the request: it runs an older version of the acceptor protocol
 * (a `peek` sent to an acceptor that predates it). Nothing happened there. Not retryable against
 * that acceptor; a proposer treats it as "no fast read" and reads through the full round.
 */
export class UnsupportedError extends CASPaxosError {
  constructor(message: string, options: BaseOptions = {}) {
    super('ERR_UNSUPPORTED', message, false, options);
  }
}

/**
 * A register holds a state that a typed layer over it (the key-value store) cannot read: not in its
 * format (written by something else sharing the cluster), from a newer format version, truncated,
 * or with a payload its codec rejects. The state is left as it is; nothing was written. Not
 * retryable: the state will not change by itself. Thrown by {@link KeyValueStore}'s methods.
 */
export class StateFormatError extends CASPaxosError {
  constructor(
    /** The key whose state cannot be read. */
    readonly key: string,
    /** What is wrong with it, for humans. */
    readonly reason: string,
    options: BaseOptions = {},
  ) {
    super('ERR_STATE_FORMAT', `key ${JSON.stringify(key)} holds a state this store cannot read: ${reason}`, false, options);
  }
}

/**
 * Options of the storage errors.
 * @inline
 */
interface StorageErrorOptions extends BaseOptions {
  /** The acceptors whose storage refused the write, by address (the one that raised it, or those a node heard from). */
  readonly acceptors?: readonly string[] | undefined;
}

/**
 * An acceptor's storage is full: its disk (ENOSPC, EDQUOT), its quota below the disk
 * (`maxDataBytes`, a memory store's key or byte limit) or its server's memory (Redis `OOM` under
 * `maxmemory` with `noeviction`). The write was refused and nothing of it is kept: the acceptor
 * holds exactly what it held before. HTTP 507. Writes that do not grow the data (promises, shorter
 * values, deletions, garbage collection) may still go through, so reads work and space can be
 * freed through the API; writes resume by themselves once there is room. Retryable in that sense:
 * retrying later, after space is freed, succeeds. Thrown by {@link StoreAcceptor} (and the stores
 * under it), and the `cause` of a proposal that failed because of it.
 */
export class StorageFullError extends CASPaxosError {
  /** The acceptors whose storage refused the write, by address (empty when unknown). */
  readonly acceptors: readonly string[];

  constructor(message: string, options: StorageErrorOptions = {}) {
    super('ERR_STORAGE_FULL', message, true, options);
    this.acceptors = Object.freeze([...(options.acceptors ?? [])]);
  }
}

/**
 * An acceptor's storage failed for a reason other than room: it is read-only (EROFS, a Redis
 * replica's `READONLY`), the device reported an I/O error (EIO), or persisting failed (Redis
 * `MISCONF`). The write was refused and nothing of it is kept. HTTP 503. Retryable: the acceptor
 * keeps running and tries the disk again with the next write.
 *
 * `untrusted` marks the failures after which the store's committed data can no longer be believed
 * (a read of committed data failed, or a record is damaged): an acceptor process should stop
 * rather than answer from it (`caspaxos acceptor` exits with a fatal log line).
 */
export class StorageFailedError extends CASPaxosError {
  /** The acceptors whose storage failed, by address (empty when unknown). */
  readonly acceptors: readonly string[];
  /** True when the store's committed data can no longer be trusted (see the class doc). */
  readonly untrusted: boolean;

  constructor(message: string, options: StorageErrorOptions & { readonly untrusted?: boolean | undefined } = {}) {
    super('ERR_STORAGE_FAILED', message, true, options);
    this.acceptors = Object.freeze([...(options.acceptors ?? [])]);
    this.untrusted = options.untrusted === true;
  }
}

/**
 * Why a key has no ballot left at a proposer (`BallotsExhaustedError.reason`):
 *  - `exhausted`: its next ballot's counter would exceed `MAX_BALLOT_COUNTER` (2^48), because its
 *    acceptors hold a ballot at or near it;
 *  - `far-keys`: its acceptors hold a ballot more than `MAX_BALLOT_JUMP` (2^32) ahead of the
 *    proposer's counter and `maxFarKeys` other keys already have a counter of their own there;
 *  - `far-ahead`: a fast-forward (garbage collection step b) to a ballot more than
 *    `MAX_BALLOT_JUMP` ahead of the proposer's counter, refused: collecting the key would raise
 *    every acceptor's tombstone floor, which every absent key answers with, that far;
 *  - `far-promise`: garbage collection step d found an acceptor keeping the tombstone because the
 *    key's promise is more than `MAX_BALLOT_JUMP` above it (see `acceptorRules.remove`).
 */
export type BallotsExhaustedReason = 'exhausted' | 'far-keys' | 'far-ahead' | 'far-promise';

/**
 * A key whose ballots are out of the range a proposer will use, for that key only: other keys keep
 * working (see `core/key-ballots.ts`, and docs/operations/ballots.md for the operator's view).
 * Nothing was sent under a new ballot for it. Not retryable: the acceptors hold the key's high
 * ballot until the key is removed. The node's HTTP API answers 409 `ERR_BALLOTS_EXHAUSTED`.
 */
export class BallotsExhaustedError extends CASPaxosError {
  constructor(
    /** The key. */
    readonly key: string,
    /** The highest counter this proposer knows the key's acceptors hold. */
    readonly counter: number,
    /** Why (see `BallotsExhaustedReason`). */
    readonly reason: BallotsExhaustedReason,
    options: BaseOptions = {},
  ) {
    super('ERR_BALLOTS_EXHAUSTED', `key ${JSON.stringify(key)} has no ballot left at this proposer: ${exhaustedText(counter, reason)}`, false, options);
  }
}

function exhaustedText(counter: number, reason: BallotsExhaustedReason): string {
  switch (reason) {
    case 'exhausted':
      return `its acceptors hold counter ${counter}, and no counter above 2^48 is ever used`;
    case 'far-keys':
      return `its acceptors hold counter ${counter}, more than 2^32 ahead of the proposer's, and too many keys are that far already`;
    case 'far-ahead':
      return `fast-forwarding to counter ${counter}, more than 2^32 ahead of the proposer's, is refused (a garbage collection would raise every acceptor's tombstone floor that far)`;
    case 'far-promise':
      return `an acceptor keeps its tombstone (accepted at counter ${counter}) because the key's promise is more than 2^32 above it, which removing the record would make every absent key's floor`;
  }
}

/**
 * A step of a multi-step operation (growing or shrinking the cluster, garbage collection) failed.
 * `operation` and `step` say where; `cause` says why; `retryable` is the cause's. Thrown by {@link growCluster},
 * {@link shrinkCluster} and {@link garbageCollect}.
 */
export class StepFailedError extends CASPaxosError {
  constructor(
    /** Which operation failed. */
    readonly operation: 'grow' | 'shrink' | 'gc',
    /** The step's label, e.g. `2 (identity pass)` or `c (reject by age)`. */
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
