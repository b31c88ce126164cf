/**
 * An acceptor that keeps its state in memory: the acceptor rules of `core/acceptor-rules` over a
 * `Map`. Each request is checked and applied synchronously, inside one call, so check-and-write is
 * atomic per key; states are copied on the way in and on the way out, so no caller can reach into
 * the acceptor's memory. Useful for tests, simulations, teaching and single-process setups; it
 * loses everything when the process ends.
 */
import * as rules from '../core/acceptor-rules.js';
import type { KeyRecord } from '../core/acceptor-rules.js';
import type { Age } from '../core/age.js';
import { type Ballot, ZERO_BALLOT, isZeroBallot } from '../core/ballot.js';
import type { AcceptReply, AcceptedState, PeekReply, PrepareReply, Promised, RemoveReply, State, Tombstone } from '../core/messages.js';
import { checkAcceptRequest, checkAges, checkPrepareRequest, checkRemoveRequest } from './request-checks.js';
import { AcceptorWatchers } from './watchers.js';
import { type CompactState, fromCompactState, toCompactState } from './compact-state.js';
import { type SharedAccept, type SharedPrepare, type TrustedAcceptor, inProcess } from './in-process.js';
import { InvalidArgumentError } from '../errors.js';
import { DebugGate, type Logger } from '../logger.js';
import type { AcceptOptions, Acceptor, CallOptions, WatchOptions } from '../roles.js';
import { assertKey } from '../internal/validate.js';

/** A record as a `MemoryAcceptor` keeps it: immutable, so acceptors in one process may share it. */
type StoredRecord = KeyRecord<CompactState>;

/** What a key that was never written (and no garbage collection removed) behaves as. Shared. */
const NEVER_WRITTEN: StoredRecord = rules.absentRecord(ZERO_BALLOT);

/** Options of `MemoryAcceptor`. */
export interface MemoryAcceptorOptions {
  /**
   * Receives a debug record per request. Silent when absent.
   * @default undefined (no logging)
   */
  readonly logger?: Logger | undefined;
}

/**
 * A snapshot of what an acceptor holds for one key, as returned by {@link MemoryAcceptor.inspect}.
 * @deprecated Use {@link KeyRecord}: one name for the per-key record everywhere.
 */
export type AcceptorRecord = KeyRecord;

/**
 * An {@link Acceptor} whose records live in a `Map`: each request runs the acceptor rules
 * ({@link acceptorRules}) synchronously, so check-and-write is atomic per key, and states are
 * copied in and out. Not durable: it forgets everything, promises included, when the process ends.
 * For tests, simulations and single-process clusters; deploy {@link StoreAcceptor} over a durable
 * {@link AcceptorStore} instead (`LmdbStore` from `caspaxos/lmdb`), or `RedisAcceptor` from
 * `caspaxos/redis`. A {@link MemoryProposer} in the same process calls it through a trusted path
 * (see {@link MemoryProposerOptions.inProcess}) with the same rules and replies.
 * @example
 * ```ts
 * import { MemoryAcceptor, MemoryProposer } from 'caspaxos';
 *
 * const acceptors = ['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address));
 * const proposer = new MemoryProposer('p1', acceptors);
 * await proposer.propose('k', () => new TextEncoder().encode('v'));
 * acceptors[0]?.inspect('k'); // { promise, accepted: { counter: 1, id: 'p1' }, state }
 * ```
 */
export class MemoryAcceptor implements Acceptor {
  readonly address: string;
  /** The records and the rules over them; the public methods validate, then call it. */
  readonly #table: RecordTable;

  /**
   * @param address unique among the acceptors of a cluster; proposers identify acceptors by it.
   * @throws {@link InvalidArgumentError} for an empty address.
   */
  constructor(address: string, options: MemoryAcceptorOptions = {}) {
    if (typeof address !== 'string' || address === '') throw new InvalidArgumentError('an acceptor address must be a non-empty string');
    this.address = address;
    this.#table = new RecordTable(address, new DebugGate(options.logger));
  }

