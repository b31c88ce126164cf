/**
 * Plans: a whole simulation described as plain data (seed, fault rates, partitions, workload
 * size), so fast-check can generate and shrink it and a failing one can be saved as JSON and
 * replayed (`npm run sim -- --plan FILE`). Shrinking moves every rate toward 0 and drops
 * partitions: toward a calm network, so a minimised plan names only the faults that matter.
 */
import fc from 'fast-check';
import type { LinkProfile } from '../../src/sim/network.js';
import type { WorkloadKind } from '../../src/sim/workload.js';
import type { Scenario } from './scenario-kit.js';

export interface PartitionPlan {
  /** When it starts and how long it lasts (virtual ms). */
  readonly startMs: number;
  readonly lengthMs: number;
  /** Who is cut off from whom. */
  readonly kind: 'minority' | 'majority' | 'requests' | 'replies';
}

export interface Plan {
  readonly seed: number;
  readonly kind: WorkloadKind;
  readonly clients: number;
  readonly keys: number;
  readonly ops: number;
  readonly requestDrop: number;
  readonly replyDrop: number;
  readonly duplicate: number;
  readonly maxDelayMs: number;
  readonly replayDelayMs: number;
  readonly crashRate: number;
  readonly abortRate: number;
  readonly partitions: readonly PartitionPlan[];
}

const rate = (max: number) => fc.double({ min: 0, max, noNaN: true });

export const planArbitrary: fc.Arbitrary<Plan> = fc.record({
  seed: fc.integer({ min: 1, max: 0x7fffffff }),
  kind: fc.constantFrom<WorkloadKind>('register', 'chain', 'counter'),
  clients: fc.integer({ min: 3, max: 8 }),
  keys: fc.integer({ min: 1, max: 4 }),
  ops: fc.integer({ min: 100, max: 160 }),
  requestDrop: rate(0.3),
  replyDrop: rate(0.3),
  duplicate: rate(0.3),
  maxDelayMs: fc.double({ min: 0.1, max: 10, noNaN: true }),
  replayDelayMs: fc.double({ min: 0, max: 30, noNaN: true }),
  crashRate: rate(0.02),
  abortRate: rate(0.2),
  partitions: fc.array(
    fc.record({
      startMs: fc.integer({ min: 0, max: 100 }),
      lengthMs: fc.integer({ min: 1, max: 30 }),
      kind: fc.constantFrom<PartitionPlan['kind']>('minority', 'majority', 'requests', 'replies'),
    }),
    { maxLength: 3 },
  ),
});

/** The scenario a plan describes (3 proposers, 3 acceptors). */
export function planScenario(plan: Plan): Scenario {
  const link = (drop: number): LinkProfile => ({
    dropRate: drop,
    duplicateRate: plan.duplicate,
    minDelayMs: 0.1,
    maxDelayMs: Math.max(0.1, plan.maxDelayMs),
    replayDelayMs: plan.replayDelayMs,
  });
  const keys = Array.from({ length: plan.keys }, (_, i) => `k${i}`);
  return {
    name: 'plan',
    summary: `a generated plan: ${JSON.stringify(plan)}`,
    kind: plan.kind,
    defaultOps: plan.ops,
    simulation: () => ({ proposers: ['p1', 'p2', 'p3'], network: { request: link(plan.requestDrop), reply: link(plan.replyDrop) } }),
    workload: (ops) => ({ clients: plan.clients, keys, operationsPerClient: Math.max(1, Math.round(ops / plan.clients)), abortRate: plan.abortRate }),
    script: (sim) => {
      if (plan.crashRate > 0) sim.acceptorCrashes = { rate: plan.crashRate, minDowntimeMs: 1, maxDowntimeMs: 15 };
      for (const p of plan.partitions) {
        sim.at(p.startMs, () => {
          if (p.kind === 'minority') sim.partition(['a3'], ['p1', 'p2', 'p3', 'a1', 'a2']);
          else if (p.kind === 'majority') sim.partition(['p1'], ['a1', 'a2']);
          else sim.partition(['p2'], ['a2', 'a3'], p.kind);
        });
        sim.at(p.startMs + p.lengthMs, () => sim.heal());
      }
    },
  };
}
