/**
 * The simulation scenarios: one per kind of fault the protocol must survive, each sized so that
 * proposers really contend (several proposers and clients on few keys). Every scenario is checked
 * for linearizability (WGL, or the exact chain checker), by the acceptor monitor, for liveness once
 * faults heal, and for quorum safety. Negative controls live in `mutants.ts`.
 */
import { decodeVersioned } from '../../src/check/versioned.js';
import type { Violation } from '../../src/check/result.js';
import { garbageCollect } from '../../src/cluster/garbage-collect.js';
import { growCluster } from '../../src/cluster/grow-cluster.js';
import { shrinkCluster } from '../../src/cluster/shrink-cluster.js';
import type { AcceptorProxy } from '../../src/sim/endpoint.js';
import { type LinkProfile, type NetworkProfile, CALM_LINK } from '../../src/sim/network.js';
import { memoryProposerFactory } from '../../src/sim/proposer-node.js';
import type { Simulation } from '../../src/sim/simulation.js';
import type { Scenario } from './scenario-kit.js';

const P3 = ['p1', 'p2', 'p3'] as const;
const A5 = ['a1', 'a2', 'a3', 'a4', 'a5'] as const;

const link = (overrides: Partial<LinkProfile>): LinkProfile => ({ ...CALM_LINK, ...overrides });
const both = (overrides: Partial<LinkProfile>): NetworkProfile => ({ request: link(overrides), reply: link(overrides) });
const LOSSY = both({ dropRate: 0.08, duplicateRate: 0.05, maxDelayMs: 3 });

/** `clients` clients sharing `ops` operations on `keys`. */
const spread = (ops: number, clients: number, keys: readonly string[]) => ({ clients, keys, operationsPerClient: Math.max(1, Math.round(ops / clients)) });

/** Repeats `action` every `periodMs` from `startMs` to `endMs`. */
function every(sim: Simulation, startMs: number, periodMs: number, endMs: number, action: (i: number) => void): void {
  for (let t = startMs, i = 0; t <= endMs; t += periodMs, i++) {
    const n = i;
    sim.at(t, () => action(n));
  }
}

/** Runs membership changes one after another from `startMs`, keeping the monitor informed. */
function membershipScript(sim: Simulation, startMs: number, steps: ReadonlyArray<{ grow: string } | { shrink: string }>, final: readonly string[]): void {
  sim.at(startMs, () => {
    void (async () => {
      sim.setMembers(undefined);
      const random = sim.random.fork('membership').asFunction;
      for (const step of steps) {
        if ('grow' in step) {
          sim.addAcceptor(step.grow);
          await retrying(() => growCluster(operatorAcceptor(sim, step.grow), sim.proposers, { random }));
        } else {
          await retrying(() => shrinkCluster(operatorAcceptor(sim, step.shrink), sim.proposers, { random }));
        }
      }
      sim.setMembers(final);
    })();
  });
}

function operatorAcceptor(sim: Simulation, address: string): AcceptorProxy {
  const [proxy] = sim.operatorAcceptors([address]);
  if (proxy === undefined) throw new Error(`no acceptor ${address}`);
  return proxy;
}

