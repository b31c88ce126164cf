/**
 * Lesson 1: one CASPaxos round, message by message (paper §2.2).
 */
import { read, set } from '../changes.js';
import type { OperationHandle } from '../operation-handle.js';
import { allPromised, chosen, doneWith, story } from './facts.js';
import { defineTour, step } from './tour.js';

/** Lesson 1, a basic round: prepare, promise, accept, accepted; quorums; late replies; a read is a round too. */
export const basicRound = defineTour(
  {
    id: 'basic-round',
    lesson: 1,
    title: 'A basic round',
    summary:
      'A proposer turns a client\'s change into two phases over 2F+1 acceptors (here 3, so F = 1). Phase 1, prepare: "I am ballot 1/p1; promise to ignore anything older, and tell me what you hold." Phase 2, accept: "store f(current state) under ballot 1/p1." Each phase needs replies from a majority, 2 of 3. The cluster runs on virtual time from a seed, so every run shows the same thing.',
  },
  (tour) => {
    const cluster = tour.cluster({ acceptors: 3, proposers: ['p1', 'p2'], seed: 1 });
    let write: OperationHandle | undefined;
    let readBack: OperationHandle | undefined;
    let mark = 0;
    return [
      step(
        'A client asks p1 to set x to "hello"',
        '`propose` starts the round and returns at once: the prepares are on the wire, nothing has arrived. The ballot 1/p1 is p1\'s counter (1) and its id, so ballots of different proposers never tie. Each message shows when it is due to arrive.',
        () => {
          write = cluster.propose('p1', 'x', set('hello'));
          return [...cluster.messages().map((m) => `${m.line}  (due ${((m.arrival ?? 0) / 1000).toFixed(3)} ms)`), '', `next: ${cluster.next()?.text ?? 'nothing'}`];
        },
        {
          checkpoint: { claim: 'three prepares of ballot 1/p1 are in flight, none delivered', holds: () => cluster.messages({ method: 'prepare', from: 'p1' }).length === 3 && cluster.acceptors().every((a) => a.records.length === 0) },
          tryThis: ['Step once instead of delivering by hand: the prepare due first arrives first.'],
        },
      ),
      step(
        'Phase 1: a1 and a2 receive the prepare',
        'Deliver chosen messages by hand. An acceptor promises a ballot higher than any it has promised, and answers with what it has accepted so far: nothing yet (ballot ø, state ∅). The promise is on disk before the reply leaves: an acceptor that crashed now would still remember it.',
        async () => [...(await cluster.deliver({ from: 'p1', to: 'a1' })), ...(await cluster.deliver({ from: 'p1', to: 'a2' })), '', String(cluster.state())],
        { checkpoint: { claim: 'a1 and a2 promised 1/p1; a3 has not heard of x', holds: () => allPromised(cluster, ['a1', 'a2'], 'x', '1/p1') && cluster.acceptors()[2]?.records.length === 0 } },
      ),
      step(
        'The two promises reach p1: a quorum, so p1 moves to phase 2',
        'Two promises of three are a quorum. p1 takes the state accepted under the highest ballot among them (none: the register is empty), applies the change, and sends accepts to all three.',
        async () => [...(await cluster.deliver({ to: 'p1' })), '', ...cluster.messages().map(String)],
        {
          checkpoint: { claim: 'p1 sent accept(x, 1/p1, "hello") to all three acceptors', holds: () => cluster.messages({ method: 'accept', from: 'p1' }).length === 3 },
          tryThis: ['Drop the accept to a1 and deliver the others: two acceptances still make a quorum.'],
        },
      ),
      step(
        'Phase 2: a1 and a2 accept',
        'Two acceptances: the value is chosen. The client gets its answer now, without waiting for a3.',
        async () => [
          ...(await cluster.deliver({ method: 'accept', to: 'a1' })),
          ...(await cluster.deliver({ method: 'accept', to: 'a2' })),
          ...(await cluster.deliver({ method: 'accept', to: 'p1' })),
          '',
          String(write),
        ],
        { checkpoint: { claim: 'the write is done: "hello" at 1/p1, chosen (a1 and a2 hold it)', holds: () => doneWith(write, 'hello', '1/p1') && chosen(cluster, 'x') === 'hello' } },
      ),
      step(
        'Stragglers: a3 gets its prepare and accept late, and catches up',
        'Let the network deliver the rest. Replies marked late came after their round was decided: p1 counts them but they change nothing. In the diagram each message runs from the row it was sent on to the row it arrived on; the discs on the acceptors\' lifelines give the order each processed its requests in.',
        async () => {
          mark = cluster.mark();
          await cluster.runUntilIdle();
          return [...story(cluster, mark), '', cluster.diagram({ legend: true }).text, String(cluster.state())];
        },
        { checkpoint: { claim: 'nothing is left in flight, and x = "hello" is chosen', holds: () => cluster.messages().length === 0 && chosen(cluster, 'x') === 'hello' } },
      ),
      step(
        'A read is a round too',
        'p2 reads x with the identity change (x → x). It still runs both phases and writes "hello" back under its own ballot. Its first, 1/p2, wins the prepares (higher than 1/p1: same counter, and "p2" > "p1"), yet p2 sends no accept under it: a round commits only under a counter above the one the state it read was accepted under (rule G1; the key-value store\'s versions count on it), so it prepares again at once, under 2/p2. Lesson 3 shows why a read must write.',
        async () => {
          mark = cluster.mark();
          readBack = cluster.propose('p2', 'x', read);
          await cluster.runUntilSettled();
          await cluster.runUntilIdle();
          return [cluster.diagram({ since: mark }).text, String(readBack), '', String(cluster.state())];
        },
        {
          checkpoint: { claim: 'the read returned "hello" at 2/p2 (rule G1 turned 1/p2 down)', holds: () => doneWith(readBack, 'hello', '2/p2') },
          tryThis: ['Crash a1, then read again from p1: a2 and a3 are still a majority.'],
        },
      ),
    ];
  },
);
