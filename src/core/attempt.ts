/**
 * The proposer's decisions, one attempt at a time: a pure state machine that the async driver
 * (`MemoryProposer`) feeds with what it took and learned (the cached entry, the ballot, the decided
 * `PrepareRound` and `AcceptRound`) and that answers with what to do next. The driver takes the
 * ballots, sends the messages, awaits, traces, logs and sleeps; every choice is made here, so it
 * can be stepped by hand (the split of etcd's raft into a synchronous `RawNode` and the `Node`
 * that drives it).
 *
 * One `Attempt` serves a batch's round: its retries reuse it, keeping what carries over (the key's
 * doubt in one-round-trip promises, the accepts whose outcome is unknown). Each attempt:
 *  1. `begin`: skip the prepare phase under a promised ballot, or not (paper §2.2.1);
 *  2. `start`, under the attempt's ballot;
 *  3. `afterPrepare` (unless skipped): the current state, or why the attempt stops (paper §2.2,
 *     §3.1), and after an unknown outcome whether the changes took effect (`recoveryDecision`);
 *     an attempt whose ballot counter is not above its base's sends no accept (rule G1, below);
 *  4. `apply` the batch's changes (paper §2.2: "applies the change function to the current state"),
 *     each with its `ChangeContext` (the attempt's ballot and the change's step in the round);
 *  5. `asksNext`, `acceptQuorum`: what the accept asks for and needs (§2.2.1, §3.1 step a);
 *  6. `afterAccept`: committed, lost (no effect) or unknown; `cacheEntry` after a commit (§2.2.1);
 *  7. `finalFailure` when the retry policy runs out.
 *
 * Decisions are data (`PrepareVerdict`, ...): core builds no errors, the driver does.
 */
import type { Age } from './age.js';
import { NO_ANCESTRY, ancestryOf, recoveryDecision } from './ancestry.js';
import { type Ballot, ZERO_BALLOT, ballotEquals } from './ballot.js';
import type { State } from './messages.js';
import { majority } from './quorum.js';
import type { AcceptRound, PrepareRound } from './rounds.js';
import { isState } from './state.js';

/** The accept quorum of a proposal: a majority, or every accepter (a full identity read). */
export type QuorumMode = 'majority' | 'all';

/**
 * A one-round-trip cache entry (paper §2.2.1; the cache itself is the driver's): the ballot a
 * quorum of accepters promised when they accepted this proposer's last change to the key, and the
 * state they accepted.
 */
export interface CachedRound {
  /**
   * The promised ballot: the next attempt's ballot. `undefined` for a doubted key (`doubt` > 0),
   * whose entry holds no promise, only what judges whether one would have held (`accepted`).
   */
  readonly next: Ballot | undefined;
  /** The state accepted with that promise: the next attempt's current state. */
  readonly state: State;
  /** The ancestry of that state (see `Promised.ancestry`), what the next state's is built from. */
  readonly ancestry: readonly Ballot[];
  /** The ballot that state was accepted under. */
  readonly accepted: Ballot;
  /**
   * How doubtful the promise is: 0, use it; above 0, the key saw another proposer lately, so
   * prepare instead (see `DOUBT_AFTER_MISS`).
   */
  readonly doubt: number;
}

/**
 * After a cached promise was revoked (or a prepare shows it would have been), how many prepares in
 * a row must show that it would have held before the key skips its prepare again. A revoked
 * promise costs a wasted accept and a retry, three round trips instead of two, so the cache only
 * pays while most promises hold; a key written by several proposers (measured: three proposers on
 * shared keys, 1.65 attempts per proposal with the cache, 1.02 without) goes back to two round
 * trips, and a key that returns to a single writer to one, after three proposals.
 */
export const DOUBT_AFTER_MISS = 3;

/** A state that may contain the batch's changes, and the state each proposal's change produced in it. */
export interface PendingEntry {
  readonly ballot: Ballot;
  /** Per proposal of the batch (same positions), the state its change produced. */
  readonly results: ReadonlyArray<State | undefined>;
  /** The proposer's age when the accept was sent (a garbage collection raises it). */
  readonly age: number;
}

/** Accepts with an unknown outcome, and states found to contain the changes (see `recoveryDecision`). */
export type PendingOutcome = readonly PendingEntry[];

