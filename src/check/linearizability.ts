/**
 * The WGL linearizability checker: is there an order of the operations, consistent with real time,
 * in which the model accepts every recorded outcome?
 *
 * The search is Wing and Gong's (1993), with Lowe's memoisation ("Testing for linearizability",
 * 2017) and partitioning by key (Horn and Kroening's P-compositionality, 2015): linearizability of a
 * history of independent registers is linearizability of each register's sub-history, so each key
 * is checked on its own. This module partitions the history, runs the search on each key within
 * the budgets, and assembles the verdict. The parts:
 *  - `wgl-events.ts`: a key's operations as the search sees them: call and return events sorted by
 *    time (a call before a return at the same time: operations that touch at an instant count as
 *    concurrent), in doubly linked lists of the operations that may still take effect;
 *  - `wgl-cache.ts`: Lowe's cache of the configurations reached (operations placed, model state);
 *  - `wgl-search.ts`: the backtracking search itself, on an explicit stack (any history length);
 *  - `counterexample.ts` and `wgl-report.ts`: why a key is not linearizable, and the text.
 *
 * Operations with `fail` are dropped (no effect). Operations with an unknown outcome have no return
 * event (they return at +∞): they may take effect at any point after their call, or never; the
 * search stops as soon as every completed operation is placed (the rest never took effect).
 *
 * Beyond Lowe's algorithm, a few exact refinements (none changes a verdict; see the comments in
 * `wgl-search.ts` and `wgl-cache.ts` for why each is sound) keep histories with many unknown
 * outcomes tractable:
 *  - candidates are tried in an order that needs little backtracking on linearizable histories:
 *    state-preserving completed operations, then state-changing ones, then unknown ones;
 *  - the cache subsumes: a configuration that placed a superset of another's unknown operations,
 *    with the same completed operations and state, is skipped;
 *  - an unknown operation that would leave the state unchanged is never placed;
 *  - with the model's optional `effect` hint: unknown reads are dropped, a completed read that fits
 *    the current state is placed without branching, and blind unknown operations (writes) are not
 *    chained after other unknown ones.
 *
 * Budgets: `maxStates` bounds the search steps per key (deterministic), `timeMs` the wall-clock time
 * of the whole check. A key whose search runs out is reported `'unknown'`, never as a pass.
 */
import { buildCounterexample, type KeyCheck, involvedOperations } from './counterexample.js';
import { outcomeUnknown, type History, type Operation } from './history.js';
import type { Model } from './models.js';
import type { CheckResult, Violation } from './result.js';
import { keyOperations } from './wgl-events.js';
import { renderCounterexample, renderReport } from './wgl-report.js';
import { searchKey } from './wgl-search.js';

/**
 * Options of `checkLinearizability`: the search budgets, and how much of a counterexample to show.
 */
export interface LinearizabilityOptions {
  /**
   * Search steps allowed per key (a step visits one event of the list). The same history and model
   * always take the same number of steps, so this budget is deterministic.
   * @default 10000000
   */
  readonly maxStates?: number | undefined;
  /**
   * Wall-clock budget of the whole check in milliseconds (as read by `now`).
   * @default undefined (no time limit)
   */
  readonly timeMs?: number | undefined;
  /**
   * The clock for `timeMs`, in milliseconds.
   * @default performance.now
   */
  readonly now?: (() => number) | undefined;
  /**
   * Steps of each counterexample's prefix shown in messages and the report (the last ones).
   * @default 20
   */
  readonly counterexampleSteps?: number | undefined;
}

export type { KeyCheck } from './counterexample.js';

/** What `checkLinearizability` returns: the overall verdict and one per key. */
export interface LinearizabilityResult extends CheckResult {
  /** Every key of the history, in sorted order. */
  readonly perKey: ReadonlyMap<string, KeyCheck>;
}

const DEFAULT_MAX_STATES = 10_000_000;
const DEFAULT_COUNTEREXAMPLE_STEPS = 20;

/**
 * Checks that `history` is linearizable with respect to `model`, key by key. Throws `TypeError` on
 * an operation the model does not support or one that returns before it is called.
 */
