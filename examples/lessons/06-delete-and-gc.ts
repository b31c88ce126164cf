/**
 * Lesson 6: deleting a key for good (paper §3.1).
 *
 * Deleting is a write of the empty state (a tombstone). The tombstone still takes space on every
 * acceptor; garbage collection removes it, and must make sure no old message can bring the key
 * back afterwards. Its steps:
 *   a. a full identity read (every acceptor must accept), which also finds the tombstone's ballot;
 *   b. every proposer moves its counter past that ballot and increments its age;
 *   c. every acceptor is told to reject messages from proposers younger than those ages;
 *   d. every acceptor removes the record if it still holds that tombstone.
 * Below, one of p1's old accepts is stuck on a slow link until after the collection. When it
 * finally arrives, a3 refuses it: p1's age in that message is too young.
 *
 * Run: npx tsx examples/lessons/06-delete-and-gc.ts
 */
import { createCluster, remove, set } from 'caspaxos/teach';

const cluster = createCluster({ acceptors: 3, proposers: ['p1', 'p2'], seed: 6 });
const show = (lines: string[]): void => console.log(lines.join('\n'));

console.log('## p1 writes session = "alice"; its accept to a3 is stuck on a slow link\n');
const write = cluster.propose('p1', 'session', set('alice'));
await cluster.runUntil(() => cluster.messages({ method: 'accept', to: 'a3' }).length > 0);
show(cluster.delay({ method: 'accept', to: 'a3' }, 60));
await cluster.runUntilSettled();
console.log(`${write}\n`);
// a1 and a2 accepted: that is a quorum, so the write is done while the third accept is still on
// its way.

console.log('## p2 deletes the key: it writes the empty state, a tombstone\n');
const deletion = cluster.propose('p2', 'session', remove);
await cluster.runUntilSettled();
console.log(`${deletion}\n`);
console.log(cluster.state());

console.log('## Garbage collection\n');
const mark = cluster.mark();
const gc = cluster.gc('session');
await cluster.runUntilSettled();
console.log(cluster.diagram({ since: mark }).text);
console.log(`${gc}\n`);
// The records are gone. What is left is small and per proposer, not per key: each acceptor
// requires ages p1 ≥ 1 and p2 ≥ 1 now, and treats any absent key as promised to the tombstone's
// ballot (the floor), so no proposer can write below it either.
console.log(cluster.state());

console.log("## The stale accept finally reaches a3\n");
// Step through what is left, one event at a time: p1's timer for that call runs out, the delayed
// message arrives, and a3's reply goes back to p1, which gave up on it long ago and ignores it.
for (let line = await cluster.step(); line !== undefined; line = await cluster.step()) {
  console.log(line);
  if (cluster.messages().length === 0) break;
}
console.log(`\n${cluster.state()}`);
// a3 answered age-rejected: the message carried p1's age from before the collection (0), and a3
// now requires 1. Without that fence, a3 would have stored "alice" again after the delete.

console.log('## The key can be written again\n');
const again = cluster.propose('p1', 'session', set('bob'));
await cluster.runUntilIdle();
console.log(`${again}\n`);
console.log(cluster.state());