  /**
   * Phase 1 (paper §2.2): promises `ballot` if it is above both the key's promise and its accepted
   * ballot, and answers with the accepted state; otherwise a conflict naming the higher ballot, or
   * an age rejection for a proposer left out of a garbage collection. Protocol outcomes are reply
   * values, never errors.
   * @throws {@link InvalidArgumentError} for a malformed key, age or ballot (nothing changes).
   * @throws `signal.reason` when the signal has aborted.
   */
  async prepare(key: string, age: Age, ballot: Ballot, opts?: CallOptions): Promise<PrepareReply> {
    opts?.signal?.throwIfAborted();
    checkPrepareRequest(key, age, ballot);
    return this.#table.prepare(key, age, ballot, undefined);
  }

  /**
   * Phase 2 (paper §2.2): stores `state` under `ballot` if the ballot is at least the key's promise
   * and above its accepted ballot; with {@link AcceptOptions.next}, also promises that ballot (one
   * round trip, paper §2.2.1). Otherwise a conflict or an age rejection, as reply values.
   * @throws {@link InvalidArgumentError} for a malformed key, age, ballot, state or option
   *   (nothing changes).
   * @throws `signal.reason` when the signal has aborted.
   */
  async accept(key: string, age: Age, ballot: Ballot, state: State, opts?: AcceptOptions): Promise<AcceptReply> {
    opts?.signal?.throwIfAborted();
    const ancestry = checkAcceptRequest(key, age, ballot, state, opts);
    return this.#table.acceptCopy(key, age, ballot, state, opts?.next, ancestry);
  }

  /**
   * What this acceptor accepted for `key`, without a promise: nothing is stored, no record is
   * created. The state is the state: a memory acceptor has nothing pending to make durable.
   */
  async peek(key: string, opts?: CallOptions): Promise<PeekReply> {
    opts?.signal?.throwIfAborted();
    assertKey(key);
    return this.#table.peek(key);
  }

  /**
   * Garbage collection step c (paper §3.1): raises the minimum age required of each proposer named
   * (never lowers one), so messages sent before step b are rejected.
   * @throws {@link InvalidArgumentError} for a malformed age.
   */
  async rejectByAge(ages: readonly Age[], opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    checkAges(ages);
    const table = this.#table;
    const raised = rules.raiseAges((id) => table.minimumAge(id), ages);
    for (const age of raised) table.minimumAges.set(age.id, age.counter);
    table.debug.get()?.debug({ acceptor: this.address, method: 'rejectByAge', n: ages.length, raised: raised.length });
  }

  /**
   * Garbage collection step d (paper §3.1): removes the key's record if its accepted ballot is the
   * tombstone's, and raises the tombstone floor to the record's promise; see {@link garbageCollect}.
   * @throws {@link InvalidArgumentError} for a malformed key or tombstone.
   */
  async removeIfEqual(key: string, tombstone: Tombstone, opts?: CallOptions): Promise<RemoveReply> {
    opts?.signal?.throwIfAborted();
    checkRemoveRequest(key, tombstone);
    const table = this.#table;
    const { reply, floor } = rules.remove(table.records.get(key), tombstone.ballot, table.absent.promise);
    if (floor !== undefined) {
      table.records.delete(key);
      table.absent = rules.absentRecord(floor);
      // Watchers see the key become empty, under the zero ballot (it has no record any more).
      table.notify(key, ZERO_BALLOT, null);
    }
    table.debug.acceptorRequest(this.address, 'removeIfEqual', key, tombstone.ballot, undefined, reply.type);
    return reply;
  }

  /**
   * The key's accepted state now, then every state it accepts. A slow consumer skips the oldest
   * waiting states ({@link WatchOptions.bufferSize}) and never holds up the acceptor.
   * @throws {@link InvalidArgumentError} for a malformed key.
   */
  watch(key: string, opts: WatchOptions = {}): AsyncIterable<AcceptedState> {
    assertKey(key);
    const { records, watchers } = this.#table;
    // Synchronous: nothing can change the key between reading it and subscribing.
    return watchers.watch(key, opts, (channel, subscribe) => {
      const record = records.get(key);
      channel.push({ ballot: record?.accepted ?? ZERO_BALLOT, state: fromCompactState(record?.state ?? null) });
      subscribe();
    });
  }

