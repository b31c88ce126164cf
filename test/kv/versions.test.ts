/**
 * Versions are fencing tokens: strictly increasing over a key's whole history, across delete,
 * garbage collection and re-creation (the claim proved in src/kv/key-value-store.ts, "Versions"),
 * made from the key's own rounds (a creation is one proposal, on that key alone). Negative
 * controls break what the proof rests on (rule G1, the acceptors' tombstone floor, the upgrade's
 * fast-forward) and show versions going backwards; the collection's fast-forward, which the proof
 * does not use, is shown not to matter. The upgrade from the epoch scheme keeps old data readable
 * and new versions above old ones. A write right after a delete never fails while the key's
 * collection runs, here or from another store. (The property over random interleavings, in both
 * round-trip modes, is test/kv/linearizability.property.test.ts.)
 */
import { afterEach, describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  type Acceptor,
  type CallOptions,
  type ChangeFunc,
  MemoryAcceptor,
  MemoryProposer,
  type ProposeResult,
  type Proposer,
  ZERO_BALLOT,
  garbageCollect,
} from '../../src/index.js';
import { DEFAULT_EPOCH_KEY, KeyValueStore, versionParts } from '../../src/kv/index.js';
import { MAX_SEQUENCE, composeVersion, encodeCreationMarker, encodeEpochCounter, encodeValueRecord } from '../../src/kv/record-format.js';
import { FaultyAcceptor } from '../support/faulty-acceptor.js';
import { FloorlessAcceptor } from '../support/floorless-acceptor.js';
import { enc } from '../support/text.js';
import { withoutRuleG1 } from '../support/without-rule-g1.js';

