/**
 * An acceptor that keeps its state in memory: the acceptor rules of `core/acceptor-rules` over a
 * `Map`. Each request is checked and applied synchronously, inside one call, so check-and-write is
 * atomic per key; states are copied on the way in and on the way out, so no caller can reach into
 * the acceptor's memory. Useful for tests, simulations, teaching and single-process setups; it
 * loses everything when the process ends.
 */
import * as rules from './core/acceptor-rules.js';
import type { KeyRecord } from './core/acceptor-rules.js';
import { type Age, formatAge } from './core/age.js';
import { type Ballot, ZERO_BALLOT, formatBallot, isZeroBallot } from './core/ballot.js';
import type { AcceptReply, AcceptedState, PrepareReply, RemoveReply, State, Tombstone } from './core/messages.js';
import { copyState } from './core/state.js';
import { InvalidArgumentError, NotTombstoneError } from './errors.js';
import { type Logger, debugEnabled } from './logger.js';
import type { Acceptor, CallOptions, WatchOptions } from './roles.js';
import { assertAge, assertBallot, assertKey, assertState } from './validate.js';
import { WatchChannel, closeOnAbort } from './watch-channel.js';

export interface MemoryAcceptorOptions {
  /** Receives a debug record per request. Silent when absent. */
  readonly logger?: Logger | undefined;
}

/** A snapshot of what an acceptor holds for one key, as returned by `inspect`. */
export interface AcceptorRecord {
  readonly promise: Ballot;
  readonly accepted: Ballot;
  readonly state: State;
}

const DEFAULT_WATCH_BUFFER = 1024;

export class MemoryAcceptor implements Acceptor {
  readonly address: string;
  #records = new Map<string, KeyRecord>();
  #minimumAges = new Map<string, number>();
  #absent: KeyRecord = rules.absentRecord(ZERO_BALLOT);
  #watchers = new Map<string, Set<WatchChannel<AcceptedState>>>();
  #logger: Logger | undefined;

  /**
   * @param address unique among the acceptors of a cluster; proposers identify acceptors by it.
   */
  constructor(address: string, options: MemoryAcceptorOptions = {}) {
    if (typeof address !== 'string' || address === '') throw new InvalidArgumentError('an acceptor address must be a non-empty string');
    this.address = address;
    this.#logger = options.logger;
  }

