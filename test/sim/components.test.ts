/** Unit tests of the simulator's parts: seeded random, the agenda, the network, the monitor. */
import { fc, test as prop } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { MemoryAcceptor } from '../../src/index.js';
import { EventQueue } from '../../src/sim/event-queue.js';
import { AcceptorMonitor } from '../../src/sim/monitor.js';
import { SimNetwork } from '../../src/sim/network.js';
import { SeededRandom } from '../../src/sim/random.js';
import { VirtualTime, formatTime } from '../../src/sim/virtual-time.js';

describe('SeededRandom', () => {
  test('the same seed gives the same sequence; another seed another; forks are independent and stable', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const seq = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(seq);
    expect(new SeededRandom(43).next()).not.toBe(seq[0]);
    expect(new SeededRandom(42).fork('x').next()).toBe(new SeededRandom(42).fork('x').next());
    expect(new SeededRandom(42).fork('x').next()).not.toBe(new SeededRandom(42).fork('y').next());
  });

  prop.prop([fc.integer(), fc.integer({ min: 1, max: 1000 })])('int(n) stays in [0, n), next in [0, 1)', (seed, n) => {
    const r = new SeededRandom(seed);
    for (let i = 0; i < 50; i++) {
      const x = r.int(n);
      expect(x >= 0 && x < n && Number.isInteger(x)).toBe(true);
      const y = r.next();
      expect(y >= 0 && y < 1).toBe(true);
    }
  });

  test('is roughly uniform (no bucket of ten far from a tenth)', () => {
    const r = new SeededRandom(7);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const bucket = r.int(10);
      buckets[bucket] = (buckets[bucket] ?? 0) + 1;
    }
    for (const count of buckets) expect(Math.abs(count - 2000)).toBeLessThan(250);
  });
});

describe('EventQueue', () => {
  prop.prop([fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 60 })])('pops by time, ties in insertion order', (times) => {
    const q = new EventQueue<number>();
    times.forEach((t, i) => q.push(t, i));
    const popped: Array<[number, number]> = [];
    for (let e = q.pop(); e !== undefined; e = q.pop()) popped.push([e.time, e.item]);
    const expected = times.map((t, i) => [t, i] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(popped).toEqual(expected);
  });

  test('remove() drops matching entries and keeps the order of the rest', () => {
    const q = new EventQueue<string>();
    for (const [t, x] of [[3, 'c'], [1, 'a'], [2, 'b'], [1, 'a2']] as const) q.push(t, x);
    expect(q.remove((x) => x.startsWith('a'))).toBe(2);
    expect(q.entries().map((e) => e.item)).toEqual(['b', 'c']);
  });
});

describe('SimNetwork', () => {
  function network(seed = 1) {
    const time = new VirtualTime();
    const lines: string[] = [];
    const net = new SimNetwork(time, new SeededRandom(seed), (l) => lines.push(l));
    const received: number[] = [];
    net.attach('b', (m) => (received.push(m.id), true));
    return { time, net, lines, received };
  }
  const drain = (time: VirtualTime) => {
    for (let e = time.agenda.pop(); e !== undefined; e = time.agenda.pop()) {
      time.advanceTo(e.time);
      e.item.run();
    }
  };
  const send = (net: SimNetwork) => net.send({ kind: 'request', from: 'a', to: 'b', method: 'prepare', call: 1, body: {} }, () => 'prepare');

  test('loss, duplication and delay follow the profile', () => {
    const { time, net, received } = network();
    net.profile = { request: { dropRate: 0.5, duplicateRate: 0.5, minDelayMs: 1, maxDelayMs: 2 }, reply: net.profile.reply };
    for (let i = 0; i < 400; i++) send(net);
    drain(time);
    expect(net.stats.dropped).toBeGreaterThan(150);
    expect(net.stats.dropped).toBeLessThan(250);
    expect(net.stats.duplicated).toBeGreaterThan(50);
    expect(received.length).toBe(400 - net.stats.dropped + net.stats.duplicated);
    expect(time.now).toBeGreaterThanOrEqual(1000);
    expect(time.now).toBeLessThanOrEqual(2000);
  });

  test('a partition swallows messages already in flight; heal restores delivery', () => {
    const { time, net, received, lines } = network();
    send(net);
    net.block('a', 'b');
    drain(time);
    expect(received).toEqual([]);
    expect(lines.at(-1)).toBeUndefined(); // arrive() returns the line; the agenda prints it
    net.heal();
    send(net);
    drain(time);
    expect(received).toHaveLength(1);
    expect(net.stats.blocked).toBe(1);
  });

  test('formatTime is fixed width: milliseconds and microseconds', () => {
    expect(formatTime(0)).toBe('000000.000');
    expect(formatTime(12_345)).toBe('000012.345');
  });
});

describe('AcceptorMonitor', () => {
  const setup = () => {
    const monitor = new AcceptorMonitor(() => 0, () => undefined);
    return { monitor };
  };
  const age = { counter: 0, id: 'p' };

  test('is silent on a correct acceptor', async () => {
    const { monitor } = setup();
    const a = new MemoryAcceptor('a1');
    await a.prepare('k', age, { counter: 1, id: 'p' });
    monitor.observe('a1', a, 'k');
    await a.accept('k', age, { counter: 1, id: 'p' }, null);
    monitor.observe('a1', a, 'k');
    expect(monitor.violations).toEqual([]);
  });

  test('catches an acceptor whose ballots go back (amnesia) and two states under one ballot', async () => {
    const { monitor } = setup();
    const a = new MemoryAcceptor('a1');
    await a.accept('k', age, { counter: 5, id: 'p' }, Uint8Array.of(1));
    monitor.observe('a1', a, 'k');
    const amnesiac = new MemoryAcceptor('a1');
    monitor.observe('a1', amnesiac, 'k');
    expect(monitor.violations.map((v) => v.kind)).toEqual(['forgotten-record']);
    const b = new MemoryAcceptor('a2');
    await b.accept('k', age, { counter: 5, id: 'p' }, Uint8Array.of(2));
    monitor.observe('a2', b, 'k');
    expect(monitor.violations.map((v) => v.kind)).toEqual(['forgotten-record', 'two-states-one-ballot']);
  });

  test('accepts a record removed by garbage collection (a tombstone floor covers its promise)', async () => {
    const { monitor } = setup();
    const a = new MemoryAcceptor('a1');
    await a.accept('k', age, { counter: 5, id: 'p' }, null);
    monitor.observe('a1', a, 'k');
    await a.removeIfEqual('k', { ballot: { counter: 5, id: 'p' }, state: null });
    monitor.observe('a1', a, 'k');
    await a.prepare('k', age, { counter: 6, id: 'p' });
    monitor.observe('a1', a, 'k');
    expect(monitor.violations).toEqual([]);
  });
});
