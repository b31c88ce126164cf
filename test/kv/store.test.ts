/**
 * KeyValueStore, method by method: get, set, update, compareAndSet, delete, watch; codecs; bad
 * input; foreign states; cancellation; close.
 */
import { describe, expect, test } from 'vitest';
import { until } from '../support/cluster.js';
import { AcceptFailedError, InvalidArgumentError, StateFormatError, UnavailableError } from '../../src/errors.js';
import { MemoryAcceptor, MemoryProposer, type TraceEvent } from '../../src/index.js';
import { DEFAULT_EPOCH_KEY, KeyValueStore, bytesCodec, textCodec, versionParts } from '../../src/kv/index.js';
import { encodeCreationMarker } from '../../src/kv/record-format.js';
import { enc } from '../support/text.js';

function cluster(proposerIds: readonly string[] = ['p1', 'p2']): { acceptors: MemoryAcceptor[]; proposers: MemoryProposer[] } {
  const acceptors = ['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address));
  return { acceptors, proposers: proposerIds.map((id) => new MemoryProposer(id, acceptors)) };
}

function store<T = unknown>(proposer: MemoryProposer, options: Partial<ConstructorParameters<typeof KeyValueStore<T>>[0]> = {}): KeyValueStore<T> {
  return new KeyValueStore<T>({ proposer, ...options });
}

/** The raw state of `key` (an identity read through `proposer`). */
async function raw(proposer: MemoryProposer, key: string): Promise<Uint8Array | null> {
  return (await proposer.identityRead(key)).state;
}

describe('get and set', () => {
  test('a key never written reads as undefined; set returns the version get then reports', async () => {
    const { acceptors, proposers } = cluster();
    const committed: TraceEvent[] = [];
    const traced = new MemoryProposer('p0', acceptors, { tracer: (e) => void (e.type === 'committed' && committed.push(e)) });
    const [a, b] = [traced, proposers[1]!].map((p) => store<{ n: number }>(p));
    expect(await a!.get('k')).toBeUndefined();
    const version = await a!.set('k', { n: 1 });
    // The counter of the ballot of the round that wrote it, and 1 + its step in the round (a lone
    // write: step 0).
    const round = committed.at(-1) as Extract<TraceEvent, { type: 'committed' }>;
    expect(round.key).toBe('k');
    expect(versionParts(version)).toEqual({ epoch: BigInt(round.ballot.counter), sequence: 1 });
    expect(await b!.get('k')).toEqual({ value: { n: 1 }, version });
  });

  test('each write of a key takes a higher version, the same value again included; a read does not advance it', async () => {
    const { proposers } = cluster();
    const s = store<string>(proposers[0]!);
    const v1 = await s.set('x', 'a');
    const v2 = await s.set('x', 'b');
    const v3 = await s.set('x', 'b');
    expect(v1 < v2 && v2 < v3).toBe(true);
    await s.set('y', 'c');
    expect(await s.get('x')).toEqual({ value: 'b', version: v3 });
    expect(await s.get('x')).toEqual({ value: 'b', version: v3 });
  });

  test('values are decoded afresh: mutating a returned value changes nothing stored', async () => {
    const { proposers } = cluster();
    const s = store<{ list: number[] }>(proposers[0]!);
    const value = { list: [1] };
    await s.set('k', value);
    value.list.push(2);
    const read = await s.get('k');
    (read!.value.list as number[]).push(3);
    expect((await s.get('k'))!.value).toEqual({ list: [1] });
  });

  test('a creation marker (a creation in progress, or abandoned) reads as absent, and set writes over it', async () => {
    const { proposers } = cluster();
    const s = store(proposers[0]!);
    await proposers[0]!.propose('k', () => encodeCreationMarker(123n));
    expect(await s.get('k')).toBeUndefined();
    const version = await s.set('k', 'v');
    expect(await s.get('k')).toEqual({ value: 'v', version });
  });
});

describe('codecs', () => {
  test('bytes codec stores raw bytes, copied', async () => {
    const { proposers } = cluster();
    const s = store(proposers[0]!, { codec: bytesCodec() });
    const input = Uint8Array.of(1, 2, 3);
    await s.set('k', input);
    input[0] = 9;
    expect((await s.get('k'))!.value).toEqual(Uint8Array.of(1, 2, 3));
    expect(s.codecName).toBe('bytes');
  });

  test('text codec, and a custom codec', async () => {
    const { proposers } = cluster();
    const text = store(proposers[0]!, { codec: textCodec() });
    await text.set('t', 'héllo');
    expect((await text.get('t'))!.value).toBe('héllo');
    const upper = store<string>(proposers[0]!, {
      codec: { name: 'shout', encode: (v) => enc(v.toUpperCase()), decode: (b) => new TextDecoder().decode(b) },
    });
    await upper.set('u', 'quiet');
    expect((await upper.get('u'))!.value).toBe('QUIET');
  });

  test('a value the codec cannot encode is InvalidArgumentError, and nothing is written', async () => {
    const { proposers } = cluster();
    const s = store(proposers[0]!);
    await s.set('k', 1);
    const before = await raw(proposers[0]!, 'k');
    const error = await s.set('k', undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).cause).toBeInstanceOf(TypeError);
    await expect(s.update('k', () => 10n)).rejects.toThrow(InvalidArgumentError);
    expect(await raw(proposers[0]!, 'k')).toEqual(before);
  });

  test('a payload the codec cannot decode is StateFormatError with the codec error as cause', async () => {
    const { proposers } = cluster();
    await store(proposers[0]!, { codec: textCodec() }).set('k', 'not json');
    const error = await store(proposers[0]!).get('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateFormatError);
    expect((error as Error).message).toMatch(/json codec cannot decode/);
    expect((error as Error).cause).toBeInstanceOf(SyntaxError);
  });
});

describe('foreign states', () => {
  test('every method refuses a state another library wrote, and writes nothing over it', async () => {
    const { proposers } = cluster();
    const s = store(proposers[0]!);
    await proposers[0]!.propose('k', () => enc('plain bytes'));
    await expect(s.get('k')).rejects.toThrow(StateFormatError);
    await expect(s.set('k', 1)).rejects.toThrow(StateFormatError);
    await expect(s.update('k', () => 1)).rejects.toThrow(StateFormatError);
    await expect(s.compareAndSet('k', null, 1)).rejects.toThrow(StateFormatError);
    await expect(s.delete('k')).rejects.toThrow(StateFormatError);
    expect(await raw(proposers[0]!, 'k')).toEqual(enc('plain bytes'));
  });

  test('a foreign state under the epoch key stops writes (nothing is misread as an epoch to upgrade from)', async () => {
    const { proposers } = cluster();
    await proposers[0]!.propose(DEFAULT_EPOCH_KEY, () => enc('x'));
    const error = await store(proposers[0]!).set('k', 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateFormatError);
    expect((error as StateFormatError).key).toBe(DEFAULT_EPOCH_KEY);
  });
});

describe('update', () => {
  test('gets the current value (undefined when absent) and writes what it returns', async () => {
    const { proposers } = cluster();
    const s = store<number>(proposers[0]!);
    const seen: Array<number | undefined> = [];
    const first = await s.update('n', (n) => {
      seen.push(n);
      return (n ?? 0) + 1;
    });
    const second = await s.update('n', (n) => (n ?? 0) + 1);
    expect(seen[0]).toBeUndefined();
    expect(first!.value).toBe(1);
    expect(second!.value).toBe(2);
    expect(second!.version > first!.version).toBe(true);
    expect(await s.get('n')).toEqual(second);
  });

  test('returning undefined deletes; on an absent key it writes nothing', async () => {
    const { proposers } = cluster();
    const s = store<number>(proposers[0]!);
    await s.set('n', 5);
    expect(await s.update('n', () => undefined)).toBeUndefined();
    expect(await s.get('n')).toBeUndefined();
    expect(await raw(proposers[0]!, 'n')).toBeNull();
    // Absent, and left absent: no marker, no value.
    expect(await s.update('never', () => undefined)).toBeUndefined();
    expect(await raw(proposers[0]!, 'never')).toBeNull();
  });

  test('a throwing fn rejects with its own error and writes nothing', async () => {
    const { proposers } = cluster();
    const s = store<number>(proposers[0]!);
    const version = await s.set('n', 1);
    const boom = new Error('boom');
    await expect(
      s.update('n', () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await s.get('n')).toEqual({ value: 1, version });
  });

  test('concurrent increments through two proposers are each applied once', async () => {
    const { proposers } = cluster();
    const stores = proposers.map((p) => store<number>(p));
    const entries = await Promise.all(Array.from({ length: 40 }, (_, i) => stores[i % 2]!.update('n', (n) => (n ?? 0) + 1)));
    const final = await stores[0]!.get('n');
    expect(final!.value).toBe(40);
    // Each increment saw the one before: ordered by value, their versions strictly increase.
    const byValue = entries.map((e) => e!).sort((x, y) => x.value - y.value);
    expect(byValue.map((e) => e.value)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    for (let i = 1; i < 40; i++) expect(byValue[i]!.version > byValue[i - 1]!.version).toBe(true);
    expect(final!.version).toBe(byValue[39]!.version);
  });
});

describe('compareAndSet', () => {
  test('null expects absence: creates once, then reports the current entry', async () => {
    const { proposers } = cluster();
    const [a, b] = proposers.map((p) => store<string>(p));
    const created = await a!.compareAndSet('k', null, 'first');
    expect(created.ok).toBe(true);
    const lost = await b!.compareAndSet('k', null, 'second');
    expect(lost).toEqual({ ok: false, current: { value: 'first', version: (created as { version: bigint }).version } });
  });

  test('succeeds on the current version only', async () => {
    const { proposers } = cluster();
    const s = store<string>(proposers[0]!);
    const v1 = await s.set('k', 'a');
    const ok = await s.compareAndSet('k', v1, 'b');
    expect(ok.ok).toBe(true);
    const v2 = (ok as { version: bigint }).version;
    expect(v2 > v1).toBe(true);
    expect(await s.compareAndSet('k', v1, 'c')).toEqual({ ok: false, current: { value: 'b', version: v2 } });
    expect(await s.compareAndSet('absent', v1, 'c')).toEqual({ ok: false, current: undefined });
    expect(await s.get('absent')).toBeUndefined();
  });

  test('two concurrent CAS on one version: exactly one wins, even writing equal values', async () => {
    const { proposers } = cluster();
    const [a, b] = proposers.map((p) => store<string>(p));
    const v = await a!.set('k', 'x');
    const results = await Promise.all([a!.compareAndSet('k', v, 'same'), b!.compareAndSet('k', v, 'same')]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const winner = results.find((r) => r.ok) as { ok: true; version: bigint };
    const loser = results.find((r) => !r.ok) as { ok: false; current: unknown };
    expect(winner.version > v).toBe(true);
    expect(loser.current).toEqual({ value: 'same', version: winner.version });
  });

  test('concurrent create-only CAS through two proposers: exactly one wins', async () => {
    const { proposers } = cluster();
    const [a, b] = proposers.map((p) => store<string>(p));
    for (let i = 0; i < 10; i++) {
      const results = await Promise.all([a!.compareAndSet(`k${i}`, null, 'a'), b!.compareAndSet(`k${i}`, null, 'b')]);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
    }
  });

  test('refuses an expected version that is not a bigint or null', async () => {
    const { proposers } = cluster();
    const s = store(proposers[0]!);
    await expect(s.compareAndSet('k', 1 as unknown as bigint, 'v')).rejects.toThrow(InvalidArgumentError);
    await expect(s.compareAndSet('k', -1n, 'v')).rejects.toThrow(InvalidArgumentError);
  });
});

describe('delete', () => {
  test('writes the tombstone; without gc options it stays on the acceptors', async () => {
    const { acceptors, proposers } = cluster();
    const s = store(proposers[0]!);
    await s.set('k', 1);
    await s.delete('k');
    expect(await s.get('k')).toBeUndefined();
    expect(acceptors.every((a) => a.inspect('k')?.state === null)).toBe(true);
    expect(s.pendingCollections).toBe(0);
    await expect(s.sweep()).rejects.toThrow(InvalidArgumentError);
  });

  test('clears a creation marker too', async () => {
    const { proposers } = cluster();
    const s = store(proposers[0]!);
    await proposers[0]!.propose('k', () => encodeCreationMarker(7n));
    await s.delete('k');
    expect(await raw(proposers[0]!, 'k')).toBeNull();
  });
});

describe('watch', () => {
  test('yields the current entry, then each change, absence included', async () => {
    const { proposers } = cluster();
    const [a, b] = proposers.map((p) => store<number>(p));
    const controller = new AbortController();
    const seen: Array<number | undefined> = [];
    const done = (async () => {
      for await (const entry of b!.watch('w', { signal: controller.signal })) {
        seen.push(entry?.value);
        if (seen.length === 4) controller.abort();
      }
    })();
    await until(() => seen.length === 1, 'the watch', 200);
    await a!.set('w', 1);
    await until(() => seen.length === 2, 'the watch', 200);
    await a!.set('w', 2);
    await until(() => seen.length === 3, 'the watch', 200);
    await a!.delete('w');
    await done;
    expect(seen).toEqual([undefined, 1, 2, undefined]);
  });

  test('skips a creation marker (still absent) and ends when the store closes', async () => {
    const { proposers } = cluster();
    const s = store<number>(proposers[0]!);
    const seen: Array<number | undefined> = [];
    const done = (async () => {
      for await (const entry of s.watch('w')) seen.push(entry?.value);
    })();
    await until(() => seen.length === 1, 'the watch', 200);
    await proposers[1]!.propose('w', () => encodeCreationMarker(1n));
    await s.set('w', 3);
    await until(() => seen.length === 2, 'the watch', 200);
    await s.close();
    await done;
    expect(seen).toEqual([undefined, 3]);
  });

  test('throws StateFormatError when the key comes to hold a foreign state', async () => {
    const { proposers } = cluster();
    const s = store<number>(proposers[0]!);
    await proposers[1]!.propose('w', () => enc('foreign'));
    const iterator = s.watch('w')[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toThrow(StateFormatError);
  });
});

describe('arguments, cancellation and close', () => {
  test('bad keys, the reserved epoch key and bad options are InvalidArgumentError', async () => {
    const { proposers } = cluster();
    const s = store(proposers[0]!);
    await expect(s.get(3 as unknown as string)).rejects.toThrow(InvalidArgumentError);
    await expect(s.set(DEFAULT_EPOCH_KEY, 1)).rejects.toThrow(/reserved/);
    await expect(s.delete(DEFAULT_EPOCH_KEY)).rejects.toThrow(/reserved/);
    expect(() => s.watch(DEFAULT_EPOCH_KEY)).toThrow(/reserved/);
    await expect(s.update('k', 'nope' as unknown as () => number)).rejects.toThrow(InvalidArgumentError);
    const p = proposers[0]!;
    expect(() => new KeyValueStore({ proposer: {} as MemoryProposer })).toThrow(InvalidArgumentError);
    expect(() => new KeyValueStore({ proposer: p, codec: {} as never })).toThrow(/codec/);
    expect(() => new KeyValueStore({ proposer: p, epochKey: '' })).toThrow(/epochKey/);
    expect(() => new KeyValueStore({ proposer: p, maxRounds: 1 })).toThrow(/maxRounds/);
    expect(() => new KeyValueStore({ proposer: p, gc: { proposers: [proposers[1]!], acceptors: [] } })).toThrow(/include the store's proposer/);
    expect(() => new KeyValueStore({ proposer: p, gc: { proposers, acceptors: [] } })).toThrow(/gc.acceptors/);
    const { acceptors } = cluster();
    expect(() => new KeyValueStore({ proposer: p, gc: { proposers, acceptors, retry: { attempts: 0 } } })).toThrow(/attempts/);
    expect(() => new KeyValueStore({ proposer: p, gc: { proposers, acceptors, sweepIntervalMs: 0 } })).toThrow(/sweepIntervalMs/);
    const bad = new KeyValueStore({ proposer: p, random64: () => -1n });
    await expect(bad.set('k', 1)).rejects.toThrow(/random64/);
  });

  test('an aborted signal rejects with its reason', async () => {
    const { proposers } = cluster();
    const s = store(proposers[0]!);
    const reason = new Error('stop');
    const signal = AbortSignal.abort(reason);
    await expect(s.get('k', { signal })).rejects.toBe(reason);
    await expect(s.set('k', 1, { signal })).rejects.toBe(reason);
    await expect(s.update('k', () => 1, { signal })).rejects.toBe(reason);
    await expect(s.compareAndSet('k', null, 1, { signal })).rejects.toBe(reason);
    await expect(s.delete('k', { signal })).rejects.toBe(reason);
  });

  test('after close every call rejects with UnavailableError; close is idempotent, and so is dispose', async () => {
    const { proposers } = cluster();
    const s = store(proposers[0]!);
    await s.close();
    await s.close();
    await s[Symbol.asyncDispose]();
    await expect(s.get('k')).rejects.toThrow(UnavailableError);
    await expect(s.set('k', 1)).rejects.toThrow(UnavailableError);
    await expect(s.sweep()).rejects.toThrow(UnavailableError);
    expect(() => s.watch('k')).toThrow(UnavailableError);
  });

  test('a read re-writes the state as it is (a proposal of the identity), never changes it', async () => {
    const { proposers } = cluster();
    const s = store(proposers[0]!);
    await s.set('k', 'v');
    const before = await raw(proposers[0]!, 'k');
    await s.get('k');
    expect(await raw(proposers[0]!, 'k')).toEqual(before);
  });

  test('a read whose identity proposal had an unknown outcome reads again (safe: the identity twice is the identity)', async () => {
    const { proposers } = cluster();
    const writer = store(proposers[0]!);
    await writer.set('k', 'v');
    // A proposer whose first two reads end with an unknown outcome, like a read (one that fell back
    // to the full identity round) fenced by a garbage collection mid-round.
    let failures = 2;
    const flaky = new Proxy(proposers[1]!, {
      get(target, name, receiver) {
        if (name !== 'identityRead') return Reflect.get(target, name, receiver);
        return (...args: Parameters<MemoryProposer['identityRead']>) =>
          failures-- > 0 ? Promise.reject(new AcceptFailedError(args[0], { counter: 1, id: 'p2' })) : target.identityRead(...args);
      },
    });
    expect((await store(flaky).get('k'))?.value).toBe('v');
    // Other failures, and unknown outcomes past maxRounds, still reach the caller.
    failures = 3;
    await expect(store(flaky, { maxRounds: 3 }).get('k')).rejects.toBeInstanceOf(AcceptFailedError);
  });
});
