/**
 * Lesson 2: conflicts and fast-forward (paper §2.2).
 */
import { append, set } from '../changes.js';
import type { OperationHandle } from '../operation-handle.js';
import type { TeachingCluster } from '../teaching-cluster.js';
import { allPromised, chosen, doneWith, story } from './facts.js';
import { defineTour, step } from './tour.js';

const ALL = ['a1', 'a2', 'a3'];

/** Lesson 2, conflict and fast-forward: a refused prepare names the ballot that beat it; the loser moves past it and re-runs its change on the winner's state. */
export const conflictAndFastForward = defineTour(
  {
    id: 'conflict-and-fast-forward',
    lesson: 2,
    title: 'Conflict and fast-forward',
    summary:
      'A proposer whose ballot is too low is told which ballot beat it; it moves its counter past that ballot (fast-forward) and tries again. When two proposers race, the loser runs its change again on the state the winner left, so no change is lost. Ballots are counter/id, compared by counter, then by proposer id: 2/p2 > 1/p2 > 1/p1.',
  },
  (tour) => {
    const a = tour.cluster({ acceptors: 3, proposers: ['p1', 'p2'], seed: 2 });
    let race: TeachingCluster | undefined;
    let late: OperationHandle | undefined;
    let fromP1: OperationHandle | undefined;
    let fromP2: OperationHandle | undefined;
    const r = (): TeachingCluster => race as TeachingCluster;
    return [
      step(
        'Part A: p2 writes twice, so its counter is at 2',
        'p2 sets x to "a", then appends "b". Each write is a full round under a new ballot of p2: 1/p2, then 2/p2.',
        async () => {
          a.propose('p2', 'x', set('a'));
          await a.runUntilIdle();
          a.propose('p2', 'x', append('b'));
          await a.runUntilIdle();
          return [String(a.state())];
        },
        { checkpoint: { claim: 'every acceptor promised and accepted 2/p2, holding "ab"', holds: () => allPromised(a, ALL, 'x', '2/p2') && chosen(a, 'x') === 'ab' } },
      ),
      step(
        "p1 has never written x: its first ballot is 1/p1, below the promise 2/p2",
        'Each acceptor refuses the prepare and names the higher ballot it has: conflict(accepted 2/p2). Nothing was written under 1/p1, so p1 may retry. It fast-forwards its counter to the highest it was shown (1 → 2) and takes the next ballot, 3/p1, which beats 2/p2. The promises of that round carry "ab", and p1\'s change runs on it.',
        async () => {
          const mark = a.mark();
          late = a.propose('p1', 'x', append('c'));
          await a.runUntilIdle();
          return [...story(a, mark), '', a.diagram({ since: mark }).text, String(late)];
        },
        {
          checkpoint: { claim: 'p1 committed "abc" at 3/p1 after one lost attempt', holds: () => doneWith(late, 'abc', '3/p1') },
          tryThis: ['Start p1 again: its counter is past 2 now, so its next prepare wins at once.'],
        },
      ),
      step(
        'Part B: on a fresh cluster, p1 and p2 append to x at the same time',
        'A fresh cluster, so that both counters start at 0 and the two ballots are 1/p1 and 1/p2 (a proposer has one counter for all keys). Six prepares are on the wire.',
        () => {
          race = tour.cluster({ acceptors: 3, proposers: ['p1', 'p2'], seed: 3 });
          fromP1 = r().propose('p1', 'x', append('+p1'));
          fromP2 = r().propose('p2', 'x', append('+p2'));
          return r().messages().map(String);
        },
        { checkpoint: { claim: 'six prepares in flight: 1/p1 and 1/p2 to each acceptor', holds: () => r().messages({ method: 'prepare' }).length === 6 } },
      ),
      step(
        "p1's prepares arrive first and p1 collects its promises",
        "A quorum of promises for 1/p1: p1 applies its change to the empty register and sends its accepts. They are on the wire, not yet delivered.",
        async () => [...(await r().deliver({ from: 'p1', method: 'prepare' })), ...(await r().deliver({ to: 'p1' })), '', ...r().messages({ from: 'p1' }).map(String)],
        { checkpoint: { claim: "p1's three accepts of 1/p1 are in flight", holds: () => r().messages({ from: 'p1', method: 'accept' }).length === 3 } },
      ),
      step(
        "...p2's prepares arrive: 1/p2 beats 1/p1, so every acceptor promises 1/p2",
        'An acceptor promises any ballot above its promise. 1/p2 > 1/p1 (same counter, "p2" > "p1"), so all three promise 1/p2, and from now on refuse anything below it.',
        async () => [...(await r().deliver({ from: 'p2', method: 'prepare' })), '', String(r().state())],
        { checkpoint: { claim: 'all three acceptors promised 1/p2', holds: () => allPromised(r(), ALL, 'x', '1/p2') } },
      ),
      step(
        "p1's accepts are refused: conflict(promise 1/p2)",
        "An accept needs a ballot at least as high as the acceptor's promise: 1/p1 < 1/p2. p1 lost the round, and nothing was stored under 1/p1: it retries at once under 2/p1 (its counter was 1, the conflict named counter 1, so the next ballot is 2/p1). The retry's prepares are on the wire; leave them there for now.",
        async () => [...(await r().deliver({ from: 'p1', method: 'accept' })), ...(await r().deliver({ to: 'p1' })), '', ...r().messages({ from: 'p1' }).map(String)],
        {
          checkpoint: { claim: "p1's retry prepares 2/p1 are in flight", holds: () => r().messages({ from: 'p1', method: 'prepare' }).every((m) => m.text.includes('2/p1')) && r().messages({ from: 'p1' }).length === 3 },
          tryThis: ["Deliver p1's new prepares now, before p2's promises: p2's accepts will be refused in turn (lesson 4)."],
        },
      ),
      step(
        'p2 finishes its round undisturbed and commits "+p2"',
        'p2 has its quorum of promises (empty register), applies its change and gets its accepts through.',
        async () => [...(await r().deliver({ to: 'p2' })), ...(await r().deliver({ from: 'p2', method: 'accept' })), ...(await r().deliver({ to: 'p2' })), '', String(fromP2)],
        { checkpoint: { claim: 'p2 committed "+p2" at 1/p2', holds: () => doneWith(fromP2, '+p2', '1/p2') } },
      ),
      step(
        'Now p1\'s retry runs: its promises carry "+p2", and p1\'s change runs on that',
        "Both appends are in the final value, each exactly once: p1's change function ran twice (once per attempt, on the empty register and then on \"+p2\"), but only the attempt that committed counts. This is why a change is a function of the current state, not a value.",
        async () => {
          const mark = r().mark();
          await r().runUntilSettled();
          await r().runUntilIdle();
          return [...story(r(), mark), '', r().diagram().text, String(fromP1), '', String(r().state())];
        },
        { checkpoint: { claim: 'x = "+p2+p1" is chosen: both appends, once each', holds: () => doneWith(fromP1, '+p2+p1', '2/p1') && chosen(r(), 'x') === '+p2+p1' } },
      ),
    ];
  },
);
