/**
 * Property tests: concurrent CAS increments through several proposers over acceptors whose every
 * prepare and accept (request and reply) is scheduled by fast-check's scheduler, with lost
 * requests, lost replies and late deliveries chosen by fast-check (see `ScheduledNetwork`).
 *
 * Each operation has a unique id; its change function parses the state (a JSON list of op ids,
 * `null` = empty), appends its id and returns the list. After every operation settled and every
 * late message was delivered, each key is read through every proposer, and:
 *  1. an acknowledged op's id is in the final state of its key exactly once; an op that failed
 *     with PrepareFailedError (no effect) is absent; one with AcceptFailedError (unknown) appears
 *     at most once; no id appears twice; no id appears under another key;
 *  2. every state returned to a client, every state a proposer traced as committed and every state
 *     a majority of acceptors accepted under one ballot is a prefix of the final state (all states
 *     form one chain); an acknowledged state ends with its own op id;
 *  3. no (key, ballot) pair is accepted with two different states anywhere;
 *  4. real-time order: an op acknowledged before another op on the same key was invoked comes
 *     before it in the final state.
 *
 * Replaying a failure: fast-check prints `seed` and `path` (and the scheduler's task log in the
 * counterexample). Run, e.g.
 *   FC_SEED=-1234 FC_PATH="17:2:0" npx vitest run test/property/cas-increments.test.ts -t "3 acceptors"
 * FC_SEED alone re-runs the same sequence of scenarios; FC_PATH jumps straight to the shrunk one.
 * FC_RUNS overrides the number of runs (e.g. FC_RUNS=2000 for a longer soak).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AcceptFailedError,
  type Acceptor,
  MemoryAcceptor,
  MemoryProposer,
  PrepareFailedError,
  type TraceEvent,
  formatBallot,
  majority,
} from '../../src/index.js';
import { seededRandom } from '../support/cluster.js';
import type { FaultyAcceptor } from '../support/faulty-acceptor.js';
import { RuleAcceptor, acceptIgnoringPromise, firstValueWins, forgetfulPrepare, prepareAllowingEqual } from '../support/rule-acceptor.js';
import { type Fate, ScheduledNetwork, fateArbitrary } from '../support/scheduled-network.js';
import { appendOp, dec, isPrefix, opsOf } from '../support/text.js';

const KEYS = ['x', 'y'] as const;
const PROPOSERS = ['p0', 'p1', 'p2'] as const;

/** A broken invariant (as opposed to a crash of the harness). */
class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

function violated(message: string): never {
  throw new InvariantViolation(message);
}

interface Scenario {
  /** Per client, the keys (indices into KEYS) of its operations, run one after another. */
  readonly clients: readonly (readonly number[])[];
  readonly fates: readonly Fate[];
}

/** 4 clients on 3 proposers (clients 0 and 3 share p0), 1-3 ops each, on 2 keys. */
const scenarioArbitrary: fc.Arbitrary<Scenario> = fc.record({
  clients: fc.array(fc.array(fc.nat({ max: KEYS.length - 1 }), { minLength: 1, maxLength: 3 }), { minLength: 4, maxLength: 4 }),
  // Explicit lengths: with fast-check's default size an array stays short and only the first few
  // calls would ever meet a fault. A run makes about 30 to 150 calls.
  fates: fc.array(fateArbitrary, { minLength: 30, maxLength: 150 }),
});

type OpOutcome = 'ok' | 'prepare-failed' | 'accept-failed' | 'error';

interface OpRecord {
  readonly id: string;
  readonly key: string;
  readonly invokedAt: number;
  readonly respondedAt: number;
  readonly outcome: OpOutcome;
  /** The acknowledged state (outcome `ok`). */
  readonly state?: string[];
  readonly error?: unknown;
}

interface RunResult {
  readonly ops: readonly OpRecord[];
  /** Final state of each key, as read through the first proposer. */
  readonly final: ReadonlyMap<string, string[]>;
  readonly acceptors: readonly FaultyAcceptor<Acceptor>[];
  readonly events: readonly TraceEvent[];
}

