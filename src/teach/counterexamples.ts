/**
 * Counterexamples: rules of CASPaxos broken on purpose, each with a scenario in which breaking it
 * goes wrong and the library's own checkers (`check/linearizability`, `sim/monitor`) say so. The
 * broken variants live here, beside the real protocol, which they never touch: a proposer wrapped
 * through the simulator's `ProposerFactory`, a membership change of its own, or the simulator's
 * amnesiac restart. Run each scenario broken and intact to compare (`Counterexample.start`).
 */
import type { Ballot } from '../core/ballot.js';
import type { State } from '../core/messages.js';
import type { CallOptions, Proposer, ProposeResult } from '../roles.js';
import { previewState } from '../trace/text.js';
import type { ProposerFactory } from '../sim/proposer-node.js';
import type { MembershipStep, TraceEvent, Tracer } from '../tracer.js';
import { read, set } from './changes.js';
import type { RuleBreak } from './rule-break.js';
import type { OperationHandle } from './operation-handle.js';
import { lostAcceptAndReadsWrite } from './tours/03-lost-accept-and-reads-write.js';
import { growTheCluster } from './tours/05-grow-the-cluster.js';
import { doneWith, recordOf } from './tours/facts.js';
import { type Tour, type TourRun, type TourStep, defineTour, step } from './tours/tour.js';

/**
 * Thrown by the broken read's change function to stop the proposal after its prepare phase. The
 * proposer traces it as its proposal's failure, which is what it is: no accept was sent.
 */
class ReadWithoutWriteBack extends Error {
  constructor(readonly state: State) {
    super(`the broken read stops after its prepare phase and returns ${previewState(state)} without writing it back`);
    this.name = 'ReadWithoutWriteBack';
  }
}

/**
 * The proposers of `factory`, except that an identity read returns what its prepare quorum showed
 * without the accept phase. The real prepare phase runs (its change function sees the state a
 * proposer would adopt), then the change function throws to stop the proposal before any accept.
 */
function readsWithoutWriteBack(factory: ProposerFactory): ProposerFactory {
  return (id, acceptors, options) => {
    // The ballot of each key's latest prepare: the broken read reports it as its ballot.
    const prepared = new Map<string, Ballot>();
    const tracer: Tracer = (event: TraceEvent) => {
      if (event.type === 'prepare-sent') prepared.set(event.key, event.ballot);
      options.tracer?.(event);
    };
    const inner = factory(id, acceptors, { ...options, tracer });
    const identityRead = async (key: string, opts?: CallOptions): Promise<ProposeResult> => {
      try {
        await inner.propose(
          key,
          (current) => {
            throw new ReadWithoutWriteBack(current === null ? null : current.slice());
          },
          opts,
        );
      } catch (error) {
        if (error instanceof ReadWithoutWriteBack) return { state: error.state, ballot: prepared.get(key) as Ballot };
        throw error;
      }
      throw new Error('unreachable: the broken read always stops before its accept phase');
    };
    // Every other method is the real proposer's, called on the real proposer.
    return withOverrides(inner, { identityRead });
  };
}