  /** The keys holding an accepted state, as a snapshot taken when the listing starts. */
  async *listKeys(opts?: CallOptions): AsyncIterable<string> {
    const signal = opts?.signal;
    signal?.throwIfAborted();
    // A snapshot, so the listing is stable while proposals keep writing.
    const keys: string[] = [];
    for (const [key, record] of this.#table.records) if (!isZeroBallot(record.accepted)) keys.push(key);
    for (const key of keys) {
      signal?.throwIfAborted();
      yield key;
    }
  }

  /**
   * A copy of what this acceptor holds for `key`, or `undefined` when it holds nothing (never
   * prepared, or removed by garbage collection). For tests and teaching.
   */
  inspect(key: string): KeyRecord | undefined {
    const record = this.#table.records.get(key);
    if (record === undefined) return undefined;
    return { promise: record.promise, accepted: record.accepted, state: fromCompactState(record.state), ancestry: record.ancestry };
  }

  /** The minimum age this acceptor requires of proposer `id` (0 unless garbage collection raised it). */
  minimumAge(id: string): number {
    return this.#table.minimumAge(id);
  }

  /**
   * The promise every absent key behaves as having: the highest promise of any record garbage
   * collection removed here (`ZERO_BALLOT` if none). See `absentRecord` in the acceptor rules.
   */
  get tombstoneFloor(): Ballot {
    return this.#table.absent.promise;
  }

  /** Number of keys with a record (for tests and memory accounting). */
  get size(): number {
    return this.#table.records.size;
  }

  /**
   * The in-process path (see `in-process.ts` and the README): the same rules without the
   * re-validation, for a `MemoryProposer` in this process, which validated the request already.
   * Offered only while `prepare`, `accept` and `peek` are this class's own: a subclass or wrapper that
   * overrides them (to count, delay or break requests) must see every request. A wrapper made with
   * `Object.create` has no records of its own and gets `undefined` too.
   * @internal
   */
  [inProcess](): TrustedAcceptor | undefined {
    return this.prepare === PUBLIC_PREPARE && this.accept === PUBLIC_ACCEPT && this.peek === PUBLIC_PEEK && #table in this ? this.#table : undefined;
  }
}

const { prepare: PUBLIC_PREPARE, accept: PUBLIC_ACCEPT, peek: PUBLIC_PEEK } = MemoryAcceptor.prototype;

/**
 * One acceptor's records and the acceptor rules over them, on requests already validated: by
 * `MemoryAcceptor`'s public methods, or by an in-process proposer (`TrustedAcceptor`). Each
 * request is checked and applied synchronously, inside one call, so check-and-write is atomic per
 * key.
 *
 * Records are immutable and replaced on every change, so one record can serve every acceptor of a
 * process that stores it (`SharedAccept`, `SharedPrepare`), and one `Map` entry pointing to it is
 * all an acceptor adds per key. A state is kept in compact form (`CompactState`): copied in once
 * (by the acceptor, or once per phase for all acceptors on the in-process path) and out again for
 * every reader, so no caller can reach the kept bytes.
 */
class RecordTable implements TrustedAcceptor {
  readonly records = new Map<string, StoredRecord>();
  readonly minimumAges = new Map<string, number>();
  /** The record an absent key behaves as (its promise is the tombstone floor). */
  absent: StoredRecord = NEVER_WRITTEN;
  readonly watchers = new AcceptorWatchers();

  constructor(
    readonly address: string,
    readonly debug: DebugGate,
  ) {}

  /** The minimum age required of proposer `id` (0 unless garbage collection raised it). */
  minimumAge(id: string): number {
    // Most acceptors never see a garbage collection: skip the lookup.
    return this.minimumAges.size === 0 ? 0 : (this.minimumAges.get(id) ?? 0);
  }

