/**
 * Growing a cluster from 3 to 5 acceptors and shrinking it back to 3, with reads in between
 * (paper §2.3). Each change re-writes every key, so every key is on a quorum of the new set.
 *
 * Run: npx tsx examples/membership.ts
 */
import { MemoryAcceptor, MemoryProposer, ballotEquals, growCluster, shrinkCluster } from 'caspaxos';

const text = (state: Uint8Array | null): string => (state === null ? '∅' : new TextDecoder().decode(state));
const [a1, a2, a3, a4, a5] = ['a1', 'a2', 'a3', 'a4', 'a5'].map((address) => new MemoryAcceptor(address)) as [
  MemoryAcceptor,
  MemoryAcceptor,
  MemoryAcceptor,
  MemoryAcceptor,
  MemoryAcceptor,
];
const proposers = ['p1', 'p2'].map((id) => new MemoryProposer(id, [a1, a2, a3]));
const [p1, p2] = proposers as [MemoryProposer, MemoryProposer];
const all = [a1, a2, a3, a4, a5];

const report = async (step: string): Promise<void> => {
  const { state, ballot } = await p2.identityRead('config');
  const members = await p1.listAccepters();
  // Which members hold the state under the ballot of the read that just re-wrote it.
  const holds = (a: MemoryAcceptor): boolean => {
    const record = a.inspect('config');
    return record !== undefined && ballotEquals(record.accepted, ballot);
  };
  const current = all.filter((a) => members.includes(a.address) && holds(a));
  console.log(`${step.padEnd(20)} acceptors ${members.join(',').padEnd(15)} read ${text(state)}, now on ${current.map((a) => a.address).join(',')}`);
};

await p1.propose('config', () => new TextEncoder().encode('v1'));
await report('start (3 acceptors)');
await growCluster(a4, proposers);
await report('grow to 4');
await growCluster(a5, proposers);
await report('grow to 5');
await shrinkCluster(a1, proposers);
await report('shrink a1 (4)');
await shrinkCluster(a2, proposers);
await report('shrink a2 (3)');
