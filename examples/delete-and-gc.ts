/**
 * Deleting a key for good (paper §3.1): write the empty state (a tombstone), then garbage-collect
 * it, which fences off every proposer's older messages and removes the records.
 *
 * Run: npx tsx examples/delete-and-gc.ts
 */
import { MemoryAcceptor, MemoryProposer, garbageCollect, isRetryable } from 'caspaxos';

const acceptors = ['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address));
const proposers = ['p1', 'p2'].map((id) => new MemoryProposer(id, acceptors));
const [p1, p2] = proposers as [MemoryProposer, MemoryProposer];

await p1.propose('session:42', () => new TextEncoder().encode('alice'));
console.log('records before:', acceptors.map((a) => `${a.address}=${a.inspect('session:42') ? 'present' : 'absent'}`).join(' '));

// A collection of a live key refuses, and says it is not worth retrying.
try {
  await garbageCollect('session:42', proposers, acceptors);
} catch (error) {
  console.log('collecting a live key:', (error as Error).message, '| retryable:', isRetryable(error));
}

// Delete = write null. The tombstone stays on the acceptors until collected.
await p2.propose('session:42', () => null);
await garbageCollect('session:42', proposers, acceptors);
console.log('records after: ', acceptors.map((a) => `${a.address}=${a.inspect('session:42') ? 'present' : 'absent'}`).join(' '));
console.log('proposer ages: ', proposers.map((p) => `${p.id}=${p.age.counter}`).join(' '));
console.log('minimum ages:  ', acceptors.map((a) => `${a.address}:p1>=${a.minimumAge('p1')}`).join(' '));

// The key reads as empty and can be written again.
console.log('read after gc: ', (await p1.identityRead('session:42')).state);
await p1.propose('session:42', () => new TextEncoder().encode('bob'));
console.log('rewritten:     ', new TextDecoder().decode((await p2.identityRead('session:42')).state ?? new Uint8Array()));
