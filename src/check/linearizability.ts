/**
 * The WGL linearizability checker: is there an order of the operations, consistent with real time,
 * in which the model accepts every recorded outcome?
 *
 * The search is Wing and Gong's (1993), with Lowe's memoisation ("Testing for linearizability",
 * 2017) and partitioning by key (Horn and Kroening's P-compositionality, 2015): linearizability of a
 * history of independent registers is linearizability of each register's sub-history, so each key
 * is checked on its own.
 *
 * Per key, the call and return events are sorted by time (a call before a return at the same time:
 * operations that touch at an instant count as concurrent) into a doubly linked list. The search
 * walks the list from its head: any operation whose call comes before the first return still in the
 * list may take effect next; if the model accepts it, and the configuration (operations taken
 * effect, model state) was never reached before, its events are unlinked (and remembered on an
 * explicit stack: no recursion, any history length) and the walk restarts from the head. Reaching a
 * return event means that operation should have taken effect already: the search backtracks,
 * restoring the last operation's events. The history is linearizable once every completed
 * operation has taken effect.
 *
 * Operations with `fail` are dropped (no effect). Operations with an unknown outcome have no return
 * event (they return at +∞): they may take effect at any point after their call, or never; the
 * search stops as soon as every completed operation is placed (the rest never took effect).
 *
 * Beyond Lowe's algorithm, a few exact refinements (none changes a verdict; see the comments in
 * `checkKey` for why each is sound) keep histories with many unknown outcomes tractable:
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
 *
 * Pure module: no I/O, safe in browsers and notebooks.
 */
import { Bitset } from './bitset.js';
import type { History, Operation } from './history.js';
import type { Model } from './models.js';
import { describeOperation } from './operation-text.js';
import type { CheckResult, Violation } from './result.js';

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

/** What `checkLinearizability` returns: the overall verdict and one per key. */
export interface LinearizabilityResult extends CheckResult {
  /** Every key of the history, in sorted order. */
  readonly perKey: ReadonlyMap<string, KeyCheck>;
}

const DEFAULT_MAX_STATES = 10_000_000;
const DEFAULT_COUNTEREXAMPLE_STEPS = 20;
/** How many steps pass between two looks at the clock. */
const CLOCK_EVERY = 1024;

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
    if (isUnknown(op)) unknownCount++;
    const list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, [op]);
    else list.push(op);
  }

  const start = timeMs === undefined ? 0 : now();
  const outOfTime = timeMs === undefined ? () => false : () => now() - start > timeMs;
  const perKey = new Map<string, KeyCheck>();
  let timedOut = false;
  for (const key of [...byKey.keys()].sort()) {
    const ops = byKey.get(key) as Operation[];
    if (timedOut || outOfTime()) {
      timedOut = true;
      perKey.set(key, { key, ok: 'unknown', operations: ops.length, steps: 0, exhausted: 'timeMs' });
      continue;
    }
    const verdict = checkKey(key, ops, model, maxStates, outOfTime);
    if (verdict.exhausted === 'timeMs') timedOut = true;
    perKey.set(key, verdict);
  }

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

function isUnknown(op: Operation): boolean {
  return op.unknown === true || op.return === null;
}

/** A node of the stack of placed operations; a persistent list, so a prefix is kept in O(1). */
interface Frame<State> {
  /** Index (in the key's operations) of the operation placed. */
  readonly op: number;
  /** The model state after it. */
  readonly state: State;
  readonly stateKey: string;
  readonly depth: number;
  /** How many of the operations placed up to here are completed ones. */
  readonly completed: number;
  /** The phase of the parent's search in which this operation was placed (see `checkKey`); 3 if forced. */
  readonly phase: number;
  /** For an unknown operation: its index in the parent's `successors`. */
  readonly index: number;
  /** The unknown operations that may follow this configuration, once no completed one can. */
  successors: Successor<State>[];
  readonly parent: Frame<State> | null;
}

/** An unknown operation that may go next, and the state it leads to. */
interface Successor<State> {
  readonly op: number;
  readonly state: State;
  readonly stateKey: string;
}

interface CacheEntry {
  /** The high half of the completed set's fingerprint (the low half is in the bucket's hash). */
  readonly high: number;
  readonly stateId: number;
  readonly completed: Uint32Array;
  readonly unknown: Uint32Array;
}

const NO_WORDS = new Uint32Array(1);
const NONE: never[] = [];
const OTHER = 0;
const READ = 1;
const BLIND = 2;

