/**
 * A proposer's ballots, per key: one global counter for every key in normal operation, and a
 * counter of its own for a key whose acceptors hold a ballot far ahead of the global one, so that
 * one such ballot (a forged or faulty request, at up to `MAX_BALLOT_COUNTER`) uses up the counters
 * of its own key only.
 *
 * Why. Paper §2.2: "The proposer generates a ballot number B, by incrementing the current ballot
 * number's counter", and a proposer that meets a higher ballot "fast-forwards" past it. With one
 * counter for all keys, one prepare at counter 2^48 - 1 on one key moved it to the limit for every
 * key: after touching that key once, the proposer had no ballot left for any key (issue 11).
 *
 * The rules. G is the global counter; F[K] the floor of key K, kept for a few keys only.
 *  - A ballot for K has counter c = max(G, F[K] ?? 0) + 1; then F[K] := c if K has a floor, else
 *    G := c (`next`). Above `MAX_BALLOT_COUNTER` there is no ballot for K (`next` answers
 *    `undefined`; the driver fails the key's proposals with `BallotsExhaustedError`).
 *  - Seeing a ballot with counter X on K (a conflict, rule G1's base, a collection's tombstone,
 *    `observe`) that is new for K (X > max(G, F[K] ?? 0)):
 *     - K has a floor above G: F[K] := X (the key follows alone);
 *     - else near (X <= G + MAX_BALLOT_JUMP): G := X, as the seed's fast-forward;
 *     - else far: F[K] := X and G := G + MAX_BALLOT_JUMP (a catch-up step, below). A new floor
 *       beyond `maxFarKeys` floors is refused (`'refused'`: nothing changes); the driver fails K's
 *       proposals with `BallotsExhaustedError`.
 *  - A floor at or below G says nothing more than G: it is dropped (`next`, and before a refusal).
 *
 * Claim 1 (every attempt gets a unique ballot; rystsov, quoted by the seed: "I proved correctness
 * for the case when each *attempt* has a unique ballot number"): the counters `next` hands out for
 * one key strictly increase. Invariant I: every counter handed out for K is <= max(G, F[K] ?? 0).
 * It holds at the start (nothing handed out). `next` hands out c = max(G, F[K] ?? 0) + 1, above
 * every earlier one by I, and then sets F[K] or G to c, so I holds for K; for another key K' only
 * G moved, up. `observe` only raises G and floors (a floor is set only to an X above max(G, F[K])),
 * and drops only floors at or below G, so max(G, F[K] ?? 0) never decreases for any key: I
 * holds. Ballots of different keys may share a counter: they meet at different registers, and an
 * acceptor compares ballots of one key only. The driver's other uses follow: the promise an accept
 * asks for (paper §2.2.1) is `next(K)` after the accept's own ballot, so above it (what rule G1
 * needs without a prepare, `Attempt.begin`); a doubted key's skipped counter is one more `next(K)`.
 *
 * Claim 2 (liveness, as with one counter): after seeing X on K, the next ballot for K is above X:
 * new information makes max(G, F[K] ?? 0) >= X (near: G = X; far: F[K] = X), unless refused.
 *
 * Claim 3 (containment): seeing X on K changes the ballots of another key K' by at most
 * MAX_BALLOT_JUMP (G moves to X <= G + MAX_BALLOT_JUMP, or by MAX_BALLOT_JUMP), and only when X is
 * new for K and K holds no floor above G; once K holds one, nothing seen on K moves G while it
 * stays (until G passes it: never, for a floor near the limit). A refused floor moves nothing. So
 * a hostile ballot at the limit makes its own key run out, after at most one ballot, and takes
 * 2^32 of the 2^48 counters of the others: 2^16 keys with far ballots, each touched by the
 * proposer, would be needed to exhaust them. That is the bound this module defends; a client that
 * can send authenticated requests at will can write or delete every key anyway.
 *
 * Why MAX_BALLOT_JUMP = 2^32 keeps honest proposers live. Honest counters stay close: each
 * proposer fast-forwards to the ballots it meets, so counters of proposers sharing keys differ by
 * about the attempts made since they last met, far below 2^32 (at a million attempts a second,
 * 71 minutes). A proposer further behind (a new incarnation of a restarted node, whose counter
 * starts at 0, in a cluster that has counted past 2^32; or one that met no other proposer's keys
 * for that long) catches up by MAX_BALLOT_JUMP per key on which it meets a far ballot: each such
 * key works at once (its floor), and after ⌈behind / 2^32⌉ keys (16 for a cluster at 2^36, after
 * 7 years at 300 attempts a second) G is near again and later keys need no floor; the catch-up
 * floors go as G passes them. Without the catch-up step, every key such a proposer touched would
 * need a floor of its own, and past `maxFarKeys` keys it would refuse honest ones.
 *
 * Memory: a floor per key that met a far ballot and that G has not caught up with, at most
 * `maxFarKeys` (a string and a number each); a floor is never evicted, since a key whose floor
 * was forgotten would be handed counters at or below ones it used (Claim 1 needs the floor).
 */
import { type Ballot, MAX_BALLOT_COUNTER } from './ballot.js';

/**
 * How far (in counters) a ballot seen on one key may move the proposer's counter for every key:
 * 2^32, one 65536th of the counters below `MAX_BALLOT_COUNTER`. See the module comment for why it
 * is safe for liveness.
 */
