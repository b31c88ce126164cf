/**
 * Recording a trace: a `Tracer` that keeps each event with a sequence number and a timestamp, for
 * the renderers of this module (ASCII, Mermaid, SVG, NDJSON) to draw afterwards.
 *
 * Time comes from an injected clock. The default is a logical counter (0, 1, 2, ...), so a trace
 * of a deterministic run renders byte-identically; pass `() => sim.now` to stamp events with a
 * simulation's virtual time, or `() => performance.now()` for wall-clock time.
 */
import { copyState } from '../core/state.js';
import { InvalidArgumentError } from '../errors.js';
import type { TraceEvent, Tracer } from '../tracer.js';

/** One recorded event. */
export interface RecordedEvent {
  /** Position in the recording: 0 for the first event ever recorded, never reused. */
  readonly seq: number;
  /** The clock's reading when the event was recorded. */
  readonly time: number;
  /**
   * The event, with its states copied when recorded (a later change to a buffer does not rewrite
   * history).
   */
  readonly event: TraceEvent;
}

/** Options of `TraceRecorder`. */
export interface TraceRecorderOptions {
  /**
   * Stamps each event. Called once per event, synchronously; must not throw.
   * @default a logical counter: the event's `seq`
   * @example { clock: () => sim.now } // a Simulation's virtual time, in microseconds
   */
  readonly clock?: (() => number) | undefined;
  /**
   * The most events kept; past it the oldest are dropped (see `dropped`), so a long run can stay
   * traced in bounded memory.
   * @default Infinity
   */
  readonly limit?: number | undefined;
}

/**
 * Records the trace events of proposers, garbage collection and membership changes, each with a
 * sequence number and a time from an injected clock, for the renderers of `caspaxos/trace` (ASCII,
 * Mermaid, SVG, NDJSON). With the default logical clock, a deterministic run renders
 * byte-identically.
 * @example
 * ```ts
 * import { MemoryAcceptor, MemoryProposer } from 'caspaxos';
 * import { TraceRecorder, byKey, renderAscii } from 'caspaxos/trace';
 *
 * const recorder = new TraceRecorder();
 * const acceptors = ['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address));
 * const p1 = new MemoryProposer('p1', acceptors, { tracer: recorder.tracer });
 * await p1.propose('k', () => new TextEncoder().encode('v'));
 * console.log(renderAscii(recorder.events, { filter: byKey('k') }));
 * ```
 */
export class TraceRecorder {
  readonly #clock: (() => number) | undefined;
  readonly #limit: number;
  #events: RecordedEvent[] = [];
  /** Index of the oldest kept event in `#events` (dropping is amortised, not a shift per event). */
  #start = 0;
  #seq = 0;
  #dropped = 0;

  /**
   * The tracer to hand to proposers, `garbageCollect`, `growCluster`, `shrinkCluster` or a
   * `Simulation`. Bound: pass it around as is.
   * @example new MemoryProposer('p1', acceptors, { tracer: recorder.tracer })
   */
  readonly tracer: Tracer = (event) => this.record(event);

  constructor(options: TraceRecorderOptions = {}) {
    const { clock, limit = Number.POSITIVE_INFINITY } = options;
    if (clock !== undefined && typeof clock !== 'function') throw new InvalidArgumentError('clock must be a function');
    if (!(limit === Number.POSITIVE_INFINITY || (Number.isSafeInteger(limit) && limit >= 1))) {
      throw new InvalidArgumentError(`limit must be an integer >= 1 or Infinity, got ${String(limit)}`);
    }
    this.#clock = clock;
    this.#limit = limit;
  }

  /**
   * Records `event`. States are copied: a proposer hands its callers the very `Uint8Array` it
   * traced, and a caller that changes it afterwards must not rewrite history.
   */
  record(event: TraceEvent): void {
    const seq = this.#seq++;
    const time = this.#clock === undefined ? seq : this.#clock();
    this.#events.push({ seq, time, event: 'state' in event ? { ...event, state: copyState(event.state) } : event });
    if (this.#events.length - this.#start > this.#limit) {
      this.#start++;
      this.#dropped++;
      // Compact once the dropped prefix is as long as what is kept: O(1) amortised per event.
      if (this.#start >= this.#limit) {
        this.#events = this.#events.slice(this.#start);
        this.#start = 0;
      }
    }
  }

  /** The kept events, oldest first (a copy: recording more does not change it). */
  get events(): RecordedEvent[] {
    return this.#events.slice(this.#start);
  }

  /** How many events were recorded in total, kept or dropped. */
  get recorded(): number {
    return this.#seq;
  }

  /** How many of the oldest events were dropped to stay within `limit`. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Forgets the kept events (they do not count as dropped); sequence numbers keep counting. */
  clear(): void {
    this.#events = [];
    this.#start = 0;
  }
}

/**
 * One tracer that hands each event to every given tracer in order (for example a recorder and a
 * live logger). `undefined` entries are skipped.
 */
export function teeTracers(...tracers: ReadonlyArray<Tracer | undefined>): Tracer {
  const targets = tracers.filter((t): t is Tracer => t !== undefined);
  for (const t of targets) if (typeof t !== 'function') throw new InvalidArgumentError('every tracer must be a function');
  return (event) => {
    for (const t of targets) t(event);
  };
}
