/**
 * Sequential specifications ("models") the linearizability checker compares histories with.
 *
 * A model is a deterministic state machine over one key. `step(state, op)` says what one operation
 * does when it takes effect at one instant:
 *  - for a completed operation, it returns the state after it, or `undefined` when the recorded
 *    outcome (`output`, `ok`) is impossible from `state`;
 *  - for an operation whose outcome is unknown (`unknown: true`, `return: null`) there is no
 *    outcome to contradict: it returns the state after applying the operation. (Whether it takes
 *    effect at all is the checker's business: it may also leave it out.)
 * An operation kind the model does not support throws a `TypeError` naming it: a history that asks
 * a register about counters is a mistake in the test, not a violation.
 *
 * Missing value fields read as `null` (the absent value): a write without `arg` writes `null`, a cas
 * without `expected` compares with `null`, a completed read without `output` read `null`. The one
 * exception is `add`, whose `output` is optional (see `counterModel`).
 */
import { outcomeUnknown, type Operation, type Value } from './history.js';
import { formatValue } from './operation-text.js';

/**
 * A sequential specification of one key, for `checkLinearizability`: a deterministic state machine
 * whose `step` says what one operation does when it takes effect at one instant (see the models in
 * this module).
 */
export interface Model<State> {
  /** A short name for reports, e.g. `cas-register`. */
  readonly name?: string;
  /** The state before any operation. */
  init(): State;
  /** The state after `op` takes effect in `state`; `undefined` if its recorded outcome is impossible. */
  step(state: State, op: Operation): State | undefined;
  /** Equal keys ⇔ states no later operation can tell apart (the checker memoises on it). */
  key(state: State): string;
  /** The state as text, for counterexamples. */
  describe(state: State): string;
  /**
   * Optional, for speed only: how `op` depends on the state, which must hold in *every* state
   * (a wrong hint gives wrong verdicts; no hint gives the same verdicts, sometimes much slower).
   * `'read'`: it never changes the state (a read); `'blind'`: whether it is possible and the state
   * after it do not depend on the state before (a write); `'other'`: anything else. The checker
   * then drops reads with an unknown outcome, never branches on a read that fits the current
   * state, and skips redundant orderings of unknown blind operations.
   */
  effect?(op: Operation): OpEffect;
}

/** See `Model.effect`. */
export type OpEffect = 'read' | 'blind' | 'other';

/** Reads read, writes are blind, everything else is `'other'`. */
function registerEffect(op: Operation): OpEffect {
  return op.op === 'read' ? 'read' : op.op === 'write' ? 'blind' : 'other';
}

function unsupported(model: string, op: Operation, supported: string): TypeError {
  return new TypeError(`${model} does not support op ${JSON.stringify(op.op)} (operation #${op.id}); it supports ${supported}`);
}

/** The register key of a value: `null` and every string are distinct. */
function valueKey(value: Value): string {
  return value === null ? '' : `=${value}`;
}

function readStep(state: Value, op: Operation): Value | undefined {
  if (outcomeUnknown(op)) return state;
  return (op.output ?? null) === state ? state : undefined;
}

function casStep(state: Value, op: Operation): Value | undefined {
  const expected = op.expected ?? null;
  const arg = op.arg ?? null;
  const equal = state === expected;
  if (outcomeUnknown(op)) return equal ? arg : state;
  if (op.ok === false) return equal ? undefined : state;
  return equal ? arg : undefined;
}

/**
 * A read/write register; the initial value is `null`. A read must return the current value; a write
 * sets it (a write of `null` is a delete). Supports `read` and `write`.
 */
export const registerModel: Model<Value> = {
  name: 'register',
  init: () => null,
  step(state, op) {
    switch (op.op) {
      case 'read':
        return readStep(state, op);
      case 'write':
        return op.arg ?? null;
      default:
        throw unsupported('registerModel', op, 'read and write');
    }
  },
  key: valueKey,
  describe: formatValue,
  effect: registerEffect,
};

/**
 * A register with compare-and-set; the initial value is `null`. `read` and `write` as in
 * `registerModel`. A completed `cas` with `ok: true` (or no `ok`, as the recorder defaults it)
 * requires current === `expected` and sets `arg`; with `ok: false` it requires current !== `expected`
 * and changes nothing. A `cas` with an unknown outcome sets `arg` iff current === `expected`.
 */
