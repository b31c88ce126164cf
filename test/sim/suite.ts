/**
 * Runs scenarios over many seeds inside vitest: collects failures with their replay commands and
 * writes each failing run's artifacts (history JSON, annotations, message trace) under
 * `.tmp/sim-failures/`. Seeds come from `SIM_SEED_BASE` (default 1) and `SIM_RUNS` (per scenario)
 * so a CI run is reproducible and a longer or different run is one variable away.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { annotationsToJSON, historyToJSON } from '../../src/check/history.js';
import { type Coverage, type Scenario, type ScenarioRun, replayCommand, runScenario } from './scenario-kit.js';

export const SEED_BASE = Number(process.env.SIM_SEED_BASE ?? 1);

/** Seeds per scenario: `SIM_RUNS`, or the suite's default. */
export function runsPerScenario(fallback: number): number {
  return process.env.SIM_RUNS === undefined ? fallback : Number(process.env.SIM_RUNS);
}

export interface SuiteResult {
  readonly runs: number;
  readonly operations: number;
  readonly failures: readonly string[];
  readonly coverage: Coverage;
}

export const ZERO_COVERAGE: Coverage = { unknownOutcomes: 0, conflicts: 0, quorumLoss: 0, minorityAdopted: 0, completed: 0, fastReads: 0, fallbackReads: 0 };

export function addCoverage(a: Coverage, b: Coverage): Coverage {
  return {
    unknownOutcomes: a.unknownOutcomes + b.unknownOutcomes,
    conflicts: a.conflicts + b.conflicts,
    quorumLoss: a.quorumLoss + b.quorumLoss,
    minorityAdopted: a.minorityAdopted + b.minorityAdopted,
    completed: a.completed + b.completed,
    fastReads: a.fastReads + b.fastReads,
    fallbackReads: a.fallbackReads + b.fallbackReads,
  };
}

/** Runs `scenario` with `runs` consecutive seeds; every failure is described and saved. */
export async function runSeeds(scenario: Scenario, runs: number, oneRoundTrip = true): Promise<SuiteResult> {
  const failures: string[] = [];
  let coverage = ZERO_COVERAGE;
  let operations = 0;
  for (let seed = SEED_BASE; seed < SEED_BASE + runs; seed++) {
    const run = await runScenario(scenario, seed, { oneRoundTrip });
    operations += run.sim.recorder.history().operations.length;
    coverage = addCoverage(coverage, run.coverage);
    if (run.ok !== true) failures.push(await describeFailure(run));
  }
  return { runs, operations, failures, coverage };
}

/** The failure's summary, replay command and artifact paths (re-running the seed with the trace on). */
export async function describeFailure(run: ScenarioRun): Promise<string> {
  const { scenario, seed } = run;
  const traced = await runScenario(scenario, seed, { trace: true, ops: run.ops, oneRoundTrip: run.oneRoundTrip });
  const dir = `.tmp/sim-failures`;
  mkdirSync(dir, { recursive: true });
  const base = `${dir}/${scenario.name}-${seed}${run.oneRoundTrip ? '' : '-2rtt'}`;
  const history = traced.sim.recorder.history();
  writeFileSync(`${base}.json`, historyToJSON(history));
  writeFileSync(`${base}.annotations.json`, annotationsToJSON(history));
  writeFileSync(`${base}.trace.txt`, `${traced.sim.trace.join('\n')}\n`);
  writeFileSync(`${base}.report.txt`, traced.verdict.report);
  const first = run.violations.slice(0, 3).map((v) => `    ${v.kind}: ${v.message}`);
  return [
    `${scenario.name} seed ${seed}${run.oneRoundTrip ? '' : ' (two round trips)'}: ${run.violations.length} violation(s)`,
    ...first,
    `  replay: ${replayCommand(scenario.name, seed, run.ops, run.oneRoundTrip)}`,
    `  artifacts: ${base}.{json,annotations.json,trace.txt,report.txt}`,
  ].join('\n');
}

