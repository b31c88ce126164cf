/**
 * The crash workload: clients run read-modify-writes of versioned values (a "chain", see
 * src/check/versioned.ts) and reads through several proposers over real acceptors, while
 * acceptors are killed (kill -9) and restarted from their storage, one at a time. Then every key
 * is read through every proposer, and the history goes to the exact chain checker, which reports
 * any lost acknowledged write, fork, stale read or double apply.
 */
import { performance } from 'node:perf_hooks';
import { expect } from 'vitest';
import { checkChain } from '../../src/check/chain.js';
import { type History, HistoryRecorder } from '../../src/check/history.js';
import { nextVersioned } from '../../src/check/versioned.js';
import type { ChangeFunc, Proposer, State } from '../../src/index.js';
import { SeededRandom } from '../../src/sim/random.js';
import { hadNoEffect } from '../../src/sim/workload.js';

export interface Crashable {
  kill(): Promise<void>;
  restart(): Promise<void>;
}

/**
 * What the workload needs of a proposer (a test may adapt another client to it, e.g. a node's HTTP
 * API). Reads go through `identityRead` when it has one (a read that writes nothing when a quorum
 * agrees, see `proposer/fast-read`), else through an identity proposal.
 */
export type Proposing = Pick<Proposer, 'propose'> & Partial<Pick<Proposer, 'identityRead'>>;

export interface CrashWorkloadOptions {
  readonly proposers: readonly Proposing[];
  /** The acceptors to kill and restart, one at a time. */
  readonly acceptors: readonly Crashable[];
  readonly keys: readonly string[];
  /** Concurrent clients per proposer. */
  readonly clientsPerProposer: number;
  /** How many kill/restart cycles run while the clients work. */
  readonly crashes: number;
  /** How long a killed acceptor stays down. */
  readonly downMs: number;
  /** Operations each client runs at least; clients keep going until every crash cycle is done. */
  readonly operationsPerClient: number;
  /**
   * The share of reads among the clients' operations (the rest are read-modify-writes).
   * @default 0.3
   */
  readonly readShare?: number | undefined;
  readonly random: () => number;
}

export interface CrashWorkloadReport {
  readonly history: History;
  readonly completed: number;
  readonly failed: number;
  readonly unknown: number;
  readonly crashes: number;
  /** Operations invoked while an acceptor was down (the crashes happened under load). */
  readonly duringOutage: number;
  readonly errors: Record<string, number>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const toValue = (s: State): string | null => (s === null ? null : decoder.decode(s));

export async function runCrashWorkload(options: CrashWorkloadOptions): Promise<CrashWorkloadReport> {
  const { proposers, acceptors, keys, random } = options;
  const recorder = new HistoryRecorder(() => Math.round(performance.now() * 1000));
  const report = { completed: 0, failed: 0, unknown: 0, crashes: 0, duringOutage: 0, errors: {} as Record<string, number> };
  let crashesDone = false;
  let down = false;

  const runOperation = async (clientId: number, proposer: Proposing, key: string, write: boolean): Promise<void> => {
    const operation = recorder.invoke({ clientId, key, op: write ? 'write' : 'read' });
    if (down) report.duringOutage++;
    const change: ChangeFunc = write ? (s) => encoder.encode(nextVersioned(toValue(s), operation.id)) : (s) => s;
    try {
      const { state } = await (!write && proposer.identityRead !== undefined ? proposer.identityRead(key) : proposer.propose(key, change));
      operation.complete({ output: toValue(state) });
      report.completed++;
    } catch (error) {
      const name = error instanceof Error ? error.name : 'unknown';
      report.errors[name] = (report.errors[name] ?? 0) + 1;
      if (hadNoEffect(error)) {
        operation.fail();
        report.failed++;
      } else {
        operation.unknown();
        report.unknown++;
      }
    }
  };

  const clients = proposers.flatMap((proposer, p) =>
    Array.from({ length: options.clientsPerProposer }, async (_, c) => {
      const clientId = p * options.clientsPerProposer + c;
      for (let i = 0; i < options.operationsPerClient || !crashesDone; i++) {
        const key = keys[Math.floor(random() * keys.length)] as string;
        await runOperation(clientId, proposer, key, random() >= (options.readShare ?? 0.3));
      }
    }),
  );

  // Kill and restart acceptors one at a time while the clients run (they go on until the last
  // restart, so every crash lands mid-load).
  const crasher = (async () => {
    try {
      for (let i = 0; i < options.crashes; i++) {
        await sleep(50 + random() * 200);
        const victim = Math.floor(random() * acceptors.length);
        const acceptor = acceptors[victim] as Crashable;
        await acceptor.kill();
        down = true;
        recorder.annotate('crash', `acceptor ${victim}`);
        await sleep(options.downMs);
        await acceptor.restart();
        down = false;
        recorder.annotate('restart', `acceptor ${victim}`);
        report.crashes++;
      }
    } finally {
      crashesDone = true;
    }
  })();
  await Promise.all([...clients, crasher]);

  // Final reads through every proposer: every acknowledged write must be on the final chain.
  const finalClient = proposers.length * options.clientsPerProposer;
  for (const key of keys) for (const [i, proposer] of proposers.entries()) await runOperation(finalClient + i, proposer, key, false);
  return { history: recorder.history(), ...report };
}

/**
 * The standard workload (3 keys, 4 clients per proposer, 4 crashes), run and checked; `overrides`
 * change its shape (more keys and clients make the batches of `HttpAcceptor` large).
 */
export async function expectSafeUnderCrashes(
  name: string,
  seed: number,
  options: Pick<CrashWorkloadOptions, 'proposers' | 'acceptors'>,
  overrides: Partial<Pick<CrashWorkloadOptions, 'keys' | 'clientsPerProposer' | 'operationsPerClient' | 'readShare'>> = {},
): Promise<CrashWorkloadReport> {
  const random = new SeededRandom(seed);
  const report = await runCrashWorkload({
    ...options,
    keys: ['k1', 'k2', 'k3'],
    clientsPerProposer: 4,
    operationsPerClient: 20,
    crashes: 4,
    downMs: 150,
    random: () => random.next(),
    ...overrides,
  });
  const verdict = checkChain(report.history);
  const { completed, failed, unknown, crashes, duringOutage, errors } = report;
  console.log(`${name} (seed ${seed}): ${JSON.stringify({ completed, failed, unknown, crashes, duringOutage, errors })}`);
  for (const v of verdict.violations.slice(0, 3)) console.log(`${name}: ${v.kind}: ${v.message}`);
  expect(verdict.violations).toEqual([]);
  expect(verdict.ok).toBe(true);
  expect(crashes).toBe(4);
  expect(duringOutage).toBeGreaterThan(0);
  // The cluster kept serving: with one acceptor down at a time, most operations complete.
  expect(completed).toBeGreaterThan(report.history.operations.length / 2);
  return report;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
