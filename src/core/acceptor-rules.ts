/**
 * The acceptor's rules as pure functions `(record, request) -> { next, reply }`.
 *
 * A shell (`MemoryAcceptor`, later a durable store) looks the record up, calls a rule, stores
 * `next` when there is one — durably, where the store is durable — and only then sends `reply`.
 * Rules never mutate their inputs, so a shell can apply them inside any atomic section.
 */
import type { Age } from './age.js';
import { type Ballot, ZERO_BALLOT, ballotEquals, compareBallots, maxBallot } from './ballot.js';
import type { AcceptReply, AgeRejection, Conflict, PeekReply, PrepareReply, RemoveReply, State } from './messages.js';
import { NO_ANCESTRY } from './ancestry.js';
import { MAX_BALLOT_JUMP } from './key-ballots.js';

// The ancestry an acceptor stores with each state is built by `ancestry.ts`; its names stay part of
// the public `acceptorRules` namespace, where they were first exported.
export { ANCESTRY_FLOOR_ID, ANCESTRY_LIMIT, NO_ANCESTRY, ancestryOf } from './ancestry.js';

/**
 * What an acceptor keeps for one key. Invariant: `promise >= accepted` (an accept raises the promise
 * to the accepted ballot, which is what the paper's "erase the promise" amounts to, see `accept`).
 */
export interface KeyRecord<S = State> {
  /**
   * The highest ballot promised (by a prepare, or by an accept, which raises it to the accepted
   * ballot); `ZERO_BALLOT` or the floor when none.
   */
  readonly promise: Ballot;
  /** The ballot `state` was accepted under; `ZERO_BALLOT` when nothing was. */
  readonly accepted: Ballot;
  /** The accepted state, in whatever representation the acceptor stores (`State` by default). */
  readonly state: S;
  /**
   * The state's ancestry (see `Promised.ancestry`); `undefined` when unknown: the accept that
   * stored the state did not carry one, and recovery must not read "none" into it.
   */
  readonly ancestry: readonly Ballot[] | undefined;
}

/** A rule's verdict: the reply to send and, when the record changes, the record to store first. */
export interface RuleResult<R, S = State> {
  /** The reply to send, after `next` is stored. */
  readonly reply: R;
  /**
   * The record to store before replying, when it changes. A durable acceptor stores it before it
   * replies: one that replied first and then crashed could forget a promise it gave (paper §2.2:
   * "it persists the ballot number as a promise").
   */
  readonly next?: KeyRecord<S>;
}

/** The reply to an accept that asked for no promise (shared: replies are never mutated). */
const ACCEPTED: AcceptReply = Object.freeze({ type: 'accepted' });

/**
 * The record an absent key behaves as. `floor` is the acceptor-wide tombstone floor: the highest
 * promise among records this acceptor has removed (see `remove`). Without it, removing a record
 * would also forget its promise, and a proposer the garbage collection did not fast-forward (a new
 * or restarted proposer) could get a ballot below the tombstone accepted on the acceptors that
 * already removed the key, while others still hold the tombstone at a higher ballot; the next read
 * would pick the tombstone and lose that write.
 */
export function absentRecord(floor: Ballot): KeyRecord<null> {
  return { promise: floor, accepted: ZERO_BALLOT, state: null, ancestry: NO_ANCESTRY };
}

/**
 * The conflict an acceptor holding `record` answers to a request its ballot does not beat (see
 * `promises` and `accepts`). `floor` is the acceptor's tombstone floor.
 */
export function conflictWith(record: KeyRecord<unknown>, floor: Ballot): Conflict {
  // Report the acceptor's highest ballot so the proposer fast-forwards past everything it knows,
  // and the highest ballot it may have accepted (see `Conflict.accepted`).
  const accepted = maxBallot(record.accepted, floor);
  return compareBallots(record.promise, record.accepted) > 0
    ? { type: 'conflict', ballot: record.promise, kind: 'promise', accepted }
    : { type: 'conflict', ballot: record.accepted, kind: 'accepted', accepted };
}

/**
 * GC fence, paper §3.1 step 3: "asks to reject messages from proposers if their age is younger than
 * the corresponding age from the previous step". `minimum` is the recorded minimum for `age.id`
 * (0 when none is recorded). Returns the rejection to send, or `undefined` to go on.
 */
