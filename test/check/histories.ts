/**
 * Test support for the checkers: an operation builder for hand-made histories, a generator of
 * histories from a linearizable execution (each operation takes effect at a point chosen inside its
 * interval, outputs computed in that order), and a brute-force linearizability oracle for small
 * histories.
 */
import type { Operation, OpKind, Value } from '../../src/check/history.js';
import type { Model } from '../../src/check/models.js';
import { SeededRandom } from '../../src/sim/random.js';

export interface OpFields {
  readonly arg?: Value;
  readonly expected?: Value;
  readonly output?: Value;
  readonly ok?: boolean;
  readonly fail?: true;
  readonly key?: string;
}

/**
 * Builds histories by hand: `b.op(client, 'write', call, ret, { arg: 'a' })`; `ret` null = unknown.
 * Ids are positions.
 */
export class HistoryBuilder {
  readonly operations: Operation[] = [];
  constructor(readonly defaultKey = 'x') {}

  op(clientId: number, op: OpKind, call: number, ret: number | null, fields: OpFields = {}): Operation {
    const { key = this.defaultKey, ...rest } = fields;
    const built: Operation = {
      id: this.operations.length,
      clientId,
      key,
      op,
      call,
      return: ret,
      ...(ret === null ? { unknown: true as const } : rest.fail === true ? {} : { ok: op === 'cas' ? (rest.ok ?? true) : true }),
      ...rest,
    };
    this.operations.push(built);
    return built;
  }
}

/** One operation of a randomly generated execution. */
export interface OpPlan {
  readonly client: number;
  readonly key: number;
  readonly kind: 'read' | 'write' | 'cas';
  /** Time between the client's previous return (or give-up) and this call. */
  readonly gap: number;
  /** From the call to the moment it takes effect. */
  readonly before: number;
  /** From the moment it takes effect to its return. */
  readonly after: number;
  /**
   * ok: completed; fail: definitely no effect; unknown-applied: the client gives up at its return
   * time, the operation takes effect `late` after its call; unknown-lost: never takes effect.
   */
  readonly outcome: 'ok' | 'fail' | 'unknown-applied' | 'unknown-lost';
  /** Extra delay of an unknown operation that takes effect (it may land long after the give-up). */
  readonly late: number;
  /** cas: compare with the current value (true) or with a value it does not hold. */
  readonly expectCurrent: boolean;
}

/**
 * The history of a linearizable execution of `plans` on a cas register per key: each client runs
 * its operations one after another; each operation takes effect at one instant inside its interval
 * (unknown ones: any time after the call, or never); outputs are what the register held then.
 * Written values are unique (`v<id>`); a cas that should not match compares with `nope<id>`.
 */
