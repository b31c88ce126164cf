import { describe, expect, test } from 'vitest';
import { InvalidArgumentError, MemoryAcceptor, MemoryProposer, type TraceEvent } from '../../src/index.js';
import { TraceRecorder, teeTracers } from '../../src/trace/index.js';
import { enc } from '../support/text.js';

const event = (key: string): TraceEvent => ({ type: 'skip-prepare', proposer: 'p1', key, ballot: { counter: 1, id: 'p1' } });

describe('TraceRecorder', () => {
  test('stamps events with a logical counter by default', () => {
    const recorder = new TraceRecorder();
    recorder.tracer(event('a'));
    recorder.tracer(event('b'));
    expect(recorder.events.map(({ seq, time }) => [seq, time])).toEqual([
      [0, 0],
      [1, 1],
    ]);
  });

  test('stamps events with an injected clock', () => {
    let now = 100;
    const recorder = new TraceRecorder({ clock: () => (now += 5) });
    recorder.tracer(event('a'));
    recorder.tracer(event('b'));
    expect(recorder.events.map((r) => r.time)).toEqual([105, 110]);
  });

  test('keeps at most `limit` events, dropping the oldest and counting them', () => {
    const recorder = new TraceRecorder({ limit: 3 });
    for (let i = 0; i < 10; i++) recorder.tracer(event(`k${i}`));
    expect(recorder.events.map((r) => (r.event as { key: string }).key)).toEqual(['k7', 'k8', 'k9']);
    expect(recorder.events.map((r) => r.seq)).toEqual([7, 8, 9]);
    expect(recorder.dropped).toBe(7);
    expect(recorder.recorded).toBe(10);
  });

  test('clear forgets kept events without counting them as dropped; seq keeps counting', () => {
    const recorder = new TraceRecorder();
    recorder.tracer(event('a'));
    recorder.clear();
    recorder.tracer(event('b'));
    expect(recorder.events.map((r) => r.seq)).toEqual([1]);
    expect(recorder.dropped).toBe(0);
  });

  test('events is a snapshot', () => {
    const recorder = new TraceRecorder();
    const before = recorder.events;
    recorder.tracer(event('a'));
    expect(before).toHaveLength(0);
  });

  test('copies states, so a caller changing its result cannot rewrite the trace', async () => {
    const recorder = new TraceRecorder();
    const p1 = new MemoryProposer('p1', [new MemoryAcceptor('a1')], { tracer: recorder.tracer, oneRoundTrip: false });
    const result = await p1.propose('k', () => enc('abc'));
    (result.state as Uint8Array)[0] = 0x7a; // 'z'
    const committed = recorder.events.find((r) => r.event.type === 'committed')?.event;
    expect(committed?.type === 'committed' && Array.from(committed.state ?? [])).toEqual([0x61, 0x62, 0x63]);
  });

  test('rejects a bad clock or limit', () => {
    expect(() => new TraceRecorder({ clock: 5 as unknown as () => number })).toThrow(InvalidArgumentError);
    expect(() => new TraceRecorder({ limit: 0 })).toThrow(InvalidArgumentError);
    expect(() => new TraceRecorder({ limit: 1.5 })).toThrow(InvalidArgumentError);
  });
});

describe('teeTracers', () => {
  test('hands each event to every tracer in order, skipping undefined', () => {
    const seen: string[] = [];
    const tee = teeTracers((e) => seen.push(`a:${e.type}`), undefined, (e) => seen.push(`b:${e.type}`));
    tee(event('k'));
    expect(seen).toEqual(['a:skip-prepare', 'b:skip-prepare']);
  });

  test('rejects a tracer that is not a function', () => {
    expect(() => teeTracers(1 as unknown as () => void)).toThrow(InvalidArgumentError);
  });
});
