/**
 * Golden files: each renderer's output for traces of real MemoryProposer/MemoryAcceptor runs
 * (see ./scenarios.ts), compared byte for byte with test/trace/golden/<scenario>.<ext>.
 * Rewrite them after an intended change with `UPDATE_GOLDEN=1 npx vitest run test/trace`.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { type RecordedEvent, renderAscii, renderMermaid, renderNdjson, renderSvg } from '../../src/trace/index.js';
import { basicRound, conflict, garbageCollection, membership, skipPrepare } from './scenarios.js';
import { checkWellFormedXml } from './xml-check.js';
import { expectGolden } from '../support/golden.js';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), 'golden');

const scenarios: Record<string, () => Promise<RecordedEvent[]>> = {
  'basic-round': basicRound,
  conflict,
  'skip-prepare': skipPrepare,
  'garbage-collection': garbageCollection,
  membership,
};

const renderers: Record<string, (events: RecordedEvent[]) => string> = {
  txt: (events) => renderAscii(events),
  mmd: (events) => renderMermaid(events),
  svg: (events) => renderSvg(events, { title: 'CASPaxos trace' }),
  ndjson: (events) => renderNdjson(events),
};

function golden(name: string, actual: string): void {
  expectGolden(GOLDEN, name, actual);
}

describe.each(Object.entries(scenarios))('golden: %s', (scenario, run) => {
  test.each(Object.keys(renderers))('.%s', async (ext) => {
    const events = await run();
    const output = (renderers[ext] as (e: RecordedEvent[]) => string)(events);
    golden(`${scenario}.${ext}`, output);
    // Deterministic: a second run renders the same bytes.
    expect((renderers[ext] as (e: RecordedEvent[]) => string)(await run())).toBe(output);
    if (ext === 'svg') expect(checkWellFormedXml(output)).toEqual({ ok: true });
  });
});

describe('the scenarios show what they are named after', () => {
  test('basic round: one prepare and one accept per acceptor, a late reply, a commit', async () => {
    const types = (await basicRound()).map((r) => r.event.type);
    expect(types.filter((t) => t === 'prepare-sent')).toHaveLength(3);
    expect(types.filter((t) => t === 'accept-sent')).toHaveLength(3);
    expect(types.at(-1)).toBe('committed');
    expect(renderAscii(await basicRound())).toContain('(late)');
  });

  test('conflict: p1 meets conflicts, retries, and both proposals commit', async () => {
    const events = await conflict();
    expect(events.some((r) => r.event.type === 'accept-conflict' && r.event.proposer === 'p1')).toBe(true);
    expect(events.some((r) => r.event.type === 'retry')).toBe(true);
    expect(events.filter((r) => r.event.type === 'committed')).toHaveLength(2);
  });

  test('skip prepare: the second proposal sends no prepare', async () => {
    const events = await skipPrepare();
    const skip = events.findIndex((r) => r.event.type === 'skip-prepare');
    expect(skip).toBeGreaterThan(0);
    expect(events.slice(skip).some((r) => r.event.type === 'prepare-sent')).toBe(false);
    expect(renderMermaid(events)).toContain('Note over P1: skip prepare: k under 2/p1');
  });

  test('garbage collection: steps a-d start and complete, and a proposer fast-forwards', async () => {
    const events = await garbageCollection();
    const steps = events.flatMap((r) => (r.event.type === 'gc-step' ? [`${r.event.step}:${r.event.outcome}`] : []));
    expect(steps).toEqual([
      'identity-read:started',
      'identity-read:completed',
      'fast-forward:started',
      'fast-forward:completed',
      'reject-by-age:started',
      'reject-by-age:completed',
      'remove:started',
      'remove:completed',
    ]);
    expect(events.some((r) => r.event.type === 'fast-forwarded')).toBe(true);
  });
});
