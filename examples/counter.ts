/**
 * A replicated counter: three acceptors, three proposers, 300 increments racing through all of
 * them at once. Every increment is applied exactly once, and every proposer reads the same total.
 *
 * Run: npm run example   (or: npx tsx examples/counter.ts)
 */
import { type ChangeFunc, MemoryAcceptor, MemoryProposer, type State } from 'caspaxos';

// The register holds bytes; this counter keeps a 32-bit unsigned integer in them.
const decode = (state: State): number => (state === null ? 0 : new DataView(state.buffer, state.byteOffset).getUint32(0));
const encode = (n: number): Uint8Array => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, n);
  return bytes;
};

// A change function: pure, a function of the current state only. A proposer may call it again
// when an attempt loses to a competitor, and never applies the same attempt twice.
const increment: ChangeFunc = (current) => encode(decode(current) + 1);

const acceptors = ['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address));
const proposers = ['p1', 'p2', 'p3'].map((id) => new MemoryProposer(id, acceptors));

// 3 proposers x 4 clients x 25 increments, all concurrent, all on the same key.
await Promise.all(
  proposers.flatMap((proposer) =>
    Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 25; i++) await proposer.propose('visits', increment);
    }),
  ),
);

// A read is a proposal too: the identity change function, which re-writes the current state.
for (const proposer of proposers) {
  const { state, ballot } = await proposer.identityRead('visits');
  console.log(`${proposer.id} reads visits = ${decode(state)} (ballot ${ballot.counter}/${ballot.id})`);
}
