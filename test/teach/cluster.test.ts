/**
 * The teaching API, method by method: what each does to the simulated cluster, what it reports,
 * and that bad input throws a typed error and changes nothing.
 */
import { describe, expect, test } from 'vitest';
import { InvalidArgumentError, StepFailedError, UnavailableError } from '../../src/errors.js';
import { append, change, createCluster, increment, read, remove, set } from '../../src/teach/index.js';

const invalid = { name: 'InvalidArgumentError', code: 'ERR_INVALID_ARGUMENT' };
/** The first line of what `step` or `deliver` said, without its time stamp. */
const headline = (said: string): string => (said.split('\n')[0] as string).trimStart().replace(/^\S+ ms {2}/, '');
const lines = (cluster: ReturnType<typeof createCluster>, selector?: Parameters<ReturnType<typeof createCluster>['messages']>[0]) =>
  cluster.messages(selector).map(String);

describe('createCluster', () => {
  test('defaults: a1..a3, p1 and p2, and a proposal sends one prepare per acceptor', () => {
    const cluster = createCluster();
    expect(cluster.seed).toBe(1);
    expect(cluster.acceptors().map((a) => a.address)).toEqual(['a1', 'a2', 'a3']);
    cluster.propose('p2', 'x', set('v'));
    expect(lines(cluster)).toEqual(['#1 p2 → a1 prepare(x, 1/p2)', '#2 p2 → a2 prepare(x, 1/p2)', '#3 p2 → a3 prepare(x, 1/p2)']);
  });

  test('counts and names', () => {
    const cluster = createCluster({ acceptors: ['n1', 'n2', 'n3', 'n4', 'n5'], proposers: 3 });
    expect(cluster.acceptors().map((a) => a.address)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect(() => cluster.propose('p3', 'k', read)).not.toThrow();
  });

  test.each([
    [{ acceptors: 0 }],
    [{ acceptors: 1.5 }],
    [{ acceptors: [] }],
    [{ acceptors: ['a1', ''] }],
    [{ proposers: ['p1', 'p1'] }],
    [{ acceptors: ['x'], proposers: ['x'] }],
    [{ proposers: ['operator'] }],
    [{ seed: -1 }],
    [{ seed: 2 ** 32 }],
    [{ timeoutMs: 0 }],
    [{ oneRoundTrip: 'yes' }],
    [{ retry: { attempts: 0 } }],
  ])('rejects %j with InvalidArgumentError', (options) => {
    expect(() => createCluster(options as never)).toThrow(expect.objectContaining(invalid));
  });
});

describe('propose and the change helpers', () => {
  test('set, append, increment, remove and read, run to completion', async () => {
    const cluster = createCluster({ seed: 7 });
    const ops = [
      cluster.propose('p1', 'k', set('a')),
      cluster.propose('p1', 'k', append('b')),
      cluster.propose('p2', 'n', increment),
      cluster.propose('p2', 'n', increment),
      cluster.propose('p1', 'k', (current) => `${current}!`),
      cluster.propose('p1', 'gone', remove),
    ];
    await cluster.runUntilSettled();
    expect(ops.map((op) => op.status)).toEqual(['done', 'done', 'done', 'done', 'done', 'done']);
    expect(ops.map((op) => op.value)).toEqual(['a', 'ab', '1', '2', 'ab!', null]);
    const r = cluster.read('p2', 'k');
    expect(r.kind).toBe('read');
    await cluster.runUntilSettled();
    expect([r.value, r.status, r.label]).toEqual(['ab!', 'done', 'p2 read on k']);
    expect(String(ops[0])).toMatch(/^#1 p1 set "a" on k: done, "a" at \d+\/p1$/);
  });

  test('a change that throws fails its operation with its own error; nothing is written', async () => {
    const cluster = createCluster();
    cluster.propose('p1', 'n', set('not a number'));
    await cluster.runUntilSettled();
    const bad = cluster.propose('p1', 'n', increment);
    await cluster.runUntilSettled();
    expect(bad.status).toBe('failed');
    expect(bad.error).toBeInstanceOf(InvalidArgumentError);
    expect(cluster.acceptors().flatMap((a) => a.records.map((r) => r.value))).toEqual(['not a number', 'not a number', 'not a number']);
  });

  test.each([
    ['an unknown proposer', (c: ReturnType<typeof createCluster>) => c.propose('p9', 'k', read)],
    ['an acceptor as proposer', (c: ReturnType<typeof createCluster>) => c.propose('a1', 'k', read)],
    ['a non-string key', (c: ReturnType<typeof createCluster>) => c.propose('p1', 42 as never, read)],
    ['a change that is not one', (c: ReturnType<typeof createCluster>) => c.propose('p1', 'k', 'set x' as never)],
    ['a half-built change object', (c: ReturnType<typeof createCluster>) => c.propose('p1', 'k', { kind: 'write', label: 'x' } as never)],
  ])('%s throws InvalidArgumentError and sends nothing', (_, call) => {
    const cluster = createCluster();
    expect(() => call(cluster)).toThrow(expect.objectContaining(invalid));
    expect(cluster.messages()).toEqual([]);
    expect(cluster.operations()).toEqual([]);
  });

  test('helpers validate their arguments', () => {
    expect(() => set(1 as never)).toThrow(InvalidArgumentError);
    expect(() => append(null as never)).toThrow(InvalidArgumentError);
    expect(() => change('', (s) => s)).toThrow(InvalidArgumentError);
    expect(() => change('x', 'no' as never)).toThrow(InvalidArgumentError);
    expect(change('shout', (s) => (s ?? '').toUpperCase()).label).toBe('shout');
  });
});

describe('deliver, drop, delay, step', () => {
  test('deliver by id, by pattern and by predicate, in id order, with a line each and why', async () => {
    const cluster = createCluster();
    cluster.propose('p1', 'x', set('v'));
    // Delivered by hand, a message arrives when the next event was due: #2's own arrival here.
    expect(cluster.messages(2)[0]?.arrival).toBe(140);
    expect(await cluster.deliver(2)).toEqual(['  0.140 ms  deliver #2 p1 → a2 prepare(x, 1/p1)\n            a2: prepare 1/p1 promised: 1/p1 > promise ø; reports nothing accepted']);
    // #4 (a2's reply, due at 0.389 ms) is now the next event: #3 arrives then, ahead of its own 0.778.
    expect(await cluster.deliver({ to: 'a3' })).toEqual(['  0.389 ms  deliver #3 p1 → a3 prepare(x, 1/p1)\n            a3: prepare 1/p1 promised: 1/p1 > promise ø; reports nothing accepted']);
    expect(lines(cluster)).toEqual(['#1 p1 → a1 prepare(x, 1/p1)', '#4 a2 → p1 promised(ø, ∅)', '#5 a3 → p1 promised(ø, ∅)']);
    // A reply knows its request's key.
    expect(cluster.messages({ kind: 'reply' }).map((m) => m.key)).toEqual(['x', 'x']);
    const delivered = await cluster.deliver((m) => m.kind === 'reply');
    expect(delivered).toHaveLength(2);
    // A quorum of promises: the accepts are out.
    expect(lines(cluster, { method: 'accept' })).toEqual(['#6 p1 → a1 accept(x, 1/p1, "v")', '#7 p1 → a2 accept(x, 1/p1, "v")', '#8 p1 → a3 accept(x, 1/p1, "v")']);
  });

  test('selectors that pick nothing, or are malformed, throw InvalidArgumentError and change nothing', async () => {
    const cluster = createCluster();
    cluster.propose('p1', 'x', set('v'));
    const before = lines(cluster);
    await expect(cluster.deliver(99)).rejects.toMatchObject({ ...invalid, message: expect.stringContaining('in flight: #1 #2 #3') });
    await expect(cluster.deliver(0)).rejects.toMatchObject(invalid);
    await expect(cluster.drop({ to: 'a9' })).rejects.toMatchObject(invalid);
    await expect(cluster.deliver({ dest: 'a1' } as never)).rejects.toMatchObject(invalid);
    await expect(cluster.deliver({ to: 1 } as never)).rejects.toMatchObject(invalid);
    await expect(cluster.deliver(undefined as never)).rejects.toMatchObject(invalid);
    await expect(cluster.deliver('1' as never)).rejects.toMatchObject(invalid);
    expect(() => cluster.delay(1, -1)).toThrow(expect.objectContaining(invalid));
    expect(() => cluster.delay(1, Number.NaN)).toThrow(expect.objectContaining(invalid));
    expect(lines(cluster)).toEqual(before);
  });

  test('a partitioned message cannot be delivered by hand; it can be dropped', async () => {
    const cluster = createCluster();
    cluster.propose('p1', 'x', set('v'));
    cluster.partition('p1', 'a1');
    await expect(cluster.deliver(1)).rejects.toMatchObject({ ...invalid, message: expect.stringContaining('partitioned') });
    expect(lines(cluster, 1)).toEqual(['#1 p1 → a1 prepare(x, 1/p1)']);
    expect(await cluster.drop(1)).toEqual(['  0.000 ms  drop #1 p1 → a1 prepare(x, 1/p1)\n            a1 never sees it; p1 counts a1 as a refusal only when the call times out']);
    expect(cluster.messages(1)).toEqual([]);
  });

  test('drop loses a message: the proposer times out on it and still commits with the others', async () => {
    const cluster = createCluster();
    const op = cluster.propose('p1', 'x', set('v'));
    await cluster.drop({ to: 'a1' });
    await cluster.runUntilSettled();
    expect(op.status).toBe('done');
    // a1 never promised, but it got the accept.
    expect(cluster.acceptors().map((a) => a.records[0]?.value)).toEqual(['v', 'v', 'v']);
  });

  test('delay moves a message later: the others overtake it', async () => {
    const cluster = createCluster();
    cluster.propose('p1', 'x', set('v'));
    expect(cluster.delay({ to: 'a1' }, 5)).toEqual([
      '  0.000 ms  delay #1 p1 → a1 prepare(x, 1/p1) by 5 ms\n            it now arrives at 5.000 ms instead of 0.612 ms: whatever is due before it happens first',
    ]);
    expect(cluster.messages(1)[0]?.arrival).toBe(5000);
    const steps: string[] = [];
    for (let line = await cluster.step(); line !== undefined && !line.includes('#1 '); line = await cluster.step()) steps.push(line);
    expect(steps.length).toBeGreaterThan(3);
    expect(cluster.now).toBe(5000);
  });

  test('a delayed message can be delayed again, dropped or delivered by hand: it arrives once, or never', async () => {
    const cluster = createCluster({ proposers: ['p1'] });
    cluster.propose('p1', 'x', set('v'));
    cluster.delay(1, 50);
    cluster.delay(1, 30); // the later delay replaces the earlier one
    cluster.delay(2, 40);
    await cluster.drop(2);
    cluster.delay(3, 40);
    // Nothing is due before the timeout of the dropped #2's call, at 20 ms: #3 arrives then.
    expect(await cluster.deliver(3)).toEqual([' 20.000 ms  deliver #3 p1 → a3 prepare(x, 1/p1)\n            a3: prepare 1/p1 promised: 1/p1 > promise ø; reports nothing accepted']);
    const seen: string[] = [];
    for (let line = await cluster.step(); line !== undefined; line = await cluster.step()) seen.push(line);
    // By then p1 had timed out on a1 and a2 and retried under 2/p1.
    expect(seen.filter((l) => l.includes(' #1 '))).toEqual([' 30.000 ms  deliver #1 p1 → a1 prepare(x, 1/p1)\n            a1: prepare 1/p1 refused: promised 2/p1 > 1/p1']);
    expect(seen.filter((l) => l.includes(' #2 ') || l.includes(' #3 '))).toEqual([]);
  });

  test('step names a delivery a partition blocked, one to a crashed node, and a restarted proposer waking from its backoff', async () => {
    const cluster = createCluster({ proposers: ['p1'], retry: { attempts: 3 }, timeoutMs: 10 });
    cluster.crash('p1');
    await cluster.restart('p1');
    cluster.partition('p1', 'a1');
    cluster.crash('a2');
    cluster.propose('p1', 'x', set('v'));
    const seen: string[] = [];
    for (let line = await cluster.step(); line !== undefined; line = await cluster.step()) seen.push(headline(line));
    expect(seen).toContain('blocked by a partition: #1 p1 → a1 prepare(x, 1/p1#2)');
    expect(seen).toContain('lost (a2 is down): #2 p1 → a2 prepare(x, 1/p1#2)');
    expect(seen).toContain("timeout: p1 gives up waiting for a1's reply to prepare(x, 1/p1#2)");
    expect(seen).toContain('p1#2 wakes up (its retry backoff is over)');
  });

  test('step runs one event and names it; a timeout names the call it gave up on; undefined when idle', async () => {
    const cluster = createCluster({ proposers: ['p1'], retry: { attempts: 1 } });
    const op = cluster.propose('p1', 'x', set('v'));
    cluster.crash('a1');
    cluster.crash('a2');
    const seen: string[] = [];
    for (let line = await cluster.step(); line !== undefined; line = await cluster.step()) seen.push(line.split('\n')[0] as string);
    expect(seen.filter((l) => l.includes('lost (a')).length).toBe(2);
    expect(seen).toContainEqual(expect.stringMatching(/^ *\d+\.\d{3} ms {2}timeout: p1 gives up waiting for a1's reply to prepare\(x, 1\/p1\)$/));
    expect(op.status).toBe('failed');
    expect(await cluster.step()).toBeUndefined();
  });

  test('run options are checked', async () => {
    const cluster = createCluster();
    await expect(cluster.runUntil('soon' as never)).rejects.toMatchObject(invalid);
    await expect(cluster.runUntilSettled({ maxSteps: 0 })).rejects.toMatchObject(invalid);
    await expect(cluster.runUntilIdle(null as never)).rejects.toMatchObject(invalid);
  });

  test('maxSteps stops a run part way', async () => {
    const cluster = createCluster();
    const op = cluster.propose('p1', 'x', set('v'));
    expect(await cluster.runUntilSettled({ maxSteps: 2 })).toBe(2);
    expect(op.status).toBe('pending');
  });
});

describe('a conflict, message by message', () => {
  test('a higher prepare makes the acceptors refuse the lower accept; the loser retries on the winner’s state', async () => {
    const cluster = createCluster({ seed: 3 });
    const p1 = cluster.propose('p1', 'x', append('1'));
    const p2 = cluster.propose('p2', 'x', append('2'));
    await cluster.deliver({ from: 'p1', method: 'prepare' });
    await cluster.deliver({ to: 'p1' });
    await cluster.deliver({ from: 'p2', method: 'prepare' });
    expect(cluster.acceptors().map((a) => a.records[0]?.promise)).toEqual(['1/p2', '1/p2', '1/p2']);
    await cluster.deliver({ from: 'p1', method: 'accept' });
    expect(lines(cluster, { to: 'p1' })).toEqual(['#16 a1 → p1 conflict(promise 1/p2)', '#17 a2 → p1 conflict(promise 1/p2)', '#18 a3 → p1 conflict(promise 1/p2)']);
    await cluster.deliver({ to: 'p1' });
    expect(lines(cluster, { from: 'p1' })).toEqual(['#19 p1 → a1 prepare(x, 2/p1)', '#20 p1 → a2 prepare(x, 2/p1)', '#21 p1 → a3 prepare(x, 2/p1)']);
    await cluster.deliver({ to: 'p2' });
    await cluster.deliver({ from: 'p2', method: 'accept' });
    await cluster.deliver({ to: 'p2' });
    expect([p2.status, p2.value, p2.ballot]).toEqual(['done', '2', '1/p2']);
    await cluster.runUntilSettled();
    expect([p1.status, p1.value, p1.ballot]).toEqual(['done', '21', '2/p1']);
    expect(cluster.diagram().text).toContain('conflict(promise 1/p2)');
    expect(cluster.violations()).toEqual([]);
  });
});

describe('recovery of a minority write', () => {
  test('an accept that reached one acceptor is adopted by the next read, which writes it to a quorum', async () => {
    const cluster = createCluster({ seed: 3 });
    cluster.propose('p1', 'x', set('v0'));
    await cluster.runUntilIdle();
    const write = cluster.propose('p1', 'x', set('v1'));
    await cluster.runUntil(() => cluster.messages({ method: 'accept' }).length > 0);
    await cluster.deliver({ method: 'accept', to: 'a1' });
    await cluster.drop({ method: 'accept', kind: 'request' });
    cluster.crash('p1');
    await cluster.runUntilIdle();
    expect(write.status).toBe('failed');
    expect(cluster.acceptors().map((a) => a.records[0]?.value)).toEqual(['v1', 'v0', 'v0']);
    cluster.partition('p2', 'a3');
    const readBack = cluster.read('p2', 'x');
    await cluster.runUntilIdle();
    expect(readBack.value).toBe('v1');
    expect(cluster.acceptors().map((a) => a.records[0]?.value)).toEqual(['v1', 'v1', 'v0']);
    cluster.heal();
    cluster.partition('p2', 'a1');
    const again = cluster.read('p2', 'x');
    await cluster.runUntilIdle();
    expect(again.value).toBe('v1');
    expect(cluster.violations()).toEqual([]);
  });
});

describe('faults', () => {
  test('crash and restart an acceptor: it keeps its records; bad calls throw', async () => {
    const cluster = createCluster();
    cluster.propose('p1', 'x', set('v'));
    await cluster.runUntilIdle();
    cluster.crash('a2');
    expect(cluster.acceptors()[1]).toMatchObject({ up: false, records: [{ key: 'x', value: 'v' }] });
    expect(() => cluster.crash('a2')).toThrow(expect.objectContaining(invalid));
    expect(() => cluster.crash('zz')).toThrow(expect.objectContaining(invalid));
    expect(() => cluster.crash('')).toThrow(expect.objectContaining(invalid));
    await expect(cluster.restart('a1')).rejects.toMatchObject(invalid);
    await cluster.restart('a2');
    expect(cluster.acceptors()[1]?.up).toBe(true);
  });

  test('crash and restart a proposer: its operation fails with an unknown outcome; it comes back as p1#2', async () => {
    const cluster = createCluster();
    const op = cluster.propose('p1', 'x', set('v'));
    cluster.crash('p1');
    await cluster.runUntilSettled();
    expect(op.status).toBe('failed');
    expect(String(op.error)).toContain('unknown');
    const refused = cluster.propose('p1', 'x', set('w'));
    await cluster.runUntilSettled();
    expect(refused.status).toBe('failed');
    await cluster.restart('p1');
    const after = cluster.propose('p1', 'x', set('w'));
    await cluster.runUntilSettled();
    expect(after.ballot).toMatch(/\/p1#2$/);
  });

  test('partition and heal; bad partitions throw', async () => {
    const cluster = createCluster({ retry: { attempts: 1 } });
    expect(() => cluster.partition('p1', 'p1')).toThrow(expect.objectContaining(invalid));
    expect(() => cluster.partition([], 'a1')).toThrow(expect.objectContaining(invalid));
    expect(() => cluster.partition('p1', ['a1', 'nope'])).toThrow(expect.objectContaining(invalid));
    cluster.partition('p1', ['a1', 'a2']);
    const cut = cluster.propose('p1', 'x', set('v'));
    await cluster.runUntilSettled();
    expect(cut.status).toBe('failed');
    // The proposer's view: its calls to a1 and a2 failed; the deliveries: a partition swallowed them.
    expect(cluster.traceDiagram().text).toContain('x-- unreachable(');
    expect(cluster.diagram().text).toContain('#1 p1 → a1 prepare(x, 1/p1)  [blocked by a partition]');
    cluster.heal();
    const ok = cluster.propose('p1', 'x', set('v'));
    await cluster.runUntilSettled();
    expect(ok.status).toBe('done');
  });
});

describe('membership and garbage collection', () => {
  test('grow then shrink: the acceptor joins with every key, then leaves', async () => {
    const cluster = createCluster();
    cluster.propose('p1', 'x', set('v'));
    await cluster.runUntilIdle();
    const grow = cluster.grow('a4');
    expect(cluster.acceptors()[3]?.membership).toBe('accepts only');
    expect(() => cluster.grow('a5')).toThrow(expect.objectContaining({ ...invalid, message: expect.stringContaining('one membership change at a time') }));
    await cluster.runUntilSettled();
    expect(grow.status).toBe('done');
    expect(cluster.acceptors()[3]).toMatchObject({ membership: 'member', records: [{ key: 'x', value: 'v' }] });
    const shrink = cluster.shrink('a1');
    await cluster.runUntilSettled();
    expect(shrink.status).toBe('done');
    expect(cluster.acceptors()[0]?.membership).toBe('not a member');
    expect(cluster.traceDiagram().text).toContain('shrink a1: step 3 (remove preparer) completed');
    expect(cluster.diagram().text).toContain('shrink a1: remove-preparer completed');
    expect(cluster.violations()).toEqual([]);
  });

  test('bad membership changes throw', () => {
    const cluster = createCluster({ acceptors: 1 });
    expect(() => cluster.grow('a1')).toThrow(expect.objectContaining(invalid));
    expect(() => cluster.grow('p1')).toThrow(expect.objectContaining(invalid));
    expect(() => cluster.grow('operator')).toThrow(expect.objectContaining(invalid));
    expect(() => cluster.grow(3 as never)).toThrow(expect.objectContaining(invalid));
    expect(() => cluster.shrink('a7')).toThrow(expect.objectContaining(invalid));
    expect(() => cluster.shrink('a1')).toThrow(expect.objectContaining({ message: expect.stringContaining('last acceptor') }));
    expect(cluster.operations()).toEqual([]);
  });

  test('gc removes a tombstone and fences the proposers; a live key is refused', async () => {
    const cluster = createCluster();
    cluster.propose('p1', 'k', set('v'));
    await cluster.runUntilIdle();
    const refused = cluster.gc('k');
    await cluster.runUntilSettled();
    expect(refused.status).toBe('failed');
    expect(refused.error).toBeInstanceOf(StepFailedError);
    cluster.propose('p2', 'k', remove);
    await cluster.runUntilIdle();
    const gc = cluster.gc('k');
    await cluster.runUntilIdle();
    expect(gc.status).toBe('done');
    for (const a of cluster.acceptors()) {
      expect(a.records).toEqual([]);
      expect(a.minimumAges).toEqual({ p1: 1, p2: 1 });
      expect(a.tombstoneFloor).not.toBe('ø');
    }
    expect(String(cluster.state())).toContain('a1 requires ages p1 ≥ 1, p2 ≥ 1');
    expect(() => cluster.gc(5 as never)).toThrow(expect.objectContaining(invalid));
  });
});

describe('looking', () => {
  test('acceptors() shows promise-only records and zero ballots as ø', () => {
    const cluster = createCluster();
    cluster.propose('p1', 'x', set('v'));
    return cluster.deliver(1).then(() => {
      expect(cluster.acceptors()[0]).toEqual({
        address: 'a1',
        up: true,
        membership: 'member',
        records: [{ key: 'x', promise: '1/p1', accepted: 'ø', value: null, preview: '∅' }],
        minimumAges: {},
        tombstoneFloor: 'ø',
      });
    });
  });

  test('state() is an aligned table with messages in flight (each with when it is due), what happens next and operations', async () => {
    const cluster = createCluster();
    cluster.propose('p1', 'x', set('v'));
    await cluster.deliver(1);
    const state = cluster.state();
    expect(state.next).toEqual({ time: 140, text: 'deliver #2 p1 → a2 prepare(x, 1/p1)' });
    expect(state.inFlight.map((m) => m.arrival)).toEqual([140, 778, 389]);
    expect(String(state)).toBe(
      [
        'time 0.140 ms',
        'acceptor  status  key  promise  accepted  value',
        'a1        up      x    1/p1     ø         ∅',
        'a2        up',
        'a3        up',
        'in flight (3):',
        '  #2 p1 → a2 prepare(x, 1/p1)  due 0.140 ms',
        '  #3 p1 → a3 prepare(x, 1/p1)  due 0.778 ms',
        '  #4 a1 → p1 promised(ø, ∅)  due 0.389 ms',
        'next: 0.140 ms deliver #2 p1 → a2 prepare(x, 1/p1)',
        'operations:',
        '  #1 p1 set "v" on x: pending',
        '',
      ].join('\n'),
    );
  });

  test('diagram options: since a mark, one key, and checked input', async () => {
    const cluster = createCluster();
    cluster.propose('p1', 'x', set('v'));
    await cluster.runUntilIdle();
    const mark = cluster.mark();
    cluster.propose('p2', 'y', set('w'));
    await cluster.runUntilIdle();
    const later = cluster.diagram({ since: mark });
    expect(later.text).not.toContain('prepare(x');
    expect(later.text).toContain('prepare(y, 1/p2)');
    expect(cluster.traceDiagram({ since: mark }).text).not.toContain('prepare(x');
    expect(cluster.diagram({ key: 'x' }).text).not.toContain('(y,');
    expect(cluster.mermaid({ key: 'y' })).toMatch(/^sequenceDiagram\n/);
    expect(cluster.svg()).toMatch(/^<svg /);
    expect(() => cluster.diagram({ since: -1 })).toThrow(expect.objectContaining(invalid));
    expect(() => cluster.diagram({ key: 1 as never })).toThrow(expect.objectContaining(invalid));
    expect(() => cluster.diagram({ minWidth: -1 })).toThrow(expect.objectContaining(invalid));
    expect(() => cluster.diagram({ legend: 'yes' as never })).toThrow(expect.objectContaining(invalid));
    expect(() => cluster.traceDiagram({ filter: 'p1' as never })).toThrow(expect.objectContaining(invalid));
    expect(() => cluster.diagram(null as never)).toThrow(expect.objectContaining(invalid));
  });

  test('events and the simulation are reachable for other tools', async () => {
    const cluster = createCluster();
    cluster.propose('p1', 'x', set('v'));
    await cluster.runUntilSettled();
    expect(cluster.events.map((e) => e.event.type)).toContain('committed');
    expect(cluster.simulation.members).toEqual(['a1', 'a2', 'a3']);
  });
});

describe('determinism', () => {
  async function run(seed: number) {
    const cluster = createCluster({ seed });
    cluster.propose('p1', 'x', append('1'));
    cluster.propose('p2', 'x', append('2'));
    cluster.propose('p2', 'y', increment);
    await cluster.runUntilIdle();
    return { text: cluster.diagram().text, svg: cluster.svg(), state: cluster.state().text, story: cluster.explanations().map(String) };
  }

  test('the same seed gives the same diagram, SVG and table, byte for byte', async () => {
    expect(await run(11)).toEqual(await run(11));
  });

  test('negative control: another seed gives another run', async () => {
    expect((await run(11)).text).not.toBe((await run(12)).text);
  });
});

describe('closing', () => {
  test('close() makes every later call throw UnavailableError; it is idempotent', async () => {
    const cluster = createCluster();
    const op = cluster.propose('p1', 'x', set('v'));
    cluster.close();
    cluster.close();
    expect(op.status).toBe('pending');
    expect(() => cluster.propose('p1', 'x', read)).toThrow(UnavailableError);
    expect(() => cluster.messages()).toThrow(UnavailableError);
    expect(() => cluster.state()).toThrow(UnavailableError);
    await expect(cluster.step()).rejects.toBeInstanceOf(UnavailableError);
    await expect(cluster.runUntilSettled()).rejects.toBeInstanceOf(UnavailableError);
    expect(String(cluster)).toBe('TeachingCluster (closed)');
  });

  test('await using closes at the end of the scope', async () => {
    let outer: ReturnType<typeof createCluster> | undefined;
    {
      await using cluster = createCluster();
      outer = cluster;
      cluster.propose('p1', 'x', set('v'));
    }
    expect(() => outer?.messages()).toThrow(UnavailableError);
  });
});
