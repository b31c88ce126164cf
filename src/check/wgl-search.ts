/**
 * The WGL search on one key: Wing and Gong's (1993) backtracking search with Lowe's memoisation
 * ("Testing for linearizability", 2017), on the events of `wgl-events.ts` and the cache of
 * `wgl-cache.ts`.
 *
 * The search walks the main list from its head: any operation whose call comes before the first
 * return still in the list may take effect next; if the model accepts it, and the configuration
 * (operations taken effect, model state) was never reached before, its events are unlinked (and
 * remembered on an explicit stack: no recursion, any history length) and the walk restarts from
 * the head. Reaching a return event means that operation should have taken effect already: the
 * search backtracks, restoring the last operation's events. The history is linearizable once every
 * completed operation has taken effect (unknown ones left over never took effect).
 *
 * Each configuration tries its candidates in phases, an order that does not change the verdict
 * but makes a linearizable history need little backtracking:
 *  0. completed operations that leave the state unchanged (reads, failed compare-and-sets),
 *  1. completed operations that change it (phases 0 and 1 walk the main list, at `#node`),
 *  2. unknown operations that change it (the configuration's `successors`, at `#index`),
 *  3. none left: backtrack.
 */
import type { Operation } from './history.js';
import type { Model } from './models.js';
import { ConfigurationCache } from './wgl-cache.js';
import { BLIND, CandidateLists, type EventPositions, type KeyOperations, positionEvents, READ } from './wgl-events.js';

/** How many steps pass between two looks at the clock. */
const CLOCK_EVERY = 1024;

/** The budget that ran out. */
export type Budget = 'maxStates' | 'timeMs';

/** One operation of a prefix the search placed, and the model state after it. */
export interface PlacedStep<State> {
  /** Its index in `KeyOperations.ops`. */
  readonly op: number;
  readonly state: State;
}

/** What the search leaves when no linearization exists: what a counterexample explains. */
export interface Refutation<State> {
  readonly verdict: 'refuted';
  readonly steps: number;
  /** The operations searched. */
  readonly operations: KeyOperations;
  readonly positions: EventPositions;
  readonly initial: State;
  /**
   * The longest prefix it placed (the most completed operations, then the fewest unknown ones),
   * in linearization order.
   */
  readonly prefix: readonly PlacedStep<State>[];
}

/** The search's verdict on one key. */
export type SearchOutcome<State> =
  | { readonly verdict: 'linearizable'; readonly steps: number; readonly linearization: readonly number[] }
  | { readonly verdict: 'exhausted'; readonly steps: number; readonly budget: Budget }
  | Refutation<State>;

/**
 * Searches for a linearization of one key's operations. `maxStates` bounds the steps (a step
 * visits one event); `outOfTime` is asked every `CLOCK_EVERY` steps.
 */
