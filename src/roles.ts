/**
 * The roles, as in the seed: one small interface per responsibility, composed into `Acceptor` and
 * `Proposer`. "Acceptor" (-or) is the noun, the whole acceptor; "Accepter" (-er) is the verb, the
 * second-phase responsibility alone. Code that needs one responsibility asks for that interface,
 * so a test double or a remote implementation only has to provide what is used.
 *
 * Every asynchronous method takes a last optional `{ signal }`; an aborted call rejects with
 * `signal.reason`. Acceptor methods resolve with protocol outcomes (conflicts included) and reject
 * only when the acceptor could not be reached or refused malformed input.
 */
import type { Age } from './core/age.js';
import type { Ballot } from './core/ballot.js';
import type { AcceptReply, AcceptedState, PeekReply, PrepareReply, RemoveReply, State, Tombstone } from './core/messages.js';
import type { ChangeContext } from './core/attempt.js';

export type { ChangeContext } from './core/attempt.js';

/** Options every asynchronous method accepts. */
export interface CallOptions {
  /** Cancels the call; it then rejects with `signal.reason`. */
  readonly signal?: AbortSignal | undefined;
}

/** Options of `accept`: besides cancellation, what the accept message carries beyond ballot and state. */
export interface AcceptOptions extends CallOptions {
  /**
   * One round trip (paper §2.2.1): on success, also promise this ballot (above the request's), and
   * say so in the reply (`Accepted.promised`), so the proposer may skip the prepare phase of its
   * next change to the key. An acceptor that cannot honour it must ignore it (and not say so).
   */
  readonly next?: Ballot | undefined;
  /** The ancestry of the state (see `Promised.ancestry`), to store and report in promises. */
  readonly ancestry?: readonly Ballot[] | undefined;
}

/** Options of `identityRead`. */
export interface ReadOptions extends CallOptions {
  /**
   * Always run the full identity round (prepare, then accept of the state found), even when a
   * read that writes nothing would do: for callers that read in order to write, such as the
   * re-replication pass of a membership change. Proposers that always write back ignore it.
   * @default false
   */
  readonly writeBack?: boolean | undefined;
}

/** Options of `watch`. */
export interface WatchOptions extends CallOptions {
  /**
   * How many states may wait for a slow consumer. When more arrive, the oldest waiting ones are
   * dropped, so a consumer that falls behind skips intermediate states but always gets the latest,
   * and an acceptor never waits for a consumer.
   * @default 1024
   */
  readonly bufferSize?: number | undefined;
}

/**
 * A change function: given the current state (`null` if empty), returns the next state. It must
 * be free of side effects: a proposer may call it more than once (once per attempt), or never.
 * It must not modify or keep `current`: in a batch it is the previous change's result, and on a
 * hot key it may be the array the key's previous change got (`MemoryProposer` checks that array
 * still holds the state before each hand-out, and never hands out one a caller got back).
 * `MemoryProposer` also passes a `ChangeContext` (the attempt's ballot and the change's step in
 * its round), from which a change can stamp what it writes with a number that strictly increases
 * along the key's history (the key-value store's versions); proposers of other libraries may not.
 */
export type ChangeFunc = (current: State, context?: ChangeContext) => State;

/** What a successful proposal resolves to: the new state and the ballot it was accepted under. */
export interface ProposeResult {
  /** The state this proposal's change function produced (the register's state right after it). */
  readonly state: State;
  /**
   * The ballot of the round that committed it. That round may have carried later changes too (a
   * batch: `state` is then this change's step, not the round's final state), or committed again,
   * after an unknown outcome, a state descending from it (see `recoveryDecision`).
   */
  readonly ballot: Ballot;
}

/** Something with a unique address, typically `protocol://host:port` or a name. */
export interface Addresser {
  /**
   * The unique address: how logs, traces and errors name this node, and how a proposer tells its
   * acceptors apart (configuring two with one address is a `DuplicateError`).
   */
  readonly address: string;
}

/** The first-phase responsibility of an acceptor (paper §2.2, message 1b). */
export interface Preparer {
  /**
   * Phase 1 (paper §2.2): promise to ignore ballots below `ballot` for `key` and report the last
   * accepted state, or answer a conflict (a higher ballot was seen) or an age rejection (`age` is
   * below the minimum recorded for the proposer). A durable acceptor stores the promise before it
   * resolves.
   */
  prepare(key: string, age: Age, ballot: Ballot, opts?: CallOptions): Promise<PrepareReply>;
}

/** The second-phase responsibility of an acceptor (paper §2.2, message 2b). */
export interface Accepter {
  /**
   * Phase 2 (paper §2.2): store `state` for `key` under `ballot` unless a higher ballot was
   * promised or accepted, or answer a conflict or an age rejection. A durable acceptor stores the
   * state before it resolves.
   */
  accept(key: string, age: Age, ballot: Ballot, state: State, opts?: AcceptOptions): Promise<AcceptReply>;
}

