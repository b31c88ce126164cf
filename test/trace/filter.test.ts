import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '../../src/index.js';
import {
  type RecordedEvent,
  allOf,
  anyOf,
  byAcceptor,
  byKey,
  byProposer,
  byType,
  filterTrace,
  inWindow,
  not,
  renderAscii,
  renderMermaid,
  renderNdjson,
} from '../../src/trace/index.js';
import { conflict, garbageCollection } from './scenarios.js';

const keyOf = (r: RecordedEvent): string | undefined => ('key' in r.event ? r.event.key : undefined);
const proposerOf = (r: RecordedEvent): string | undefined => ('proposer' in r.event ? r.event.proposer : undefined);

/** A trace over two keys, to filter. */
function twoKeys(): RecordedEvent[] {
  const ballot = { counter: 1, id: 'p1' };
  const events = [
    { type: 'prepare-sent', proposer: 'p1', acceptor: 'a1', key: 'x', ballot, age: { counter: 0, id: 'p1' } },
    { type: 'prepare-sent', proposer: 'p2', acceptor: 'a1', key: 'y', ballot: { counter: 1, id: 'p2' }, age: { counter: 0, id: 'p2' } },
    { type: 'membership-step', operation: 'grow', target: 'a4', step: 'add-accepter', outcome: 'started' },
    { type: 'committed', proposer: 'p1', key: 'x', ballot, state: null },
    { type: 'gc-step', key: 'y', step: 'remove', outcome: 'completed' },
  ] as const;
  return events.map((event, seq) => ({ seq, time: seq * 10, event }));
}

describe('filters', () => {
  test('byKey keeps events of the given keys; events without a key never match', () => {
    expect(filterTrace(twoKeys(), byKey('x')).map((r) => r.seq)).toEqual([0, 3]);
    expect(filterTrace(twoKeys(), byKey('x', 'y')).map((r) => r.seq)).toEqual([0, 1, 3, 4]);
  });

  test('byProposer keeps a proposer’s messages, replies and notes; operator steps never match', () => {
    expect(filterTrace(twoKeys(), byProposer('p1')).map((r) => r.seq)).toEqual([0, 3]);
  });

  test('byAcceptor and byType', () => {
    expect(filterTrace(twoKeys(), byAcceptor('a1')).map((r) => r.seq)).toEqual([0, 1]);
    expect(filterTrace(twoKeys(), byType('gc-step', 'membership-step')).map((r) => r.seq)).toEqual([2, 4]);
  });

  test('inWindow is inclusive at both ends; either end may be open', () => {
    expect(filterTrace(twoKeys(), inWindow({ from: 10, to: 30 })).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(filterTrace(twoKeys(), inWindow({ from: 25 })).map((r) => r.seq)).toEqual([3, 4]);
    expect(filterTrace(twoKeys(), inWindow({ to: 0 })).map((r) => r.seq)).toEqual([0]);
  });

  test('compose: several predicates all apply, anyOf and not combine', () => {
    expect(filterTrace(twoKeys(), byKey('x'), inWindow({ from: 1 })).map((r) => r.seq)).toEqual([3]);
    expect(filterTrace(twoKeys(), anyOf(byKey('x'), byType('membership-step'))).map((r) => r.seq)).toEqual([0, 2, 3]);
    expect(filterTrace(twoKeys(), not(byKey('x'))).map((r) => r.seq)).toEqual([1, 2, 4]);
    expect(filterTrace(twoKeys(), allOf()).length).toBe(5);
    expect(filterTrace(twoKeys(), anyOf()).length).toBe(0);
  });

  test('bad arguments are InvalidArgumentErrors', () => {
    expect(() => byKey()).toThrow(InvalidArgumentError);
    expect(() => byKey(1 as unknown as string)).toThrow(InvalidArgumentError);
    expect(() => inWindow({ from: 5, to: 1 })).toThrow(InvalidArgumentError);
    expect(() => inWindow({ from: Number.NaN })).toThrow(InvalidArgumentError);
    expect(() => allOf('x' as unknown as () => boolean)).toThrow(InvalidArgumentError);
    expect(() => renderAscii(twoKeys(), { filter: 3 as unknown as () => boolean })).toThrow(InvalidArgumentError);
  });

  test('on a real run: filtering by proposer keeps only that proposer’s lifeline and its acceptors', async () => {
    const events = await conflict();
    const p2 = filterTrace(events, byProposer('p2'));
    expect(p2.length).toBeGreaterThan(0);
    expect(p2.every((r) => proposerOf(r) === 'p2')).toBe(true);
    const mermaid = renderMermaid(events, { filter: byProposer('p2') });
    expect(mermaid).toContain('participant P1 as p2');
    expect(mermaid).not.toContain('as p1');
  });

  test('renderers apply their filter option before laying out, exactly like filterTrace', async () => {
    const events = await garbageCollection();
    const filter = allOf(byKey('k'), inWindow({ from: 26, to: 47 }));
    const filtered = filterTrace(events, filter);
    expect(filtered.every((r) => keyOf(r) === 'k' && r.time >= 26 && r.time <= 47)).toBe(true);
    for (const [render, name] of [
      [renderAscii, 'ascii'],
      [renderMermaid, 'mermaid'],
      [renderNdjson, 'ndjson'],
    ] as const) {
      expect(render(events, { filter }), name).toBe(render(filtered));
    }
    // The window starts at the collection: the first proposal (p1's) is not drawn.
    expect(renderAscii(events, { filter })).not.toContain('1/p1');
  });

  test('lateReplies: false drops replies that came after the round was decided', async () => {
    const events = await conflict();
    expect(renderAscii(events)).toContain('(late)');
    expect(renderAscii(events, { lateReplies: false })).not.toContain('(late)');
  });
});
