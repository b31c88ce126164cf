/**
 * A typed key-value store over CASPaxos: get, set, update, compare-and-set on versions, delete with
 * garbage collection in the background, and versions that keep increasing across a delete.
 *
 * Run: npx tsx examples/typed-kv.ts
 */
import { KeyValueStore, MemoryAcceptor, MemoryProposer, formatVersion, versionParts } from 'caspaxos';

/** A version as JSON would carry it (a decimal string), and its two parts. */
function show(version: bigint | undefined): string {
  if (version === undefined) return 'none';
  const { epoch, sequence } = versionParts(version);
  return `${formatVersion(version)} (epoch ${epoch}, sequence ${sequence})`;
}

interface Account {
  readonly owner: string;
  readonly balance: number;
}

const acceptors = ['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address));
const proposers = ['p1', 'p2'].map((id) => new MemoryProposer(id, acceptors));
const gc = { proposers, acceptors };
// Two clients, each with its own proposer; values are JSON (the default codec).
await using alice = new KeyValueStore<Account>({ proposer: proposers[0] as MemoryProposer, gc });
await using bob = new KeyValueStore<Account>({ proposer: proposers[1] as MemoryProposer, gc });

const created = await alice.set('acct:1', { owner: 'alice', balance: 10 });
console.log('created        version', show(created));

const read = await bob.get('acct:1');
console.log('bob reads     ', read?.value, 'version', show(read?.version));

const deposited = await bob.update('acct:1', (account) => account && { ...account, balance: account.balance + 5 });
console.log('deposit       ', deposited?.value, 'version', show(deposited?.version));

// A compare-and-set on the version alice read before bob's deposit loses, and says what is there.
const stale = await alice.compareAndSet('acct:1', created, { owner: 'alice', balance: 0 });
console.log('stale cas      ok:', stale.ok, stale.ok ? '' : `(current balance ${stale.current?.value.balance})`);

await alice.delete('acct:1');
await alice.idle(); // the tombstone is collected in the background; wait for it here
const records = acceptors.map((a) => (a.inspect('acct:1') === undefined ? 'absent' : 'present')).join(' ');
console.log('after gc       records:', records, '| get:', await bob.get('acct:1'));
// bob's read wrote an empty record again (a read is a proposal); a sweep collects such leftovers.
const { tombstones, collected } = await alice.sweep();
console.log(`sweep          ${tombstones} tombstone(s), ${collected} collected`);

// Re-created after garbage collection: its version is above every version of its previous life,
// so a fencing token taken before the delete can never be mistaken for a current one.
const recreated = await bob.set('acct:1', { owner: 'bob', balance: 1 });
console.log('re-created     version', show(recreated), '| above the deposit:', deposited !== undefined && recreated > deposited.version);