/**
 * What a change function is told besides the current state: the round it runs in. A change that
 * stamps what it writes with `(ballot.counter, step)` gets stamps that strictly increase along the
 * key's history (lexicographically), across deletes and garbage collection, because every round
 * obeys rule G1 (see `Attempt.afterPrepare`); the key-value store's versions are built this way.
 */
export interface ChangeContext {
  /** The ballot of the attempt applying the change: the state it produces is accepted under it. */
  readonly ballot: Ballot;
  /**
   * The change's position in its round (0 for the first; a batch applies up to `maxBatch` changes
   * in one round, each to the state the one before produced).
   */
  readonly step: number;
}

/** One proposal of a batch, as the decisions see it (the driver's proposals have this shape). */
export interface BatchChange {
  /** Whether the caller already has its answer (aborted, say): its change takes no part. */
  readonly settled: boolean;
  readonly change: (current: State, context: ChangeContext) => State;
}

/** Why a change function produced no state; its caller is rejected, the others go on. */
export type ChangeFailure =
  | { readonly kind: 'threw'; readonly error: unknown }
  /** It returned something other than bytes or null; `got` is its `typeof`. */
  | { readonly kind: 'not-a-state'; readonly got: string };

/** What the proposer knows of the garbage collections (paper §3.1) it took part in. */
export interface CollectionHistory {
  /** True when a garbage collection of `key` may have run since an attempt made at `age`. */
  collectedSince(key: string, age: number): boolean;
}

/** What the prepare phase decided (`Attempt.afterPrepare`). */
export type PrepareVerdict =
  /**
   * Go on: apply the changes to `Attempt.current` and accept. After an unknown outcome, `recovery`
   * says why (`current`/`adopted`: commit the quorum's state again; `reapply`: apply afresh).
   */
  | { readonly kind: 'proceed'; readonly recovery: 'current' | 'adopted' | 'reapply' | undefined }
  /** Lost, certainly without effect: retry (the round's conflicts and failures say why). */
  | { readonly kind: 'lost' }
  /**
   * Won, but the ballot's counter is not above the counter of the base state's ballot (`highest`):
   * rule G1 forbids accepting under it. Nothing was sent but promises, so there is no effect:
   * fast-forward past `highest` and retry at once.
   */
  | { readonly kind: 'behind'; readonly highest: Ballot }
  /**
   * The acceptors require a higher age than the proposer has: it was left out of a garbage
   * collection (paper §3.1 step 3), and no retry helps. `unknown`: the ballot of the latest accept
   * whose outcome is unknown, if any, to report first (the change may have taken effect).
   */
  | { readonly kind: 'stale-age'; readonly required: Age; readonly unknown: Ballot | undefined }
  /** A garbage collection of the key may have erased the evidence of the unknown outcome. */
  | { readonly kind: 'collected'; readonly unknown: Ballot }
  /** The quorum's state (accepted under `highest`) neither shows nor excludes the changes. */
  | { readonly kind: 'undecidable'; readonly unknown: Ballot; readonly highest: Ballot };

/**
 * What the accept phase decided (`Attempt.afterAccept`): `committed`; `lost`, certainly without
 * effect and with no earlier unknown outcome (retry); `unknown`, the changes may have taken effect
 * (retry; the next prepare decides, see `Attempt.pending`).
 */
export type AcceptVerdict = 'committed' | 'lost' | 'unknown';

/** How a round fails when the retry policy runs out (`Attempt.finalFailure`). */
export type FinalFailure =
  /** No attempt had any effect; `ballot` is the last attempt's. */
  | { readonly kind: 'prepare-failed'; readonly ballot: Ballot }
  /** The outcome is unknown; `ballot` is the latest accept with that outcome. */
  | { readonly kind: 'accept-failed'; readonly ballot: Ballot };

const PROCEED: PrepareVerdict = Object.freeze({ kind: 'proceed', recovery: undefined });
const LOST: PrepareVerdict = Object.freeze({ kind: 'lost' });

/**
 * The decisions of a batch's attempts on one key (see the module comment for the order of the
 * steps). Plain data in, decisions out; the fields are public for the driver and for tests to
 * read.
 */
