/**
 * Batching in `HttpAcceptor` and the server's `/v2/batch` and `/v2/stream`: the calls of one turn
 * travel as one request (or one frame of the stream), a lone call goes by itself, each item keeps
 * its own reply, error, abort and timeout, big batches are split, and a server without the batch
 * endpoint or the stream gets the calls another way.
 */
import { describe, expect, it } from 'vitest';
import { HttpAcceptor, MAX_BATCH_BYTES } from '../../src/http/acceptor-client.js';
import { nodeFetch } from '../../src/http/node-fetch.js';
import { PATHS } from '../../src/http/wire.js';
import { type Acceptor, InvalidArgumentError, MemoryAcceptor, UnavailableError } from '../../src/index.js';
import { HookedAcceptor } from './hooked-acceptor.js';
import { age, b, bytes, cleanupsAfterEach, fakeServer, gate, host } from './support.js';

const SECRET = 'batch';
const cleanups = cleanupsAfterEach();

/** A hosted acceptor whose server records the path of every request. */
async function hosted(acceptor: Acceptor, options: Parameters<typeof host>[1] = {}) {
  const h = await host(acceptor, { secret: SECRET, ...options });
  const paths: string[] = [];
  h.server.server.on('request', (req: { url?: string }) => paths.push(req.url ?? ''));
  cleanups.push(() => h.server.terminate());
  return { ...h, paths };
}

for (const [name, fetchOption] of [['fetch', {}], ['nodeFetch, stream: false', { fetch: nodeFetch(), stream: false }]] as const) {
  describe(`batches (${name})`, () => {
    it('sends the calls of one turn as one request, each with its own reply', async () => {
      const inner = new MemoryAcceptor('a');
      await inner.prepare('k1', age, b(5, 'q'));
      const h = await hosted(inner);
      const remote = new HttpAcceptor(h.url, { secret: SECRET, ...fetchOption });
      const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
      const replies = await Promise.all(keys.map((key) => remote.prepare(key, age, b(2))));
      expect(h.paths).toEqual([PATHS.batch]);
      expect(replies[1]).toEqual({ type: 'conflict', ballot: b(5, 'q'), kind: 'promise', accepted: b(0, '') });
      expect(replies.filter((r) => r.type === 'promised')).toHaveLength(49);
      // Prepares and accepts mix; a lone call goes by itself over v1.
      await Promise.all([remote.accept('k0', age, b(2), bytes(1), { next: b(3) }), remote.prepare('x', age, b(1))]);
      await remote.prepare('y', age, b(1));
      expect(h.paths).toEqual([PATHS.batch, PATHS.batch, PATHS.prepare]);
      expect(inner.inspect('k0')?.state).toEqual(bytes(1));
      expect(inner.inspect('k0')?.promise).toEqual(b(3));
    });

    it('batch: false sends every call by itself (negative control)', async () => {
      const h = await hosted(new MemoryAcceptor('a'));
      const remote = new HttpAcceptor(h.url, { secret: SECRET, batch: false, ...fetchOption });
      await Promise.all([1, 2, 3].map((i) => remote.prepare(`k${i}`, age, b(1))));
      expect(h.paths).toEqual([PATHS.prepare, PATHS.prepare, PATHS.prepare]);
    });

    it('an item the server refuses rejects alone', async () => {
      const inner = new HookedAcceptor('a');
      const h = await hosted(inner, { maxKeyBytes: 4 });
      const remote = new HttpAcceptor(h.url, { secret: SECRET, ...fetchOption });
      inner.hook = (method) => {
        if (method === 'prepare') throw new InvalidArgumentError('no prepares today');
      };
      const [ok, tooLong, refused] = await Promise.allSettled([remote.accept('ok', age, b(1), bytes(1)), remote.accept('toolong', age, b(1), bytes(1)), remote.prepare('k', age, b(1))]);
      expect(h.paths).toEqual([PATHS.batch]);
      expect(ok).toEqual({ status: 'fulfilled', value: { type: 'accepted' } });
      expect(tooLong.status === 'rejected' && tooLong.reason).toBeInstanceOf(InvalidArgumentError);
      expect(refused.status === 'rejected' && (refused.reason as Error).message).toMatch(/no prepares today/);
      expect(inner.inner.inspect('toolong')).toBeUndefined();
    });

    it('an item aborted before the batch leaves is dropped; after, it rejects at once and the rest goes on', async () => {
      const inner = new HookedAcceptor('a');
      const held = gate();
      inner.hook = () => held.promise;
      const h = await hosted(inner);
      const remote = new HttpAcceptor(h.url, { secret: SECRET, ...fetchOption });
      const reason = new Error('gave up');
      const early = new AbortController();
      const late = new AbortController();
      const dropped = remote.accept('dropped', age, b(1), bytes(1), { signal: early.signal });
      early.abort(reason);
      const kept = remote.accept('kept', age, b(1), bytes(2));
      const abandoned = remote.accept('abandoned', age, b(1), bytes(3), { signal: late.signal });
      await expect(dropped).rejects.toBe(reason);
      while (inner.calls.length < 2) await new Promise((r) => setImmediate(r));
      late.abort(reason);
      await expect(abandoned).rejects.toBe(reason);
      held.open();
      expect(await kept).toEqual({ type: 'accepted' });
      expect(inner.calls).toEqual(['accept', 'accept']);
      expect(inner.inner.inspect('dropped')).toBeUndefined();
    });

    it('splits a turn into batches of at most MAX_BATCH_BYTES; a larger item goes alone', async () => {
      const h = await hosted(new MemoryAcceptor('a'), { maxBodyBytes: 1 << 20 });
      const remote = new HttpAcceptor(h.url, { secret: SECRET, ...fetchOption });
      // In base64 a state takes 4/3 of its bytes: three of these fit in a batch, so six make two.
      const big = new Uint8Array(Math.floor(MAX_BATCH_BYTES / 5)).fill(7);
      const huge = new Uint8Array(MAX_BATCH_BYTES).fill(9);
      const replies = await Promise.all([...[1, 2, 3, 4, 5, 6].map((i) => remote.accept(`big${i}`, age, b(1), big)), remote.accept('huge', age, b(1), huge)]);
      expect(replies.every((r) => r.type === 'accepted')).toBe(true);
      expect(h.paths.filter((p) => p === PATHS.accept)).toEqual([PATHS.accept]);
      expect(h.paths.filter((p) => p === PATHS.batch)).toEqual([PATHS.batch, PATHS.batch]);
    });
  });
}

