/**
 * A proposer's source of ballots.
 *
 * Paper §2.2: "The proposer generates a ballot number B, by incrementing the current ballot
 * number's counter." rystsov (quoted by the seed): "I proved correctness for the case when each
 * *attempt* has a unique ballot number." So every call to `next` increments, also after an attempt
 * that failed, and fast-forwarding only ever moves the counter up.
 */
import type { Ballot } from './ballot.js';

/**
 * Hands out a proposer's ballots `(counter, id)`: each call to `next` increments the counter, so
 * every attempt gets its own ballot, and fast-forwarding only moves it up. One counter for every
 * key, moved to any ballot seen: `MemoryProposer` uses `KeyBallots` instead (`core/key-ballots`),
 * which keeps a ballot seen on one key from using up the counters of the others.
 */
export class BallotGenerator {
  #counter: number;

  /**
   * @param id the proposer's id: non-empty and unique in the cluster. A proposer that restarts
   *   without its counter must come back under a new id, or it would reissue old ballots.
   * @param counter the last counter used (0 for a new proposer).
   */
  constructor(
    readonly id: string,
    counter = 0,
  ) {
    if (id === '') throw new RangeError('a proposer id must not be empty');
    if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError(`invalid ballot counter ${counter}`);
    this.#counter = counter;
  }

  /** The counter of the last ballot handed out (or fast-forwarded to). */
  get counter(): number {
    return this.#counter;
  }

  /** A ballot never handed out before by this generator, greater than every ballot it has seen. */
  next(): Ballot {
    this.#counter += 1;
    return { counter: this.#counter, id: this.id };
  }

  /**
   * Makes the next ballot greater than `seen`: `counter = max(counter, seen.counter)`, and `next`
   * adds one. The seed assigned `counter = seen.counter` instead, which moves the counter back (to
   * 0 when every reply was a timeout) so a later attempt reuses an old ballot, and a delayed accept
   * of that ballot can then overwrite an acknowledged value. Returns true when the counter moved.
   */
  fastForward(seen: Ballot): boolean {
    if (seen.counter <= this.#counter) return false;
    this.#counter = seen.counter;
    return true;
  }
}