/** Runs the search on one key's operations (in history order, failed ones dropped). */
function checkKey<State>(
  key: string,
  all: readonly Operation[],
  model: Model<State>,
  maxStates: number,
  outOfTime: () => boolean,
): KeyCheck {
  const total = all.length;
  const hint = model.effect?.bind(model);
  // A read whose outcome is unknown may as well never have taken effect.
  const ops = hint === undefined ? all : all.filter((op) => !(isUnknown(op) && hint(op) === 'read'));
  const n = ops.length;
  const unknown = new Uint8Array(n);
  const effects = new Uint8Array(n);
  let completedLeft = 0;
  for (let i = 0; i < n; i++) {
    const op = ops[i] as Operation;
    if (isUnknown(op)) unknown[i] = 1;
    else completedLeft++;
    const effect = hint?.(op);
    effects[i] = effect === 'read' ? READ : effect === 'blind' ? BLIND : OTHER;
  }

  // Every event gets a position: sorted by time, a call before a return at the same time, then by
  // history order. An operation may take effect next iff its call's position is before the first
  // return still pending.
  const eventCount = n + completedLeft;
  const eventTime = new Float64Array(eventCount);
  const eventOp = new Int32Array(eventCount);
  const eventIsReturn = new Uint8Array(eventCount);
  let e = 0;
  for (let i = 0; i < n; i++) {
    const op = ops[i] as Operation;
    eventTime[e] = op.call;
    eventOp[e] = i;
    e++;
    if (unknown[i] === 0) {
      eventTime[e] = op.return as number;
      eventOp[e] = i;
      eventIsReturn[e] = 1;
      e++;
    }
  }
  const order = Array.from({ length: eventCount }, (_, k) => k);
  order.sort(
    (a, b) =>
      (eventTime[a] as number) - (eventTime[b] as number) ||
      (eventIsReturn[a] as number) - (eventIsReturn[b] as number) ||
      (eventOp[a] as number) - (eventOp[b] as number),
  );
  const nodeOp = new Int32Array(eventCount);
  const nodeIsReturn = new Uint8Array(eventCount);
  const callNode = new Int32Array(n);
  const returnNode = new Int32Array(n).fill(-1);
  for (let k = 0; k < eventCount; k++) {
    const ev = order[k] as number;
    const i = eventOp[ev] as number;
    nodeOp[k] = i;
    if (eventIsReturn[ev] === 1) {
      nodeIsReturn[k] = 1;
      returnNode[i] = k;
    } else {
      callNode[i] = k;
    }
  }

  // Two doubly linked lists (dancing links: an unlinked node keeps its neighbours, so relinking in
  // reverse order restores it). The main list holds the call and return events of the completed
  // operations, by position, after the sentinel `head`. The unknown list holds the operations with
  // an unknown outcome, by call position, after the sentinel `n`; they are tried only once every
  // completed candidate failed (the order of trials does not change the verdict, and this way a
  // linearizable history rarely tries them at all).
  const head = eventCount;
  const next = new Int32Array(eventCount + 1).fill(-1);
  const prev = new Int32Array(eventCount + 1).fill(-1);
  const unknownNext = new Int32Array(n + 1).fill(-1);
  const unknownPrev = new Int32Array(n + 1).fill(-1);
  let mainTail = head;
  let unknownTail = n;
  for (let k = 0; k < eventCount; k++) {
    const i = nodeOp[k] as number;
    if (unknown[i] === 0) {
      next[mainTail] = k;
      prev[k] = mainTail;
      mainTail = k;
    } else {
      unknownNext[unknownTail] = i;
      unknownPrev[i] = unknownTail;
      unknownTail = i;
    }
  }

  const unlink = (nx: Int32Array, pv: Int32Array, x: number): void => {
    const p = pv[x] as number;
    const q = nx[x] as number;
    nx[p] = q;
    if (q >= 0) pv[q] = p;
  };
  const relink = (nx: Int32Array, pv: Int32Array, x: number): void => {
    const p = pv[x] as number;
    const q = nx[x] as number;
    nx[p] = x;
    if (q >= 0) pv[q] = x;
  };
  const lift = (i: number): void => {
    if (unknown[i] === 1) {
      unlink(unknownNext, unknownPrev, i);
    } else {
      unlink(next, prev, callNode[i] as number);
      unlink(next, prev, returnNode[i] as number);
    }
  };
  const unlift = (i: number): void => {
    if (unknown[i] === 1) {
      relink(unknownNext, unknownPrev, i);
    } else {
      relink(next, prev, returnNode[i] as number);
      relink(next, prev, callNode[i] as number);
    }
  };

  // Lowe's cache: every configuration reached, as (completed operations placed, state, unknown
  // operations placed), bucketed by a hash of the first two. A configuration is skipped when the
  // cache holds one with the same completed set and state whose unknown set is a subset of its own:
  // an unknown operation constrains nobody (it has no return), so having placed more of them only
  // removes options, and that configuration was, or is being, explored with more options.
  // (This subsumes Lowe's exact match, and the case of an unknown operation overwritten later.)
  const stateIds = new Map<string, number>();
  const intern = (stateKey: string): number => {
    let id = stateIds.get(stateKey);
    if (id === undefined) {
      id = stateIds.size;
      stateIds.set(stateKey, id);
    }
    return id;
  };
  const slot = new Int32Array(n); // index among the completed, or among the unknown operations
  let unknownCount = 0;
  for (let i = 0; i < n; i++) slot[i] = unknown[i] === 1 ? unknownCount++ : i - unknownCount;
  const completedSet = new Bitset(n - unknownCount);
  const unknownSet = new Bitset(unknownCount);
  const cache = new Map<number, CacheEntry[]>();
  /** Adds the current configuration with `stateId` to the cache; false if one there subsumes it. */
  const remember = (stateId: number): boolean => {
    const hash = (completedSet.hashLow ^ Math.imul(stateId + 1, 0x9e3779b1)) & 0x3fffffff;
    const high = completedSet.hashHigh;
    const bucket = cache.get(hash);
    if (bucket !== undefined) {
      for (const other of bucket) {
        if (other.high === high && other.stateId === stateId && completedSet.equals(other.completed) && unknownSet.includes(other.unknown)) {
          return false;
        }
      }
    }
    const entry: CacheEntry = { high, stateId, completed: completedSet.snapshot(), unknown: unknownCount === 0 ? NO_WORDS : unknownSet.snapshot() };
    if (bucket === undefined) cache.set(hash, [entry]);
    else bucket.push(entry);
    return true;
  };
  const place = (i: number): void => (unknown[i] === 1 ? unknownSet : completedSet).add(slot[i] as number);
  const unplace = (i: number): void => (unknown[i] === 1 ? unknownSet : completedSet).delete(slot[i] as number);

  const initial = model.init();
  const initialKey = model.key(initial);
  let state = initial;
  let stateKey = initialKey;
  let top: Frame<State> | null = null;
  let rootSuccessors: Successor<State>[] = [];
  let best: Frame<State> | null = null;
  let bestScore = -1;
  // The cursor. Each configuration tries its candidates in phases, an order that does not change
  // the verdict but makes a linearizable history need little backtracking:
  //  0. completed operations that leave the state unchanged (reads, failed compare-and-sets),
  //  1. completed operations that change it (phases 0 and 1 walk the main list, at `node`),
  //  2. unknown operations that change it (the configuration's `successors`, at `index`),
  //  3. none left: backtrack.
  let phase = 0;
  let node = next[head] as number;
  let index = 0;
  let steps = 0;
  let untilClock = CLOCK_EVERY;
  const exhausted = (): KeyCheck | undefined => {
    if (steps >= maxStates) return { key, ok: 'unknown', operations: total, steps, exhausted: 'maxStates' };
    steps++;
    if (--untilClock === 0) {
      untilClock = CLOCK_EVERY;
      if (outOfTime()) return { key, ok: 'unknown', operations: total, steps, exhausted: 'timeMs' };
    }
    return undefined;
  };

  for (;;) {
    if (completedLeft === 0) {
      return { key, ok: true, operations: total, steps, linearization: prefixOf(top).map((f) => (ops[f.op] as Operation).id) };
    }
    const out = exhausted();
    if (out !== undefined) return out;

    if (phase < 2) {
      if (node >= 0 && nodeIsReturn[node] === 0) {
        // A completed operation whose call precedes every pending return: try it next.
        const i = nodeOp[node] as number;
        const after = model.step(state, ops[i] as Operation);
        if (after !== undefined) {
          const afterKey = model.key(after);
          if ((afterKey === stateKey) === (phase === 0)) {
            // A read that fits is a forced move: any linearization from here can be reordered to
            // start with it (it may go first in real time and changes nothing), so if this branch
            // fails, the configuration fails.
            const forced = effects[i] === READ;
            place(i);
            if (remember(intern(afterKey))) {
              top = {
                op: i,
                state: after,
                stateKey: afterKey,
                depth: top === null ? 1 : top.depth + 1,
                completed: top === null ? 1 : top.completed + 1,
                phase: forced ? 3 : phase,
                index: -1,
                successors: NONE,
                parent: top,
              };
              lift(i);
              completedLeft--;
              state = after;
              stateKey = afterKey;
              phase = 0;
              node = next[head] as number;
              continue;
            }
            unplace(i);
            if (forced) {
              phase = 3;
              continue;
            }
          }
        }
        node = next[node] as number;
        continue;
      }
      if (phase === 0) {
        phase = 1;
        node = next[head] as number;
        continue;
      }
      // No completed operation can go next. The unknown operations invoked before this return may:
      // every one that changes the state and reaches a new configuration is cached now, before any
      // is explored, so that a longer chain of unknown operations reaching the same state is
      // subsumed by the single step. For the same reason, after an unknown operation a blind one
      // is redundant: it leads where it led from the configuration that started the chain.
      const limit = node < 0 ? eventCount : node;
      const chained = top !== null && unknown[top.op] === 1;
      const successors: Successor<State>[] = [];
      for (let u: number = unknownNext[n] as number; u >= 0 && (callNode[u] as number) < limit; u = unknownNext[u] as number) {
        if (chained && effects[u] === BLIND) continue;
        const out = exhausted();
        if (out !== undefined) return out;
        const after = model.step(state, ops[u] as Operation);
        if (after === undefined) continue;
        const afterKey = model.key(after);
        if (afterKey === stateKey) continue; // changes nothing here: as good as never taking effect
        place(u);
        if (remember(intern(afterKey))) successors.push({ op: u, state: after, stateKey: afterKey });
        unplace(u);
      }
      if (top === null) rootSuccessors = successors;
      else top.successors = successors;
      phase = 2;
      index = 0;
      continue;
    }

    if (phase === 2) {
      const successor: Successor<State> | undefined = (top === null ? rootSuccessors : top.successors)[index];
      if (successor !== undefined) {
        const u: number = successor.op;
        place(u);
        top = {
          op: u,
          state: successor.state,
          stateKey: successor.stateKey,
          depth: top === null ? 1 : top.depth + 1,
          completed: top === null ? 0 : top.completed,
          phase,
          index,
          successors: NONE,
          parent: top,
        };
        lift(u);
        state = successor.state;
        stateKey = successor.stateKey;
        phase = 0;
        node = next[head] as number;
        continue;
      }
    }

    // Nothing can go next: backtrack. The counterexample will show the prefix that placed the most
    // completed operations (and, of those, the fewest unknown ones).
    const score: number = top === null ? 0 : top.completed * (n + 1) + n - (top.depth - top.completed);
    if (score > bestScore) {
      bestScore = score;
      best = top;
    }
    if (top === null) {
      return { key, ok: false, operations: total, steps, counterexample: explain(key, total, ops, model, best, initial, callNode, returnNode, unknown) };
    }
    const j = top.op;
    unplace(j);
    unlift(j);
    top.successors = NONE;
    phase = top.phase;
    if (unknown[j] === 1) {
      index = top.index + 1;
    } else {
      completedLeft++;
      node = next[callNode[j] as number] as number;
    }
    top = top.parent;
    state = top === null ? initial : top.state;
    stateKey = top === null ? initialKey : top.stateKey;
  }
}

