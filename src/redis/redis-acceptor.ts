/**
 * An acceptor whose records live in a Redis server: each request is one Lua script (see
 * `scripts.ts`), so each check-and-write runs atomically on the server, and with the AOF fsynced
 * on every write (`appendonly yes`, `appendfsync always`) each reply follows the durable write it
 * reports. One Redis server (or one `prefix` in it) is one acceptor; a cluster needs 2F+1 of them,
 * on machines that fail independently.
 *
 * The acceptor talks only to the injected `RedisClientLike` and keeps nothing of its own but
 * watch streams: any number of `RedisAcceptor` objects (in any number of processes) over one
 * server and prefix are the same acceptor, and a restart of either side loses nothing.
 *
 * A Redis that cannot take the write answers with an error reply, and so does the acceptor:
 * `OOM` (used memory past `maxmemory` under the `noeviction` policy) and `MISCONF` naming a full
 * disk (the AOF or a snapshot could not be written: no space left) are `StorageFullError`;
 * `READONLY` (a replica) and any other `MISCONF` are `StorageFailedError`. Redis checks these at a
 * script's first write and lets a script that already wrote finish, so a refused script wrote
 * nothing: the request changed nothing. Under `noeviction`, Redis
 * refuses every command that may grow memory, promises and removals included; give it room
 * (`CONFIG SET maxmemory`, or free disk space) and writes resume by themselves.
 *
 * Time (the watch poll) comes from an injectable `sleep`, so tests can drive the poll.
 */
import { abortable } from '../internal/abort.js';
import { checkAcceptRequest, checkAges, checkPrepareRequest, checkRemoveRequest } from '../acceptor/request-checks.js';
import type { Age } from '../core/age.js';
import { type Ballot, ballotEquals } from '../core/ballot.js';
import type { AcceptReply, AcceptedState, Conflict, PeekReply, PrepareReply, RemoveReply, State, Tombstone } from '../core/messages.js';
import { InvalidArgumentError, StorageFailedError, StorageFullError, UnavailableError } from '../errors.js';
import { DebugGate, type Logger } from '../logger.js';
import { type Sleep, timerSleep } from '../retry.js';
import type { AcceptOptions, Acceptor, CallOptions, WatchOptions } from '../roles.js';
import { assertKey, integerOption } from '../internal/validate.js';
import { DEFAULT_WATCH_BUFFER, WatchChannel, closeOnAbort } from '../internal/watch-channel.js';
import type { LuaScript, RedisArgument, RedisClientLike } from './client.js';
import { asciiOf, concatBytes, decodeAncestry, decodeBallot, decodeCounter, decodeWtf8, encodeAncestry, encodeId, encodeWtf8 } from './codec.js';
import { ACCEPT, LIST, PEEK, PREPARE, RAISE_AGES, REMOVE, WATCH, WATCH_LOG_LENGTH } from './scripts.js';

/** Options of `RedisAcceptor`. */
export interface RedisAcceptorOptions {
  /**
   * Namespaces every Redis key of this acceptor (keys are `{prefix}r:<key>`, `{prefix}m`, ...), so
   * one Redis server can hold several independent acceptors (for tests; in production each
   * acceptor wants its own server). Must not contain `{` or `}`: with the braces as delimiters, no
   * two prefixes share a key, and each acceptor's keys share one Redis Cluster hash slot.
   * @default 'caspaxos'
   */
  readonly prefix?: string | undefined;
  /**
   * Receives a debug record per request. Silent when absent.
   * @default undefined (no logging)
   */
  readonly logger?: Logger | undefined;
  /**
   * How often a `watch` stream polls the key, in milliseconds.
   * @default 100
   */
  readonly watchIntervalMs?: number | undefined;
  /**
   * Waits between watch polls. Inject a virtual clock's sleep in tests.
   * @default timerSleep (setTimeout)
   */
  readonly sleep?: Sleep | undefined;
  /**
   * How many keys `listKeys` fetches per round trip.
   * @default 256
   */
  readonly listPageSize?: number | undefined;
}


