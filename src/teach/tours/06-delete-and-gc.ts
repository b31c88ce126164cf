/**
 * Lesson 6: deleting a key for good (paper §3.1).
 */
import { remove, set } from '../changes.js';
import type { OperationHandle } from '../operation-handle.js';
import { chosen, doneWith, recordOf } from './facts.js';
import { defineTour, step } from './tour.js';

/** Lesson 6, delete and garbage collection: tombstones, the four collection steps, an old message fenced off by age. */
export const deleteAndGc = defineTour(
  {
    id: 'delete-and-gc',
    lesson: 6,
    title: 'Delete and garbage collection',
    summary:
      'Deleting is a write of the empty state (a tombstone). The tombstone still takes space on every acceptor; garbage collection removes it, and must make sure no old message can bring the key back afterwards. Its steps: a. a full identity read (every acceptor must accept), which also finds the tombstone\'s ballot; b. every proposer moves its counter past that ballot and increments its age; c. every acceptor is told to reject messages from proposers younger than those ages; d. every acceptor removes the record if it still holds that tombstone. Below, one of p1\'s old accepts is stuck on a slow link until after the collection. When it finally arrives, a3 refuses it: p1\'s age in that message is too young.',
  },
  (tour) => {
    const cluster = tour.cluster({ acceptors: 3, proposers: ['p1', 'p2'], seed: 6 });
    let write: OperationHandle | undefined;
    let deletion: OperationHandle | undefined;
    let gc: OperationHandle | undefined;
    let again: OperationHandle | undefined;
    return [
      step(
        'p1 writes session = "alice"; its accept to a3 is stuck on a slow link',
        'a1 and a2 accepted: that is a quorum, so the write is done while the third accept is still on its way.',
        async () => {
          write = cluster.propose('p1', 'session', set('alice'));
          await cluster.runUntil(() => cluster.messages({ method: 'accept', to: 'a3' }).length > 0);
          const held = cluster.delay({ method: 'accept', to: 'a3' }, 60);
          await cluster.runUntilSettled();
          return [...held, '', String(write)];
        },
        { checkpoint: { claim: 'the write is done with one accept still in flight', holds: () => doneWith(write, 'alice') && cluster.messages({ method: 'accept', to: 'a3' }).length === 1 } },
      ),
      step('p2 deletes the key: it writes the empty state, a tombstone', 'A delete is a write like any other; its value is ∅.', async () => {
        deletion = cluster.propose('p2', 'session', remove);
        await cluster.runUntilSettled();
        return [String(deletion), '', String(cluster.state())];
      }, { checkpoint: { claim: 'the tombstone ∅ is chosen', holds: () => doneWith(deletion, null) && chosen(cluster, 'session') === null } }),
      step(
        'Garbage collection',
        "The records are gone. What is left is small and per proposer, not per key: each acceptor requires ages p1 ≥ 1 and p2 ≥ 1 now, and treats any absent key as promised to the tombstone's ballot (the floor), so no proposer can write below it either.",
        async () => {
          const mark = cluster.mark();
          gc = cluster.gc('session');
          await cluster.runUntilSettled();
          return [cluster.diagram({ since: mark }).text, String(gc), '', String(cluster.state())];
        },
        { checkpoint: { claim: 'no acceptor holds a record of session any more', holds: () => gc?.status === 'done' && ['a1', 'a2', 'a3'].every((a) => recordOf(cluster, a, 'session') === undefined) } },
      ),
      step(
        'The stale accept finally reaches a3',
        "Step through what is left, one event at a time: p1's timer for that call runs out, the delayed message arrives, and a3's reply goes back to p1, which gave up on it long ago and ignores it. a3 answers age-rejected: the message carried p1's age from before the collection (0), and a3 now requires 1. Without that fence, a3 would have stored \"alice\" again after the delete.",
        async () => {
          const lines: string[] = [];
          for (let line = await cluster.step(); line !== undefined; line = await cluster.step()) {
            lines.push(line);
            if (cluster.messages().length === 0) break;
          }
          return [...lines, '', String(cluster.state())];
        },
        { checkpoint: { claim: 'a3 refused the stale accept: session is still gone', holds: () => recordOf(cluster, 'a3', 'session') === undefined } },
      ),
      step('The key can be written again', 'A new write, by a proposer whose age is up to date, works as on any key.', async () => {
        again = cluster.propose('p1', 'session', set('bob'));
        await cluster.runUntilIdle();
        return [String(again), '', String(cluster.state())];
      }, { checkpoint: { claim: 'session = "bob" is chosen', holds: () => doneWith(again, 'bob') && chosen(cluster, 'session') === 'bob' } }),
    ];
  },
);
