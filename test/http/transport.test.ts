/**
 * `HttpAcceptor` against `createAcceptorServer` on loopback: every method, paging, watch streams,
 * auth, limits, timeouts, aborts, graceful shutdown, keep-alive, resends and error mapping.
 */
import fc from 'fast-check';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { HttpAcceptor } from '../../src/http/acceptor-client.js';
import { PATHS } from '../../src/http/wire.js';
import { type AcceptedState, type Age, CASPaxosError, InvalidArgumentError, MemoryAcceptor, NotTombstoneError, UnavailableError } from '../../src/index.js';
import { HookedAcceptor } from './hooked-acceptor.js';
import { age, b, bytes, cleanupsAfterEach, closedPort, fakeServer, gate, host, post, raw } from './support.js';

const SECRET = 's3cret';
const cleanups = cleanupsAfterEach();

async function hosted(acceptor: import('../../src/index.js').Acceptor, options: Parameters<typeof host>[1] = {}) {
  const h = await host(acceptor, { secret: SECRET, ...options });
  cleanups.push(() => h.server.terminate());
  return h;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iterable) out.push(x);
  return out;
}

describe('every method over HTTP', () => {
  it('answers exactly as the acceptor it hosts (differential, random operation sequences)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('prepare' as const), key: fc.constantFrom('a', 'b', 'ключ'), counter: fc.integer({ min: 0, max: 6 }), id: fc.constantFrom('p', 'q'), age: fc.nat(2) }),
            fc.record({ op: fc.constant('accept' as const), key: fc.constantFrom('a', 'b', 'ключ'), counter: fc.integer({ min: 1, max: 6 }), id: fc.constantFrom('p', 'q'), age: fc.nat(2), state: fc.option(fc.uint8Array({ maxLength: 6 }), { nil: null }), withNext: fc.boolean() }),
            fc.record({ op: fc.constant('rejectByAge' as const), id: fc.constantFrom('p', 'q'), age: fc.nat(2) }),
            fc.record({ op: fc.constant('remove' as const), key: fc.constantFrom('a', 'b', 'ключ'), counter: fc.integer({ min: 1, max: 6 }), id: fc.constantFrom('p', 'q') }),
          ),
          { maxLength: 25 },
        ),
        async (ops) => {
          const direct = new MemoryAcceptor('direct');
          const h = await host(new MemoryAcceptor('remote'), { secret: SECRET });
          const remote = new HttpAcceptor(h.url, { secret: SECRET });
          try {
            for (const o of ops) {
              const run = async (a: import('../../src/index.js').Acceptor): Promise<unknown> => {
                try {
                  switch (o.op) {
                    case 'prepare':
                      return await a.prepare(o.key, { counter: o.age, id: o.id }, o.counter === 0 ? b(0, '') : b(o.counter, o.id));
                    case 'accept':
                      return await a.accept(o.key, { counter: o.age, id: o.id }, b(o.counter, o.id), o.state, o.withNext ? { next: b(o.counter + 1, o.id), ancestry: [b(1, 'z')] } : {});
                    case 'rejectByAge':
                      return await a.rejectByAge([{ counter: o.age, id: o.id }]);
                    case 'remove':
                      return await a.removeIfEqual(o.key, { ballot: b(o.counter, o.id), state: null });
                  }
                } catch (error) {
                  return { error: (error as CASPaxosError).code };
                }
              };
              expect(await run(remote)).toEqual(await run(direct));
            }
            expect((await collect(remote.listKeys())).sort()).toEqual((await collect(direct.listKeys())).sort());
          } finally {
            await h.server.close();
          }
        },
      ),
      { numRuns: 15 },
    );
  });

  it('carries arbitrary bytes exactly, and an empty state as null', async () => {
    const inner = new MemoryAcceptor('a');
    const { url } = await hosted(inner);
    const remote = new HttpAcceptor(url, { secret: SECRET });
    const state = new Uint8Array(70_000).map((_, i) => (i * 7919) & 0xff);
    await remote.prepare('k', age, b(1));
    expect(await remote.accept('k', age, b(1), state)).toEqual({ type: 'accepted' });
    expect(inner.inspect('k')?.state).toEqual(state);
    expect(await remote.prepare('k', age, b(2))).toEqual({ type: 'promised', accepted: b(1), state, ancestry: undefined });
    await remote.accept('k', age, b(3), bytes());
    expect((await remote.prepare('k', age, b(4))).type === 'promised' && inner.inspect('k')?.state).toEqual(bytes());
    await remote.accept('k', age, b(5), null);
    expect(inner.inspect('k')?.state).toBeNull();
  });

  it('passes one-round-trip `next` and ancestry through', async () => {
    const inner = new MemoryAcceptor('a');
    const { url } = await hosted(inner);
    const remote = new HttpAcceptor(url, { secret: SECRET });
    expect(await remote.accept('k', age, b(1), bytes(1), { next: b(2), ancestry: [b(7, 'q')] })).toEqual({ type: 'accepted', promised: b(2) });
    expect(inner.inspect('k')?.promise).toEqual(b(2));
    expect(await remote.prepare('k', age, b(3))).toEqual({ type: 'promised', accepted: b(1), state: bytes(1), ancestry: [b(7, 'q')] });
  });

  it('reports stale ages and garbage collection outcomes', async () => {
    const inner = new MemoryAcceptor('a');
    const { url } = await hosted(inner);
    const remote = new HttpAcceptor(url, { secret: SECRET });
    await remote.rejectByAge([{ counter: 2, id: 'p' }]);
    expect(inner.minimumAge('p')).toBe(2);
    expect(await remote.prepare('k', age, b(1))).toEqual({ type: 'age', required: { counter: 2, id: 'p' } });
    const older: Age = { counter: 2, id: 'p' };
    await remote.accept('k', older, b(3), null);
    expect(await remote.removeIfEqual('k', { ballot: b(2), state: null })).toEqual({ type: 'not-equal', accepted: b(3) });
    expect(await remote.removeIfEqual('k', { ballot: b(3), state: null })).toEqual({ type: 'removed' });
    expect(await remote.removeIfEqual('k', { ballot: b(3), state: null })).toEqual({ type: 'absent' });
    expect(inner.tombstoneFloor).toEqual(b(3));
  });
});