export function historyFromPlans(plans: readonly OpPlan[]): Operation[] {
  const clientTime = new Map<number, number>();
  interface Timed {
    readonly id: number;
    readonly plan: OpPlan;
    readonly call: number;
    readonly ret: number;
    readonly at: number | null;
  }
  const timed: Timed[] = plans.map((plan, id) => {
    const call = (clientTime.get(plan.client) ?? 0) + plan.gap;
    const at = call + plan.before;
    const ret = at + plan.after;
    clientTime.set(plan.client, ret);
    const effect = plan.outcome === 'ok' ? at : plan.outcome === 'unknown-applied' ? at + plan.late : null;
    return { id, plan, call, ret, at: effect };
  });
  const register = new Map<number, Value>();
  const results = new Map<number, { output?: Value; ok?: boolean; expected?: Value }>();
  const effective = timed.filter((t) => t.at !== null).sort((a, b) => (a.at as number) - (b.at as number) || a.id - b.id);
  for (const t of effective) {
    const current = register.get(t.plan.key) ?? null;
    if (t.plan.kind === 'read') results.set(t.id, { output: current });
    else if (t.plan.kind === 'write') register.set(t.plan.key, `v${t.id}`);
    else {
      const expected = t.plan.expectCurrent ? current : `nope${t.id}`;
      if (expected === current) register.set(t.plan.key, `v${t.id}`);
      results.set(t.id, { expected, ok: expected === current });
    }
  }
  return timed.map((t) => {
    const { plan, id } = t;
    const r = results.get(id) ?? {};
    const unknown = plan.outcome === 'unknown-applied' || plan.outcome === 'unknown-lost';
    const expected = plan.kind === 'cas' ? (r.expected ?? (plan.expectCurrent ? null : `nope${id}`)) : undefined;
    return {
      id,
      clientId: plan.client,
      key: `k${plan.key}`,
      op: plan.kind,
      ...(plan.kind === 'read' ? {} : { arg: `v${id}` }),
      ...(expected === undefined ? {} : { expected }),
      ...(plan.kind === 'read' && plan.outcome === 'ok' ? { output: r.output ?? null } : {}),
      ...(plan.outcome === 'ok' ? { ok: plan.kind === 'cas' ? (r.ok ?? false) : true } : {}),
      call: t.call,
      return: unknown ? null : t.ret,
      ...(plan.outcome === 'fail' ? { fail: true as const } : {}),
      ...(unknown ? { unknown: true as const } : {}),
    };
  });
}


export interface RandomPlanOptions {
  readonly operations: number;
  readonly keys: number;
  readonly clients: number;
  /** Probability of an unknown outcome (half of them take effect). Default 0.01. */
  readonly unknownRate?: number;
  /** Probability of a failed operation. Default 0.01. */
  readonly failRate?: number;
}

/** Plans drawn from a seeded PRNG: clients take turns, each op a read (50 %), write (25 %) or cas (25 %). */
export function randomPlans(seed: number, options: RandomPlanOptions): OpPlan[] {
  const random = new SeededRandom(seed).asFunction;
  const int = (n: number): number => Math.floor(random() * n);
  const { unknownRate = 0.01, failRate = 0.01 } = options;
  const plans: OpPlan[] = [];
  for (let i = 0; i < options.operations; i++) {
    const roll = random();
    const draw = random();
    plans.push({
      client: i % options.clients,
      key: int(options.keys),
      kind: roll < 0.5 ? 'read' : roll < 0.75 ? 'write' : 'cas',
      gap: int(3),
      before: int(10),
      after: int(10),
      outcome: draw < unknownRate / 2 ? 'unknown-applied' : draw < unknownRate ? 'unknown-lost' : draw < unknownRate + failRate ? 'fail' : 'ok',
      late: int(200),
      expectCurrent: random() < 0.7,
    });
  }
  return plans;
}

/**
 * Brute force: is there an order of the non-failed operations, consistent with real time (an
 * operation that returned strictly before another was called comes first), in which `model`
 * accepts each, with every completed operation present (unknown ones may be left out)? Exponential:
 * for a handful of operations only.
 */
export function bruteForceLinearizable<S>(ops: readonly Operation[], model: Model<S>): boolean {
  const live = ops.filter((op) => op.fail !== true);
  const isUnknown = (op: Operation): boolean => op.unknown === true || op.return === null;
  const placed = new Array<boolean>(live.length).fill(false);
  const search = (state: S, completedLeft: number): boolean => {
    if (completedLeft === 0) return true;
    for (let i = 0; i < live.length; i++) {
      if (placed[i]) continue;
      const op = live[i] as Operation;
      const blocked = live.some((other, j) => !placed[j] && j !== i && other.return !== null && !isUnknown(other) && other.return < op.call);
      if (blocked) continue;
      const after = model.step(state, op);
      if (after === undefined) continue;
      placed[i] = true;
      const found = search(after, completedLeft - (isUnknown(op) ? 0 : 1));
      placed[i] = false;
      if (found) return true;
    }
    return false;
  };
  return search(model.init(), live.filter((op) => !isUnknown(op)).length);
}
