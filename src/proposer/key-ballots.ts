/**
 * The proposer's ballots as its driver takes them: `core/key-ballots`' per-key counters, turned
 * into errors where a key has none left. Every ballot of an attempt comes from here, taken
 * synchronously before the attempt first waits: its own (`take`), the counter a doubted key skips
 * (`skip`), and the promise its accept asks for (`reserve`, paper §2.2.1), so that one key's
 * ballots strictly increase (`KeyBallots`, Claim 1) whichever of the three took them.
 */
import type { Ballot } from '../core/ballot.js';
import { KeyBallots } from '../core/key-ballots.js';
import { AcceptFailedError, BallotsExhaustedError } from '../errors.js';

/** How far the counter a key's next ballot is one above moved, for the trace. */
export interface CounterMove {
  readonly from: number;
  readonly to: number;
  /** The key follows a counter of its own now: the ballot was more than `MAX_BALLOT_JUMP` ahead. */
  readonly far: boolean;
}

/** A `KeyBallots` whose refusals become `BallotsExhaustedError`s, for one key's round only. */
export class ProposerBallots {
  readonly #ballots: KeyBallots;
  /**
   * Keys whose round met a far ballot that no floor could be kept for (`observe` refused), with
   * its counter: their next `take` fails. At most one per running round (`roundDone` clears it).
   */
  readonly #refused = new Map<string, number>();

  constructor(
    /** The proposer's id. */
    readonly id: string,
    maxFarKeys: number,
  ) {
    this.#ballots = new KeyBallots(id, { maxFarKeys });
  }

  /** The global counter (`ProposerSnapshot.counter`). */
  get counter(): number {
    return this.#ballots.counter;
  }

  /**
   * The attempt's own ballot. Throws `BallotsExhaustedError` when the key has none left; when an
   * earlier accept of the round (`unknown`) has an unknown outcome, `AcceptFailedError` caused by
   * it instead: the change may have taken effect, and no prepare can decide it now.
   */
  take(key: string, unknown: Ballot | undefined): Ballot {
    const refused = this.#refused.size === 0 ? undefined : this.#refused.get(key);
    const ballot = refused === undefined ? this.#ballots.next(key) : undefined;
    if (ballot !== undefined) return ballot;
    const exhausted =
      refused === undefined
        ? new BallotsExhaustedError(key, this.#ballots.counterOf(key), 'exhausted')
        : new BallotsExhaustedError(key, refused, 'far-keys');
    throw unknown === undefined ? exhausted : new AcceptFailedError(key, unknown, { cause: exhausted });
  }

  /** A counter the attempt skips (`Attempt.skipsCounter`); nothing when the key has none left. */
  skip(key: string): void {
    this.#ballots.next(key);
  }

  /** The ballot an accept asks to have promised (paper §2.2.1), or none when the key has none left. */
  reserve(key: string): Ballot | undefined {
    return this.#ballots.next(key);
  }

  /**
   * A ballot seen on `key` (a conflict, a base state's ballot): the key's next ballot goes above
   * it, as far as `KeyBallots.observe` allows. Returns how the key's counter moved, if it did.
   */
  observe(key: string, seen: Ballot): CounterMove | undefined {
    // Not above the global counter: no key's counter moves (`KeyBallots.observe`), no lookup.
    if (seen.counter <= this.#ballots.counter) return undefined;
    const from = this.#ballots.counterOf(key);
    const observation = this.#ballots.observe(key, seen);
    if (observation === 'none') return undefined;
    if (observation === 'refused') {
      this.#refused.set(key, Math.max(seen.counter, this.#refused.get(key) ?? 0));
      return undefined;
    }
    return { from, to: this.#ballots.counterOf(key), far: observation === 'floor' };
  }

  /**
   * Garbage collection step b (paper §3.1: "fast-forwards its counter to guarantee that new ballot
   * numbers are greater than the tombstone's ballot"), for `key`. A tombstone more than
   * `MAX_BALLOT_JUMP` ahead of the global counter is refused with `BallotsExhaustedError`
   * (`far-ahead`) and nothing changes: the collection stops before its steps c and d, so the
   * tombstone's record stays. Why: removing it would make its promise every acceptor's tombstone
   * floor (`acceptor-rules` `remove`), the ballot every absent key answers with, so every key
   * created after would meet it; a far one would make them all far (each needing a floor here,
   * and at the limit, exhausted). A restarted proposer still far behind an honest cluster refuses
   * too, until its traffic has caught it up (see `core/key-ballots`); the collection is then
   * retried (a sweep runs it again).
   *
   * Step b is for liveness only: the proofs of garbage collection (`garbageCollect`) and of the
   * key-value store's versions (src/kv/key-value-store.ts, "Versions") hold without it (the
   * acceptors' floor holds every proposer above the tombstone), and a refused step b stops the
   * collection before it removes anything.
   */
  forward(key: string, tombstone: Ballot): CounterMove | undefined {
    if (this.#ballots.isFar(tombstone)) throw new BallotsExhaustedError(key, tombstone.counter, 'far-ahead');
    // Not far, so never refused: the global counter moves, or the key's own floor.
    return this.observe(key, tombstone);
  }

  /** The key's round ended: a refusal met during it no longer applies (the next round meets it again). */
  roundDone(key: string): void {
    if (this.#refused.size > 0) this.#refused.delete(key);
  }
}
