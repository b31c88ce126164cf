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
 * The harness (running a history, the checks shared with batching.test.ts) is in
 * test/support/property-harness.ts.
 *
 * Replaying a failure: fast-check prints `seed` and `path` (and the scheduler's task log in the
 * counterexample). Run, e.g.
 *   FC_SEED=-1234 FC_PATH="17:2:0" npx vitest run test/property/cas-increments.test.ts -t "3 acceptors"
 * FC_SEED alone re-runs the same sequence of scenarios; FC_PATH jumps straight to the shrunk one.
 * FC_RUNS overrides the number of runs (e.g. FC_RUNS=2000 for a longer soak).
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { type Acceptor, MemoryAcceptor, formatBallot, majority } from '../../src/index.js';
import {
  type Check,
  type RunResult,
  acceptedStates,
  checkAcknowledgedStates,
  checkPresence,
  checkRealTime,
  expectCaught,
  expectHolds,
  finalOf,
  parameters,
  runHistory,
  violated,
} from '../support/property-harness.js';
import { RuleAcceptor, acceptIgnoringPromise, firstValueWins, forgetfulPrepare, prepareAllowingEqual } from '../support/rule-acceptor.js';
import { type Fate, fateArbitrary } from '../support/scheduled-network.js';
import { appendOp, isPrefix, opsOf } from '../support/text.js';

const KEYS = ['x', 'y'] as const;
const PROPOSERS = ['p0', 'p1', 'p2'] as const;

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

/** Runs one scenario to the end and returns what happened; throws only on a harness failure or a failed final read. */
function runScenario(
  s: fc.Scheduler,
  scenario: Scenario,
  makeAcceptor: (address: string) => Acceptor,
  acceptorCount: number,
  proposerIds: readonly string[] = PROPOSERS,
): Promise<RunResult> {
  return runHistory(s, {
    fates: scenario.fates,
    keys: KEYS,
    acceptorCount,
    makeAcceptor,
    proposerIds,
    clients: scenario.clients.map((keys, c) => ({ proposer: c % proposerIds.length, keys: keys.map((k) => KEYS[k] as string) })),
    pacing: 'once-at-start',
    makeChange: appendOp,
  });
}

/** 2. One chain: acknowledged and committed states are prefixes of the final state. */
function checkChain(run: RunResult): void {
  checkAcknowledgedStates(run);
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
  const needed = majority(run.acceptors.length);
  for (const entry of acceptedStates(run).values()) {
    if (entry.acceptors.size < needed) continue;
    const state = entry.state === 'null' ? [] : (JSON.parse(entry.state) as string[]);
    if (!isPrefix(state, finalOf(run, entry.key))) {
      violated(`${entry.key} ${entry.ballot} was accepted by a majority with ${entry.state}, not a prefix of the final state`);
    }
  }
}

/** Invariants 1 to 4 of the header, in that order (1 and 4 are shared with batching). */
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

  it('finds an acceptor that ignores its promise in accept, piggybacked promises (one round trip) included', async () => {
    await expectCaught(casProperty((address) => new RuleAcceptor(address, { accept: acceptIgnoringPromise }, { oneRoundTrip: true }), 3), 200);
  });

  it('passes with the real rules through the same RuleAcceptor (the harness itself is sound)', async () => {
    await expectHolds(casProperty((address) => new RuleAcceptor(address), 3), 30);
  });

  it('passes with the real rules through a RuleAcceptor that honours piggybacked promises', async () => {
    await expectHolds(casProperty((address) => new RuleAcceptor(address, {}, { oneRoundTrip: true }), 3), 30);
  });

  it('passes with proposers sharing an id over the real acceptors (strict prepare prevents ballot reuse harm)', async () => {
    await expectHolds(casProperty((address) => new MemoryAcceptor(address), 3, { proposerIds: ['p0', 'p0', 'p1'] }), 30);
  });
});
