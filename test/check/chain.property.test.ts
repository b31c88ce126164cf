/**
 * Property tests for the chain checker. A simulated linearizable execution of versioned
 * read-modify-writes (random intervals on one or two keys, a linearization point inside each
 * interval, some outcomes unknown or failed) must always pass, with its unknown writes resolved
 * soundly; the same execution with one mutation (lost update, fork, stale read or double apply,
 * chosen at random) must always fail, with the mutation's violation kind among the reported ones.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { checkChain } from '../../src/check/chain.js';
import type { History, Operation } from '../../src/check/history.js';
import { type VersionedValue, decodeVersioned, encodeVersioned, nextVersioned } from '../../src/check/versioned.js';

type Outcome = 'ok' | 'unknown-effect' | 'unknown-none' | 'fail';

interface Planned {
  readonly key: number;
  readonly kind: 'read' | 'write' | 'delete';
  readonly call: number;
  readonly length: number;
  /** Where the linearization point falls in the interval, in percent. */
  readonly at: number;
  /** An unknown write that takes effect may do so this much after its interval would have ended. */
  readonly late: number;
  readonly outcome: Outcome;
}

const plannedArbitrary: fc.Arbitrary<Planned> = fc.record({
  key: fc.integer({ min: 0, max: 1 }),
  kind: fc.oneof(
    { weight: 4, arbitrary: fc.constant('read' as const) },
    { weight: 4, arbitrary: fc.constant('write' as const) },
    { weight: 1, arbitrary: fc.constant('delete' as const) },
  ),
  call: fc.integer({ min: 0, max: 200 }),
  length: fc.integer({ min: 0, max: 40 }),
  at: fc.integer({ min: 0, max: 100 }),
  late: fc.integer({ min: 0, max: 100 }),
  outcome: fc.oneof(
    { weight: 8, arbitrary: fc.constant('ok' as const) },
    { weight: 3, arbitrary: fc.constant('unknown-effect' as const) },
    { weight: 2, arbitrary: fc.constant('unknown-none' as const) },
    { weight: 1, arbitrary: fc.constant('fail' as const) },
  ),
});

/** What one effective operation did, in linearization order per key. */
interface Event {
  readonly id: number;
  readonly kind: 'read' | 'write';
  /** It completed (its output is in the history). */
  readonly completed: boolean;
  /** The state it saw (a read's output). */
  readonly before: string | null;
  /** A write's value. */
  readonly value: string | null;
}

interface Simulation {
  readonly history: History;
  readonly events: ReadonlyMap<string, readonly Event[]>;
  /** Unknown writes that took effect. */
  readonly unknownTookEffect: ReadonlySet<number>;
  readonly unknownWrites: readonly number[];
}

/** Execution tweaks that break linearizability. */
interface Tweak {
  /** This write computes its value from the state before the previous write of its key. */
  readonly fork?: number;
  /** This write's change function is applied twice in a row. */
  readonly doubleApply?: number;
}

/** Runs the plan: operation i has id i; effective operations run in order of their linearization points. */
function simulate(plan: readonly Planned[], tweak: Tweak = {}): Simulation {
  const points: { id: number; point: number }[] = [];
  plan.forEach((p, id) => {
    const isRead = p.kind === 'read';
    if (p.outcome === 'ok') points.push({ id, point: p.call + (p.length * p.at) / 100 });
    else if (p.outcome === 'unknown-effect' && !isRead) points.push({ id, point: p.call + ((p.length + p.late) * p.at) / 100 });
  });
  points.sort((a, b) => a.point - b.point || a.id - b.id);
  const state = new Map<string, string | null>();
  const beforeLastWrite = new Map<string, string | null>();
  const outputs = new Map<number, string | null>();
  const events = new Map<string, Event[]>();
  const unknownTookEffect = new Set<number>();
  for (const { id } of points) {
    const p = plan[id] as Planned;
    const key = `k${p.key}`;
    const current = state.get(key) ?? null;
    const completed = p.outcome === 'ok';
    const list = events.get(key) ?? [];
    events.set(key, list);
    if (p.kind === 'read') {
      outputs.set(id, current);
      list.push({ id, kind: 'read', completed, before: current, value: null });
      continue;
    }
    const payload = p.kind === 'delete' ? { deleted: true } : { n: id };
    const base = tweak.fork === id ? (beforeLastWrite.get(key) ?? null) : current;
    let value = nextVersioned(base, id, payload);
    outputs.set(id, value);
    beforeLastWrite.set(key, current);
    if (tweak.doubleApply === id) value = nextVersioned(value, id, payload);
    state.set(key, value);
    if (!completed) unknownTookEffect.add(id);
    list.push({ id, kind: 'write', completed, before: current, value: outputs.get(id) ?? null });
  }
  const operations: Operation[] = plan.map((p, id) => {
    const base = { id, clientId: id % 5, key: `k${p.key}`, op: p.kind === 'read' ? ('read' as const) : ('write' as const), call: p.call };
    switch (p.outcome) {
      case 'ok':
        return { ...base, return: p.call + p.length, ok: true, output: outputs.get(id) ?? null };
      case 'fail':
        return { ...base, return: p.call + p.length, fail: true as const };
      default:
        return { ...base, return: null, unknown: true as const };
    }
  });
  const unknownWrites = plan.flatMap((p, id) => (p.kind !== 'read' && p.outcome.startsWith('unknown') ? [id] : []));
  return { history: { operations, annotations: [] }, events, unknownTookEffect, unknownWrites };
}

/** FC_RUNS overrides the number of runs (e.g. FC_RUNS=20000 for a soak); FC_SEED replays a failure. */
const RUNS = process.env.FC_RUNS === undefined ? 400 : Number(process.env.FC_RUNS);
const PARAMETERS = { numRuns: RUNS, ...(process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) }) };

