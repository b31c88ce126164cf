/**
 * Lesson 5: growing the cluster from 3 to 4 and 5 acceptors, safely (paper §2.3).
 *
 * Adding an acceptor changes the quorums: with 4 acceptors a majority is 3. The paper's recipe,
 * run on every proposer:
 *   1. send accepts to the new acceptor too (accept quorums grow first);
 *   2. re-write every key with an identity read, so each value is on a quorum of the new set;
 *   3. send prepares to it too.
 * Step 2 matters: below, x is written while a3 is down, so only a1 and a2 hold it. Without the
 * identity pass, the cluster could grow to five and lose a1 and a2 (two failures, which five
 * acceptors are meant to survive) and x would be gone.
 *
 * Run: npx tsx examples/lessons/05-grow-the-cluster.ts
 */
import { createCluster, read, set } from 'caspaxos/teach';

const cluster = createCluster({ acceptors: 3, proposers: ['p1', 'p2'], seed: 5 });

console.log('## x is written while a3 is down: only a1 and a2 hold it\n');
cluster.crash('a3');
cluster.propose('p1', 'x', set('hello'));
await cluster.runUntilIdle();
await cluster.restart('a3');
console.log(cluster.state());

console.log('## Grow to four acceptors: a4 joins\n');
let mark = cluster.mark();
const growA4 = cluster.grow('a4');
// Step 1 applies at once: a4 receives accepts but no prepares yet.
console.log(cluster.state());
await cluster.runUntilSettled();
await cluster.runUntilIdle();
console.log(cluster.diagram({ since: mark }).text);
// The notes spanning every lifeline are the operator's steps; between steps 1 and 3, a proposer
// listed the keys and re-wrote x with an identity read: that is the accept to a3 and a4 above.
console.log(`${growA4}\n`);
console.log(cluster.state());

console.log('## Grow to five, then lose a1 and a2: x survives\n');
cluster.grow('a5');
await cluster.runUntilIdle();
cluster.crash('a1');
cluster.crash('a2');
mark = cluster.mark();
const check = cluster.propose('p2', 'x', read);
await cluster.runUntilIdle();
console.log(cluster.diagram({ since: mark }).text);
// a1 and a2 never answer; a3, a4 and a5 are a majority of five, and they hold "hello" because
// each grow re-wrote it onto the new acceptor set.
console.log(`${check}\n`);
console.log(cluster.state());
