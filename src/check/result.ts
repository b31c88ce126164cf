/**
 * What every checker returns: whether the history passed, and if not, what is wrong with which
 * operations, in words a person can act on.
 */

/** One thing wrong with a history. */
export interface Violation {
  /** A stable name, e.g. `stale-read`, `lost-update`, `not-linearizable`. */
  readonly kind: string;
  /** The key it concerns, when it concerns one. */
  readonly key?: string;
  /** The ids of the operations involved (see `Operation.id`). */
  readonly operations: readonly number[];
  /** A sentence explaining it. */
  readonly message: string;
}

/**
 * What every checker returns: whether the history passed, and if not, what is wrong with which
 * operations.
 */
export interface CheckResult {
  /** The checker's name, e.g. `wgl` or `chain`. */
  readonly checker: string;
  /**
   * `true`: no violation. `false`: at least one violation. `'unknown'`: the checker ran out of its
   * budget before deciding (never reported as a pass).
   */
  readonly ok: boolean | 'unknown';
  /** What is wrong, empty when `ok` is true. */
  readonly violations: readonly Violation[];
  /** A human-readable report: a summary, and each violation (a counterexample where there is one). */
  readonly report: string;
}