  prepare(key: string, age: Age, ballot: Ballot, shared: SharedPrepare | undefined): PrepareReply {
    const reply = rules.checkAge(age, this.minimumAge(age.id)) ?? this.#prepare(key, ballot, shared);
    if (this.debug.get() !== undefined) this.debug.acceptorRequest(this.address, 'prepare', key, ballot, age, reply.type);
    return reply;
  }

  #prepare(key: string, ballot: Ballot, shared: SharedPrepare | undefined): PrepareReply {
    const record = this.records.get(key) ?? this.absent;
    // Another acceptor of the phase promised the same ballot from this very record: the same
    // verdict, the same new record (records are immutable).
    if (shared !== undefined && shared.promisedFrom === record) {
      this.records.set(key, shared.promisedTo as StoredRecord);
      return shared.promisedReply as Promised;
    }
    // `rules.prepare`, with the record and the reply built here, once: the rule's test decides
    // (`rules.promises`), and the new record is the one `rules.prepare` stores.
    if (!rules.promises(record, ballot)) return rules.conflictWith(record, this.absent.promise);
    const to: StoredRecord = { promise: ballot, accepted: record.accepted, state: record.state, ancestry: record.ancestry };
    this.records.set(key, to);
    // The reply gets its own copy: the change function may mutate it.
    const promised: Promised = { type: 'promised', accepted: record.accepted, state: fromCompactState(record.state), ancestry: record.ancestry };
    if (shared !== undefined) {
      shared.promisedFrom = record;
      shared.promisedTo = to;
      shared.promisedReply = promised;
    }
    return promised;
  }

  peek(key: string): PeekReply {
    // The absent record's floor is not reported: a peek reports accepted states only.
    const { accepted, state } = rules.peek(this.records.get(key) ?? NEVER_WRITTEN);
    if (this.debug.get() !== undefined) this.debug.acceptorRequest(this.address, 'peek', key, accepted, undefined, 'peeked');
    return { type: 'peeked', accepted, state: fromCompactState(state) };
  }

  accept(key: string, age: Age, shared: SharedAccept): AcceptReply {
    const { record } = shared;
    const reply = rules.checkAge(age, this.minimumAge(age.id)) ?? this.#store(key, record, shared.reply);
    if (this.debug.get() !== undefined) this.debug.acceptorRequest(this.address, 'accept', key, record.accepted, age, reply.type);
    return reply;
  }

  /** `accept` through the public method: the state is copied here, for this acceptor alone. */
  acceptCopy(key: string, age: Age, ballot: Ballot, state: State, next: Ballot | undefined, ancestry: readonly Ballot[] | undefined): AcceptReply {
    let reply: AcceptReply | undefined = rules.checkAge(age, this.minimumAge(age.id));
    if (reply === undefined) {
      const current = this.records.get(key) ?? this.absent;
      if (rules.accepts(current, ballot)) {
        // Copied once the rule accepts; the caller keeps its buffer and may reuse it. The copy
        // shares the state it replaces when the bytes are the same (an identity read).
        const accepted = rules.acceptance(ballot, toCompactState(state, current.state), { next, ancestry });
        reply = this.#store(key, accepted.next, accepted.reply);
      } else {
        reply = rules.conflictWith(current, this.absent.promise);
      }
    }
    if (this.debug.get() !== undefined) this.debug.acceptorRequest(this.address, 'accept', key, ballot, age, reply.type);
    return reply;
  }

  /** Stores `next` for `key` if the accept rule admits its ballot; answers `reply` or the conflict. */
  #store(key: string, next: StoredRecord, reply: AcceptReply): AcceptReply {
    const current = this.records.get(key) ?? this.absent;
    if (!rules.accepts(current, next.accepted)) return rules.conflictWith(current, this.absent.promise);
    this.records.set(key, next);
    if (this.watchers.active) this.notify(key, next.accepted, next.state);
    return reply;
  }

  notify(key: string, ballot: Ballot, state: CompactState): void {
    this.watchers.notify(key, () => ({ ballot, state: fromCompactState(state) }));
  }
}
