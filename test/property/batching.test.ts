/**
 * Property test: batching (and, with it, one round trip and recovery) under a scheduled, lossy
 * network. Many concurrent clients append unique op ids to a few keys through a few proposers;
 * clients sharing a proposer and a key queue behind each other's rounds and run in batches
 * (`maxBatch` chosen by fast-check). Every prepare and accept, request and reply, is scheduled by
 * fast-check (see `ScheduledNetwork`), with lost requests, lost replies and late deliveries.
 *
 * After everything settled and every late message was delivered, each key is read through every
 * proposer, and:
 *  1. every acknowledged op is in the final state of its key exactly once; no op appears twice;
 *     an op that failed with PrepareFailedError is absent; no op appears under another key;
 *  2. an acknowledged op's state (the state its own change produced, inside its batch) ends with
 *     its id and is a prefix of the final state;
 *  3. the final order is consistent with each proposer's arrival order: two ops on one key
 *     submitted to one proposer appear in the order they were submitted;
 *  4. and with real time: an op acknowledged before another op on its key was invoked comes first;
 *  5. no (key, ballot) pair is accepted with two different states anywhere.
 *
 * A negative control runs the same harness with a broken change composition on the test side:
 * each change is applied to the state its batch started from instead of the state it is given
 * (the previous change's result), as a proposer that composed a batch wrongly would do. It must
 * be caught; and the same broken changes must pass when nothing is ever composed (no batching,
 * no one round trip), which shows that the control exercises the composition.
 *
 * The harness (running a history, the checks shared with cas-increments.test.ts) is in
 * test/support/property-harness.ts.
 *
 * Replaying a failure: FC_SEED=... FC_PATH=... npx vitest run test/property/batching.test.ts
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ChangeFunc, MemoryAcceptor, type State, formatBallot } from '../../src/index.js';
import {
  type Check,
  type RunResult,
  checkAcknowledgedStates,
  checkOneStatePerBallot,
  checkPresence,
  checkRealTime,
  expectCaught,
  expectHolds,
  finalOf,
  parameters,
  runHistory,
  violated,
} from '../support/property-harness.js';
import { type Fate, fateArbitrary } from '../support/scheduled-network.js';
import { appendOp, opsOf, opsState } from '../support/text.js';

const KEYS = ['x', 'y'] as const;
const PROPOSERS = ['p0', 'p1'] as const;

interface Client {
  /** Index into PROPOSERS. */
  readonly proposer: number;
  /** The keys (indices into KEYS) of its ops, run one after another. */
  readonly ops: readonly number[];
}

interface Scenario {
  readonly clients: readonly Client[];
  readonly maxBatch: number;
  readonly fates: readonly Fate[];
}

const scenarioArbitrary: fc.Arbitrary<Scenario> = fc.record({
  // 4 to 10 concurrent clients on 2 proposers and 2 keys: several clients queue on one key of one
  // proposer most of the time, so rounds run batches.
  clients: fc.array(
    fc.record({
      proposer: fc.nat({ max: PROPOSERS.length - 1 }),
      ops: fc.array(fc.nat({ max: KEYS.length - 1 }), { minLength: 1, maxLength: 3 }),
    }),
    { minLength: 4, maxLength: 10 },
  ),
  maxBatch: fc.oneof({ weight: 1, arbitrary: fc.constant(1) }, { weight: 4, arbitrary: fc.integer({ min: 2, max: 6 }) }, { weight: 2, arbitrary: fc.constant(64) }),
  fates: fc.array(fateArbitrary, { minLength: 30, maxLength: 150 }),
});

/** How each op's change function is built. */
type ChangeFactory = (id: string) => ChangeFunc;

const correctAppend: ChangeFactory = (id) => appendOp(id);

/**
 * BROKEN (test side): when the state a change is given is another change's result (the proposer
 * chained them: a batch, or the next round's start from the one-round-trip cache), it appends to
 * the state that change was given instead. So every change of a composition sees its base state,
 * and only the last one's op survives. When nothing is chained (each change gets a state fresh
 * from the acceptors) it is a correct append.
 */
function baseAppend(): ChangeFactory {
  const baseOf = new WeakMap<Uint8Array, State>();
  return (id) => (current) => {
    const base = current === null ? null : (baseOf.has(current) ? (baseOf.get(current) ?? null) : current);
    const next = opsState([...opsOf(base), id]);
    baseOf.set(next, base);
    return next;
  };
}

/** Coverage counters over all runs (printed nowhere; asserted below). */
const coverage = { runs: 0, acknowledged: 0, failed: 0, batchedRounds: 0, skipPrepare: 0, recoveries: 0 };

