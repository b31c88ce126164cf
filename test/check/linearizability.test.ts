/**
 * The WGL checker on hand-made histories: illegal ones must fail with a counterexample a person can
 * act on, legal ones must pass; partitioning by key, budgets, and long histories.
 */
import { describe, expect, test } from 'vitest';
import type { Operation } from '../../src/check/history.js';
import { type LinearizabilityResult, checkLinearizability } from '../../src/check/linearizability.js';
import { casRegisterModel, counterModel, deleteAwareRegisterModel, type Model, registerModel } from '../../src/check/models.js';
import { describeOperation } from '../../src/check/operation-text.js';
import { renderCounterexample } from '../../src/check/wgl-report.js';
import { HistoryBuilder } from './histories.js';

/** The one violation of a failing result. */
function violationOf(result: LinearizabilityResult) {
  expect(result.ok).toBe(false);
  expect(result.violations).toHaveLength(1);
  const [violation] = result.violations;
  if (violation === undefined) throw new Error('no violation');
  expect(violation.kind).toBe('not-linearizable');
  expect(result.report).toContain(violation.message);
  return violation;
}

function expectPass(ops: readonly Operation[], model: Model<never> | Model<unknown> = casRegisterModel as Model<unknown>): LinearizabilityResult {
  const result = checkLinearizability(ops, model as Model<unknown>);
  if (result.ok !== true) throw new Error(`expected a pass:\n${result.report}`);
  expect(result.violations).toEqual([]);
  return result;
}

