/**
 * Hand-made illegal histories of versioned read-modify-writes, each run through BOTH checkers:
 * the exact chain checker directly, and WGL with the CAS-register model after translating each
 * write into the compare-and-set it amounts to (expected = its predecessor's value). Both must
 * reject every one; and both must accept the legal control.
 */
import { describe, expect, test } from 'vitest';
import { checkChain } from '../../src/check/chain.js';
import type { History, Operation } from '../../src/check/history.js';
import { checkLinearizability } from '../../src/check/linearizability.js';
import { casRegisterModel } from '../../src/check/models.js';
import { encodeVersioned } from '../../src/check/versioned.js';

type Spec =
  | { id: number; client: number; call: number; ret: number; write: { version: number; predecessor: number | null; writer?: number; deleted?: true } }
  | { id: number; client: number; call: number; ret: number; read: { version: number; writer: number; predecessor: number | null; deleted?: true } | null };

const value = (v: { version: number; writer: number; predecessor: number | null; deleted?: true }) =>
  encodeVersioned({ version: v.version, writer: v.writer, predecessor: v.predecessor, ...(v.deleted === true ? { deleted: true as const } : {}) });

function history(specs: readonly Spec[]): History {
  const operations: Operation[] = specs.map((s) =>
    'write' in s
      ? { id: s.id, clientId: s.client, key: 'k', op: 'write', output: value({ ...s.write, writer: s.write.writer ?? s.id }), ok: true, call: s.call, return: s.ret }
      : { id: s.id, clientId: s.client, key: 'k', op: 'read', output: s.read === null ? null : value(s.read), ok: true, call: s.call, return: s.ret },
  );
  return { operations, annotations: [] };
}

/** Each chain write becomes `cas(expected: its predecessor's value, arg: its value)`. */
function asCompareAndSets(h: History): History {
  const written = new Map<number, string>();
  for (const op of h.operations) if (op.op === 'write' && typeof op.output === 'string') written.set(op.id, op.output);
  const operations = h.operations.map((op): Operation => {
    if (op.op !== 'write' || typeof op.output !== 'string') return op;
    const { predecessor } = JSON.parse(op.output) as { predecessor: number | null };
    return { id: op.id, clientId: op.clientId, key: op.key, op: 'cas', expected: predecessor === null ? null : (written.get(predecessor) ?? null), arg: op.output, ok: true, call: op.call, return: op.return };
  });
  return { operations, annotations: h.annotations };
}

const w = (id: number, client: number, call: number, ret: number, version: number, predecessor: number | null, extra: { writer?: number; deleted?: true } = {}): Spec => ({
  id,
  client,
  call,
  ret,
  write: { version, predecessor, ...extra },
});
const r = (id: number, client: number, call: number, ret: number, read: { version: number; writer: number; predecessor: number | null; deleted?: true } | null): Spec => ({ id, client, call, ret, read });

const ILLEGAL: ReadonlyArray<readonly [string, readonly Spec[]]> = [
  ['stale read', [w(0, 1, 0, 1, 1, null), w(1, 1, 2, 3, 2, 0), r(2, 2, 4, 5, { version: 1, writer: 0, predecessor: null })]],
  ['lost update', [w(0, 1, 0, 1, 1, null), w(1, 1, 2, 3, 2, 0), w(2, 2, 4, 5, 2, 0), r(3, 3, 6, 7, { version: 2, writer: 2, predecessor: 0 })]],
  ['same-version fork', [w(0, 1, 0, 1, 1, null), w(1, 1, 2, 5, 2, 0), w(2, 2, 2, 5, 2, 0)]],
  ['read from the future', [r(0, 2, 0, 1, { version: 1, writer: 1, predecessor: null }), w(1, 1, 5, 6, 1, null)]],
  ['double apply', [w(0, 1, 0, 1, 1, null), w(1, 1, 2, 3, 2, 0), r(2, 2, 4, 5, { version: 3, writer: 1, predecessor: 1 })]],
  ['resurrection after delete', [w(0, 1, 0, 1, 1, null), w(1, 1, 2, 3, 2, 0, { deleted: true }), r(2, 2, 4, 5, { version: 1, writer: 0, predecessor: null })]],
];

describe.each(ILLEGAL)('%s', (_, specs) => {
  test('the chain checker rejects it', () => {
    expect(checkChain(history(specs)).ok).toBe(false);
  });
  test('WGL (CAS register) rejects it', () => {
    expect(checkLinearizability(asCompareAndSets(history(specs)), casRegisterModel).ok).toBe(false);
  });
});

test('both accept the legal control: concurrent writes, one retried after the other, reads in order', () => {
  const legal = history([
    w(0, 1, 0, 2, 1, null),
    w(1, 2, 1, 4, 2, 0),
    r(2, 3, 5, 6, { version: 2, writer: 1, predecessor: 0 }),
    w(3, 1, 7, 8, 3, 1, { deleted: true }),
    r(4, 2, 9, 10, { version: 3, writer: 3, predecessor: 1, deleted: true }),
  ]);
  expect(checkChain(legal).ok).toBe(true);
  expect(checkLinearizability(asCompareAndSets(legal), casRegisterModel).ok).toBe(true);
});