export class Attempt {
  /** The key's doubt in one-round-trip promises (`CachedRound.doubt`), carried across attempts. */
  doubt = 0;
  /**
   * The unknown outcomes still in play (see `recoveryDecision`): all of them, until the round ends
   * (until a later accept commits, an older one may still be adopted); each accept of the round
   * with an unknown outcome adds its own, whether it carried the changes applied afresh or a state
   * a prepare showed to contain them, committed again. `undefined` while there is none.
   */
  pending: PendingOutcome | undefined = undefined;
  /** The attempt's ballot. */
  ballot: Ballot = ZERO_BALLOT;
  /** Whether this attempt skips its prepare phase (paper §2.2.1). */
  skipsPrepare = false;
  /**
   * Whether the driver takes this attempt's fresh ballot one counter further (two from the key's
   * ballots, `KeyBallots.next`): the first attempt of a round that prepares on a doubted key (one other proposers
   * write too). Why: two proposers changing one key in turn, one counter per change each, fall
   * into lockstep on equal counters (the next ballot of one is the accepted ballot's counter of the
   * other), and rule G1 (`afterPrepare`) turns each such prepare down: a second prepare per change.
   * Two counters per change each, after one retry (which takes one) has put them out of phase,
   * interleave instead (odd and even), and neither is turned down again. Skipping is always safe:
   * ballots stay unique and increasing.
   */
  skipsCounter = false;
  /** The current state the changes apply to (the cached one, or the prepare quorum's). */
  current: State = null;
  /** The state the accept carries. */
  state: State = null;
  /** The ancestry of `state` (see `Promised.ancestry`), sent with it. */
  ancestry: readonly Ballot[] = NO_ANCESTRY;
  /**
   * Per proposal of the batch (same positions), the state its change produced: from `apply`, or
   * after a recovery, from the state found to contain the changes. `undefined` until then.
   */
  results: ReadonlyArray<State | undefined> | undefined = undefined;
  #cached: CachedRound | undefined = undefined;

  constructor(
    /** The key of the batch. */
    readonly key: string,
    /** The batch's quorum mode. */
    readonly mode: QuorumMode,
    /** Whether the proposer uses one-round-trip promises at all (paper §2.2.1). */
    readonly oneRoundTrip: boolean,
  ) {}

  /**
   * Starts an attempt with `cached`, the entry the driver took (removed) from its one-round-trip
   * cache for the key. Every attempt takes the cached entry, used or not: whatever happens next,
   * the key ends up uncached unless this attempt commits (and caches anew). Returns the promised
   * ballot when the attempt skips its prepare phase (paper §2.2.1), else `undefined`: the driver
   * then takes a fresh ballot. Promises serve majority proposals only: a full identity read
   * (garbage collection's step a) always prepares, and asks for no promise (`asksNext`). Nor is
   * the prepare skipped after an unknown outcome: only a prepare can decide it.
   */
  begin(cached: CachedRound | undefined): Ballot | undefined {
    this.#cached = cached;
    this.results = undefined;
    if (cached !== undefined) this.doubt = cached.doubt;
    let promised = this.mode === 'majority' && this.pending === undefined ? cached?.next : undefined;
    // Rule G1 (see `afterPrepare`) without a prepare: the cached state was accepted under
    // `cached.accepted`, so the promised ballot must have a higher counter. A driver that takes
    // both from the key's ballots (`KeyBallots.next`, strictly increasing per key), the promised
    // one second, always has it; otherwise prepare.
    if (promised !== undefined && promised.counter <= (cached as CachedRound).accepted.counter) promised = undefined;
    this.skipsPrepare = promised !== undefined;
    this.skipsCounter = promised === undefined && this.doubt > 0 && this.ballot === ZERO_BALLOT;
    return promised;
  }

  /**
   * The attempt runs under `ballot`, never used before: the promised one (reserved from the key's
   * ballots when it was sent) or a fresh one. Without a prepare phase, the current state is the
   * cached one, which the promising quorum accepted.
   */
  start(ballot: Ballot): void {
    this.ballot = ballot;
    const cached = this.#cached;
    if (this.skipsPrepare && cached !== undefined) {
      this.current = cached.state;
      this.ancestry = ancestryOf(ballot, cached.ancestry, cached.accepted);
    }
  }

