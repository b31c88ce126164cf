/**
 * Reads that write nothing (`proposer/fast-read`): one round of peeks when a quorum agrees, the
 * full identity round otherwise; never a record created by a read.
 */
import { afterEach, describe, expect, test } from 'vitest';
import {
  type Age,
  type Ballot,
  type AcceptorStore,
  type KeyRecord,
  KeyValueStore,
  MemoryAcceptor,
  MemoryProposer,
  MemoryStore,
  type PeekReply,
  type State,
  StoreAcceptor,
  type TraceEvent,
  UnsupportedError,
  ZERO_BALLOT,
  bytesCodec,
} from '../../src/index.js';
import { type NodeServer, createNodeServer } from '../../src/http/proposer-server.js';
import { HttpAcceptor } from '../../src/http/acceptor-client.js';
import { host } from '../http/support.js';
import { CountingAcceptor, withoutPeek } from '../support/peek-acceptors.js';
import { TraceRecorder, renderAscii } from '../../src/trace/index.js';

const age: Age = { counter: 0, id: 'w' };
const b = (counter: number, id = 'w'): Ballot => ({ counter, id });
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Stores `state` under `ballot` on `acceptor` directly (a prepare, then an accept). */
async function store(acceptor: MemoryAcceptor, key: string, ballot: Ballot, state: State): Promise<void> {
  expect((await acceptor.prepare(key, age, ballot)).type).toBe('promised');
  expect((await acceptor.accept(key, age, ballot, state)).type).toBe('accepted');
}

describe('a read of an agreed key', () => {
  test('is one round of peeks: no prepare, no accept, nothing stored', async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new CountingAcceptor(a));
    const events: TraceEvent[] = [];
    const p = new MemoryProposer('p1', acceptors, { tracer: (e) => events.push(e) });
    const written = await p.propose('k', () => bytes('v'));
    const before = acceptors.map((a) => ({ ...a.counts, record: a.inspect('k') }));
    const read = await p.identityRead('k');
    expect(read).toEqual({ state: bytes('v'), ballot: written.ballot });
    for (const [i, a] of acceptors.entries()) {
      expect(a.counts.prepare).toBe(before[i]?.prepare);
      expect(a.counts.accept).toBe(before[i]?.accept);
      expect(a.counts.peek).toBe(1);
      expect(a.inspect('k')).toEqual(before[i]?.record);
    }
    expect(events.filter((e) => e.type === 'fast-read')).toEqual([
      expect.objectContaining({ type: 'fast-read', outcome: 'hit', accepted: written.ballot, from: expect.arrayContaining([]) }),
    ]);
  });

  test('in process (no tracer): answered synchronously from the shared records, with the same result', async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    const p = new MemoryProposer('p1', acceptors);
    const written = await p.propose('k', () => bytes('v'));
    const records = acceptors.map((a) => a.inspect('k'));
    expect(await p.identityRead('k')).toEqual({ state: bytes('v'), ballot: written.ballot });
    expect(acceptors.map((a) => a.inspect('k'))).toEqual(records);
    expect(p.inspect().attempts).toBe(1);
  });

  test('a key a quorum holds nothing for reads as empty under the zero ballot', async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new CountingAcceptor(a));
    const p = new MemoryProposer('p1', acceptors);
    expect(await p.identityRead('never')).toEqual({ state: null, ballot: ZERO_BALLOT });
    expect(acceptors.map((a) => a.size)).toEqual([0, 0, 0]);
    expect(acceptors.map((a) => a.counts.prepare + a.counts.accept)).toEqual([0, 0, 0]);
  });

  test('the returned state is a copy: mutating it changes no acceptor', async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    const p = new MemoryProposer('p1', acceptors);
    await p.propose('k', () => bytes('v'));
    const { state } = await p.identityRead('k');
    state?.fill(0);
    expect((await p.identityRead('k')).state).toEqual(bytes('v'));
  });
});

