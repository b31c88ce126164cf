/**
 * Same seed, same run: the trace (every message, fault and timer, with virtual times) and the
 * history are byte-identical. Different seeds give different runs. This is what makes a printed
 * seed a replay.
 */
import { expect, test } from 'vitest';
import { historyToJSON } from '../../src/check/history.js';
import { runScenario } from './scenario-kit.js';
import { SCENARIOS } from './scenarios.js';

const scenario = (name: string) => {
  const found = SCENARIOS.find((s) => s.name === name);
  if (found === undefined) throw new Error(`no scenario ${name}`);
  return found;
};

test.each(['partition-majority', 'acceptor-crash', 'grow-shrink', 'proposer-crash'])('%s: the same seed gives a byte-identical trace and history', async (name) => {
  const first = await runScenario(scenario(name), 7, { trace: true });
  const second = await runScenario(scenario(name), 7, { trace: true });
  expect(first.sim.trace.length).toBeGreaterThan(100);
  expect(second.sim.trace.join('\n')).toBe(first.sim.trace.join('\n'));
  expect(historyToJSON(second.sim.recorder.history())).toBe(historyToJSON(first.sim.recorder.history()));
});

test('different seeds give different runs', async () => {
  const a = await runScenario(scenario('reorder'), 1, { trace: true });
  const b = await runScenario(scenario('reorder'), 2, { trace: true });
  expect(b.sim.trace.join('\n')).not.toBe(a.sim.trace.join('\n'));
});

test('tracing changes no decision: the history is the same with the trace off', async () => {
  const traced = await runScenario(scenario('duplicates'), 3, { trace: true });
  const untraced = await runScenario(scenario('duplicates'), 3);
  expect(untraced.sim.trace).toEqual([]);
  expect(historyToJSON(untraced.sim.recorder.history())).toBe(historyToJSON(traced.sim.recorder.history()));
});