export const MAX_BALLOT_JUMP = 2 ** 32;

/**
 * How many keys at most may hold a counter of their own (a floor) at a time, by default: 4096
 * (well under a megabyte). Honest proposers need few: a restarted node catching up with a cluster
 * at counter H uses ⌈H / 2^32⌉; the rest are keys that met hostile or faulty ballots.
 */
export const DEFAULT_MAX_FAR_KEYS = 4096;

/** What seeing a ballot changed (`KeyBallots.observe`). */
export type Observation =
  /** Nothing: the key's next ballot is above it already. */
  | 'none'
  /** The global counter moved to it (near). */
  | 'global'
  /** The key got a floor at it (far). */
  | 'floor'
  /** Far, but `maxFarKeys` keys hold floors already: nothing changed. */
  | 'refused';

/** Options of `KeyBallots`. */
export interface KeyBallotsOptions {
  /**
   * The global counter to start from: the last counter used (0 for a new proposer).
   * @default 0
   */
  readonly counter?: number | undefined;
  /**
   * How many keys may hold a floor at a time (see `DEFAULT_MAX_FAR_KEYS`).
   * @default DEFAULT_MAX_FAR_KEYS
   */
  readonly maxFarKeys?: number | undefined;
}

/** A proposer's source of ballots, per key (see the module comment for the rules and their proof). */
export class KeyBallots {
  #global: number;
  readonly #floors = new Map<string, number>();
  readonly #maxFarKeys: number;

  /**
   * @param id the proposer's id: non-empty and unique in the cluster. A proposer that restarts
   *   without its counters must come back under a new id, or it would reissue old ballots.
   */
  constructor(
    readonly id: string,
    options: KeyBallotsOptions = {},
  ) {
    if (id === '') throw new RangeError('a proposer id must not be empty');
    const counter = options.counter ?? 0;
    if (!Number.isSafeInteger(counter) || counter < 0 || counter > MAX_BALLOT_COUNTER) throw new RangeError(`invalid ballot counter ${counter}`);
    const maxFarKeys = options.maxFarKeys ?? DEFAULT_MAX_FAR_KEYS;
    if (!Number.isSafeInteger(maxFarKeys) || maxFarKeys < 0) throw new RangeError(`invalid maxFarKeys ${maxFarKeys}`);
    this.#global = counter;
    this.#maxFarKeys = maxFarKeys;
  }

  /** The global counter: the last one handed out to (or seen on) a key without a floor. */
  get counter(): number {
    return this.#global;
  }

  /** How many keys hold a floor now. */
  get farKeys(): number {
    return this.#floors.size;
  }

  /** The last counter handed out to or seen on `key`: the next ballot's counter is one more. */
  counterOf(key: string): number {
    const floor = this.#floorOf(key);
    return floor === undefined || floor < this.#global ? this.#global : floor;
  }

  /**
   * A ballot for `key` never handed out for it before, above every ballot seen on it; `undefined`
   * when its counter would exceed `MAX_BALLOT_COUNTER` (the key has run out of ballots).
   */
  next(key: string): Ballot | undefined {
    const floor = this.#floorOf(key);
    if (floor === undefined || floor <= this.#global) {
      if (this.#global >= MAX_BALLOT_COUNTER) return undefined;
      if (floor !== undefined) this.#floors.delete(key);
      this.#global += 1;
      return { counter: this.#global, id: this.id };
    }
    if (floor >= MAX_BALLOT_COUNTER) return undefined;
    this.#floors.set(key, floor + 1);
    return { counter: floor + 1, id: this.id };
  }

  /**
   * Takes note of a ballot seen on `key` (a conflict, a base state's ballot, a tombstone's) so that
   * the key's next ballot is above it; see the module comment for how far that moves the others.
   */
  observe(key: string, seen: Ballot): Observation {
    const seenCounter = seen.counter;
    if (seenCounter <= this.#global) return 'none';
    const floor = this.#floors.get(key);
    if (floor !== undefined && floor > this.#global) {
      // The key has a counter of its own: it follows alone, and moves no other key's.
      if (seenCounter <= floor) return 'none';
      this.#floors.set(key, seenCounter);
      return 'floor';
    }
    if (floor !== undefined) this.#floors.delete(key);
    if (seenCounter - this.#global <= MAX_BALLOT_JUMP) {
      this.#global = seenCounter;
      return 'global';
    }
    if (this.#floors.size >= this.#maxFarKeys && this.#prune() >= this.#maxFarKeys) return 'refused';
    this.#global += MAX_BALLOT_JUMP;
    this.#floors.set(key, seenCounter);
    return 'floor';
  }

  /** The key's own counter, if any: no lookup while no key has one (the common case). */
  #floorOf(key: string): number | undefined {
    return this.#floors.size === 0 ? undefined : this.#floors.get(key);
  }

  /** True when `seen` is beyond what `observe` follows with the global counter (`MAX_BALLOT_JUMP`). */
  isFar(seen: Ballot): boolean {
    return seen.counter - this.#global > MAX_BALLOT_JUMP;
  }

  /** Drops the floors the global counter has caught up with; returns how many are left. */
  #prune(): number {
    for (const [key, floor] of this.#floors) if (floor <= this.#global) this.#floors.delete(key);
    return this.#floors.size;
  }
}