describe('illegal histories fail with a counterexample', () => {
  test('stale read: a read returns a value overwritten before it was invoked', () => {
    const b = new HistoryBuilder();
    const wa = b.op(1, 'write', 0, 1, { arg: 'a' });
    const wb = b.op(2, 'write', 2, 3, { arg: 'b' });
    const r = b.op(1, 'read', 4, 5, { output: 'a' });
    const v = violationOf(checkLinearizability(b.operations, casRegisterModel));
    expect(v.key).toBe('x');
    expect(v.operations).toEqual([r.id, wb.id]);
    const cx = checkLinearizability(b.operations, casRegisterModel).perKey.get('x')?.counterexample;
    expect(cx?.prefix.map((s) => [s.op.id, s.state])).toEqual([
      [wa.id, '"a"'],
      [wb.id, '"b"'],
    ]);
    expect(cx?.stuck.map((s) => s.op.id)).toEqual([r.id]);
    expect(v.message).toBe(
      [
        'key "x" is not linearizable (cas-register model): after its longest linearizable prefix (2 of 3 operations, ending in state "b"), no remaining operation can take effect next.',
        '  linearizable prefix (state after each operation):',
        '       initial state null',
        '    1. #0 client 1 [0, 1] write "a"  ⇒ "a"',
        '    2. #1 client 2 [2, 3] write "b"  ⇒ "b"',
        '  cannot take effect next (state "b"):',
        '    #2 client 1 [4, 5] read → "a": impossible in state "b"; it returned at 5, so it must take effect before anything invoked later',
      ].join('\n'),
    );
  });

  test('lost update: two sequential increments, then a read sees one', () => {
    const b = new HistoryBuilder();
    b.op(1, 'add', 0, 1, { arg: '1' });
    b.op(2, 'add', 2, 3, { arg: '1' });
    const r = b.op(1, 'read', 4, 5, { output: '1' });
    const v = violationOf(checkLinearizability(b.operations, counterModel));
    expect(v.operations[0]).toBe(r.id);
    expect(v.message).toContain('read → "1": impossible in state "2"');
  });

  test('lost update: two concurrent increments both report the counter at 1', () => {
    const b = new HistoryBuilder();
    b.op(1, 'add', 0, 4, { arg: '1', output: '1' });
    b.op(2, 'add', 1, 5, { arg: '1', output: '1' });
    const v = violationOf(checkLinearizability(b.operations, counterModel));
    expect(v.message).toContain('add "1" → "1": impossible in state "1"');
  });

  test('two clients both succeed a cas from the same expected value', () => {
    const b = new HistoryBuilder();
    b.op(0, 'write', 0, 1, { arg: 'v0' });
    const c1 = b.op(1, 'cas', 2, 5, { expected: 'v0', arg: 'a' });
    const c2 = b.op(2, 'cas', 3, 6, { expected: 'v0', arg: 'b' });
    const v = violationOf(checkLinearizability(b.operations, casRegisterModel));
    expect([...v.operations].sort()).toEqual([c1.id, c2.id].sort());
    expect(v.message).toMatch(/cas\(expected "v0", new "(a|b)"\) → ok: impossible in state "(a|b)"/);
  });

  test('read from the future: a read returns a value whose write was invoked after the read returned', () => {
    const b = new HistoryBuilder();
    const r = b.op(1, 'read', 0, 1, { output: 'a' });
    const w = b.op(2, 'write', 2, 3, { arg: 'a' });
    const v = violationOf(checkLinearizability(b.operations, registerModel));
    expect(v.operations).toEqual([r.id]);
    expect(v.message).toContain('(0 of 2 operations, ending in state null)');
    expect(v.message).toContain(`${describeOperation(r)}: impossible in state null`);
    expect(v.message).not.toContain(`${describeOperation(w)}:`); // invoked after the read returned: not a candidate
  });

  test('read from the future, with the write unknown: it may take effect late, never early', () => {
    const b = new HistoryBuilder();
    b.op(1, 'read', 0, 1, { output: 'a' });
    b.op(2, 'write', 2, null, { arg: 'a' });
    violationOf(checkLinearizability(b.operations, registerModel));
  });

  test('a double-applied change: one add of 1 is seen as 2', () => {
    const b = new HistoryBuilder();
    b.op(1, 'add', 0, 1, { arg: '1', output: '1' });
    b.op(2, 'read', 2, 3, { output: '2' });
    const v = violationOf(checkLinearizability(b.operations, counterModel));
    expect(v.message).toContain('read → "2": impossible in state "1"');
  });

  test('a double-applied change with an unknown outcome: it takes effect at most once', () => {
    const b = new HistoryBuilder();
    b.op(1, 'add', 0, null, { arg: '1' });
    b.op(2, 'read', 5, 6, { output: '1' });
    b.op(2, 'read', 7, 8, { output: '2' });
    const v = violationOf(checkLinearizability(b.operations, counterModel));
    expect(v.message).toContain('read → "2": impossible in state "1"');
  });

  test('resurrection after delete: a deleted value is read back with no later write', () => {
    const b = new HistoryBuilder();
    b.op(1, 'write', 0, 1, { arg: 'a' });
    const del = b.op(1, 'write', 2, 3, { arg: null });
    const r = b.op(2, 'read', 4, 5, { output: 'a' });
    const v = violationOf(checkLinearizability(b.operations, deleteAwareRegisterModel));
    expect(v.operations).toEqual([r.id, del.id]);
    expect(v.message).toContain(`⇒ null (deleted by #${del.id})`);
    expect(v.message).toContain(`read → "a": impossible in state null (deleted by #${del.id})`);
    // The same verdict from the plain cas register.
    expect(checkLinearizability(b.operations, casRegisterModel).ok).toBe(false);
  });

  test('after overlapping writes both complete, reads cannot flip between their values', () => {
    const b = new HistoryBuilder();
    b.op(1, 'write', 0, 10, { arg: 'a' });
    b.op(2, 'write', 0, 10, { arg: 'b' });
    b.op(3, 'read', 11, 12, { output: 'b' });
    b.op(3, 'read', 13, 14, { output: 'a' });
    violationOf(checkLinearizability(b.operations, casRegisterModel));
  });
});