describe('listKeys', () => {
  it('pages through every key', async () => {
    const inner = new MemoryAcceptor('a');
    for (let i = 0; i < 100; i++) await inner.accept(`k${i}`, age, b(1), null);
    const { url } = await hosted(inner);
    const remote = new HttpAcceptor(url, { secret: SECRET, listPageSize: 7 });
    const keys = await collect(remote.listKeys());
    expect(keys.sort()).toEqual(Array.from({ length: 100 }, (_, i) => `k${i}`).sort());
    expect(await collect(new HttpAcceptor(url, { secret: SECRET, listPageSize: 100 }).listKeys())).toHaveLength(100);
    expect(await collect(new HttpAcceptor(url, { secret: SECRET }).listKeys())).toHaveLength(100);
  });

  it('serves a repeated page again (a resent page request skips no keys)', async () => {
    const inner = new MemoryAcceptor('a');
    for (let i = 0; i < 5; i++) await inner.accept(`k${i}`, age, b(1), null);
    const { url } = await hosted(inner);
    const first = JSON.parse((await post(url, PATHS.listKeys, { page: 0, limit: 2 }, SECRET)).body) as { keys: string[]; cursor: string };
    const second = await post(url, PATHS.listKeys, { cursor: first.cursor, page: 1, limit: 2 }, SECRET);
    const again = await post(url, PATHS.listKeys, { cursor: first.cursor, page: 1, limit: 2 }, SECRET);
    expect(again.body).toBe(second.body);
    const third = JSON.parse((await post(url, PATHS.listKeys, { cursor: first.cursor, page: 2, limit: 2 }, SECRET)).body) as { keys: string[]; cursor: string | null };
    expect(third.cursor).toBeNull();
    // The last page, too, can be asked for again.
    expect(JSON.parse((await post(url, PATHS.listKeys, { cursor: first.cursor, page: 2, limit: 2 }, SECRET)).body)).toEqual(third);
    const all = [...first.keys, ...(JSON.parse(second.body) as { keys: string[] }).keys, ...third.keys];
    expect(all.sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    // Skipping a page is refused.
    const skip = await post(url, PATHS.listKeys, { cursor: first.cursor, page: 4, limit: 2 }, SECRET);
    expect(skip.status).toBe(400);
    expect((await post(url, PATHS.listKeys, { cursor: 'nope', page: 1, limit: 2 }, SECRET)).status).toBe(410);
  });

  it('closes the server-side listing when the consumer stops early', async () => {
    const inner = new MemoryAcceptor('a');
    for (let i = 0; i < 10; i++) await inner.accept(`k${i}`, age, b(1), null);
    const { url } = await hosted(inner, { maxListCursors: 1 });
    const pending: Array<Promise<Response>> = [];
    const remote = new HttpAcceptor(url, {
      secret: SECRET,
      listPageSize: 2,
      fetch: (input, init) => {
        const p = fetch(input, init);
        pending.push(p);
        return p;
      },
    });
    for await (const key of remote.listKeys()) {
      expect(key).toMatch(/^k/);
      break;
    }
    await Promise.allSettled(pending);
    // Only one listing may be open: the first was closed, so a second one runs to the end.
    expect(await collect(remote.listKeys())).toHaveLength(10);
    // Negative control: a listing left open blocks the next one (429 -> UnavailableError).
    expect((await post(url, PATHS.listKeys, { page: 0, limit: 1 }, SECRET)).status).toBe(200);
    await expect(collect(remote.listKeys())).rejects.toBeInstanceOf(UnavailableError);
  });

  it('rejects with signal.reason when aborted', async () => {
    const inner = new MemoryAcceptor('a');
    for (let i = 0; i < 10; i++) await inner.accept(`k${i}`, age, b(1), null);
    const { url } = await hosted(inner);
    const controller = new AbortController();
    const reason = new Error('stop');
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const key of new HttpAcceptor(url, { secret: SECRET, listPageSize: 3 }).listKeys({ signal: controller.signal })) {
          seen.push(key);
          if (seen.length === 2) controller.abort(reason);
        }
      })(),
    ).rejects.toBe(reason);
    expect(seen).toHaveLength(2);
  });
});