export function searchKey<State>(key: KeyOperations, model: Model<State>, maxStates: number, outOfTime: () => boolean): SearchOutcome<State> {
  return new Search(key, model, new StepBudget(maxStates, outOfTime)).run();
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
  /** The phase of the parent's search in which this operation was placed; 3 if forced. */
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

const NONE: never[] = [];

/** Counts search steps against `maxStates`, and looks at the clock every `CLOCK_EVERY` steps. */
class StepBudget {
  steps = 0;
  /** Set when `take` returns false. */
  exhausted: Budget | undefined;
  readonly #maxStates: number;
  readonly #outOfTime: () => boolean;
  #untilClock = CLOCK_EVERY;

  constructor(maxStates: number, outOfTime: () => boolean) {
    this.#maxStates = maxStates;
    this.#outOfTime = outOfTime;
  }

  /** Takes one step; false when a budget has run out. */
  take(): boolean {
    if (this.steps >= this.#maxStates) {
      this.exhausted = 'maxStates';
      return false;
    }
    this.steps++;
    if (--this.#untilClock === 0) {
      this.#untilClock = CLOCK_EVERY;
      if (this.#outOfTime()) {
        this.exhausted = 'timeMs';
        return false;
      }
    }
    return true;
  }
}

/** The search's state: the configuration (stack, model state), the cursor and the best prefix. */
class Search<State> {
  readonly #key: KeyOperations;
  readonly #model: Model<State>;
  readonly #budget: StepBudget;
  readonly #positions: EventPositions;
  readonly #lists: CandidateLists;
  readonly #cache: ConfigurationCache;
  readonly #initial: State;
  readonly #initialKey: string;
  /** The configuration: the operations placed (`null`: none), the state they lead to. */
  #top: Frame<State> | null = null;
  #state: State;
  #stateKey: string;
  #completedLeft: number;
  /** The root configuration's `successors` (the others' are on their frames). */
  #rootSuccessors: Successor<State>[] = [];
  /** The cursor: the phase (see the module comment), the position in the main list, the successor. */
  #phase = 0;
  #node: number;
  #index = 0;
  /** The prefix a counterexample will show, and its score. */
  #best: Frame<State> | null = null;
  #bestScore = -1;

  constructor(key: KeyOperations, model: Model<State>, budget: StepBudget) {
    this.#key = key;
    this.#model = model;
    this.#budget = budget;
    this.#positions = positionEvents(key);
    this.#lists = new CandidateLists(key, this.#positions);
    this.#cache = new ConfigurationCache(key.unknown);
    this.#initial = model.init();
    this.#initialKey = model.key(this.#initial);
    this.#state = this.#initial;
    this.#stateKey = this.#initialKey;
    this.#completedLeft = key.completed;
    this.#node = this.#lists.next[this.#lists.head] as number;
  }

  run(): SearchOutcome<State> {
    const isReturn = this.#positions.isReturn;
    for (;;) {
      if (this.#completedLeft === 0) {
        const linearization = prefixOf(this.#top).map((f) => (this.#key.ops[f.op] as Operation).id);
        return { verdict: 'linearizable', steps: this.#budget.steps, linearization };
      }
      if (!this.#budget.take()) return this.#exhausted();
      if (this.#phase < 2) {
        const node = this.#node;
        if (node >= 0 && isReturn[node] === 0) {
          // A completed operation whose call precedes every pending return: try it next.
          this.#tryCompleted(node);
        } else if (this.#phase === 0) {
          this.#phase = 1;
          this.#node = this.#lists.next[this.#lists.head] as number;
        } else if (!this.#collectSuccessors(node)) {
          return this.#exhausted();
        }
        continue;
      }
      if (this.#phase === 2 && this.#tryNextSuccessor()) continue;
      if (!this.#backtrack()) return this.#refutation();
    }
  }

  /** Phases 0 and 1: places the completed operation called at `node` if it fits this phase. */
  #tryCompleted(node: number): void {
    const i = this.#positions.op[node] as number;
    const after = this.#model.step(this.#state, this.#key.ops[i] as Operation);
    if (after !== undefined) {
      const afterKey = this.#model.key(after);
      if ((afterKey === this.#stateKey) === (this.#phase === 0)) {
        // A read that fits is a forced move: any linearization from here can be reordered to
        // start with it (it may go first in real time and changes nothing), so if this branch
        // fails, the configuration fails.
        const forced = this.#key.effects[i] === READ;
        this.#cache.place(i);
        if (this.#cache.remember(afterKey)) {
          this.#descend(i, after, afterKey, forced ? 3 : this.#phase, -1);
          return;
        }
        this.#cache.unplace(i);
        if (forced) {
          this.#phase = 3;
          return;
        }
      }
    }
    this.#node = this.#lists.next[node] as number;
  }

  /**
   * End of phase 1 (the walk reached the return at `node`, or the end): no completed operation can
   * go next. The unknown operations invoked before this return may: every one that changes the
   * state and reaches a new configuration is cached now, before any is explored, so that a longer
   * chain of unknown operations reaching the same state is subsumed by the single step. For the
   * same reason, after an unknown operation a blind one is redundant: it leads where it led from
   * the configuration that started the chain. False when a budget ran out.
   */
  #collectSuccessors(node: number): boolean {
    const { ops, unknown, effects } = this.#key;
    const { unknownNext, unknownHead } = this.#lists;
    const callPosition = this.#positions.call;
    const limit = node < 0 ? this.#positions.count : node;
    const top = this.#top;
    const chained = top !== null && unknown[top.op] === 1;
    const successors: Successor<State>[] = [];
    for (let u = unknownNext[unknownHead] as number; u >= 0 && (callPosition[u] as number) < limit; u = unknownNext[u] as number) {
      if (chained && effects[u] === BLIND) continue;
      if (!this.#budget.take()) return false;
      const after = this.#model.step(this.#state, ops[u] as Operation);
      if (after === undefined) continue;
      const afterKey = this.#model.key(after);
      if (afterKey === this.#stateKey) continue; // changes nothing here: as good as never taking effect
      this.#cache.place(u);
      if (this.#cache.remember(afterKey)) successors.push({ op: u, state: after, stateKey: afterKey });
      this.#cache.unplace(u);
    }
    if (top === null) this.#rootSuccessors = successors;
    else top.successors = successors;
    this.#phase = 2;
    this.#index = 0;
    return true;
  }

  /** Phase 2: places the configuration's next unknown successor; false when none is left. */
  #tryNextSuccessor(): boolean {
    const top = this.#top;
    const successor = (top === null ? this.#rootSuccessors : top.successors)[this.#index];
    if (successor === undefined) return false;
    this.#cache.place(successor.op);
    this.#descend(successor.op, successor.state, successor.stateKey, this.#phase, this.#index);
    return true;
  }

  /**
   * Pushes the placed operation `i` (already in the cache's configuration) leading to `state`,
   * takes it out of the candidate lists and restarts the walk from the head.
   */
  #descend(i: number, state: State, stateKey: string, phase: number, index: number): void {
    const top = this.#top;
    const completed = this.#key.unknown[i] === 0;
    this.#top = {
      op: i,
      state,
      stateKey,
      depth: top === null ? 1 : top.depth + 1,
      completed: (top === null ? 0 : top.completed) + (completed ? 1 : 0),
      phase,
      index,
      successors: NONE,
      parent: top,
    };
    this.#lists.lift(i);
    if (completed) this.#completedLeft--;
    this.#state = state;
    this.#stateKey = stateKey;
    this.#phase = 0;
    this.#node = this.#lists.next[this.#lists.head] as number;
  }

  /**
   * Nothing can go next: undoes the last placement and resumes its parent's walk after it. False
   * when there is nothing to undo (no linearization exists). Remembers the prefix that placed the
   * most completed operations (and, of those, the fewest unknown ones) for the counterexample.
   */
  #backtrack(): boolean {
    const top = this.#top;
    const n = this.#key.ops.length;
    const score = top === null ? 0 : top.completed * (n + 1) + n - (top.depth - top.completed);
    if (score > this.#bestScore) {
      this.#bestScore = score;
      this.#best = top;
    }
    if (top === null) return false;
    const j = top.op;
    this.#cache.unplace(j);
    this.#lists.unlift(j);
    top.successors = NONE;
    this.#phase = top.phase;
    if (this.#key.unknown[j] === 1) {
      this.#index = top.index + 1;
    } else {
      this.#completedLeft++;
      this.#node = this.#lists.next[this.#positions.call[j] as number] as number;
    }
    const parent = top.parent;
    this.#top = parent;
    this.#state = parent === null ? this.#initial : parent.state;
    this.#stateKey = parent === null ? this.#initialKey : parent.stateKey;
    return true;
  }

  #exhausted(): SearchOutcome<State> {
    return { verdict: 'exhausted', steps: this.#budget.steps, budget: this.#budget.exhausted as Budget };
  }

  #refutation(): Refutation<State> {
    const prefix = prefixOf(this.#best);
    return { verdict: 'refuted', steps: this.#budget.steps, operations: this.#key, positions: this.#positions, initial: this.#initial, prefix };
  }
}

/** The frames from the bottom of the stack to `top`. */
function prefixOf<State>(top: Frame<State> | null): Frame<State>[] {
  const frames: Frame<State>[] = [];
  for (let f = top; f !== null; f = f.parent) frames.push(f);
  return frames.reverse();
}
