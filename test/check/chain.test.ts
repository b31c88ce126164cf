/**
 * The chain checker on hand-made histories: one per violation kind (each must fail with that kind,
 * naming the operations), and legal ones that must pass.
 */
import { fc, test as propertyTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { checkChain } from '../../src/check/chain.js';
import { type History, HistoryRecorder, type Operation } from '../../src/check/history.js';
import { encodeVersioned, nextVersioned } from '../../src/check/versioned.js';

/** A versioned value: version, writer, predecessor (and payload). */
function v(version: number, writer: number, predecessor: number | null, payload: Record<string, unknown> = {}): string {
  return encodeVersioned({ ...payload, version, writer, predecessor });
}

function write(id: number, call: number, ret: number, output: string | null, key = 'k'): Operation {
  return { id, clientId: id, key, op: 'write', call, return: ret, ok: true, output };
}
function unknownWrite(id: number, call: number, key = 'k'): Operation {
  return { id, clientId: id, key, op: 'write', call, return: null, unknown: true };
}
function failedWrite(id: number, call: number, ret: number, key = 'k'): Operation {
  return { id, clientId: id, key, op: 'write', call, return: ret, fail: true };
}
function read(id: number, call: number, ret: number, output: string | null, key = 'k'): Operation {
  return { id, clientId: id, key, op: 'read', call, return: ret, ok: true, output };
}
function history(...operations: Operation[]): History {
  return { operations, annotations: [] };
}

/** Checks that the history fails with a violation of `kind` whose operations and message name every id in `ids`. */
function expectViolation(h: History, kind: string, ids: readonly number[]): void {
  const result = checkChain(h);
  expect(result.ok, result.report).toBe(false);
  expect(result.report).toContain(`[${kind}]`);
  const matching = result.violations.filter((x) => x.kind === kind && ids.every((id) => x.operations.includes(id) && x.message.includes(`#${id}`)));
  expect(matching, result.report).not.toHaveLength(0);
}

function expectPass(h: History): ReturnType<typeof checkChain> {
  const result = checkChain(h);
  expect(result.violations, result.report).toEqual([]);
  expect(result.ok).toBe(true);
  expect(result.checker).toBe('chain');
  return result;
}

describe('legal histories pass', () => {
  test('the empty history', () => {
    const result = expectPass(history());
    expect(result.resolved).toEqual({ tookEffect: [], noEffect: [], undetermined: [] });
    expect(result.report).toBe('chain: 0 keys, 0 operations: ok\n');
  });

  test('sequential writes and reads, including a read of the absent value', () => {
    expectPass(
      history(
        read(0, 0, 1, null),
        write(1, 2, 3, v(1, 1, null)),
        read(2, 4, 5, v(1, 1, null)),
        write(3, 6, 7, v(2, 3, 1)),
        read(4, 8, 9, v(2, 3, 1)),
      ),
    );
  });

  test('concurrent writes, one retrying after the other won', () => {
    // #1 and #2 both start from #0's value; #2 wins, #1 retries on top of #2's value
    expectPass(
      history(
        write(0, 0, 1, v(1, 0, null)),
        write(1, 2, 20, v(3, 1, 2)),
        write(2, 3, 10, v(2, 2, 0)),
        read(3, 4, 11, v(2, 2, 0)),
        read(4, 21, 22, v(3, 1, 2)),
      ),
    );
  });

  test('concurrent reads may see the old or the new value around a write', () => {
    expectPass(
      history(
        write(0, 0, 1, v(1, 0, null)),
        write(1, 2, 10, v(2, 1, 0)),
        read(2, 3, 5, v(2, 1, 0)),
        read(3, 4, 9, v(1, 0, null)),
        read(4, 11, 12, v(2, 1, 0)),
      ),
    );
  });

  test('unknown writes that took effect: read, or named as a predecessor', () => {
    const result = expectPass(
      history(
        unknownWrite(0, 0),
        read(1, 5, 6, v(1, 0, null)),
        unknownWrite(2, 7),
        write(3, 20, 21, v(3, 3, 2)), // #2's value (version 2) was never read, but #3 replaced it
      ),
    );
    expect(result.resolved).toEqual({ tookEffect: [0, 2], noEffect: [], undetermined: [] });
    expect(result.report).toContain('2 took effect (#0, #2)');
  });

  test('an unknown write may take effect long after its call', () => {
    expectPass(history(unknownWrite(0, 0), read(1, 1, 2, null), read(2, 100, 101, v(1, 0, null))));
  });

  test('unknown writes that did not take effect, and failed writes', () => {
    const result = expectPass(
      history(
        write(0, 0, 1, v(1, 0, null)),
        unknownWrite(1, 2),
        failedWrite(2, 3, 4),
        read(3, 10, 11, v(1, 0, null)),
        write(4, 12, 13, v(2, 4, 0)),
      ),
    );
    expect(result.resolved).toEqual({ tookEffect: [], noEffect: [1], undetermined: [] });
  });

  test('versions nobody observed: unknown writes that may have written them are undetermined', () => {
    // #0 and #1 are unknown; #2 names #1 as its predecessor (version 2), so version 1 was written
    // by #0 or #3 (both invoked before #2 returned); #4 was invoked too late
    const result = expectPass(
      history(unknownWrite(0, 0), unknownWrite(1, 1), write(2, 2, 10, v(3, 2, 1)), unknownWrite(3, 3), unknownWrite(4, 50)),
    );
    expect(result.resolved).toEqual({ tookEffect: [1], noEffect: [4], undetermined: [0, 3] });
  });

  test('deletes are tombstones in the chain', () => {
    expectPass(
      history(
        write(0, 0, 1, v(1, 0, null, { n: 1 })),
        write(1, 2, 3, v(2, 1, 0, { deleted: true })),
        read(2, 4, 5, v(2, 1, 0, { deleted: true })),
        write(3, 6, 7, v(3, 3, 1, { n: 2 })),
        read(4, 8, 9, v(3, 3, 1, { n: 2 })),
      ),
    );
  });

  test('several keys are checked independently', () => {
    const result = expectPass(
      history(write(0, 0, 1, v(1, 0, null), 'a'), write(1, 0, 1, v(1, 1, null), 'b'), read(2, 2, 3, v(1, 1, null), 'b')),
    );
    expect(result.report).toContain('key "a": chain of 1 version');
    expect(result.report).toContain('key "b": chain of 1 version');
  });

  test('a history recorded with HistoryRecorder and nextVersioned', () => {
    let now = 0;
    const recorder = new HistoryRecorder(() => now);
    let state: string | null = null; // the register
    const rmw = (payload: Record<string, unknown>): void => {
      const pending = recorder.invoke({ clientId: 1, key: 'k', op: 'write' });
      now += 1;
      state = nextVersioned(state, pending.id, payload); // the change function, baked with the op id
      now += 1;
      pending.complete({ output: state });
    };
    const get = (): void => {
      const pending = recorder.invoke({ clientId: 2, key: 'k', op: 'read' });
      now += 1;
      pending.complete({ output: state });
    };
    get();
    rmw({ n: 1 });
    get();
    rmw({ deleted: true });
    get();
    rmw({ n: 2 });
    const lost = recorder.invoke({ clientId: 3, key: 'k', op: 'write' });
    state = nextVersioned(state, lost.id, { n: 3 }); // took effect, but the client never heard back
    lost.unknown();
    get();
    const result = expectPass(recorder.history());
    expect(result.resolved.tookEffect).toEqual([lost.id]);
    expect(result.report).toContain('chain of 4 versions');
  });
});

describe('each violation kind is caught and names the operations', () => {
  test('fork: two values with the same version', () => {
    const h = history(
      write(0, 0, 1, v(1, 0, null)),
      write(1, 2, 5, v(2, 1, 0)),
      write(2, 3, 6, v(2, 2, 0)),
      read(3, 7, 8, v(2, 2, 0)),
    );
    expectViolation(h, 'fork', [1, 2]);
  });

  test('fork: two values of different versions naming one predecessor', () => {
    const h = history(write(0, 0, 1, v(1, 0, null)), write(1, 2, 3, v(2, 1, 0)), write(2, 4, 5, v(3, 2, 0)));
    expectViolation(h, 'fork', [0, 1, 2]);
  });

  test('fork: one writer, one version, two different values', () => {
    const h = history(write(0, 0, 1, v(1, 0, null, { n: 1 })), read(1, 2, 3, v(1, 0, null, { n: 2 })));
    expectViolation(h, 'fork', [0, 1]);
  });

  test('lost update: a completed write overwritten without being a predecessor', () => {
    // #1 and #2 both replace #0's value; #2's value is the final one, #1's is lost
    const h = history(
      write(0, 0, 1, v(1, 0, null)),
      write(1, 2, 5, v(2, 1, 0)),
      write(2, 3, 6, v(2, 2, 0)),
      read(3, 7, 8, v(2, 2, 0)),
    );
    expectViolation(h, 'lost-update', [1, 2]);
  });

  test('lost update: the next value skips a completed write', () => {
    const h = history(write(0, 0, 1, v(1, 0, null)), write(1, 2, 3, v(2, 1, 0)), write(2, 4, 5, v(3, 2, 0)));
    expectViolation(h, 'lost-update', [1, 2, 0]);
  });

  test('stale read: an older version after a newer write returned', () => {
    const h = history(write(0, 0, 1, v(1, 0, null)), write(1, 2, 3, v(2, 1, 0)), read(2, 4, 5, v(1, 0, null)));
    expectViolation(h, 'stale-read', [2, 1]);
  });

  test('stale read: the absent value after a write returned', () => {
    const h = history(write(0, 0, 1, v(1, 0, null)), read(1, 2, 3, null));
    expectViolation(h, 'stale-read', [1, 0]);
  });

  test('stale read: an older version after another read returned a newer one', () => {
    const h = history(unknownWrite(0, 0), unknownWrite(1, 0), read(2, 1, 2, v(2, 1, 0)), read(3, 3, 4, v(1, 0, null)));
    expectViolation(h, 'stale-read', [3, 2]);
  });

  test('read from the future: the writer was invoked after the read returned', () => {
    const h = history(read(0, 0, 1, v(1, 1, null)), write(1, 2, 3, v(1, 1, null)));
    expectViolation(h, 'read-from-future', [0, 1]);
  });

  test('read from the future: an ancestor of the value read was written after the read returned', () => {
    const h = history(unknownWrite(0, 0), read(1, 0, 2, v(2, 0, 2)), write(2, 5, 6, v(1, 2, null)));
    expectViolation(h, 'read-from-future', [1, 2]);
  });

  test('phantom: a value no operation wrote', () => {
    expectViolation(history(read(0, 0, 1, v(1, 99, null))), 'phantom', [99, 0]);
  });

  test('phantom: a value "written" by a read', () => {
    expectViolation(history(read(0, 0, 1, v(1, 1, null)), read(1, 0, 1, null)), 'phantom', [1, 0]);
  });

  test('phantom: a value written by a write of another key', () => {
    expectViolation(history(write(0, 0, 1, v(1, 0, null), 'a'), read(1, 2, 3, v(1, 0, null), 'b')), 'phantom', [0, 1]);
  });

  test('phantom: versions that no operation can have written', () => {
    // version 1 must precede #1's value (version 3, predecessor #0 at version 2), and no write is left for it
    expectViolation(history(unknownWrite(0, 0), write(1, 1, 2, v(3, 1, 0))), 'phantom', [1]);
    // an unknown write is left, but it was invoked after #1 returned
    expectViolation(history(unknownWrite(0, 0), write(1, 1, 2, v(3, 1, 0)), unknownWrite(2, 5)), 'phantom', [1, 2]);
  });

  test('double apply: one writer on two values', () => {
    const h = history(write(0, 0, 10, v(1, 0, null)), read(1, 11, 12, v(2, 0, 0)));
    expectViolation(h, 'double-apply', [0, 1]);
  });

  test('malformed: outputs that are not versioned values', () => {
    expectViolation(history(read(0, 0, 1, 'not json')), 'malformed', [0]);
    expectViolation(history(read(0, 0, 1, '{"version":0,"writer":1,"predecessor":null}')), 'malformed', [0]);
    expectViolation(history(write(0, 0, 1, v(1, 5, null))), 'malformed', [0, 5]);
    expectViolation(history(write(0, 0, 1, null)), 'malformed', [0]);
    expectViolation(history({ id: 0, clientId: 0, key: 'k', op: 'read', call: 0, return: 1, ok: true }), 'malformed', [0]);
    expectViolation(history(read(0, 0, 1, null), read(0, 2, 3, null)), 'malformed', [0]);
    expectViolation(history(read(0, 0, 1, '{"version":1,"writer":1,"predecessor":null,"x":1e999}')), 'malformed', [0]);
  });

  test('version gap: a predecessor whose version is not version − 1', () => {
    expectViolation(history(write(0, 0, 1, v(1, 0, null)), write(1, 2, 3, v(3, 1, 0))), 'version-gap', [1, 0]);
    expectViolation(history(write(0, 0, 1, v(2, 0, null))), 'version-gap', [0]);
    expectViolation(history(write(0, 0, 1, v(1, 0, null)), write(1, 2, 3, v(1, 1, 0))), 'version-gap', [1, 0]);
  });

  test('real-time order: a write returned before another was invoked, with a higher version', () => {
    const h = history(unknownWrite(0, 0), write(1, 0, 1, v(2, 1, 0)), write(2, 2, 3, v(1, 2, null)));
    expectViolation(h, 'real-time-order', [2, 1]);
  });

  test('failed op took effect', () => {
    const h = history(failedWrite(0, 0, 1), read(1, 2, 3, v(1, 0, null)));
    expectViolation(h, 'failed-op-took-effect', [0, 1]);
  });

  test('unsupported operations', () => {
    const cas: Operation = { id: 0, clientId: 0, key: 'k', op: 'cas', arg: 'a', expected: null, call: 0, return: 1, ok: true };
    expectViolation(history(cas), 'unsupported-operation', [0]);
  });
});

describe('report and robustness', () => {
  test('the report summarizes each key and lists the violations', () => {
    const result = checkChain(
      history(
        write(0, 0, 1, v(1, 0, null)),
        unknownWrite(1, 1),
        unknownWrite(2, 1),
        read(3, 5, 6, v(2, 1, 0)),
        read(4, 7, 8, v(1, 0, null)),
      ),
    );
    expect(result.ok).toBe(false);
    expect(result.report).toBe(
      [
        'chain: 1 key, 5 operations: 1 violation',
        '  key "k": chain of 2 versions (2 observed values), 3 writes (1 completed, 2 unknown, 0 failed), 2 reads; unknown writes: 1 took effect (#1), 1 no effect (#2)',
        'violations:',
        '  [stale-read] key "k": read #4 (invoked at 7) returned version 1, but read #3 had returned version 2 at 6',
        '',
      ].join('\n'),
    );
    expect(result.resolved).toEqual({ tookEffect: [1], noEffect: [2], undetermined: [] });
  });

  test('a huge version does not make the checker loop over the missing ones', () => {
    const result = checkChain(history(read(0, 0, 1, v(1e15, 0, 3))));
    expect(result.ok).toBe(false);
    expect(result.violations.map((x) => x.kind)).toContain('phantom');
  });

  test('a broken history is checked in near-linear time too', () => {
    // 20,000 values of one writer, each naming it as predecessor, and 20,000 reads of them
    const ops: Operation[] = [write(0, 0, 1, v(1, 0, null))];
    for (let i = 1; i <= 20_000; i += 1) ops.push(read(i, 2, 3, v(2 * i + 1, 0, 0)));
    const started = Date.now();
    const result = checkChain(history(...ops));
    expect(result.ok).toBe(false);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('one writer applied three times, the middle value implied', () => {
    const result = checkChain(history(write(0, 0, 1, v(1, 0, null)), read(1, 2, 3, v(3, 0, 0))));
    const doubled = result.violations.find((x) => x.kind === 'double-apply');
    expect(doubled?.message, result.report).toContain('took effect 3 times');
  });

  test('a double apply with an unobserved first value is reported', () => {
    // #0 is unknown; its change function ran twice, and only the second value was read
    const result = checkChain(history(unknownWrite(0, 0), read(1, 5, 6, v(2, 0, 0))));
    expect(result.violations.map((x) => x.kind)).toContain('double-apply');
  });
});

describe('arbitrary histories', () => {
  const valueArbitrary = fc.oneof(
    fc.constant(null),
    fc.constant('garbage'),
    fc
      .record({ version: fc.integer({ min: 1, max: 6 }), writer: fc.integer({ min: 0, max: 9 }), predecessor: fc.option(fc.integer({ min: 0, max: 9 }), { nil: null }) })
      .map((x) => encodeVersioned(x)),
  );
  const opArbitrary = fc.record({
    key: fc.constantFrom('a', 'b'),
    op: fc.constantFrom('read' as const, 'write' as const, 'write' as const, 'cas' as const),
    call: fc.integer({ min: 0, max: 20 }),
    length: fc.option(fc.integer({ min: 0, max: 10 }), { nil: null }),
    fail: fc.boolean(),
    output: fc.option(valueArbitrary, { nil: undefined }),
  });
  propertyTest.prop([fc.array(opArbitrary, { maxLength: 12 })])('never throw, and report every violation they have', (raw) => {
    const operations: Operation[] = raw.map((o, id) => ({
      id,
      clientId: 0,
      key: o.key,
      op: o.op,
      call: o.call,
      return: o.length === null ? null : o.call + o.length,
      ...(o.length === null ? { unknown: true as const } : o.fail ? { fail: true as const } : {}),
      ...(o.output === undefined ? {} : { output: o.output }),
    }));
    const result = checkChain(history(...operations));
    expect(result.ok).toBe(result.violations.length === 0);
    for (const x of result.violations) {
      expect(result.report).toContain(`[${x.kind}]`);
      expect(x.operations.length).toBeGreaterThan(0);
    }
    expect(checkChain(history(...operations)).report).toBe(result.report);
  });
});