describe('watch', () => {
  it('streams the current state, then each change, and ends on abort', async () => {
    const inner = new MemoryAcceptor('a');
    const { url } = await hosted(inner);
    const remote = new HttpAcceptor(url, { secret: SECRET });
    const controller = new AbortController();
    const seen: AcceptedState[] = [];
    const done = (async () => {
      for await (const s of remote.watch('k', { signal: controller.signal })) {
        seen.push(s);
        if (seen.length === 1) await inner.accept('k', age, b(1), bytes(1));
        if (seen.length === 2) await inner.accept('k', age, b(2), null);
        if (seen.length === 3) controller.abort();
      }
    })();
    await done;
    expect(seen).toEqual([
      { ballot: b(0, ''), state: null },
      { ballot: b(1), state: bytes(1) },
      { ballot: b(2), state: null },
    ]);
  });

  it('ends cleanly when the server closes gracefully, and throws UnavailableError when it is cut', async () => {
    const h = await hosted(new MemoryAcceptor('a'));
    const remote = new HttpAcceptor(h.url, { secret: SECRET });
    const it1 = remote.watch('k')[Symbol.asyncIterator]();
    expect((await it1.next()).value).toEqual({ ballot: b(0, ''), state: null });
    const closed = h.server.close();
    expect(await it1.next()).toEqual({ done: true, value: undefined });
    await closed;

    const h2 = await hosted(new MemoryAcceptor('b'));
    const it2 = new HttpAcceptor(h2.url, { secret: SECRET }).watch('k')[Symbol.asyncIterator]();
    await it2.next();
    await h2.server.terminate();
    await expect(it2.next()).rejects.toBeInstanceOf(UnavailableError);
  });

  it('stops the server-side watch when the consumer breaks off', async () => {
    const inner = new HookedAcceptor('a');
    const { url } = await hosted(inner);
    for await (const s of new HttpAcceptor(url, { secret: SECRET }).watch('k')) {
      expect(s.state).toBeNull();
      break;
    }
    // The server notices the closed connection and detaches the acceptor's watcher; writes go on.
    await inner.inner.accept('k', age, b(1), bytes(1));
    expect(inner.calls).toEqual(['watch']);
  });

  it('refuses a bad watch with an ordinary error reply', async () => {
    const { url } = await hosted(new MemoryAcceptor('a'), { maxKeyBytes: 4 });
    const remote = new HttpAcceptor(url, { secret: SECRET });
    await expect(collect(remote.watch('toolong'))).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(() => remote.watch('k', { bufferSize: 0 })).toThrow(InvalidArgumentError);
  });
});

