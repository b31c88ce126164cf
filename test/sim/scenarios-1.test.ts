import { afterAll, describe, expect, test } from 'vitest';
import type { Coverage } from './scenario-kit.js';
import { SCENARIOS } from './scenarios.js';
import { SEED_BASE, addCoverage, runSeeds, runsPerScenario } from './suite.js';

/**
 * Half of the simulation scenarios (the suite is split in two files so vitest runs them on both
 * cores), each over many seeds. Every run is checked (history checker, acceptor monitor, liveness,
 * quorum safety); a failure prints its seed, its replay command and where its artifacts are.
 */
const NAMES = new Set(['calm-contention', 'reorder', 'request-loss', 'reply-loss', 'duplicates', 'partition-minority', 'partition-majority', 'partition-one-way', 'acceptor-crash', 'proposer-crash']);
const RUNS = runsPerScenario(60);
let coverage: Coverage = { unknownOutcomes: 0, conflicts: 0, quorumLoss: 0, minorityAdopted: 0, completed: 0 };
let histories = 0;
let operations = 0;

describe.each(SCENARIOS.filter((s) => NAMES.has(s.name)).map((s) => [s.name, s] as const))('%s', (_, scenario) => {
  // The whole suite runs in both proposer modes: one round trip (the default) and two.
  test.each([
    ['one round trip', true],
    ['two round trips', false],
  ] as const)(`%s, ${RUNS} seeds from ${SEED_BASE}: linearizable, monitored, live`, { timeout: 300_000 }, async (_mode, oneRoundTrip) => {
    const result = await runSeeds(scenario, RUNS, oneRoundTrip);
    coverage = addCoverage(coverage, result.coverage);
    histories += result.runs;
    operations += result.operations;
    expect(result.failures, result.failures.join('\n\n')).toEqual([]);
  });
});

afterAll(() => {
  // Coverage: a green run must actually have exercised the hard cases.
  if (histories === 0) return;
  expect(coverage.unknownOutcomes, 'unknown outcomes').toBeGreaterThan(0);
  expect(coverage.conflicts, 'conflicts').toBeGreaterThan(0);
  expect(coverage.quorumLoss, 'quorum-blocking partitions').toBeGreaterThan(0);
  expect(coverage.minorityAdopted, 'minority-accepted values later adopted').toBeGreaterThan(0);
  expect(histories).toBeGreaterThan(0);
  expect(operations).toBeGreaterThan(0);
});
