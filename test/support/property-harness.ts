/**
 * The harness shared by the property tests under test/property/: clients run ops (each appends its
 * unique id to a key's JSON list of op ids) through `MemoryProposer`s over acceptors behind a
 * `ScheduledNetwork`, so fast-check's scheduler orders every message and picks its faults. Once
 * everything settled, every key is read through every proposer; the run's history (`RunResult`) is
 * then judged by checks. This module holds what the tests share: running a history, the checks
 * they both make, and fast-check parameters with replay by environment (FC_SEED, FC_PATH, FC_RUNS).
 * Each test keeps its own scenarios, its own checks and its own negative controls.
 *
 * A broken invariant throws `InvariantViolation`, so a negative control can tell "the property
 * caught the bug" from "the harness crashed".
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import {
  AcceptFailedError,
  type Acceptor,
  type ChangeFunc,
  MemoryProposer,
  type MemoryProposerOptions,
  PrepareFailedError,
  type TraceEvent,
  formatBallot,
} from '../../src/index.js';
import { SeededRandom } from '../../src/sim/random.js';
import type { FaultyAcceptor } from './faulty-acceptor.js';
import { type Fate, ScheduledNetwork } from './scheduled-network.js';
import { dec, isPrefix, opsOf } from './text.js';

/** A broken invariant (as opposed to a crash of the harness). */
export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

export function violated(message: string): never {
  throw new InvariantViolation(message);
}

/**
 * How an op ended: acknowledged; PrepareFailedError (it had no effect); AcceptFailedError (its
 * effect is unknown); anything else (`error`), which no check tolerates.
 */
export type OpOutcome = 'ok' | 'prepare-failed' | 'accept-failed' | 'error';

export interface OpRecord {
  readonly id: string;
  readonly key: string;
  /** The address of the proposer the op went through. */
  readonly proposer: string;
  /** Position in the order ops reached their proposer (`propose` was called), across proposers. */
  readonly arrival: number;
  /** Logical time of the invocation and of the response, on one clock shared by all clients. */
  readonly invokedAt: number;
  readonly respondedAt: number;
  readonly outcome: OpOutcome;
  /** The acknowledged state (outcome `ok`). */
  readonly state?: string[];
  readonly error?: unknown;
}

export interface RunResult {
  /** Every op, in the order they settled. */
  readonly ops: readonly OpRecord[];
  /** Final state of each key; the reads through every proposer agreed on it. */
  readonly final: ReadonlyMap<string, string[]>;
  readonly acceptors: readonly FaultyAcceptor<Acceptor>[];
  /** Every trace event of every proposer, in order. */
  readonly events: readonly TraceEvent[];
}

/** One client: the ops it runs one after another, each on a key, all through one proposer. */
export interface ClientPlan {
  /** Index into `HistorySetup.proposerIds`. */
  readonly proposer: number;
  readonly keys: readonly string[];
}

/**
 * Where a client yields to the scheduler (a named task in the counterexample's log):
 *  - `before-each-op`: other clients can also get between two of its ops;
 *  - `once-at-start`: only its start is scheduled; each op follows the previous one's response.
 */
export type ClientPacing = 'before-each-op' | 'once-at-start';

export interface HistorySetup {
  /** The fate of each request, in call order, until the final reads (see `ScheduledNetwork`). */
  readonly fates: readonly Fate[];
  /** The keys read at the end. */
  readonly keys: readonly string[];
  /** How many acceptors, addressed A, B, C, ...; `makeAcceptor` builds each (behind the network). */
  readonly acceptorCount: number;
  readonly makeAcceptor: (address: string) => Acceptor;
  /** One proposer per id (ids may repeat, to test ballot reuse). */
  readonly proposerIds: readonly string[];
  /** What a test varies in its proposers; the rest is fixed here for determinism. */
  readonly proposerOptions?: Pick<MemoryProposerOptions, 'maxBatch' | 'oneRoundTrip'>;
  readonly clients: readonly ClientPlan[];
  readonly pacing: ClientPacing;
  /** The change of the op with this id (op ids are `c<client>.<op>`). */
  readonly makeChange: (id: string) => ChangeFunc;
}

/**
 * Runs one history to the end and returns what happened; throws an `InvariantViolation` when the
 * final reads fail or disagree, anything else only on a harness failure.
 */
