/**
 * Lesson 1: one CASPaxos round, message by message (paper §2.2).
 *
 * A proposer turns a client's change into two phases over 2F+1 acceptors (here 3, so F = 1):
 *   1. prepare: "I am ballot 1/p1; promise to ignore anything older, and tell me what you hold."
 *   2. accept:  "Store f(current state) under ballot 1/p1."
 * Each phase needs replies from a majority (2 of 3). Nothing here is random or timed for real: the
 * cluster runs on virtual time from a seed, so this prints the same thing every time.
 *
 * Run: npx tsx examples/lessons/01-basic-round.ts
 */
import { createCluster, read, set } from 'caspaxos/teach';

const cluster = createCluster({ acceptors: 3, proposers: ['p1', 'p2'], seed: 1 });

console.log('## A client asks p1 to set x to "hello"\n');
// `propose` starts the round and returns at once: the prepares are on the wire, nothing arrived.
// The ballot 1/p1 is p1's counter (1) and its id, so ballots of different proposers never tie.
const write = cluster.propose('p1', 'x', set('hello'));
console.log(cluster.messages().join('\n'));

console.log('\n## Phase 1: a1 and a2 receive the prepare\n');
// Deliver chosen messages by hand. An acceptor promises a ballot higher than any it has promised,
// and answers with what it has accepted so far: nothing yet (ballot ø, state ∅).
console.log((await cluster.deliver({ from: 'p1', to: 'a1' })).join('\n'));
console.log((await cluster.deliver({ from: 'p1', to: 'a2' })).join('\n'));
console.log(`\n${cluster.state()}`);
// The table shows the promise is durable on a1 and a2 before their replies leave: an acceptor
// that crashed now would still remember it when it restarts.

console.log('## The two promises reach p1: a majority, so p1 moves to phase 2\n');
console.log((await cluster.deliver({ to: 'p1' })).join('\n'));
// Two promises of three are a quorum. p1 takes the state accepted under the highest ballot among
// them (none: the register is empty), applies the change, and sends accepts to all three.
console.log(`\n${cluster.messages().join('\n')}`);

console.log('\n## Phase 2: a1 and a2 accept\n');
console.log((await cluster.deliver({ method: 'accept', to: 'a1' })).join('\n'));
console.log((await cluster.deliver({ method: 'accept', to: 'a2' })).join('\n'));
console.log((await cluster.deliver({ method: 'accept', to: 'p1' })).join('\n'));
// Two acceptances: the value is chosen. The client gets its answer now, without waiting for a3.
console.log(`\n${write}`);

console.log('\n## Stragglers: a3 gets its prepare and accept late, and catches up\n');
await cluster.runUntilIdle();
// The time column is virtual milliseconds. Replies marked (late) came after the round was decided:
// p1 counts them but they change nothing. The network reordered a3's messages: its accept came
// first and was accepted anyway (an accept needs a ballot at least as high as the promise, not a
// promise of its own), and the prepare that followed was refused, since a3 had already accepted
// that very ballot.
console.log(cluster.diagram().text);
console.log(cluster.state());

console.log('## A read is a round too\n');
// p2 reads x with the identity change (x -> x). It still runs both phases and writes "hello" back
// under its own ballot. Its first, 1/p2, wins the prepares (higher than 1/p1: same counter, and
// "p2" > "p1"), yet p2 sends no accept under it: a round commits only under a counter above the one
// the state it read was accepted under (rule G1; the key-value store's versions count on it), so
// it prepares again at once, under 2/p2. Lesson 3 shows why a read must write.
const mark = cluster.mark();
const check = cluster.propose('p2', 'x', read);
await cluster.runUntilSettled();
await cluster.runUntilIdle();
console.log(cluster.diagram({ since: mark }).text);
console.log(`${check}\n`);
console.log(cluster.state());
