/**
 * The in-process fast path of `MemoryAcceptor`: what a proposer in the same process may call
 * instead of `prepare` and `accept`.
 *
 * `prepare` and `accept` are a trust boundary: their arguments may come from a user or, through a
 * server, from the network, so they are validated, answered through a promise, and every state is
 * copied in and out. A `MemoryProposer` holding a `MemoryAcceptor` object is in the same process
 * and has validated everything it sends already: the key when the proposal was submitted, the
 * state when the change function returned it (`Attempt.apply`); its ballots, next ballots, ages
 * and ancestries it built itself. For such a caller the acceptor offers, under the symbol
 * `inProcess`, the same rules without the re-validation, answered synchronously, with the
 * immutable parts shared between the acceptors of one phase: the accepted record (state copy
 * included) is built once per accept phase (`SharedAccept`), and a promise's record and reply once
 * per prepare phase when the acceptors held the same record (`SharedPrepare`).
 *
 * Nothing else changes: each acceptor still checks the age and the ballot against its own record
 * (`acceptorRules.promises`, `acceptorRules.accepts`), stores its verdict before it returns it,
 * keeps its own map of records, and notifies its watchers. The proposer feeds the replies to the
 * same rounds, in the order it calls the acceptors (`feedInProcess`); an attempt whose acceptors
 * all answer this way runs synchronously, and its round holds its key for one microtask more. An
 * acceptor whose `prepare` or `accept` is overridden (a subclass or wrapper that counts, delays
 * or breaks requests) does not offer the path: it must see every request.
 * `MemoryProposerOptions.inProcess: false` turns the path off for a proposer.
 */
import * as rules from '../core/acceptor-rules.js';
import type { KeyRecord } from '../core/acceptor-rules.js';
import type { Age } from '../core/age.js';
import type { Ballot } from '../core/ballot.js';
import type { AcceptReply, PeekReply, PrepareReply, Promised, State } from '../core/messages.js';
import { type CompactState, toCompactState } from './compact-state.js';

/**
 * The key of the method that offers the in-process path: `acceptor[inProcess]()` returns a
 * `TrustedAcceptor`, or `undefined` when this acceptor must be called through its public methods.
 * @internal
 */
export const inProcess: unique symbol = Symbol('caspaxos.inProcess');

/** An object that may offer the in-process path (a `MemoryAcceptor`). @internal */
export interface InProcessCapable {
  [inProcess]?(): TrustedAcceptor | undefined;
}

/**
 * The acceptor rules without re-validation, for a caller in the same process that validated the
 * request itself (see the module comment). Both methods check and store synchronously, like the
 * public ones, and return what those would resolve with.
 * @internal
 */
export interface TrustedAcceptor {
  /** `prepare`, for a phase whose acceptors share `shared`. */
  prepare(key: string, age: Age, ballot: Ballot, shared: SharedPrepare): PrepareReply;
  /** `accept` of `shared`: its state, under the ballot it was built for. */
  accept(key: string, age: Age, shared: SharedAccept): AcceptReply;
  /** `peek`: the accepted ballot and a copy of the state, nothing stored. */
  peek(key: string): PeekReply;
}

/** The acceptor's in-process path, if it offers one. */
export function trustedAcceptorOf(acceptor: object): TrustedAcceptor | undefined {
  return (acceptor as InProcessCapable)[inProcess]?.();
}

/**
 * What the acceptors of one prepare phase share: the promise an acceptor made from a record, so
 * another acceptor holding that same (immutable) record stores the same new record and answers the
 * same reply, whose state is decoded once. One per prepare phase, for its one ballot.
 * @internal
 */
export class SharedPrepare {
  // The last promise an acceptor of the phase made, to share with the next one: the record it
  // was made from (`undefined` before the first), the record stored and the reply. Three fields,
  // not an object per phase.
  /** The record the last promise was made from. */
  promisedFrom: KeyRecord<CompactState> | undefined = undefined;
  /** The record it stored. */
  promisedTo: KeyRecord<CompactState> | undefined = undefined;
  /** Its reply, the state decoded: a fresh copy, which only the proposer's round reads. */
  promisedReply: Promised | undefined = undefined;

  /**
   * The kept form of `state` when it is the state of the shared reply: a cheap source of a copy
   * of the same bytes (see `toCompactState`'s `previous`).
   */
  keptFormOf(state: State): CompactState | undefined {
    const from = this.promisedFrom;
    return from !== undefined && this.promisedReply?.state === state ? from.state : undefined;
  }
}

/**
 * What the acceptors of one accept phase share: the record every acceptor that accepts stores
 * (`acceptorRules.acceptance`: it does not depend on the record it replaces), with one kept copy
 * of the state, and the reply. Immutable.
 * @internal
 */
export class SharedAccept {
  readonly record: KeyRecord<CompactState>;
  readonly reply: AcceptReply;

  /**
   * @param previous a kept state that may hold the same bytes as `state` (the state it was
   *   computed from): then it is shared instead of copied.
   */
  constructor(ballot: Ballot, state: State, next: Ballot | undefined, ancestry: readonly Ballot[] | undefined, previous?: CompactState) {
    const { reply, next: record } = rules.acceptance(ballot, toCompactState(state, previous), { next, ancestry });
    this.record = record;
    this.reply = reply;
  }
}