describe('auth', () => {
  it('requires the bearer token on every endpoint but health', async () => {
    const inner = new HookedAcceptor('a');
    const { url } = await hosted(inner);
    for (const secret of [undefined, 'wrong', 's3cre', 's3cret!', '']) {
      const remote = new HttpAcceptor(url, secret === undefined || secret === '' ? {} : { secret });
      await expect(remote.prepare('k', age, b(1))).rejects.toThrow(/ERR_UNAUTHORIZED, HTTP 401/);
    }
    const reply = await post(url, PATHS.prepare, { key: 'k', age, ballot: b(1) }, 'wrong');
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toBe('Bearer');
    expect(JSON.parse(reply.body)).toEqual({ code: 'ERR_UNAUTHORIZED', message: 'missing or wrong bearer token', retryable: false });
    for (const header of ['Basic czNjcmV0', 's3cret', 'Bearer', 'Bearer s3cret extra']) {
      expect((await raw(url, { path: PATHS.prepare, headers: { 'content-type': 'application/json', authorization: header }, body: '{}' })).status, header).toBe(401);
    }
    expect(inner.calls).toEqual([]);
    // The right token, scheme in any case, gets through.
    expect((await raw(url, { path: PATHS.prepare, headers: { 'content-type': 'application/json', authorization: 'bEaReR s3cret' }, body: JSON.stringify({ key: 'k', age, ballot: b(1) }) })).status).toBe(200);
    expect(await new HttpAcceptor(url, { secret: SECRET }).prepare('k', age, b(2))).toMatchObject({ type: 'promised' });
    const health = await raw(url, { method: 'GET', path: PATHS.health });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'ok', protocol: 'caspaxos-http/1' });
  });
});

