/**
 * A full or failing store over HTTP: the acceptor server answers 507 `ERR_STORAGE_FULL` and 503
 * `ERR_STORAGE_FAILED` alike in v1 replies, in the items of a `/v2/batch` and in the frames of the
 * `/v2/stream`; `HttpAcceptor` turns them back into `StorageFullError` / `StorageFailedError`
 * naming the acceptor; `/v1/ready` says not ready (503) with the reason while `/v1/health` stays
 * 200; and the node server turns a proposal that failed on full acceptors into one 507 at once.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/acceptor/memory-store.js';
import { StoreAcceptor } from '../../src/acceptor/store-acceptor.js';
import { HttpAcceptor } from '../../src/http/acceptor-client.js';
import { nodeFetch } from '../../src/http/node-fetch.js';
import { createNodeServer } from '../../src/http/proposer-server.js';
import { PATHS, encodeAcceptRequest, encodeBatchItem, encodeBatchRequest, encodePrepareRequest } from '../../src/http/wire.js';
import { KeyValueStore } from '../../src/kv/key-value-store.js';
import { MemoryAcceptor, MemoryProposer, StorageFailedError, StorageFullError } from '../../src/index.js';
import type { KeyRecord } from '../../src/core/acceptor-rules.js';
import { age, b, bytes, cleanupsAfterEach, host, post, raw } from './support.js';

const SECRET = 'storage';
const cleanups = cleanupsAfterEach();

/** A `MemoryStore` whose writes fail with `EROFS` while `readOnly` is set. */
class ReadOnlyStore extends MemoryStore {
  readOnly = false;
  override async put(key: string, record: KeyRecord): Promise<void> {
    if (this.readOnly) throw Object.assign(new Error('EROFS: read-only file system, write'), { code: 'EROFS' });
    return super.put(key, record);
  }
}

async function hosted(store: MemoryStore, address = 'a1') {
  const acceptor = await StoreAcceptor.open(address, store);
  const h = await host(acceptor, { secret: SECRET });
  cleanups.push(() => h.server.terminate());
  return { ...h, acceptor };
}

const full = (store: MemoryStore): void => store.setLimits({ maxKeys: store.size, maxBytes: store.capacity().usedBytes });

describe('the acceptor server on a full or failing store', () => {
  it('v1: 507 ERR_STORAGE_FULL for a full store, 503 ERR_STORAGE_FAILED for a failing one; nothing was applied', async () => {
    const store = new ReadOnlyStore();
    const h = await hosted(store);
    full(store);
    const reply = await post(h.url, PATHS.prepare, encodePrepareRequest({ key: 'k', age, ballot: b(1) }), SECRET);
    expect(reply.status).toBe(507);
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'ERR_STORAGE_FULL', retryable: true });
    expect(JSON.parse(reply.body).message).toMatch(/acceptor a1: .*full/);
    store.setLimits({});
    store.readOnly = true;
    const failing = await post(h.url, PATHS.accept, encodeAcceptRequest({ key: 'k', age, ballot: b(1), state: bytes(1) }), SECRET);
    expect(failing.status).toBe(503);
    expect(JSON.parse(failing.body)).toMatchObject({ code: 'ERR_STORAGE_FAILED', retryable: true });
    expect(JSON.parse(failing.body).message).toMatch(/EROFS/);
    expect(store.size).toBe(0);
  });

  it('/v2/batch: every refused item carries its own storage error; the others are answered', async () => {
    const store = new MemoryStore();
    const h = await hosted(store);
    await h.acceptor.accept('old', age, b(1), bytes(1, 2));
    full(store);
    const body = encodeBatchRequest([
      encodeBatchItem('prepare', encodePrepareRequest({ key: 'new', age, ballot: b(1) })),
      encodeBatchItem('prepare', encodePrepareRequest({ key: 'old', age, ballot: b(2) })),
      encodeBatchItem('accept', encodeAcceptRequest({ key: 'other', age, ballot: b(1), state: bytes(3) })),
    ]);
    const reply = await post(h.url, PATHS.batch, body, SECRET);
    expect(reply.status).toBe(200);
    const items = (JSON.parse(reply.body) as { items: Array<Record<string, unknown>> }).items;
    expect(items[0]).toMatchObject({ error: { code: 'ERR_STORAGE_FULL', retryable: true } });
    // A promise on an existing key does not grow the data: taken while full.
    expect(items[1]).toMatchObject({ type: 'promised' });
    expect(items[2]).toMatchObject({ error: { code: 'ERR_STORAGE_FULL' } });
  });

  for (const [transport, options] of [
    ['v1 and batches (fetch)', {}],
    ['the acceptor stream (nodeFetch)', { fetch: nodeFetch() }],
  ] as const) {
    it(`HttpAcceptor over ${transport}: StorageFullError / StorageFailedError naming the acceptor, for lone calls and bursts`, async () => {
      const store = new ReadOnlyStore();
      const h = await hosted(store);
      const remote = new HttpAcceptor(h.url, { secret: SECRET, ...options });
      expect((await remote.accept('old', age, b(1), bytes(1))).type).toBe('accepted');
      full(store);
      const lone = await remote.prepare('new', age, b(1)).catch((e: unknown) => e);
      expect(lone).toBeInstanceOf(StorageFullError);
      expect((lone as StorageFullError).acceptors).toEqual([remote.address]);
      const burst = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => remote.accept(`k${i}`, age, b(1), bytes(i))));
      for (const outcome of burst) expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(StorageFullError);
      store.setLimits({});
      store.readOnly = true;
      const failing = await remote.prepare('new', age, b(1)).catch((e: unknown) => e);
      expect(failing).toBeInstanceOf(StorageFailedError);
      expect((failing as StorageFailedError).acceptors).toEqual([remote.address]);
      store.readOnly = false;
      // Room and a writable disk again: the same client and server go on.
      expect((await remote.prepare('new', age, b(1))).type).toBe('promised');
      expect(store.size).toBe(2);
    });
  }

  it('/v1/ready: 200 while writable, 503 with the code and reason while full or failing; /v1/health stays 200', async () => {
    const store = new ReadOnlyStore();
    const h = await hosted(store);
    const ready = async () => {
      const reply = await raw(h.url, { method: 'GET', path: '/v1/ready' });
      return { status: reply.status, body: JSON.parse(reply.body) as Record<string, unknown> };
    };
    expect(await ready()).toMatchObject({ status: 200, body: { status: 'ready', storage: { state: 'writable' } } });
    await h.acceptor.accept('a', age, b(1), bytes(1, 2, 3));
    full(store);
    const notReady = await ready();
    expect(notReady).toMatchObject({ status: 503, body: { status: 'not-ready', code: 'ERR_STORAGE_FULL', storage: { state: 'full', usedBytes: 3, quotaBytes: 3 } } });
    expect(notReady.body.reason).toMatch(/limit/);
    expect((await raw(h.url, { method: 'GET', path: PATHS.health })).status).toBe(200);
    expect((await raw(h.url, { method: 'HEAD', path: '/v1/ready' })).status).toBe(503);
    store.setLimits({});
    expect((await ready()).status).toBe(200);
    store.readOnly = true;
    await expect(h.acceptor.accept('b', age, b(1), bytes(1))).rejects.toBeInstanceOf(StorageFailedError);
    expect(await ready()).toMatchObject({ status: 503, body: { code: 'ERR_STORAGE_FAILED', storage: { state: 'failed' } } });
    store.readOnly = false;
    await h.acceptor.accept('b', age, b(1), bytes(1));
    expect((await ready()).status).toBe(200);
    expect((await raw(h.url, { method: 'POST', path: '/v1/ready' })).status).toBe(405);
  });

  it('/v1/ready of an acceptor that does not report its storage (MemoryAcceptor): ready', async () => {
    const h = await host(new MemoryAcceptor('m'));
    cleanups.push(() => h.server.terminate());
    const reply = await raw(h.url, { method: 'GET', path: '/v1/ready' });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ status: 'ready' });
  });
});