/** Runs one scenario to the end and returns what happened; throws only on a harness failure. */
async function runScenario(
  s: fc.Scheduler,
  scenario: Scenario,
  makeAcceptor: (address: string) => Acceptor,
  acceptorCount: number,
  proposerIds: readonly string[] = PROPOSERS,
): Promise<RunResult> {
  const network = new ScheduledNetwork(s, scenario.fates);
  const acceptors = Array.from({ length: acceptorCount }, (_, i) => network.wrap(makeAcceptor(String.fromCharCode(65 + i))));
  const events: TraceEvent[] = [];
  const proposers = proposerIds.map(
    (id, i) =>
      new MemoryProposer(id, acceptors, {
        tracer: (event) => events.push(event),
        retry: { attempts: 3 },
        // Retries wait for the scheduler, never for a timer.
        sleep: () => s.schedule(Promise.resolve(), `${id} sleeps`),
        random: seededRandom(i + 1),
      }),
  );

  let clock = 0;
  const ops: OpRecord[] = [];
  const clients = scenario.clients.map(async (keys, c) => {
    const proposer = proposers[c % proposers.length] as MemoryProposer;
    await s.schedule(Promise.resolve(), `client ${c} starts`);
    for (const [j, k] of keys.entries()) {
      const id = `c${c}.${j}`;
      const key = KEYS[k] as string;
      const invokedAt = ++clock;
      try {
        const result = await proposer.propose(key, appendOp(id));
        ops.push({ id, key, invokedAt, respondedAt: ++clock, outcome: 'ok', state: opsOf(result.state) });
      } catch (error) {
        const outcome: OpOutcome =
          error instanceof PrepareFailedError ? 'prepare-failed' : error instanceof AcceptFailedError ? 'accept-failed' : 'error';
        ops.push({ id, key, invokedAt, respondedAt: ++clock, outcome, error });
      }
    }
  });
  await s.waitFor(Promise.all(clients));
  // Deliver every message still in flight (late requests, orphaned replies) before reading.
  await s.waitIdle();

  network.faults = false;
  const final = new Map<string, string[]>();
  for (const key of KEYS) {
    for (const proposer of proposers) {
      let state: string[] | undefined;
      for (let attempt = 0; attempt < 3 && state === undefined; attempt++) {
        try {
          state = opsOf((await s.waitFor(proposer.identityRead(key))).state);
        } catch {
          // Another attempt: with a reliable network a read can only lose to a concurrent one.
        }
      }
      if (state === undefined) violated(`the final read of ${key} through ${proposer.address} kept failing on a reliable network`);
      const first = final.get(key);
      if (first === undefined) final.set(key, state);
      else if (JSON.stringify(first) !== JSON.stringify(state)) {
        violated(`final reads of ${key} disagree: ${JSON.stringify(first)} vs ${JSON.stringify(state)} (${proposer.address})`);
      }
    }
  }
  await s.waitIdle();
  return { ops, final, acceptors, events };
}

function finalOf({ final }: RunResult, key: string): string[] {
  return final.get(key) ?? violated(`no final state for ${key}`);
}

/** 1. Outcomes: an acknowledged op is in the final state once; a prepare-failed one is absent. */
function checkPresence(run: RunResult): void {
  const opById = new Map(run.ops.map((op) => [op.id, op]));
  for (const op of run.ops) {
    if (op.outcome === 'error') violated(`op ${op.id} failed with an unexpected error: ${String(op.error)}`);
  }
  for (const [key, list] of run.final) {
    if (new Set(list).size !== list.length) violated(`final ${key} has a duplicated op (double application): ${JSON.stringify(list)}`);
    for (const id of list) {
      const op = opById.get(id);
      if (op === undefined) violated(`final ${key} holds ${id}, which was never invoked (or not yet settled)`);
      if (op.key !== key) violated(`final ${key} holds ${id}, an op on ${op.key}`);
      if (op.outcome === 'prepare-failed') violated(`final ${key} holds ${id}, whose proposal failed in its prepare phase (must have no effect)`);
    }
  }
  for (const op of run.ops) {
    if (op.outcome === 'ok' && !finalOf(run, op.key).includes(op.id)) {
      violated(`acknowledged op ${op.id} is missing from final ${op.key}: ${JSON.stringify(finalOf(run, op.key))}`);
    }
  }
}

