/**
 * The step-by-step API a test or a notebook drives by hand: start a proposal, look at the messages
 * in flight, deliver a chosen one, drop one, partition, crash, and inspect every acceptor.
 */
import { expect, test } from 'vitest';
import { MemoryAcceptor, formatBallot } from '../../src/index.js';
import type { SimStep } from '../../src/sim/events.js';
import { Simulation } from '../../src/sim/simulation.js';
import { formatTime } from '../../src/sim/virtual-time.js';

const text = (s: Uint8Array | null) => (s === null ? null : new TextDecoder().decode(s));

test('a proposal message by message: deliver chosen prepares, drop one, then let the rest run', async () => {
  const sim = new Simulation({ seed: 1, proposers: ['p1'] });
  const proposal = sim.proposer('p1').propose('k', () => new TextEncoder().encode('v'));
  // The prepares went out synchronously: three requests in flight.
  const prepares = sim.pendingMessages();
  expect(prepares.map((m) => `${m.from}->${m.to} ${m.method}`)).toEqual(['p1->a1 prepare', 'p1->a2 prepare', 'p1->a3 prepare']);
  // Deliver a3's first, lose a1's.
  await sim.deliver((prepares[2] as { id: number }).id);
  await sim.drop((prepares[0] as { id: number }).id);
  expect((sim.acceptor('a3').acceptor as MemoryAcceptor).inspect('k')?.promise).toEqual({ counter: 1, id: 'p1' });
  expect((sim.acceptor('a1').acceptor as MemoryAcceptor).inspect('k')).toBeUndefined();
  // a3's promise is on its way back; a2's prepare is still in flight.
  expect(sim.pendingMessages().map((m) => `${m.from}->${m.to} ${m.kind}`)).toEqual(['p1->a2 request', 'a3->p1 reply']);
  const outcome = await sim.runUntilSettled(proposal);
  expect(outcome.status).toBe('fulfilled');
  // a1 never heard the prepare but got the accept.
  for (const a of ['a1', 'a2', 'a3']) expect(text((sim.acceptor(a).acceptor as MemoryAcceptor).inspect('k')?.state ?? null)).toBe('v');
});

