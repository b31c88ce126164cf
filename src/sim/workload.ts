/**
 * Client workloads for a simulation: concurrent clients issuing operations through proposer nodes
 * and recording each one in the simulation's history (invoke, return, outcome), ready for the
 * checkers. Three kinds:
 *  - `register`: reads, blind writes of unique values, compare-and-sets and deletes (writes of
 *    null): checked with the CAS-register model;
 *  - `counter`: adds of 1 and reads: checked with the counter model;
 *  - `chain`: read-modify-writes of versioned values (see `check/versioned`): checked exactly by
 *    the chain checker, which also resolves unknown outcomes.
 *
 * Outcomes: a proposal that resolved is completed; one that certainly had no effect
 * (`PrepareFailedError`, a change function that threw, a proposer that was down) is `fail`;
 * anything else (`AcceptFailedError`, a crash, an abort) is `unknown`.
 */
import type { Completion, Invocation, Value } from '../check/history.js';
import { nextVersioned } from '../check/versioned.js';
import type { State } from '../core/messages.js';
import { AgeError, InvalidArgumentError, PrepareFailedError } from '../errors.js';
import type { ChangeFunc } from '../roles.js';
import { ProposerDownError } from './proposer-node.js';
import type { SeededRandom } from './random.js';
import type { Simulation } from './simulation.js';

/**
 * What a workload's clients do: `register` (reads, blind writes, compare-and-sets, deletes; checked
 * against the CAS-register model), `counter` (adds of 1 and reads; the counter model) or `chain`
 * (read-modify-writes of versioned values; the exact chain checker).
 */
export type WorkloadKind = 'register' | 'counter' | 'chain';

/** Relative weights of the operations of a `register` workload. */
export interface RegisterMix {
  /** Weight of reads. */
  readonly read: number;
  /** Weight of blind writes of unique values. */
  readonly write: number;
  /** Weight of compare-and-sets. */
  readonly cas: number;
  /** Weight of deletes (writes of `null`). */
  readonly delete: number;
}

/** Options of `runWorkload`. */
export interface WorkloadOptions {
  /** What the clients do. */
  readonly kind: WorkloadKind;
  /** Number of concurrent clients. */
  readonly clients: number;
  /** The keys operations pick from, uniformly. */
  readonly keys: readonly string[];
  /** Operations per client. */
  readonly operationsPerClient: number;
  /** The proposer each client uses. @default round robin over the simulation's proposers */
  readonly proposerOf?: ((client: number) => string) | undefined;
  /** Register workload mix. @default { read: 3, write: 3, cas: 3, delete: 1 } */
  readonly mix?: RegisterMix | undefined;
  /** Pause between a client's operations, ms, uniform. @default [0, 2] */
  readonly thinkTimeMs?: readonly [number, number] | undefined;
  /** Probability that an operation gets a deadline (aborted at a random point). @default 0 */
  readonly abortRate?: number | undefined;
  /** Probability that an operation's change function throws. @default 0 */
  readonly throwRate?: number | undefined;
}

/** The error a workload's deliberately failing change function throws. */
export class ChangeFunctionFailure extends Error {
  /** Always `ChangeFunctionFailure`. */
  override name = 'ChangeFunctionFailure';
}