/**
 * An acceptor whose records live in a Redis server. Each request is one Lua script, so each
 * check-and-write runs atomically on the server; with the AOF fsynced on every write (`appendonly
 * yes`, `appendfsync always`) each reply follows the durable write it reports (paper §2.2:
 * "persists the ballot number as a promise" before it "returns a confirmation"). It keeps nothing
 * of its own but watch streams: any number of `RedisAcceptor` objects over one server and prefix
 * are one acceptor. A cluster needs 2F+1 Redis servers on machines that fail independently. Pass
 * the client through `fromIoredis` or `fromNodeRedis`; it is not owned (close it yourself).
 * @example
 * ```ts
 * import Redis from 'ioredis';
 * import { MemoryProposer } from 'caspaxos';
 * import { RedisAcceptor, fromIoredis } from 'caspaxos/redis';
 *
 * const hosts = ['a1.internal', 'a2.internal', 'a3.internal'];
 * const acceptors = hosts.map((host) => new RedisAcceptor(`redis://${host}`, fromIoredis(new Redis(6379, host))));
 * const proposer = new MemoryProposer('p1', acceptors);
 * ```
 */
export class RedisAcceptor implements Acceptor {
  readonly address: string;
  /** The prefix this acceptor's keys start with, as given (see `RedisAcceptorOptions.prefix`). */
  readonly prefix: string;
  readonly #client: RedisClientLike;
  readonly #debug: DebugGate;
  readonly #sleep: Sleep;
  readonly #watchIntervalMs: number;
  readonly #listPageSize: number;
  /** `{prefix}` as WTF-8, and the acceptor-wide keys under it. */
  readonly #tag: Uint8Array;
  readonly #metaKey: Uint8Array;
  readonly #agesKey: Uint8Array;
  readonly #indexKey: Uint8Array;
  readonly #epochKey: Uint8Array;