export function checkAge(age: Age, minimum: number): AgeRejection | undefined {
  return age.counter < minimum ? { type: 'age', required: { counter: minimum, id: age.id } } : undefined;
}

/**
 * The test of phase 1b (`prepare`): whether an acceptor holding `record` promises `ballot`, i.e.
 * `ballot > promise` and `ballot > accepted`. Shells that build the new record themselves (the
 * in-process path of `MemoryAcceptor`) decide with this, so the rule has one definition.
 */
export function promises(record: KeyRecord<unknown>, ballot: Ballot): boolean {
  return compareBallots(ballot, record.promise) > 0 && compareBallots(ballot, record.accepted) > 0;
}

/**
 * The test of phase 2b (`accept`): whether an acceptor holding `record` stores a state under
 * `ballot`, i.e. `ballot >= promise` and `ballot > accepted`. What it then stores does not depend
 * on `record` (see `accept`).
 */
export function accepts(record: KeyRecord<unknown>, ballot: Ballot): boolean {
  return compareBallots(ballot, record.promise) >= 0 && compareBallots(ballot, record.accepted) > 0;
}

/**
 * Phase 1b. Paper §2.2: "An acceptor returns a conflict if it already saw a greater ballot number.
 * Otherwise, it persists the ballot number as a promise and returns a confirmation either with an
 * empty value (if it hasn't accepted any value yet) or with a tuple of an accepted value and its
 * ballot number."
 *
 * Succeeds only if `ballot > promise` and `ballot > accepted`. Strict: a repeated or duplicated
 * prepare with the same ballot is a conflict, so one ballot can never be promised twice.
 * `floor` is the acceptor's tombstone floor, reported in conflicts (see `Conflict.accepted`).
 */
export function prepare<S = State>(record: KeyRecord<S>, ballot: Ballot, floor: Ballot = ZERO_BALLOT): RuleResult<PrepareReply<S>, S> {
  if (!promises(record, ballot)) return { reply: conflictWith(record, floor) };
  return {
    reply: { type: 'promised', accepted: record.accepted, state: record.state, ancestry: record.ancestry },
    next: { promise: ballot, accepted: record.accepted, state: record.state, ancestry: record.ancestry },
  };
}

/**
 * A peek: what the acceptor accepted, reported without a promise, so nothing is stored (there is
 * no `next`; a shell stores nothing and has nothing to make durable for it). Pass the key's record,
 * or `absentRecord(floor)` when there is none: an absent key reports `ZERO_BALLOT` and the empty
 * state, whether it was never written or removed by garbage collection (see `proposer/fast-read`
 * for why a quorum of such answers may be read as the empty state).
 *
 * The reply depends on `accepted` and `state` alone, the part of the record that only ever moves
 * forward: `accepts` requires `ballot > accepted`, so an acceptor's accepted ballot only grows,
 * and `remove` drops a record only when it holds the empty state under a tombstone's ballot.
 */
export function peek<S = State>(record: KeyRecord<S>): PeekReply<S> {
  return { type: 'peeked', accepted: record.accepted, state: record.state };
}

/** What an accept request may carry besides the ballot and the state. */
export interface AcceptExtras {
  /**
   * One-round-trip (paper §2.2.1, "piggybacking" the next prepare): on success, also promise this
   * ballot, which must be above the request's. The proposer's next change to the key can then be
   * accepted under it without a prepare phase.
   */
  readonly next?: Ballot | undefined;
  /**
   * The ancestry of the state, stored with it (see `Promised.ancestry`). Absent means unknown, and
   * is stored as unknown: an empty ancestry is a claim (one writer), not a default.
   */
  readonly ancestry?: readonly Ballot[] | undefined;
}

/**
 * Phase 2b. Paper §2.2: "An acceptor returns a conflict if it already saw a greater ballot number.
 * Otherwise, it erases the promise, marks the received tuple (ballot number, value) as the accepted
 * value and returns a confirmation."
 *
 * Succeeds if `ballot >= promise` and `ballot > accepted`. rystsov (quoted by the seed): "During the
 * accept phase, it's not necessary for the promise to be equal to the passed ballot number. The
 * promise simply cannot be larger." The strict `> accepted` makes a duplicated accept a conflict.
 * Instead of erasing the promise we set it to the accepted ballot: every later request compares
 * against both anyway, and `promise >= accepted` stays an invariant a monitor can check.
 * `floor` is the acceptor's tombstone floor, reported in conflicts (see `Conflict.accepted`).
 * `extras.next` piggybacks the promise of the proposer's next ballot (one round trip, §2.2.1);
 * `extras.ancestry` is stored with the state.
 */