/** A proposer that is `inner` with some methods replaced (the others bound to `inner`). */
function withOverrides(inner: Proposer, overrides: Partial<Proposer>): Proposer {
  return new Proxy(inner, {
    get(target, property) {
      if (typeof property === 'string' && property in overrides) return overrides[property as keyof Proposer];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** `growCluster` without its step 2: accepts, then prepares, go to the new acceptor; no key is re-written. */
const growWithoutIdentityPass: RuleBreak['grow'] = async (target, proposers, options) => {
  const trace = (stepName: MembershipStep, outcome: 'started' | 'completed'): void =>
    options.tracer?.({ type: 'membership-step', operation: 'grow', target: target.address, step: stepName, outcome });
  trace('add-accepter', 'started');
  for (const p of proposers) await p.addAccepter(target, options);
  trace('add-accepter', 'completed');
  trace('add-preparer', 'started');
  for (const p of proposers) await p.addPreparer(target, options);
  trace('add-preparer', 'completed');
};

/** Reads that return what the prepare phase showed, without writing it back. */
export const readWithoutWriteBack: RuleBreak = Object.freeze({
  id: 'read-without-write-back',
  title: 'Reads that do not write back',
  rule: 'A read is a full round: the identity change x → x writes the value it found back to a quorum before answering (paper §2.2). A value seen on a minority becomes chosen before anyone is told about it.',
  consequence:
    'Without the write-back, a read may return a value held by a minority; a later read through a quorum that misses it returns the older value: the register goes back in time, and the linearizability checker finds no order for the reads.',
  proposers: readsWithoutWriteBack,
});

/** Growing the cluster without re-writing every key in between. */
export const growWithoutTheIdentityPass: RuleBreak = Object.freeze({
  id: 'grow-without-identity-pass',
  title: 'Grow without the identity pass',
  rule: 'Between sending accepts and sending prepares to a new acceptor, re-write every key with an identity read, so each value is on a quorum of the new set (paper §2.3, step 2).',
  consequence:
    'Without it, a value written by the old majority (a1, a2 of three) is on two acceptors of five; losing those two leaves a majority that never saw it, and a read returns the empty register after a completed write: the linearizability checker rejects it.',
  grow: growWithoutIdentityPass,
});

/** Acceptors whose promises and values do not survive a restart. */
export const forgetfulAcceptors: RuleBreak = Object.freeze({
  id: 'forgetful-acceptors',
  title: 'Acceptors that forget on restart',
  rule: 'An acceptor persists a promise or a value before it replies (paper §2.2: "it persists the ballot number as a promise"): a reply is a commitment that must survive a crash.',
  consequence:
    'An acceptor that restarts empty breaks the quorum it was part of: a chosen value can drop to a minority, a read through the forgetful acceptor returns an older value, and the acceptor monitor sees a record vanish without garbage collection.',
  forgetsOnRestart: true,
});

/** A scenario for `forgetfulAcceptors`: a value on two acceptors of three, one of which restarts. */
export const forgetfulAcceptorScenario: Tour = defineTour(
  {
    id: 'forgetful-acceptor',
    title: 'A restart must not forget',
    summary:
      'x is written on a1 and a2 (the accept to a3 is lost): a quorum, so "a" is chosen. Then a2 crashes and restarts, and p2 reads through {a2, a3}. An acceptor that kept its records answers with "a"; one that forgot answers with nothing.',
  },
  (tour) => {
    const cluster = tour.cluster({ acceptors: 3, proposers: ['p1', 'p2'], seed: 7 });
    let write: OperationHandle | undefined;
    let check: OperationHandle | undefined;
    return [
      step('x = "a" is written on a1 and a2; the accept to a3 is lost', 'Two acceptances of three: "a" is chosen.', async () => {
        write = cluster.propose('p1', 'x', set('a'));
        await cluster.runUntil(() => cluster.messages({ method: 'accept', to: 'a3' }).length > 0);
        const lines = await cluster.drop({ method: 'accept', to: 'a3' });
        await cluster.runUntilIdle();
        return [...lines, '', String(write), '', String(cluster.state())];
      }, { checkpoint: { claim: 'the write is done: a1 and a2 hold "a"', holds: () => doneWith(write, 'a') && recordOf(cluster, 'a2', 'x')?.value === 'a' } }),
      step('a2 crashes and restarts', 'Its records are what it wrote to disk before each reply.', async () => {
        cluster.crash('a2');
        await cluster.restart('a2');
        return [...cluster.explanations({ since: cluster.mark() - 2 }).map(String), '', String(cluster.state())];
      }, { checkpoint: { claim: 'a2 still holds "a"', holds: () => recordOf(cluster, 'a2', 'x')?.value === 'a' } }),
      step('p2 reads x while a1 is cut off: its quorum is {a2, a3}', 'The read adopts the highest accepted value its quorum reports.', async () => {
        cluster.partition('p2', 'a1');
        const mark = cluster.mark();
        check = cluster.propose('p2', 'x', read);
        await cluster.runUntilIdle();
        cluster.heal();
        return [...cluster.explanations({ since: mark }).map(String), '', String(check)];
      }, { checkpoint: { claim: 'the read returned "a"', holds: () => doneWith(check, 'a') } }),
    ];
  },
);

/** A broken rule, with the scenario that shows what goes wrong without it. */
export interface Counterexample {
  /** The rule broken. */
  readonly rule: RuleBreak;
  /** The scenario. */
  readonly tour: Tour;
  /**
   * Starts the scenario on a cluster with the rule broken (`broken`, the default) or intact; its
   * last step runs the checkers: broken, they find a violation; intact, nothing.
   */
  start(options?: { readonly broken?: boolean }): TourRun;
}

function counterexample(rule: RuleBreak, tour: Tour): Counterexample {
  return Object.freeze({
    rule,
    tour,
    start(options: { readonly broken?: boolean } = {}): TourRun {
      const broken = options.broken ?? true;
      const run = tour.start({ breaks: broken ? [rule] : [] });
      const verdict: TourStep = step(
        "The library's checkers judge the run",
        `${broken ? `Broken rule: ${rule.rule}` : `The rule kept: ${rule.rule}`}\n\n${broken ? rule.consequence : 'With the rule kept, every checker passes: the operations have a legal order, and no acceptor invariant broke.'}`,
        () => String(run.cluster.check()).split('\n'),
        {
          checkpoint: broken
            ? { claim: 'the checkers find a violation', holds: () => run.cluster.check().ok === false }
            : { claim: 'the checkers find nothing wrong', holds: () => run.cluster.check().ok === true },
        },
      );
      return {
        tour: run.tour,
        steps: [...run.steps, verdict],
        get cluster() {
          return run.cluster;
        },
      };
    },
  });
}

/** Every counterexample, each a rule broken with the scenario that shows why it is there. */
export const counterexamples: readonly Counterexample[] = Object.freeze([
  counterexample(readWithoutWriteBack, lostAcceptAndReadsWrite),
  counterexample(growWithoutTheIdentityPass, growTheCluster),
  counterexample(forgetfulAcceptors, forgetfulAcceptorScenario),
]);
