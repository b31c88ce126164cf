/**
 * What acceptors answer. Outcomes of the protocol (a promise, a conflict, a stale age) are reply
 * values; a rejected promise from an acceptor call means the acceptor could not be reached or
 * refused malformed input, never that the protocol said no.
 */
import type { Age } from './age.js';
import type { Ballot } from './ballot.js';

/** A register's value. `null` is the empty state: never written, or deleted (a tombstone). */
export type State = Uint8Array | null;

/** Which of the acceptor's ballots beat the request: its promise or its accepted ballot. */
export type ConflictKind = 'promise' | 'accepted';

/**
 * The request's ballot was not high enough. `ballot` is the acceptor's ballot that beat it; the
 * proposer fast-forwards its counter past it before its next attempt.
 */
export interface Conflict {
  /** Discriminant. */
  readonly type: 'conflict';
  /**
   * The acceptor's ballot that beat the request's: its promise or its accepted ballot, as `kind`
   * says.
   */
  readonly ballot: Ballot;
  /** Whether `ballot` is the promise or the accepted ballot. */
  readonly kind: ConflictKind;
  /**
   * The highest ballot this acceptor may have accepted for the key: its accepted ballot, raised to
   * its tombstone floor (a removed record may have been accepted under any ballot up to it). When
   * it is below the request's ballot, the acceptor has certainly never stored the request's
   * state: a proposer whose accept every accepter rejected that way knows its attempt had no
   * effect. (A rejection alone does not prove it: with messages delivered twice, the rejection
   * may answer a duplicate of an accept the acceptor stored.)
   */
  readonly accepted: Ballot;
}

/**
 * The request carried an age younger than the minimum this acceptor records for that proposer:
 * it was sent before a garbage collection the proposer has since been told about, or by a proposer
 * the garbage collection left out. `required` is the minimum.
 */
export interface AgeRejection {
  /** Discriminant. */
  readonly type: 'age';
  /** The minimum age this acceptor accepts from the requesting proposer. */
  readonly required: Age;
}

/**
 * Prepare succeeded: the acceptor promised to ignore ballots below the request's and reports what
 * it accepted last (`ZERO_BALLOT` and `null` if nothing).
 */
export interface Promised<S = State> {
  /** Discriminant. */
  readonly type: 'promised';
  /**
   * The ballot of the last accepted state, `ZERO_BALLOT` if none. Paper §2.2: the acceptor
   * "returns a confirmation either with an empty value (if it hasn't accepted any value yet) or
   * with a tuple of an accepted value and its ballot number".
   */
  readonly accepted: Ballot;
  /**
   * The last accepted state, `null` if none: the proposer applies its change function to the state
   * with the highest `accepted` ballot among a quorum of promises.
   */
  readonly state: S;
  /**
   * The ancestry of the accepted state: for each proposer but the state's own, the highest of its
   * ballots among the states it was computed from (its parent, grandparent, ...); empty when
   * nothing is accepted or one proposer wrote everything (see `ancestryOf`). An extension of the
   * paper: it lets a proposer whose accept had an unknown outcome tell, from its next prepare,
   * whether one of its states is an ancestor of the current one (see `recoveryDecision`).
   * Acceptors that do not keep it omit it.
   */
  readonly ancestry?: readonly Ballot[] | undefined;
}

/** Accept succeeded: the acceptor stored the state under the request's ballot. */
export interface Accepted {
  /** Discriminant. */
  readonly type: 'accepted';
  /**
   * Present when the request asked for it (`AcceptOptions.next`): the acceptor has also promised
   * this ballot, so the proposer's next change to the key may skip the prepare phase (paper §2.2.1).
   */
  readonly promised?: Ballot;
}

/**
 * The answer to a peek (`Peeker.peek`): what the acceptor has accepted for the key, taken without
 * a promise and without writing anything. `ZERO_BALLOT` and `null` when it accepted nothing (the
 * key was never written here, holds only a promise, or was removed by garbage collection). Only
 * durable state is reported: an acceptor whose accept of the key is still being made durable
 * answers after it is. A peek is not an attempt and carries no ballot; see `proposer/fast-read`.
 */
export interface Peeked<S = State> {
  /** Discriminant. */
  readonly type: 'peeked';
  /** The ballot of the last accepted state, `ZERO_BALLOT` if none. */
  readonly accepted: Ballot;
  /** The last accepted state, `null` if none (or empty). */
  readonly state: S;
}

/** What an acceptor answers to `peek`: always `Peeked` (a peek cannot conflict, and has no age). */
export type PeekReply<S = State> = Peeked<S>;

/** `S` is the state's representation: `State` on the wire; an acceptor may store another. */
export type PrepareReply<S = State> = Promised<S> | Conflict | AgeRejection;
/**
 * What an acceptor answers to `accept`: the state was stored (`Accepted`), a higher ballot beat the
 * request (`Conflict`), or the proposer's age is stale (`AgeRejection`).
 */
export type AcceptReply = Accepted | Conflict | AgeRejection;

/**
 * The answer to `removeIfEqual`: the record was removed, there was nothing to remove, or the
 * record's accepted ballot is not the tombstone's (`accepted` says which it is), so it was kept.
 */
export type RemoveReply =
  | {
      /** The record was accepted under the tombstone's ballot with an empty state: it is gone. */
      readonly type: 'removed';
    }
  | {
      /** There was no record (never written, or removed before): nothing to do. */
      readonly type: 'absent';
    }
  | {
      /** The record was kept: its accepted ballot is not the tombstone's, or its state is not empty. */
      readonly type: 'not-equal';
      /** The ballot the kept record was accepted under. */
      readonly accepted: Ballot;
    };

/** A state together with the ballot under which it was accepted. */
export interface AcceptedState {
  /** The ballot under which `state` was accepted. */
  readonly ballot: Ballot;
  /** The accepted state (`null`: empty). */
  readonly state: State;
}

/**
 * Input to garbage collection: the empty state and the ballot under which every acceptor accepted
 * it (paper §3.1 step 1). Acceptors remove a record only if its accepted ballot is this ballot.
 */
export interface Tombstone {
  /** The ballot under which every acceptor accepted the empty state. */
  readonly ballot: Ballot;
  /** The tombstone's state: the empty state (`null`), the only one garbage collection removes. */
  readonly state: State;
}