export async function runHistory(s: fc.Scheduler, setup: HistorySetup): Promise<RunResult> {
  const network = new ScheduledNetwork(s, setup.fates);
  const acceptors = Array.from({ length: setup.acceptorCount }, (_, i) => network.wrap(setup.makeAcceptor(String.fromCharCode(65 + i))));
  const events: TraceEvent[] = [];
  const proposers = setup.proposerIds.map(
    (id, i) =>
      new MemoryProposer(id, acceptors, {
        tracer: (event) => events.push(event),
        retry: { attempts: 3 },
        // Retries wait for the scheduler, never for a timer.
        sleep: () => s.schedule(Promise.resolve(), `${id} sleeps`),
        random: new SeededRandom(i + 1).asFunction,
        ...setup.proposerOptions,
      }),
  );

  let clock = 0;
  let arrivals = 0;
  const ops: OpRecord[] = [];
  // Clients, settling and final reads stay in this one async function on purpose: an extra `await`
  // between two steps could shift the microtasks the scheduler sees, and a seed replay another run.
  const clients = setup.clients.map(async (client, c) => {
    const proposer = proposers[client.proposer];
    if (proposer === undefined) throw new Error(`client ${c} uses proposer #${client.proposer}, of ${proposers.length}`);
    if (setup.pacing === 'once-at-start') await s.schedule(Promise.resolve(), `client ${c} starts`);
    for (const [j, key] of client.keys.entries()) {
      if (setup.pacing === 'before-each-op') await s.schedule(Promise.resolve(), `client ${c} invokes op ${j}`);
      const id = `c${c}.${j}`;
      const invokedAt = ++clock;
      const arrival = arrivals++;
      const base = { id, key, proposer: proposer.address, arrival, invokedAt };
      try {
        const result = await proposer.propose(key, setup.makeChange(id));
        ops.push({ ...base, respondedAt: ++clock, outcome: 'ok', state: opsOf(result.state) });
      } catch (error) {
        const outcome: OpOutcome = error instanceof PrepareFailedError ? 'prepare-failed' : error instanceof AcceptFailedError ? 'accept-failed' : 'error';
        ops.push({ ...base, respondedAt: ++clock, outcome, error });
      }
    }
  });
  await s.waitFor(Promise.all(clients));
  // Deliver every message still in flight (late requests, orphaned replies) before reading.
  await s.waitIdle();

  // The final reads: every proposer must read the same state of every key.
  network.faults = false;
  const final = new Map<string, string[]>();
  for (const key of setup.keys) {
    for (const proposer of proposers) {
      let state: string[] | undefined;
      for (let attempt = 0; attempt < 3 && state === undefined; attempt++) {
        try {
          state = opsOf((await s.waitFor(proposer.identityRead(key))).state);
        } catch {
          // Another attempt: with a reliable network a read can only lose to a concurrent one.
        }
      }
      if (state === undefined) violated(`the final read of ${key} through ${proposer.address} kept failing on a reliable network`);
      const first = final.get(key);
      if (first === undefined) final.set(key, state);
      else if (JSON.stringify(first) !== JSON.stringify(state)) {
        violated(`final reads of ${key} disagree: ${JSON.stringify(first)} vs ${JSON.stringify(state)} (${proposer.address})`);
      }
    }
  }
  await s.waitIdle();
  return { ops, final, acceptors, events };
}

/** A check of a finished run: returns when the run keeps its invariant, `violated` otherwise. */
export type Check = (run: RunResult) => void;

export function finalOf({ final }: RunResult, key: string): string[] {
  return final.get(key) ?? violated(`no final state for ${key}`);
}

/**
 * Outcomes: no op failed unexpectedly; an acknowledged op is in the final state of its key exactly
 * once; one that failed in its prepare phase is absent; one with AcceptFailedError (unknown) is
 * there at most once; no op is there twice, nor under another key.
 */
export const checkPresence: Check = (run) => {
  const opById = new Map(run.ops.map((op) => [op.id, op]));
  for (const op of run.ops) {
    if (op.outcome === 'error') violated(`op ${op.id} failed with an unexpected error: ${String(op.error)}`);
  }
  for (const [key, list] of run.final) {
    if (new Set(list).size !== list.length) violated(`final ${key} has a duplicated op (double application): ${JSON.stringify(list)}`);
    for (const id of list) {
      const op = opById.get(id);
      if (op === undefined) violated(`final ${key} holds ${id}, which was never invoked (or not yet settled)`);
      if (op.key !== key) violated(`final ${key} holds ${id}, an op on ${op.key}`);
      if (op.outcome === 'prepare-failed') violated(`final ${key} holds ${id}, whose proposal failed in its prepare phase (PrepareFailedError: must have no effect)`);
    }
  }
  for (const op of run.ops) {
    if (op.outcome === 'ok' && !finalOf(run, op.key).includes(op.id)) {
      violated(`acknowledged op ${op.id} is missing from final ${op.key}: ${JSON.stringify(finalOf(run, op.key))}`);
    }
  }
};

/**
 * Each acknowledged op got the state its own change produced: one ending with its id (not a
 * neighbour's in its batch), and on the one chain of states, a prefix of the final state.
 */
