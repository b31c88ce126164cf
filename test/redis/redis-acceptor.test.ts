/**
 * What is particular to RedisAcceptor, beyond the conformance suite: exact ballot order for any
 * id and counter, injective key encoding, prefixes, the EVALSHA/EVAL fallback, errors, cancelling,
 * paging, and the watch log (every change, bufferSize, a lapsed watch).
 */
import { describe, expect, test } from 'vitest';
import { type Age, type Ballot, InvalidArgumentError, StorageFailedError, StorageFullError, UnavailableError, ZERO_BALLOT, compareBallots } from '../../src/index.js';
import { RedisAcceptor, type RedisClientLike } from '../../src/redis/index.js';
import type { Sleep } from '../../src/retry.js';
import { skipWithoutRedis } from '../support/redis-server.js';
import { type ClientKind, freshPrefix, suiteConnection } from './harness.js';

const skip = skipWithoutRedis('the RedisAcceptor unit tests');

const age = (counter = 0, id = 'p1'): Age => ({ counter, id });
const b = (counter: number, id = 'p1'): Ballot => ({ counter, id });
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

/**
 * A sleep the test drives: pollers wait in it until `tick`, so what a poll sees is decided by the
 * test, not by timing.
 */
class ManualSleep {
  #sleepers: Array<() => void> = [];
  #watchers: Array<() => void> = [];
  readonly sleep: Sleep = (_ms, signal) =>
    new Promise<void>((resolve, reject) => {
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      this.#sleepers.push(resolve);
      for (const notify of this.#watchers.splice(0)) notify();
    });
  /** Resolves once some poller is asleep. */
  asleep(): Promise<void> {
    if (this.#sleepers.length > 0) return Promise.resolve();
    return new Promise((resolve) => this.#watchers.push(resolve));
  }
  /** Wakes the sleeping pollers and resolves once one of them has polled and sleeps again. */
  async tick(): Promise<void> {
    await this.asleep();
    const again = new Promise<void>((resolve) => this.#watchers.push(resolve));
    for (const wake of this.#sleepers.splice(0)) wake();
    await again;
  }
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

for (const kind of ['ioredis', 'node-redis'] as const satisfies readonly ClientKind[]) {
  describe.skipIf(skip)(`RedisAcceptor via ${kind}`, () => {
    const shared = suiteConnection(kind);
    const fresh = (options: { prefix?: string; listPageSize?: number; watchIntervalMs?: number; client?: RedisClientLike; sleep?: Sleep } = {}): RedisAcceptor =>
      new RedisAcceptor('redis-test', options.client ?? shared.connection.client, { prefix: freshPrefix(kind), watchIntervalMs: 10, ...options });


    test('ids compare by UTF-16 code units, as compareBallots does, whatever their characters', async () => {
      // Code point order and UTF-16 order disagree on U+FFFF against U+10000 (a surrogate pair).
      const ids = ['p', 'p\u0000', 'p\u0000a', 'pa', 'é', '\uffff', '\u{10000}', '\ud800', '\udc00x', 'Z', 'z', '世界', ''];
      for (const lower of ids) {
        for (const upper of ids) {
          if (lower === '' || upper === '') continue;
          const a = fresh();
          expect(await a.prepare('k', age(), b(7, lower))).toMatchObject({ type: 'promised' });
          const reply = await a.prepare('k', age(), b(7, upper));
          const expected = compareBallots(b(7, upper), b(7, lower)) > 0 ? 'promised' : 'conflict';
          expect(reply.type, `7/${JSON.stringify(upper)} after 7/${JSON.stringify(lower)}`).toBe(expected);
          if (reply.type === 'conflict') expect(reply.ballot).toEqual(b(7, lower));
        }
      }
    });

    test('counters are exact up to Number.MAX_SAFE_INTEGER', async () => {
      const max = Number.MAX_SAFE_INTEGER;
      const a = fresh();
      expect(await a.prepare('k', age(), b(max - 1))).toMatchObject({ type: 'promised' });
      // 2^53-1 and 2^53-2 round to the same 14-digit Lua string: they must still compare apart.
      expect(await a.prepare('k', age(), b(max))).toMatchObject({ type: 'promised' });
      expect(await a.prepare('k', age(), b(max - 1, 'p9'))).toEqual({ type: 'conflict', ballot: b(max), kind: 'promise', accepted: ZERO_BALLOT });
      expect(await a.accept('k', age(max), b(max), bytes(1))).toEqual({ type: 'accepted' });
      expect(await a.prepare('k', age(), b(max, 'p2'))).toEqual({ type: 'promised', accepted: b(max), state: bytes(1), ancestry: undefined });
      await a.rejectByAge([age(max - 1)]);
      expect(await a.prepare('k', age(max - 2), b(1))).toEqual({ type: 'age', required: age(max - 1) });
    });

    test('keys differing only in lone surrogates, or in glob characters, are different records', async () => {
      const a = fresh();
      // TextEncoder would map both lone surrogates to U+FFFD, and so would UTF-8 codecs.
      const keys = ['\ud800', '\udc00', '\ufffd', 'k*', 'k?', 'k[a]', 'k', '', 'κλειδί', 'k\u0000', '\u{1f600}'];
      for (const [i, key] of keys.entries()) expect(await a.accept(key, age(), b(1), bytes(i))).toEqual({ type: 'accepted' });
      for (const [i, key] of keys.entries()) expect(await a.prepare(key, age(), b(2))).toMatchObject({ type: 'promised', state: bytes(i) });
      expect((await collect(a.listKeys())).sort()).toEqual([...keys].sort());
    });

    test('acceptors under different prefixes of one Redis are independent', async () => {
      const one = fresh({ prefix: 'x' });
      const two = fresh({ prefix: 'x:r' });
      await one.accept('k', age(), b(5), bytes(1));
      await one.rejectByAge([age(3)]);
      expect(await two.prepare('k', age(), b(1))).toEqual({ type: 'promised', accepted: ZERO_BALLOT, state: null, ancestry: [] });
      expect(await collect(two.listKeys())).toEqual([]);
      // The same prefix is the same acceptor, from any object or process.
      const again = new RedisAcceptor('again', shared.connection.client, { prefix: 'x' });
      expect(await again.prepare('k', age(3), b(6))).toMatchObject({ type: 'promised', accepted: b(5), state: bytes(1) });
    });

    test('a prefix with braces, and malformed options, are refused', () => {
      expect(() => new RedisAcceptor('a', shared.connection.client, { prefix: 'a{b' })).toThrow(InvalidArgumentError);
      expect(() => new RedisAcceptor('a', shared.connection.client, { prefix: 'a}' })).toThrow(InvalidArgumentError);
      expect(() => new RedisAcceptor('a', shared.connection.client, { listPageSize: 0 })).toThrow(InvalidArgumentError);
      expect(() => new RedisAcceptor('a', shared.connection.client, { watchIntervalMs: -1 })).toThrow(InvalidArgumentError);
      expect(() => new RedisAcceptor('', shared.connection.client)).toThrow(InvalidArgumentError);
      expect(() => new RedisAcceptor('a', {} as RedisClientLike)).toThrow(InvalidArgumentError);
    });

    test('after SCRIPT FLUSH (or a restart) EVALSHA fails with NOSCRIPT and EVAL takes over', async () => {
      const calls: string[] = [];
      const spy: RedisClientLike = {
        evalsha: (sha, keys, args) => {
          calls.push('evalsha');
          return shared.connection.client.evalsha(sha, keys, args);
        },
        eval: (script, keys, args) => {
          calls.push('eval');
          return shared.connection.client.eval(script, keys, args);
        },
      };
      const a = fresh({ client: spy });
      await shared.connection.call('SCRIPT', 'FLUSH');
      expect(await a.prepare('k', age(), b(1))).toMatchObject({ type: 'promised' });
      expect(calls).toEqual(['evalsha', 'eval']);
      expect(await a.prepare('k', age(), b(2))).toMatchObject({ type: 'promised' });
      expect(calls).toEqual(['evalsha', 'eval', 'evalsha']);
    });

    test('records are laid out as documented, states byte for byte', async () => {
      const a = fresh({ prefix: 'layout' });
      await a.accept('k', age(), b(3, 'é'), bytes(0, 255), { next: b(4, 'é'), ancestry: [b(2, 'p2')] });
      const [pc, ai, s] = (await shared.connection.call('HMGET', '{layout}r:k', 'pc', 'ai', 's')) as Uint8Array[];
      expect(Buffer.from(pc as Uint8Array).toString()).toBe('4');
      expect(Buffer.from(ai as Uint8Array)).toEqual(Buffer.from([0x00, 0xe9])); // UTF-16BE
      expect(Buffer.from(s as Uint8Array)).toEqual(Buffer.from([0, 255]));
      expect(await shared.connection.call('ZRANGE', '{layout}i', '0', '-1')).toEqual([Buffer.from('k')]);
    });

    test('a stray key of another type under the prefix fails the request whole: nothing is written', async () => {
      const prefix = freshPrefix(kind);
      const a = fresh({ prefix });
      await shared.connection.call('SET', `{${prefix}}i`, 'not a sorted set');
      await expect(a.accept('k', age(), b(1), bytes(1))).rejects.toThrow(/WRONGTYPE/);
      // Redis does not undo a script that fails half-way: the record must not have been written.
      expect(await shared.connection.call('EXISTS', `{${prefix}}r:k`)).toBe(0);
      expect(await a.prepare('k', age(), b(1))).toMatchObject({ type: 'promised', accepted: b(0, '') });
      await a.accept('t', age(), b(2), null).catch(() => {});
      await shared.connection.call('DEL', `{${prefix}}i`);
      expect(await a.accept('t', age(), b(3), null)).toMatchObject({ type: 'accepted' });
      await shared.connection.call('SET', `{${prefix}}i`, 'not a sorted set');
      await expect(a.removeIfEqual('t', { ballot: b(3), state: null })).rejects.toThrow(/WRONGTYPE/);
      expect(await shared.connection.call('EXISTS', `{${prefix}}r:t`)).toBe(1);
    });

    test("Redis refusing the write for room or persistence is a storage error: OOM and MISCONF for a full disk are StorageFullError, READONLY and other MISCONF StorageFailedError", async () => {
      const replies: Array<[string, typeof StorageFullError | typeof StorageFailedError | typeof UnavailableError]> = [
        ["OOM command not allowed when used memory > 'maxmemory'. script: abc, on @user_script:80.", StorageFullError],
        ['MISCONF Errors writing to the AOF file: No space left on device', StorageFullError],
        ['MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.', StorageFailedError],
        ["READONLY You can't write against a read only replica.", StorageFailedError],
        ['ERR something else', UnavailableError],
      ];
      for (const [message, expected] of replies) {
        const cause = new Error(message);
        const refusing: RedisClientLike = { evalsha: () => Promise.reject(cause), eval: () => Promise.reject(cause) };
        const a = fresh({ client: refusing });
        const err: unknown = await a.accept('k', age(), b(1), bytes(1)).catch((e: unknown) => e);
        expect(err, message).toBeInstanceOf(expected);
        expect((err as Error).cause, message).toBe(cause);
        if (expected !== UnavailableError) expect((err as StorageFullError).acceptors, message).toEqual([a.address]);
      }
    });

    test('a client failure rejects with UnavailableError carrying the cause; an abort with the signal reason', async () => {
      const cause = new Error('connection reset');
      const broken: RedisClientLike = { evalsha: () => Promise.reject(cause), eval: () => Promise.reject(cause) };
      const a = fresh({ client: broken });
      const err: unknown = await a.prepare('k', age(), b(1)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as UnavailableError).cause).toBe(cause);
      expect((err as UnavailableError).retryable).toBe(true);

      const hanging: RedisClientLike = { evalsha: () => new Promise(() => {}), eval: () => new Promise(() => {}) };
      const reason = new Error('stop');
      const controller = new AbortController();
      const pending = fresh({ client: hanging }).accept('k', age(), b(1), null, { signal: controller.signal });
      controller.abort(reason);
      await expect(pending).rejects.toBe(reason);
      await expect(fresh().prepare('k', age(), b(1), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    });

    test('a client that decodes replies as text is refused, not trusted with binary states', async () => {
      const texty: RedisClientLike = {
        evalsha: async (sha, keys, args) => decode(await shared.connection.client.evalsha(sha, keys, args)),
        eval: async (script, keys, args) => decode(await shared.connection.client.eval(script, keys, args)),
      };
      const decode = (x: unknown): unknown => (Array.isArray(x) ? x.map(decode) : x instanceof Uint8Array ? Buffer.from(x).toString('latin1') : x);
      await expect(fresh({ client: texty }).prepare('k', age(), b(1))).rejects.toThrow(/as text/);
    });

    test('listKeys pages through the index, each key once', async () => {
      const a = fresh({ listPageSize: 3 });
      const keys = Array.from({ length: 10 }, (_, i) => `key-${i}`);
      for (const key of keys) await a.accept(key, age(), b(1), null);
      await a.prepare('only-promised', age(), b(1));
      expect((await collect(a.listKeys())).sort()).toEqual(keys.sort());
    });

    test('watch delivers every change in order, then drops the oldest beyond bufferSize', async () => {
      const clock = new ManualSleep();
      const a = fresh({ sleep: clock.sleep });
      await a.accept('w', age(), b(1), bytes(1));
      const controller = new AbortController();
      const iterator = a.watch('w', { signal: controller.signal, bufferSize: 2 })[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toEqual({ ballot: b(1), state: bytes(1) });
      await clock.asleep();
      for (let i = 2; i <= 6; i++) await a.accept('w', age(), b(i), bytes(i));
      await a.prepare('w', age(), b(7));
      await a.removeIfEqual('w', { ballot: b(6), state: null }); // not a tombstone: kept, no change
      await a.accept('w', age(), b(8), null);
      expect(await a.removeIfEqual('w', { ballot: b(8), state: null })).toEqual({ type: 'removed' });
      // One poll reads all six changes; the consumer has not asked, so only the last 2 wait.
      await clock.tick();
      expect((await iterator.next()).value).toEqual({ ballot: b(8), state: null });
      expect((await iterator.next()).value).toEqual({ ballot: ZERO_BALLOT, state: null });
      controller.abort();
      expect(await iterator.next()).toEqual({ done: true, value: undefined });
    });

    test('a consumer sees every change, in order, and a break ends the stream', async () => {
      const a = fresh({ watchIntervalMs: 1 });
      const iterator = a.watch('w')[Symbol.asyncIterator]();
      const seen = [(await iterator.next()).value.ballot.counter];
      const writes = (async () => {
        for (let i = 1; i <= 20; i++) await a.accept('w', age(), b(i), bytes(i));
      })();
      while (seen[seen.length - 1] !== 20) seen.push((await iterator.next()).value.ballot.counter);
      await iterator.return?.();
      await writes;
      expect(seen).toEqual(Array.from({ length: 21 }, (_, i) => i));
      expect(await iterator.next()).toEqual({ done: true, value: undefined });
    });

    test('a watch whose marker expired starts afresh from the current state, repeating nothing', async () => {
      const clock = new ManualSleep();
      const prefix = freshPrefix('lapse');
      const a = fresh({ prefix, sleep: clock.sleep });
      await a.accept('w', age(), b(1), bytes(1));
      const iterator = a.watch('w')[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toEqual({ ballot: b(1), state: bytes(1) });
      await clock.asleep();
      // As if the poller had stalled past the marker's TTL: changes meanwhile are not logged.
      await shared.connection.call('DEL', `{${prefix}}w:w`);
      await a.accept('w', age(), b(2), bytes(2));
      await a.accept('w', age(), b(3), bytes(3));
      await clock.tick();
      expect((await iterator.next()).value).toEqual({ ballot: b(3), state: bytes(3) });
      // Re-armed: the next change is logged again. A fresh start that finds nothing new repeats nothing.
      await a.accept('w', age(), b(4), bytes(4));
      await clock.tick();
      await shared.connection.call('DEL', `{${prefix}}w:w`);
      await clock.tick();
      await a.accept('w', age(), b(5), bytes(5));
      await clock.tick();
      expect((await iterator.next()).value).toEqual({ ballot: b(4), state: bytes(4) });
      expect((await iterator.next()).value).toEqual({ ballot: b(5), state: bytes(5) });
      await iterator.return?.();
    });

    test('a watch ends with UnavailableError when Redis cannot be reached', async () => {
      let fail = false;
      const flaky: RedisClientLike = {
        evalsha: (sha, keys, args) => (fail ? Promise.reject(new Error('down')) : shared.connection.client.evalsha(sha, keys, args)),
        eval: (script, keys, args) => (fail ? Promise.reject(new Error('down')) : shared.connection.client.eval(script, keys, args)),
      };
      const iterator = fresh({ client: flaky, watchIntervalMs: 5 }).watch('w')[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toEqual({ ballot: ZERO_BALLOT, state: null });
      fail = true;
      await expect(iterator.next()).rejects.toBeInstanceOf(UnavailableError);
    });

    test('a bad bufferSize is refused when iteration starts, as MemoryAcceptor does', () => {
      expect(() => fresh().watch('w', { bufferSize: 0 })[Symbol.asyncIterator]()).toThrow(InvalidArgumentError);
    });
  });
}
