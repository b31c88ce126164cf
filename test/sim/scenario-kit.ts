/**
 * The scenario runner shared by the simulation suite and `npm run sim`: a scenario says how to
 * build a simulation from a seed, which faults to script, which workload to run, and what else to
 * check; `runScenario` runs it, heals everything, verifies the run and measures coverage.
 */
import type { Tracer } from '../../src/tracer.js';
import type { ChainCheckResult } from '../../src/check/chain.js';
import type { Violation } from '../../src/check/result.js';
import { Simulation, type SimulationOptions } from '../../src/sim/simulation.js';
import { type SimulationVerdict, verifySimulation } from '../../src/sim/verify.js';
import { type WorkloadKind, type WorkloadOptions, type WorkloadReport, runWorkload } from '../../src/sim/workload.js';

export interface Scenario {
  /** e.g. `calm-contention`; negative controls start with `mutant-`. */
  readonly name: string;
  readonly summary: string;
  readonly kind: WorkloadKind;
  /** Operations per run unless `--ops` says otherwise. */
  readonly defaultOps: number;
  /** The simulation (the seed and trace flag are added by the runner). */
  readonly simulation: (seed: number) => Omit<SimulationOptions, 'seed' | 'trace'>;
  /** The workload, given the total number of operations. */
  readonly workload: (ops: number) => Omit<WorkloadOptions, 'kind'>;
  /** Schedules faults and other actions before the workload starts (on the agenda). */
  readonly script?: ((sim: Simulation) => void) | undefined;
  /** Extra checks after the run (e.g. of a watcher's observations). */
  readonly check?: ((sim: Simulation, run: Omit<ScenarioRun, 'violations' | 'ok'>) => Violation[]) | undefined;
  /** Liveness bound: once healed, every operation must be answered within this (virtual ms). @default 2000 */
  readonly livenessBoundMs?: number | undefined;
}

/** What happened in a run, beyond pass or fail: the suite asserts each CI run covers these. */
export interface Coverage {
  readonly unknownOutcomes: number;
  readonly conflicts: number;
  /** Periods in which some proposer could reach no quorum. */
  readonly quorumLoss: number;
  /** Operations whose outcome was unknown to their client and whose value was later seen. */
  readonly minorityAdopted: number;
  readonly completed: number;
  /** Reads answered from one round of agreeing peeks (see `proposer/fast-read`). */
  readonly fastReads: number;
  /** Reads whose peeks disagreed or went unanswered: the full identity round ran. */
  readonly fallbackReads: number;
}

export interface ScenarioRun {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly ops: number;
  readonly oneRoundTrip: boolean;
  readonly sim: Simulation;
  readonly report: WorkloadReport;
  readonly verdict: SimulationVerdict;
  readonly coverage: Coverage;
  /** The verdict's violations and the scenario's own. */
  readonly violations: readonly Violation[];
  readonly ok: boolean | 'unknown';
}

export interface RunOptions {
  readonly ops?: number | undefined;
  /** The proposers' one-round-trip mode (the suite runs both). @default true */
  readonly oneRoundTrip?: boolean | undefined;
  /** Record the message trace (slower; the CLI turns it on to write a failing run's trace). */
  readonly trace?: boolean | undefined;
}

/** Runs one scenario with one seed to the end, then verifies it. */
export async function runScenario(scenario: Scenario, seed: number, options: RunOptions = {}): Promise<ScenarioRun> {
  const ops = options.ops ?? scenario.defaultOps;
  const reads = { fast: 0, fallback: 0 };
  const simulation = scenario.simulation(seed);
  const tracer: Tracer = (event) => {
    if (event.type === 'fast-read') reads[event.outcome === 'hit' ? 'fast' : 'fallback']++;
    simulation.tracer?.(event);
  };
  const sim = new Simulation({ ...simulation, tracer, seed, trace: options.trace === true, oneRoundTrip: options.oneRoundTrip !== false });
  scenario.script?.(sim);
  const workload = scenario.workload(ops);
  const report = await runWorkload(sim, { ...workload, kind: scenario.kind });
  // Every client has its answers. Heal, and let what is still in flight (late messages, scripted
  // steps) play out, so the monitor sees it too.
  const healedAt = lastFaultTime(sim);
  await sim.healAll();
  await sim.run({ maxSteps: 1_000_000 });
  const verdict = verifySimulation(sim, {
    kind: scenario.kind,
    report,
    liveness: { healedAt, boundMs: scenario.livenessBoundMs ?? 2000 },
  });
  const base = { scenario, seed, ops, oneRoundTrip: options.oneRoundTrip !== false, sim, report, verdict, coverage: { ...coverageOf(sim, report, verdict), fastReads: reads.fast, fallbackReads: reads.fallback } };
  const extra = scenario.check?.(sim, base) ?? [];
  const violations = [...verdict.violations, ...extra];
  const ok = extra.length > 0 ? false : verdict.ok;
  return { ...base, violations, ok };
}

/** When the last scripted fault or repair happened (µs): liveness counts from there. */
function lastFaultTime(sim: Simulation): number {
  const annotations = sim.recorder.history().annotations;
  return annotations.at(-1)?.time ?? 0;
}

function coverageOf(sim: Simulation, report: WorkloadReport, verdict: SimulationVerdict): Omit<Coverage, 'fastReads' | 'fallbackReads'> {
  const history = sim.recorder.history();
  let minorityAdopted = 0;
  const chain = verdict.results.find((r) => r.checker === 'chain') as ChainCheckResult | undefined;
  if (chain !== undefined) {
    minorityAdopted = chain.resolved.tookEffect.length;
  } else {
    // A register workload writes unique values: an unknown write whose value a later read returned.
    const read = new Set(history.operations.filter((op) => op.op === 'read' && op.output != null).map((op) => op.output));
    minorityAdopted = history.operations.filter((op) => op.unknown === true && (op.op === 'write' || op.op === 'cas') && op.arg != null && read.has(op.arg)).length;
  }
  return {
    unknownOutcomes: report.unknown,
    conflicts: sim.network.stats.conflicts,
    quorumLoss: sim.availability.filter((a) => !a.quorum).length,
    minorityAdopted,
    completed: report.completed,
  };
}

/** The command that replays one run, printed with every failure. */
export function replayCommand(name: string, seed: number, ops?: number, oneRoundTrip = true): string {
  return `npm run sim -- --scenario ${name} --seed ${seed}${ops === undefined ? '' : ` --ops ${ops}`}${oneRoundTrip ? '' : ' --two-round-trips'} --history ${name}-${seed}.json`;
}
