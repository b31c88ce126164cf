/**
 * What a proposer remembers of the garbage collections it took part in (paper §3.1 step b: each
 * one "increments proposer's age"), so that an accept whose outcome is unknown is not decided from
 * records a collection may have erased (see `Attempt.afterPrepare`).
 */
import type { CollectionHistory } from '../core/attempt.js';

/** How many collected keys a proposer remembers (see `Collections`). */
export const COLLECTIONS_KEPT = 4096;

export class Collections implements CollectionHistory {
  /**
   * Per key, the age this proposer moved to when a garbage collection of that key fast-forwarded
   * it, oldest first; at most `kept` keys. A collection erases the records of its own key only, so
   * only that key's unknown outcomes lose their evidence.
   */
  readonly #ages = new Map<string, number>();
  /** The highest age dropped from `#ages`: any key may have been collected up to it. */
  #forgotten = 0;

  constructor(readonly kept = COLLECTIONS_KEPT) {}

  /** A garbage collection of `key` moved the proposer to `age`. */
  record(key: string, age: number): void {
    this.#ages.delete(key);
    this.#ages.set(key, age);
    if (this.#ages.size > this.kept) {
      const [oldest, oldestAge] = this.#ages.entries().next().value as [string, number];
      this.#ages.delete(oldest);
      this.#forgotten = Math.max(this.#forgotten, oldestAge);
    }
  }

  collectedSince(key: string, age: number): boolean {
    return (this.#ages.get(key) ?? 0) > age || this.#forgotten > age;
  }
}
