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
import type { AcceptReply, AcceptedState, PrepareReply, RemoveReply, State, Tombstone } from '../core/messages.js';
import { checkAcceptRequest, checkAges, checkPrepareRequest, checkRemoveRequest } from './request-checks.js';
import { AcceptorWatchers } from './watchers.js';
import { type CompactState, fromCompactState, toCompactState } from './compact-state.js';
import { InvalidArgumentError } from '../errors.js';
import { DebugGate, type Logger } from '../logger.js';
import type { AcceptOptions, Acceptor, CallOptions, WatchOptions } from '../roles.js';
import { assertKey } from '../internal/validate.js';

/** An acceptor's record of one key, updated in place (see `#store`). */
interface CompactRecord {
  promise: Ballot;
  accepted: Ballot;
  state: CompactState;
  ancestry: readonly Ballot[] | undefined;
}

/** Options of `MemoryAcceptor`. */
export interface MemoryAcceptorOptions {
  /**
   * Receives a debug record per request. Silent when absent.
   * @default undefined (no logging)
   */
  readonly logger?: Logger | undefined;
}

/**
 * A snapshot of what an acceptor holds for one key, as returned by `inspect`.
 * @deprecated Use `KeyRecord`: one name for the per-key record everywhere.
 */
export type AcceptorRecord = KeyRecord;

/**
 * An `Acceptor` whose records live in a `Map`: each request runs the acceptor rules synchronously,
 * so check-and-write is atomic per key, and states are copied in and out. Not durable: it forgets
 * everything, promises included, when the process ends. For tests, simulations and single-process
 * clusters; deploy `StoreAcceptor` over a durable `AcceptorStore` instead.
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
  #records = new Map<string, CompactRecord>();
  #minimumAges = new Map<string, number>();
  #absent: KeyRecord<CompactState> = rules.absentRecord(ZERO_BALLOT);
  #watchers = new AcceptorWatchers();
  readonly #debug: DebugGate;

  /**
   * @param address unique among the acceptors of a cluster; proposers identify acceptors by it.
   */
  constructor(address: string, options: MemoryAcceptorOptions = {}) {
    if (typeof address !== 'string' || address === '') throw new InvalidArgumentError('an acceptor address must be a non-empty string');
    this.address = address;
    this.#debug = new DebugGate(options.logger);
  }

  async prepare(key: string, age: Age, ballot: Ballot, opts?: CallOptions): Promise<PrepareReply> {
    opts?.signal?.throwIfAborted();
    checkPrepareRequest(key, age, ballot);
    const reply = this.#prepare(key, age, ballot);
    if (this.#debug.get() !== undefined) this.#debug.acceptorRequest(this.address, 'prepare', key, ballot, age, reply.type);
    return reply;
  }

  #prepare(key: string, age: Age, ballot: Ballot): PrepareReply {
    const rejected = rules.checkAge(age, this.#minimumAges.get(age.id) ?? 0);
    if (rejected !== undefined) return rejected;
    const record = this.#records.get(key);
    const { reply, next } = rules.prepare(record ?? this.#absent, ballot, this.#absent.promise);
    if (next !== undefined) this.#store(key, record, next);
    // The reply gets its own copy: the change function may mutate it.
    return reply.type === 'promised' ? { ...reply, state: fromCompactState(reply.state) } : reply;
  }

  async accept(key: string, age: Age, ballot: Ballot, state: State, opts?: AcceptOptions): Promise<AcceptReply> {
    opts?.signal?.throwIfAborted();
    const ancestry = checkAcceptRequest(key, age, ballot, state, opts);
    const next = opts?.next;
    const reply = this.#accept(key, age, ballot, state, next, ancestry);
    if (this.#debug.get() !== undefined) this.#debug.acceptorRequest(this.address, 'accept', key, ballot, age, reply.type);
    return reply;
  }

  #accept(key: string, age: Age, ballot: Ballot, state: State, nextBallot: Ballot | undefined, ancestry: readonly Ballot[] | undefined): AcceptReply {
    const rejected = rules.checkAge(age, this.#minimumAges.get(age.id) ?? 0);
    if (rejected !== undefined) return rejected;
    const record = this.#records.get(key);
    // Store a copy (made once, before the rule, which keeps it if it accepts): the caller keeps its
    // buffer and may reuse it.
    const { reply, next } = rules.accept(record ?? this.#absent, ballot, toCompactState(state), this.#absent.promise, { next: nextBallot, ancestry });
    if (next === undefined) return reply;
    this.#store(key, record, next);
    if (this.#watchers.active) this.#notify(key, next.accepted, next.state);
    return reply;
  }

  async rejectByAge(ages: readonly Age[], opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    checkAges(ages);
    const raised = rules.raiseAges((id) => this.#minimumAges.get(id) ?? 0, ages);
    for (const age of raised) this.#minimumAges.set(age.id, age.counter);
    this.#debug.get()?.debug({ acceptor: this.address, method: 'rejectByAge', n: ages.length, raised: raised.length });
  }

  async removeIfEqual(key: string, tombstone: Tombstone, opts?: CallOptions): Promise<RemoveReply> {
    opts?.signal?.throwIfAborted();
    checkRemoveRequest(key, tombstone);
    const { reply, floor } = rules.remove(this.#records.get(key), tombstone.ballot, this.#absent.promise);
    if (floor !== undefined) {
      this.#records.delete(key);
      this.#absent = rules.absentRecord(floor);
      // Watchers see the key become empty, under the zero ballot (it has no record any more).
      this.#notify(key, ZERO_BALLOT, null);
    }
    this.#debug.acceptorRequest(this.address, 'removeIfEqual', key, tombstone.ballot, undefined, reply.type);
    return reply;
  }

  watch(key: string, opts: WatchOptions = {}): AsyncIterable<AcceptedState> {
    assertKey(key);
    // Synchronous: nothing can change the key between reading it and subscribing.
    return this.#watchers.watch(key, opts, (channel, subscribe) => {
      const record = this.#records.get(key);
      channel.push({ ballot: record?.accepted ?? ZERO_BALLOT, state: fromCompactState(record?.state ?? null) });
      subscribe();
    });
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
  inspect(key: string): KeyRecord | undefined {
    const record = this.#records.get(key);
    if (record === undefined) return undefined;
    return { promise: record.promise, accepted: record.accepted, state: fromCompactState(record.state), ancestry: record.ancestry };
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

  /**
   * Stores the rule's verdict for `key`: a new record for a new key, else the fields of the one
   * there, in place. Records live long, so replacing them on every write (the rules return a new
   * one) would keep the old generation of the heap busy; the rule's short-lived object dies young.
   */
  #store(key: string, record: CompactRecord | undefined, next: KeyRecord<CompactState>): void {
    if (record === undefined) {
      this.#records.set(key, { promise: next.promise, accepted: next.accepted, state: next.state, ancestry: next.ancestry });
      return;
    }
    record.promise = next.promise;
    record.accepted = next.accepted;
    record.state = next.state;
    record.ancestry = next.ancestry;
  }

  #notify(key: string, ballot: Ballot, state: CompactState): void {
    this.#watchers.notify(key, () => ({ ballot, state: fromCompactState(state) }));
  }

}
