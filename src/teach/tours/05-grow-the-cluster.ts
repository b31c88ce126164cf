/**
 * Lesson 5: growing the cluster from 3 to 4 and 5 acceptors, safely (paper §2.3).
 */
import { read, set } from '../changes.js';
import type { OperationHandle } from '../operation-handle.js';
import { doneWith, recordOf } from './facts.js';
import { defineTour, step } from './tour.js';

/** Lesson 5, growing the cluster: 3 → 4 → 5 acceptors in the paper's three steps, and why the identity pass matters. */
export const growTheCluster = defineTour(
  {
    id: 'grow-the-cluster',
    lesson: 5,
    title: 'Growing the cluster',
    summary:
      "Adding an acceptor changes the quorums: with 4 acceptors a majority is 3. The paper's recipe, run on every proposer: 1. send accepts to the new acceptor too (accept quorums grow first); 2. re-write every key with an identity read, so each value is on a quorum of the new set; 3. send prepares to it too. Step 2 matters: below, x is written while a3 is down, so only a1 and a2 hold it. Without the identity pass, the cluster could grow to five and lose a1 and a2 (two failures, which five acceptors are meant to survive), and x would be gone.",
  },
  (tour) => {
    const cluster = tour.cluster({ acceptors: 3, proposers: ['p1', 'p2'], seed: 5 });
    let growA4: OperationHandle | undefined;
    let check: OperationHandle | undefined;
    return [
      step('x is written while a3 is down: only a1 and a2 hold it', 'a3 restarts afterwards, with nothing for x: it never heard of it.', async () => {
        cluster.crash('a3');
        cluster.propose('p1', 'x', set('hello'));
        await cluster.runUntilIdle();
        await cluster.restart('a3');
        return [String(cluster.state())];
      }, { checkpoint: { claim: 'a1 and a2 hold "hello", a3 holds nothing', holds: () => recordOf(cluster, 'a1', 'x')?.value === 'hello' && recordOf(cluster, 'a2', 'x')?.value === 'hello' && recordOf(cluster, 'a3', 'x') === undefined } }),
      step(
        'Grow to four acceptors: a4 joins',
        "Step 1 applies at once: a4 receives accepts but no prepares yet. The notes across every lifeline are the operator's steps; between steps 1 and 3 a proposer lists the keys and re-writes x with an identity read: those are the accepts to a3 and a4.",
        async () => {
          const mark = cluster.mark();
          growA4 = cluster.grow('a4');
          const during = String(cluster.state());
          await cluster.runUntilSettled();
          await cluster.runUntilIdle();
          return [during, cluster.diagram({ since: mark }).text, String(growA4), '', String(cluster.state())];
        },
        { checkpoint: { claim: 'the identity pass put "hello" on a3 and a4 too', holds: () => growA4?.status === 'done' && recordOf(cluster, 'a3', 'x')?.value === 'hello' && recordOf(cluster, 'a4', 'x')?.value === 'hello' } },
      ),
      step(
        'Grow to five, then lose a1 and a2: x survives',
        'a1 and a2 never answer; a3, a4 and a5 are a majority of five, and they hold "hello" because each grow re-wrote it onto the new acceptor set.',
        async () => {
          cluster.grow('a5');
          await cluster.runUntilIdle();
          cluster.crash('a1');
          cluster.crash('a2');
          const mark = cluster.mark();
          check = cluster.propose('p2', 'x', read);
          await cluster.runUntilIdle();
          return [cluster.diagram({ since: mark }).text, String(check), '', String(cluster.state())];
        },
        {
          checkpoint: { claim: 'the read through a3, a4, a5 returned "hello"', holds: () => doneWith(check, 'hello') },
          tryThis: ['Turn on the counterexample "grow without the identity pass" and run this tour again.'],
        },
      ),
    ];
  },
);