describe('falling back to the full round', () => {
  test('replies under different ballots: the full round writes the newest state back to a quorum', async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    await store(acceptors[0] as MemoryAcceptor, 'k', b(2), bytes('new'));
    await store(acceptors[1] as MemoryAcceptor, 'k', b(1), bytes('old'));
    const events: TraceEvent[] = [];
    const p = new MemoryProposer('p1', acceptors, { tracer: (e) => events.push(e) });
    const read = await p.identityRead('k');
    expect(read.state).toEqual(bytes('new'));
    expect(read.ballot.id).toBe('p1'); // the read's own round committed it
    expect(events.find((e) => e.type === 'fast-read')).toMatchObject({ outcome: 'fallback', reason: 'disagree' });
    expect(events.some((e) => e.type === 'accept-sent')).toBe(true);
    // Written back: a quorum now agrees, and the next read is answered at once.
    const holders = acceptors.filter((a) => a.inspect('k')?.accepted.id === 'p1');
    expect(holders.length).toBeGreaterThanOrEqual(2);
    events.length = 0;
    expect((await p.identityRead('k')).state).toEqual(bytes('new'));
    expect(events.find((e) => e.type === 'fast-read')).toMatchObject({ outcome: 'hit' });
  });

  test('writeBack: true always runs the full round', async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new CountingAcceptor(a));
    const p = new MemoryProposer('p1', acceptors);
    await p.propose('k', () => bytes('v'));
    const accepts = acceptors.map((a) => a.counts.accept);
    expect((await p.identityRead('k', { writeBack: true })).state).toEqual(bytes('v'));
    expect(acceptors.map((a) => a.counts.peek)).toEqual([0, 0, 0]);
    expect(acceptors.reduce((n, a, i) => n + a.counts.accept - (accepts[i] as number), 0)).toBeGreaterThanOrEqual(2);
  });

  test('a preparer without peek (an older acceptor): every read takes the full round, and is right', async () => {
    const inner = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    const events: TraceEvent[] = [];
    const p = new MemoryProposer('p1', [inner[0] as MemoryAcceptor, inner[1] as MemoryAcceptor, withoutPeek(inner[2] as MemoryAcceptor)], { tracer: (e) => events.push(e) });
    await p.propose('k', () => bytes('v'));
    expect((await p.identityRead('k')).state).toEqual(bytes('v'));
    expect(events.find((e) => e.type === 'fast-read')).toMatchObject({ outcome: 'fallback', reason: 'unsupported' });
  });

  test('a preparer whose peek is refused as unknown counts as no vote (UnsupportedError), not as a failure', async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    const old = Object.assign(Object.create(acceptors[2] as MemoryAcceptor) as MemoryAcceptor, {
      peek: () => Promise.reject(new UnsupportedError('unknown request')),
    });
    const events: TraceEvent[] = [];
    const p = new MemoryProposer('p1', [acceptors[0] as MemoryAcceptor, acceptors[1] as MemoryAcceptor, old], { tracer: (e) => events.push(e), inProcess: false });
    await p.propose('k', () => bytes('v'));
    // a1 and a2 agree: the read needs no answer from a3.
    expect((await p.identityRead('k')).state).toEqual(bytes('v'));
    expect(events.find((e) => e.type === 'fast-read')).toMatchObject({ outcome: 'hit' });
  });

  test('during a membership change (preparers differ from accepters) no peek is sent', async () => {
    const acceptors = ['a1', 'a2', 'a3', 'a4'].map((a) => new CountingAcceptor(a));
    const p = new MemoryProposer('p1', acceptors.slice(0, 3));
    await p.propose('k', () => bytes('v'));
    await p.addAccepter(acceptors[3] as CountingAcceptor);
    expect((await p.identityRead('k')).state).toEqual(bytes('v'));
    expect(acceptors.map((a) => a.counts.peek)).toEqual([0, 0, 0, 0]);
    expect(acceptors[3]?.inspect('k')?.state).toEqual(bytes('v'));
  });
});

describe('reads of never-written keys create no record', () => {
  test('10,000 reads through KeyValueStore.get over MemoryAcceptors', async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    const kv = new KeyValueStore({ proposer: new MemoryProposer('p1', acceptors), codec: bytesCodec() });
    for (let i = 0; i < 10_000; i++) expect(await kv.get(`never-${i}`)).toBeUndefined();
    expect(acceptors.map((a) => a.size)).toEqual([0, 0, 0]);
    await kv.close();
  });

  test('10,000 reads through KeyValueStore.get over StoreAcceptors: the stores stay empty', async () => {
    const stores = [new MemoryStore(), new MemoryStore(), new MemoryStore()];
    const acceptors = await Promise.all(stores.map((s, i) => StoreAcceptor.open(`a${i + 1}`, s)));
    const kv = new KeyValueStore({ proposer: new MemoryProposer('p1', acceptors), codec: bytesCodec() });
    const reads: Array<Promise<unknown>> = [];
    for (let i = 0; i < 10_000; i++) reads.push(kv.get(`never-${i}`));
    expect(new Set(await Promise.all(reads))).toEqual(new Set([undefined]));
    for (const s of stores) expect(await s.scan({ limit: 10 })).toEqual([]);
    await kv.close();
    await Promise.all(acceptors.map((a) => a.close()));
  });

  let node: NodeServer | undefined;
  afterEach(async () => {
    await node?.close();
    node = undefined;
  });

  test("10,000 reads through the node's GET /v1/kv/{key}, over HTTP acceptors", async () => {
    const inner = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    const hosted = await Promise.all(inner.map((a) => host(a)));
    try {
      const proposer = new MemoryProposer('p1', hosted.map((h) => new HttpAcceptor(h.url)));
      const kv = new KeyValueStore({ proposer });
      node = createNodeServer({ proposer, kv, acceptorAt: () => new MemoryAcceptor('x'), operations: { grow: async () => {}, shrink: async () => {}, collect: async () => {} } });
      const base = await node.listen();
      const statuses = new Map<number, number>();
      const keys = Array.from({ length: 10_000 }, (_, i) => `never-${i}`);
      for (let i = 0; i < keys.length; i += 100) {
        const replies = await Promise.all(keys.slice(i, i + 100).map((k) => fetch(`${base}/v1/kv/${k}`).then(async (r) => (await r.arrayBuffer(), r.status))));
        for (const s of replies) statuses.set(s, (statuses.get(s) ?? 0) + 1);
      }
      expect(Object.fromEntries(statuses)).toEqual({ 404: 10_000 });
      expect(inner.map((a) => a.size)).toEqual([0, 0, 0]);
      // A written key is read at once over HTTP too (the peeks travel as batch or frame items).
      await kv.set('k', 'v');
      expect((await (await fetch(`${base}/v1/kv/k`)).json()) as unknown).toMatchObject({ key: 'k', value: 'v' });
    } finally {
      await Promise.all(hosted.map((h) => h.server.close()));
    }
  }, 120_000);
});