describe('the node server when the acceptors are full', () => {
  async function cluster(stores: readonly MemoryStore[]) {
    const hosts = await Promise.all(stores.map((store, i) => hosted(store, `a${i + 1}`)));
    const acceptors = hosts.map((h) => new HttpAcceptor(h.url, { secret: SECRET }));
    const proposer = new MemoryProposer('p1', acceptors);
    const kv = new KeyValueStore<unknown>({ proposer });
    const node = createNodeServer({
      proposer,
      kv,
      acceptorAt: (address) => acceptors.find((a) => a.address === address) ?? acceptors[0]!,
      operations: { grow: async () => {}, shrink: async () => {}, collect: async () => {} },
    });
    const { url } = await node.listen(0, '127.0.0.1');
    cleanups.push(async () => {
      await node.close();
      await kv.close();
    });
    return { url, acceptors };
  }

  it('a write on a majority of full acceptors is one 507 ERR_STORAGE_FULL at once, naming the full acceptors; one full acceptor is no trouble', async () => {
    const stores = [new MemoryStore(), new MemoryStore(), new MemoryStore()];
    const { url, acceptors } = await cluster(stores);
    const put = (key: string) => raw(url, { method: 'PUT', path: `/v1/kv/${key}`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: key }) });
    expect((await put('a')).status).toBe(200);
    full(stores[0] as MemoryStore);
    // One of three full: the other two are a majority.
    expect((await put('b')).status).toBe(200);
    full(stores[1] as MemoryStore);
    const started = Date.now();
    const refused = await put('c');
    const ms = Date.now() - started;
    expect(refused.status).toBe(507);
    const body = JSON.parse(refused.body) as { code: string; retryable: boolean; acceptors: string[]; outcome: string; message: string };
    expect(body).toMatchObject({ code: 'ERR_STORAGE_FULL', retryable: false, outcome: 'none' });
    // Both full acceptors named (the round keeps every storage refusal, not only the last).
    expect([...body.acceptors].sort()).toEqual([acceptors[0]?.address, acceptors[1]?.address].sort());
    expect(body.message).toMatch(/storage full at acceptors/);
    // At once: the proposer's few quick retries, not a 30 s timeout.
    expect(ms).toBeLessThan(5000);
    // Reads of what was written still work (a promise on an existing key takes no room).
    const read = await raw(url, { method: 'GET', path: '/v1/kv/a' });
    expect(read.status).toBe(200);
    // Room again: writes resume, no restart.
    for (const store of stores) store.setLimits({});
    expect((await put('c')).status).toBe(200);
  });
});
