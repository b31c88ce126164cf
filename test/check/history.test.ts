import { describe, expect, test } from 'vitest';
import { HistoryRecorder, annotationsToJSON, historyFromJSON, historyToJSON } from '../../src/check/history.js';

function recorder() {
  let now = 0;
  const rec = new HistoryRecorder(() => now);
  return { rec, tick: (t: number) => void (now = t) };
}

describe('HistoryRecorder', () => {
  test('records invoke and return times, outcomes, inputs and outputs', () => {
    const { rec, tick } = recorder();
    const w = rec.invoke({ clientId: 1, key: 'k', op: 'write', arg: 'a' });
    const c = rec.invoke({ clientId: 2, key: 'k', op: 'cas', expected: 'a', arg: 'b' });
    tick(5);
    w.complete();
    tick(7);
    c.complete({ ok: false });
    const r = rec.invoke({ clientId: 1, key: 'k', op: 'read' });
    r.unknown();
    const f = rec.invoke({ clientId: 3, key: 'k', op: 'write', arg: null });
    tick(9);
    f.fail();
    expect(rec.history().operations).toEqual([
      { id: 0, clientId: 1, key: 'k', op: 'write', arg: 'a', call: 0, return: 5, ok: true },
      { id: 1, clientId: 2, key: 'k', op: 'cas', arg: 'b', expected: 'a', call: 1, return: 7, ok: false },
      { id: 2, clientId: 1, key: 'k', op: 'read', call: 8, return: null, unknown: true },
      { id: 3, clientId: 3, key: 'k', op: 'write', arg: null, call: 9, return: 10, fail: true },
    ]);
  });

  test('timestamps strictly increase, so an operation invoked as another returns comes after it', () => {
    const { rec } = recorder();
    const a = rec.invoke({ clientId: 1, key: 'k', op: 'write', arg: 'a' });
    a.complete();
    const b = rec.invoke({ clientId: 1, key: 'k', op: 'read' });
    b.complete({ output: 'a' });
    const [first, second] = rec.history().operations;
    expect(first?.return).toBeLessThan(second?.call ?? -1);
  });

  test('refuses a read without output, a cas without ok, and a second outcome', () => {
    const { rec } = recorder();
    const read = rec.invoke({ clientId: 1, key: 'k', op: 'read' });
    expect(() => read.complete()).toThrow(TypeError);
    const cas = rec.invoke({ clientId: 1, key: 'k', op: 'cas', expected: null, arg: 'x' });
    expect(() => cas.complete()).toThrow(TypeError);
    const write = rec.invoke({ clientId: 1, key: 'k', op: 'write', arg: 'x' });
    write.complete();
    expect(() => write.fail()).toThrow();
  });

  test('operations still pending are exported as unknown', () => {
    const { rec } = recorder();
    rec.invoke({ clientId: 1, key: 'k', op: 'write', arg: 'x' });
    expect(rec.history().operations[0]).toMatchObject({ return: null, unknown: true });
  });
});

describe('JSON', () => {
  test('export is one operation array (one per line) plus a separate annotations array, and round-trips', () => {
    const { rec, tick } = recorder();
    rec.annotate('partition', 'p1 | a1');
    const w = rec.invoke({ clientId: 1, key: 'k', op: 'write', arg: 'a' });
    tick(3);
    w.complete();
    const history = rec.history();
    const ops = historyToJSON(history);
    expect(ops.split('\n').filter((l) => l.startsWith('  {'))).toHaveLength(1);
    expect(JSON.parse(ops)).toEqual(history.operations);
    expect(historyFromJSON(ops, annotationsToJSON(history))).toEqual(history);
    expect(historyFromJSON(JSON.stringify({ operations: history.operations, annotations: history.annotations }))).toEqual(history);
  });

  test.each([
    ['not an array', '{"operations": 3}'],
    ['a bad op kind', '[{"id":0,"clientId":1,"key":"k","op":"swap","call":0,"return":1}]'],
    ['a return before the call', '[{"id":0,"clientId":1,"key":"k","op":"read","call":5,"return":1,"output":null}]'],
    ['unknown with a return time', '[{"id":0,"clientId":1,"key":"k","op":"write","arg":"a","call":0,"return":3,"unknown":true}]'],
    ['fail that is not true', '[{"id":0,"clientId":1,"key":"k","op":"write","arg":"a","call":0,"return":3,"fail":"yes"}]'],
    ['duplicate ids', '[{"id":0,"clientId":1,"key":"k","op":"read","call":0,"return":1,"output":null},{"id":0,"clientId":1,"key":"k","op":"read","call":2,"return":3,"output":null}]'],
    ['a numeric value', '[{"id":0,"clientId":1,"key":"k","op":"write","arg":5,"call":0,"return":1}]'],
  ])('rejects %s with a TypeError', (_, text) => {
    expect(() => historyFromJSON(text)).toThrow(TypeError);
  });
});