describe('limits and malformed requests', () => {
  it('answers 4xx with { code, message, retryable } and changes nothing', async () => {
    const inner = new HookedAcceptor('a');
    const { url } = await hosted(inner, { maxBodyBytes: 2000, maxKeyBytes: 8 });
    const json = { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` };
    const cases: Array<[number, string, Parameters<typeof raw>[1]]> = [
      [413, 'ERR_BODY_TOO_LARGE', { path: PATHS.accept, headers: json, body: JSON.stringify({ key: 'k', age, ballot: b(1), state: 'A'.repeat(4000) }) }],
      [400, 'ERR_INVALID_ARGUMENT', { path: PATHS.prepare, headers: json, body: JSON.stringify({ key: 'ninebytes', age, ballot: b(1) }) }],
      [400, 'ERR_INVALID_ARGUMENT', { path: PATHS.prepare, headers: json, body: JSON.stringify({ key: 'ключи', age, ballot: b(1) }) }],
      [400, 'ERR_INVALID_ARGUMENT', { path: PATHS.prepare, headers: json, body: '{"key":' }],
      [400, 'ERR_INVALID_ARGUMENT', { path: PATHS.prepare, headers: json, body: Buffer.from([0x7b, 0xff, 0x7d]) }],
      [400, 'ERR_INVALID_ARGUMENT', { path: PATHS.prepare, headers: json, body: JSON.stringify({ key: 'k', age, ballot: { counter: 1 } }) }],
      [400, 'ERR_INVALID_ARGUMENT', { path: PATHS.accept, headers: json, body: JSON.stringify({ key: 'k', age, ballot: b(2), state: null, next: b(1) }) }],
      [400, 'ERR_NOT_TOMBSTONE', { path: PATHS.removeIfEqual, headers: json, body: JSON.stringify({ key: 'k', tombstone: { ballot: b(1), state: 'AA==' } }) }],
      [404, 'ERR_NO_ROUTE', { path: '/v2/prepare', headers: json, body: '{}' }],
      [404, 'ERR_NO_ROUTE', { path: `${PATHS.prepare}?x=1`, headers: json, body: '{}' }],
      [405, 'ERR_METHOD_NOT_ALLOWED', { method: 'GET', path: PATHS.prepare, headers: json }],
      [405, 'ERR_METHOD_NOT_ALLOWED', { method: 'POST', path: PATHS.health, headers: json }],
      [415, 'ERR_UNSUPPORTED_MEDIA_TYPE', { path: PATHS.prepare, headers: { ...json, 'content-type': 'text/plain' }, body: '{}' }],
    ];
    for (const [status, code, init] of cases) {
      const reply = await raw(url, init);
      expect([reply.status, JSON.parse(reply.body).code], `${init.path} ${String(init.body).slice(0, 40)}`).toEqual([status, code]);
      expect(typeof JSON.parse(reply.body).message).toBe('string');
    }
    // Two requests decoded completely and were refused by the acceptor itself; nothing was stored.
    expect(inner.calls).toEqual(['accept', 'removeIfEqual']);
    expect(inner.inner.size).toBe(0);
  });

  it('cuts off a body over the limit without reading it all (chunked, no Content-Length)', async () => {
    const { url } = await hosted(new MemoryAcceptor('a'), { maxBodyBytes: 1000 });
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(10_000).fill(0x20));
      },
    });
    const reply = await fetch(url + PATHS.prepare, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` }, body, duplex: 'half' } as RequestInit);
    expect(reply.status).toBe(413);
    expect(reply.headers.get('connection')).toBe('close');
  });

  it('the client maps refusals to InvalidArgumentError and checks its own arguments first', async () => {
    const { url } = await hosted(new MemoryAcceptor('a'), { maxKeyBytes: 4, maxBodyBytes: 1000 });
    const remote = new HttpAcceptor(url, { secret: SECRET });
    await expect(remote.prepare('toolong', age, b(1))).rejects.toThrow(InvalidArgumentError);
    await expect(remote.accept('k', age, b(1), new Uint8Array(2000))).rejects.toThrow(/ERR_BODY_TOO_LARGE, HTTP 413/);
    // Checked locally, with the acceptors' own errors: nothing is sent.
    await expect(remote.prepare(5 as never, age, b(1))).rejects.toThrow(InvalidArgumentError);
    await expect(remote.removeIfEqual('k', { ballot: b(1), state: bytes(1) })).rejects.toBeInstanceOf(NotTombstoneError);
    expect(() => new HttpAcceptor('ftp://x')).toThrow(InvalidArgumentError);
    expect(() => new HttpAcceptor('http://x/?q=1')).toThrow(InvalidArgumentError);
    expect(new HttpAcceptor('http://127.0.0.1:80/base/').address).toBe('http://127.0.0.1/base');
  });
});

