/**
 * Teaching that explains: every event of a teaching cluster comes with why it went as it did (the
 * rule the receiver applied and its comparison, the proposer's tally), the diagram is drawn from
 * what was delivered, and what happens next is known before it happens.
 */
import { describe, expect, test } from 'vitest';
import { type Explanation, type TeachingCluster, append, createCluster, read, set } from '../../src/teach/index.js';

const why = (explanations: readonly Explanation[], summary: string): readonly string[] => explanations.find((e) => e.summary.includes(summary))?.why ?? [];

/** Lesson 2's race, up to p1's refused accepts. */
async function race(): Promise<TeachingCluster> {
  const cluster = createCluster({ seed: 3 });
  cluster.propose('p1', 'x', append('+p1'));
  cluster.propose('p2', 'x', append('+p2'));
  await cluster.deliver({ from: 'p1', method: 'prepare' });
  await cluster.deliver({ to: 'p1' });
  await cluster.deliver({ from: 'p2', method: 'prepare' });
  await cluster.deliver({ from: 'p1', method: 'accept' });
  await cluster.deliver({ to: 'p1' });
  return cluster;
}

describe('explanations', () => {
  test('an acceptor says which rule refused a request, with the comparison', async () => {
    const cluster = await race();
    const story = cluster.explanations();
    expect(why(story, 'deliver #11 p1 → a2 accept')).toEqual(['a2: accept 1/p1 refused: promised 1/p2 > 1/p1']);
    expect(why(story, 'deliver #5 p2 → a2 prepare')).toEqual(['a2: prepare 1/p2 promised: 1/p2 > promise 1/p1; reports nothing accepted']);
    // The proposer's side: each refusal counted, until a quorum is out of reach.
    expect(why(story, 'deliver #16 a1 → p1')).toEqual(['p1: a1 refused 1/p1 (it promised 1/p2): 1 refused so far; 2 acceptances are still possible']);
    expect(why(story, 'deliver #17 a2 → p1')[0]).toBe(
      'p1: a2 refused 1/p1 (it promised 1/p2): 2 of 3 refused (a1, a2), 2 acceptances are out of reach; the accept round at 1/p1 is lost; the highest ballot it was shown is 1/p2',
    );
    // A reply after the decision is late; the retry follows it (the proposer waited for every accepter).
    expect(why(story, 'deliver #18 a3 → p1')).toEqual([
      'p1: a3 refused 1/p1 (it promised 1/p2); late: the accept round at 1/p1 was already decided, so it changes nothing',
      'p1 retries: attempt 1 (1/p1) lost; the next starts at once, under a new ballot',
      'p1 sends prepare 2/p1 to a1, a2, a3; it needs 2 promises',
    ]);
  });

  test('a quorum of promises names who formed it and which value it adopts, from which acceptor, under which ballot', async () => {
    // a1 holds "v" at 1/p2 (p2's accept reached only a1); p1 then prepares and hears from a1 and a2.
    // p1 wrote y first, so its next ballot, 2/p1, beats 1/p2 (a proposer has one counter).
    const cluster = createCluster({ seed: 1 });
    cluster.propose('p1', 'y', set('warm'));
    await cluster.runUntilIdle();
    cluster.propose('p2', 'x', set('v'));
    await cluster.deliver({ method: 'prepare' });
    await cluster.deliver({ to: 'p2' });
    await cluster.deliver({ method: 'accept', to: 'a1' });
    await cluster.drop({ method: 'accept' });
    cluster.crash('p2');
    cluster.propose('p1', 'x', read);
    const mark = cluster.mark();
    await cluster.deliver({ from: 'p1', to: 'a2' });
    await cluster.deliver({ from: 'p1', to: 'a1' });
    await cluster.deliver({ from: 'a2', to: 'p1' });
    const [last] = await cluster.deliver({ from: 'a1', to: 'p1' });
    expect(last?.split('\n').slice(1).map((l) => l.trim())).toEqual([
      'p1 on x: promise from a1 (it accepted 1/p2 "v"): 2 of 3 promises (a2, a1), quorum reached; adopts "v" from a1 (highest accepted ballot 1/p2)',
      'p1 sends accept 2/p1 "v" on x to a1, a2, a3; it needs 2 acceptances',
    ]);
    // The diagram marks the two promises that formed the quorum.
    const quorum = cluster
      .diagram({ since: mark })
      .model.rows.filter((r) => r.kind === 'arrival' && r.role === 'quorum')
      .map((r) => (r.kind === 'arrival' ? r.label : ''));
    expect(quorum).toEqual([expect.stringMatching(/^#\d+ a2 → p1 promised\(ø, ∅\)$/), expect.stringMatching(/^#\d+ a1 → p1 promised\(1\/p2, "v"\)$/)]);
  });

  test('every event is explained, whatever happens: loss, duplicates, crashes, partitions, timeouts', async () => {
    const lossy = { dropRate: 0.15, duplicateRate: 0.15, minDelayMs: 0.1, maxDelayMs: 3 };
    for (const seed of [1, 2, 3, 4, 5]) {
      const cluster = createCluster({ seed, network: { request: lossy, reply: lossy }, retry: { attempts: 4 } });
      cluster.propose('p1', 'x', append('a'));
      cluster.propose('p2', 'x', append('b'));
      cluster.propose('p2', 'y', set('c'));
      await cluster.runUntil(() => cluster.now > 1500);
      cluster.crash('a2');
      cluster.partition('p1', 'a3');
      await cluster.runUntilSettled();
      cluster.heal();
      await cluster.restart('a2');
      cluster.propose('p1', 'x', read);
      await cluster.runUntilIdle();
      const story = cluster.explanations();
      expect(story.length, `seed ${seed}`).toBeGreaterThan(20);
      for (const e of story) {
        expect(e.summary, `seed ${seed} event ${e.seq}`).not.toBe('');
        // A delivery always says what its receiver did with it, or that it was lost on the way.
        if (e.kind === 'deliver' || e.kind === 'timeout' || e.kind === 'start') expect(e.why.length, `seed ${seed}: ${e.summary}`).toBeGreaterThan(0);
      }
      // The network's own losses are in the story too, at the event that sent the message.
      const lost = [...story.flatMap((e) => e.why)].filter((l) => l.startsWith('the network loses #'));
      expect(lost.length, `seed ${seed}`).toBeGreaterThan(0);
      expect(cluster.check().ok, `seed ${seed}`).toBe(true);
    }
  }, 30_000);

  test('marks cut the story; bad options throw', async () => {
    const cluster = createCluster();
    cluster.propose('p1', 'x', set('v'));
    await cluster.runUntilIdle();
    const mark = cluster.mark();
    cluster.propose('p2', 'x', read);
    await cluster.runUntilIdle();
    const later = cluster.explanations({ since: mark });
    expect(later[0]?.seq).toBe(mark);
    expect(later[0]?.summary).toBe('p2 read on x');
    expect(later.every((e) => e.message === undefined || e.message.key === 'x')).toBe(true);
    expect(() => cluster.explanations({ since: -1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => cluster.explanations(null as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});

describe('what happens next', () => {
  test('next() names the event step() runs, and when; messages show when they arrive', async () => {
    const cluster = createCluster({ seed: 2 });
    cluster.propose('p1', 'x', set('v'));
    for (let i = 0; i < 30; i++) {
      const next = cluster.next();
      if (next === undefined) break;
      const arrivals = cluster.messages().map((m) => m.arrival as number);
      if (next.kind === 'deliver') expect(next.time).toBe(Math.min(...arrivals));
      const said = (await cluster.step()) as string;
      expect(said.split('\n')[0]).toBe(String(next));
      expect(cluster.now).toBe(next.time);
    }
    expect(cluster.next()).toBeUndefined();
    expect(cluster.upcoming()).toEqual([]);
  });

  test('delivered by hand, a message arrives when the next event was due: the clock moves on, never past an event', async () => {
    const cluster = createCluster({ seed: 4 });
    cluster.propose('p1', 'x', set('v'));
    cluster.propose('p2', 'y', set('w'));
    let before = cluster.now;
    for (let i = 0; i < 20 && cluster.messages().length > 0; i++) {
      const [last] = cluster.messages().slice(-1);
      const due = cluster.next()?.time as number;
      await cluster.deliver((last as { id: number }).id);
      expect(cluster.now).toBe(Math.max(before, due));
      expect(cluster.now).toBeGreaterThanOrEqual(before);
      for (const u of cluster.upcoming()) expect(u.time).toBeGreaterThanOrEqual(cluster.now);
      before = cluster.now;
    }
    expect(cluster.now).toBeGreaterThan(0);
  });

  test('upcoming() says when a delivery will be lost: a partition, a receiver down', async () => {
    const cluster = createCluster({ seed: 1 });
    cluster.propose('p1', 'x', set('v'));
    cluster.partition('p1', 'a1');
    cluster.crash('a2');
    const texts = cluster.upcoming(3).map((u) => u.text);
    expect(texts).toContain('blocked by a partition, it will be lost: #1 p1 → a1 prepare(x, 1/p1)');
    expect(texts).toContain('a2 is down, it will be lost: #2 p1 → a2 prepare(x, 1/p1)');
    expect(() => cluster.upcoming(-1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});

describe('the delivery diagram', () => {
  test('a dropped message ends in a cross, a held-back one is marked, one in flight is drawn as such, with when it is due', async () => {
    const cluster = createCluster({ seed: 3 });
    cluster.propose('p1', 'x', set('v'));
    await cluster.drop({ to: 'a3' });
    cluster.delay({ to: 'a2' }, 2);
    await cluster.deliver({ to: 'a1' });
    const { model, text, mermaid, svg } = cluster.diagram();
    const arrivals = model.rows.filter((r) => r.kind === 'arrival');
    expect(arrivals.map((r) => (r.kind === 'arrival' ? [r.id, r.fate, r.order] : []))).toEqual([
      [3, 'dropped', undefined],
      [1, 'delivered', 1],
    ]);
    // Nothing drawn as delivered that was not: #2 (held back) and a1's reply are still in flight.
    expect(model.inFlight.map((m) => [m.id, m.delayed])).toEqual([
      [2, true],
      [4, false],
    ]);
    expect(model.inFlight[0]?.due).toBe('2.000');
    expect(text).toContain('#3 p1 → a3 prepare(x, 1/p1)  [dropped]');
    expect(text).toMatch(/\|-+x +\|/); // the cross half way
    expect(text).toContain('#2 p1 → a2 prepare(x, 1/p1)  [in flight, held back, due 2.000]');
    expect(mermaid).toContain('P1-xA3: ');
    expect(svg).toContain('stroke-dasharray="8 3 2 3"'); // the held-back message
    // Each row's sends are listed, and every arrival's send row is the row of the event that sent it.
    for (const r of arrivals) if (r.kind === 'arrival' && r.sentRow !== undefined) expect(model.sends[r.sentRow]).toContain(r.id);
  });

  test('requests carry the order their acceptor processed them in; a won round marks exactly a quorum of replies', async () => {
    const cluster = createCluster({ seed: 8 });
    cluster.propose('p1', 'x', set('a'));
    cluster.propose('p2', 'x', set('b'));
    await cluster.runUntilIdle();
    const rows = cluster.diagram().model.rows.filter((r) => r.kind === 'arrival');
    for (const acceptor of ['a1', 'a2', 'a3']) {
      const orders = rows.flatMap((r) => (r.kind === 'arrival' && r.style === 'request' && r.label.includes(`→ ${acceptor} `) ? [r.order] : []));
      expect(orders).toEqual(orders.map((_, i) => i + 1));
    }
    const quorum = rows.filter((r) => r.kind === 'arrival' && r.role === 'quorum');
    const won = cluster.explanations().flatMap((e) => e.why).filter((l) => l.includes('quorum reached')).length;
    expect(quorum.length).toBe(2 * won);
  });

  test('a long run grows downwards at a fixed row height, never shrinking; the SVG can fill a wide box', async () => {
    const cluster = createCluster({ seed: 9 });
    for (let i = 0; i < 16; i++) cluster.propose(i % 2 === 0 ? 'p1' : 'p2', 'x', append(String(i)));
    await cluster.runUntilIdle();
    const diagram = cluster.diagram();
    const height = Number(/height="(\d+)"/.exec(diagram.svg)?.[1]);
    expect(diagram.length).toBeGreaterThan(100);
    expect(height).toBeGreaterThan(diagram.length * 22);
    expect(diagram.svg).toContain('font-size="12"');
    const narrow = Number(/width="(\d+)"/.exec(diagram.svg)?.[1]);
    const wide = Number(/width="(\d+)"/.exec(diagram.svgWith({ minWidth: narrow + 300 }))?.[1]);
    expect(wide).toBeGreaterThanOrEqual(narrow + 300);
    expect(diagram.svg).toContain('ø no ballot · ∅ empty value · 3/p1 ballot');
  });
});
