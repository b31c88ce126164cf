/**
 * Lesson 4: dueling proposers, and how randomised backoff ends the duel.
 */
import { increment } from '../changes.js';
import type { OperationHandle } from '../operation-handle.js';
import { chosen, story } from './facts.js';
import { defineTour, step } from './tour.js';

/** Lesson 4, dueling proposers: rounds spoiling each other, and randomised backoff ending the duel. */
export const duelingProposers = defineTour(
  {
    id: 'dueling-proposers',
    lesson: 4,
    title: 'Dueling proposers',
    summary:
      "A prepare with a higher ballot makes the acceptors refuse every lower accept. So two proposers can take turns spoiling each other's round forever: p1 prepares, p2 prepares higher, p1's accept is refused, p1 prepares higher still, p2's accept is refused, ... This is the classic Paxos livelock: safety is never at risk, only progress. The cure is to wait a random while before trying again: the first retry is immediate, later ones wait a delay drawn uniformly under a cap that doubles each time (1 ms, 2 ms, 4 ms, ... up to 100 ms). Sooner or later one proposer's whole round fits in the other's pause.",
  },
  (tour) => {
    const cluster = tour.cluster({ acceptors: 3, proposers: ['p1', 'p2'], seed: 4 });
    let byP1: OperationHandle | undefined;
    let byP2: OperationHandle | undefined;
    const lost = (): number => cluster.events.filter((e) => e.event.type === 'retry').length;
    return [
      step('p1 and p2 both increment n', 'Two read-modify-write changes on the same key, started together.', () => {
        byP1 = cluster.propose('p1', 'n', increment);
        byP2 = cluster.propose('p2', 'n', increment);
        return cluster.messages().map(String);
      }),
      step(
        'Round 1: p1 prepares and gets its promises; then p2 prepares higher',
        "p1 has its quorum and sends accepts; before they arrive, p2's prepare 1/p2 raises every promise above 1/p1.",
        async () => [...(await cluster.deliver({ from: 'p1', method: 'prepare' })), ...(await cluster.deliver({ to: 'p1' })), ...(await cluster.deliver({ from: 'p2', method: 'prepare' }))],
      ),
      step(
        "p1's accepts are refused (promise 1/p2); p1 retries at once with 2/p1",
        'The first retry is immediate: most conflicts are one-off.',
        async () => [...(await cluster.deliver({ from: 'p1', method: 'accept' })), ...(await cluster.deliver({ to: 'p1' })), '', ...cluster.messages().map(String)],
        { checkpoint: { claim: 'p1 lost one round', holds: () => lost() === 1 } },
      ),
      step(
        "Round 2: p2 gets its promises and sends accepts; p1's prepare 2/p1 overtakes them",
        'p2 loses its round the way p1 lost the first one, and retries at once under 3/p2.',
        async () => [
          ...(await cluster.deliver({ to: 'p2' })),
          ...(await cluster.deliver({ from: 'p1', method: 'prepare' })),
          ...(await cluster.deliver({ from: 'p2', method: 'accept' })),
          ...(await cluster.deliver({ to: 'p2' })),
        ],
        { checkpoint: { claim: 'each proposer lost one round', holds: () => lost() === 2 } },
      ),
      step(
        "Round 3: p1 gets promises for 2/p1, but p2's retry 3/p2 overtakes p1's accepts",
        'Three rounds, no value chosen, and we could go on delivering in this order forever. But p1 has now lost twice: its next retry waits a random delay (the note "retry in ... ms").',
        async () => [
          ...(await cluster.deliver({ to: 'p1' })),
          ...(await cluster.deliver({ from: 'p2', method: 'prepare' })),
          ...(await cluster.deliver({ from: 'p1', method: 'accept' })),
          ...(await cluster.deliver({ to: 'p1' })),
          '',
          cluster.diagram().text,
          String(cluster.state()),
        ],
        {
          checkpoint: { claim: 'three rounds lost, nothing chosen yet', holds: () => lost() === 3 && chosen(cluster, 'n') === undefined },
          tryThis: ['Keep delivering by hand in the same pattern: the duel goes on as long as you like.'],
        },
      ),
      step(
        'Let the network run: the random pause lets one round finish, then the other',
        "p1's pause (the note \"retry in ... ms\") is long enough for p2's round 3/p2 to finish: n = \"1\". p1's next round, 4/p1, then adopts \"1\" from its promises and commits \"2\". Both increments count, once each: each change ran on the state the previous one left. (Had p2's accept reached only some acceptors, p2 could not have told whether its change took effect; its next round would look before leaping, the note \"recovery\", and apply the change afresh only if the state it found did not contain it.)",
        async () => {
          const mark = cluster.mark();
          await cluster.runUntilSettled();
          await cluster.runUntilIdle();
          return [...story(cluster, mark), '', cluster.diagram({ since: mark }).text, String(byP1), String(byP2), '', String(cluster.state())];
        },
        { checkpoint: { claim: 'both increments took effect once: n = "2"', holds: () => byP1?.status === 'done' && byP2?.status === 'done' && chosen(cluster, 'n') === '2' } },
      ),
    ];
  },
);
