/**
 * A compare-and-set key-value store built from change functions: get, put, compare-and-set on a
 * version, and delete. Each value carries a version number, usable as a fencing token.
 *
 * Run: npx tsx examples/kv-store.ts
 */
import { type ChangeFunc, MemoryAcceptor, MemoryProposer, type Proposer, type State } from 'caspaxos';

/** What the register holds for a key: a JSON document with the value and its version. */
interface Versioned {
  readonly version: number;
  readonly value: string;
}

const decode = (state: State): Versioned | null => (state === null ? null : (JSON.parse(new TextDecoder().decode(state)) as Versioned));
const encode = (doc: Versioned): Uint8Array => new TextEncoder().encode(JSON.stringify(doc));

// The cookbook: each operation is one change function.
const read: ChangeFunc = (current) => current;
const put =
  (value: string): ChangeFunc =>
  (current) =>
    encode({ version: (decode(current)?.version ?? 0) + 1, value });
/** Writes only if the stored version is `expected` (0 = the key must be absent); else keeps the state. */
const compareAndSet =
  (expected: number, value: string): ChangeFunc =>
  (current) =>
    (decode(current)?.version ?? 0) === expected ? encode({ version: expected + 1, value }) : current;
const remove: ChangeFunc = () => null;

/** A tiny typed store over any proposer. */
class Store {
  constructor(private readonly proposer: Proposer) {}

  async get(key: string): Promise<Versioned | null> {
    return decode((await this.proposer.propose(key, read)).state);
  }

  async put(key: string, value: string): Promise<Versioned> {
    return decode((await this.proposer.propose(key, put(value))).state) as Versioned;
  }

  /** Resolves with true when the write happened, false when the version did not match. */
  async compareAndSet(key: string, expected: number, value: string): Promise<boolean> {
    const after = decode((await this.proposer.propose(key, compareAndSet(expected, value))).state);
    return after?.version === expected + 1 && after.value === value;
  }

  async delete(key: string): Promise<void> {
    await this.proposer.propose(key, remove);
  }
}

const acceptors = ['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address));
const alice = new Store(new MemoryProposer('alice', acceptors));
const bob = new Store(new MemoryProposer('bob', acceptors));

console.log('put      ', await alice.put('color', 'red'));
console.log('get (bob)', await bob.get('color'));
console.log('cas v1->blue  (alice):', await alice.compareAndSet('color', 1, 'blue'));
console.log('cas v1->green (bob):  ', await bob.compareAndSet('color', 1, 'green'), '(lost: the version moved on)');
console.log('get      ', await bob.get('color'));
console.log('cas create-only (bob):', await bob.compareAndSet('shape', 0, 'circle'));
await alice.delete('color');
console.log('after delete:', await bob.get('color'));