/** The garbage-collection responsibilities of an acceptor (paper §3.1, steps c and d). */
export interface RejectRemover {
  /** Raises the minimum age required of each listed proposer (never lowers it). */
  rejectByAge(ages: readonly Age[], opts?: CallOptions): Promise<void>;
  /** Removes the key's record if it was accepted under the tombstone's ballot with an empty state. */
  removeIfEqual(key: string, tombstone: Tombstone, opts?: CallOptions): Promise<RemoveReply>;
}

/**
 * Watches one key: yields its current state first, then each change, and ends when the signal
 * aborts or the consumer stops iterating. Acceptors yield `AcceptedState` (state and ballot);
 * proposers yield states.
 */
export interface StateWatcher<T = State> {
  /**
   * Yields the current state of `key`, then each change, until `opts.signal` aborts or the consumer
   * stops iterating.
   */
  watch(key: string, opts?: WatchOptions): AsyncIterable<T>;
}

/**
 * Lists the keys an acceptor holds an accepted state for. Membership changes use it to re-read
 * every key, not just one (see `growCluster`).
 */
export interface KeyLister {
  /** Yields every key with an accepted state, each once, in no particular order. */
  listKeys(opts?: CallOptions): AsyncIterable<string>;
}

/**
 * Reads what an acceptor accepted without a promise (see `proposer/fast-read`): the request of a
 * read that writes nothing. An optional capability: an acceptor without it (a third-party one, or
 * an older version behind a transport) still serves every read, through the full identity round.
 */
export interface Peeker {
  /**
   * Reports the last accepted ballot and state of `key` (`ZERO_BALLOT` and `null` if none), taking
   * no promise and writing nothing. Reports only durable state: if an accept of the key is still
   * being made durable, answers after it is (or with what was accepted before it). Rejects like
   * the other methods when the acceptor cannot be reached, and with `UnsupportedError` when a
   * remote acceptor does not know the request.
   */
  peek(key: string, opts?: CallOptions): Promise<PeekReply>;
}

/**
 * A complete, uniquely addressed acceptor. `peek` (`Peeker`) is optional: proposers read through
 * it when every preparer has it, and through the full identity round otherwise.
 */
export interface Acceptor extends Addresser, Preparer, Accepter, RejectRemover, StateWatcher<AcceptedState>, KeyLister {
  /**
   * Optional (`Peeker.peek`): the last accepted ballot and state of `key`, without a promise and
   * without writing anything. Absent: the acceptor is read through the full identity round.
   */
  peek?(key: string, opts?: CallOptions): Promise<PeekReply>;
}

/** The membership-change responsibilities of a proposer (paper §2.3). */
export interface ConfigurationChanger {
  /**
   * Reads the current state linearizably. A proposal with the identity change function, which
   * re-writes the current state to a quorum; a proposer may answer without writing when a quorum
   * already agrees on a chosen state (`MemoryProposer`: see `proposer/fast-read`), unless
   * `opts.writeBack` asks for the write.
   */
  identityRead(key: string, opts?: ReadOptions): Promise<ProposeResult>;
  /** Every key held by enough of this proposer's accepters that no committed key is missed. */
  listKeys(opts?: CallOptions): AsyncIterable<string>;
  /** Step 1 of growing: send accepts to `target` too (the accept quorum grows with the set). */
  addAccepter(target: Acceptor, opts?: CallOptions): Promise<void>;
  /** Step 3 of growing: send prepares to `target` too. */
  addPreparer(target: Acceptor, opts?: CallOptions): Promise<void>;
  /** Step 3 of shrinking: stop sending prepares to `target`. */
  removePreparer(target: Addresser, opts?: CallOptions): Promise<void>;
  /** Step 1 of shrinking: stop sending accepts to `target`. */
  removeAccepter(target: Addresser, opts?: CallOptions): Promise<void>;
}

/** The garbage-collection responsibilities of a proposer (paper §3.1, steps a and b). */
export interface FastForwarder {
  /** An identity read whose accept phase needs every accepter: replicates the state everywhere. */
  fullIdentityRead(key: string, opts?: CallOptions): Promise<ProposeResult>;
  /** Moves the ballot counter past `ballot`, forgets anything cached for `key`, increments the age. */
  fastForwardIncrement(key: string, ballot: Ballot, opts?: CallOptions): Promise<Age>;
}

/** Introspection of a proposer's configuration, for operators. */
export interface AcceptorLister {
  /** Addresses of the acceptors prepares go to, sorted. */
  listPreparers(opts?: CallOptions): Promise<string[]>;
  /** Addresses of the acceptors accepts go to, sorted. */
  listAccepters(opts?: CallOptions): Promise<string[]>;
}

/** A complete proposer. */
export interface Proposer extends Addresser, ConfigurationChanger, FastForwarder, AcceptorLister, StateWatcher<State> {
  /** Runs `change` against the current state of `key` and resolves once a quorum accepted the result. */
  propose(key: string, change: ChangeFunc, opts?: CallOptions): Promise<ProposeResult>;
}