/** What happened, for the checkers and for coverage assertions. */
export interface WorkloadReport {
  /** Operations that resolved. */
  completed: number;
  /** Operations that certainly had no effect (recorded as `fail`). */
  failed: number;
  /** Operations whose outcome is unknown (recorded as `unknown`). */
  unknown: number;
  /** Operations aborted by their deadline (`abortRate`); also counted as failed or unknown. */
  aborted: number;
  /** Errors by name, e.g. `AcceptFailedError: 3`. */
  readonly errors: Record<string, number>;
  /** When each operation's client got an answer (µs), by operation id: unknown outcomes included. */
  readonly settledAt: Map<number, number>;
  /** The proposer each client used. */
  readonly proposerOf: Map<number, string>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const toState = (value: Value): State => (value === null ? null : encoder.encode(value));
const toValue = (state: State): Value => (state === null ? null : decoder.decode(state));

/** True when `error` shows the operation certainly had no effect. */
export function hadNoEffect(error: unknown): boolean {
  return (
    error instanceof PrepareFailedError ||
    error instanceof ProposerDownError ||
    error instanceof AgeError ||
    error instanceof ChangeFunctionFailure ||
    error instanceof InvalidArgumentError
  );
}

/** Runs a workload to completion (every client done) and reports what happened. */
export async function runWorkload(sim: Simulation, options: WorkloadOptions): Promise<WorkloadReport> {
  const report: WorkloadReport = { completed: 0, failed: 0, unknown: 0, aborted: 0, errors: {}, settledAt: new Map(), proposerOf: new Map() };
  const proposers = sim.proposers.map((p) => p.address);
  const proposerOf = options.proposerOf ?? ((client: number) => proposers[client % proposers.length] as string);
  const clients = Array.from({ length: options.clients }, (_, client) => {
    report.proposerOf.set(client, proposerOf(client));
    return runClient(sim, client, proposerOf(client), options, sim.random.fork(`client ${client}`), report);
  });
  const outcome = await sim.runUntilSettled(Promise.all(clients));
  if (outcome.status === 'rejected') throw outcome.reason;
  return report;
}

async function runClient(sim: Simulation, client: number, proposerId: string, options: WorkloadOptions, random: SeededRandom, report: WorkloadReport): Promise<void> {
  const [minThink, maxThink] = options.thinkTimeMs ?? [0, 2];
  const mix = options.mix ?? { read: 3, write: 3, cas: 3, delete: 1 };
  /** The last value this client saw per key: what its compare-and-sets expect. */
  const seen = new Map<string, Value>();
  for (let i = 0; i < options.operationsPerClient; i++) {
    await sim.sleep(minThink + random.next() * (maxThink - minThink));
    const key = random.pick(options.keys);
    const throws = random.chance(options.throwRate ?? 0);
    const controller = random.chance(options.abortRate ?? 0) ? new AbortController() : undefined;
    if (controller !== undefined) {
      void sim.sleep(random.next() * 10).then(() => controller.abort(new Error('client deadline')));
    }
    const proposer = sim.proposer(proposerId);
    const propose = (change: ChangeFunc): Promise<State> => {
      const guarded: ChangeFunc = throws
        ? () => {
            throw new ChangeFunctionFailure(`client ${client} op ${i} failed on purpose`);
          }
        : change;
      return proposer.propose(key, guarded, controller === undefined ? undefined : { signal: controller.signal }).then((r) => r.state);
    };
    // Reads go through `identityRead`, as applications' do: answered from peeks when a quorum agrees
    // (see `proposer/fast-read`), by the full identity round otherwise.
    const read = (): Promise<State> => proposer.identityRead(key, controller === undefined ? undefined : { signal: controller.signal }).then((r) => r.state);
    const planned = plan(options.kind, random, key, `c${client}.${i}`, seen, mix);
    const operation = sim.recorder.invoke({ clientId: client, key, ...planned.invocation });
    try {
      operation.complete(await planned.run({ propose, read }, operation.id));
      report.settledAt.set(operation.id, sim.now);
      report.completed++;
    } catch (error) {
      report.settledAt.set(operation.id, sim.now);
      const name = error instanceof Error ? error.name : 'unknown';
      report.errors[name] = (report.errors[name] ?? 0) + 1;
      if (controller?.signal.aborted === true && error === controller.signal.reason) report.aborted++;
      if (hadNoEffect(error)) {
        operation.fail();
        report.failed++;
      } else {
        operation.unknown();
        report.unknown++;
      }
    }
  }
}

/** An operation to invoke: its description, and how to run it through a proposal. */
interface PlannedOperation {
  readonly invocation: Pick<Invocation, 'op' | 'arg' | 'expected'>;
  /** Runs it; `id` is the operation's id in the history (a chain write bakes it into its value). */
  run(client: { propose(change: ChangeFunc): Promise<State>; read(): Promise<State> }, id: number): Promise<Completion>;
}

function plan(kind: WorkloadKind, random: SeededRandom, key: string, unique: string, seen: Map<string, Value>, mix: RegisterMix): PlannedOperation {
  const read: PlannedOperation = {
    invocation: { op: 'read' },
    run: async ({ read }) => {
      const value = toValue(await read());
      seen.set(key, value);
      return { output: value };
    },
  };
  switch (kind) {
    case 'counter':
      return random.chance(0.3)
        ? read
        : {
            invocation: { op: 'add', arg: '1' },
            run: async ({ propose }) => ({ output: toValue(await propose((s) => encoder.encode(String(Number(toValue(s) ?? '0') + 1)))) }),
          };
    case 'chain':
      return random.chance(0.3)
        ? read
        : {
            invocation: { op: 'write' },
            run: async ({ propose }, id) => ({ output: toValue(await propose((s) => toState(nextVersioned(toValue(s), id)))) }),
          };
    case 'register': {
      const op = pickWeighted(random, mix);
      if (op === 'read') return read;
      if (op === 'write' || op === 'delete') {
        const value = op === 'write' ? unique : null;
        return {
          invocation: { op: 'write', arg: value },
          run: async ({ propose }) => {
            await propose(() => toState(value));
            seen.set(key, value);
            return {};
          },
        };
      }
      const expected = seen.get(key) ?? null;
      return {
        invocation: { op: 'cas', expected, arg: unique },
        run: async ({ propose }) => {
          const after = toValue(await propose((s) => (toValue(s) === expected ? toState(unique) : s)));
          seen.set(key, after);
          return { ok: after === unique };
        },
      };
    }
  }
}

function pickWeighted(random: SeededRandom, mix: RegisterMix): keyof RegisterMix {
  const total = mix.read + mix.write + mix.cas + mix.delete;
  let x = random.next() * total;
  for (const op of ['read', 'write', 'cas', 'delete'] as const) {
    x -= mix[op];
    if (x < 0) return op;
  }
  return 'read';
}
