/**
 * Why a key's history is not linearizable: the counterexample the WGL checker reports, built from
 * where its search got furthest (`Refutation`): the longest linearizable prefix, and every operation
 * real time allows next with why it cannot be. `wgl-report.ts` turns it into text.
 */
import { outcomeUnknown, type Operation } from './history.js';
import type { Model } from './models.js';
import type { Refutation } from './wgl-search.js';

/** One step of a linearizable prefix: the operation, and the model state after it took effect. */
export interface CounterexampleStep {
  /** The operation. */
  readonly op: Operation;
  /** The model's state after it took effect, described. */
  readonly state: string;
}

/** An operation that could be next in real-time order, and why it cannot be. */
export interface StuckOperation {
  /** The operation. */
  readonly op: Operation;
  /** Why it cannot go next, e.g. the value a read returned against the one the model holds. */
  readonly reason: string;
}

/** Why a key's history is not linearizable. */
export interface Counterexample {
  /** The key. */
  readonly key: string;
  /** The model's name (`model` when it has none). */
  readonly model: string;
  /** The model's initial state, described. */
  readonly initialState: string;
  /**
   * The longest linearizable prefix the search found (the most completed operations, then the fewest
   * unknown ones), in linearization order.
   */
  readonly prefix: readonly CounterexampleStep[];
  /**
   * Every operation that real time allows next (invoked before the earliest return among the
   * operations not yet placed), with why it cannot be; the first is the one returning earliest.
   */
  readonly stuck: readonly StuckOperation[];
  /** Operations on the key, after dropping failed ones. */
  readonly operations: number;
}

/**
 * The counterexample for `key` (`total` operations after dropping failed ones) at the search's
 * longest prefix: what real time allows next, and why each fails.
 */
export function buildCounterexample<State>(key: string, total: number, model: Model<State>, refutation: Refutation<State>): Counterexample {
  const { ops } = refutation.operations;
  const last = refutation.prefix[refutation.prefix.length - 1];
  const stuck = stuckOperations(model, refutation, last === undefined ? refutation.initial : last.state);
  return {
    key,
    model: model.name ?? 'model',
    initialState: model.describe(refutation.initial),
    prefix: refutation.prefix.map((f) => ({ op: ops[f.op] as Operation, state: model.describe(f.state) })),
    stuck,
    operations: total,
  };
}

/** Every operation real time allows after the prefix (in `state`), with why it cannot go next. */
function stuckOperations<State>(model: Model<State>, refutation: Refutation<State>, state: State): StuckOperation[] {
  const { ops, unknown } = refutation.operations;
  const { blocker, candidates } = nextInRealTime(refutation);
  const stateKey = model.key(state);
  const described = model.describe(state);
  const stuck: StuckOperation[] = [];
  for (const i of candidates) {
    const op = ops[i] as Operation;
    const after = model.step(state, op);
    let reason: string;
    if (after === undefined) {
      reason = `impossible in state ${described}`;
    } else if (unknown[i] === 1 && model.key(after) === stateKey) {
      continue; // would change nothing; it may as well never take effect
    } else {
      reason = `possible (state → ${model.describe(after)}), but no linearization continues from there`;
    }
    if (i === blocker && op.return !== null) {
      reason += `; it returned at ${op.return}, so it must take effect before anything invoked later`;
    }
    stuck.push({ op, reason });
  }
  return stuck;
}

/**
 * The operations not in the prefix that real time allows next: those invoked before the first
 * return among them (`blocker`, -1 if none: only unknown operations are left), the blocker first,
 * then by call.
 */
function nextInRealTime<State>(refutation: Refutation<State>): { blocker: number; candidates: number[] } {
  const { ops, unknown } = refutation.operations;
  const { call, return: returns } = refutation.positions;
  const placed = new Set(refutation.prefix.map((f) => f.op));
  let blocker = -1;
  for (let i = 0; i < ops.length; i++) {
    if (placed.has(i) || unknown[i] === 1) continue;
    if (blocker < 0 || (returns[i] as number) < (returns[blocker] as number)) blocker = i;
  }
  const limit = blocker < 0 ? Infinity : (returns[blocker] as number);
  const candidates: number[] = [];
  for (let i = 0; i < ops.length; i++) {
    if (!placed.has(i) && (call[i] as number) < limit) candidates.push(i);
  }
  candidates.sort((a, b) => (a === blocker ? -1 : b === blocker ? 1 : (call[a] as number) - (call[b] as number)));
  return { blocker, candidates };
}

/** The operations a violation names: the stuck completed ones, then the last one that changed the state. */
export function involvedOperations(cx: Counterexample): number[] {
  const ids = cx.stuck.filter((s) => !outcomeUnknown(s.op)).map((s) => s.op.id);
  for (let k = cx.prefix.length - 1; k >= 0; k--) {
    const before = k === 0 ? cx.initialState : (cx.prefix[k - 1] as CounterexampleStep).state;
    const step = cx.prefix[k] as CounterexampleStep;
    if (step.state !== before) {
      if (!ids.includes(step.op.id)) ids.push(step.op.id);
      break;
    }
  }
  return ids;
}

/** The verdict for one key. */
export interface KeyCheck {
  /** The key. */
  readonly key: string;
  /**
   * `true`: linearizable; `false`: not (see `counterexample`); `unknown`: a budget ran out first.
   */
  readonly ok: boolean | 'unknown';
  /** Operations on the key after dropping failed ones. */
  readonly operations: number;
  /** Search steps taken. */
  readonly steps: number;
  /** When `ok` is true: the ids of the operations that took effect, in linearization order. */
  readonly linearization?: readonly number[];
  /** When `ok` is false. */
  readonly counterexample?: Counterexample;
  /** When `ok` is `'unknown'`: the budget that ran out. */
  readonly exhausted?: 'maxStates' | 'timeMs';
}