/** Retries a retryable orchestration until it succeeds (the network heals eventually). */
async function retrying(operation: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt > 50 || (error as { retryable?: unknown }).retryable !== true) throw error;
    }
  }
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'calm-contention',
    summary: 'a calm network, 3 proposers and 9 clients hammering one key',
    kind: 'register',
    defaultOps: 180,
    simulation: () => ({ proposers: P3 }),
    workload: (ops) => spread(ops, 9, ['x']),
  },
  {
    name: 'reorder',
    summary: 'delays of 0.1 to 8 ms in both directions: messages overtake each other',
    kind: 'register',
    defaultOps: 150,
    simulation: () => ({ proposers: P3, network: both({ maxDelayMs: 8 }) }),
    workload: (ops) => spread(ops, 6, ['x', 'y']),
  },
  {
    name: 'request-loss',
    summary: 'a quarter of the requests lost, no replies lost',
    kind: 'register',
    defaultOps: 150,
    simulation: () => ({ proposers: P3, network: { request: link({ dropRate: 0.25, maxDelayMs: 2 }), reply: CALM_LINK } }),
    workload: (ops) => spread(ops, 6, ['x', 'y']),
  },
  {
    name: 'reply-loss',
    summary: 'a quarter of the replies lost (the acceptor acted, the proposer never learns), no requests lost',
    kind: 'chain',
    defaultOps: 150,
    simulation: () => ({ proposers: P3, network: { request: CALM_LINK, reply: link({ dropRate: 0.25, maxDelayMs: 2 }) } }),
    workload: (ops) => spread(ops, 6, ['x', 'y']),
  },
  {
    name: 'duplicates',
    summary: 'a third of all messages delivered twice, the copy up to 30 ms late: stale replays',
    kind: 'register',
    defaultOps: 150,
    simulation: () => ({ proposers: P3, network: both({ duplicateRate: 0.33, maxDelayMs: 3, replayDelayMs: 30 }) }),
    workload: (ops) => spread(ops, 6, ['x', 'y']),
  },
  {
    name: 'partition-minority',
    summary: 'one acceptor cut off from everyone for a while, twice',
    kind: 'register',
    defaultOps: 150,
    simulation: () => ({ proposers: P3, network: LOSSY }),
    workload: (ops) => spread(ops, 6, ['x', 'y']),
    script: (sim) => {
      sim.at(5, () => sim.partition(['a3'], [...P3, 'a1', 'a2']));
      sim.at(30, () => sim.heal());
      sim.at(45, () => sim.partition(['a1'], [...P3, 'a2', 'a3']));
      sim.at(70, () => sim.heal());
    },
  },
  {
    name: 'partition-majority',
    summary: 'proposers cut off from a majority (no quorum), one after another, then all at once',
    kind: 'register',
    defaultOps: 150,
    simulation: () => ({ proposers: P3, network: LOSSY }),
    workload: (ops) => spread(ops, 6, ['x', 'y']),
    script: (sim) => {
      sim.at(5, () => sim.partition(['p1'], ['a1', 'a2']));
      sim.at(25, () => sim.heal());
      sim.at(30, () => sim.partition(['p2', 'p3'], ['a2', 'a3']));
      sim.at(50, () => sim.heal());
      sim.at(55, () => sim.partition([...P3], ['a1', 'a3']));
      sim.at(75, () => sim.heal());
    },
  },
  {
    name: 'partition-one-way',
    summary: 'request-only and reply-only partitions: acceptors act but cannot answer, or never hear',
    kind: 'chain',
    defaultOps: 150,
    simulation: () => ({ proposers: P3, network: LOSSY }),
    workload: (ops) => spread(ops, 6, ['x', 'y']),
    script: (sim) => {
      sim.at(5, () => sim.partition(['p1', 'p2'], ['a1', 'a2'], 'replies'));
      sim.at(30, () => sim.heal());
      sim.at(40, () => sim.partition(['p2', 'p3'], ['a2', 'a3'], 'requests'));
      sim.at(65, () => sim.heal());
    },
  },
  {
    name: 'partition-flapping',
    summary: 'a partition of p1 from a majority switching on and off every 4 ms',
    kind: 'register',
    defaultOps: 150,
    simulation: () => ({ proposers: P3, network: LOSSY }),
    workload: (ops) => spread(ops, 6, ['x', 'y']),
    script: (sim) => every(sim, 2, 4, 90, (i) => (i % 2 === 0 ? sim.partition(['p1'], ['a1', 'a2']) : sim.heal())),
  },
  {
    name: 'acceptor-crash',
    summary: 'five acceptors crashing at random delivery points (before or after applying), restarting from their state',
    kind: 'chain',
    defaultOps: 150,
    simulation: () => ({ proposers: P3, acceptors: A5, network: LOSSY }),
    workload: (ops) => spread(ops, 6, ['x', 'y']),
    script: (sim) => {
      sim.acceptorCrashes = { rate: 0.01, minDowntimeMs: 2, maxDowntimeMs: 20 };
    },
  },
  {
    name: 'proposer-crash',
    summary: 'proposers crashing mid-operation and restarting under a new incarnation id with a reset counter',
    kind: 'register',
    defaultOps: 150,
    simulation: () => ({ proposers: P3, network: LOSSY }),
    workload: (ops) => spread(ops, 6, ['x', 'y']),
    script: (sim) => {
      const random = sim.random.fork('proposer crashes');
      every(sim, 8, 12, 80, () => {
        const id = random.pick(P3);
        sim.crashProposer(id);
        sim.at(1 + random.next() * 5, () => void sim.restartProposer(id));
      });
    },
  },
  {
    name: 'clock-skew',
    summary: 'p1 runs 4x fast, p2 4x slow: timeouts and backoff at different paces',
    kind: 'register',
    defaultOps: 150,
    simulation: () => ({ proposers: P3, network: LOSSY, skew: { p1: 0.25, p2: 4, p3: 1 } }),
    workload: (ops) => spread(ops, 6, ['x', 'y']),
  },
  {
    name: 'dueling-no-jitter',
    summary: 'three proposers on one key, backoff without jitter (same delays for all): progress must still come',
    kind: 'register',
    defaultOps: 120,
    simulation: () => ({
      proposers: P3,
      network: both({ minDelayMs: 1, maxDelayMs: 1.2 }),
      proposerFactory: (id, acceptors, options) => memoryProposerFactory(id, acceptors, { ...options, random: () => 0.999 }),
    }),
    workload: (ops) => ({ ...spread(ops, 6, ['x']), thinkTimeMs: [0, 0] }),
  },
  {
    name: 'grow-shrink',
    summary: 'membership 3 -> 4 -> 5 -> 4 -> 3 under load, each step re-reading every key',
    kind: 'chain',
    defaultOps: 150,
    simulation: () => ({ proposers: P3, network: LOSSY }),
    workload: (ops) => spread(ops, 6, ['x', 'y', 'z']),
    script: (sim) => membershipScript(sim, 5, [{ grow: 'a4' }, { grow: 'a5' }, { shrink: 'a1' }, { shrink: 'a2' }], ['a3', 'a4', 'a5']),
  },
  {
    name: 'gc-under-load',
    summary: 'deletes and garbage collection under load, with stale replays of accepts arriving after removals',
    kind: 'register',
    defaultOps: 150,
    simulation: () => ({ proposers: P3, network: { request: link({ duplicateRate: 0.3, replayDelayMs: 30 }), reply: CALM_LINK } }),
    workload: (ops) => ({ ...spread(ops, 6, ['x', 'y']), mix: { read: 3, write: 2, cas: 2, delete: 3 } }),
    script: (sim) => {
      const random = sim.random.fork('gc');
      every(sim, 4, 6, 120, () => {
        const key = random.pick(['x', 'y']);
        // Refusals (the key is not a tombstone) and failures are fine: the point is to collect
        // whenever a tombstone is there, racing with the workload.
        void garbageCollect(key, sim.proposers, sim.operatorAcceptors(), { random: random.asFunction }).catch(() => {});
      });
    },
  },
  {
    name: 'many-keys',
    summary: '16 keys, 12 clients, lossy network',
    kind: 'register',
    defaultOps: 240,
    simulation: () => ({ proposers: P3, network: LOSSY }),
    workload: (ops) => spread(ops, 12, Array.from({ length: 16 }, (_, i) => `k${i}`)),
  },
  {
    name: 'throwing-changes',
    summary: 'change functions that throw (no effect) and that run again on every retry (lossy network)',
    kind: 'chain',
    defaultOps: 150,
    simulation: () => ({ proposers: P3, network: both({ dropRate: 0.15, maxDelayMs: 3 }) }),
    workload: (ops) => ({ ...spread(ops, 6, ['x', 'y']), throwRate: 0.15 }),
  },
  {
    name: 'aborts',
    summary: 'a third of the operations aborted at a random point of their run',
    kind: 'register',
    defaultOps: 150,
    simulation: () => ({ proposers: P3, network: LOSSY }),
    workload: (ops) => ({ ...spread(ops, 6, ['x', 'y']), abortRate: 0.33 }),
  },
  {
    name: 'counter',
    summary: 'increments through a lossy network: no increment applied twice, none lost',
    kind: 'counter',
    defaultOps: 150,
    simulation: () => ({ proposers: P3, network: LOSSY }),
    workload: (ops) => spread(ops, 6, ['n']),
  },
  {
    name: 'watch',
    summary: 'a watcher on a key while it is written: what it yields follows the chain',
    kind: 'chain',
    defaultOps: 120,
    simulation: () => ({ proposers: P3, network: both({ dropRate: 0.03, maxDelayMs: 3 }) }),
    workload: (ops) => spread(ops, 6, ['w']),
    script: (sim) => {
      const seen: Array<string | null> = [];
      watched.set(sim, seen);
      // The watcher runs for the whole simulation (it is dropped with it).
      sim.at(0.5, () => {
        void (async () => {
          try {
            for await (const state of sim.proposer('p1').watch('w')) seen.push(state === null ? null : new TextDecoder().decode(state));
          } catch {
            // The watch may end with an error when too few acceptors answer; what it yielded counts.
          }
        })();
      });
    },
    check: (sim, run) => checkWatched(watched.get(sim) ?? [], run.sim.recorder.history().operations),
  },
];

/** What each watch scenario's watcher yielded, by simulation. */
const watched = new WeakMap<Simulation, Array<string | null>>();

/** A watcher must yield values of strictly increasing version, each written by a write of the run. */
function checkWatched(values: ReadonlyArray<string | null>, operations: ReadonlyArray<{ id: number; op: string; fail?: true }>): Violation[] {
  const violations: Violation[] = [];
  let lastVersion = 0;
  for (const value of values) {
    const decoded = value === null ? null : decodeVersioned(value);
    if (decoded === null) continue;
    const writer = operations[decoded.writer];
    if (writer === undefined || writer.op !== 'write' || writer.fail === true) {
      violations.push({ kind: 'watch-phantom', key: 'w', operations: [decoded.writer], message: `the watcher yielded version ${decoded.version} by op ${decoded.writer}, which wrote nothing` });
    }
    if (decoded.version <= lastVersion) {
      violations.push({ kind: 'watch-went-back', key: 'w', operations: [decoded.writer], message: `the watcher yielded version ${decoded.version} after version ${lastVersion}` });
    }
    lastVersion = decoded.version;
  }
  if (values.length === 0) violations.push({ kind: 'watch-silent', key: 'w', operations: [], message: 'the watcher yielded nothing' });
  return violations;
}
