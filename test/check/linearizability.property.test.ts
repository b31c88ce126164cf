/**
 * Property tests of the WGL checker.
 *  1. Histories of a random linearizable execution (each operation takes effect at a point inside
 *     its interval; unknown ones late or never; failed ones never) always pass; the same history
 *     with one completed read's output replaced by a value never written always fails (so the
 *     checker can fail, and fails where it should).
 *  2. Differential: on small arbitrary histories (most not linearizable), the verdict equals a
 *     brute-force search over every order, with and without the models' effect hints.
 *
 * Replay a failure with FC_SEED=<seed> (and FC_PATH=<path>); FC_RUNS sets the number of runs.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { Operation, Value } from '../../src/check/history.js';
import { checkLinearizability } from '../../src/check/linearizability.js';
import { casRegisterModel, counterModel, deleteAwareRegisterModel, type Model } from '../../src/check/models.js';
import { type OpPlan, bruteForceLinearizable, historyFromPlans } from './histories.js';

const RUNS = Number(process.env.FC_RUNS ?? 200);
const PARAMETERS = {
  numRuns: RUNS,
  ...(process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) }),
  ...(process.env.FC_PATH === undefined ? {} : { path: process.env.FC_PATH }),
};

/** The same model without its name and effect hint: exercises the checker's generic path. */
function withoutHints<S>(model: Model<S>): Model<S> {
  return {
    init: () => model.init(),
    step: (state, op) => model.step(state, op),
    key: (state) => model.key(state),
    describe: (state) => model.describe(state),
  };
}

const planArbitrary: fc.Arbitrary<OpPlan> = fc.record({
  client: fc.integer({ min: 0, max: 4 }),
  key: fc.integer({ min: 0, max: 2 }),
  kind: fc.constantFrom('read', 'write', 'cas'),
  gap: fc.integer({ min: 0, max: 4 }),
  before: fc.integer({ min: 0, max: 8 }),
  after: fc.integer({ min: 0, max: 8 }),
  outcome: fc.oneof(
    { arbitrary: fc.constant('ok' as const), weight: 12 },
    { arbitrary: fc.constant('fail' as const), weight: 1 },
    { arbitrary: fc.constant('unknown-applied' as const), weight: 2 },
    { arbitrary: fc.constant('unknown-lost' as const), weight: 2 },
  ),
  late: fc.integer({ min: 0, max: 60 }),
  expectCurrent: fc.boolean(),
});

describe('linearizable executions', () => {
  test.prop([fc.array(planArbitrary, { minLength: 1, maxLength: 80 }), fc.nat()], PARAMETERS)(
    'pass; with one read corrupted to a value never written, fail on that key',
    (plans, pick) => {
      const history = historyFromPlans(plans);
      for (const model of [casRegisterModel, withoutHints(casRegisterModel)]) {
        const result = checkLinearizability(history, model);
        if (result.ok !== true) throw new Error(`a linearizable history failed:\n${result.report}`);
      }
      expect(checkLinearizability(history, deleteAwareRegisterModel).ok).toBe(true);

      const reads = history.filter((op) => op.op === 'read' && op.fail !== true && op.return !== null);
      fc.pre(reads.length > 0);
      const target = reads[pick % reads.length] as Operation;
      const corrupted = history.map((op) => (op.id === target.id ? { ...op, output: 'never-written' } : op));
      for (const model of [casRegisterModel, withoutHints(casRegisterModel)]) {
        const result = checkLinearizability(corrupted, model);
        expect(result.ok).toBe(false);
        expect(result.violations.map((v) => v.key)).toEqual([target.key]);
      }
    },
  );
});

// Small arbitrary histories on one key: intervals, outcomes and outputs all random.
const VALUES: readonly Value[] = [null, 'a', 'b'];
const valueArbitrary = fc.constantFrom(...VALUES);
const outcomeArbitrary = fc.oneof(
  { arbitrary: fc.constant('ok' as const), weight: 6 },
  { arbitrary: fc.constant('unknown' as const), weight: 2 },
  { arbitrary: fc.constant('fail' as const), weight: 1 },
);

