/**
 * Every check of a finished simulation in one call: the history against its model (WGL for
 * register and counter workloads, the exact chain checker for chain workloads), the acceptor
 * monitor's findings, liveness (every operation answered within a bound once faults healed), and
 * quorum safety (no operation succeeded while its proposer could not reach a quorum).
 *
 * Pure module: no I/O, safe in browsers and notebooks.
 */
import { checkChain } from '../check/chain.js';
import type { History } from '../check/history.js';
import { type LinearizabilityOptions, checkLinearizability } from '../check/linearizability.js';
import { casRegisterModel, counterModel } from '../check/models.js';
import type { CheckResult, Violation } from '../check/result.js';
import type { Simulation } from './simulation.js';
import { formatTime } from './virtual-time.js';
import type { WorkloadKind, WorkloadReport } from './workload.js';

export interface VerifyOptions {
  readonly kind: WorkloadKind;
  readonly report: WorkloadReport;
  /**
   * Liveness: once faults healed (at `healedAt`, µs; 0 if the run had none), every operation must
   * be answered within `boundMs` of virtual time after max(its call, healedAt).
   */
  readonly liveness?: { readonly healedAt: number; readonly boundMs: number } | undefined;
  readonly linearizability?: LinearizabilityOptions | undefined;
}

export interface SimulationVerdict {
  readonly ok: boolean | 'unknown';
  readonly results: readonly CheckResult[];
  readonly violations: readonly Violation[];
  /** Every result's report, one after the other. */
  readonly report: string;
}

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