describe('batches against other servers', () => {
  it('a server without /v2/batch (404, nothing run) gets the calls one by one, from then on', async () => {
    const fake = await fakeServer((req, res) => {
      req.resume();
      if (req.url === PATHS.batch) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"code":"ERR_NO_ROUTE","message":"no","retryable":false}');
      } else res.end('{"type":"accepted"}');
    });
    cleanups.push(fake.close);
    const remote = new HttpAcceptor(fake.url);
    expect(await Promise.all([1, 2, 3].map((i) => remote.accept(`k${i}`, age, b(1), null)))).toEqual([{ type: 'accepted' }, { type: 'accepted' }, { type: 'accepted' }]);
    expect(fake.requests()).toBe(4);
    await Promise.all([1, 2].map((i) => remote.accept(`k${i}`, age, b(2), null)));
    expect(fake.requests()).toBe(6);
  });

  it('an item of a kind the server does not batch (ERR_UNSUPPORTED_OP) is sent again by itself', async () => {
    const fake = await fakeServer((req, res) => {
      req.resume();
      res.setHeader('content-type', 'application/json');
      if (req.url === PATHS.batch) res.end('{"items":[{"type":"accepted"},{"error":{"code":"ERR_UNSUPPORTED_OP","message":"no","retryable":false}}]}');
      else res.end('{"type":"promised","accepted":{"counter":0,"id":""},"state":null}');
    });
    cleanups.push(fake.close);
    const remote = new HttpAcceptor(fake.url);
    const [accepted, promised] = await Promise.all([remote.accept('a', age, b(1), null), remote.prepare('b', age, b(1))]);
    expect(accepted).toEqual({ type: 'accepted' });
    expect(promised.type).toBe('promised');
    expect(fake.requests()).toBe(2);
  });

  it('a malformed batch reply fails every item with UnavailableError; a silent server times every item out', async () => {
    const wrong = await fakeServer((req, res) => {
      req.resume();
      res.setHeader('content-type', 'application/json');
      res.end('{"items":[{"type":"accepted"}]}');
    });
    cleanups.push(wrong.close);
    const remote = new HttpAcceptor(wrong.url);
    const outcomes = await Promise.allSettled([remote.accept('a', age, b(1), null), remote.accept('b', age, b(1), null)]);
    for (const o of outcomes) expect(o.status === 'rejected' && o.reason).toBeInstanceOf(UnavailableError);
    const silent = await fakeServer(() => {});
    cleanups.push(silent.close);
    const slow = new HttpAcceptor(silent.url, { timeoutMs: 150 });
    const timedOut = await Promise.allSettled([slow.prepare('a', age, b(1)), slow.prepare('b', age, b(1))]);
    for (const o of timedOut) expect(o.status === 'rejected' && (o.reason as Error).message).toMatch(/did not answer within 150 ms/);
    expect(silent.requests()).toBe(1);
  });
});

