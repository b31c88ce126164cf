/**
 * Runs simulations from the command line.
 *
 *   npm run sim -- --list                                   one scenario name per line
 *   npm run sim -- --scenario X --seed S [--ops N] [--two-round-trips] [--history FILE] [--trace FILE]
 *   npm run sim -- --plan FILE [--history FILE] [--trace FILE]   a plan saved by the plan test
 *   npm run sim -- --scenario X --runs N [--seed S]          N seeds from S (default 1)
 *   npm run sim:long -- [--runs N]                          every scenario, N seeds each in both proposer modes (default 1,250)
 *
 * `--two-round-trips` runs the proposers without the one-round-trip optimisation (a prepare for
 * every change); by default they use it.
 *
 * Exits 1 when any run violates a check (negative controls, named `mutant-...`, are expected to),
 * printing the seed, the replay command and the first violations; `--history` writes that run's
 * history (operations, and annotations next to it) whether it passed or failed, `--trace` its
 * message trace. A failure found by `--runs` is re-run with the trace on and its artifacts are
 * written under .tmp/sim-failures/.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { annotationsToJSON, historyToJSON } from '../src/check/history.js';
import { MUTANTS } from '../test/sim/mutants.js';
import { type Plan, planScenario } from '../test/sim/plans.js';
import { type Scenario, type ScenarioRun, replayCommand, runScenario } from '../test/sim/scenario-kit.js';
import { SCENARIOS } from '../test/sim/scenarios.js';
import { describeFailure } from '../test/sim/suite.js';

const ALL: readonly Scenario[] = [...SCENARIOS, ...MUTANTS];

const { values } = parseArgs({
  options: {
    list: { type: 'boolean' },
    scenario: { type: 'string' },
    seed: { type: 'string' },
    ops: { type: 'string' },
    runs: { type: 'string' },
    plan: { type: 'string' },
    history: { type: 'string' },
    trace: { type: 'string' },
    long: { type: 'boolean' },
    'two-round-trips': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

function integer(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    console.error(`--${name} must be an integer, got ${text}`);
    process.exit(2);
  }
  return value;
}

function summarize(run: ScenarioRun): string {
  const c = run.coverage;
  return `${run.scenario.name} seed ${run.seed}: ${run.ok === true ? 'ok' : run.ok === false ? 'VIOLATED' : 'undecided'} (${run.sim.recorder.history().operations.length} ops, ${c.completed} completed, ${c.unknownOutcomes} unknown, ${c.conflicts} conflicts)`;
}

const oneRoundTrip = values['two-round-trips'] !== true;

async function single(scenario: Scenario, seed: number, ops: number | undefined, replay: string): Promise<number> {
  const run = await runScenario(scenario, seed, { ops, trace: values.trace !== undefined, oneRoundTrip });
  console.log(summarize(run));
  if (values.history !== undefined) {
    const history = run.sim.recorder.history();
    writeFileSync(values.history, historyToJSON(history));
    writeFileSync(values.history.replace(/(\.json)?$/, '.annotations.json'), annotationsToJSON(history));
    console.log(`history written to ${values.history}`);
  }
  if (values.trace !== undefined) {
    writeFileSync(values.trace, `${run.sim.trace.join('\n')}\n`);
    console.log(`trace written to ${values.trace}`);
  }
  if (run.ok === true) return 0;
  console.log(run.verdict.report);
  for (const v of run.violations.filter((x) => !run.verdict.violations.includes(x))) console.log(`- ${v.kind}: ${v.message}`);
  console.log(`replay: ${replay}`);
  return 1;
}

async function many(scenarios: readonly Scenario[], from: number, runs: number, modes: readonly boolean[]): Promise<number> {
  let failures = 0;
  let operations = 0;
  let histories = 0;
  const started = performance.now();
  for (const scenario of scenarios) {
    for (const mode of modes) {
      let bad = 0;
      for (let seed = from; seed < from + runs; seed++) {
        const run = await runScenario(scenario, seed, { oneRoundTrip: mode });
        histories++;
        operations += run.sim.recorder.history().operations.length;
        if (run.ok !== true) {
          bad++;
          console.log(await describeFailure(run));
        }
      }
      failures += bad;
      console.log(`${scenario.name} (${mode ? 'one round trip' : 'two round trips'}): ${runs} runs, ${bad} failed`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`${histories} histories, ${operations} operations checked in ${seconds.toFixed(1)} s; ${failures} failed`);
  return failures > 0 ? 1 : 0;
}

async function main(): Promise<number> {
  if (values.help === true) {
    console.log(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]?.replace(/^\/\*\*?|^ \* ?/gm, ''));
    return 0;
  }
  if (values.list === true) {
    for (const scenario of ALL) console.log(scenario.name);
    return 0;
  }
  if (values.plan !== undefined) {
    const plan = JSON.parse(readFileSync(values.plan, 'utf8')) as Plan;
    return single(planScenario(plan), plan.seed, undefined, `npm run sim -- --plan ${values.plan}`);
  }
  if (values.long === true) {
    return many(SCENARIOS, integer('seed', values.seed, 1), integer('runs', values.runs, 1250), [true, false]);
  }
  const scenario = ALL.find((s) => s.name === values.scenario);
  if (scenario === undefined) {
    console.error(values.scenario === undefined ? 'give --scenario NAME (see --list), --plan FILE or --long' : `no scenario ${values.scenario} (see --list)`);
    return 2;
  }
  const seed = integer('seed', values.seed, 1);
  if (values.runs !== undefined) return many([scenario], seed, integer('runs', values.runs, 1), [oneRoundTrip]);
  const ops = values.ops === undefined ? undefined : integer('ops', values.ops, scenario.defaultOps);
  return single(scenario, seed, ops, replayCommand(scenario.name, seed, ops, oneRoundTrip));
}

process.exitCode = await main();