  /**
   * @param address unique among the acceptors of a cluster; proposers identify acceptors by it.
   * @param client the Redis connection (see `fromIoredis`, `fromNodeRedis`). Not owned: close it yourself.
   */
  constructor(address: string, client: RedisClientLike, options: RedisAcceptorOptions = {}) {
    if (typeof address !== 'string' || address === '') throw new InvalidArgumentError('an acceptor address must be a non-empty string');
    if (typeof client !== 'object' || client === null || typeof client.evalsha !== 'function' || typeof client.eval !== 'function') {
      throw new InvalidArgumentError('client must have evalsha and eval methods (see fromIoredis and fromNodeRedis)');
    }
    const { prefix = 'caspaxos', watchIntervalMs = 100 } = options;
    const listPageSize = integerOption(options.listPageSize, 'listPageSize', 1, 256);
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) throw new InvalidArgumentError(`prefix must be a string without '{' or '}', got ${JSON.stringify(prefix)}`);
    if (typeof watchIntervalMs !== 'number' || !(watchIntervalMs >= 0) || !Number.isFinite(watchIntervalMs)) {
      throw new InvalidArgumentError(`watchIntervalMs must be a finite number >= 0, got ${watchIntervalMs}`);
    }
    this.address = address;
    this.prefix = prefix;
    this.#client = client;
    this.#debug = new DebugGate(options.logger);
    this.#sleep = options.sleep ?? timerSleep;
    this.#watchIntervalMs = watchIntervalMs;
    this.#listPageSize = listPageSize;
    this.#tag = encodeWtf8(`{${prefix}}`);
    this.#metaKey = concatBytes(this.#tag, 'm');
    this.#agesKey = concatBytes(this.#tag, 'a');
    this.#indexKey = concatBytes(this.#tag, 'i');
    this.#epochKey = concatBytes(this.#tag, 'e');
  }

  async prepare(key: string, age: Age, ballot: Ballot, opts?: CallOptions): Promise<PrepareReply> {
    opts?.signal?.throwIfAborted();
    checkPrepareRequest(key, age, ballot);
    const raw = await this.#call('prepare', PREPARE, [this.#recordKey(key), this.#metaKey, this.#agesKey], [String(age.counter), encodeWtf8(age.id), String(ballot.counter), encodeId(ballot.id)], opts?.signal);
    const reply = this.#parse('prepare', raw, (r): PrepareReply => {
      const tag = tagOf(r);
      if (tag === 'promised') {
        const state = optionalBytes(r[3]);
        const ancestry = optionalBytes(r[4]);
        return {
          type: 'promised',
          accepted: decodeBallot(bytes(r[1]), bytes(r[2])),
          // A copy in plain memory: the client's Buffer may share a pool with other replies.
          state: state === null ? null : new Uint8Array(state),
          ancestry: ancestry === null ? undefined : decodeAncestry(ancestry),
        };
      }
      return this.#refusal(tag, r, age);
    });
    if (this.#debug.get() !== undefined) this.#debug.acceptorRequest(this.address, 'prepare', key, ballot, age, reply.type);
    return reply;
  }

  /**
   * What this acceptor accepted for `key`, without a promise: one read-only script, nothing
   * written. Durable by Redis' reply order: with `appendfsync always`, no reply of an event-loop
   * turn leaves before that turn's AOF is written and fsynced (and Redis exits if the fsync fails),
   * so the state a peek reports is on disk. (Under a weaker policy nothing is durable, peeks
   * included.)
   */
  async peek(key: string, opts?: CallOptions): Promise<PeekReply> {
    opts?.signal?.throwIfAborted();
    assertKey(key);
    const raw = await this.#call('peek', PEEK, [this.#recordKey(key)], [], opts?.signal);
    const reply = this.#parse('peek', raw, (r): PeekReply => {
      const state = optionalBytes(r[2]);
      return { type: 'peeked', accepted: decodeBallot(bytes(r[0]), bytes(r[1])), state: state === null ? null : new Uint8Array(state) };
    });
    if (this.#debug.get() !== undefined) this.#debug.acceptorRequest(this.address, 'peek', key, reply.accepted, undefined, reply.type);
    return reply;
  }

  async accept(key: string, age: Age, ballot: Ballot, state: State, opts?: AcceptOptions): Promise<AcceptReply> {
    opts?.signal?.throwIfAborted();
    const ancestry = checkAcceptRequest(key, age, ballot, state, opts);
    const next = opts?.next;
    const member = encodeWtf8(key);
    const raw = await this.#call(
      'accept',
      ACCEPT,
      [this.#recordKey(key, member), this.#metaKey, this.#agesKey, this.#indexKey, ...this.#watchKeys(member)],
      [
        String(age.counter),
        encodeWtf8(age.id),
        String(ballot.counter),
        encodeId(ballot.id),
        member,
        state === null ? '0' : '1',
        state ?? '',
        next === undefined ? '' : String(next.counter),
        next === undefined ? '' : encodeId(next.id),
        ancestry === undefined ? '0' : '1',
        ancestry === undefined ? '' : encodeAncestry(ancestry),
      ],
      opts?.signal,
    );
    const reply = this.#parse('accept', raw, (r): AcceptReply => {
      const tag = tagOf(r);
      if (tag === 'accepted') {
        const promised = asciiOf(bytes(r[1])) === '1';
        if (promised && next !== undefined) return { type: 'accepted', promised: next };
        return { type: 'accepted' };
      }
      return this.#refusal(tag, r, age);
    });
    if (this.#debug.get() !== undefined) this.#debug.acceptorRequest(this.address, 'accept', key, ballot, age, reply.type);
    return reply;
  }

  async rejectByAge(ages: readonly Age[], opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    checkAges(ages);
    if (ages.length === 0) return;
    const args: RedisArgument[] = [];
    for (const age of ages) args.push(encodeWtf8(age.id), String(age.counter));
    const raised = await this.#call('rejectByAge', RAISE_AGES, [this.#agesKey], args, opts?.signal);
    this.#debug.get()?.debug({ acceptor: this.address, method: 'rejectByAge', n: ages.length, raised });
  }

  async removeIfEqual(key: string, tombstone: Tombstone, opts?: CallOptions): Promise<RemoveReply> {
    opts?.signal?.throwIfAborted();
    checkRemoveRequest(key, tombstone);
    const member = encodeWtf8(key);
    const raw = await this.#call(
      'removeIfEqual',
      REMOVE,
      [this.#recordKey(key, member), this.#metaKey, this.#indexKey, ...this.#watchKeys(member)],
      [String(tombstone.ballot.counter), encodeId(tombstone.ballot.id), member],
      opts?.signal,
    );
    const reply = this.#parse('removeIfEqual', raw, (r): RemoveReply => {
      const tag = tagOf(r);
      if (tag === 'removed' || tag === 'absent') return { type: tag };
      if (tag === 'not-equal') return { type: 'not-equal', accepted: decodeBallot(bytes(r[1]), bytes(r[2])) };
      throw new RangeError(`unknown reply ${JSON.stringify(tag)}`);
    });
    this.#debug.acceptorRequest(this.address, 'removeIfEqual', key, tombstone.ballot, undefined, reply.type);
    return reply;
  }

  /**
   * Yields the key's current state first, then each change, until the signal aborts or the
   * consumer stops. A stream polls Redis every `watchIntervalMs` (one small script); while any
   * stream watches a key, accepts and removals append each change to a per-key log in Redis (see
   * `WATCH` in the scripts), so a poll gets every change since the last one, not just the latest,
   * and `bufferSize` alone decides what a slow consumer skips, as with `MemoryAcceptor`. The log
   * and its marker expire on their own once no stream polls any more.
   *
   * Polling rather than Redis keyspace notifications or pub/sub: it needs no server configuration
   * (`notify-keyspace-events` is off by default) and no second, subscribed connection (the
   * `RedisClientLike` only runs scripts), and it misses nothing across a reconnect, where pub/sub
   * messages are fire-and-forget. The price is up to `watchIntervalMs` of latency. A poll that
   * fails (Redis unreachable) ends the stream with `UnavailableError`; watch again to resume.
   */
  watch(key: string, opts: WatchOptions = {}): AsyncIterable<AcceptedState> {
    assertKey(key);
    const { signal, bufferSize = DEFAULT_WATCH_BUFFER } = opts;
    return {
      [Symbol.asyncIterator]: () => {
        const stop = new AbortController();
        const channel = new WatchChannel<AcceptedState>(bufferSize, () => stop.abort());
        const detach = closeOnAbort(channel, signal);
        this.#poll(key, channel, stop.signal).then(detach, (err: unknown) => {
          detach();
          channel.fail(err);
        });
        return channel;
      },
    };
  }

  async #poll(key: string, channel: WatchChannel<AcceptedState>, stop: AbortSignal): Promise<void> {
    const member = encodeWtf8(key);
    const keys = [this.#recordKey(key, member), ...this.#watchKeys(member), this.#epochKey];
    const ttl = String(Math.max(10_000, Math.ceil(this.#watchIntervalMs * 20)));
    let epoch: Uint8Array | string = '';
    let position: Uint8Array | string = '0-0';
    /** The ballot last pushed, so a fresh start repeats nothing the consumer already has. */
    let last: Ballot | undefined;
    while (!channel.closed) {
      const raw = await this.#call('watch', WATCH, keys, [epoch, position, ttl, String(WATCH_LOG_LENGTH)], undefined);
      if (channel.closed) return;
      const poll = this.#parse('watch', raw, (r) => {
        const tag = tagOf(r);
        if (tag === 'start') {
          const state = optionalBytes(r[5]);
          const value: AcceptedState = { ballot: decodeBallot(bytes(r[3]), bytes(r[4])), state: state === null ? null : new Uint8Array(state) };
          return { epoch: bytes(r[1]), position: bytes(r[2]), values: [value], fresh: true };
        }
        if (tag !== 'entries') throw new RangeError(`unknown reply ${JSON.stringify(tag)}`);
        const entries = r[1];
        if (!Array.isArray(entries)) throw new RangeError('expected log entries');
        let at: Uint8Array | undefined;
        const values = entries.map((entry: unknown): AcceptedState => {
          const [id, fields] = Array.isArray(entry) ? (entry as unknown[]) : [];
          if (!Array.isArray(fields)) throw new RangeError('malformed log entry');
          at = bytes(id);
          return logEntry(fields);
        });
        return { epoch: undefined, position: at, values, fresh: false };
      });
      if (poll.epoch !== undefined) epoch = poll.epoch;
      if (poll.position !== undefined) position = poll.position;
      for (const value of poll.values) {
        if (poll.fresh && last !== undefined && ballotEquals(last, value.ballot)) continue;
        channel.push(value);
        last = value.ballot;
      }
      // A full page: more may be waiting, read on without sleeping.
      if (poll.values.length >= WATCH_LOG_LENGTH) continue;
      try {
        await this.#sleep(this.#watchIntervalMs, stop);
      } catch {
        return; // The stream closed while waiting.
      }
    }
  }

  /**
   * Pages through the index of keys with an accepted state, in byte order of their WTF-8 (one
   * round trip per `listPageSize` keys). A key present during the whole listing is listed exactly
   * once; a key added or removed meanwhile may or may not be.
   */
  async *listKeys(opts?: CallOptions): AsyncIterable<string> {
    const signal = opts?.signal;
    signal?.throwIfAborted();
    let start: RedisArgument = '-';
    for (;;) {
      const raw = await this.#call('listKeys', LIST, [this.#indexKey], [start, String(this.#listPageSize)], signal);
      // Decoded inside `#parse`: an index member that is not WTF-8 is a malformed reply.
      const members = this.#parse('listKeys', raw, (r) => r.map(bytes));
      const keys = this.#parse('listKeys', members, (m) => m.map((member) => decodeWtf8(member as Uint8Array)));
      for (const key of keys) {
        signal?.throwIfAborted();
        yield key;
      }
      const last = members[members.length - 1];
      if (last === undefined || members.length < this.#listPageSize) return;
      start = concatBytes('(', last);
    }
  }

  #recordKey(key: string, member: Uint8Array = encodeWtf8(key)): Uint8Array {
    return concatBytes(this.#tag, 'r:', member);
  }

  /** The watch marker and the change log of a key (see `WATCH` in the scripts). */
  #watchKeys(member: Uint8Array): [Uint8Array, Uint8Array] {
    return [concatBytes(this.#tag, 'w:', member), concatBytes(this.#tag, 'l:', member)];
  }

  /** The age rejection or the conflict a script replied with. */
  #refusal(tag: string, r: readonly unknown[], age: Age): Conflict | { readonly type: 'age'; readonly required: Age } {
    if (tag === 'age') return { type: 'age', required: { counter: decodeCounter(bytes(r[1])), id: age.id } };
    if (tag === 'conflict') {
      const kind = asciiOf(bytes(r[1]));
      if (kind !== 'promise' && kind !== 'accepted') throw new RangeError(`unknown conflict kind ${JSON.stringify(kind)}`);
      return { type: 'conflict', ballot: decodeBallot(bytes(r[2]), bytes(r[3])), kind, accepted: decodeBallot(bytes(r[4]), bytes(r[5])) };
    }
    throw new RangeError(`unknown reply ${JSON.stringify(tag)}`);
  }

  /**
   * Runs a script; Redis refusing the write for room or persistence becomes a storage error (see
   * the module doc), a failure to reach Redis (or another script error) `UnavailableError`.
   */
  async #call(method: string, script: LuaScript, keys: readonly RedisArgument[], args: readonly RedisArgument[], signal: AbortSignal | undefined): Promise<unknown> {
    try {
      // An abort rejects at once; the script may still run (like a message already sent).
      return await abortable(script.run(this.#client, keys, args), signal);
    } catch (err) {
      if (signal?.aborted === true && err === signal.reason) throw err;
      const message = `redis acceptor ${this.address}: ${method} failed: ${err instanceof Error ? err.message : String(err)}`;
      const refusal = storageRefusal(err);
      if (refusal === 'full') throw new StorageFullError(message, { cause: err, acceptors: [this.address] });
      if (refusal === 'failed') throw new StorageFailedError(message, { cause: err, acceptors: [this.address] });
      throw new UnavailableError(message, { cause: err });
    }
  }

  /** Reads a script's array reply; a reply of the wrong shape becomes `UnavailableError`. */
  #parse<T>(method: string, raw: unknown, read: (reply: readonly unknown[]) => T): T {
    try {
      if (!Array.isArray(raw)) throw new RangeError('expected an array reply');
      return read(raw);
    } catch (err) {
      throw new UnavailableError(`redis acceptor ${this.address}: ${method}: unexpected reply from Redis: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

}

/**
 * Whether an error reply says Redis cannot store the write: `full` (`OOM`; `MISCONF` for a disk
 * with no space left), `failed` (`READONLY`, any other `MISCONF`), else `undefined`.
 */
function storageRefusal(err: unknown): 'full' | 'failed' | undefined {
  const message = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
  if (typeof message !== 'string') return undefined;
  if (message.startsWith('OOM ')) return 'full';
  if (message.startsWith('MISCONF ')) return /no space left|ENOSPC|quota exceeded|EDQUOT/i.test(message) ? 'full' : 'failed';
  if (message.startsWith('READONLY ')) return 'failed';
  return undefined;
}

/** A bulk string of a reply, as bytes. A client that decodes replies as text cannot carry binary states. */
function bytes(x: unknown): Uint8Array {
  if (x instanceof Uint8Array) return x;
  if (typeof x === 'string') throw new RangeError('the client returned a bulk string as text: it must return bytes (use fromIoredis or fromNodeRedis)');
  throw new RangeError(`expected a bulk string, got ${x === null ? 'nil' : typeof x}`);
}

/** A change as logged for watchers: fields `c` and `i` (the accepted ballot), `s` (the state, absent when null). */
function logEntry(fields: readonly unknown[]): AcceptedState {
  let counter: Uint8Array | undefined;
  let id: Uint8Array | undefined;
  let state: State = null;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = asciiOf(bytes(fields[i]));
    const value = bytes(fields[i + 1]);
    if (name === 'c') counter = value;
    else if (name === 'i') id = value;
    else if (name === 's') state = new Uint8Array(value);
  }
  if (counter === undefined || id === undefined) throw new RangeError('a log entry without a ballot');
  return { ballot: decodeBallot(counter, id), state };
}

function optionalBytes(x: unknown): Uint8Array | null {
  return x === null || x === undefined ? null : bytes(x);
}

function tagOf(r: readonly unknown[]): string {
  return asciiOf(bytes(r[0]));
}