test('step() runs one event at a time and returns its trace line', async () => {
  const sim = new Simulation({ seed: 2, proposers: ['p1'] });
  void sim.proposer('p1').propose('k', () => null);
  const first = await sim.step();
  expect(first).toMatch(/^\d{6}\.\d{3} deliver #\d+ p1 -> a\d request prepare k 1\/p1 age 0$/);
  expect(sim.trace.at(-1)).toBe(first);
  let steps = 1;
  while ((await sim.step()) !== undefined) steps++;
  expect(steps).toBeGreaterThanOrEqual(9); // 3 prepares, 3 promises, 3 accepts, and replies
  expect(await sim.step()).toBeUndefined();
});

test('a partition blocks messages at delivery; a crashed acceptor takes nothing; both heal', async () => {
  const sim = new Simulation({ seed: 3, proposers: ['p1'], retry: { attempts: 1 } });
  sim.partition(['p1'], ['a1']);
  sim.crashAcceptor('a2');
  expect(sim.hasQuorum('p1')).toBe(false);
  const failed = await sim.runUntilSettled(sim.proposer('p1').propose('k', () => null));
  expect(failed.status).toBe('rejected');
  expect(sim.trace.some((line) => line.includes('block #'))).toBe(true);
  expect(sim.trace.some((line) => line.includes('undeliverable #'))).toBe(true);
  await sim.healAll();
  expect(sim.hasQuorum('p1')).toBe(true);
  const ok = await sim.runUntilSettled(sim.proposer('p1').propose('k', () => null));
  expect(ok.status).toBe('fulfilled');
});

test('a proposer crash ends its operations with an unknown outcome; it restarts under a new id', async () => {
  const sim = new Simulation({ seed: 4, proposers: ['p1'] });
  const pending = sim.proposer('p1').propose('k', () => new TextEncoder().encode('v'));
  await sim.step();
  sim.crashProposer('p1');
  const outcome = await sim.runUntilSettled(pending);
  expect(outcome.status).toBe('rejected');
  expect(String((outcome as PromiseRejectedResult).reason)).toContain('unknown');
  await sim.restartProposer('p1');
  expect(sim.proposer('p1').incarnationId).toBe('p1#2');
  const after = await sim.runUntilSettled(sim.proposer('p1').propose('k', (s) => s));
  expect(after.status).toBe('fulfilled');
  // Its counter restarted at 0, but its new id keeps its ballots unique.
  expect(formatBallot((after as PromiseFulfilledResult<{ ballot: { counter: number; id: string } }>).value.ballot)).toMatch(/\/p1#2$/);
});

test('clock skew: a slow node’s timers fire later in virtual time', async () => {
  const sim = new Simulation({ seed: 5, proposers: ['fast', 'slow'], skew: { fast: 0.5, slow: 4 }, timeoutMs: 10 });
  sim.crashAcceptor('a1');
  sim.crashAcceptor('a2');
  const fast = sim.runUntilSettled(sim.proposer('fast').propose('k', () => null));
  const slow = sim.runUntilSettled(sim.proposer('slow').propose('k', () => null));
  await Promise.all([fast, slow]);
  const timeouts = sim.trace.filter((line) => line.includes('timeout of call'));
  expect(timeouts.length).toBeGreaterThan(0);
  const firstFast = sim.trace.find((line) => line.includes('timer fast timeout'));
  const firstSlow = sim.trace.find((line) => line.includes('timer slow timeout'));
  expect(Number(firstFast?.slice(0, 10))).toBeCloseTo(5, 0);
  expect(Number(firstSlow?.slice(0, 10))).toBeCloseTo(40, 0);
});

test('stepEvent reports each event as data: a delivery with its fate, a timeout with its call, a wake with its incarnation', async () => {
  const sim = new Simulation({ seed: 3, proposers: ['p1'], retry: { attempts: 3 }, timeoutMs: 10 });
  sim.crashProposer('p1');
  await sim.restartProposer('p1');
  sim.partition(['p1'], ['a1']);
  sim.crashAcceptor('a2');
  const requests = new Map<number, { to: string; method: string }>();
  sim.network.onSend = (m) => void (m.kind === 'request' && requests.set(m.call, { to: m.to, method: m.method }));
  void sim.proposer('p1').propose('k', () => null).catch(() => {});
  const steps: SimStep[] = [];
  for (let step = await sim.stepEvent(); step !== undefined; step = await sim.stepEvent()) {
    // The data and the trace tell the same event.
    expect(step.line).toBe(`${formatTime(step.time)} ${step.text}`);
    expect(sim.trace.at(-1)).toBe(step.line);
    steps.push(step);
  }
  const events = steps.map((s) => s.event);
  const deliveries = events.filter((e) => e.kind === 'deliver');
  for (const d of deliveries) {
    const { from, to } = d.message;
    const expected = [from, to].includes('a1') ? 'blocked' : [from, to].includes('a2') ? 'undeliverable' : 'delivered';
    expect(d.outcome, `#${d.message.id} ${from}->${to}`).toBe(expected);
  }
  expect(new Set(deliveries.map((d) => d.outcome))).toEqual(new Set(['blocked', 'undeliverable', 'delivered']));
  const timeouts = events.filter((e) => e.kind === 'timeout');
  expect(timeouts.length).toBeGreaterThanOrEqual(4);
  for (const t of timeouts) {
    expect(t).toMatchObject({ node: 'p1', incarnation: 'p1#2' });
    expect(requests.get(t.call)).toEqual({ to: t.to, method: t.method });
    expect(['a1', 'a2']).toContain(t.to);
  }
  const wakes = events.filter((e) => e.kind === 'wake');
  expect(wakes.length).toBeGreaterThanOrEqual(1);
  for (const w of wakes) expect(w).toEqual({ kind: 'wake', node: 'p1', incarnation: 'p1#2', label: 'sleep of p1#2' });
  expect(events.filter((e) => e.kind === 'action')).toEqual([]);
});

test('by hand: deliver reports each copy’s fate; a delayed message arrives once, at its last delay, unless dropped first', async () => {
  const sim = new Simulation({ seed: 1, proposers: ['p1'] });
  void sim.proposer('p1').propose('k', () => null);
  const [m1, m2, m3] = sim.pendingMessages().map((m) => m.id) as [number, number, number];
  sim.delay(m1, 50);
  sim.delay(m1, 30);
  sim.crashAcceptor('a2');
  const byHand = await sim.deliver(m2);
  expect(byHand.map((d) => [d.message.id, d.outcome])).toEqual([[m2, 'undeliverable']]);
  sim.delay(m3, 40);
  await sim.drop(m3);
  expect(() => sim.delay(m3, 1)).toThrow(RangeError);
  const arrivals: Array<[number, number]> = [];
  for (let step = await sim.stepEvent(); step !== undefined; step = await sim.stepEvent()) {
    if (step.event.kind === 'deliver' && [m1, m3].includes(step.event.message.id)) arrivals.push([step.event.message.id, step.time]);
  }
  expect(arrivals).toEqual([[m1, 30_000]]);
});

test('a scripted action is an action event, told by the line it logged', async () => {
  const sim = new Simulation({ seed: 1, proposers: ['p1'] });
  sim.crashAcceptor('a1');
  sim.at(5, () => sim.restartAcceptor('a1'));
  const step = await sim.stepEvent();
  expect(step).toEqual({ time: 5000, event: { kind: 'action' }, text: 'restart a1', line: '000005.000 restart a1' });
});

test('upcoming() lists what step() will run, in order, with when each is due; cancelled timers are not events', async () => {
  const sim = new Simulation({ seed: 3, proposers: ['p1'] });
  const proposal = sim.proposer('p1').propose('k', () => null);
  // Three prepares and three request timeouts are on the agenda.
  const first = sim.upcoming();
  expect(first.filter((u) => u.event.kind === 'deliver')).toHaveLength(3);
  expect(first.filter((u) => u.event.kind === 'timeout')).toHaveLength(3);
  expect(first.map((u) => u.time)).toEqual([...first.map((u) => u.time)].sort((a, b) => a - b));
  expect(sim.upcoming(2)).toEqual(first.slice(0, 2));
  // Each step runs exactly the event upcoming() named first, at its time.
  for (let i = 0; i < 12; i++) {
    const [next] = sim.upcoming(1);
    if (next === undefined) break;
    const step = (await sim.stepEvent()) as SimStep;
    expect(step.time).toBe(next.time);
    expect(step.event.kind).toBe(next.event.kind);
    if (next.event.kind === 'deliver' && step.event.kind === 'deliver') expect(step.event.message).toBe(next.event.message);
  }
  // Once the proposal is done its timeouts are cancelled, yet still on the agenda: upcoming()
  // leaves them out, as step() skips them.
  await sim.runUntilSettled(proposal);
  const cancelled = sim.time.agenda.size - sim.upcoming().length;
  expect(cancelled).toBeGreaterThan(0);
  expect(sim.upcoming().every((u) => u.event.kind === 'deliver')).toBe(true);
});