export const casRegisterModel: Model<Value> = {
  name: 'cas-register',
  init: () => null,
  step(state, op) {
    switch (op.op) {
      case 'read':
        return readStep(state, op);
      case 'write':
        return op.arg ?? null;
      case 'cas':
        return casStep(state, op);
      default:
        throw unsupported('casRegisterModel', op, 'read, write and cas');
    }
  },
  key: valueKey,
  describe: formatValue,
  effect: registerEffect,
};

/** The state of `deleteAwareRegisterModel`: the value, and which operation last deleted it. */
export interface DeleteAwareState {
  /** The register's value (`null`: absent). */
  readonly value: Value;
  /** The id of the operation that set the value to `null`; `null` if it was never set (or is not null). */
  readonly deletedBy: number | null;
}

/**
 * `casRegisterModel` for histories with deletes. In CASPaxos a delete is a write of `null` (the
 * tombstone) and a read of a deleted key returns `null`, exactly like a key never written; a
 * conditional delete is a `cas` whose `arg` is `null`. This model accepts and rejects exactly the
 * same histories as `casRegisterModel` (its `key` ignores the difference), but its states remember
 * *which* operation deleted the value, so a counterexample says `null (deleted by #12)` rather than
 * `null`: a value read back after a completed delete (a resurrection) is then obvious at a glance.
 */
export const deleteAwareRegisterModel: Model<DeleteAwareState> = {
  name: 'delete-aware-register',
  init: () => ({ value: null, deletedBy: null }),
  step(state, op) {
    let next: Value | undefined;
    switch (op.op) {
      case 'read':
        return readStep(state.value, op) === undefined ? undefined : state;
      case 'write':
        next = op.arg ?? null;
        break;
      case 'cas':
        next = casStep(state.value, op);
        if (next === undefined) return undefined;
        if (next === state.value) return state; // unchanged (e.g. the comparison failed)
        break;
      default:
        throw unsupported('deleteAwareRegisterModel', op, 'read, write and cas');
    }
    return { value: next, deletedBy: next === null ? op.id : null };
  },
  key: (state) => valueKey(state.value),
  describe(state) {
    if (state.value !== null) return formatValue(state.value);
    return state.deletedBy === null ? 'null (never written)' : `null (deleted by #${state.deletedBy})`;
  },
  effect: registerEffect,
};

const DECIMAL = /^-?\d+$/;

function parseDelta(op: Operation): bigint {
  const arg = op.arg;
  if (typeof arg !== 'string' || !DECIMAL.test(arg)) {
    throw new TypeError(`counterModel: operation #${op.id} (add) needs a decimal integer string in arg, got ${formatValue(arg)}`);
  }
  return BigInt(arg);
}

/** Whether an output reports the counter `state` (`null` for the absent counter). */
function outputMatches(output: Value, state: bigint | null): boolean {
  if (output === null || state === null) return output === null && state === null;
  return DECIMAL.test(output) && BigInt(output) === state;
}

/**
 * A counter (arbitrary-precision integers in decimal strings). The initial counter is absent: it
 * reads `null`, and counts as 0 for `add`. `add` adds `arg` (a decimal string, else `TypeError`);
 * when a completed add has an `output`, that must be the counter after the add (an add without
 * `output` is unconstrained). A completed `read` must return the counter as a decimal string
 * (`"-3"`, `"0"`; leading zeros are tolerated), or `null` while no add has taken effect. Supports
 * `read` and `add`.
 */
export const counterModel: Model<bigint | null> = {
  name: 'counter',
  init: () => null,
  step(state, op) {
    switch (op.op) {
      case 'read':
        if (outcomeUnknown(op)) return state;
        return outputMatches(op.output ?? null, state) ? state : undefined;
      case 'add': {
        const next = (state ?? 0n) + parseDelta(op);
        if (outcomeUnknown(op) || op.output === undefined) return next;
        return outputMatches(op.output, next) ? next : undefined;
      }
      default:
        throw unsupported('counterModel', op, 'read and add');
    }
  },
  key: (state) => (state === null ? '' : state.toString()),
  describe: (state) => (state === null ? 'null (absent, counts as 0)' : JSON.stringify(state.toString())),
  effect: (op) => (op.op === 'read' ? 'read' : 'other'),
};
