/**
 * Negative controls: every deliberately broken setup must be caught (a violation reported) within
 * a bounded number of seeds, every time. If one is not, the checks have gone blind.
 */
import { describe, expect, test } from 'vitest';
import { runScenario } from './scenario-kit.js';
import { MUTANTS, replayAfterCollection } from './mutants.js';
import { SEED_BASE } from './suite.js';
import { Simulation } from '../../src/sim/simulation.js';
import { verifySimulation } from '../../src/sim/verify.js';

const BUDGET = 30;

describe.each(MUTANTS.map((m) => [m.name, m] as const))('%s', (_, mutant) => {
  test(`is caught within ${BUDGET} seeds`, { timeout: 120_000 }, async () => {
    const kinds: string[] = [];
    for (let seed = SEED_BASE; seed < SEED_BASE + BUDGET && kinds.length === 0; seed++) {
      const run = await runScenario(mutant, seed);
      if (run.ok === false) kinds.push(...new Set(run.violations.map((v) => v.kind)));
    }
    expect(kinds, `${mutant.name} went unnoticed for ${BUDGET} seeds`).not.toEqual([]);
  });
});

test('mutant-read-skips-write-back is caught in both round-trip modes', { timeout: 240_000 }, async () => {
  const mutant = MUTANTS.find((m) => m.name === 'mutant-read-skips-write-back');
  if (mutant === undefined) throw new Error('the mutant is missing');
  for (const oneRoundTrip of [true, false]) {
    let caught = false;
    for (let seed = SEED_BASE; seed < SEED_BASE + BUDGET && !caught; seed++) caught = (await runScenario(mutant, seed, { oneRoundTrip })).ok === false;
    expect(caught, `unnoticed for ${BUDGET} seeds with oneRoundTrip ${oneRoundTrip}`).toBe(true);
  }
});

test('the replay-after-collection script passes against correct acceptors (so the mutant is what fails)', async () => {
  const sim = new Simulation({ seed: SEED_BASE, proposers: ['p1', 'p2', 'p3'] });
  const outcome = await sim.runUntilSettled(replayAfterCollection(sim));
  expect(outcome.status).toBe('fulfilled');
  const verdict = verifySimulation(sim, { kind: 'register', report: { completed: 0, failed: 0, unknown: 0, aborted: 0, errors: {}, settledAt: new Map(), proposerOf: new Map() } });
  expect(verdict.ok, verdict.report).toBe(true);
  const read = sim.recorder.history().operations.at(-1);
  expect(read).toMatchObject({ op: 'read', output: null });
});
