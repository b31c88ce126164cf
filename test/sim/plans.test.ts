/**
 * fast-check over whole plans (faults, rates, partitions, workload, seed): every plan's run must
 * pass every check. On failure fast-check prints the seed and path and shrinks toward a calm
 * network; the minimised plan is written to `.tmp/sim-failures/plan-<seed>.json` for
 * `npm run sim -- --plan FILE`. `FC_SEED` / `FC_PATH` / `FC_RUNS` replay or lengthen a run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { type Plan, planArbitrary, planScenario } from './plans.js';
import { runScenario } from './scenario-kit.js';

const { FC_SEED, FC_PATH, FC_RUNS } = process.env;

test('every generated plan runs linearizably, monitored and live', { timeout: 300_000 }, async () => {
  let failing: Plan | undefined;
  const property = fc.asyncProperty(planArbitrary, async (plan) => {
    const run = await runScenario(planScenario(plan), plan.seed);
    if (run.ok !== true) {
      failing = plan;
      throw new Error(`${run.violations.length} violation(s): ${run.violations.slice(0, 3).map((v) => `${v.kind}: ${v.message}`).join(' | ')}`);
    }
  });
  const details = await fc.check(property, {
    numRuns: FC_RUNS === undefined ? 40 : Number(FC_RUNS),
    ...(FC_SEED === undefined ? {} : { seed: Number(FC_SEED) }),
    ...(FC_PATH === undefined ? {} : { path: FC_PATH }),
  });
  if (details.failed && failing !== undefined) {
    mkdirSync('.tmp/sim-failures', { recursive: true });
    const file = `.tmp/sim-failures/plan-${failing.seed}.json`;
    writeFileSync(file, `${JSON.stringify(failing, null, 2)}\n`);
    throw new Error(
      `${fc.defaultReportMessage(details)}\nminimised plan written to ${file}; replay: npm run sim -- --plan ${file} --history plan-${failing.seed}.json`,
    );
  }
  expect(details.failed).toBe(false);
});