describe('legal histories pass', () => {
  test('overlapping writes, read in either order', () => {
    for (const [first, second] of [
      ['a', 'b'],
      ['b', 'a'],
    ] as const) {
      const b = new HistoryBuilder();
      const wa = b.op(1, 'write', 0, 10, { arg: 'a' });
      const wb = b.op(2, 'write', 0, 10, { arg: 'b' });
      const r1 = b.op(3, 'read', 1, 2, { output: first });
      const r2 = b.op(3, 'read', 3, 4, { output: second });
      const result = expectPass(b.operations);
      const order = first === 'a' ? [wa.id, r1.id, wb.id, r2.id] : [wb.id, r1.id, wa.id, r2.id];
      expect(result.perKey.get('x')?.linearization).toEqual(order);
    }
  });

  test('an unknown write that takes effect late: a read long after sees it', () => {
    const b = new HistoryBuilder();
    b.op(1, 'write', 0, 1, { arg: 'a' });
    const w = b.op(2, 'write', 2, null, { arg: 'b' });
    b.op(1, 'read', 10, 11, { output: 'a' });
    b.op(1, 'read', 1000, 1001, { output: 'b' });
    const result = expectPass(b.operations);
    expect(result.perKey.get('x')?.linearization).toContain(w.id);
    expect(result.report).toContain('1 with unknown outcome');
  });

  test('an unknown write that never takes effect', () => {
    const b = new HistoryBuilder();
    b.op(1, 'write', 0, 1, { arg: 'a' });
    const w = b.op(2, 'write', 2, null, { arg: 'b' });
    b.op(1, 'read', 100, 101, { output: 'a' });
    const result = expectPass(b.operations);
    expect(result.perKey.get('x')?.linearization).not.toContain(w.id);
  });

  test('an unknown cas chain: each takes effect only if its comparison holds', () => {
    const b = new HistoryBuilder();
    b.op(1, 'cas', 0, null, { expected: null, arg: 'a' });
    b.op(2, 'cas', 1, null, { expected: 'a', arg: 'b' });
    b.op(3, 'read', 10, 11, { output: 'b' });
    expectPass(b.operations);
    // Without the first, the second cannot apply.
    const c = new HistoryBuilder();
    c.op(2, 'cas', 1, null, { expected: 'a', arg: 'b' });
    c.op(3, 'read', 10, 11, { output: 'b' });
    violationOf(checkLinearizability(c.operations, casRegisterModel));
  });

  test('failed operations are ignored', () => {
    const b = new HistoryBuilder();
    b.op(1, 'write', 0, 1, { arg: 'a' });
    b.op(2, 'write', 2, 3, { arg: 'b', fail: true });
    b.op(2, 'cas', 4, 5, { expected: 'zzz', arg: 'c', fail: true }); // its recorded ok means nothing
    b.op(1, 'read', 6, 7, { output: 'a' });
    const result = expectPass(b.operations);
    expect(result.perKey.get('x')?.operations).toBe(2);
    expect(result.report).toContain('2 failed and dropped');
  });

  test('a failed cas (comparison false) is a legal outcome, and the failed comparison must be true', () => {
    const b = new HistoryBuilder();
    b.op(1, 'write', 0, 1, { arg: 'a' });
    b.op(2, 'cas', 2, 3, { expected: 'b', arg: 'c', ok: false });
    b.op(1, 'read', 4, 5, { output: 'a' });
    expectPass(b.operations);
    const c = new HistoryBuilder();
    c.op(1, 'write', 0, 1, { arg: 'a' });
    c.op(2, 'cas', 2, 3, { expected: 'a', arg: 'c', ok: false });
    violationOf(checkLinearizability(c.operations, casRegisterModel));
  });

  test('operations touching at an instant count as concurrent', () => {
    const b = new HistoryBuilder();
    b.op(1, 'write', 0, 5, { arg: 'a' });
    b.op(2, 'read', 5, 6, { output: null });
    expectPass(b.operations);
  });

  test('an empty history passes', () => {
    const result = checkLinearizability({ operations: [], annotations: [] }, casRegisterModel);
    expect(result).toMatchObject({ checker: 'wgl', ok: true, violations: [] });
    expect(result.perKey.size).toBe(0);
  });

  test('a history whose every operation is unknown passes', () => {
    const b = new HistoryBuilder();
    b.op(1, 'write', 0, null, { arg: 'a' });
    b.op(2, 'read', 0, null);
    expectPass(b.operations);
  });
});

