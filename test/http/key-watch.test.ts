/**
 * The node's watch route, `GET /v1/kv/{key}/watch` (server-sent events), over a real node server
 * and three acceptors served over HTTP: the raw stream as curl shows it, resuming from an event id
 * (never an older state), the client's reconnection with its last id, the release of every watcher
 * and timer when a client goes, the bound on streams, and the end of the streams when the server
 * closes.
 */
import { type IncomingMessage, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { HttpAcceptor } from '../../src/http/acceptor-client.js';
import { EventStreamReader, formatEvent } from '../../src/http/event-stream.js';
import { formatWatchId, nextWatchEvent, parseWatchId } from '../../src/http/key-watch.js';
import { type NodeServer, type NodeServerOptions, createNodeServer } from '../../src/http/proposer-server.js';
import { type NodeWatchEvent, watchNodeKey } from '../../src/http/proposer-client.js';
import { KeyValueStore } from '../../src/kv/key-value-store.js';
import { MemoryAcceptor, MemoryProposer, type AcceptedState, type WatchOptions } from '../../src/index.js';
import { cleanupsAfterEach, host } from './support.js';

const cleanups = cleanupsAfterEach();

/** A memory acceptor that counts its open watch streams. */
class CountingAcceptor extends MemoryAcceptor {
  open = 0;

  override watch(key: string, opts: WatchOptions = {}): AsyncIterable<AcceptedState> {
    const inner = super.watch(key, opts);
    return {
      [Symbol.asyncIterator]: () => {
        this.open++;
        const iterator = inner[Symbol.asyncIterator]();
        let ended = false;
        const end = (): void => {
          if (ended) return;
          ended = true;
          this.open--;
        };
        return {
          next: async () => {
            try {
              const result = await iterator.next();
              if (result.done === true) end();
              return result;
            } catch (error) {
              end();
              throw error;
            }
          },
          return: async () => {
            end();
            return (await iterator.return?.()) ?? { done: true, value: undefined };
          },
        };
      },
    };
  }
}

interface Cluster {
  readonly url: string;
  readonly node: NodeServer;
  readonly kv: KeyValueStore<unknown>;
  readonly acceptors: readonly CountingAcceptor[];
  /** Another node server over the same proposer, listening on `port` (a restart of the node). */
  restart(port: number): Promise<NodeServer>;
}

async function cluster(options: NodeServerOptions = {}): Promise<Cluster> {
  const acceptors = ['a1', 'a2', 'a3'].map((address) => new CountingAcceptor(address));
  const hosts = await Promise.all(acceptors.map((a) => host(a)));
  cleanups.push(async () => {
    await Promise.all(hosts.map((h) => h.server.terminate()));
  });
  const remote = hosts.map((h) => new HttpAcceptor(h.url));
  const proposer = new MemoryProposer('p1', remote);
  const kv = new KeyValueStore<unknown>({ proposer });
  const make = (): NodeServer =>
    createNodeServer(
      { proposer, kv, acceptorAt: () => remote[0] as HttpAcceptor, operations: { grow: async () => {}, shrink: async () => {}, collect: async () => {} } },
      options,
    );
  const node = make();
  const { url } = await node.listen(0, '127.0.0.1');
  const servers = [node];
  cleanups.push(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await kv.close();
  });
  return {
    url,
    node,
    kv,
    acceptors,
    restart: async (port) => {
      const again = make();
      servers.push(again);
      await again.listen(port, '127.0.0.1');
      return again;
    },
  };
}