function cluster(acceptors: Acceptor[] = ['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address))): { acceptors: Acceptor[]; proposers: MemoryProposer[] } {
  return { acceptors, proposers: ['p1', 'p2'].map((id) => new MemoryProposer(id, acceptors)) };
}

/** What each acceptor holds for `key` (`undefined`: no record). */
const records = (acceptors: readonly Acceptor[], key: string) => acceptors.map((a) => (a as MemoryAcceptor | FloorlessAcceptor).inspect(key));

/** A proposer that records the key of every proposal it forwards. */
class CountingProposer implements Proposer {
  readonly proposals: string[] = [];

  constructor(readonly inner: Proposer) {}

  get address(): string {
    return this.inner.address;
  }

  propose(key: string, change: ChangeFunc, opts?: CallOptions): Promise<ProposeResult> {
    this.proposals.push(key);
    return this.inner.propose(key, change, opts);
  }

  readonly reads: string[] = [];
  identityRead: Proposer['identityRead'] = (k, o) => {
    this.reads.push(k);
    return this.inner.identityRead(k, o);
  };
  listKeys: Proposer['listKeys'] = (o) => this.inner.listKeys(o);
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

/** A proposer whose `fastForwardIncrement` raises the age but never moves the ballot counter. */
class NoFastForward extends CountingProposer {
  override fastForwardIncrement: Proposer['fastForwardIncrement'] = (k, _b, o) => this.inner.fastForwardIncrement(k, ZERO_BALLOT, o);
}

const json = (value: unknown): Uint8Array => enc(JSON.stringify(value));

describe('versions across delete, garbage collection and re-creation', () => {
  test('strictly increase over 20 lives of a key, each ended by delete + collection, written in turn through two proposers', async () => {
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
      expect(records(acceptors, 'k')).toEqual([undefined, undefined, undefined]);
    }
    for (let i = 1; i < versions.length; i++) {
      if (i % 3 === 2) expect(versions[i]).toBe(versions[i - 1]);
      else expect(versions[i]! > versions[i - 1]!, `version #${i}`).toBe(true);
    }
    await Promise.all(stores.map((s) => s.close()));
  });

  test('creating a key is one proposal, on that key alone: no register is shared between keys', async () => {
    const { acceptors, proposers } = cluster();
    const counting = new CountingProposer(proposers[0]!);
    const s = new KeyValueStore<number>({ proposer: counting, gc: { proposers: [counting, proposers[1]!], acceptors } });
    await s.set('warm-up', 0); // the store's first write reads the previous release's epoch key, once
    expect(counting.reads).toEqual([DEFAULT_EPOCH_KEY]);
    expect(counting.proposals).toEqual(['warm-up']);
    // A read that writes nothing: a new cluster holds no record of the epoch key.
    expect(records(acceptors, DEFAULT_EPOCH_KEY)).toEqual([undefined, undefined, undefined]);
    counting.proposals.length = 0;
    for (let i = 0; i < 10; i++) await s.set(`k${i}`, i);
    expect(counting.proposals).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`));
    // A re-creation after delete + collection is one proposal too (the collection's own read runs
    // through `fullIdentityRead`, not `propose`).
    await s.delete('k0');
    await s.idle();
    counting.proposals.length = 0;
    expect(await s.compareAndSet('k0', null, 5)).toMatchObject({ ok: true });
    await s.update('k1', (n) => (n ?? 0) + 1);
    expect(counting.proposals).toEqual(['k0', 'k1']);
  });

  test('concurrent first writes through two proposers: one proposal each, and the later one holds the higher version', async () => {
    const { proposers } = cluster();
    const [a, b] = proposers.map((proposer) => new KeyValueStore<string>({ proposer }));
    await Promise.all([a!.set('warm', 'a'), b!.set('warm', 'b')]);
    const [va, vb] = await Promise.all([a!.set('k', 'a'), b!.set('k', 'b')]);
    expect(va).not.toBe(vb);
    const last = await a!.get('k');
    expect(last).toEqual(va! > vb! ? { value: 'a', version: va } : { value: 'b', version: vb });
  });

  /**
   * A life of key k written through p1 (its counter moved on first), deleted and collected from
   * every acceptor; then a new incarnation of p1 (`p1#2`, counter 0, never fast-forwarded by any
   * collection) writes k. Returns the old version and the new one.
   */
  async function rebornAfterCollection(acceptors: Acceptor[]): Promise<{ old: bigint; version: bigint }> {
    const { proposers } = cluster(acceptors);
    const s = new KeyValueStore<number>({ proposer: proposers[0]!, gc: { proposers, acceptors } });
    for (let i = 0; i < 5; i++) await s.set('warm', i);
    const old = await s.set('k', 1);
    await s.delete('k');
    await s.idle();
    expect(records(acceptors, 'k')).toEqual([undefined, undefined, undefined]);
    const reborn = new KeyValueStore<number>({ proposer: new MemoryProposer('p1#2', acceptors) });
    return { old, version: await reborn.set('k', 2) };
  }

  test('a proposer the collection never fast-forwarded (a new incarnation, counter 0) writes above the collected life: the floor', async () => {
    const { old, version } = await rebornAfterCollection(['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address)));
    expect(version > old).toBe(true);
  });

  test('negative control: acceptors without the floor let that new incarnation write below the collected life', async () => {
    const { old, version } = await rebornAfterCollection(['a1', 'a2', 'a3'].map((address) => new FloorlessAcceptor(address)));
    expect(version < old).toBe(true);
  });

  test("the collection's fast-forward is not what keeps versions increasing: without it, only conflicts are added", async () => {
    const { acceptors, proposers } = cluster();
    const unforwarded = proposers.map((p) => new NoFastForward(p));
    const gc = { proposers: unforwarded, acceptors };
    const stores = unforwarded.map((proposer) => new KeyValueStore<number>({ proposer, gc }));
    let last = -1n;
    for (let life = 0; life < 20; life++) {
      const s = stores[life % 2]!;
      for (const version of [await s.set('k', life), (await stores[(life + 1) % 2]!.update('k', (n) => (n ?? 0) + 1))!.version]) {
        expect(version > last, `life ${life}`).toBe(true);
        last = version;
      }
      await s.delete('k');
      await s.idle();
      expect(records(acceptors, 'k')).toEqual([undefined, undefined, undefined]);
    }
  });

  describe('rule G1', () => {
    let restore: (() => void) | undefined;
    afterEach(() => {
      restore?.();
      restore = undefined;
    });

    /**
     * p1 writes k under 3/p1 (stamp (3, 1)); p2, its counter at 2, deletes it under 3/p2 (a won
     * prepare over 3/p1: the counters tie); p3, its counter at 2, writes it again under 3/p3.
     */
    async function tiedCounters(): Promise<{ first: bigint; again: bigint }> {
      const acceptors = ['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address));
      const [p1, p2, p3] = ['p1', 'p2', 'p3'].map((id) => new MemoryProposer(id, acceptors, { oneRoundTrip: false }));
      const [s1, s2, s3] = [p1!, p2!, p3!].map((proposer) => new KeyValueStore<number>({ proposer }));
      await s1!.set('warm1', 0); // each store reads the epoch key first (a read that writes nothing): counter 1
      await s2!.set('warm2', 0);
      await s3!.set('warm3', 0);
      const first = await s1!.set('k', 1); // 2/p1 (its warm-up took 1)
      await s2!.delete('k');
      const again = await s3!.set('k', 2);
      return { first, again };
    }

    test('with it, the write after a tie is above: the tied prepare sent no accept', async () => {
      const { first, again } = await tiedCounters();
      expect(versionParts(first)).toEqual({ epoch: 2n, sequence: 1 });
      expect(again > first).toBe(true);
    });

    test('negative control: without it, the delete commits under the tied counter and the re-creation repeats the version', async () => {
      restore = withoutRuleG1();
      const { first, again } = await tiedCounters();
      expect(again).toBe(first);
    });

    test('a store refuses a proposer that breaks it rather than write a version that does not increase', async () => {
      restore = withoutRuleG1();
      const acceptors = ['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address));
      const [p1, p2] = ['p1', 'p2'].map((id) => new MemoryProposer(id, acceptors, { oneRoundTrip: false }));
      const [s1, s2] = [p1!, p2!].map((proposer) => new KeyValueStore<number>({ proposer }));
      await s1!.set('warm1', 0);
      await s2!.set('warm2', 0);
      const first = await s1!.set('k', 1); // 2/p1
      await expect(s2!.set('k', 2)).rejects.toThrow(InvalidArgumentError); // 2/p2 over 2/p1
      expect(await s1!.get('k')).toEqual({ value: 1, version: first });
    });
  });

  test('a proposer that passes no ChangeContext is refused on the first write, and nothing is written', async () => {
    const { proposers } = cluster();
    const contextless = new CountingProposer(proposers[0]!);
    contextless.propose = (key, change, opts) => proposers[0]!.propose(key, (state) => change(state), opts);
    const s = new KeyValueStore<number>({ proposer: contextless });
    await expect(s.set('k', 1)).rejects.toThrow(/ChangeContext/);
    expect(await s.get('k')).toBeUndefined();
  });
});

describe('upgrade from the epoch scheme (version = epoch * 2^32 + sequence, epochs from a counter register)', () => {
  const E = 1000n;
  const oldest = composeVersion(E, MAX_SEQUENCE); // above every version the old release could write

  /** A cluster holding what the previous release left: the epoch counter at E and three keys. */
  async function legacyCluster() {
    const { acceptors, proposers } = cluster();
    const raw = proposers[1]!;
    await raw.propose(DEFAULT_EPOCH_KEY, () => encodeEpochCounter(E));
    await raw.propose('live', () => encodeValueRecord(E, 5, 7n, json('a')));
    await raw.propose('maxed', () => encodeValueRecord(3n, MAX_SEQUENCE, 8n, json('b')));
    await raw.propose('marker', () => encodeCreationMarker(9n)); // a creation the old release never finished
    await raw.propose('gone', () => encodeValueRecord(E - 1n, 2, 10n, json('c')));
    await raw.propose('gone', () => null);
    await garbageCollect('gone', proposers, acceptors);
    expect(records(acceptors, 'gone')).toEqual([undefined, undefined, undefined]);
    return { acceptors, proposers };
  }

  test('old values stay readable; every version written afterwards is above every old one', async () => {
    const { acceptors, proposers } = await legacyCluster();
    const counting = new CountingProposer(proposers[0]!);
    const s = new KeyValueStore<string>({ proposer: counting, gc: { proposers: [counting, proposers[1]!], acceptors } });
    // This read leaves p1 a one-round-trip promise of 'live' below E, taken before the upgrade: the
    // first write declines to stamp it and runs again under a later ballot.
    expect(await s.get('live')).toEqual({ value: 'a', version: composeVersion(E, 5) });
    expect(await s.get('marker')).toBeUndefined();
    const written = [
      await s.set('live', 'a2'),
      ((await s.compareAndSet('maxed', composeVersion(3n, MAX_SEQUENCE), 'b2')) as { version: bigint }).version,
      await s.set('marker', 'm'),
      await s.set('gone', 'c2'),
      await s.set('new', 'n'),
      await new KeyValueStore<string>({ proposer: proposers[1]! }).set('live', 'a3'),
    ];
    for (const version of written) expect(version > oldest).toBe(true);
    // The epoch key was read once, by the first write.
    expect(counting.reads.filter((key) => key === DEFAULT_EPOCH_KEY)).toHaveLength(1);
    expect(await s.get('live')).toEqual({ value: 'a3', version: written[5] });
  });

  test('negative control: a store that skips the upgrade (another epoch key) writes below an old, collected life', async () => {
    const { proposers } = await legacyCluster();
    const s = new KeyValueStore<string>({ proposer: proposers[0]!, epochKey: '\u0000no/such/epoch' });
    expect((await s.set('gone', 'c2')) < composeVersion(E - 1n, 2)).toBe(true);
    // Over a live old value it refuses to write rather than go backwards.
    await expect(s.set('live', 'a2')).rejects.toThrow(InvalidArgumentError);
  });
});

describe('a write right after a delete never fails, while the key collection runs', () => {
  test('the collection scheduled by this store, or by another store over the same cluster', async () => {
    // Every acceptor call is delayed by 0-2 ms of real time, so collections and writes interleave.
    let seed = 7;
    const jitter = () => new Promise<void>((resolve) => setTimeout(resolve, ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 3)));
    const acceptors = ['a1', 'a2', 'a3'].map((address) => {
      const a = new FaultyAcceptor(new MemoryAcceptor(address));
      a.addRule({ when: 'request', action: 'delay', until: jitter });
      return a;
    });
    const proposers = ['p1', 'p2'].map((id) => new MemoryProposer(id, acceptors));
    const gc = { proposers, acceptors };
    const [a, b] = proposers.map((proposer) => new KeyValueStore<number>({ proposer, gc }));
    const errors: unknown[] = [];
    const last = new Map<string, bigint>();
    const owner = async (key: string, deleter: KeyValueStore<number>, rounds: number): Promise<void> => {
      for (let i = 0; i < rounds; i++) {
        try {
          const version = await a!.set(key, i);
          expect(version > (last.get(key) ?? -1n)).toBe(true);
          last.set(key, version);
          await deleter.delete(key); // schedules its collection, and returns at once
        } catch (error) {
          errors.push(error);
        }
      }
    };
    // Owners deleting through their own store, and through the other one, at once.
    await Promise.all([owner('mine-1', a!, 15), owner('mine-2', a!, 15), owner('theirs-1', b!, 15), owner('theirs-2', b!, 15)]);
    await Promise.all([a!.idle(), b!.idle()]);
    expect(errors).toEqual([]);
    const { runs, scheduled, failed } = { runs: a!.collectionStats.runs + b!.collectionStats.runs, scheduled: a!.collectionStats.scheduled + b!.collectionStats.scheduled, failed: a!.collectionStats.failed + b!.collectionStats.failed };
    expect(scheduled).toBe(60);
    expect(runs).toBeGreaterThanOrEqual(1);
    expect(failed).toBe(0);
    await Promise.all([a!.close(), b!.close()]);
  });
});