describe('partitioning by key', () => {
  test('a violation on one key is reported with that key; other keys pass', () => {
    const b = new HistoryBuilder();
    b.op(1, 'write', 0, 1, { key: 'good', arg: 'a' });
    b.op(1, 'write', 0, 1, { key: 'bad', arg: 'a' });
    b.op(2, 'write', 2, 3, { key: 'bad', arg: 'b' });
    const stale = b.op(2, 'read', 4, 5, { key: 'bad', output: 'a' });
    b.op(2, 'read', 4, 5, { key: 'good', output: 'a' });
    b.op(3, 'read', 4, 5, { key: 'other', output: null });
    const result = checkLinearizability({ operations: b.operations, annotations: [] }, casRegisterModel);
    const v = violationOf(result);
    expect(v.key).toBe('bad');
    expect(v.operations).toContain(stale.id);
    expect([...result.perKey.keys()]).toEqual(['bad', 'good', 'other']);
    expect(result.perKey.get('good')?.ok).toBe(true);
    expect(result.perKey.get('other')?.ok).toBe(true);
    expect(result.perKey.get('bad')?.ok).toBe(false);
    expect(result.report.split('\n')[0]).toBe(
      'wgl (cas-register): NOT linearizable. 3 keys: 2 linearizable, 1 not, 0 undecided. 6 operations (0 failed and dropped, 0 with unknown outcome); ' +
        `${[...result.perKey.values()].reduce((sum, k) => sum + k.steps, 0)} search steps.`,
    );
  });

  test('operations on different keys never constrain each other', () => {
    const b = new HistoryBuilder();
    b.op(1, 'write', 0, 1, { key: 'p', arg: 'a' });
    b.op(1, 'read', 2, 3, { key: 'q', output: null });
    b.op(1, 'read', 4, 5, { key: 'p', output: 'a' });
    expectPass(b.operations);
  });
});