/** A raw streaming GET, as curl makes it: the text so far, and a way to wait for more. */
function openStream(url: string, path: string, headers: Record<string, string> = {}) {
  let text = '';
  let response: IncomingMessage | undefined;
  let ended = false;
  const waiters: Array<() => void> = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  const req = request(new URL(path, url), { headers: { accept: '*/*', ...headers }, agent: false });
  const opened = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', (res) => {
      response = res;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        wake();
      });
      res.on('end', () => {
        ended = true;
        wake();
      });
      res.on('error', () => {});
      resolve(res);
    });
    req.on('error', reject);
  });
  req.end();
  return {
    opened,
    get text() {
      return text;
    },
    get ended() {
      return ended;
    },
    get status() {
      return response?.statusCode;
    },
    /** Resolves once the text so far satisfies `done` (or fails after 5 s). */
    async until(done: (text: string) => boolean, what = 'the stream'): Promise<string> {
      const deadline = Date.now() + 5000;
      while (!done(text)) {
        if (ended) throw new Error(`${what}: the stream ended first; got:\n${text}`);
        if (Date.now() > deadline) throw new Error(`${what}: not seen within 5 s; got:\n${text}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
      return text;
    },
    close: (): void => {
      req.destroy();
    },
  };
}

async function put(url: string, key: string, value: unknown): Promise<string> {
  const response = await fetch(`${url}/v1/kv/${encodeURIComponent(key)}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value }) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { version: string }).version;
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within 5 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('event ids and what is sent', () => {
  it('round-trip, and refuse what is not an id', () => {
    for (const cursor of [{ version: 0n, deleted: true }, { version: 4294967297n, deleted: false }, { version: 2n ** 96n, deleted: true }]) {
      expect(parseWatchId(formatWatchId(cursor))).toEqual(cursor);
    }
    for (const bad of ['', '-1', '01', '1-Deleted', '1 ', 'x', '1-deleted-deleted']) expect(parseWatchId(bad), bad).toBeUndefined();
  });

  it('never sends a state the client already knows or an older one', () => {
    const at = (version: bigint) => ({ value: 'v', version });
    expect(nextWatchEvent('k', at(5n), undefined)?.cursor).toEqual({ version: 5n, deleted: false });
    expect(nextWatchEvent('k', at(5n), { version: 5n, deleted: false })).toBeUndefined();
    expect(nextWatchEvent('k', at(4n), { version: 5n, deleted: false })).toBeUndefined();
    expect(nextWatchEvent('k', at(5n), { version: 5n, deleted: true })).toBeUndefined();
    expect(nextWatchEvent('k', at(6n), { version: 5n, deleted: true })?.cursor).toEqual({ version: 6n, deleted: false });
    // Absent after a value the client saw: deleted since.
    expect(nextWatchEvent('k', undefined, { version: 5n, deleted: false })?.cursor).toEqual({ version: 5n, deleted: true });
    expect(nextWatchEvent('k', undefined, { version: 5n, deleted: true })).toBeUndefined();
    expect(nextWatchEvent('k', undefined, undefined)?.text).toBe(formatEvent({ id: '0-deleted', event: 'deleted', data: '{"key":"k","deleted":true}' }));
  });

  it('the reader follows the standard: CRLF and CR line ends, split chunks, comments, ids kept across events', () => {
    const reader = new EventStreamReader('7');
    const events = [...reader.push('retry: 2500\r\n: heartbeat\r\n\r\nevent: value\rdata: {"a":'), ...reader.push('1}\r'), ...reader.push('\ndata: x\n\nid: 9\nevent: deleted\ndata:y\n\n')];
    expect(events).toEqual([
      { event: 'value', data: '{"a":1}\nx', id: '7' },
      { event: 'deleted', data: 'y', id: '9' },
    ]);
    expect(reader.retryMs).toBe(2500);
    expect(reader.lastEventId).toBe('9');
  });
});

describe('GET /v1/kv/{key}/watch', () => {
  it('streams the current value, each change and the deletion as curl shows them, with heartbeats', async () => {
    const { url } = await cluster({ watchHeartbeatMs: 50 });
    const v1 = await put(url, 'greeting', { text: 'hello' });
    const stream = openStream(url, '/v1/kv/greeting/watch');
    cleanups.push(async () => stream.close());
    const res = await stream.opened;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    await stream.until((t) => t.includes('event: value'));
    expect(stream.text.startsWith('retry: 1000\n: watching "greeting"\n\n')).toBe(true);
    expect(stream.text).toContain(`id: ${v1}\nevent: value\ndata: {"key":"greeting","value":{"text":"hello"},"version":"${v1}"}\n\n`);
    const v2 = await put(url, 'greeting', 'bonjour');
    await stream.until((t) => t.includes(`id: ${v2}\n`));
    expect(stream.text).toContain(`id: ${v2}\nevent: value\ndata: {"key":"greeting","value":"bonjour","version":"${v2}"}\n\n`);
    expect((await fetch(`${url}/v1/kv/greeting`, { method: 'DELETE' })).status).toBe(200);
    await stream.until((t) => t.includes('event: deleted'));
    expect(stream.text).toContain(`id: ${v2}-deleted\nevent: deleted\ndata: {"key":"greeting","deleted":true}\n\n`);
    await stream.until((t) => t.includes(': heartbeat\n\n'), 'a heartbeat');
    // Every event parses back with the standard's rules, in order, versions increasing.
    const events = new EventStreamReader().push(stream.text);
    expect(events.map((e) => [e.event, e.id])).toEqual([
      ['value', v1],
      ['value', v2],
      ['deleted', `${v2}-deleted`],
    ]);
    expect(BigInt(v2)).toBeGreaterThan(BigInt(v1));
  });

  it('resumes from Last-Event-ID or ?since=: the current value at once only when newer, never an older one', async () => {
    const { url } = await cluster();
    const v1 = await put(url, 'k', 1);
    const v2 = await put(url, 'k', 2);
    // Saw v1: gets v2 at once.
    const behind = openStream(url, '/v1/kv/k/watch', { 'last-event-id': v1 });
    cleanups.push(async () => behind.close());
    await behind.until((t) => t.includes('event: value'));
    expect(new EventStreamReader().push(behind.text).map((e) => e.id)).toEqual([v2]);
    // Saw v2 already (header), and a stale ?since= that the header overrides: nothing until v3.
    const current = openStream(url, `/v1/kv/k/watch?since=${v1}`, { 'last-event-id': v2 });
    cleanups.push(async () => current.close());
    // From a "future" version (another cluster, a client confused): never sent anything older.
    const ahead = openStream(url, `/v1/kv/k/watch?since=${BigInt(v2) + 1000n}`);
    cleanups.push(async () => ahead.close());
    await current.until((t) => t.includes(': watching'));
    await ahead.until((t) => t.includes(': watching'));
    const v3 = await put(url, 'k', 3);
    await current.until((t) => t.includes(`id: ${v3}`));
    expect(new EventStreamReader().push(current.text).map((e) => e.id)).toEqual([v3]);
    // The behind stream saw v3 too; the one ahead saw nothing (v3 is below what it claims to know).
    await behind.until((t) => t.includes(`id: ${v3}`));
    expect(new EventStreamReader().push(ahead.text)).toEqual([]);
    // Saw it deleted after v3 while it is absent: nothing; deleted after v2 while it holds v3: v3.
    expect((await fetch(`${url}/v1/kv/k`, { method: 'DELETE' })).status).toBe(200);
    const gone = openStream(url, `/v1/kv/k/watch?since=${v3}-deleted`);
    cleanups.push(async () => gone.close());
    await gone.until((t) => t.includes(': watching'));
    const v4 = await put(url, 'k', 4);
    await gone.until((t) => t.includes(`id: ${v4}`));
    expect(new EventStreamReader().push(gone.text).map((e) => e.id)).toEqual([v4]);
    // Malformed ids are refused before anything streams.
    const bad = await fetch(`${url}/v1/kv/k/watch?since=yesterday`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });

  it('refuses other methods and media types', async () => {
    const { url } = await cluster();
    expect((await fetch(`${url}/v1/kv/k/watch`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${url}/v1/kv/k/watch`, { headers: { accept: 'application/json' } })).status).toBe(406);
  });

  it('releases every watcher and timer when clients disconnect', async () => {
    const { url, node, acceptors } = await cluster({ watchHeartbeatMs: 1000 });
    await put(url, 'k', 'x');
    const before = timers();
    const streams = Array.from({ length: 5 }, (_, i) => openStream(url, `/v1/kv/${i % 2 === 0 ? 'k' : 'other'}/watch`));
    for (const s of streams) await s.until((t) => t.includes('event: '));
    expect(node.activeWatches()).toBe(5);
    // Each stream watches every accepter: 5 streams, 3 acceptors.
    await eventually(() => acceptors.every((a) => a.open === 5), 'every accepter watched by every stream');
    expect(timers()).toBeGreaterThan(before);
    for (const s of streams) s.close();
    await eventually(() => node.activeWatches() === 0, 'the node releases its streams');
    await eventually(() => acceptors.every((a) => a.open === 0), 'the acceptors release their watchers');
    await eventually(() => timers() <= before, 'the heartbeat timers are cleared');
  });

  it('bounds the streams: 503 ERR_TOO_MANY_WATCHES with Retry-After past maxWatches', async () => {
    const { url, node } = await cluster({ maxWatches: 2 });
    const first = openStream(url, '/v1/kv/a/watch');
    const second = openStream(url, '/v1/kv/b/watch');
    cleanups.push(async () => {
      first.close();
      second.close();
    });
    await first.until((t) => t.includes(': watching'));
    await second.until((t) => t.includes(': watching'));
    const refused = await fetch(`${url}/v1/kv/c/watch`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toMatchObject({ code: 'ERR_TOO_MANY_WATCHES', retryable: true });
    first.close();
    await eventually(() => node.activeWatches() === 1, 'one stream left');
    const third = openStream(url, '/v1/kv/c/watch');
    cleanups.push(async () => third.close());
    await third.until((t) => t.includes(': watching'));
    expect(third.status).toBe(200);
  });

  it('ends every stream when the server closes, at once (not after the shutdown grace)', async () => {
    const { url, node, acceptors } = await cluster();
    const stream = openStream(url, '/v1/kv/k/watch');
    await stream.until((t) => t.includes('event: '));
    const started = Date.now();
    await node.close();
    expect(Date.now() - started).toBeLessThan(3000);
    await eventually(() => stream.ended, 'the stream ends');
    await eventually(() => acceptors.every((a) => a.open === 0), 'the acceptors release their watchers');
  });
});

describe('watchNodeKey', () => {
  it('yields the current value and each change, reconnects with its last id after the node restarts, and never repeats or goes back', async () => {
    const { url, node, kv, restart } = await cluster();
    const v1 = await put(url, 'k', 'one');
    const controller = new AbortController();
    const seen: NodeWatchEvent[] = [];
    let requests = 0;
    const lastIds: Array<string | null> = [];
    const counting: typeof fetch = (input, init) => {
      requests++;
      lastIds.push(new Headers(init?.headers).get('last-event-id'));
      return fetch(input, init);
    };
    const done = (async () => {
      for await (const event of watchNodeKey(url, 'k', { signal: controller.signal, fetch: counting, reconnectDelayMs: 50 })) seen.push(event);
    })();
    await eventually(() => seen.length === 1, 'the first value');
    expect(seen[0]).toEqual({ type: 'value', key: 'k', value: 'one', version: BigInt(v1), id: v1 });
    // The node goes away; a write lands meanwhile (through the same proposer); the node comes back.
    await node.close();
    await kv.set('k', 'two');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const again = await restart(Number(new URL(url).port));
    await eventually(() => seen.length >= 2, 'the value written while disconnected');
    expect(seen[1]).toMatchObject({ type: 'value', value: 'two' });
    expect(requests).toBeGreaterThanOrEqual(2);
    expect(lastIds[0]).toBeNull();
    expect(lastIds.at(-1)).toBe(v1);
    const v3 = await put(url, 'k', 'three');
    await eventually(() => seen.some((e) => e.id === v3), 'a later change');
    expect((await fetch(`${url}/v1/kv/k`, { method: 'DELETE' })).status).toBe(200);
    await eventually(() => seen.at(-1)?.type === 'deleted', 'the deletion');
    const versions = seen.filter((e) => e.type === 'value').map((e) => (e as { version: bigint }).version);
    expect(versions).toEqual([...versions].sort((a, b) => (a < b ? -1 : 1)));
    expect(new Set(versions).size).toBe(versions.length);
    controller.abort();
    await done;
    void again;
  });

  it('retries a 503 (the node serves its most streams) until a slot frees, then streams', async () => {
    const { url, node } = await cluster({ maxWatches: 1 });
    await put(url, 'k', 'v');
    const holder = openStream(url, '/v1/kv/other/watch');
    await holder.until((t) => t.includes(': watching'));
    let requests = 0;
    const counting: typeof fetch = (input, init) => {
      requests++;
      return fetch(input, init);
    };
    const controller = new AbortController();
    const events: NodeWatchEvent[] = [];
    const done = (async () => {
      for await (const event of watchNodeKey(url, 'k', { signal: controller.signal, fetch: counting, reconnectDelayMs: 20, maxReconnectDelayMs: 40 })) events.push(event);
    })();
    await eventually(() => requests >= 3, 'a few refused attempts');
    expect(events).toEqual([]);
    holder.close();
    await eventually(() => events.length === 1, 'the stream once a slot is free');
    expect(events[0]).toMatchObject({ type: 'value', value: 'v' });
    controller.abort();
    await done;
    await eventually(() => node.activeWatches() === 0, 'the stream released after abort');
  });

  it('rejects with the node error when retrying cannot help (a wrong secret)', async () => {
    const { url } = await cluster({ secret: 's3cret' });
    const iterate = async () => {
      for await (const _ of watchNodeKey(url, 'k', { secret: 'wrong' })) break;
    };
    await expect(iterate()).rejects.toThrow(/bearer token/);
    // Negative control: the right secret streams.
    for await (const event of watchNodeKey(url, 'k', { secret: 's3cret' })) {
      expect(event.type).toBe('deleted');
      break;
    }
  });
});