export const checkAcknowledgedStates: Check = (run) => {
  for (const op of run.ops) {
    if (op.state === undefined) continue;
    if (op.state.at(-1) !== op.id) violated(`op ${op.id} was acknowledged with a state not ending in its id: ${JSON.stringify(op.state)}`);
    if (!isPrefix(op.state, finalOf(run, op.key))) {
      violated(`op ${op.id}'s acknowledged state ${JSON.stringify(op.state)} is not a prefix of final ${op.key} ${JSON.stringify(finalOf(run, op.key))}`);
    }
  }
};

/** Real-time order: an op acknowledged before another op on its key was invoked comes first. */
export const checkRealTime: Check = (run) => {
  for (const a of run.ops) {
    if (a.outcome !== 'ok') continue;
    const list = finalOf(run, a.key);
    for (const b of run.ops) {
      if (b.key !== a.key || a.respondedAt >= b.invokedAt || !list.includes(b.id)) continue;
      if (list.indexOf(a.id) > list.indexOf(b.id)) violated(`${a.id} was acknowledged before ${b.id} was invoked, yet comes after it`);
    }
  }
};

/** A state accepted under one ballot, and by which acceptors. */
export interface AcceptedEntry {
  readonly key: string;
  /** The ballot, formatted. */
  readonly ballot: string;
  /** The state's text; `'null'` for the empty state. */
  readonly state: string;
  readonly acceptors: Set<string>;
}

/**
 * Every state accepted anywhere, by "key ballot"; a violation if one (key, ballot) pair was
 * accepted with two different states (a proposer that reused a ballot, an acceptor that broke a
 * promise). Only accepts that got an `accepted` reply count.
 */
export function acceptedStates(run: RunResult): ReadonlyMap<string, AcceptedEntry> {
  const accepted = new Map<string, AcceptedEntry>();
  for (const acceptor of run.acceptors) {
    for (const d of acceptor.deliveries) {
      const { method, key, ballot, state } = d.message;
      if (method !== 'accept' || (d.reply as { type?: string } | undefined)?.type !== 'accepted') continue;
      if (key === undefined || ballot === undefined || state === undefined) violated('an accept without key, ballot or state');
      const id = `${key} ${formatBallot(ballot)}`;
      const text = dec(state) ?? 'null';
      const entry = accepted.get(id);
      if (entry === undefined) accepted.set(id, { key, ballot: formatBallot(ballot), state: text, acceptors: new Set([acceptor.address]) });
      else if (entry.state !== text) violated(`${id} was accepted with two states: ${entry.state} and ${text}`);
      else entry.acceptors.add(acceptor.address);
    }
  }
  return accepted;
}

/** One state per (key, ballot), across all acceptors. */
export const checkOneStatePerBallot: Check = (run) => {
  acceptedStates(run);
};

/**
 * fast-check parameters of a property: `numRuns`, overridden by FC_RUNS; FC_SEED and FC_PATH (as
 * fast-check prints them on a failure) replay a failure.
 */
export function parameters<Ts>(numRuns: number): fc.Parameters<Ts> {
  const { FC_SEED, FC_PATH, FC_RUNS } = process.env;
  return {
    numRuns: FC_RUNS === undefined ? numRuns : Number(FC_RUNS),
    ...(FC_SEED === undefined ? {} : { seed: Number(FC_SEED) }),
    ...(FC_PATH === undefined ? {} : { path: FC_PATH }),
  };
}

/**
 * Parameters of a negative control: its own budget; only FC_SEED applies (a path or run count
 * given to replay a main property means nothing to another property).
 */
export function controlParameters<Ts>(numRuns: number): fc.Parameters<Ts> {
  const { FC_SEED } = process.env;
  return { numRuns, ...(FC_SEED === undefined ? {} : { seed: Number(FC_SEED) }) };
}

/**
 * Asserts that `property` (built on a deliberately broken part) fails within `budget` runs, with an
 * InvariantViolation, not a crash; no shrinking (`endOnFailure`). Returns the violation, for a test
 * that also checks which invariant caught it.
 */
export async function expectCaught<Ts>(property: fc.IAsyncProperty<Ts>, budget: number): Promise<unknown> {
  const details = await fc.check(property, { ...controlParameters<Ts>(budget), endOnFailure: true });
  expect(details.failed).toBe(true);
  expect(details.errorInstance).toBeInstanceOf(InvariantViolation);
  return details.errorInstance;
}

/**
 * Asserts that `property` holds for `budget` runs: the counterpart of a negative control, showing
 * that what it breaks (not the harness) is what fails. On a failure, the message is the violation.
 */
export async function expectHolds<Ts>(property: fc.IAsyncProperty<Ts>, budget: number): Promise<void> {
  const details = await fc.check(property, controlParameters<Ts>(budget));
  expect(details.failed ? String(details.errorInstance) : '').toBe('');
}