/** 2. One chain: acknowledged and committed states are prefixes of the final state. */
function checkChain(run: RunResult): void {
  for (const op of run.ops) {
    if (op.state === undefined) continue;
    if (op.state.at(-1) !== op.id) violated(`op ${op.id} was acknowledged with a state not ending in its id: ${JSON.stringify(op.state)}`);
    if (!isPrefix(op.state, finalOf(run, op.key))) {
      violated(`op ${op.id}'s acknowledged state ${JSON.stringify(op.state)} is not a prefix of final ${op.key} ${JSON.stringify(finalOf(run, op.key))}`);
    }
  }
  for (const e of run.events) {
    if (e.type !== 'committed') continue;
    const state = opsOf(e.state);
    if (!isPrefix(state, finalOf(run, e.key))) {
      violated(`state committed under ${formatBallot(e.ballot)} by ${e.proposer}, ${JSON.stringify(state)}, is not a prefix of final ${e.key}`);
    }
  }
}

/** 3. One state per (key, ballot) across all acceptors; states a majority accepted are prefixes of the final state. */
function checkAccepted(run: RunResult): void {
  const accepted = new Map<string, { key: string; ballot: string; state: string; acceptors: Set<string> }>();
  for (const acceptor of run.acceptors) {
    for (const d of acceptor.deliveries) {
      const { method, key, ballot, state } = d.message;
      if (method !== 'accept' || (d.reply as { type?: string } | undefined)?.type !== 'accepted') continue;
      if (key === undefined || ballot === undefined || state === undefined) violated('an accept without key, ballot or state');
      const id = `${key} ${formatBallot(ballot)}`;
      const text = dec(state) ?? 'null';
      const entry = accepted.get(id);
      if (entry === undefined) accepted.set(id, { key, ballot: formatBallot(ballot), state: text, acceptors: new Set([acceptor.address]) });
      else if (entry.state !== text) violated(`${id} was accepted with two states: ${entry.state} and ${text}`);
      else entry.acceptors.add(acceptor.address);
    }
  }
  const needed = majority(run.acceptors.length);
  for (const entry of accepted.values()) {
    if (entry.acceptors.size < needed) continue;
    const state = entry.state === 'null' ? [] : (JSON.parse(entry.state) as string[]);
    if (!isPrefix(state, finalOf(run, entry.key))) {
      violated(`${entry.key} ${entry.ballot} was accepted by a majority with ${entry.state}, not a prefix of the final state`);
    }
  }
}

/** 4. Real-time order: an op acknowledged before another was invoked comes first. */
function checkRealTime(run: RunResult): void {
  for (const a of run.ops) {
    if (a.outcome !== 'ok') continue;
    const list = finalOf(run, a.key);
    for (const b of run.ops) {
      if (b.key !== a.key || a.respondedAt >= b.invokedAt || !list.includes(b.id)) continue;
      if (list.indexOf(a.id) > list.indexOf(b.id)) violated(`${a.id} was acknowledged before ${b.id} was invoked, yet comes after it`);
    }
  }
}

type Check = (run: RunResult) => void;
const ALL_CHECKS: readonly Check[] = [checkPresence, checkChain, checkAccepted, checkRealTime];

/** The property, over acceptors built by `makeAcceptor`. */
function casProperty(
  makeAcceptor: (address: string) => Acceptor,
  acceptorCount: number,
  { proposerIds = PROPOSERS, checks = ALL_CHECKS }: { proposerIds?: readonly string[]; checks?: readonly Check[] } = {},
) {
  return fc.asyncProperty(fc.scheduler(), scenarioArbitrary, async (s, scenario) => {
    const run = await runScenario(s, scenario, makeAcceptor, acceptorCount, proposerIds);
    for (const check of checks) check(run);
  });
}

