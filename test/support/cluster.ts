/**
 * Cluster builders for tests: `MemoryAcceptor`s behind `FaultyAcceptor`s, `MemoryProposer`s with
 * deterministic retries (no timers, seeded jitter) and one shared trace.
 */
import type { Ballot, MemoryProposerOptions, RetryPolicy, Sleep, TraceEvent, Tracer } from '../../src/index.js';
import { MemoryAcceptor, MemoryProposer, formatBallot } from '../../src/index.js';
import { SeededRandom } from '../../src/sim/random.js';
import { FaultyAcceptor } from './faulty-acceptor.js';

/** A `Sleep` that does not wait: retries happen on the next microtask, never on a timer. */
export const noSleep: Sleep = (_ms, signal) => {
  signal?.throwIfAborted();
  return Promise.resolve();
};

/** Lets every pending promise callback run (a macrotask turn; no timing is measured). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Flushes until `condition` holds; fails after `turns` turns instead of hanging. */
export async function until(condition: () => boolean, what = 'condition', turns = 100): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (condition()) return;
    await flush();
  }
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

export interface ClusterOptions {
  /** Acceptor addresses. @default ['A', 'B', 'C'] */
  readonly acceptors?: readonly string[];
  /** Proposer ids. @default ['p1', 'p2'] */
  readonly proposers?: readonly string[];
  /** Retry policy of every proposer. @default 10 attempts */
  readonly retry?: Partial<RetryPolicy>;
  /**
   * More options for some proposers, by id (e.g. `{ p1: { oneRoundTrip: false } }`); they override
   * the cluster's (`retry` included).
   */
  readonly proposerOptions?: Readonly<Record<string, MemoryProposerOptions>>;
}

export class TestCluster {
  readonly acceptors: FaultyAcceptor[] = [];
  readonly proposers: MemoryProposer[] = [];
  /** Every trace event of every proposer, in order. */
  readonly events: TraceEvent[] = [];
  readonly tracer: Tracer = (event) => {
    this.events.push(event);
  };
  readonly #retry: Partial<RetryPolicy>;
  readonly #proposerOptions: Readonly<Record<string, MemoryProposerOptions>>;
  #seed = 1;

  constructor(options: ClusterOptions = {}) {
    this.#retry = options.retry ?? {};
    this.#proposerOptions = options.proposerOptions ?? {};
    for (const address of options.acceptors ?? ['A', 'B', 'C']) this.addAcceptor(address);
    for (const id of options.proposers ?? ['p1', 'p2']) this.addProposer(id);
  }

  /** A new acceptor, NOT added to any proposer (use `growCluster`). */
  addAcceptor(address: string): FaultyAcceptor {
    const acceptor = new FaultyAcceptor(new MemoryAcceptor(address));
    this.acceptors.push(acceptor);
    return acceptor;
  }

  /** A new proposer over the acceptors the first proposer uses for accepts (all of them if none). */
  addProposer(id: string, retry: Partial<RetryPolicy> = this.#retry): MemoryProposer {
    const first = this.proposers[0];
    const accepters = first === undefined ? this.acceptors : this.acceptors.filter((a) => first.inspect().accepters.includes(a.address));
    const proposer = new MemoryProposer(id, accepters, {
      tracer: this.tracer,
      retry,
      sleep: noSleep,
      random: new SeededRandom(this.#seed++).asFunction,
      ...this.#proposerOptions[id],
    });
    this.proposers.push(proposer);
    return proposer;
  }

  acceptor(address: string): FaultyAcceptor {
    const found = this.acceptors.find((a) => a.address === address);
    if (found === undefined) throw new Error(`no acceptor ${address}`);
    return found;
  }

  proposer(id: string): MemoryProposer {
    const found = this.proposers.find((p) => p.address === id);
    if (found === undefined) throw new Error(`no proposer ${id}`);
    return found;
  }

  /** Events of one type, typed. */
  eventsOf<T extends TraceEvent['type']>(type: T): Extract<TraceEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<TraceEvent, { type: T }> => e.type === type);
  }
}

/**
 * The ballot of every proposal attempt in a trace: each attempt ends with exactly one `retry`
 * (its prepare lost and another attempt follows), `committed` or `failed` event. (Valid as long as
 * no proposal is aborted while sleeping between attempts, and no attempt ends because every change
 * function of its batch threw: such an attempt sends no accept and ends without an event.)
 */
export function attemptBallots(events: readonly TraceEvent[]): Ballot[] {
  const ballots: Ballot[] = [];
  for (const e of events) if (e.type === 'retry' || e.type === 'committed' || e.type === 'failed') ballots.push(e.ballot);
  return ballots;
}

/** Ballots that occur more than once, formatted (empty when all are distinct). */
export function duplicates(ballots: readonly Ballot[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const b of ballots) {
    const f = formatBallot(b);
    if (seen.has(f)) dup.add(f);
    seen.add(f);
  }
  return [...dup];
}
