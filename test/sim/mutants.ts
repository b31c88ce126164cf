/**
 * Negative controls: deliberately broken setups, built here on the test side, that the checkers
 * must catch. Each is a scenario named `mutant-...`; the suite runs seeds until the verdict
 * reports a violation and fails if none does within the budget. A checker that cannot catch these
 * would pass anything.
 */
import {
  type AcceptReply,
  type AcceptedState,
  type Acceptor,
  type Age,
  type Ballot,
  type CallOptions,
  type KeyRecord,
  MemoryAcceptor,
  type PrepareReply,
  type RemoveReply,
  type State,
  type Tombstone,
  ZERO_BALLOT,
  acceptorRules,
  copyState,
  compareBallots,
  formatBallot,
  isZeroBallot,
  garbageCollect,
  majority,
  type PeekReply,
  type Peeker,
  type ProposeResult,
  type Proposer,
  UnavailableError,
} from '../../src/index.js';
import { type LinkProfile, type SimMessage, CALM_LINK } from '../../src/sim/network.js';
import { type ProposerFactory, memoryProposerFactory } from '../../src/sim/proposer-node.js';
import type { Simulation } from '../../src/sim/simulation.js';
import { RuleAcceptor, acceptIgnoringPromise, prepareAllowingEqual } from '../support/rule-acceptor.js';
import type { Scenario } from './scenario-kit.js';

const P3 = ['p1', 'p2', 'p3'] as const;
const link = (overrides: Partial<LinkProfile>): LinkProfile => ({ ...CALM_LINK, ...overrides });
const LOSSY = { request: link({ dropRate: 0.05, maxDelayMs: 3 }), reply: link({ dropRate: 0.05, maxDelayMs: 3 }) };
const spread = (ops: number, clients: number, keys: readonly string[]) => ({ clients, keys, operationsPerClient: Math.max(1, Math.round(ops / clients)) });

/** An acceptor that does not exist: it promises and accepts everything, holding nothing. */
class PhantomAcceptor implements Acceptor {
  constructor(readonly address: string) {}
  async prepare(): Promise<PrepareReply> {
    return { type: 'promised', accepted: ZERO_BALLOT, state: null };
  }
  async accept(): Promise<AcceptReply> {
    return { type: 'accepted' };
  }
  async rejectByAge(): Promise<void> {}
  async removeIfEqual(): Promise<RemoveReply> {
    return { type: 'absent' };
  }
  watch(): AsyncIterable<AcceptedState> {
    return { [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => {}) }) };
  }
  async *listKeys(): AsyncIterable<string> {}
}

/** A memory acceptor whose promises hide what it accepted (always report nothing accepted). */
class HidingAcceptor extends MemoryAcceptor {
  override async prepare(key: string, age: Age, ballot: Ballot, opts?: CallOptions): Promise<PrepareReply> {
    const reply = await super.prepare(key, age, ballot, opts);
    return reply.type === 'promised' ? { type: 'promised', accepted: ZERO_BALLOT, state: null } : reply;
  }
}

/**
 * An acceptor that garbage-collects without fencing: it ignores proposer ages and forgets a
 * removed record's promise (no tombstone floor), so a message sent before the collection can
 * land after it.
 */
