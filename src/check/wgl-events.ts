/**
 * One key's operations laid out for the WGL search (`wgl-search.ts`), so that finding what may take
 * effect next, and taking an operation out or putting it back, cost O(1) per search step.
 *
 * Every event (an operation's call, and a completed operation's return) gets a position: sorted by
 * time, a call before a return at the same time (operations that touch at an instant count as
 * concurrent), then by history order. An operation may take effect next iff its call's position is
 * before the first return still pending.
 */
import { outcomeUnknown, type Operation } from './history.js';
import type { Model } from './models.js';

/** The model's `effect` hint of an operation, as a small integer (see `Model.effect`). */
export const OTHER = 0;
export const READ = 1;
export const BLIND = 2;

/** One key's operations as the search sees them. */
export interface KeyOperations {
  /** In history order; failed ones dropped, and unknown reads too when the model hints reads. */
  readonly ops: readonly Operation[];
  /** 1 where the outcome is unknown. */
  readonly unknown: Uint8Array;
  /** The model's hint per operation: `OTHER`, `READ` or `BLIND`. */
  readonly effects: Uint8Array;
  /** How many have a known outcome (completed). */
  readonly completed: number;
}

/** Classifies one key's operations (in history order, failed ones already dropped). */
export function keyOperations<State>(all: readonly Operation[], model: Model<State>): KeyOperations {
  const hint = model.effect?.bind(model);
  // A read whose outcome is unknown may as well never have taken effect.
  const ops = hint === undefined ? all : all.filter((op) => !(outcomeUnknown(op) && hint(op) === 'read'));
  const unknown = new Uint8Array(ops.length);
  const effects = new Uint8Array(ops.length);
  let completed = 0;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as Operation;
    if (outcomeUnknown(op)) unknown[i] = 1;
    else completed++;
    const effect = hint?.(op);
    effects[i] = effect === 'read' ? READ : effect === 'blind' ? BLIND : OTHER;
  }
  return { ops, unknown, effects, completed };
}

/** The events of one key's operations, by position (see the module comment). */
export interface EventPositions {
  /** How many events: a call per operation, a return per completed one. */
  readonly count: number;
  /** The operation (its index in `KeyOperations.ops`) of the event at each position. */
  readonly op: Int32Array;
  /** 1 where the event at the position is a return. */
  readonly isReturn: Uint8Array;
  /** Each operation's call position. */
  readonly call: Int32Array;
  /** Each operation's return position; -1 when its outcome is unknown (it returns at +∞). */
  readonly return: Int32Array;
}

/** Sorts the events of `key`'s operations into positions. */
export function positionEvents(key: KeyOperations): EventPositions {
  const { ops, unknown } = key;
  const n = ops.length;
  const count = n + key.completed;
  const eventTime = new Float64Array(count);
  const eventOp = new Int32Array(count);
  const eventIsReturn = new Uint8Array(count);
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
  const order = Array.from({ length: count }, (_, k) => k);
  order.sort(
    (a, b) =>
      (eventTime[a] as number) - (eventTime[b] as number) ||
      (eventIsReturn[a] as number) - (eventIsReturn[b] as number) ||
      (eventOp[a] as number) - (eventOp[b] as number),
  );
  const op = new Int32Array(count);
  const isReturn = new Uint8Array(count);
  const call = new Int32Array(n);
  const returns = new Int32Array(n).fill(-1);
  for (let k = 0; k < count; k++) {
    const ev = order[k] as number;
    const i = eventOp[ev] as number;
    op[k] = i;
    if (eventIsReturn[ev] === 1) {
      isReturn[k] = 1;
      returns[i] = k;
    } else {
      call[i] = k;
    }
  }
  return { count, op, isReturn, call, return: returns };
}

/**
 * The operations not yet placed, in two doubly linked lists (dancing links: an unlinked node keeps
 * its neighbours, so relinking in reverse order restores it). The main list holds the call and
 * return events of the completed operations, by position, after the sentinel `head`. The unknown
 * list holds the operations with an unknown outcome, by call position, after the sentinel
 * `unknownHead`; the search tries them only once every completed candidate failed (the order of
 * trials does not change the verdict, and this way a linearizable history rarely tries them at all).
 */
export class CandidateLists {
  /** The main list's sentinel (one past the last position). */
  readonly head: number;
  /** The main list: the next and previous position (-1: none). */
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** The unknown list's sentinel (one past the last operation index). */
  readonly unknownHead: number;
  /** The unknown list: the next and previous operation index (-1: none). */
  readonly unknownNext: Int32Array;
  readonly unknownPrev: Int32Array;
  readonly #unknown: Uint8Array;
  readonly #positions: EventPositions;

  constructor(key: KeyOperations, positions: EventPositions) {
    const { count, op } = positions;
    const unknown = key.unknown;
    const n = key.ops.length;
    const next = new Int32Array(count + 1).fill(-1);
    const prev = new Int32Array(count + 1).fill(-1);
    const unknownNext = new Int32Array(n + 1).fill(-1);
    const unknownPrev = new Int32Array(n + 1).fill(-1);
    let mainTail = count;
    let unknownTail = n;
    for (let k = 0; k < count; k++) {
      const i = op[k] as number;
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
    this.head = count;
    this.next = next;
    this.prev = prev;
    this.unknownHead = n;
    this.unknownNext = unknownNext;
    this.unknownPrev = unknownPrev;
    this.#unknown = unknown;
    this.#positions = positions;
  }

  /** Takes operation `i` out (it was placed): its events, or its entry in the unknown list. */
  lift(i: number): void {
    if (this.#unknown[i] === 1) {
      unlink(this.unknownNext, this.unknownPrev, i);
    } else {
      unlink(this.next, this.prev, this.#positions.call[i] as number);
      unlink(this.next, this.prev, this.#positions.return[i] as number);
    }
  }

  /** Puts operation `i` back: the inverse of `lift(i)`, valid when done in reverse order of lifts. */
  unlift(i: number): void {
    if (this.#unknown[i] === 1) {
      relink(this.unknownNext, this.unknownPrev, i);
    } else {
      relink(this.next, this.prev, this.#positions.return[i] as number);
      relink(this.next, this.prev, this.#positions.call[i] as number);
    }
  }
}

function unlink(next: Int32Array, prev: Int32Array, x: number): void {
  const p = prev[x] as number;
  const q = next[x] as number;
  next[p] = q;
  if (q >= 0) prev[q] = p;
}

function relink(next: Int32Array, prev: Int32Array, x: number): void {
  const p = prev[x] as number;
  const q = next[x] as number;
  next[p] = x;
  if (q >= 0) prev[q] = x;
}
