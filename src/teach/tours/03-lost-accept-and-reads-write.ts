/**
 * Lesson 3: a lost accept, and why a read must write (paper §2.2).
 */
import { read, set } from '../changes.js';
import type { OperationHandle } from '../operation-handle.js';
import { chosen, doneWith, recordOf } from './facts.js';
import { defineTour, step } from './tour.js';

/** Lesson 3, a lost accept and why reads write: a value on one acceptor of three, repaired onto a majority by the read that adopts it. */
export const lostAcceptAndReadsWrite = defineTour(
  {
    id: 'lost-accept-and-reads-write',
    lesson: 3,
    title: 'A lost accept, and why a read must write',
    summary:
      "p1's accept reaches only a1 before p1 crashes. The value it carried is on one acceptor of three: not chosen, not lost either. Whether it counts is up to the next proposer that looks. A reader that sees it (through a quorum that includes a1) must adopt it, and must write it to a quorum before answering: otherwise the next reader, through a quorum without a1, would find the old value, and the register would go back in time. The identity change x → x does exactly that write: it repairs the minority write.",
  },
  (tour) => {
    const cluster = tour.cluster({ acceptors: 3, proposers: ['p1', 'p2'], seed: 3 });
    let write: OperationHandle | undefined;
    let first: OperationHandle | undefined;
    let second: OperationHandle | undefined;
    return [
      step('x = "v0" is committed everywhere', 'An ordinary write, run to the end.', async () => {
        cluster.propose('p1', 'x', set('v0'));
        await cluster.runUntilIdle();
        return [String(cluster.state())];
      }, { checkpoint: { claim: 'x = "v0" is chosen', holds: () => chosen(cluster, 'x') === 'v0' } }),
      step(
        'p1 starts writing "v1"; its prepare phase succeeds',
        'Run until the accepts of the new round are on the wire.',
        async () => {
          write = cluster.propose('p1', 'x', set('v1'));
          await cluster.runUntil(() => cluster.messages({ method: 'accept' }).length > 0);
          return cluster.messages().map(String);
        },
        { checkpoint: { claim: 'accepts of "v1" under 2/p1 are in flight', holds: () => cluster.messages({ method: 'accept' }).some((m) => m.text.includes('"v1"')) } },
      ),
      step(
        'Only the accept to a1 gets through; then p1 crashes',
        "p1's caller cannot know whether \"v1\" was written: the outcome is unknown. a1 holds \"v1\" under 2/p1; a2 and a3 still hold \"v0\" under 1/p1. A minority write: the values list shows it is not chosen.",
        async () => {
          const lines = [...(await cluster.deliver({ method: 'accept', to: 'a1' })), ...(await cluster.drop({ method: 'accept', kind: 'request' }))];
          cluster.crash('p1');
          await cluster.runUntilIdle();
          return [...lines, '', String(write), '', String(cluster.state())];
        },
        {
          checkpoint: { claim: 'only a1 holds "v1": a minority, not chosen; "v0" is still chosen', holds: () => recordOf(cluster, 'a1', 'x')?.value === 'v1' && chosen(cluster, 'x') === 'v0' },
          tryThis: ['Before the next step, read from p2 through {a2, a3} instead: you get "v0", and "v1" can never be chosen after that.'],
        },
      ),
      step(
        'p2 reads x while a3 is cut off: its quorum is {a1, a2}',
        'p2\'s first ballot, 1/p2, loses to p1\'s 2/p1 (a fast-forward, as in lesson 2). In its second round the promises show both values; p2 takes the one accepted under the highest ballot, "v1" (2/p1 > 1/p1), and writes it back under its own ballot. Now "v1" is on a1 and a2: a majority. From here on every quorum includes one of them: "v1" is chosen for good.',
        async () => {
          cluster.partition('p2', 'a3');
          const mark = cluster.mark();
          first = cluster.propose('p2', 'x', read);
          await cluster.runUntilIdle();
          return [...cluster.explanations({ since: mark }).map(String), '', cluster.diagram({ since: mark }).text, String(first), '', String(cluster.state())];
        },
        { checkpoint: { claim: 'the first read returned "v1", and "v1" is now chosen (on a1 and a2)', holds: () => doneWith(first, 'v1') && chosen(cluster, 'x') === 'v1' } },
      ),
      step(
        'Heal; now a1 is cut off, and p2 reads through {a2, a3}',
        'Still "v1": a2 carried it over (and a3 now holds it too). Had the first read only looked and not written, a2 would still hold "v0" and this read would return "v0" after a read of "v1": not linearizable. The counterexample "reads that do not write back" shows exactly that.',
        async () => {
          cluster.heal();
          cluster.partition('p2', 'a1');
          const mark = cluster.mark();
          second = cluster.propose('p2', 'x', read);
          await cluster.runUntilIdle();
          cluster.heal();
          return [cluster.diagram({ since: mark }).text, String(second), '', String(cluster.state())];
        },
        { checkpoint: { claim: 'the second read also returned "v1"', holds: () => doneWith(second, 'v1') } },
      ),
    ];
  },
);