const MUTATIONS = ['lost-update', 'fork', 'stale-read', 'double-apply'] as const;
type MutationKind = (typeof MUTATIONS)[number];

/** The ways to apply one mutation of `kind` to the plan's execution (each a function returning the mutated history). */
function candidates(plan: readonly Planned[], sim: Simulation, kind: MutationKind): (() => History)[] {
  const found: (() => History)[] = [];
  const ops = sim.history.operations;
  for (const list of sim.events.values()) {
    const writes = list.filter((e) => e.kind === 'write');
    switch (kind) {
      case 'fork':
        // a completed write computes its value from the state before the previous (completed) write
        for (let i = 1; i < writes.length; i += 1) {
          const [a, b] = [writes[i - 1] as Event, writes[i] as Event];
          if (a.completed && b.completed) found.push(() => simulate(plan, { fork: b.id }).history);
        }
        break;
      case 'double-apply':
        // a completed write applied twice, the second value read by the next operation of the key
        list.forEach((e, i) => {
          const next = list[i + 1];
          if (e.kind === 'write' && e.completed && next?.kind === 'read' && next.completed) {
            found.push(() => simulate(plan, { doubleApply: e.id }).history);
          }
        });
        break;
      case 'lost-update':
        // the value after a completed write names that write's predecessor instead of it
        for (let i = 0; i + 1 < writes.length; i += 1) {
          const [w, s] = [writes[i] as Event, writes[i + 1] as Event];
          const successor = s.value as string;
          if (!w.completed || !ops.some((op) => op.return !== null && op.output === successor)) continue;
          found.push(() => {
            const decoded = decodeVersioned(successor) as VersionedValue;
            const mutated = encodeVersioned({ ...decoded, predecessor: (decodeVersioned(w.value) as VersionedValue).predecessor });
            return replaceOutputs(sim.history, (op) => (op.output === successor ? mutated : undefined));
          });
        }
        break;
      case 'stale-read':
        // a read returns the value before a write that completed before the read was invoked
        for (const w of writes) {
          const wOp = ops[w.id] as Operation;
          if (!w.completed) continue;
          for (const r of list) {
            const rOp = ops[r.id] as Operation;
            if (r.kind === 'read' && r.completed && (wOp.return as number) < rOp.call) {
              found.push(() => replaceOutputs(sim.history, (op) => (op.id === r.id ? w.before : undefined)));
            }
          }
        }
        break;
    }
  }
  return found;
}

/** The history with the outputs `replace` returns (`undefined`: unchanged). */
function replaceOutputs(history: History, replace: (op: Operation) => string | null | undefined): History {
  return {
    ...history,
    operations: history.operations.map((op) => {
      const output = replace(op);
      return output === undefined ? op : { ...op, output };
    }),
  };
}

describe('checkChain on simulated executions', () => {
  test.prop([fc.array(plannedArbitrary, { minLength: 0, maxLength: 40, size: 'medium' })], PARAMETERS)(
    'a linearizable execution passes, and its unknown writes are resolved soundly',
    (plan) => {
      const sim = simulate(plan);
      const result = checkChain(sim.history);
      expect(result.violations, result.report).toEqual([]);
      expect(result.ok).toBe(true);
      const { tookEffect, noEffect, undetermined } = result.resolved;
      // a partition of the unknown writes
      expect([...tookEffect, ...noEffect, ...undetermined].sort((a, b) => a - b)).toEqual(sim.unknownWrites);
      for (const id of tookEffect) expect(sim.unknownTookEffect.has(id), `#${id} did not take effect`).toBe(true);
      // an unknown write whose value someone returned is known to have taken effect
      const returned = new Set(sim.history.operations.flatMap((op) => (op.return !== null && typeof op.output === 'string' ? [op.output] : [])));
      for (const list of sim.events.values()) {
        for (const e of list) {
          if (e.kind === 'write' && !e.completed && returned.has(e.value as string)) expect(tookEffect).toContain(e.id);
        }
      }
    },
  );

  test.prop([fc.array(plannedArbitrary, { minLength: 4, maxLength: 40, size: 'medium' }), fc.nat(), fc.nat()], PARAMETERS)(
    'the same execution with one mutation fails with that mutation\'s kind',
    (plan, kindSeed, choice) => {
      const sim = simulate(plan);
      // the first kind, starting at a random one, that this execution can be mutated with
      let kind: MutationKind | undefined;
      let options: (() => History)[] = [];
      for (let i = 0; i < MUTATIONS.length && options.length === 0; i += 1) {
        kind = MUTATIONS[(kindSeed + i) % MUTATIONS.length] as MutationKind;
        options = candidates(plan, sim, kind);
      }
      fc.pre(options.length > 0);
      const mutated = (options[choice % options.length] as () => History)();
      const result = checkChain(mutated);
      expect(result.ok, `${kind}:\n${result.report}`).toBe(false);
      expect(
        result.violations.map((v) => v.kind),
        `${kind}:\n${result.report}`,
      ).toContain(kind);
    },
  );

  test('a long history is checked quickly', () => {
    // 60,000 operations on 3 keys: sequential read-modify-writes with concurrent reads
    const plan: Planned[] = [];
    for (let i = 0; i < 60_000; i += 1) {
      plan.push({ key: i % 3, kind: i % 2 === 0 ? 'write' : 'read', call: i, length: 3, at: 50, late: 0, outcome: i % 97 === 0 ? 'unknown-effect' : 'ok' });
    }
    const started = Date.now();
    const result = checkChain(simulate(plan).history);
    expect(result.ok, result.report.slice(0, 2000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