describe('budgets', () => {
  /** Eight concurrent writes, then a read of a value nobody wrote: the search must try many orders. */
  function hard(): Operation[] {
    const b = new HistoryBuilder();
    for (let c = 0; c < 8; c++) b.op(c, 'write', 0, 10, { arg: `v${c}` });
    b.op(9, 'read', 11, 12, { output: 'nobody' });
    return b.operations;
  }

  test('maxStates exhausted: the key is unknown, never a pass', () => {
    const result = checkLinearizability(hard(), casRegisterModel, { maxStates: 5 });
    expect(result.ok).toBe('unknown');
    expect(result.violations).toEqual([]);
    expect(result.perKey.get('x')).toMatchObject({ ok: 'unknown', exhausted: 'maxStates', steps: 5 });
    expect(result.report).toContain('key "x": undecided, the search ran out of its budget (maxStates 5) after 5 steps.');
    // With enough budget the same history fails.
    expect(checkLinearizability(hard(), casRegisterModel).ok).toBe(false);
  });

  test('steps are deterministic', () => {
    const steps = () => checkLinearizability(hard(), casRegisterModel).perKey.get('x')?.steps;
    expect(steps()).toBe(steps());
  });

  test('a violation on one key outweighs an exhausted budget on another', () => {
    const b = new HistoryBuilder();
    b.op(1, 'read', 0, 1, { key: 'a', output: 'never' });
    for (const op of hard()) b.operations.push({ ...op, id: b.operations.length, key: 'b' });
    const result = checkLinearizability(b.operations, casRegisterModel, { maxStates: 5 });
    expect(result.ok).toBe(false);
    expect(result.perKey.get('b')?.ok).toBe('unknown');
  });

  test('timeMs exhausted (injected clock): later keys are unknown', () => {
    const b = new HistoryBuilder();
    b.op(1, 'write', 0, 1, { key: 'a', arg: 'x' });
    b.op(1, 'write', 0, 1, { key: 'b', arg: 'x' });
    b.op(1, 'write', 0, 1, { key: 'c', arg: 'x' });
    let calls = 0;
    const now = () => (calls++ < 2 ? 0 : 1000); // the start, and the look before key "a"
    const result = checkLinearizability(b.operations, casRegisterModel, { timeMs: 50, now });
    expect(result.ok).toBe('unknown');
    expect(result.perKey.get('a')?.ok).toBe(true);
    expect(result.perKey.get('b')).toMatchObject({ ok: 'unknown', exhausted: 'timeMs' });
    expect(result.perKey.get('c')).toMatchObject({ ok: 'unknown', exhausted: 'timeMs' });
    expect(result.report).toContain('(timeMs 50)');
  });

  test('timeMs exhausted inside a long search', () => {
    let t = 0;
    const now = () => (t += 10);
    const b = new HistoryBuilder();
    for (let c = 0; c < 12; c++) b.op(c, 'write', 0, 10, { arg: `v${c}` });
    b.op(20, 'read', 11, 12, { output: 'nobody' });
    const result = checkLinearizability(b.operations, casRegisterModel, { timeMs: 25, now });
    expect(result.perKey.get('x')).toMatchObject({ ok: 'unknown', exhausted: 'timeMs' });
  });

  test('a bad budget is a RangeError', () => {
    expect(() => checkLinearizability([], casRegisterModel, { maxStates: -1 })).toThrow(RangeError);
    expect(() => checkLinearizability([], casRegisterModel, { timeMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('long histories (explicit stack)', () => {
  function sequential(count: number): HistoryBuilder {
    const b = new HistoryBuilder();
    for (let i = 0; i < count; i++) {
      if (i % 2 === 0) b.op(i % 3, 'write', 2 * i, 2 * i + 1, { arg: `v${i}` });
      else b.op(i % 3, 'read', 2 * i, 2 * i + 1, { output: `v${i - 1}` });
    }
    return b;
  }

  test('10,000 operations on one key pass without blowing the stack', () => {
    const result = expectPass(sequential(10_000).operations);
    expect(result.perKey.get('x')?.linearization).toHaveLength(10_000);
  });

  test('a violation at the end of 10,000 operations: the prefix is elided in the message', () => {
    const b = sequential(10_000);
    b.op(0, 'read', 1e6, 1e6 + 1, { output: 'v0' });
    const v = violationOf(checkLinearizability(b.operations, casRegisterModel, { counterexampleSteps: 3 }));
    expect(v.message).toContain('(10000 of 10001 operations, ending in state "v9998")');
    expect(v.message).toContain('… 9997 earlier operations, then state "v9996"');
    expect(v.message.split('\n')).toHaveLength(8);
  });
});

describe('input checks', () => {
  test('an operation the model does not support throws TypeError naming it', () => {
    const b = new HistoryBuilder();
    b.op(1, 'cas', 0, 1, { expected: null, arg: 'a' });
    expect(() => checkLinearizability(b.operations, registerModel)).toThrow(/registerModel does not support op "cas" \(operation #0\)/);
  });

  test('an operation returning before its call is a TypeError', () => {
    const b = new HistoryBuilder();
    b.op(1, 'write', 5, 4, { arg: 'a' });
    expect(() => checkLinearizability(b.operations, registerModel)).toThrow(/operation #0 returns before it is called/);
  });

  test('a model without name or effect hint works', () => {
    const plain: Model<string | null> = {
      init: () => null,
      step: (state, op) => casRegisterModel.step(state, op),
      key: (state) => casRegisterModel.key(state),
      describe: (state) => casRegisterModel.describe(state),
    };
    const b = new HistoryBuilder();
    b.op(1, 'read', 0, 1, { output: 'a' });
    const result = checkLinearizability(b.operations, plain);
    expect(result.report).toContain('wgl (model): NOT linearizable');
  });
});

describe('renderCounterexample', () => {
  test('renders on its own, with unknown operations as [call, ∞)', () => {
    const b = new HistoryBuilder();
    b.op(1, 'write', 0, null, { arg: 'a' });
    b.op(2, 'write', 1, 2, { arg: 'b' });
    b.op(3, 'read', 3, 4, { output: 'c' });
    const cx = checkLinearizability(b.operations, casRegisterModel).perKey.get('x')?.counterexample;
    if (cx === undefined) throw new Error('expected a counterexample');
    const text = renderCounterexample(cx);
    expect(text).toContain('#0 client 1 [0, ∞) write "a" (outcome unknown)');
    expect(text).toContain('#2 client 3 [3, 4] read → "c": impossible in state');
    expect(renderCounterexample(cx, { maxSteps: 0 })).toContain('earlier operation');
  });
});