/** A hosted acceptor that records the frames its stream received (the server's debug records). */
async function streamed(acceptor: Acceptor, options: Parameters<typeof host>[1] = {}) {
  const frames: number[] = [];
  const logger = { debug: (o: Record<string, unknown>) => void (o.path === PATHS.stream && frames.push(o.items as number)), info: () => {}, warn: () => {}, error: () => {} };
  const h = await hosted(acceptor, { logger, ...options });
  return { ...h, frames };
}

describe('the acceptor stream (nodeFetch)', () => {
  it('carries the calls of one turn as one frame, and lone calls too; no HTTP request per call', async () => {
    const inner = new MemoryAcceptor('a');
    await inner.prepare('k1', age, b(5, 'q'));
    const h = await streamed(inner);
    const remote = new HttpAcceptor(h.url, { secret: SECRET, fetch: nodeFetch() });
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => remote.prepare(`k${i}`, age, b(2))));
    expect(replies[1]).toEqual({ type: 'conflict', ballot: b(5, 'q'), kind: 'promise', accepted: b(0, '') });
    expect(replies.filter((r) => r.type === 'promised')).toHaveLength(49);
    expect(await remote.accept('k0', age, b(2), bytes(1), { next: b(3) })).toEqual({ type: 'accepted', promised: b(3) });
    expect(h.frames).toEqual([50, 1]);
    // The upgrade request is not a `request` event: no HTTP request was served at all.
    expect(h.paths).toEqual([]);
  });

  it('a server without the stream (404) gets HTTP batches from then on', async () => {
    const fake = await fakeServer((req, res) => {
      req.resume();
      res.setHeader('content-type', 'application/json');
      if (req.url === PATHS.batch) res.end('{"items":[{"type":"accepted"},{"type":"accepted"}]}');
      else {
        res.writeHead(404);
        res.end('{"code":"ERR_NO_ROUTE","message":"no","retryable":false}');
      }
    });
    cleanups.push(fake.close);
    const remote = new HttpAcceptor(fake.url, { fetch: nodeFetch() });
    expect(await Promise.all([remote.accept('a', age, b(1), null), remote.accept('b', age, b(1), null)])).toEqual([{ type: 'accepted' }, { type: 'accepted' }]);
    expect(fake.requests()).toBe(2);
    await Promise.all([remote.accept('a', age, b(2), null), remote.accept('b', age, b(2), null)]);
    expect(fake.requests()).toBe(3);
  });

  it('a frame over the server limit is refused whole; the stream goes on', async () => {
    const h = await streamed(new MemoryAcceptor('a'), { maxBodyBytes: 1000 });
    const remote = new HttpAcceptor(h.url, { secret: SECRET, fetch: nodeFetch() });
    const big = new Uint8Array(500);
    const outcomes = await Promise.allSettled([remote.accept('a', age, b(1), big), remote.accept('b', age, b(1), big)]);
    for (const o of outcomes) expect(o.status === 'rejected' && (o.reason as Error).message).toMatch(/ERR_BODY_TOO_LARGE/);
    expect(await remote.prepare('c', age, b(1))).toMatchObject({ type: 'promised' });
    expect(h.frames).toEqual([1]);
  });

  it('calls in flight when the connection is cut reject with UnavailableError, and are not resent; a timeout too', async () => {
    const inner = new HookedAcceptor('a');
    inner.hook = () => new Promise(() => {});
    const h = await streamed(inner);
    const remote = new HttpAcceptor(h.url, { secret: SECRET, fetch: nodeFetch(), timeoutMs: 2000 });
    const calls = [remote.prepare('a', age, b(1)), remote.accept('b', age, b(1), null)];
    while (inner.calls.length < 2) await new Promise((r) => setImmediate(r));
    await h.server.terminate();
    for (const o of await Promise.allSettled(calls)) expect(o.status === 'rejected' && o.reason).toBeInstanceOf(UnavailableError);
    expect(inner.calls).toEqual(['prepare', 'accept']);
    const h2 = await streamed(inner);
    const slow = new HttpAcceptor(h2.url, { secret: SECRET, fetch: nodeFetch(), timeoutMs: 150 });
    await expect(slow.prepare('c', age, b(1))).rejects.toThrow(/did not answer within 150 ms/);
  });

  it('a wrong secret: the stream is refused, and the call gets the HTTP answer (401)', async () => {
    const h = await streamed(new MemoryAcceptor('a'));
    const remote = new HttpAcceptor(h.url, { secret: 'wrong', fetch: nodeFetch() });
    await expect(remote.prepare('k', age, b(1))).rejects.toThrow(/ERR_UNAUTHORIZED, HTTP 401/);
    expect(h.frames).toEqual([]);
  });
});