export function checkLinearizability<State>(
  history: History | readonly Operation[],
  model: Model<State>,
  options: LinearizabilityOptions = {},
): LinearizabilityResult {
  const maxStates = options.maxStates ?? DEFAULT_MAX_STATES;
  const timeMs = options.timeMs;
  const now = options.now ?? (() => globalThis.performance.now());
  const shownSteps = options.counterexampleSteps ?? DEFAULT_COUNTEREXAMPLE_STEPS;
  if (!(maxStates >= 0)) throw new RangeError('maxStates must be a non-negative number');
  if (timeMs !== undefined && !(timeMs >= 0)) throw new RangeError('timeMs must be a non-negative number');

  const operations = 'operations' in history ? history.operations : history;
  const { byKey, dropped, unknownCount } = partitionByKey(operations);
  const outOfTime = clock(timeMs, now);
  const perKey = checkKeys(byKey, outOfTime, (key, ops) => checkKey(key, ops, model, maxStates, outOfTime));

  const violations = violationsOf(perKey, shownSteps);
  const unknownKeys = [...perKey.values()].filter((v) => v.ok === 'unknown');
  const ok: boolean | 'unknown' = violations.length > 0 ? false : unknownKeys.length > 0 ? 'unknown' : true;
  const report = renderReport({
    model: model.name ?? 'model',
    ok,
    perKey,
    violations,
    unknownKeys,
    total: operations.length,
    dropped,
    unknownCount,
    maxStates,
    timeMs,
  });
  return { checker: 'wgl', ok, violations, report, perKey };
}

/**
 * Each key's operations, in history order, failed ones dropped (they had no effect), with the
 * counts the report gives. Throws `TypeError` on an operation with impossible times.
 */
function partitionByKey(operations: readonly Operation[]): { byKey: Map<string, Operation[]>; dropped: number; unknownCount: number } {
  const byKey = new Map<string, Operation[]>();
  let dropped = 0;
  let unknownCount = 0;
  for (const op of operations) {
    if (!Number.isFinite(op.call)) throw new TypeError(`operation #${op.id}: call must be a finite number`);
    if (op.return !== null && !(op.return >= op.call)) throw new TypeError(`operation #${op.id} returns before it is called`);
    if (op.fail === true) {
      dropped++;
      continue;
    }
    if (outcomeUnknown(op)) unknownCount++;
    const list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, [op]);
    else list.push(op);
  }
  return { byKey, dropped, unknownCount };
}

/** Whether the check's `timeMs` budget has run out, its clock started now (never without one). */
function clock(timeMs: number | undefined, now: () => number): () => boolean {
  if (timeMs === undefined) return () => false;
  const start = now();
  return () => now() - start > timeMs;
}

/**
 * Checks the keys in sorted order. Once time has run out (in a search, or between two), every key
 * after it is reported undecided without a search (the budget is the whole check's).
 */
function checkKeys(
  byKey: ReadonlyMap<string, Operation[]>,
  outOfTime: () => boolean,
  check: (key: string, ops: Operation[]) => KeyCheck,
): Map<string, KeyCheck> {
  const perKey = new Map<string, KeyCheck>();
  let timedOut = false;
  for (const key of [...byKey.keys()].sort()) {
    const ops = byKey.get(key) as Operation[];
    if (timedOut || outOfTime()) {
      timedOut = true;
      perKey.set(key, { key, ok: 'unknown', operations: ops.length, steps: 0, exhausted: 'timeMs' });
      continue;
    }
    const verdict = check(key, ops);
    if (verdict.exhausted === 'timeMs') timedOut = true;
    perKey.set(key, verdict);
  }
  return perKey;
}

/** A violation per refuted key, its message the counterexample (the last `shownSteps` of its prefix). */
function violationsOf(perKey: ReadonlyMap<string, KeyCheck>, shownSteps: number): Violation[] {
  const violations: Violation[] = [];
  for (const verdict of perKey.values()) {
    const cx = verdict.counterexample;
    if (cx === undefined) continue;
    violations.push({
      kind: 'not-linearizable',
      key: verdict.key,
      operations: involvedOperations(cx),
      message: renderCounterexample(cx, { maxSteps: shownSteps }),
    });
  }
  return violations;
}

/** Runs the search on one key's operations (in history order, failed ones dropped). */
function checkKey<State>(key: string, all: readonly Operation[], model: Model<State>, maxStates: number, outOfTime: () => boolean): KeyCheck {
  const operations = all.length;
  const outcome = searchKey(keyOperations(all, model), model, maxStates, outOfTime);
  switch (outcome.verdict) {
    case 'linearizable':
      return { key, ok: true, operations, steps: outcome.steps, linearization: outcome.linearization };
    case 'exhausted':
      return { key, ok: 'unknown', operations, steps: outcome.steps, exhausted: outcome.budget };
    case 'refuted':
      return { key, ok: false, operations, steps: outcome.steps, counterexample: buildCounterexample(key, operations, model, outcome) };
  }
}