/** fast-check parameters: `numRuns`, overridden by FC_RUNS; FC_SEED / FC_PATH replay a failure. */
function parameters(numRuns: number): fc.Parameters<[fc.Scheduler, Scenario]> {
  const { FC_SEED, FC_PATH, FC_RUNS } = process.env;
  return {
    numRuns: FC_RUNS === undefined ? numRuns : Number(FC_RUNS),
    ...(FC_SEED === undefined ? {} : { seed: Number(FC_SEED) }),
    ...(FC_PATH === undefined ? {} : { path: FC_PATH }),
  };
}

/** Parameters of the controls below: their own budget; only FC_SEED applies (a path or run count
 * given to replay the main properties means nothing to another property). */
function controlParameters(numRuns: number): fc.Parameters<[fc.Scheduler, Scenario]> {
  const { FC_SEED } = process.env;
  return { numRuns, ...(FC_SEED === undefined ? {} : { seed: Number(FC_SEED) }) };
}

/** vitest's per-test timeout: the configured 30 s, more for long FC_RUNS soaks (a run takes ~10 ms). */
const TIMEOUT_MS = Math.max(30_000, Number(process.env.FC_RUNS ?? 0) * 20);

describe('CAS increments under a scheduled, lossy network', () => {
  it('keep every invariant with 3 acceptors', { timeout: TIMEOUT_MS }, async () => {
    await fc.assert(casProperty((address) => new MemoryAcceptor(address), 3), parameters(400));
  });

  it('keep every invariant with 5 acceptors', { timeout: TIMEOUT_MS }, async () => {
    await fc.assert(casProperty((address) => new MemoryAcceptor(address), 5), parameters(150));
  });
});

/**
 * Negative controls: the same harness over deliberately broken acceptors must report a violation
 * within the run budget, which proves the invariants above can fail. `fc.check` (not `assert`),
 * no shrinking (`endOnFailure`), and the failure must be an InvariantViolation, not a crash.
 * Budgets are several times what was needed on 30 seeds (1 to 24 runs): missing is improbable.
 */
describe('negative controls: broken acceptors are caught', () => {
  async function expectCaught(property: ReturnType<typeof casProperty>, budget: number): Promise<void> {
    const details = await fc.check(property, { ...controlParameters(budget), endOnFailure: true });
    expect(details.failed).toBe(true);
    expect(details.errorInstance).toBeInstanceOf(InvariantViolation);
  }

  it('finds an acceptor that ignores its promise in accept', async () => {
    await expectCaught(casProperty((address) => new RuleAcceptor(address, { accept: acceptIgnoringPromise }), 3), 200);
  });

  it('finds an acceptor that forgets its promises', async () => {
    await expectCaught(casProperty((address) => new RuleAcceptor(address, { prepare: forgetfulPrepare }), 3), 200);
  });

  it('finds an acceptor that keeps the first accepted state', async () => {
    await expectCaught(casProperty((address) => new RuleAcceptor(address, { accept: firstValueWins }), 3), 50);
  });

  it('finds two states under one ballot: shared proposer ids over acceptors promising equal ballots', async () => {
    // Ballot reuse alone is caught by the strict prepare (two attempts with one ballot cannot both
    // win intersecting prepare quorums); with the seed's `>=` prepare it breaks invariant 3.
    const property = casProperty((address) => new RuleAcceptor(address, { prepare: prepareAllowingEqual }), 3, {
      proposerIds: ['p0', 'p0', 'p1'],
      checks: [checkAccepted],
    });
    await expectCaught(property, 300);
  });

  it('passes with the real rules through the same RuleAcceptor (the harness itself is sound)', async () => {
    const details = await fc.check(casProperty((address) => new RuleAcceptor(address), 3), controlParameters(30));
    expect(details.failed ? String(details.errorInstance) : '').toBe('');
  });

  it('passes with proposers sharing an id over the real acceptors (strict prepare prevents ballot reuse harm)', async () => {
    const details = await fc.check(
      casProperty((address) => new MemoryAcceptor(address), 3, { proposerIds: ['p0', 'p0', 'p1'] }),
      controlParameters(30),
    );
    expect(details.failed ? String(details.errorInstance) : '').toBe('');
  });
});