describe('durability: a peek never reports an accept whose commit is pending', () => {
  /**
   * A store that applies a group's records at once (reads see them) and makes them durable (the
   * fsync) only when the test lets it: what a peek must not read around. `durable` counts the
   * groups made durable.
   */
  function writeBackStore(): { store: AcceptorStore; inner: MemoryStore; release: () => void; durable: () => number } {
    const inner = new MemoryStore();
    let releases: Array<() => void> = [];
    let durable = 0;
    const store = new Proxy(inner, {
      get(target, name) {
        if (name !== 'putMany') {
          const value: unknown = Reflect.get(target, name, target);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        }
        // Group commit over a store that has none of its own: applied at once, durable on release.
        return async (entries: ReadonlyArray<readonly [string, KeyRecord]>) => {
          for (const [key, record] of entries) await target.put(key, record);
          await new Promise<void>((resolve) => releases.push(resolve));
          durable++;
        };
      },
    });
    const release = (): void => {
      const waiting = releases;
      releases = [];
      for (const r of waiting) r();
    };
    return { store, inner, release, durable: () => durable };
  }
  const tick = (ms = 10): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  test('StoreAcceptor with group commit: the peek answers only after the accept it reports is durable', async () => {
    const { store, inner, release, durable } = writeBackStore();
    const acceptor = await StoreAcceptor.open('a1', store);
    const prepare = acceptor.prepare('k', age, b(1));
    await tick();
    release();
    expect((await prepare).type).toBe('promised');
    const accept = acceptor.accept('k', age, b(1), bytes('v'));
    let peeked: PeekReply | undefined;
    const peek = acceptor.peek('k').then((r) => (peeked = r));
    await tick(20);
    // The store already shows the accept (a read around the key's lock would report it: this is
    // the negative control of the setup), but its commit has not finished: the peek waits.
    expect((await inner.get('k'))?.accepted).toEqual(b(1));
    expect(durable()).toBe(1);
    expect(peeked).toBeUndefined();
    release();
    expect((await accept).type).toBe('accepted');
    await peek;
    expect(durable()).toBe(2);
    expect(peeked).toEqual({ type: 'peeked', accepted: b(1), state: bytes('v') });
    await acceptor.close();
  });

  test('a peek of a key with no write pending answers at once, and writes nothing', async () => {
    const { store, release, durable } = writeBackStore();
    const acceptor = await StoreAcceptor.open('a1', store);
    expect(await acceptor.peek('k')).toEqual({ type: 'peeked', accepted: ZERO_BALLOT, state: null });
    expect(durable()).toBe(0);
    release();
    await acceptor.close();
  });
});

describe('traces', () => {
  test('the diagram says what a read found: at once, from agreeing peeks, or the full round and why', async () => {
    const recorder = new TraceRecorder();
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    const p = new MemoryProposer('p1', acceptors, { tracer: recorder.tracer });
    await p.propose('k', () => bytes('v'));
    await p.identityRead('k');
    await store(acceptors[0] as MemoryAcceptor, 'j', b(2), bytes('new'));
    await store(acceptors[1] as MemoryAcceptor, 'j', b(1), bytes('old'));
    await p.identityRead('j');
    const text = renderAscii(recorder.events);
    expect(text).toMatch(/read k at once: a\d, a\d report 1\/p1, chosen/);
    expect(text).toContain('read j: full round (disagree)');
  });
});
