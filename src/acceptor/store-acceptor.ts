/**
 * An acceptor over any `AcceptorStore`: the acceptor rules of `core/acceptor-rules` (the ones
 * `MemoryAcceptor` runs), with each record read from and written to the store.
 *
 * Two things make it correct over a store that is asynchronous and durable:
 * - **Persist before reply.** Paper §2.2: an acceptor "persists the ballot number as a promise and
 *   returns a confirmation", and on accept "marks the received tuple ... as the accepted value and
 *   returns a confirmation". Every reply is sent only after the store acknowledged the write it
 *   reports (`AcceptorStore.put` resolves once durable). fast-caspaxos's host replied before it
 *   saved; a crash in between forgets a promise the proposer already counted.
 * - **One operation per key at a time.** Rules are check-and-write: two prepares reading the same
 *   record across an `await` could both succeed. Each key has a FIFO lock (a promise chain, dropped
 *   when idle); operations on different keys run concurrently, and their writes of one turn go to
 *   the store together (`GroupCommit`, over `AcceptorStore.writeMany` when the store has it: the
 *   garbage collector's removals and age raises included; else over `putMany`, records only).
 *
 * The acceptor-wide facts (the minimum ages of garbage collection, the tombstone floor) are loaded
 * once by `open` and kept in memory after each durable write.
 *
 * A store that is full or failing is an answer, not a crash (see `storage.ts`): a write the store
 * refused rejects its request with `StorageFullError` or `StorageFailedError` and changes nothing,
 * here included (the floor and ages move only after a durable write; records are never cached), so
 * what the acceptor reports is exactly what the store holds. While the store reports itself full
 * (`AcceptorStore.capacity`), writes that would grow the data (new values, longer ones) are refused
 * before they are tried; the others go through, so reads work and deletes and garbage collection
 * can free space. Writes resume by
 * themselves once there is room. The store does the I/O; this module decides and orders it.
 */
import type { Closeable } from '../internal/async-dispose.js';
import * as rules from '../core/acceptor-rules.js';
import type { Age } from '../core/age.js';
import { type Ballot, ZERO_BALLOT, isZeroBallot, maxBallot } from '../core/ballot.js';
import type { AcceptReply, AcceptedState, PeekReply, PrepareReply, RemoveReply, State, Tombstone } from '../core/messages.js';
import { copyState } from '../core/state.js';
import { checkAcceptRequest, checkAges, checkPrepareRequest, checkRemoveRequest } from './request-checks.js';
import { AcceptorWatchers } from './watchers.js';
import { InvalidArgumentError, StorageFailedError, UnavailableError } from '../errors.js';
import { DebugGate, type Logger } from '../logger.js';
import type { AcceptOptions, Acceptor, CallOptions, WatchOptions } from '../roles.js';
import { assertKey, integerOption } from '../internal/validate.js';
import type { AcceptorStore, StoreWrite } from './acceptor-store.js';
import { GroupCommit } from './group-commit.js';
import { type StorageStatus, StorageMonitor, growsData, readError } from './storage.js';
import type { KeyRecord } from '../core/acceptor-rules.js';

/** What a peek at a key without a record reports: nothing accepted. */
const NOTHING_ACCEPTED = rules.absentRecord(ZERO_BALLOT);

/** Options of `StoreAcceptor.open`. */
export interface StoreAcceptorOptions {
  /**
   * Receives a debug record per request. Silent when absent.
   * @default undefined (no logging)
   */
  readonly logger?: Logger | undefined;
  /**
   * How many records `listKeys` reads from the store per page.
   * @default 256
   */
  readonly scanPageSize?: number | undefined;
  /**
   * Called when the store can no longer be trusted: a read of committed data failed (an I/O error),
   * or a record is damaged (`CorruptRecordError`). The request gets the same error
   * (`StorageFailedError` with `untrusted`); a process hosting the acceptor should stop rather than
   * answer from such a store (`caspaxos acceptor` logs one fatal line and exits 1). A store write
   * that fails is not such an error: its request is refused and the store stays as it was.
   * @default undefined (the request is refused, nothing else happens)
   */
  readonly onUntrusted?: ((error: StorageFailedError) => void) | undefined;
}

/**
 * An `Acceptor` over any `AcceptorStore`: the rules `MemoryAcceptor` runs, with every record read
 * from the store and every write made durable before the reply that depends on it (paper §2.2: the
 * acceptor "persists the ballot number as a promise and returns a confirmation"). Requests on one
 * key run one at a time; different keys run concurrently. Re-opening a store after a crash brings
 * the acceptor back with every promise and accepted state it acknowledged.
 * @example
 * ```ts
 * import { MemoryProposer, StoreAcceptor } from 'caspaxos';
 * import { LmdbStore } from 'caspaxos/lmdb';
 *
 * const acceptors = await Promise.all(
 *   ['a1', 'a2', 'a3'].map(async (address) => StoreAcceptor.open(address, await LmdbStore.open({ path: `../store/data/${address}` }))),
 * );
 * const proposer = new MemoryProposer('p1', acceptors);
 * await proposer.propose('k', () => new TextEncoder().encode('v'));
 * await Promise.all(acceptors.map((a) => a.close())); // also closes the stores
 * ```
 */