export function accept<S = State>(
  record: KeyRecord<S>,
  ballot: Ballot,
  state: S,
  floor: Ballot = ZERO_BALLOT,
  extras: AcceptExtras = {},
): RuleResult<AcceptReply, S> {
  if (!accepts(record, ballot)) return { reply: conflictWith(record, floor) };
  return acceptance(ballot, state, extras);
}

/**
 * What `accept` stores and answers once `accepts(record, ballot)` holds: a function of the request
 * alone, not of the record it replaces, so acceptors in one process can store one shared record
 * (see `MemoryAcceptor`'s in-process path).
 */
export function acceptance<S = State>(ballot: Ballot, state: S, extras: AcceptExtras = {}): Required<RuleResult<AcceptReply, S>> {
  const { next, ancestry } = extras;
  // With a piggybacked promise the record promises `next` (> ballot): the invariant
  // promise >= accepted holds either way.
  if (next !== undefined && compareBallots(next, ballot) > 0) {
    return { reply: { type: 'accepted', promised: next }, next: { promise: next, accepted: ballot, state, ancestry } };
  }
  return { reply: ACCEPTED, next: { promise: ballot, accepted: ballot, state, ancestry } };
}

/** The verdict of `remove`: the reply, and when removed, the new tombstone floor. */
export interface RemoveResult {
  /** The reply to send. */
  readonly reply: RemoveReply;
  /**
   * When the record was removed: the new acceptor-wide floor, to store with the removal (its
   * promise survives it).
   */
  readonly floor?: Ballot;
}

/**
 * GC step 4, paper §3.1: "Removes the register from each acceptor if it contains the tombstone from
 * the 1st step." The seed compared values, which also removes a newer tombstone written after the
 * collection started (and so lets an older value win the next read); we compare the accepted ballot,
 * which names exactly one accepted value, and also require that value to be empty.
 *
 * On removal the record's promise survives as the acceptor-wide floor (`absentRecord`), so removing
 * never un-promises anything.
 *
 * Which is why a record whose promise is more than `MAX_BALLOT_JUMP` counters above the tombstone
 * is kept (answered `not-equal`, the tombstone still accepted): its promise would become every
 * absent key's, and one prepare near `MAX_BALLOT_COUNTER` on a deleted key (a hostile one: honest
 * proposers' counters stay within `MAX_BALLOT_JUMP` of one another, see `core/key-ballots.ts`)
 * would then exhaust the ballots of every key this acceptor has not yet seen (issue 11: a hostile
 * ballot makes at most its own key unusable). Keeping a record is always safe: step d is only
 * there to free space; the key stays a tombstone, empty to every read.
 */
export function remove(record: KeyRecord<unknown> | undefined, tombstone: Ballot, floor: Ballot): RemoveResult {
  if (record === undefined) return { reply: { type: 'absent' } };
  if (!ballotEquals(record.accepted, tombstone) || record.state !== null || record.promise.counter - tombstone.counter > MAX_BALLOT_JUMP) {
    return { reply: { type: 'not-equal', accepted: record.accepted } };
  }
  return { reply: { type: 'removed' }, floor: maxBallot(floor, record.promise) };
}

/**
 * GC step 3: the ages to record, raising each proposer's minimum and never lowering it (the seed
 * overwrote the minimum, so a late or repeated step could re-admit messages it had fenced off).
 * Returns only the entries that change; a proposer listed twice counts with its highest age.
 */
export function raiseAges(minimumOf: (id: string) => number, ages: readonly Age[]): Age[] {
  const raised = new Map<string, number>();
  for (const age of ages) {
    const current = raised.get(age.id) ?? minimumOf(age.id);
    if (age.counter > current) raised.set(age.id, age.counter);
  }
  return Array.from(raised, ([id, counter]) => ({ counter, id }));
}
