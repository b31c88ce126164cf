import { afterAll, describe, expect, test } from 'vitest';
import { SCENARIOS } from './scenarios.js';
import { SEED_BASE, ZERO_COVERAGE, addCoverage, runSeeds, runsPerScenario } from './suite.js';

/**
 * Declares the vitest suite for the scenarios named in `names` (the suite is split over two files
 * so vitest runs them on both cores), each over many seeds in both proposer modes: one round trip
 * (the default) and two. Every run is checked (history checker, acceptor monitor, liveness, quorum
 * safety); a failure prints its seed, its replay command and where its artifacts are. Afterwards,
 * the coverage check: a green run must actually have exercised the hard cases.
 */
export function defineScenarioSuite(names: readonly string[]): void {
  const wanted = new Set(names);
  const runs = runsPerScenario(60);
  let coverage = ZERO_COVERAGE;
  let histories = 0;
  let operations = 0;

  describe.each(SCENARIOS.filter((s) => wanted.has(s.name)).map((s) => [s.name, s] as const))('%s', (_, scenario) => {
    test.each([
      ['one round trip', true],
      ['two round trips', false],
    ] as const)(`%s, ${runs} seeds from ${SEED_BASE}: linearizable, monitored, live`, { timeout: 300_000 }, async (_mode, oneRoundTrip) => {
      const result = await runSeeds(scenario, runs, oneRoundTrip);
      coverage = addCoverage(coverage, result.coverage);
      histories += result.runs;
      operations += result.operations;
      expect(result.failures, result.failures.join('\n\n')).toEqual([]);
    });
  });

  afterAll(() => {
    if (histories === 0) return;
    expect(coverage.unknownOutcomes, 'unknown outcomes').toBeGreaterThan(0);
    expect(coverage.conflicts, 'conflicts').toBeGreaterThan(0);
    expect(coverage.quorumLoss, 'quorum-blocking partitions').toBeGreaterThan(0);
    expect(coverage.minorityAdopted, 'minority-accepted values later adopted').toBeGreaterThan(0);
    expect(coverage.fastReads, 'reads answered from agreeing peeks').toBeGreaterThan(0);
    expect(coverage.fallbackReads, 'reads whose peeks disagreed (the full round ran)').toBeGreaterThan(0);
    expect(histories).toBeGreaterThan(0);
    expect(operations).toBeGreaterThan(0);
  });
}
