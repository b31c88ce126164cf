/**
 * Recording a Simulation run: events stamped with virtual time, unreachable acceptors drawn as
 * lost replies, and the same seed giving the same rendering.
 */
import { expect, test } from 'vitest';
import { Simulation } from '../../src/sim/simulation.js';
import { TraceRecorder, byType, filterTrace, inWindow, renderAscii, renderMermaid, renderSvg } from '../../src/trace/index.js';
import { checkWellFormedXml } from './xml-check.js';

async function partitionedRun(seed: number) {
  let sim: Simulation | undefined;
  // The recorder reads the simulation's clock (virtual microseconds).
  const recorder = new TraceRecorder({ clock: () => sim?.now ?? 0 });
  sim = new Simulation({ seed, proposers: ['p1'], tracer: recorder.tracer, retry: { attempts: 1 } });
  sim.partition(['p1'], ['a1', 'a2']);
  const outcome = await sim.runUntilSettled(sim.proposer('p1').propose('k', () => new TextEncoder().encode('v')));
  return { events: recorder.events, outcome };
}

test('a partitioned simulation run: virtual timestamps, unreachable replies, and a deterministic rendering', async () => {
  const { events, outcome } = await partitionedRun(5);
  expect(outcome.status).toBe('rejected');
  const times = events.map((r) => r.time);
  expect(times).toEqual([...times].sort((a, b) => a - b));
  expect(times.at(-1)).toBeGreaterThan(0);
  const unreachable = filterTrace(events, byType('prepare-unreachable', 'accept-unreachable'));
  expect(unreachable.length).toBeGreaterThan(0);
  const formatTime = (us: number) => `${(us / 1000).toFixed(3)}ms`;
  const ascii = renderAscii(events, { formatTime });
  expect(ascii).toMatch(/\|x-- unreachable\(/);
  expect(renderMermaid(events)).toMatch(/A\d--xP1: unreachable\(/);
  expect(checkWellFormedXml(renderSvg(events, { formatTime }))).toEqual({ ok: true });
  // A time window in virtual microseconds.
  const late = filterTrace(events, inWindow({ from: (unreachable[0] as { time: number }).time }));
  expect(late[0]?.event.type).toMatch(/unreachable/);
  // Same seed, same bytes.
  expect(renderAscii((await partitionedRun(5)).events, { formatTime })).toBe(ascii);
});