export class StoreAcceptor implements Acceptor, Closeable {
  readonly address: string;
  readonly #store: AcceptorStore;
  /** Every write of one turn, as one `writeMany`; absent when the store has no `writeMany`. */
  readonly #groupAll: ((write: StoreWrite) => Promise<void>) | undefined;
  /** Else the record writes of one turn, as one `putMany`; absent when the store has neither. */
  readonly #groupPuts: ((key: string, record: KeyRecord) => Promise<void>) | undefined;
  readonly #debug: DebugGate;
  readonly #scanPageSize: number;
  /** The storage state: refuses growth while the store is full, logs each change of state. */
  readonly #storage: StorageMonitor;
  readonly #onUntrusted: ((error: StorageFailedError) => void) | undefined;
  #minimumAges: Map<string, number>;
  #floor: Ballot;
  /** Per key, the tail of its chain of operations; absent when the key is idle. */
  #locks = new Map<string, Promise<void>>();
  /** The tail of the chain of `rejectByAge` calls (they read-modify-write one table). */
  #agesTail: Promise<void> = Promise.resolve();
  #watchers = new AcceptorWatchers();
  #closed = false;
  #closing: Promise<void> | undefined;

  /**
   * Opens an acceptor over `store`, loading its floor and age table. The store must not be shared
   * with another open acceptor (two would break the one-operation-per-key rule).
   * @param address unique among the acceptors of a cluster; proposers identify acceptors by it.
   */
  static async open(address: string, store: AcceptorStore, options: StoreAcceptorOptions = {}): Promise<StoreAcceptor> {
    if (typeof address !== 'string' || address === '') throw new InvalidArgumentError('an acceptor address must be a non-empty string');
    const pageSize = integerOption(options.scanPageSize, 'scanPageSize', 1, 256);
    const meta = await store.loadMeta();
    return new StoreAcceptor(address, store, meta.floor, meta.ages, pageSize, options);
  }