class UnfencedAcceptor implements Acceptor {
  readonly #records = new Map<string, KeyRecord>();
  constructor(readonly address: string) {}
  async prepare(key: string, _age: Age, ballot: Ballot): Promise<PrepareReply> {
    const { reply, next } = acceptorRules.prepare(this.#record(key), ballot);
    if (next !== undefined) this.#records.set(key, next);
    return reply.type === 'promised' ? { ...reply, state: copyState(reply.state) } : reply;
  }
  async accept(key: string, _age: Age, ballot: Ballot, state: State): Promise<AcceptReply> {
    const { reply, next } = acceptorRules.accept(this.#record(key), ballot, copyState(state));
    if (next !== undefined) this.#records.set(key, next);
    return reply;
  }
  async rejectByAge(): Promise<void> {}
  async removeIfEqual(key: string, tombstone: Tombstone): Promise<RemoveReply> {
    const { reply, floor } = acceptorRules.remove(this.#records.get(key), tombstone.ballot, ZERO_BALLOT);
    if (floor !== undefined) this.#records.delete(key); // and forgets the floor
    return reply;
  }
  watch(): AsyncIterable<AcceptedState> {
    return { [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => {}) }) };
  }
  async *listKeys(): AsyncIterable<string> {
    for (const [key, record] of this.#records) if (!isZeroBallot(record.accepted)) yield key;
  }
  #record(key: string): KeyRecord {
    return this.#records.get(key) ?? acceptorRules.absentRecord(ZERO_BALLOT);
  }
}

/**
 * Wraps a proposer's acceptors so that, per (key, ballot), only the first promise tells what it
 * accepted; later promises claim nothing was accepted. The proposer then adopts the state of the
 * first reply instead of the one with the highest ballot.
 */
function firstReplyOnly(acceptors: readonly Acceptor[]): Acceptor[] {
  const answered = new Set<string>();
  return acceptors.map((acceptor) => {
    const wrapped = Object.create(acceptor) as Acceptor;
    wrapped.prepare = async (key, age, ballot, opts) => {
      const reply = await acceptor.prepare(key, age, ballot, opts);
      const id = `${key} ${formatBallot(ballot)}`;
      if (reply.type !== 'promised') return reply;
      if (!answered.has(id)) {
        answered.add(id);
        return reply;
      }
      return { type: 'promised', accepted: ZERO_BALLOT, state: null };
    };
    return wrapped;
  });
}

const withFactory = (factory: ProposerFactory) => ({ proposerFactory: factory });

/** Grows 3 -> 5 in one step on every proposer: no accept-set step first, no identity pass. */
function growInOneStep(sim: Simulation): void {
  // Writes land on a1, a2 only (a3 cut off), then the cluster jumps to five acceptors, then a1 and
  // a2 fail: a quorum of {a3, a4, a5} has never seen those writes.
  sim.at(0, () => sim.partition(['a3'], [...P3]));
  sim.at(40, () => {
    sim.heal();
    sim.addAcceptor('a4');
    sim.addAcceptor('a5');
    sim.setMembers(undefined);
    for (const proposer of sim.proposers) {
      for (const target of sim.operatorAcceptors(['a4', 'a5'])) {
        void proposer.addAccepter(target);
        void proposer.addPreparer(target);
      }
    }
    sim.crashAcceptor('a1');
    sim.crashAcceptor('a2');
  });
}

/**
 * Writes v, deletes it, garbage-collects the key, then replays the write's old accept to a1 and
 * reads through a quorum that includes a1. Fenced acceptors reject the replay (its age is stale and
 * its ballot is below the tombstone floor); unfenced ones take it, and the read returns the deleted
 * value: a read of v after a completed delete, which the history checker rejects.
 */
export async function replayAfterCollection(sim: Simulation): Promise<void> {
  const p1 = sim.proposer('p1');
  const p2 = sim.proposer('p2');
  let captured: SimMessage | undefined;
  sim.network.onSend = (message) => {
    if (message.method === 'accept' && message.to === 'a1' && captured === undefined) captured = message;
  };
  const encoder = new TextEncoder();
  const write = sim.recorder.invoke({ clientId: 100, key: 'x', op: 'write', arg: 'v' });
  await p1.propose('x', () => encoder.encode('v'));
  write.complete();
  sim.network.onSend = undefined;
  const remove = sim.recorder.invoke({ clientId: 100, key: 'x', op: 'write', arg: null });
  await p1.propose('x', () => null);
  remove.complete();
  await garbageCollect('x', sim.proposers, sim.operatorAcceptors(), { random: () => 0 });
  if (captured === undefined) throw new Error('no accept to a1 was captured');
  sim.network.replay(captured, 0.5);
  await sim.sleep(1);
  sim.partition(['p2'], ['a3']);
  const read = sim.recorder.invoke({ clientId: 101, key: 'x', op: 'read' });
  const { state } = await p2.identityRead('x');
  read.complete({ output: state === null ? null : new TextDecoder().decode(state) });
  sim.heal();
}

/**
 * Proposers whose reads skip the write-back when the peeks DISAGREE: a read peeks at every
 * preparer and, from the first majority of replies, returns the state with the highest accepted
 * ballot, whether or not a majority reported that ballot, writing nothing. (When they agree this
 * is the correct fast read.) A state a minority holds is not chosen: a later read or write through
 * a quorum that misses it goes on from an older state, and the register goes back in time.
 */
function readsSkippingWriteBackOnDisagreement(id: string, acceptors: readonly Acceptor[], options: Parameters<ProposerFactory>[2]): Proposer {
  const inner = memoryProposerFactory(id, acceptors, options);
  const identityRead = (key: string, opts?: CallOptions): Promise<ProposeResult> =>
    new Promise((resolve, reject) => {
      const needed = majority(acceptors.length);
      const replies: PeekReply[] = [];
      let failures = 0;
      for (const acceptor of acceptors) {
        (acceptor as Acceptor & Peeker).peek(key, opts).then(
          (reply) => {
            replies.push(reply);
            if (replies.length !== needed) return;
            const highest = replies.reduce((a, b) => (compareBallots(b.accepted, a.accepted) > 0 ? b : a));
            resolve({ state: highest.state, ballot: highest.accepted });
          },
          (error: unknown) => {
            if (++failures === acceptors.length - needed + 1) reject(new UnavailableError(`too few peeks answered for ${key}`, { cause: error }));
          },
        );
      }
    });
  // Every other method is the real proposer's, called on it.
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'identityRead') return identityRead;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export const MUTANTS: readonly Scenario[] = [
  {
    name: 'mutant-non-intersecting-quorums',
    summary: 'proposers count two phantom acceptors: a "majority" of 5 needs one real acceptor, and quorums no longer intersect',
    kind: 'register',
    defaultOps: 120,
    simulation: () => ({
      proposers: P3,
      network: LOSSY,
      ...withFactory((id, acceptors, options) => memoryProposerFactory(id, [...acceptors, new PhantomAcceptor(`${id}-ghost1`), new PhantomAcceptor(`${id}-ghost2`)], options)),
    }),
    workload: (ops) => spread(ops, 6, ['x']),
  },
  {
    name: 'mutant-success-below-quorum',
    summary: 'accepts count two phantom accepters: a proposer reports success with one real acceptance',
    kind: 'register',
    defaultOps: 120,
    simulation: () => ({
      proposers: P3,
      network: LOSSY,
      ...withFactory((id, acceptors, options) => {
        const proposer = memoryProposerFactory(id, acceptors, options);
        void proposer.addAccepter(new PhantomAcceptor(`${id}-ghost1`));
        void proposer.addAccepter(new PhantomAcceptor(`${id}-ghost2`));
        return proposer;
      }),
    }),
    workload: (ops) => spread(ops, 6, ['x']),
  },
  {
    name: 'mutant-amnesiac-acceptor',
    summary: 'acceptors restart empty after a crash, as if their disk were lost',
    kind: 'register',
    defaultOps: 120,
    simulation: () => ({ proposers: P3, network: LOSSY }),
    workload: (ops) => spread(ops, 6, ['x']),
    script: (sim) => {
      sim.acceptorCrashes = { rate: 0.02, minDowntimeMs: 1, maxDowntimeMs: 5, amnesia: true };
    },
  },
  {
    name: 'mutant-hiding-acceptor',
    summary: 'acceptors promise without reporting what they accepted',
    kind: 'register',
    defaultOps: 120,
    simulation: () => ({ proposers: P3, network: LOSSY, acceptorFactory: (address) => new HidingAcceptor(address) }),
    workload: (ops) => spread(ops, 6, ['x']),
  },
  {
    name: 'mutant-accept-below-promise',
    summary: 'acceptors accept ballots below the promise they made',
    kind: 'register',
    defaultOps: 120,
    simulation: () => ({ proposers: P3, network: LOSSY, acceptorFactory: (address) => new RuleAcceptor(address, { accept: acceptIgnoringPromise }) }),
    workload: (ops) => spread(ops, 6, ['x']),
  },
  {
    name: 'mutant-shared-proposer-id',
    summary: 'two proposers share one id (so ballots repeat) over acceptors that promise a ballot equal to their promise, as the seed did',
    kind: 'register',
    defaultOps: 120,
    simulation: () => ({
      proposers: P3,
      network: LOSSY,
      acceptorFactory: (address) => new RuleAcceptor(address, { prepare: prepareAllowingEqual }),
      ...withFactory((id, acceptors, options) => memoryProposerFactory(id === 'p3' ? 'p3' : 'p', acceptors, options)),
    }),
    workload: (ops) => spread(ops, 6, ['x']),
  },
  {
    name: 'mutant-grow-in-one-step',
    summary: 'growing 3 -> 5 in one step, without the accept-set step and the identity pass, then losing two old acceptors',
    kind: 'register',
    defaultOps: 120,
    simulation: () => ({ proposers: P3 }),
    workload: (ops) => ({ ...spread(ops, 6, ['x', 'y']), thinkTimeMs: [0, 1] }),
    script: growInOneStep,
  },
  {
    name: 'mutant-ignore-ages',
    summary: 'acceptors that garbage-collect without fencing (ages ignored, no tombstone floor): a replayed pre-collection accept resurrects a deleted value',
    kind: 'register',
    defaultOps: 60,
    simulation: () => ({ proposers: P3, acceptorFactory: (address) => new UnfencedAcceptor(address) }),
    workload: (ops) => spread(ops, 3, ['other']),
    script: (sim) => sim.at(0, () => void replayAfterCollection(sim)),
  },
  {
    name: 'mutant-first-prepare-reply',
    summary: 'proposers adopt the state of the first promise instead of the one with the highest accepted ballot',
    kind: 'register',
    defaultOps: 120,
    simulation: () => ({ proposers: P3, network: LOSSY, ...withFactory((id, acceptors, options) => memoryProposerFactory(id, firstReplyOnly(acceptors), options)) }),
    workload: (ops) => spread(ops, 6, ['x']),
  },
  {
    name: 'mutant-read-skips-write-back',
    summary: 'reads return the highest state of the first majority of peeks without writing it back, even when the peeks disagree',
    kind: 'register',
    defaultOps: 120,
    simulation: () => ({ proposers: P3, network: LOSSY, ...withFactory(readsSkippingWriteBackOnDisagreement) }),
    workload: (ops) => ({ ...spread(ops, 6, ['x']), mix: { read: 6, write: 3, cas: 2, delete: 0 } }),
  },
  {
    name: 'mutant-disjoint-acceptor-sets',
    summary: 'p1 talks to a1..a3, p2 and p3 to a4..a6: two clusters that both think they own the key',
    kind: 'register',
    defaultOps: 120,
    simulation: () => ({
      proposers: P3,
      acceptors: ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'],
      ...withFactory((id, acceptors, options) => memoryProposerFactory(id, id.startsWith('p1') ? acceptors.slice(0, 3) : acceptors.slice(3), options)),
    }),
    workload: (ops) => spread(ops, 6, ['x']),
  },
];