/** The frames from the bottom of the stack to `top`. */
function prefixOf<State>(top: Frame<State> | null): Frame<State>[] {
  const frames: Frame<State>[] = [];
  for (let f = top; f !== null; f = f.parent) frames.push(f);
  return frames.reverse();
}

/** Builds the counterexample at the longest prefix: what real time allows next, and why each fails. */
function explain<State>(
  key: string,
  total: number,
  ops: readonly Operation[],
  model: Model<State>,
  best: Frame<State> | null,
  initial: State,
  callNode: Int32Array,
  returnNode: Int32Array,
  unknown: Uint8Array,
): Counterexample {
  const frames = prefixOf(best);
  const placed = new Set(frames.map((f) => f.op));
  const state = best === null ? initial : best.state;
  const stateKey = model.key(state);
  const described = model.describe(state);

  // The operation whose return comes first among those not placed bounds what can go next.
  let blocker = -1;
  for (let i = 0; i < ops.length; i++) {
    if (placed.has(i) || unknown[i] === 1) continue;
    if (blocker < 0 || (returnNode[i] as number) < (returnNode[blocker] as number)) blocker = i;
  }
  const limit = blocker < 0 ? Infinity : (returnNode[blocker] as number);
  const candidates: number[] = [];
  for (let i = 0; i < ops.length; i++) {
    if (!placed.has(i) && (callNode[i] as number) < limit) candidates.push(i);
  }
  candidates.sort((a, b) => (a === blocker ? -1 : b === blocker ? 1 : (callNode[a] as number) - (callNode[b] as number)));

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

  return {
    key,
    model: model.name ?? 'model',
    initialState: model.describe(initial),
    prefix: frames.map((f) => ({ op: ops[f.op] as Operation, state: model.describe(f.state) })),
    stuck,
    operations: total,
  };
}