  async prepare(key: string, age: Age, ballot: Ballot, opts?: CallOptions): Promise<PrepareReply> {
    opts?.signal?.throwIfAborted();
    assertKey(key);
    assertAge(age);
    assertBallot(ballot);
    const reply = this.#prepare(key, age, ballot);
    if (debugEnabled(this.#logger)) this.#log('prepare', key, ballot, age, reply.type);
    return reply;
  }

  #prepare(key: string, age: Age, ballot: Ballot): PrepareReply {
    const rejected = rules.checkAge(age, this.#minimumAges.get(age.id) ?? 0);
    if (rejected !== undefined) return rejected;
    const { reply, next } = rules.prepare(this.#records.get(key) ?? this.#absent, ballot, this.#absent.promise);
    if (next !== undefined) this.#records.set(key, next);
    // The reply must not share memory with the stored state: the change function may mutate it.
    return reply.type === 'promised' ? { type: 'promised', accepted: reply.accepted, state: copyState(reply.state) } : reply;
  }

  async accept(key: string, age: Age, ballot: Ballot, state: State, opts?: CallOptions): Promise<AcceptReply> {
    opts?.signal?.throwIfAborted();
    assertKey(key);
    assertAge(age);
    assertBallot(ballot);
    assertState(state, 'state');
    const reply = this.#accept(key, age, ballot, state);
    if (debugEnabled(this.#logger)) this.#log('accept', key, ballot, age, reply.type);
    return reply;
  }

  #accept(key: string, age: Age, ballot: Ballot, state: State): AcceptReply {
    const rejected = rules.checkAge(age, this.#minimumAges.get(age.id) ?? 0);
    if (rejected !== undefined) return rejected;
    const { reply, next } = rules.accept(this.#records.get(key) ?? this.#absent, ballot, state, this.#absent.promise);
    if (next === undefined) return reply;
    // Store a copy: the caller keeps its buffer and may reuse it.
    const stored: KeyRecord = { promise: next.promise, accepted: next.accepted, state: copyState(next.state) };
    this.#records.set(key, stored);
    this.#notify(key, stored.accepted, stored.state);
    return reply;
  }

  async rejectByAge(ages: readonly Age[], opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    if (!Array.isArray(ages)) throw new InvalidArgumentError('ages must be an array');
    ages.forEach((age, i) => assertAge(age, `ages[${i}]`));
    const raised = rules.raiseAges((id) => this.#minimumAges.get(id) ?? 0, ages);
    for (const age of raised) this.#minimumAges.set(age.id, age.counter);
    if (debugEnabled(this.#logger)) {
      this.#logger.debug({ acceptor: this.address, method: 'rejectByAge', n: ages.length, raised: raised.length });
    }
  }

  async removeIfEqual(key: string, tombstone: Tombstone, opts?: CallOptions): Promise<RemoveReply> {
    opts?.signal?.throwIfAborted();
    assertKey(key);
    if (typeof tombstone !== 'object' || tombstone === null) throw new InvalidArgumentError('tombstone must be { ballot, state }');
    assertBallot(tombstone.ballot, 'tombstone.ballot');
    assertState(tombstone.state, 'tombstone.state');
    if (tombstone.state !== null) throw new NotTombstoneError(key, tombstone.ballot);
    const { reply, floor } = rules.remove(this.#records.get(key), tombstone.ballot, this.#absent.promise);
    if (floor !== undefined) {
      this.#records.delete(key);
      this.#absent = rules.absentRecord(floor);
      // Watchers see the key become empty, under the zero ballot (it has no record any more).
      this.#notify(key, ZERO_BALLOT, null);
    }
    if (debugEnabled(this.#logger)) this.#log('removeIfEqual', key, tombstone.ballot, undefined, reply.type);
    return reply;
  }

  watch(key: string, opts: WatchOptions = {}): AsyncIterable<AcceptedState> {
    assertKey(key);
    const { signal, bufferSize = DEFAULT_WATCH_BUFFER } = opts;
    return {
      [Symbol.asyncIterator]: () => {
        let detach = (): void => {};
        const channel: WatchChannel<AcceptedState> = new WatchChannel<AcceptedState>(bufferSize, () => {
          detach();
          const set = this.#watchers.get(key);
          set?.delete(channel);
          if (set?.size === 0) this.#watchers.delete(key);
        });
        let set = this.#watchers.get(key);
        if (set === undefined) this.#watchers.set(key, (set = new Set()));
        set.add(channel);
        const record = this.#records.get(key);
        channel.push({ ballot: record?.accepted ?? ZERO_BALLOT, state: copyState(record?.state ?? null) });
        detach = closeOnAbort(channel, signal);
        return channel;
      },
    };
  }

  async *listKeys(opts?: CallOptions): AsyncIterable<string> {
    const signal = opts?.signal;
    signal?.throwIfAborted();
    // A snapshot, so the listing is stable while proposals keep writing.
    const keys: string[] = [];
    for (const [key, record] of this.#records) if (!isZeroBallot(record.accepted)) keys.push(key);
    for (const key of keys) {
      signal?.throwIfAborted();
      yield key;
    }
  }

  /**
   * A copy of what this acceptor holds for `key`, or `undefined` when it holds nothing (never
   * prepared, or removed by garbage collection). For tests and teaching.
   */
  inspect(key: string): AcceptorRecord | undefined {
    const record = this.#records.get(key);
    if (record === undefined) return undefined;
    return { promise: record.promise, accepted: record.accepted, state: copyState(record.state) };
  }

  /** The minimum age this acceptor requires of proposer `id` (0 unless garbage collection raised it). */
  minimumAge(id: string): number {
    return this.#minimumAges.get(id) ?? 0;
  }

  /**
   * The promise every absent key behaves as having: the highest promise of any record garbage
   * collection removed here (`ZERO_BALLOT` if none). See `absentRecord` in the acceptor rules.
   */
  get tombstoneFloor(): Ballot {
    return this.#absent.promise;
  }

  /** Number of keys with a record (for tests and memory accounting). */
  get size(): number {
    return this.#records.size;
  }

  #notify(key: string, ballot: Ballot, state: State): void {
    const set = this.#watchers.get(key);
    if (set === undefined) return;
    for (const channel of set) channel.push({ ballot, state: copyState(state) });
  }

  #log(method: string, key: string, ballot: Ballot, age: Age | undefined, result: string): void {
    this.#logger?.debug({
      acceptor: this.address,
      method,
      key,
      B: formatBallot(ballot),
      ...(age === undefined ? {} : { age: formatAge(age) }),
      result,
    });
  }
}
