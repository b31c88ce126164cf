import { describe, expect, test } from 'vitest';
import type { Operation } from '../../src/check/history.js';
import { casRegisterModel, counterModel, deleteAwareRegisterModel, type Model, registerModel } from '../../src/check/models.js';
import { HistoryBuilder } from './histories.js';

/** Runs ops one after another from the initial state; the described state after each (or `impossible`). */
function run<S>(model: Model<S>, ops: readonly Operation[]): string[] {
  let state: S | undefined = model.init();
  return ops.map((op) => {
    state = state === undefined ? undefined : model.step(state, op);
    return state === undefined ? 'impossible' : model.describe(state);
  });
}

describe('registerModel', () => {
  test('starts at null; reads must return the current value; writes set it', () => {
    const b = new HistoryBuilder();
    const ops = [
      b.op(0, 'read', 0, 1, { output: null }),
      b.op(0, 'write', 2, 3, { arg: 'a' }),
      b.op(0, 'read', 4, 5, { output: 'a' }),
      b.op(0, 'write', 6, 7, { arg: null }),
      b.op(0, 'read', 8, 9, { output: null }),
    ];
    expect(run(registerModel, ops)).toEqual(['null', '"a"', '"a"', 'null', 'null']);
    expect(registerModel.step('a', b.op(0, 'read', 0, 1, { output: 'b' }))).toBeUndefined();
    expect(registerModel.step(null, b.op(0, 'read', 0, 1, { output: 'null' }))).toBeUndefined(); // the string "null" is not null
  });

  test('a completed read without output read null; an unknown read constrains nothing', () => {
    const b = new HistoryBuilder();
    expect(registerModel.step(null, b.op(0, 'read', 0, 1))).toBeNull();
    expect(registerModel.step('a', b.op(0, 'read', 0, 1))).toBeUndefined();
    expect(registerModel.step('a', b.op(0, 'read', 0, null))).toBe('a');
  });

  test('an unknown write is applied', () => {
    expect(registerModel.step('a', new HistoryBuilder().op(0, 'write', 0, null, { arg: 'b' }))).toBe('b');
  });

  test('keys tell null from the string "null" and from ""', () => {
    const keys = [null, 'null', '', '='].map((v) => registerModel.key(v));
    expect(new Set(keys).size).toBe(4);
  });

  test('cas and add are not supported', () => {
    const b = new HistoryBuilder();
    expect(() => registerModel.step(null, b.op(0, 'cas', 0, 1, { expected: null, arg: 'a' }))).toThrow(TypeError);
    expect(() => registerModel.step(null, b.op(0, 'add', 0, 1, { arg: '1' }))).toThrow(/registerModel does not support op "add" \(operation #1\)/);
  });
});

describe('casRegisterModel', () => {
  const b = new HistoryBuilder();
  test('a successful cas requires the expected value and sets arg', () => {
    expect(casRegisterModel.step('a', b.op(0, 'cas', 0, 1, { expected: 'a', arg: 'b' }))).toBe('b');
    expect(casRegisterModel.step(null, b.op(0, 'cas', 0, 1, { expected: null, arg: 'b' }))).toBe('b');
    expect(casRegisterModel.step('c', b.op(0, 'cas', 0, 1, { expected: 'a', arg: 'b' }))).toBeUndefined();
  });

  test('a failed cas requires another value and changes nothing', () => {
    expect(casRegisterModel.step('c', b.op(0, 'cas', 0, 1, { expected: 'a', arg: 'b', ok: false }))).toBe('c');
    expect(casRegisterModel.step('a', b.op(0, 'cas', 0, 1, { expected: 'a', arg: 'b', ok: false }))).toBeUndefined();
  });

  test('an unknown cas applies iff the comparison holds', () => {
    expect(casRegisterModel.step('a', b.op(0, 'cas', 0, null, { expected: 'a', arg: 'b' }))).toBe('b');
    expect(casRegisterModel.step('c', b.op(0, 'cas', 0, null, { expected: 'a', arg: 'b' }))).toBe('c');
  });

  test('reads and writes as in registerModel; add is not supported', () => {
    expect(run(casRegisterModel, [b.op(0, 'write', 0, 1, { arg: 'x' }), b.op(0, 'read', 2, 3, { output: 'x' })])).toEqual(['"x"', '"x"']);
    expect(() => casRegisterModel.step(null, b.op(0, 'add', 0, 1, { arg: '1' }))).toThrow(/casRegisterModel does not support op "add"/);
  });

  test('a cas to null is a conditional delete', () => {
    expect(casRegisterModel.step('a', b.op(0, 'cas', 0, 1, { expected: 'a', arg: null }))).toBeNull();
  });
});

describe('deleteAwareRegisterModel', () => {
  const b = new HistoryBuilder();
  test('a write of null deletes; the description names the delete', () => {
    const ops = [
      b.op(0, 'write', 0, 1, { arg: 'a' }),
      b.op(0, 'write', 2, 3, { arg: null }),
      b.op(0, 'read', 4, 5, { output: null }),
      b.op(0, 'read', 6, 7, { output: 'a' }),
    ];
    expect(run(deleteAwareRegisterModel, ops)).toEqual(['"a"', `null (deleted by #${ops[1]?.id})`, `null (deleted by #${ops[1]?.id})`, 'impossible']);
    expect(deleteAwareRegisterModel.describe(deleteAwareRegisterModel.init())).toBe('null (never written)');
  });

  test('accepts exactly what casRegisterModel accepts: deleted and never-written states share a key', () => {
    const deleted = deleteAwareRegisterModel.step(deleteAwareRegisterModel.init(), b.op(0, 'write', 0, 1, { arg: null }));
    expect(deleted).toBeDefined();
    expect(deleteAwareRegisterModel.key(deleted ?? deleteAwareRegisterModel.init())).toBe(deleteAwareRegisterModel.key(deleteAwareRegisterModel.init()));
    const cas = b.op(0, 'cas', 0, 1, { expected: null, arg: 'z' });
    expect(deleteAwareRegisterModel.step(deleted ?? deleteAwareRegisterModel.init(), cas)?.value).toBe('z');
  });

  test('a conditional delete (cas to null) records its id; a failed cas keeps the state', () => {
    const a = { value: 'a', deletedBy: null };
    const del = b.op(0, 'cas', 0, 1, { expected: 'a', arg: null });
    expect(deleteAwareRegisterModel.step(a, del)).toEqual({ value: null, deletedBy: del.id });
    expect(deleteAwareRegisterModel.step(a, b.op(0, 'cas', 0, 1, { expected: 'b', arg: 'c', ok: false }))).toBe(a);
    expect(deleteAwareRegisterModel.step(a, b.op(0, 'cas', 0, 1, { expected: 'b', arg: 'c' }))).toBeUndefined();
  });

  test('add is not supported', () => {
    expect(() => deleteAwareRegisterModel.step(deleteAwareRegisterModel.init(), b.op(0, 'add', 0, 1, { arg: '1' }))).toThrow(TypeError);
  });
});

describe('counterModel', () => {
  const b = new HistoryBuilder();
  test('absent reads null and counts as 0; add with output checks the counter after it', () => {
    const ops = [
      b.op(0, 'read', 0, 1, { output: null }),
      b.op(0, 'add', 2, 3, { arg: '5', output: '5' }),
      b.op(0, 'add', 4, 5, { arg: '-2' }),
      b.op(0, 'read', 6, 7, { output: '3' }),
      b.op(0, 'add', 8, 9, { arg: '1', output: '3' }),
    ];
    expect(run(counterModel, ops)).toEqual(['null (absent, counts as 0)', '"5"', '"3"', '"3"', 'impossible']);
  });

  test('once present, 0 reads "0", not null', () => {
    const zero = counterModel.step(null, b.op(0, 'add', 0, 1, { arg: '0' }));
    expect(zero).toBe(0n);
    expect(counterModel.step(0n, b.op(0, 'read', 0, 1, { output: '0' }))).toBe(0n);
    expect(counterModel.step(0n, b.op(0, 'read', 0, 1, { output: null }))).toBeUndefined();
    expect(counterModel.key(0n)).not.toBe(counterModel.key(null));
  });

  test('big values are exact; a non-decimal output is impossible', () => {
    const big = counterModel.step(9007199254740992n, b.op(0, 'add', 0, 1, { arg: '1', output: '9007199254740993' }));
    expect(big).toBe(9007199254740993n);
    expect(counterModel.step(1n, b.op(0, 'read', 0, 1, { output: 'one' }))).toBeUndefined();
    expect(counterModel.step(1n, b.op(0, 'add', 0, 1, { arg: '1', output: null }))).toBeUndefined();
  });

  test('an unknown add is applied whatever its output field says', () => {
    expect(counterModel.step(1n, b.op(0, 'add', 0, null, { arg: '2' }))).toBe(3n);
  });

  test('an add whose arg is not a decimal integer, and write or cas, throw TypeError', () => {
    expect(() => counterModel.step(null, b.op(0, 'add', 0, 1, { arg: '1.5' }))).toThrow(/counterModel: operation #\d+ \(add\) needs a decimal integer/);
    expect(() => counterModel.step(null, b.op(0, 'add', 0, 1))).toThrow(TypeError);
    expect(() => counterModel.step(null, b.op(0, 'write', 0, 1, { arg: '1' }))).toThrow(/counterModel does not support op "write"/);
    expect(() => counterModel.step(null, b.op(0, 'cas', 0, 1, { expected: null, arg: '1' }))).toThrow(TypeError);
  });
});

describe('effect hints', () => {
  const b = new HistoryBuilder();
  const read = b.op(0, 'read', 0, 1, { output: null });
  const write = b.op(0, 'write', 0, 1, { arg: 'a' });
  const cas = b.op(0, 'cas', 0, 1, { expected: null, arg: 'a' });
  const add = b.op(0, 'add', 0, 1, { arg: '1' });
  test('reads are reads, writes are blind, cas and add are other', () => {
    for (const model of [registerModel, casRegisterModel, deleteAwareRegisterModel] as const) {
      expect(model.effect?.(read)).toBe('read');
      expect(model.effect?.(write)).toBe('blind');
    }
    expect(casRegisterModel.effect?.(cas)).toBe('other');
    expect(counterModel.effect?.(read)).toBe('read');
    expect(counterModel.effect?.(add)).toBe('other');
  });

  test('the hints hold: a read never changes the state, a write ignores it', () => {
    for (const state of [null, 'a', 'b']) {
      expect(casRegisterModel.step(state, { ...read, output: state })).toBe(state);
      expect(casRegisterModel.step(state, write)).toBe('a');
    }
  });
});
