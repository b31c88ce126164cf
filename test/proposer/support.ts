/** Helpers shared by the MemoryProposer tests (test/proposer/*.test.ts). */
import { MemoryProposer, type MemoryProposerOptions, type Sleep, type TraceEvent, ZERO_BALLOT, formatBallot } from '../../src/index.js';
import { TestCluster, noSleep, until } from '../support/cluster.js';
import { FaultyAcceptor } from '../support/faulty-acceptor.js';
import { dec } from '../support/text.js';

/** Acceptors a1..an behind `FaultyAcceptor`s, and one proposer p1 over all of them. */
export function cluster(n = 3, options: MemoryProposerOptions = {}) {
  const { acceptors, events, tracer } = new TestCluster({ acceptors: Array.from({ length: n }, (_, i) => `a${i + 1}`), proposers: [] });
  const proposer = new MemoryProposer('p1', acceptors, { tracer, sleep: noSleep, ...options });
  return { acceptors: acceptors as [FaultyAcceptor, FaultyAcceptor, FaultyAcceptor, ...FaultyAcceptor[]], proposer, events };
}

/** Waits until each of `acceptors` holds `count` messages. */
export const held = (acceptors: readonly FaultyAcceptor[], count = 1): Promise<void> =>
  until(() => acceptors.every((a) => a.held.length === count), `${count} held message(s) at ${acceptors.map((a) => a.address).join(', ')}`);

/** Stops holding new messages and delivers every held one, at all of `acceptors` at once. */
export const unblock = async (acceptors: readonly FaultyAcceptor[]): Promise<void> => {
  await Promise.all(
    acceptors.map((a) => {
      a.clearRules();
      return a.releaseAll();
    }),
  );
};

/**
 * A sleep that ends only by abort: a straggler wait under it lasts until every reply is in.
 * (Retries still happen: the first retry does not sleep.)
 */
export const neverSleep: Sleep = (_ms, signal) =>
  new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));

/** The events of one type in a trace, typed. */
export const ofType = <T extends TraceEvent['type']>(events: TraceEvent[], type: T): Array<Extract<TraceEvent, { type: T }>> =>
  events.filter((e): e is Extract<TraceEvent, { type: T }> => e.type === type);

/** The ballots of the accept rounds in a trace, in order (one entry per round). */
export const acceptRounds = (events: TraceEvent[]): string[] => [...new Set(ofType(events, 'accept-sent').map((e) => formatBallot(e.ballot)))];

/** Every (key, ballot) the acceptors accepted, with the states accepted under it (one each, or a bug). */
export function acceptedStates(acceptors: readonly FaultyAcceptor[]): Map<string, Set<string>> {
  const states = new Map<string, Set<string>>();
  for (const a of acceptors) {
    for (const d of a.deliveries) {
      if (d.message.method !== 'accept' || (d.reply as { type?: string } | undefined)?.type !== 'accepted') continue;
      const id = `${d.message.key} ${formatBallot(d.message.ballot ?? ZERO_BALLOT)}`;
      const set = states.get(id) ?? new Set<string>();
      set.add(dec(d.message.state ?? null) ?? 'null');
      states.set(id, set);
    }
  }
  return states;
}

/** Ballots accepted with more than one state (must be none). */
export const twoStatesUnderOneBallot = (acceptors: readonly FaultyAcceptor[]): string[] =>
  [...acceptedStates(acceptors)].filter(([, states]) => states.size > 1).map(([id, states]) => `${id}: ${[...states].join(' | ')}`);