/** The operations a violation names: the stuck completed ones, then the last one that changed the state. */
function involvedOperations(cx: Counterexample): number[] {
  const ids = cx.stuck.filter((s) => !isUnknown(s.op)).map((s) => s.op.id);
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

/** Options of `renderCounterexample`. */
export interface RenderCounterexampleOptions {
  /**
   * Show at most this many steps of the prefix (the last ones).
   * @default Infinity (every step)
   */
  readonly maxSteps?: number | undefined;
}

/**
 * A counterexample as text: a sentence, the longest linearizable prefix (each operation with its
 * times, client, action, and the state it moved to), and the operations that cannot go next.
 */
export function renderCounterexample(cx: Counterexample, options: RenderCounterexampleOptions = {}): string {
  const maxSteps = Math.max(0, options.maxSteps ?? Infinity);
  const last = cx.prefix[cx.prefix.length - 1];
  const current = last === undefined ? cx.initialState : last.state;
  const lines: string[] = [
    `key ${JSON.stringify(cx.key)} is not linearizable (${cx.model} model): after its longest linearizable prefix ` +
      `(${cx.prefix.length} of ${cx.operations} operations, ending in state ${current}), no remaining operation can take effect next.`,
  ];
  const shownFrom = Math.max(0, cx.prefix.length - maxSteps);
  const shown = cx.prefix.slice(shownFrom);
  const texts = shown.map((step) => describeOperation(step.op));
  const width = Math.min(72, Math.max(0, ...texts.map((t) => t.length)));
  const numberWidth = String(cx.prefix.length).length;
  lines.push(`  linearizable prefix (state after each operation):`);
  if (shownFrom === 0) {
    lines.push(`    ${' '.repeat(numberWidth)}  initial state ${cx.initialState}`);
  } else {
    const before = (cx.prefix[shownFrom - 1] as CounterexampleStep).state;
    lines.push(`    ${' '.repeat(numberWidth)}  … ${shownFrom} earlier operation${shownFrom === 1 ? '' : 's'}, then state ${before}`);
  }
  shown.forEach((step, k) => {
    const number = String(shownFrom + k + 1).padStart(numberWidth);
    lines.push(`    ${number}. ${(texts[k] as string).padEnd(width)}  ⇒ ${step.state}`);
  });
  lines.push(`  cannot take effect next (state ${current}):`);
  for (const s of cx.stuck) lines.push(`    ${describeOperation(s.op)}: ${s.reason}`);
  return lines.join('\n');
}

interface ReportInput {
  readonly model: string;
  readonly ok: boolean | 'unknown';
  readonly perKey: ReadonlyMap<string, KeyCheck>;
  readonly violations: readonly Violation[];
  readonly unknownKeys: readonly KeyCheck[];
  readonly total: number;
  readonly dropped: number;
  readonly unknownCount: number;
  readonly maxStates: number;
  readonly timeMs: number | undefined;
}

function renderReport(r: ReportInput): string {
  const keys = r.perKey.size;
  let steps = 0;
  for (const v of r.perKey.values()) steps += v.steps;
  const verdict = r.ok === true ? 'linearizable' : r.ok === false ? 'NOT linearizable' : 'undecided';
  const counts =
    `${keys} key${keys === 1 ? '' : 's'}: ${keys - r.violations.length - r.unknownKeys.length} linearizable, ` +
    `${r.violations.length} not, ${r.unknownKeys.length} undecided`;
  const lines = [
    `wgl (${r.model}): ${verdict}. ${counts}. ${r.total} operations (${r.dropped} failed and dropped, ` +
      `${r.unknownCount} with unknown outcome); ${steps} search steps.`,
  ];
  for (const v of r.violations) lines.push('', v.message);
  if (r.unknownKeys.length > 0) {
    lines.push('');
    for (const v of r.unknownKeys) {
      const budget = v.exhausted === 'timeMs' ? `timeMs ${String(r.timeMs)}` : `maxStates ${r.maxStates}`;
      lines.push(`key ${JSON.stringify(v.key)}: undecided, the search ran out of its budget (${budget}) after ${v.steps} steps.`);
    }
  }
  return lines.join('\n');
}