  /**
   * Paper §2.2, phase 1: "waits for the F+1 confirmations. If they all contain the empty value,
   * then the proposer defines the current state as ∅ otherwise it picks the value of the tuple
   * with the highest ballot number" (`PrepareRound.state`). `prepare` is decided; `proposerAge` is
   * the proposer's age now (a garbage collection may have raised it during the round);
   * `collections` tells whether one of this key ran since an unknown accept.
   */
  afterPrepare(prepare: PrepareRound, proposerAge: number, collections: CollectionHistory): PrepareVerdict {
    if (prepare.status === 'lost') {
      const { requiredAge } = prepare;
      // Not the race with a garbage collection that already bumped our age: we are stale. After
      // an unknown outcome, say so first: the change may have taken effect.
      if (requiredAge !== undefined && requiredAge.counter > proposerAge) {
        return { kind: 'stale-age', required: requiredAge, unknown: this.pending?.at(-1)?.ballot };
      }
      return LOST;
    }
    // Rule G1: a round commits under a ballot whose counter is strictly above the counter of its
    // base state's ballot. A won prepare only guarantees B > b in ballot order (§2.1: "compare the
    // first component of the tuples and use ID only as a tiebreaker"), so B = 7/p2 over b = 7/p1
    // passes. Such an attempt accepts nothing (a prepare alone changes no state, only promises, so
    // it had no effect) and the driver retries past b. Why: the value a round writes may carry
    // (B.counter, step) as a stamp (`ChangeContext`); with G1 the stamps of the states a key goes
    // through strictly increase along its history (proof in src/kv/key-value-store.ts, "Versions").
    // A one-round-trip attempt is checked in `begin`. Every round obeys G1, re-commits (reads,
    // recoveries) included: the proof uses it for the garbage collection's full identity read.
    if (prepare.highestAccepted.counter >= this.ballot.counter) return { kind: 'behind', highest: prepare.highestAccepted };
    this.current = prepare.state;
    this.ancestry = ancestryOf(this.ballot, prepare.ancestry, prepare.highestAccepted);
    const cached = this.#cached;
    if (cached !== undefined) {
      // The promise went unused: would it have held? Not if another proposer wrote since.
      this.doubt = ballotEquals(prepare.highestAccepted, cached.accepted) ? Math.max(0, this.doubt - 1) : DOUBT_AFTER_MISS;
    }
    const pending = this.pending;
    if (pending === undefined) return PROCEED;
    const unknown = (pending.at(-1) as PendingEntry).ballot;
    // A garbage collection of this key ran since: its removal step may have erased the records
    // that would show the change, and absent records read as "never chosen" would apply it twice.
    // (A collection of another key leaves this key's records alone: the prepare still decides,
    // under the new age.)
    if (pending.some((entry) => collections.collectedSince(this.key, entry.age))) return { kind: 'collected', unknown };
    const verdict = recoveryDecision(
      pending.map((entry) => entry.ballot),
      prepare.highestAccepted,
      prepare.ancestry,
    );
    if (verdict.decision === 'undecidable') return { kind: 'undecidable', unknown, highest: prepare.highestAccepted };
    if (verdict.decision === 'current' || verdict.decision === 'adopted') {
      // The quorum's state contains the change: commit it again (an identity step) so its
      // descendants are chosen; each caller keeps the state its own change produced then.
      this.results = (pending[verdict.match] as PendingEntry).results;
    }
    return { kind: 'proceed', recovery: verdict.decision };
  }

  /**
   * Paper §2.2: "The proposer applies the change function to the current state." The changes of
   * the batch's live proposals apply in arrival order, each to the state the one before produced;
   * `state` and `results` hold the outcome. A change that throws, or returns something other than
   * bytes or null, is reported to `onFailure` (its caller alone is rejected, before anything is
   * sent) and skipped; `onFailure` gets the attempt too, so one handler serves every attempt (no
   * closure per attempt on the hot path). Returns false when none applied: there is nothing to
   * accept. After a recovery that found the changes in the quorum's state (`current`, `adopted`),
   * applies nothing: that state is committed again as it is.
   */
  apply<C extends BatchChange>(batch: readonly C[], onFailure: (change: C, failure: ChangeFailure, attempt: Attempt) => void): boolean {
    if (this.results !== undefined) {
      this.state = this.current;
      return true;
    }
    let state = this.current;
    let applied = 0;
    const results = new Array<State | undefined>(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const proposal = batch[i] as C;
      if (proposal.settled) continue;
      let next: unknown;
      try {
        next = proposal.change(state, { ballot: this.ballot, step: i });
      } catch (error) {
        onFailure(proposal, { kind: 'threw', error }, this);
        continue;
      }
      if (!isState(next)) {
        onFailure(proposal, { kind: 'not-a-state', got: typeof next }, this);
        continue;
      }
      state = next;
      results[i] = next;
      applied++;
    }
    this.state = state;
    this.results = results;
    return applied > 0;
  }

