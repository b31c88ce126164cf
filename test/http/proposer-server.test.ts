/**
 * `createNodeServer` alone, over a stand-in key-value store: which writes it repeats after an
 * unknown outcome (PUT and DELETE, idempotent in effect) and which it reports (increment: 503,
 * retryable, the client decides).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AcceptFailedError, type KeyValueStore, MemoryAcceptor, MemoryProposer } from '../../src/index.js';
import { type NodeServer, type NodeServerOptions, createNodeServer } from '../../src/http/proposer-server.js';

const unknown = (): AcceptFailedError => new AcceptFailedError('k', { counter: 1, id: 'p1' });

let server: NodeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(kv: Partial<KeyValueStore<unknown>>, options: NodeServerOptions = {}): Promise<string> {
  const proposer = new MemoryProposer('p1', [new MemoryAcceptor('a1')]);
  server = createNodeServer({
    proposer,
    kv: kv as KeyValueStore<unknown>,
    acceptorAt: () => new MemoryAcceptor('x'),
    operations: { grow: async () => {}, shrink: async () => {}, collect: async () => {} },
  }, options);
  return (await server.listen()).url;
}

const send = (base: string, method: string, path: string, body?: unknown) =>
  fetch(`${base}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }).then(async (r) => ({ status: r.status, body: await r.json() }));

describe('createNodeServer', () => {
  it('repeats a PUT or a DELETE whose outcome was unknown', async () => {
    let sets = 0;
    let deletes = 0;
    const base = await serve({
      set: async () => {
        if (++sets < 3) throw unknown();
        return 7n;
      },
      delete: async () => {
        if (++deletes < 2) throw unknown();
      },
    });
    expect(await send(base, 'PUT', '/v1/kv/k', { value: 1 })).toEqual({ status: 200, body: { key: 'k', version: '7' } });
    expect(sets).toBe(3);
    expect(await send(base, 'DELETE', '/v1/kv/k')).toEqual({ status: 200, body: { key: 'k', deleted: true } });
    expect(deletes).toBe(2);
  });

  it('health names the proposer and counts the key-value store\'s collections', async () => {
    const collections = { scheduled: 3, runs: 4, collected: 2, alive: 1, failed: 0, abandoned: 0 };
    const base = await serve({ pendingCollections: 1, collectionStats: collections } as Partial<KeyValueStore<unknown>>);
    expect(await send(base, 'GET', '/v1/health')).toEqual({ status: 200, body: { status: 'ok', proposer: 'p1', pendingCollections: 1, collections } });
  });

  it('cuts a request at requestTimeoutMs: 503 ERR_TIMEOUT, its signal aborted with a TimeoutError; a quick one is not cut later', async () => {
    const reasons: unknown[] = [];
    let quickSignal: AbortSignal | undefined;
    const base = await serve({
      // As a proposer does: runs until its signal aborts, then rejects with the reason.
      get: (key, opts) => {
        const signal = opts?.signal as AbortSignal;
        if (key === 'quick') {
          quickSignal = signal;
          return Promise.resolve(undefined);
        }
        return new Promise((_, reject) => signal.addEventListener('abort', () => {
          reasons.push(signal.reason);
          reject(signal.reason);
        }));
      },
    }, { requestTimeoutMs: 100 });
    expect(await send(base, 'GET', '/v1/kv/quick')).toMatchObject({ status: 404 });
    const started = performance.now();
    const replies = await Promise.all([send(base, 'GET', '/v1/kv/slow1'), send(base, 'GET', '/v1/kv/slow2')]);
    const took = performance.now() - started;
    for (const reply of replies) expect(reply).toMatchObject({ status: 503, body: { code: 'ERR_TIMEOUT', retryable: true } });
    expect(took).toBeGreaterThanOrEqual(95);
    expect(took).toBeLessThan(5000);
    expect(reasons.map((r) => (r as DOMException).name)).toEqual(['TimeoutError', 'TimeoutError']);
    expect(quickSignal?.aborted).toBe(false);
  });

  it('close lets the requests in flight finish (every close call waits for them), then refuses new ones', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const arrived = new Promise<void>((resolve) => (started = resolve));
    const base = await serve({
      get: async () => {
        started();
        await held;
        return { value: 'v', version: 1n };
      },
    });
    const inFlight = send(base, 'GET', '/v1/kv/k');
    await arrived;
    const closing = server as NodeServer;
    server = undefined;
    let closed = 0;
    const closes = [closing.close(), closing.close()].map((p) => p.then(() => closed++));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(0);
    release();
    expect(await inFlight).toEqual({ status: 200, body: { key: 'k', value: 'v', version: '1' } });
    await Promise.all(closes);
    expect(closed).toBe(2);
    await expect(fetch(`${base}/v1/health`)).rejects.toThrow();
  });

  it('reports an increment whose outcome was unknown instead of applying it again', async () => {
    let updates = 0;
    const base = await serve({
      update: async () => {
        updates++;
        throw unknown();
      },
    });
    const reply = await send(base, 'POST', '/v1/kv/k/increment', { by: 1 });
    expect(reply).toMatchObject({ status: 503, body: { code: 'ERR_ACCEPT_FAILED', retryable: true } });
    expect(updates).toBe(1);
  });
});
