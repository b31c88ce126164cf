/**
 * Lesson 4: dueling proposers, and how randomised backoff ends the duel.
 *
 * A prepare with a higher ballot makes the acceptors refuse every lower accept. So two proposers
 * can take turns spoiling each other's round forever: p1 prepares, p2 prepares higher, p1's
 * accept is refused, p1 prepares higher still, p2's accept is refused, ... This is the classic
 * Paxos livelock; safety is never at risk, only progress. The cure is to wait a random while
 * before trying again: the first retry is immediate, later ones wait a delay drawn uniformly
 * under a cap that doubles each time (1 ms, 2 ms, 4 ms, ... up to 100 ms: "full jitter"). Sooner or
 * later one proposer's whole round fits in the other's pause.
 *
 * Run: npx tsx examples/lessons/04-dueling-proposers.ts
 */
import { createCluster, increment } from 'caspaxos/teach';

const cluster = createCluster({ acceptors: 3, proposers: ['p1', 'p2'], seed: 4 });
const show = (lines: string[]): void => console.log(lines.join('\n'));

console.log('## p1 and p2 both increment n\n');
const byP1 = cluster.propose('p1', 'n', increment);
const byP2 = cluster.propose('p2', 'n', increment);

console.log('## Round 1: p1 prepares and gets its promises; then p2 prepares higher\n');
show(await cluster.deliver({ from: 'p1', method: 'prepare' }));
show(await cluster.deliver({ to: 'p1' }));
show(await cluster.deliver({ from: 'p2', method: 'prepare' }));

console.log("\n## p1's accepts are refused (promise 1/p2); p1 retries at once with 2/p1\n");
show(await cluster.deliver({ from: 'p1', method: 'accept' }));
show(await cluster.deliver({ to: 'p1' }));
console.log(`\n${cluster.messages().join('\n')}`);

console.log("\n## Round 2: p2 gets its promises and sends accepts; p1's prepare 2/p1 overtakes them\n");
show(await cluster.deliver({ to: 'p2' }));
show(await cluster.deliver({ from: 'p1', method: 'prepare' }));
show(await cluster.deliver({ from: 'p2', method: 'accept' }));
show(await cluster.deliver({ to: 'p2' }));
// p2 lost its round the way p1 lost the first one, and retries at once under 3/p2...

console.log("\n## Round 3: p1 gets promises for 2/p1, but p2's retry 3/p2 overtakes p1's accepts\n");
show(await cluster.deliver({ to: 'p1' }));
show(await cluster.deliver({ from: 'p2', method: 'prepare' }));
show(await cluster.deliver({ from: 'p1', method: 'accept' }));
show(await cluster.deliver({ to: 'p1' }));
// Three rounds, no value chosen, and we could go on delivering in this order forever. But p1 has
// now lost twice: its second retry waits a random delay (see the note "next in ... ms" below).
console.log(`\n${cluster.diagram().text}`);
console.log(cluster.state());

console.log('## Let the network run: the random pause lets one round finish, then the other\n');
const mark = cluster.mark();
await cluster.runUntilSettled();
await cluster.runUntilIdle();
console.log(cluster.diagram({ since: mark }).text);
console.log(`${byP1}\n${byP2}\n`);
// p1's pause (0.94 ms) was long enough for p2's round 3/p2 to reach a1, but p1's 4/p1 then won
// and committed "1". p2's accept had reached only a1, so p2 could not tell whether its increment
// took effect: an unknown outcome. Its next round looked before leaping: the state it found,
// accepted under 4/p1, does not descend from p2's 3/p2 write (the note "recovery ...: reapply"),
// so p2 applied its increment afresh. Both increments count, once each: n = 2.
console.log(cluster.state());
