/**
 * Lesson 3: a lost accept, and why a read must write (paper §2.2, "reads").
 *
 * p1's accept reaches only a1 before p1 crashes. The value it carried is on one acceptor of three:
 * not chosen, not lost either. Whether it counts is up to the next proposer that looks. A reader
 * that sees it (through a quorum that includes a1) must adopt it, and must WRITE it to a quorum
 * before answering: otherwise the next reader, through a quorum without a1, would find the old
 * value, and the register would go back in time (the first read said v1, the second says v0).
 * The identity change x -> x does exactly that write: it repairs the minority write.
 *
 * Run: npx tsx examples/lessons/03-lost-accept-and-reads-write.ts
 */
import { createCluster, read, set } from 'caspaxos/teach';

const cluster = createCluster({ acceptors: 3, proposers: ['p1', 'p2'], seed: 3 });
const show = (lines: string[]): void => console.log(lines.join('\n'));

console.log('## x = "v0" is committed everywhere\n');
cluster.propose('p1', 'x', set('v0'));
await cluster.runUntilIdle();
console.log(cluster.state());

console.log('## p1 starts writing "v1"; its prepare phase succeeds\n');
const write = cluster.propose('p1', 'x', set('v1'));
await cluster.runUntil(() => cluster.messages({ method: 'accept' }).length > 0);
console.log(cluster.messages().join('\n'));

console.log('\n## Only the accept to a1 gets through; then p1 crashes\n');
show(await cluster.deliver({ method: 'accept', to: 'a1' }));
show(await cluster.drop({ method: 'accept', kind: 'request' }));
cluster.crash('p1');
await cluster.runUntilIdle();
console.log(`\n${write}\n`);
// p1's caller cannot know whether "v1" was written: the outcome is unknown.
console.log(cluster.state());
// a1 holds "v1" under 2/p1; a2 and a3 still hold "v0" under 1/p1. A minority write.

console.log('## p2 reads x while a3 is cut off: its quorum is {a1, a2}\n');
cluster.partition('p2', 'a3');
let mark = cluster.mark();
const first = cluster.propose('p2', 'x', read);
await cluster.runUntilIdle();
console.log(cluster.diagram({ since: mark }).text);
// p2's first ballot, 1/p2, lost to p1's 2/p1 (a fast-forward, as in lesson 2). In its second
// round the promises show both values; p2 takes the one accepted under the highest ballot, "v1"
// (2/p1 > 1/p1), and writes it back under its own ballot. Now "v1" is on a1 and a2: a majority.
// From here on, every quorum includes one of them: "v1" is chosen for good.
console.log(`${first}\n`);
console.log(cluster.state());

console.log('## Heal; now a1 is cut off, and p2 reads through {a2, a3}\n');
cluster.heal();
cluster.partition('p2', 'a1');
mark = cluster.mark();
const second = cluster.propose('p2', 'x', read);
await cluster.runUntilIdle();
console.log(cluster.diagram({ since: mark }).text);
console.log(`${second}\n`);
// Still "v1": a2 carried it over (and a3 now holds it too). Had the first read only looked and
// not written, a2 would still hold "v0" and this read would have returned "v0" after a read of
// "v1": not linearizable.
cluster.heal();
console.log(cluster.state());