  private constructor(address: string, store: AcceptorStore, floor: Ballot, ages: readonly Age[], pageSize: number, options: StoreAcceptorOptions) {
    const logger = options.logger;
    this.address = address;
    this.#store = store;
    this.#storage = new StorageMonitor(address, typeof store.capacity === 'function' ? () => (store as Required<Pick<AcceptorStore, 'capacity'>>).capacity() : undefined, logger);
    this.#onUntrusted = options.onUntrusted;
    // One outcome per group: a failed group write fails every operation of the group, with one error.
    const grouped = store as Required<Pick<AcceptorStore, 'writeMany' | 'putMany'>>;
    if (typeof store.writeMany === 'function') {
      const group = new GroupCommit<StoreWrite>((writes) => this.#write(() => grouped.writeMany(writes)));
      this.#groupAll = (write) => group.write(write);
    } else if (typeof store.putMany === 'function') {
      const group = new GroupCommit<readonly [string, KeyRecord]>((entries) => this.#write(() => grouped.putMany(entries)));
      this.#groupPuts = (key, record) => group.write([key, record]);
    }
    this.#floor = floor;
    this.#minimumAges = new Map(ages.map((a) => [a.id, a.counter]));
    this.#scanPageSize = pageSize;
    this.#debug = new DebugGate(logger);
  }

  async prepare(key: string, age: Age, ballot: Ballot, opts?: CallOptions): Promise<PrepareReply> {
    this.#checkUsable(opts);
    checkPrepareRequest(key, age, ballot);
    const reply = await this.#exclusive(key, opts, async (): Promise<PrepareReply> => {
      const rejected = rules.checkAge(age, this.#minimumAges.get(age.id) ?? 0);
      if (rejected !== undefined) return rejected;
      const stored = await this.#get(key);
      const { reply, next } = rules.prepare(stored ?? rules.absentRecord(this.#floor), ballot, this.#floor);
      if (next !== undefined) await this.#put(key, next, stored);
      return reply;
    });
    if (this.#debug.get() !== undefined) this.#debug.acceptorRequest(this.address, 'prepare', key, ballot, age, reply.type);
    return reply;
  }

  async accept(key: string, age: Age, ballot: Ballot, state: State, opts?: AcceptOptions): Promise<AcceptReply> {
    this.#checkUsable(opts);
    const extras = { next: opts?.next, ancestry: checkAcceptRequest(key, age, ballot, state, opts) };
    // Our own copy, taken now: the caller may reuse its buffer while we wait for the lock.
    const own = copyState(state);
    const reply = await this.#exclusive(key, opts, async (): Promise<AcceptReply> => {
      const rejected = rules.checkAge(age, this.#minimumAges.get(age.id) ?? 0);
      if (rejected !== undefined) return rejected;
      const stored = await this.#get(key);
      const { reply, next } = rules.accept(stored ?? rules.absentRecord(this.#floor), ballot, own, this.#floor, extras);
      if (next === undefined) return reply;
      await this.#put(key, next, stored);
      if (this.#watchers.active) this.#watchers.notify(key, () => ({ ballot: next.accepted, state: copyState(next.state) }));
      return reply;
    });
    if (this.#debug.get() !== undefined) this.#debug.acceptorRequest(this.address, 'accept', key, ballot, age, reply.type);
    return reply;
  }

  /**
   * What this acceptor accepted for `key`, without a promise: the store is read, never written.
   *
   * Durability: under the key's lock, like every other operation. A prepare or accept holds the
   * lock until its write is durable (`GroupCommit` resolves only once the group's write is),
   * so a peek that arrives while an accept of the key waits for its commit (the fsync) runs after
   * it, and reports it only once it can no longer be lost; and a write that failed changed nothing
   * the store reports. A peek never reports an accept a crash could take back.
   */
  async peek(key: string, opts?: CallOptions): Promise<PeekReply> {
    this.#checkUsable(opts);
    assertKey(key);
    const reply = await this.#exclusive(key, opts, async (): Promise<PeekReply> => rules.peek((await this.#get(key)) ?? NOTHING_ACCEPTED));
    if (this.#debug.get() !== undefined) this.#debug.acceptorRequest(this.address, 'peek', key, reply.accepted, undefined, reply.type);
    return reply;
  }

  async rejectByAge(ages: readonly Age[], opts?: CallOptions): Promise<void> {
    this.#checkUsable(opts);
    checkAges(ages);
    const run = async (): Promise<void> => {
      const raised = rules.raiseAges((id) => this.#minimumAges.get(id) ?? 0, ages);
      if (raised.length === 0) return;
      // Durable first: garbage collection removes records once every acceptor acknowledged this.
      // Never refused for room: the age table is tiny, and garbage collection frees space.
      await (this.#groupFreeing({ kind: 'raiseAges', ages: raised }) ?? this.#write(() => this.#store.raiseAges(raised)));
      this.#storage.succeeded(false);
      for (const age of raised) this.#minimumAges.set(age.id, age.counter);
    };
    const done = this.#agesTail.then(run);
    this.#agesTail = done.catch(() => {});
    await done;
    this.#debug.get()?.debug({ acceptor: this.address, method: 'rejectByAge', n: ages.length });
  }

  async removeIfEqual(key: string, tombstone: Tombstone, opts?: CallOptions): Promise<RemoveReply> {
    this.#checkUsable(opts);
    checkRemoveRequest(key, tombstone);
    const reply = await this.#exclusive(key, opts, async (): Promise<RemoveReply> => {
      const { reply, floor } = rules.remove(await this.#get(key), tombstone.ballot, this.#floor);
      if (floor === undefined) return reply;
      // Never refused for room: removing a record frees space.
      await (this.#groupFreeing({ kind: 'remove', key, floor }) ?? this.#write(() => this.#store.remove(key, floor)));
      this.#storage.succeeded(false);
      this.#floor = maxBallot(this.#floor, floor);
      // Watchers see the key become empty, under the zero ballot (it has no record any more).
      this.#watchers.notify(key, () => ({ ballot: ZERO_BALLOT, state: null }));
      return reply;
    });
    this.#debug.acceptorRequest(this.address, 'removeIfEqual', key, tombstone.ballot, undefined, reply.type);
    return reply;
  }

  watch(key: string, opts: WatchOptions = {}): AsyncIterable<AcceptedState> {
    assertKey(key);
    // Read and subscribe under the key's lock, so no write slips in between: the consumer sees
    // the current state first, then every later change in order.
    return this.#watchers.watch(key, opts, (channel, subscribe) =>
      this.#exclusive(key, opts, async () => {
        this.#checkUsable(undefined);
        const record = await this.#get(key);
        channel.push({ ballot: record?.accepted ?? ZERO_BALLOT, state: record?.state ?? null });
        subscribe();
      }),
    );
  }

  /**
   * Keys with an accepted state, page by page in the store's order. Not a snapshot: a key added
   * or removed while the listing runs may or may not be listed.
   */
  async *listKeys(opts?: CallOptions): AsyncIterable<string> {
    let after: string | undefined;
    for (;;) {
      this.#checkUsable(opts);
      let page: ReadonlyArray<readonly [string, KeyRecord]>;
      try {
        page = await this.#store.scan({ after, limit: this.#scanPageSize });
      } catch (error) {
        throw this.#reported(readError(error, this.address));
      }
      for (const [key, record] of page) {
        opts?.signal?.throwIfAborted();
        if (!isZeroBallot(record.accepted)) yield key;
      }
      if (page.length < this.#scanPageSize) return;
      after = (page[page.length - 1] as readonly [string, KeyRecord])[0];
    }
  }

  /** The minimum age this acceptor requires of proposer `id` (0 unless garbage collection raised it). */
  minimumAge(id: string): number {
    return this.#minimumAges.get(id) ?? 0;
  }

  /**
   * The storage state: `writable`, `full` (writes that grow the data get `StorageFullError`) or
   * `failed` (the last write failed otherwise), why, since when, and the store's figures (bytes
   * used, quota, bytes free) when it reports them. What `/v1/ready` answers from.
   */
  storageStatus(): StorageStatus {
    return this.#storage.status();
  }

  /** The promise every absent key behaves as having (see `MemoryAcceptor.tombstoneFloor`). */
  get tombstoneFloor(): Ballot {
    return this.#floor;
  }

  /**
   * Stops taking requests, waits for the ones in progress, ends every watch stream and closes the
   * store. Requests after `close` reject with `UnavailableError`.
   */
  close(): Promise<void> {
    // Every call returns the same promise: a second `close` resolves only once the store is closed.
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#watchers.closeAll();
      await Promise.all([...this.#locks.values(), this.#agesTail]);
      await this.#store.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Writes `record` over `previous` (absent: a new key) durably, with the other writes of this turn
   * when the store can (see `GroupCommit`). A write that grows the data is refused at once while
   * the store reports itself full.
   */
  async #put(key: string, record: KeyRecord, previous: KeyRecord | undefined): Promise<void> {
    const grows = growsData(previous, record);
    if (grows) this.#storage.admitGrowth();
    await (this.#groupAll?.({ kind: 'put', key, record }) ?? this.#groupPuts?.(key, record) ?? this.#write(() => this.#store.put(key, record)));
    this.#storage.succeeded(grows);
  }

  /**
   * A removal or age raise (the writes garbage collection needs to free space) in this turn's
   * group, while the storage is writable; `undefined` (write it alone, as the caller then does)
   * while it is full or failing, or without `writeMany`. A group is refused as a whole, and a
   * store's room check counts every record in it (`LmdbStore` refuses a transaction the disk may
   * not take): near a full disk, the writes that free space must not share the fate of the ones
   * that need room.
   */
  #groupFreeing(write: StoreWrite): Promise<void> | undefined {
    return this.#storage.writable ? this.#groupAll?.(write) : undefined;
  }

  /**
   * Runs one store write; its failure becomes the request's storage error (see `storage.ts`). The
   * caller reports its success (`StorageMonitor.succeeded`), knowing whether it grew the data.
   */
  async #write(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      throw this.#reported(this.#storage.failed(error));
    }
  }

  /** The stored record of `key` (absent: none); a read that fails means the store cannot be trusted. */
  async #get(key: string): Promise<KeyRecord | undefined> {
    try {
      return await this.#store.get(key);
    } catch (error) {
      throw this.#reported(readError(error, this.address));
    }
  }

  /** `failure`, after telling `onUntrusted` when it says the store cannot be trusted. */
  #reported(failure: unknown): unknown {
    if (failure instanceof StorageFailedError && failure.untrusted) {
      try {
        this.#onUntrusted?.(failure);
      } catch {
        // The hook's own failure must not replace the request's answer.
      }
    }
    return failure;
  }

  /**
   * Runs `fn` once every earlier operation on `key` has finished. An abort while waiting rejects
   * without running `fn`; once `fn` runs it finishes (its write may land), like a request already
   * on the wire.
   */
  #exclusive<T>(key: string, opts: CallOptions | undefined, fn: () => Promise<T>): Promise<T> {
    const signal = opts?.signal;
    const guarded = (): Promise<T> => {
      signal?.throwIfAborted();
      return fn();
    };
    const previous = this.#locks.get(key);
    const result = previous === undefined ? guarded() : previous.then(guarded);
    const tail = result.then(
      () => {},
      () => {},
    );
    this.#locks.set(key, tail);
    void tail.then(() => {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    });
    return result;
  }

  #checkUsable(opts: CallOptions | undefined): void {
    opts?.signal?.throwIfAborted();
    if (this.#closed) throw new UnavailableError(`acceptor ${this.address} is closed`);
  }

}
