/**
 * The guided tours (the six lessons) and the counterexamples, run from the sources: every
 * checkpoint of every lesson holds; each counterexample, run with its rule broken, is caught by the
 * library's checkers, and run intact passes them (the negative control that shows the checkers are
 * not just failing everything, and the scenario that shows they can fail).
 */
import { describe, expect, test } from 'vitest';
import { counterexamples, createCluster, lessons, printTour, readWithoutWriteBack, set } from '../../src/teach/index.js';

describe('the lessons as tours', () => {
  test('six lessons, numbered 1 to 6, each with steps that have a text', () => {
    expect(lessons.map((t) => t.lesson)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const tour of lessons) {
      const run = tour.start();
      expect(run.steps.length, tour.id).toBeGreaterThan(2);
      for (const step of run.steps) expect(step.text.length, `${tour.id}: ${step.title}`).toBeGreaterThan(20);
    }
  });

  test.each(lessons.map((t) => [t.id, t] as const))('%s: every checkpoint holds, step by step', async (_, tour) => {
    const run = tour.start();
    let checked = 0;
    for (const step of run.steps) {
      const shown = await step.run();
      expect(Array.isArray(shown)).toBe(true);
      if (step.checkpoint !== undefined) {
        expect(step.checkpoint.holds(), `${tour.id}: ${step.checkpoint.claim}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(2);
    expect(run.cluster.check().ok).toBe(true);
    expect(run.cluster.violations()).toEqual([]);
  });

  test('a tour starts afresh each time: the same seed, the same story', async () => {
    const print = async (): Promise<string> => {
      const out: string[] = [];
      expect(await printTour(lessons[1] as (typeof lessons)[number], (text) => out.push(text))).toBe(true);
      return out.join('\n');
    };
    expect(await print()).toBe(await print());
  });
});

describe('counterexamples', () => {
  test('at least three rules, each with a scenario', () => {
    expect(counterexamples.map((c) => c.rule.id)).toEqual(['read-without-write-back', 'grow-without-identity-pass', 'forgetful-acceptors']);
    for (const c of counterexamples) {
      expect(c.rule.rule).toMatch(/paper §/);
      expect(c.rule.consequence.length).toBeGreaterThan(40);
    }
  });

  test.each(counterexamples.map((c) => [c.rule.id, c] as const))('%s: broken, the checkers find the violation; intact, nothing', async (_, c) => {
    for (const broken of [true, false]) {
      const run = c.start({ broken });
      let shown: readonly string[] = [];
      const held: boolean[] = [];
      for (const step of run.steps) {
        shown = await step.run();
        if (step.checkpoint !== undefined) held.push(step.checkpoint.holds());
      }
      const report = run.cluster.check();
      if (broken) {
        expect(report.ok, 'broken').toBe(false);
        expect(shown.join('\n')).toMatch(/VIOLATED|violation/);
        // A claim of the lesson stops holding, and the final checkpoint (the checkers found it) holds.
        expect(held.slice(0, -1)).toContain(false);
        expect(held.at(-1)).toBe(true);
      } else {
        expect(report.ok, String(report)).toBe(true);
        expect(held.every(Boolean)).toBe(true);
      }
    }
  });

  test('a broken read returns what its prepare quorum showed, and sends no accept', async () => {
    const cluster = createCluster({ seed: 1, breaks: [readWithoutWriteBack] });
    cluster.propose('p1', 'x', set('v'));
    await cluster.runUntilIdle();
    const mark = cluster.mark();
    const op = cluster.read('p2', 'x');
    await cluster.runUntilIdle();
    expect([op.status, op.value, op.ballot]).toEqual(['done', 'v', '2/p2']);
    const sent = cluster.explanations({ since: mark }).flatMap((e) => e.why);
    expect(sent.some((l) => l.includes('sends accept'))).toBe(false);
    expect(sent.some((l) => l.includes('returns "v" without writing it back'))).toBe(true);
  });

  test('breaks are checked', () => {
    expect(() => createCluster({ breaks: 'all' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => createCluster({ breaks: [{}] as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});
