/**
 * Versions are fencing tokens: strictly increasing over a key's whole history, across delete,
 * garbage collection and re-creation (the claim proved in src/kv/key-value-store.ts), including
 * the interleaving that breaks the naive scheme (take an epoch, then write it), which a negative
 * control runs to show that the check catches it.
 */
import { describe, expect, test } from 'vitest';
import { PrepareFailedError } from '../../src/errors.js';
import {
  type ChangeFunc,
  type CallOptions,
  MemoryAcceptor,
  MemoryProposer,
  type ProposeResult,
  type Proposer,
  garbageCollect,
} from '../../src/index.js';
import { DEFAULT_EPOCH_KEY, KeyValueStore, versionParts } from '../../src/kv/index.js';
import {
  MAX_SEQUENCE,
  composeVersion,
  encodeEpochCounter,
  encodeValueRecord,
  parseEpochCounter,
  parseState,
} from '../../src/kv/record-format.js';

function cluster(): { acceptors: MemoryAcceptor[]; proposers: MemoryProposer[] } {
  const acceptors = ['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address));
  return { acceptors, proposers: ['p1', 'p2'].map((id) => new MemoryProposer(id, acceptors)) };
}

/**
 * A proposer that, after each proposal on the epoch key resolves, waits for the test's `onEpoch`
 * before handing the result back: the test runs other clients' operations in that window.
 */
class GatedProposer implements Proposer {
  onEpoch: (() => Promise<void>) | undefined;
  epochsTaken = 0;

  constructor(readonly inner: MemoryProposer) {}

  get address(): string {
    return this.inner.address;
  }

  async propose(key: string, change: ChangeFunc, opts?: CallOptions): Promise<ProposeResult> {
    const result = await this.inner.propose(key, change, opts);
    if (key === DEFAULT_EPOCH_KEY) {
      this.epochsTaken++;
      await this.onEpoch?.();
    }
    return result;
  }

  identityRead = (key: string, opts?: CallOptions) => this.inner.identityRead(key, opts);
  listKeys = (opts?: CallOptions) => this.inner.listKeys(opts);
  addAccepter: Proposer['addAccepter'] = (t, o) => this.inner.addAccepter(t, o);
  addPreparer: Proposer['addPreparer'] = (t, o) => this.inner.addPreparer(t, o);
  removePreparer: Proposer['removePreparer'] = (t, o) => this.inner.removePreparer(t, o);
  removeAccepter: Proposer['removeAccepter'] = (t, o) => this.inner.removeAccepter(t, o);
  fullIdentityRead: Proposer['fullIdentityRead'] = (k, o) => this.inner.fullIdentityRead(k, o);
  fastForwardIncrement: Proposer['fastForwardIncrement'] = (k, b, o) => this.inner.fastForwardIncrement(k, b, o);
  listPreparers: Proposer['listPreparers'] = (o) => this.inner.listPreparers(o);
  listAccepters: Proposer['listAccepters'] = (o) => this.inner.listAccepters(o);
  watch: Proposer['watch'] = (k, o) => this.inner.watch(k, o);
}

describe('versions across delete and garbage collection', () => {
  test('strictly increase over 20 lives of a key, each ended by delete + collection', async () => {
    const { acceptors, proposers } = cluster();
    const gc = { proposers, acceptors };
    const stores = proposers.map((proposer) => new KeyValueStore<number>({ proposer, gc }));
    const versions: bigint[] = [];
    for (let life = 0; life < 20; life++) {
      const s = stores[life % 2]!;
      versions.push(await s.set('k', life));
      versions.push((await stores[(life + 1) % 2]!.update('k', (n) => (n ?? 0) + 1))!.version);
      versions.push((await s.get('k'))!.version); // a read reports the version, does not advance it
      await s.delete('k');
      await s.idle();
      // The record is gone from every acceptor: nothing of this life is left to continue from.
      expect(acceptors.map((a) => a.inspect('k'))).toEqual([undefined, undefined, undefined]);
    }
    for (let i = 1; i < versions.length; i++) {
      if (i % 3 === 2) expect(versions[i]).toBe(versions[i - 1]);
      else expect(versions[i]! > versions[i - 1]!, `version #${i}`).toBe(true);
    }
    await Promise.all(stores.map((s) => s.close()));
  });

  test('a creation paused after taking its epoch, overtaken by a whole life of the key, still ends above it', async () => {
    const { acceptors, proposers } = cluster();
    const gc = { proposers, acceptors };
    const gated = new GatedProposer(proposers[0]!);
    const a = new KeyValueStore<string>({ proposer: gated, gc });
    const b = new KeyValueStore<string>({ proposer: proposers[1]!, gc });
    const overtaken: bigint[] = [];
    gated.onEpoch = async () => {
      gated.onEpoch = undefined;
      // While A holds its epoch E: B creates the key (above E), writes, deletes, collects.
      overtaken.push(await b.set('k', 'b1'));
      overtaken.push(await b.set('k', 'b2'));
      await b.delete('k');
      await b.idle();
      expect(acceptors.map((acceptor) => acceptor.inspect('k'))).toEqual([undefined, undefined, undefined]);
    };
    const version = await a.set('k', 'a');
    // A's step 3 found its marker gone: it started over with a new marker and a new epoch.
    expect(gated.epochsTaken).toBe(2);
    expect(versionParts(overtaken[0]!).epoch > 1n).toBe(true);
    for (const v of overtaken) expect(version > v).toBe(true);
    expect(await b.get('k')).toEqual({ value: 'a', version });
  });

  test('negative control: the naive scheme (take an epoch, then write it if absent) goes backwards in that interleaving', async () => {
    const { acceptors, proposers } = cluster();
    const [p1, p2] = proposers as [MemoryProposer, MemoryProposer];
    /** The naive creation: increment the epoch counter, then write (E, 1) if the key is absent. */
    const naiveCreate = async (proposer: MemoryProposer, between: () => Promise<void>): Promise<bigint> => {
      const { state } = await proposer.propose(DEFAULT_EPOCH_KEY, (c) => encodeEpochCounter(parseEpochCounter(DEFAULT_EPOCH_KEY, c) + 1n));
      const epoch = parseEpochCounter(DEFAULT_EPOCH_KEY, state);
      await between();
      const result = await proposer.propose('k', (c) => (c === null ? encodeValueRecord(epoch, 1, 1n, new Uint8Array()) : c));
      const stored = parseState('k', result.state);
      if (stored.kind !== 'value') throw new Error('not created');
      return composeVersion(stored.epoch, stored.sequence);
    };
    const overtaken: bigint[] = [];
    const version = await naiveCreate(p1, async () => {
      overtaken.push(await naiveCreate(p2, async () => {}));
      await p2.propose('k', () => null);
      await garbageCollect('k', proposers, acceptors);
    });
    // The same check as above fails: this is what the creation marker prevents.
    expect(overtaken.every((v) => version > v)).toBe(false);
  });

  test('a creation whose marker is deleted under it in every round gives up with PrepareFailedError after maxRounds', async () => {
    const { proposers } = cluster();
    const gated = new GatedProposer(proposers[0]!);
    const a = new KeyValueStore<string>({ proposer: gated, maxRounds: 3 });
    const b = new KeyValueStore<string>({ proposer: proposers[1]! });
    gated.onEpoch = () => b.delete('k');
    const error = await a.set('k', 'a').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrepareFailedError);
    expect((error as Error).message).toMatch(/3 attempt/);
    expect(gated.epochsTaken).toBe(3);
    // No visible effect: the key reads as absent.
    gated.onEpoch = undefined;
    expect(await b.get('k')).toBeUndefined();
  });

  test('concurrent creators share one marker: the first to write wins, the other writes over it', async () => {
    const { proposers } = cluster();
    const [a, b] = proposers.map((proposer) => new KeyValueStore<string>({ proposer }));
    const [va, vb] = await Promise.all([a!.set('k', 'a'), b!.set('k', 'b')]);
    expect(va).not.toBe(vb);
    const last = await a!.get('k');
    expect(last!.version).toBe(va! > vb! ? va : vb);
    expect(last!.value).toBe(va! > vb! ? 'a' : 'b');
  });
});

describe('sequence rollover', () => {
  test('a write over the last sequence of an epoch takes a new epoch; a CAS on the old version then fails', async () => {
    const { proposers } = cluster();
    const s = new KeyValueStore<string>({ proposer: proposers[0]! });
    await s.set('other', 'x'); // epoch 1 taken
    // A value at the last sequence of epoch 1 (written raw: 2^32 - 1 writes would take a while).
    await proposers[0]!.propose('k', () => encodeValueRecord(1n, MAX_SEQUENCE, 7n, new TextEncoder().encode('"old"')));
    const maxed = composeVersion(1n, MAX_SEQUENCE);
    expect(await s.get('k')).toEqual({ value: 'old', version: maxed });
    const rolled = await s.compareAndSet('k', maxed, 'new');
    expect(rolled.ok).toBe(true);
    const version = (rolled as { version: bigint }).version;
    expect(versionParts(version)).toEqual({ epoch: 2n, sequence: 1 });
    expect(version > maxed).toBe(true);
    expect(await s.compareAndSet('k', maxed, 'again')).toEqual({ ok: false, current: { value: 'new', version } });
    expect(await s.set('k', 'next')).toBe(version + 1n);
  });
});