  /**
   * Whether the accept also asks the acceptors to promise a fresh ballot for the next change to
   * the key (paper §2.2.1, the next prepare piggybacked on the accept). A doubted key asks for no
   * promise: unused, it would only make competitors' prepares fail.
   */
  get asksNext(): boolean {
    return this.oneRoundTrip && this.mode === 'majority' && this.doubt === 0;
  }

  /**
   * Paper §2.2, phase 2: the accept "waits for the F+1 confirmations" of `accepters`; a full
   * identity read needs every accepter (paper §3.1 step a: "executing the identity transform with
   * max quorum size").
   */
  acceptQuorum(accepters: number): number {
    return this.mode === 'all' ? accepters : majority(accepters);
  }

  /**
   * Classifies the decided accept phase, sent at the proposer's age `age`, and records an unknown
   * outcome in `pending`.
   */
  afterAccept(accept: AcceptRound, age: number): AcceptVerdict {
    if (accept.status === 'won') return 'committed';
    // A cached promise revoked by a competitor's prepare: doubt the key's next ones.
    if (this.skipsPrepare) this.doubt = DOUBT_AFTER_MISS;
    // Rejected by every accepter: this attempt is stored nowhere, so it had no effect (an earlier
    // unknown outcome, if any, is still unknown).
    if (accept.rejectedByAll) return this.pending === undefined ? 'lost' : 'unknown';
    // Otherwise some acceptors may hold `state` and a later prepare may adopt it: the outcome is
    // unknown until a later prepare round decides it. Never report it as "nothing happened", and
    // never apply the changes again without that decision: it could apply them twice.
    const entry: PendingEntry = { ballot: accept.ballot, results: this.results as ReadonlyArray<State | undefined>, age };
    this.pending = this.pending === undefined ? [entry] : [...this.pending, entry];
    return 'unknown';
  }

  /**
   * Paper §2.2.1: after a committed accept, what to cache for the key's next change, if anything.
   * A promise only when a full accept quorum acknowledged the state AND promised the next ballot
   * (gryadka's cache, laxer, lost acknowledged writes); for a doubted key, the doubt and the
   * ballot just committed (its next prepare judges whether a promise would have held). `current`
   * says that nothing which clears the key's entry (a membership change, a garbage collection's
   * fast-forward of this key) happened during the round; otherwise nothing is cached. A collection
   * of another key raises the proposer's age but leaves this key's promise standing.
   * The entry holds `state` itself, which the callers get too and may change: the cache keeps its
   * own copy.
   */
  cacheEntry(accept: AcceptRound, current: boolean): CachedRound | undefined {
    if (!current) return undefined;
    if (accept.next !== undefined && accept.promisedNext >= accept.tally.needed) {
      return { next: accept.next, state: this.state, ancestry: this.ancestry, accepted: accept.ballot, doubt: 0 };
    }
    if (this.doubt > 0) return { next: undefined, state: null, ancestry: NO_ANCESTRY, accepted: accept.ballot, doubt: this.doubt };
    return undefined;
  }

  /**
   * The retry policy ran out. With an unknown outcome still in play the round fails as unknown,
   * under the latest such accept's ballot (not the last attempt's, which may never have passed its
   * prepare phase); otherwise nothing took effect.
   */
  finalFailure(): FinalFailure {
    const unknown = this.pending?.at(-1);
    return unknown === undefined ? { kind: 'prepare-failed', ballot: this.ballot } : { kind: 'accept-failed', ballot: unknown.ballot };
  }
}
