/**
 * Proposer ages, the garbage-collection fence of paper §3.1.
 *
 * rystsov (quoted by the seed): "Acceptors should keep the age of proposers. It can be zero in the
 * beginning, and the GC process is responsible for updating it. Proposers should include their age
 * as part of each message they send." Acceptors reject messages whose age is younger than the
 * minimum recorded for that proposer, so a message sent before a key was deleted cannot land after.
 */

/** The age of proposer `id`. Starts at 0; each garbage collection increments it. */
export interface Age {
  /**
   * Incremented by each garbage collection (paper §3.1 step b); acceptors reject messages whose
   * counter is below the minimum they recorded for `id`.
   */
  readonly counter: number;
  /** The proposer this age belongs to (the id in its ballots). */
  readonly id: string;
}

/** Paper wording: `a` is younger than `b` when its counter is smaller (ids are not compared). */
export function isYounger(a: Age, b: Age): boolean {
  return a.counter < b.counter;
}

/** Renders an age as `counter:id`, as the seed does, e.g. `2:p1`. */
export function formatAge(a: Age): string {
  return `${a.counter}:${a.id}`;
}

/** True when `value` has the shape of an age: a non-negative safe-integer counter, a non-empty id. */
export function isAge(value: unknown): value is Age {
  if (typeof value !== 'object' || value === null) return false;
  const { counter, id } = value as { counter?: unknown; id?: unknown };
  return typeof id === 'string' && id !== '' && typeof counter === 'number' && Number.isSafeInteger(counter) && counter >= 0;
}
