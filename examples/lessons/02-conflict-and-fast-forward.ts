/**
 * Lesson 2: conflicts. A proposer whose ballot is too low is told which ballot beat it; it moves
 * its counter past that ballot (fast-forward) and tries again. When two proposers race, the loser
 * runs its change again on the state the winner left, so no change is lost (paper §2.2).
 *
 * Ballots are `counter/id`: compared by counter, then by proposer id, so 2/p2 > 1/p2 > 1/p1.
 *
 * Run: npx tsx examples/lessons/02-conflict-and-fast-forward.ts
 */
import { append, createCluster, set } from 'caspaxos/teach';

const cluster = createCluster({ acceptors: 3, proposers: ['p1', 'p2'], seed: 2 });
const show = (lines: string[]): void => console.log(lines.join('\n'));

console.log('## Part A: p2 writes twice, so its counter is at 2\n');
cluster.propose('p2', 'x', set('a'));
await cluster.runUntilIdle();
cluster.propose('p2', 'x', append('b'));
await cluster.runUntilIdle();
console.log(cluster.state());

console.log('## p1 has never written x: its first ballot is 1/p1, below the promise 2/p2\n');
const mark = cluster.mark();
const late = cluster.propose('p1', 'x', append('c'));
await cluster.runUntilIdle();
console.log(cluster.diagram({ since: mark }).text);
// Each acceptor refused the prepare and named the higher ballot it had: conflict(accepted 2/p2).
// Nothing was written under 1/p1, so p1 may retry. It fast-forwards its counter to the highest it
// saw (1 → 2) and takes the next ballot, 3/p1, which beats 2/p2. The promises of that round carry
// "ab", and p1's change runs on it.
console.log(`${late}\n`);

console.log('## Part B: on a fresh cluster, p1 and p2 append to x at the same time\n');
// A fresh cluster, so that both counters start at 0 and the two ballots are 1/p1 and 1/p2 (a
// proposer has one counter for all keys).
const race = createCluster({ acceptors: 3, proposers: ['p1', 'p2'], seed: 3 });
const fromP1 = race.propose('p1', 'x', append('+p1'));
const fromP2 = race.propose('p2', 'x', append('+p2'));
console.log(race.messages().join('\n'));

console.log("\n## p1's prepares arrive first and p1 collects its promises\n");
show(await race.deliver({ from: 'p1', method: 'prepare' }));
show(await race.deliver({ to: 'p1' }));
console.log(`\n${race.messages({ from: 'p1' }).join('\n')}`);
// p1 has a quorum and has sent its accepts. While they are on the wire...

console.log("\n## ...p2's prepares arrive: 1/p2 beats 1/p1, so every acceptor promises 1/p2\n");
show(await race.deliver({ from: 'p2', method: 'prepare' }));
console.log(`\n${race.state()}`);

console.log("## p1's accepts are refused: conflict(promise 1/p2)\n");
show(await race.deliver({ from: 'p1', method: 'accept' }));
show(await race.deliver({ to: 'p1' }));
// p1 lost the round, and nothing was stored under 1/p1: it retries at once under 2/p1 (its
// counter was 1, the conflict named counter 1, so the next ballot is 2/p1). The retry's prepares
// are on the wire; leave them there for now.
console.log(`\n${race.messages({ from: 'p1' }).join('\n')}`);

console.log('\n## p2 finishes its round undisturbed and commits "+p2"\n');
show(await race.deliver({ to: 'p2' }));
show(await race.deliver({ from: 'p2', method: 'accept' }));
show(await race.deliver({ to: 'p2' }));
console.log(`\n${fromP2}`);

console.log("\n## Now p1's retry runs: its promises carry \"+p2\", and p1's change runs on that\n");
await race.runUntilSettled();
await race.runUntilIdle();
console.log(race.diagram().text);
console.log(`${fromP1}\n`);
// Both appends are in the final value, each exactly once: p1's change function ran twice (once
// per attempt, on "" and then on "+p2"), but only the attempt that committed counts. This is why
// a change is a function of the current state, not a value.
console.log(race.state());