interface RawOp {
  readonly kind: Operation['op'];
  readonly call: number;
  readonly duration: number;
  readonly outcome: 'ok' | 'unknown' | 'fail';
  readonly arg: Value;
  readonly expected: Value;
  readonly output: Value;
  readonly ok: boolean;
}

function toHistory(raw: readonly RawOp[]): Operation[] {
  return raw.map((r, id) => ({
    id,
    clientId: id,
    key: 'x',
    op: r.kind,
    ...(r.kind === 'read' ? {} : { arg: r.arg }),
    ...(r.kind === 'cas' ? { expected: r.expected } : {}),
    ...(r.outcome === 'ok' && (r.kind === 'read' || r.kind === 'add') ? { output: r.output } : {}),
    ...(r.outcome === 'ok' ? { ok: r.kind === 'cas' ? r.ok : true } : {}),
    call: r.call,
    return: r.outcome === 'unknown' ? null : r.call + r.duration,
    ...(r.outcome === 'fail' ? { fail: true as const } : {}),
    ...(r.outcome === 'unknown' ? { unknown: true as const } : {}),
  }));
}

const registerOpArbitrary: fc.Arbitrary<RawOp> = fc.record({
  kind: fc.constantFrom('read', 'read', 'write', 'cas') as fc.Arbitrary<Operation['op']>,
  call: fc.integer({ min: 0, max: 12 }),
  duration: fc.integer({ min: 0, max: 6 }),
  outcome: outcomeArbitrary,
  arg: valueArbitrary,
  expected: valueArbitrary,
  output: valueArbitrary,
  ok: fc.boolean(),
});

const counterOpArbitrary: fc.Arbitrary<RawOp> = fc.record({
  kind: fc.constantFrom('read', 'add') as fc.Arbitrary<Operation['op']>,
  call: fc.integer({ min: 0, max: 12 }),
  duration: fc.integer({ min: 0, max: 6 }),
  outcome: outcomeArbitrary,
  arg: fc.constantFrom('1', '2', '-1'),
  expected: fc.constant(null),
  output: fc.constantFrom(null, '0', '1', '2', '3'),
  ok: fc.constant(true),
});

describe('differential against brute force', () => {
  const DIFF = { ...PARAMETERS, numRuns: RUNS * 3 };

  test.prop([fc.array(registerOpArbitrary, { minLength: 1, maxLength: 7 })], DIFF)('cas register: same verdict as trying every order', (raw) => {
    const history = toHistory(raw);
    const expected = bruteForceLinearizable(history, casRegisterModel);
    expect(checkLinearizability(history, casRegisterModel).ok).toBe(expected);
    expect(checkLinearizability(history, withoutHints(casRegisterModel)).ok).toBe(expected);
    expect(checkLinearizability(history, deleteAwareRegisterModel).ok).toBe(expected);
  });

  test.prop([fc.array(counterOpArbitrary, { minLength: 1, maxLength: 7 })], DIFF)('counter: same verdict as trying every order', (raw) => {
    const history = toHistory(raw);
    const expected = bruteForceLinearizable(history, counterModel);
    expect(checkLinearizability(history, counterModel).ok).toBe(expected);
    expect(checkLinearizability(history, withoutHints(counterModel)).ok).toBe(expected);
  });

  test('the generated cases include both verdicts', () => {
    // Guards the differential tests against vacuity: a fixed sample has passes and failures.
    const sample = fc.sample(fc.array(registerOpArbitrary, { minLength: 1, maxLength: 7 }), { numRuns: 200, seed: 42 });
    const verdicts = sample.map((raw) => checkLinearizability(toHistory(raw), casRegisterModel).ok);
    expect(verdicts.filter((v) => v === true).length).toBeGreaterThan(20);
    expect(verdicts.filter((v) => v === false).length).toBeGreaterThan(20);
  });
});