function countCoverage({ ops, events }: RunResult): void {
  coverage.runs++;
  coverage.acknowledged += ops.filter((op) => op.outcome === 'ok').length;
  coverage.failed += ops.filter((op) => op.outcome !== 'ok').length;
  const perRound = new Map<string, number>();
  for (const op of ops) {
    const e = op.outcome === 'ok' ? events.find((x) => x.type === 'committed' && x.key === op.key && x.proposer === op.proposer && opsOf(x.state).includes(op.id)) : undefined;
    if (e !== undefined && e.type === 'committed') {
      const round = `${e.key} ${formatBallot(e.ballot)}`;
      perRound.set(round, (perRound.get(round) ?? 0) + 1);
    }
  }
  coverage.batchedRounds += [...perRound.values()].filter((n) => n > 1).length;
  coverage.skipPrepare += events.filter((e) => e.type === 'skip-prepare').length;
  coverage.recoveries += events.filter((e) => e.type === 'recovery').length;
}

interface Overrides {
  readonly maxBatch?: number;
  readonly oneRoundTrip?: boolean;
}

async function runScenario(s: fc.Scheduler, scenario: Scenario, makeChange: ChangeFactory, overrides: Overrides): Promise<RunResult> {
  const run = await runHistory(s, {
    fates: scenario.fates,
    keys: KEYS,
    acceptorCount: 3,
    makeAcceptor: (address) => new MemoryAcceptor(address),
    proposerIds: PROPOSERS,
    proposerOptions: { maxBatch: overrides.maxBatch ?? scenario.maxBatch, oneRoundTrip: overrides.oneRoundTrip ?? true },
    clients: scenario.clients.map((client) => ({ proposer: client.proposer, keys: client.ops.map((k) => KEYS[k] as string) })),
    // Clients can get between each other's ops, so they queue behind each other's rounds.
    pacing: 'before-each-op',
    makeChange,
  });
  countCoverage(run);
  return run;
}

/** 3. One proposer's ops on one key take effect in the order they reached it. */
function checkArrivalOrder(run: RunResult): void {
  for (const a of run.ops) {
    for (const b of run.ops) {
      if (a.proposer !== b.proposer || a.key !== b.key || a.arrival >= b.arrival) continue;
      const list = finalOf(run, a.key);
      const [ia, ib] = [list.indexOf(a.id), list.indexOf(b.id)];
      if (ia >= 0 && ib >= 0 && ia > ib) violated(`${a.id} reached ${a.proposer} before ${b.id}, yet comes after it in ${a.key}`);
    }
  }
}

/** Invariants 1 to 5 of the header, in that order; all but 3 are shared with cas-increments. */
const ALL_CHECKS: readonly Check[] = [checkPresence, checkAcknowledgedStates, checkArrivalOrder, checkRealTime, checkOneStatePerBallot];

function batchingProperty(makeChange: () => ChangeFactory, overrides: Overrides = {}) {
  return fc.asyncProperty(fc.scheduler(), scenarioArbitrary, async (s, scenario) => {
    const run = await runScenario(s, scenario, makeChange(), overrides);
    for (const check of ALL_CHECKS) check(run);
  });
}

const TIMEOUT_MS = Math.max(60_000, Number(process.env.FC_RUNS ?? 0) * 40);

describe('batched proposals under a scheduled, lossy network', () => {
  it('keep every acknowledged op exactly once, in arrival and real-time order', { timeout: TIMEOUT_MS }, async () => {
    await fc.assert(batchingProperty(() => correctAppend), parameters(250));
    // The runs did exercise what they are about (unless replaying a single case).
    if (process.env.FC_PATH === undefined) {
      expect(coverage.batchedRounds).toBeGreaterThan(0);
      expect(coverage.skipPrepare).toBeGreaterThan(0);
      expect(coverage.recoveries).toBeGreaterThan(0);
    }
  });

  it('negative control: a broken change composition (every change of a batch applied to its base state) is caught', { timeout: TIMEOUT_MS }, async () => {
    const violation = await expectCaught(batchingProperty(baseAppend), 100);
    // A lost update: an acknowledged op missing, or a state that does not lead to the final one.
    expect(String(violation)).toMatch(/missing from final|not a prefix|comes after/);
  });

  it('...and the same broken changes pass when no proposer ever composes changes (no batching, no one round trip)', { timeout: TIMEOUT_MS }, async () => {
    await expectHolds(batchingProperty(baseAppend, { maxBatch: 1, oneRoundTrip: false }), 60);
  });
});