describe('errors from the hosted acceptor', () => {
  it('keep their code (4xx); unexpected ones become 500 without a stack trace', async () => {
    const inner = new HookedAcceptor('a');
    const errors: unknown[] = [];
    const logger = { debug: () => {}, info: () => {}, warn: () => {}, error: (o: Record<string, unknown>) => errors.push(o.err) };
    const { url } = await hosted(inner, { logger });
    const remote = new HttpAcceptor(url, { secret: SECRET });
    inner.hook = () => {
      throw new InvalidArgumentError('no such thing');
    };
    await expect(remote.prepare('k', age, b(1))).rejects.toThrow(InvalidArgumentError);
    inner.hook = () => {
      throw new UnavailableError('store down');
    };
    const unavailable = await remote.prepare('k', age, b(1)).catch((e: unknown) => e);
    expect(unavailable).toBeInstanceOf(UnavailableError);
    expect((unavailable as Error).message).toMatch(/store down/);
    const secret = new Error('disk /secret/path exploded');
    inner.hook = () => {
      throw secret;
    };
    const reply = await post(url, PATHS.prepare, { key: 'k', age, ballot: b(1) }, SECRET);
    expect(reply.status).toBe(500);
    expect(JSON.parse(reply.body)).toEqual({ code: 'ERR_INTERNAL', message: 'internal error', retryable: true });
    expect(reply.body).not.toMatch(/secret|exploded|at /);
    expect(errors).toContain(secret);
    const failure = await remote.prepare('k', age, b(1)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UnavailableError);
  });

  it('never resolves with a made-up reply: a malformed reply is UnavailableError', async () => {
    const bodies = ['{"type":"promised"}', 'not json', '{"type":"accepted","extra":1}', '[]'];
    const fake = await fakeServer((_req, res, n) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(bodies[n % bodies.length]);
    });
    cleanups.push(fake.close);
    const remote = new HttpAcceptor(fake.url);
    for (let i = 0; i < bodies.length; i++) {
      const error = await remote.prepare('k', age, b(1)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as Error).cause).toBeDefined();
    }
    // Negative control: a well-formed reply resolves.
    const good = await fakeServer((_req, res) => res.end('{"type":"accepted"}'));
    cleanups.push(good.close);
    expect(await new HttpAcceptor(good.url).accept('k', age, b(1), null)).toEqual({ type: 'accepted' });
  });

  it('maps an unknown error body by status: 5xx UnavailableError, 4xx InvalidArgumentError', async () => {
    const fake = await fakeServer((req, res) => {
      res.writeHead(req.url === PATHS.prepare ? 502 : 418);
      res.end('<html>');
    });
    cleanups.push(fake.close);
    const remote = new HttpAcceptor(fake.url, { retries: 0 });
    await expect(remote.prepare('k', age, b(1))).rejects.toBeInstanceOf(UnavailableError);
    await expect(remote.accept('k', age, b(1), null)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('timeouts and aborts', () => {
  it('a server that never answers: UnavailableError after timeoutMs, not sent again', async () => {
    const fake = await fakeServer(() => {});
    cleanups.push(fake.close);
    const remote = new HttpAcceptor(fake.url, { timeoutMs: 150, retries: 3 });
    const error = await remote.prepare('k', age, b(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/did not answer within 150 ms/);
    expect((error as CASPaxosError).retryable).toBe(true);
    expect(fake.requests()).toBe(1);
    await expect(collect(remote.watch('k'))).rejects.toThrow(/did not answer within 150 ms/);
  });

  it('a client that sends its request too slowly gets 408 and is disconnected', async () => {
    const { url } = await hosted(new MemoryAcceptor('a'), { headersTimeoutMs: 150, requestTimeoutMs: 150 });
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(Number(new URL(url).port), '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', () => {});
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
      // Headers that never end.
      socket.write(`POST ${PATHS.prepare} HTTP/1.1\r\nHost: x\r\n`);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(reply).toMatch(/"code":"ERR_TIMEOUT"/);
  });

  it('an acceptor that hangs: the server answers 503 ERR_TIMEOUT after callTimeoutMs', async () => {
    const inner = new HookedAcceptor('a');
    inner.hook = () => new Promise(() => {});
    const { url } = await hosted(inner, { callTimeoutMs: 100 });
    const error = await new HttpAcceptor(url, { secret: SECRET }).prepare('k', age, b(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/ERR_TIMEOUT/);
  });

  it('the caller’s abort rejects with signal.reason, before or during the call, and reaches the acceptor', async () => {
    const inner = new HookedAcceptor('a');
    const aborted = gate();
    inner.hook = (_m, signal) =>
      new Promise<void>((_resolve, reject) => {
        signal?.addEventListener('abort', () => {
          aborted.open();
          reject(signal.reason);
        });
      });
    const { url } = await hosted(inner);
    const remote = new HttpAcceptor(url, { secret: SECRET });
    const reason = new Error('caller gave up');
    await expect(remote.prepare('k', age, b(1), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    const controller = new AbortController();
    const call = remote.accept('k', age, b(1), null, { signal: controller.signal });
    while (inner.calls.length === 0) await new Promise((r) => setImmediate(r));
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    // The server saw the connection close and aborted the acceptor call.
    await aborted.promise;
  });
});

describe('graceful shutdown', () => {
  it('lets a request in flight finish, refuses new ones, then closes', async () => {
    const inner = new HookedAcceptor('a');
    const held = gate();
    inner.hook = (method) => (method === 'accept' ? held.promise : undefined);
    const h = await hosted(inner);
    const remote = new HttpAcceptor(h.url, { secret: SECRET, retries: 0 });
    await remote.prepare('k', age, b(1));
    const inFlight = remote.accept('k', age, b(1), bytes(9));
    while (!inner.calls.includes('accept')) await new Promise((r) => setImmediate(r));
    let closed = false;
    const closing = h.server.close().then(() => (closed = true));
    // New connections are refused (the listener is closed): the client reports it unreachable.
    await expect(new HttpAcceptor(h.url, { secret: SECRET }).prepare('k2', age, b(1))).rejects.toBeInstanceOf(UnavailableError);
    expect(closed).toBe(false);
    held.open();
    expect(await inFlight).toEqual({ type: 'accepted' });
    await closing;
    expect(inner.inner.inspect('k')?.state).toEqual(bytes(9));
  });

  it('cuts requests still in flight after shutdownTimeoutMs', async () => {
    const inner = new HookedAcceptor('a');
    inner.hook = () => new Promise(() => {});
    const h = await hosted(inner, { shutdownTimeoutMs: 100 });
    const call = new HttpAcceptor(h.url, { secret: SECRET }).prepare('k', age, b(1));
    while (inner.calls.length === 0) await new Promise((r) => setImmediate(r));
    await h.server.close();
    await expect(call).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe('logging', () => {
  it('writes one debug record per request to the injected logger, and nothing without one', async () => {
    const records: Array<Record<string, unknown>> = [];
    const logger = { debug: (o: Record<string, unknown>) => records.push(o), info: () => {}, warn: () => {}, error: () => {} };
    const { url } = await hosted(new MemoryAcceptor('a'), { logger });
    await new HttpAcceptor(url, { secret: SECRET }).prepare('k', age, b(1));
    await raw(url, { method: 'GET', path: '/nowhere' });
    expect(records).toEqual([
      { acceptor: 'a', method: 'POST', path: PATHS.prepare, status: 200 },
      { acceptor: 'a', method: 'GET', path: '/nowhere', status: 404 },
    ]);
  });
});

describe('connections', () => {
  it('reuses keep-alive connections: 50 sequential calls, at most 2 connections', async () => {
    const h = await hosted(new MemoryAcceptor('a'));
    const remote = new HttpAcceptor(h.url, { secret: SECRET });
    for (let i = 1; i <= 50; i++) await remote.prepare('k', age, b(i));
    // undici may open a second connection when the next request starts before it has put the
    // first one back in its pool; never one per call.
    expect(h.connections()).toBeGreaterThanOrEqual(1);
    expect(h.connections()).toBeLessThanOrEqual(2);
    // Negative control: without keep-alive (`Connection: close` from a plain server), one per call.
    const fake = await fakeServer((_req, res) => {
      res.setHeader('Connection', 'close');
      res.end('{"type":"accepted"}');
    });
    cleanups.push(fake.close);
    let connections = 0;
    fake.server.on('connection', () => connections++);
    const plain = new HttpAcceptor(fake.url);
    for (let i = 1; i <= 5; i++) await plain.accept('k', age, b(i), null);
    expect(connections).toBe(5);
  });
});

describe('resending (see the module comment of acceptor-client.ts)', () => {
  /** A server that destroys the connection of its first request without answering, then answers. */
  async function flaky(reply: string) {
    const fake = await fakeServer((req, res, n) => {
      req.resume();
      req.on('end', () => {
        if (n === 0) res.socket?.destroy();
        else res.end(reply);
      });
    });
    cleanups.push(fake.close);
    return fake;
  }

  it('resends idempotent calls whose reply was lost: rejectByAge, removeIfEqual', async () => {
    const a = await flaky('{}');
    await new HttpAcceptor(a.url).rejectByAge([{ counter: 1, id: 'p' }]);
    expect(a.requests()).toBe(2);
    const r = await flaky('{"type":"absent"}');
    expect(await new HttpAcceptor(r.url).removeIfEqual('k', { ballot: b(1), state: null })).toEqual({ type: 'absent' });
    expect(r.requests()).toBe(2);
  });

  it('does not resend prepare or accept once they may have been delivered', async () => {
    const p = await flaky('{"type":"promised","accepted":{"counter":0,"id":""},"state":null}');
    await expect(new HttpAcceptor(p.url).prepare('k', age, b(1))).rejects.toBeInstanceOf(UnavailableError);
    expect(p.requests()).toBe(1);
    const a = await flaky('{"type":"accepted"}');
    await expect(new HttpAcceptor(a.url, { retries: 5 }).accept('k', age, b(1), null)).rejects.toBeInstanceOf(UnavailableError);
    expect(a.requests()).toBe(1);
    // Negative control: with a server that answers the first time, they resolve.
    const ok = await fakeServer((_req, res) => res.end('{"type":"accepted"}'));
    cleanups.push(ok.close);
    expect(await new HttpAcceptor(ok.url).accept('k', age, b(1), null)).toEqual({ type: 'accepted' });
  });

  it('resends any call when the connection was refused (nothing was sent), up to `retries` times', async () => {
    const port = await closedPort();
    let attempts = 0;
    const counting: typeof fetch = (input, init) => {
      attempts++;
      return fetch(input, init);
    };
    const error = await new HttpAcceptor(`http://127.0.0.1:${port}`, { retries: 2, fetch: counting }).prepare('k', age, b(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/unreachable/);
    expect(JSON.stringify((error as Error).cause, Object.getOwnPropertyNames((error as Error).cause)) + String(((error as Error).cause as Error).cause)).toMatch(/ECONNREFUSED/);
    expect(attempts).toBe(3);
  });

  it('resends after 503 ERR_SHUTTING_DOWN (the server did not read the request)', async () => {
    const fake = await fakeServer((_req, res, n) => {
      if (n === 0 || n === 2) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end('{"code":"ERR_SHUTTING_DOWN","message":"bye","retryable":true}');
      } else res.end('{"type":"accepted"}');
    });
    cleanups.push(fake.close);
    expect(await new HttpAcceptor(fake.url).accept('k', age, b(1), null)).toEqual({ type: 'accepted' });
    expect(fake.requests()).toBe(2);
    const error = await new HttpAcceptor(fake.url, { retries: 0 }).accept('k', age, b(1), null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CASPaxosError);
  });
});
