/**
 * Every check of a finished simulation in one call: the history against its model (WGL for
 * register and counter workloads, the exact chain checker for chain workloads), the acceptor
 * monitor's findings, liveness (every operation answered within a bound once faults healed), and
 * quorum safety (no operation succeeded while its proposer could not reach a quorum).
 */
import { checkChain } from '../check/chain.js';
import type { History } from '../check/history.js';
import { type LinearizabilityOptions, checkLinearizability } from '../check/linearizability.js';
import { casRegisterModel, counterModel } from '../check/models.js';
import type { CheckResult, Violation } from '../check/result.js';
import type { Simulation } from './simulation.js';
import { formatTime } from './virtual-time.js';
import type { WorkloadKind, WorkloadReport } from './workload.js';

/** Options of `verifySimulation`. */
export interface VerifyOptions {
  /** The workload that ran: picks the checker of the history. */
  readonly kind: WorkloadKind;
  /**
   * `runWorkload`'s report: when each operation was answered, for the liveness and quorum checks.
   */
  readonly report: WorkloadReport;
  /**
   * Liveness: once faults healed (at `healedAt`, µs; 0 if the run had none), every operation must
   * be answered within `boundMs` of virtual time after max(its call, healedAt).
   * @default undefined (liveness is not checked)
   */
  readonly liveness?:
    | {
        /** When the last fault healed, in microseconds of virtual time (0: the run had none). */
        readonly healedAt: number;
        /** The longest wait allowed for an answer, in milliseconds of virtual time. */
        readonly boundMs: number;
      }
    | undefined;
  /**
   * Budgets of the linearizability check.
   * @default checkLinearizability's defaults
   */
  readonly linearizability?: LinearizabilityOptions | undefined;
}

/** What `verifySimulation` found. */
export interface SimulationVerdict {
  /**
   * `true` when every check passed, `false` when one failed, `unknown` when none failed but one ran
   * out of budget.
   */
  readonly ok: boolean | 'unknown';
  /**
   * Each check's result: the history checker, the acceptor monitor, quorum safety and, when asked,
   * liveness.
   */
  readonly results: readonly CheckResult[];
  /** Every violation of every check. */
  readonly violations: readonly Violation[];
  /** Every result's report, one after the other. */
  readonly report: string;
}

/**
 * Runs every check of a finished simulation: the history against its model (WGL linearizability for
 * register and counter workloads, the exact chain checker for chain workloads), the acceptor
 * monitor's findings, quorum safety (no operation succeeded while its proposer could not reach a
 * quorum) and, with `liveness`, that every operation was answered within a bound once faults
 * healed.
 * @example
 * ```ts
 * import { Simulation, runWorkload, verifySimulation } from 'caspaxos/testing';
 *
 * const seed = 42;
 * const lossy = { dropRate: 0.05, duplicateRate: 0.05, minDelayMs: 0.1, maxDelayMs: 5 };
 * const sim = new Simulation({ seed, network: { request: lossy, reply: lossy } });
 * const report = await runWorkload(sim, { kind: 'register', clients: 4, keys: ['x', 'y'], operationsPerClient: 50 });
 * const verdict = verifySimulation(sim, { kind: 'register', report });
 * if (verdict.ok !== true) throw new Error(`seed ${seed}:\n${verdict.report}`);
 * ```
 */
export function verifySimulation(sim: Simulation, options: VerifyOptions): SimulationVerdict {
  const history = sim.recorder.history();
  const results: CheckResult[] = [
    options.kind === 'chain'
      ? checkChain(history)
      : options.kind === 'counter'
        ? checkLinearizability(history, counterModel, options.linearizability)
        : checkLinearizability(history, casRegisterModel, options.linearizability),
    monitorResult(sim),
    quorumSafety(sim, history, options.report),
  ];
  if (options.liveness !== undefined) results.push(liveness(history, options.report, options.liveness));
  const violations = results.flatMap((r) => r.violations);
  const ok = results.some((r) => r.ok === false) ? false : results.some((r) => r.ok === 'unknown') ? 'unknown' : true;
  return { ok, results, violations, report: results.map((r) => `== ${r.checker}: ${r.ok === true ? 'ok' : r.ok === false ? 'VIOLATED' : 'undecided'}\n${r.report}`).join('\n') };
}

function result(checker: string, violations: Violation[], summary: string): CheckResult {
  const lines = [summary, ...violations.map((v) => `- ${v.kind}${v.key === undefined ? '' : ` [${v.key}]`}: ${v.message}`)];
  return { checker, ok: violations.length === 0, violations, report: `${lines.join('\n')}\n` };
}

function monitorResult(sim: Simulation): CheckResult {
  const monitor = sim.monitor;
  if (monitor === undefined) return result('monitor', [], 'acceptor monitor: off');
  const violations = monitor.violations.map((v) => ({ kind: v.kind, key: v.key, operations: [], message: `at ${formatTime(v.time)}: ${v.message}` }));
  return result('monitor', violations, `acceptor monitor: ${monitor.checks} observations, ${violations.length} violations`);
}

/** No operation completed while its proposer had no quorum for the whole of its interval. */
function quorumSafety(sim: Simulation, history: History, report: WorkloadReport): CheckResult {
  const violations: Violation[] = [];
  for (const op of history.operations) {
    if (op.return === null || op.fail === true) continue;
    const proposer = report.proposerOf.get(op.clientId);
    if (proposer === undefined) continue;
    if (!hadQuorumDuring(sim, proposer, op.call, op.return)) {
      violations.push({
        kind: 'success-without-quorum',
        key: op.key,
        operations: [op.id],
        message: `operation ${op.id} (${op.op} by client ${op.clientId}) completed between ${formatTime(op.call)} and ${formatTime(op.return)} while ${proposer} could reach no quorum`,
      });
    }
  }
  return result('quorum-safety', violations, `quorum safety: ${sim.availability.filter((a) => !a.quorum).length} periods without a quorum recorded`);
}

/** True unless `proposer` lacked a quorum during all of [from, to]. */
function hadQuorumDuring(sim: Simulation, proposer: string, from: number, to: number): boolean {
  let quorum = true; // until the first record, every proposer reaches every acceptor
  for (const entry of sim.availability) {
    if (entry.proposer !== proposer) continue;
    if (entry.time > to) break;
    if (entry.time <= from) quorum = entry.quorum;
    else if (entry.quorum) return true;
  }
  return quorum;
}

function liveness(history: History, report: WorkloadReport, { healedAt, boundMs }: { healedAt: number; boundMs: number }): CheckResult {
  const violations: Violation[] = [];
  for (const op of history.operations) {
    if (!report.proposerOf.has(op.clientId)) continue; // not a workload client's (a script's own)
    const deadline = Math.max(op.call, healedAt) + boundMs * 1000;
    const settled = report.settledAt.get(op.id);
    if (settled === undefined || settled > deadline) {
      violations.push({
        kind: 'liveness',
        key: op.key,
        operations: [op.id],
        message: `operation ${op.id} (client ${op.clientId}) ${settled === undefined ? 'never got an answer' : `got its answer at ${formatTime(settled)}`}, later than ${boundMs} ms after ${formatTime(Math.max(op.call, healedAt))}`,
      });
    }
  }
  return result('liveness', violations, `liveness: every operation answered within ${boundMs} ms once faults healed (at ${formatTime(healedAt)})`);
}
