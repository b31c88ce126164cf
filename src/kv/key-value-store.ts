/**
 * A typed key-value store over any `Proposer`: get, set, update, compare-and-set, delete and watch,
 * each value with a version usable as a fencing token.
 *
 * Every operation is one or a few proposals on the key's register (a read too: paper §2.2, a read
 * is the identity change, which is what makes it linearizable). The register holds a small header
 * and the codec's bytes (`record-format.ts`).
 *
 * ## Versions
 *
 * A version is `(epoch, sequence)`, rendered as one `bigint` (`epoch * 2^32 + sequence`). The
 * sequence counts writes within one *life* of the key (from its creation to its deletion); the
 * epoch comes from a cluster-wide counter register under a reserved key (`epochKey`), incremented
 * once per creation. A counter kept in the key's own state alone would restart after a delete:
 * garbage collection (paper §3.1) removes the key's record from every acceptor, so nothing of the
 * old life is left to continue from.
 *
 * Creating a key (writing a value where the register is absent: never written, a tombstone, or a
 * creation marker) takes rounds:
 *   1. a proposal that writes a fresh *creation marker* (a random token; it reads as absent) if the
 *      state is empty, or keeps the marker already there. Its result is the marker M;
 *   2. an increment of the epoch counter, invoked after 1 returned: its result is E;
 *   3. a proposal that writes `(E, 1)` if the state is still M (else it goes back to 1, or, if the
 *      key was created meanwhile, simply writes over that value as any write does).
 * A write over a value at `(e, s)` writes `(e, s + 1)`; at `s = MAX_SEQUENCE` it takes a new epoch
 * the same way, with that value in the place of M.
 *
 * Claim: along the key's history (the order of its states in the register's linearization, across
 * deletes and garbage collections), the versions of its values strictly increase.
 * Proof. `(e, s + 1) > (e, s)`, so it suffices that a value `(E, 1)` written in step 3 over a base
 * B (a marker, or a value at `MAX_SEQUENCE`) is above every value R earlier in the history. R's
 * epoch e_R came from an increment I_R that returned before the first value of epoch e_R, `(e_R, 1)`,
 * was proposed (epochs are used only after their increment returned; sequences only grow within an
 * epoch, and a life only starts at `(e_R, 1)`). `(e_R, 1)` is at or before R, so before `(E, 1)`;
 * B is immediately before `(E, 1)` (step 3 found it current), so `(e_R, 1)` is at or before B:
 *  - `(e_R, 1)` is B itself (a rollover from epoch e_R = B's epoch): I_R returned before B was written, B was
 *    written before step 1 returned it, and I (our increment) was invoked after that;
 *  - `(e_R, 1)` before B: I_R returned before `(e_R, 1)` was proposed, which took effect before B
 *    did (linearizability of the key's register: effects happen between invocation and response,
 *    in history order), B took effect before step 1 returned, and I was invoked after that.
 * Either way I_R returned before I was invoked, so, the counter being linearizable and only ever
 * incremented, e_R < E, and R < `(E, 1)`. Markers are unique (random 64-bit tokens, a fresh one per
 * marker written), so "the state is still M" means the same occurrence of M as in step 1. The counter
 * key is never deleted (the store refuses it), and the store only uses epochs whose increment
 * returned. ∎ (Garbage collection keeps the register linearizable, paper §3.1, and this is all the
 * proof needs of it.) `test/kv/versions.test.ts` checks the claim across delete + GC + re-create,
 * including the interleaving that breaks the naive "increment, then write" scheme.
 *
 * Cost: a write to an existing key is one proposal; creating a key is three (and every creation in
 * the cluster increments the one epoch counter: batched per proposer, still a shared hot spot).
 *
 * ## What each call returns, and failures
 *
 * Each value written carries a random 64-bit *writer* id of the operation, so a compare-and-set
 * tells its own write from an equal one written by someone else. Errors are the proposer's:
 * `PrepareFailedError` (the operation had no visible effect: at most a creation marker, which reads
 * as absent, was written), `AcceptFailedError` (outcome unknown), `AgeError`, the signal's reason;
 * plus `StateFormatError` when the key holds a state this store cannot read (nothing is written
 * over it), `InvalidArgumentError` for bad input (nothing is written), and `UnavailableError` once
 * the store is closed. Nothing is retried here beyond what the proposer retries: retrying a `set`
 * after an unknown outcome could apply it twice.
 *
 * ## Deletion
 *
 * `delete` writes the tombstone, then (with `gc` options) collects it in the background; see
 * `background-collector.ts`. Without `gc`, tombstones stay on the acceptors (a few bytes each), and
 * so do the empty records that reads of never-written keys leave (a read is a proposal). `sweep()`
 * collects every tombstone and stale creation marker the cluster holds.
 *
 * Pure module: no Node built-ins; time and randomness are injectable.
 */
import type { Closeable } from '../internal/async-dispose.js';
import { AcceptFailedError, InvalidArgumentError, PrepareFailedError, StateFormatError, UnavailableError } from '../errors.js';
import type { Ballot } from '../core/ballot.js';
import { DebugGate, type Logger } from '../logger.js';
import { type Sleep, timerSleep } from '../retry.js';
import type { CallOptions, ChangeFunc, Proposer, WatchOptions } from '../roles.js';
import { assertFunction, assertKey, integerOption } from '../internal/validate.js';
import type { ProgressListener } from '../cluster/options.js';
import { BackgroundCollector, type CollectionOutcome, type GarbageCollectionOptions } from './background-collector.js';
import { type Codec, isCodec, jsonCodec } from './codec.js';
import {
  MAX_EPOCH,
  MAX_SEQUENCE,
  type RegisterContent,
  type ValueRecord,
  composeVersion,
  encodeCreationMarker,
  encodeEpochCounter,
  encodeValueRecord,
  parseEpochCounter,
  parseState,
} from './record-format.js';

/** The default reserved key of the epoch counter. Keys starting with NUL are unlikely user keys. */
export const DEFAULT_EPOCH_KEY = '\u0000caspaxos/kv/epoch';

/** Options of `KeyValueStore`. */
export interface KeyValueStoreOptions<T> {
  /** The proposer every operation goes through. */
  readonly proposer: Proposer;
  /**
   * Turns values into bytes and back. Every store of a cluster that shares keys must use the same.
   * @default jsonCodec()
   */
  readonly codec?: Codec<T> | undefined;
  /**
   * Garbage collection of deleted keys: without it, `delete` leaves its tombstone on the acceptors
   * and `sweep()` is refused. `gc.proposers` must include `proposer`. Each collection raises every
   * proposer's age (paper §3.1 step b), so a write in flight on another key at that moment may end
   * with `AcceptFailedError` (outcome unknown; `get` reads again by itself).
   * @default undefined (no garbage collection)
   */
  readonly gc?: GarbageCollectionOptions | undefined;
  /**
   * Receives debug records, and a warning when a collection gives up. Silent when absent.
   * @default undefined (no logging)
   */
  readonly logger?: Logger | undefined;
  /**
   * The reserved key of the cluster-wide epoch counter. Every store that writes a key must use the
   * same epoch key, and nothing may ever delete it. The store refuses it as a user key.
   * @default DEFAULT_EPOCH_KEY ('\u0000caspaxos/kv/epoch')
   */
  readonly epochKey?: string | undefined;
  /**
   * A source of random 64-bit unsigned integers, for writer ids and creation-marker tokens. Must
   * not repeat in practice: a repeated marker token could let a creation use a stale epoch.
   * @default crypto.getRandomValues
   */
  readonly random64?: (() => bigint) | undefined;
  /**
   * How many rounds (see "Versions") one operation may take before it gives up with
   * `PrepareFailedError`. Rounds repeat only while other clients delete the key under it.
   * @default 16
   */
  readonly maxRounds?: number | undefined;
  /**
   * How long a creation marker must have been seen by sweeps (the first that found it, and a later
   * one that finds it unchanged) before a sweep removes it as abandoned. A creator still working
   * would only have to start again, so this is about liveness, not safety: keep it well above the
   * time a creation takes under contention.
   * @default 60000
   */
  readonly staleMarkerMs?: number | undefined;
  /**
   * The clock `staleMarkerMs` is measured with, in milliseconds.
   * @default performance.now
   */
  readonly now?: (() => number) | undefined;
}

/** A value and its version. */
export interface Entry<T> {
  /** The value, decoded by the codec. */
  readonly value: T;
  /** Strictly increasing over the key's whole history, across deletes and garbage collection. */
  readonly version: bigint;
}

/**
 * What `compareAndSet` resolves with: `ok: true` and the new version when it wrote, or `ok: false`
 * and what the key holds (`undefined`: absent) when the expected version did not match.
 */
export type CompareAndSetResult<T> =
  | {
      /** The version matched and the value was written. */
      readonly ok: true;
      /** The new value's version. */
      readonly version: bigint;
    }
  | {
      /** The version did not match; nothing was written. */
      readonly ok: false;
      /** What the key holds (`undefined`: absent). */
      readonly current: Entry<T> | undefined;
    };

/** Options of `KeyValueStore.sweep`. */
export interface SweepOptions extends CallOptions {
  /**
   * Receives the sweep's progress (step `sweep`, in keys): once the keys are listed, then after
   * each key.
   * @default undefined (no progress reports)
   */
  readonly onProgress?: ProgressListener | undefined;
}

/** What `sweep` found and did. */
export interface SweepReport {
  /** Keys listed (the epoch key excluded). */
  readonly keys: number;
  /** Tombstones found (empty states, including stale creation markers turned into tombstones). */
  readonly tombstones: number;
  /** Tombstones removed from every acceptor. */
  readonly collected: number;
  /** Creation markers seen in two sweeps in a row and removed (their creator is gone). */
  readonly staleMarkers: number;
  /** Keys whose state is not this store's format (left alone). */
  readonly foreign: number;
  /** Keys that could not be read, or whose collection failed or was abandoned (retried next sweep). */
  readonly failed: number;
}

/** A decision of an operation about one state: write a value, write the tombstone, or leave it. */
type Decision = { readonly kind: 'put'; readonly payload: Uint8Array } | { readonly kind: 'delete' } | { readonly kind: 'keep' };

/** An operation: its decision given the current value record (`undefined`: absent). Must be pure. */
type Decide = (current: ValueRecord | undefined) => Decision;

/** The state a creation or rollover waits to replace: a marker token, or a value's version. */
type Base = { readonly kind: 'creating'; readonly token: bigint } | { readonly kind: 'value'; readonly epoch: bigint; readonly sequence: number };

type Outcome =
  | { readonly kind: 'written'; readonly record: ValueRecord }
  /** The key is absent after the call: it deleted it, or found it absent and wrote no value. */
  | { readonly kind: 'absent' }
  /** The call left a value or a creation marker as it found it. */
  | { readonly kind: 'kept'; readonly current: RegisterContent };

const KEEP: Decision = Object.freeze({ kind: 'keep' });
const DELETE: Decision = Object.freeze({ kind: 'delete' });
const identity: ChangeFunc = (state) => state;

/**
 * A typed key-value store over any `Proposer`: `get`, `set`, `update`, `compareAndSet`, `delete`
 * and `watch`, each value with a version (a `bigint`) that strictly increases over the key's whole
 * history, across deletes and garbage collection, so it can serve as a fencing token. Every
 * operation is one or a few proposals on the key's register; reads are proposals too (the identity
 * change, paper §2.2), hence linearizable. Values are JSON by default (`codec`); with `gc`, deleted
 * keys are collected in the background (paper §3.1).
 * @example
 * ```ts
 * import { KeyValueStore, MemoryAcceptor, MemoryProposer } from 'caspaxos';
 *
 * const acceptors = ['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address));
 * const proposer = new MemoryProposer('p1', acceptors);
 * await using store = new KeyValueStore<{ balance: number }>({ proposer, gc: { proposers: [proposer], acceptors } });
 *
 * const version = await store.set('acct:1', { balance: 10 });
 * const result = await store.compareAndSet('acct:1', version, { balance: 15 }); // { ok: true, version }
 * await store.delete('acct:1'); // the tombstone is collected in the background
 * ```
 */
export class KeyValueStore<T> implements Closeable {
  readonly #proposer: Proposer;
  readonly #codec: Codec<T>;
  readonly #epochKey: string;
  readonly #random64: () => bigint;
  readonly #maxRounds: number;
  readonly #logger: Logger | undefined;
  readonly #debug: DebugGate;
  readonly #close = new AbortController();
  readonly #collector: BackgroundCollector | undefined;
  readonly #sleep: Sleep;
  #closing: Promise<void> | undefined;
  /** The sweeps, one after another. */
  #sweeps: Promise<unknown> = Promise.resolve();
  #sweepLoop: Promise<void> = Promise.resolve();
  /** Creation markers the last sweep found, by key, and since when: old enough, they are stale. */
  #markersSeen = new Map<string, { readonly token: bigint; readonly since: number }>();
  readonly #staleMarkerMs: number;
  readonly #now: () => number;

  constructor(options: KeyValueStoreOptions<T>) {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('KeyValueStore needs an options object');
    const { proposer, gc } = options;
    if (typeof proposer?.propose !== 'function' || typeof proposer.watch !== 'function' || typeof proposer.listKeys !== 'function') {
      throw new InvalidArgumentError('options.proposer must be a Proposer');
    }
    const codec = options.codec ?? (jsonCodec() as Codec<T>);
    if (!isCodec(codec)) throw new InvalidArgumentError('options.codec must have a name, encode and decode');
    const epochKey = options.epochKey ?? DEFAULT_EPOCH_KEY;
    if (typeof epochKey !== 'string' || epochKey === '') throw new InvalidArgumentError('options.epochKey must be a non-empty string');
    const maxRounds = integerOption(options.maxRounds, 'options.maxRounds', 2, 16);
    if (options.random64 !== undefined) assertFunction(options.random64, 'options.random64');
    this.#random64 = options.random64 ?? cryptoRandom64();
    this.#proposer = proposer;
    this.#codec = codec;
    this.#epochKey = epochKey;
    this.#maxRounds = maxRounds;
    const staleMarkerMs = options.staleMarkerMs ?? 60_000;
    if (typeof staleMarkerMs !== 'number' || !(staleMarkerMs >= 0)) throw new InvalidArgumentError(`staleMarkerMs must be a number >= 0, got ${String(staleMarkerMs)}`);
    this.#staleMarkerMs = staleMarkerMs;
    this.#now = options.now ?? (() => globalThis.performance.now());
    this.#logger = options.logger;
    this.#debug = new DebugGate(options.logger);
    this.#sleep = gc?.sleep ?? timerSleep;
    if (gc !== undefined) {
      if (typeof gc !== 'object' || gc === null) throw new InvalidArgumentError('options.gc must be an object');
      const own = proposer as Partial<{ address: unknown }>;
      const included = Array.isArray(gc.proposers) && gc.proposers.some((p) => p === proposer || (own.address !== undefined && (p as Partial<{ address: unknown }>).address === own.address));
      if (!included) throw new InvalidArgumentError("gc.proposers must include the store's proposer (garbage collection fences every proposer)");
      const interval = gc.sweepIntervalMs;
      if (interval !== undefined && (typeof interval !== 'number' || !Number.isFinite(interval) || interval <= 0)) {
        throw new InvalidArgumentError(`gc.sweepIntervalMs must be a finite number > 0, got ${String(interval)}`);
      }
      this.#collector = new BackgroundCollector(gc, options.logger, this.#close.signal);
      if (interval !== undefined) this.#sweepLoop = this.#runSweeps(interval);
    }
  }

  /** The codec's name, e.g. `json`. */
  get codecName(): string {
    return this.#codec.name;
  }

  /** Deleted keys whose background collection is running or waiting for a retry. */
  get pendingCollections(): number {
    return this.#collector?.pending ?? 0;
  }

  /**
   * The key's value and version, or `undefined` when it is absent (never written, deleted, or being
   * created). A linearizable read: an identity proposal, which re-writes the current state. An
   * identity proposal whose outcome is unknown (`AcceptFailedError`, for instance when a garbage
   * collection fenced the proposer mid-round) is read again, up to `maxRounds` times: applying
   * the identity twice changes nothing, so the retry is always safe.
   */
  async get(key: string, opts?: CallOptions): Promise<Entry<T> | undefined> {
    this.#assertOpen();
    this.#assertKey(key);
    for (let round = 1; ; round++) {
      try {
        const { state } = await this.#proposer.propose(key, identity, signalOnly(opts));
        return this.#entryOf(key, parseState(key, state));
      } catch (error) {
        if (!(error instanceof AcceptFailedError) || round >= this.#maxRounds || opts?.signal?.aborted === true) throw error;
      }
    }
  }

  /** Writes `value`; resolves with its version. Creating the key takes three proposals (see above). */
  async set(key: string, value: T, opts?: CallOptions): Promise<bigint> {
    this.#assertOpen();
    this.#assertKey(key);
    const put: Decision = { kind: 'put', payload: this.#encode(key, value) };
    const outcome = await this.#write(key, () => put, opts);
    if (outcome.kind !== 'written') throw new Error(`internal: set ended with ${outcome.kind}`);
    return versionOf(outcome.record);
  }

  /**
   * Replaces the value with `fn(current)` (`current` is `undefined` when the key is absent) and
   * resolves with the new entry. `fn` must be pure: it may run several times (once per attempt), or
   * on a value that is never written. Returning `undefined` deletes the key (as `delete` does, with
   * garbage collection) and resolves with `undefined`; for an absent key it writes nothing. A value
   * is written (with a new version) even when it equals the current one. `fn` throwing rejects the
   * call with its error, and nothing is written.
   */
  async update(key: string, fn: (current: T | undefined) => T | undefined, opts?: CallOptions): Promise<Entry<T> | undefined> {
    this.#assertOpen();
    this.#assertKey(key);
    assertFunction(fn, 'fn');
    const decide: Decide = (current) => {
      const next = fn(current === undefined ? undefined : this.#decode(key, current.payload));
      if (next === undefined) return current === undefined ? KEEP : DELETE;
      return { kind: 'put', payload: this.#encode(key, next) };
    };
    const outcome = await this.#write(key, decide, opts);
    if (outcome.kind === 'written') return { value: this.#decode(key, outcome.record.payload), version: versionOf(outcome.record) };
    // Absent: a tombstone is there (this call's, or one found: collecting it is owed either way).
    if (outcome.kind === 'absent') this.#collectLater(key);
    return undefined;
  }

  /**
   * Writes `value` if the key's version is `expected` (`null`: if the key is absent) and resolves
   * with `{ ok: true, version }`; else writes nothing and resolves with `{ ok: false, current }`.
   * Safe to retry after an unknown outcome in the sense that it never applies twice: a retry finds
   * the version moved on (and reports `ok: false`, even if the first attempt was the one that moved it).
   */
  async compareAndSet(key: string, expected: bigint | null, value: T, opts?: CallOptions): Promise<CompareAndSetResult<T>> {
    this.#assertOpen();
    this.#assertKey(key);
    if (expected !== null && (typeof expected !== 'bigint' || expected < 0n)) {
      throw new InvalidArgumentError(`expected must be a version (a non-negative bigint) or null for absent, got ${String(expected)}`);
    }
    const put: Decision = { kind: 'put', payload: this.#encode(key, value) };
    const outcome = await this.#write(key, (current) => ((current === undefined ? null : versionOf(current)) === expected ? put : KEEP), opts);
    if (outcome.kind === 'written') return { ok: true, version: versionOf(outcome.record) };
    return { ok: false, current: outcome.kind === 'kept' ? this.#entryOf(key, outcome.current) : undefined };
  }

  /**
   * Deletes the key: writes the tombstone (resolving once it is committed), then, with `gc` options,
   * collects it in the background, retried with backoff until done (see `background-collector.ts`).
   * Deleting an absent key writes a tombstone too (and collects it).
   */
  async delete(key: string, opts?: CallOptions): Promise<void> {
    this.#assertOpen();
    this.#assertKey(key);
    await this.#write(key, () => DELETE, opts);
    this.#collectLater(key);
  }

  /**
   * Yields the key's entry (`undefined` while absent) now, then on each change (each new version, or
   * a change between present and absent), as `proposer.watch` reports them: a slow consumer skips
   * intermediate versions. Ends when the signal aborts, the loop breaks, or the store closes; throws
   * `StateFormatError` if the key comes to hold a state this store cannot read.
   */
  watch(key: string, opts: WatchOptions = {}): AsyncIterable<Entry<T> | undefined> {
    this.#assertOpen();
    this.#assertKey(key);
    return { [Symbol.asyncIterator]: () => this.#watch(key, opts) };
  }

  /**
   * Lists every key of the cluster and, for each (a read, that is an identity proposal, per key):
   * collects tombstones (the durable trace of a delete whose collection never ran: the process died
   * before it, or it gave up), and turns creation markers found by two sweeps in a row (their
   * creator is gone) into tombstones and collects them. States in another format are left alone.
   * Sweeps run one at a time. Needs `gc` options (`InvalidArgumentError` without).
   */
  sweep(opts?: SweepOptions): Promise<SweepReport> {
    if (this.#close.signal.aborted) return Promise.reject(new UnavailableError('the key-value store is closed'));
    const collector = this.#collector;
    if (collector === undefined) return Promise.reject(new InvalidArgumentError('sweep needs the gc options (proposers and acceptors to collect with)'));
    const run = this.#sweeps.then(() => this.#sweepOnce(collector, opts?.signal, opts?.onProgress));
    this.#sweeps = run.catch(() => {});
    return run;
  }

  /** Resolves once no background collection is running (for tests, examples and orderly shutdowns). */
  async idle(): Promise<void> {
    await this.#collector?.idle();
  }

  /**
   * Stops background work: running collections are abandoned (their tombstones stay for the next
   * sweep), the periodic sweep stops, watches end. Later calls reject with `UnavailableError`;
   * calls already running finish. Resolves once the background work has stopped. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#close.abort(new UnavailableError('the key-value store is closed'));
      await Promise.allSettled([this.#collector?.idle(), this.#sweeps, this.#sweepLoop]);
    })();
    return this.#closing;
  }

  /** `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Runs an operation: rounds of proposals (see "Versions") until `decide`'s decision is written,
   * or found to need no write. The outcome is read from the state each proposal resolves with (the
   * state this call's change produced), never from what a change function saw: a proposer may run
   * a change function several times, and report the state an earlier run produced.
   */
  async #write(key: string, decide: Decide, opts: CallOptions | undefined): Promise<Outcome> {
    const callOptions = signalOnly(opts);
    const writer = this.#nextRandom();
    let epoch: bigint | undefined;
    let base: Base | undefined;
    let ballot: Ballot | undefined;
    for (let round = 1; round <= this.#maxRounds; round++) {
      const change = this.#change(key, decide, writer, this.#nextRandom(), epoch, base);
      const result = await this.#proposer.propose(key, change, callOptions);
      ballot = result.ballot;
      const stored = parseState(key, result.state);
      if (stored.kind === 'value' && stored.writer === writer) return { kind: 'written', record: stored };
      // Empty: this call deleted the key, or found it absent and left it so. Either way it is absent
      // now (which of the two is not always knowable: a delete's result looks like a kept tombstone).
      if (stored.kind === 'absent') return { kind: 'absent' };
      // A marker or a value this call did not write: the change left the state as it found it (it
      // writes markers only over the empty state, and a marker reads as absent either way), so its
      // decision on this very state says why (`decide` is pure).
      const decision = decide(stored.kind === 'value' ? stored : undefined);
      if (decision.kind === 'keep') return { kind: 'kept', current: stored };
      if (decision.kind === 'delete') continue; // only if `decide` is not pure: try again
      if (stored.kind === 'creating') base = { kind: 'creating', token: stored.token };
      else if (stored.sequence === MAX_SEQUENCE) base = { kind: 'value', epoch: stored.epoch, sequence: stored.sequence };
      else continue; // only if `decide` is not pure
      // Step 2: invoked after the proposal that returned `base` resolved (the proof needs this order).
      epoch = await this.#nextEpoch(callOptions);
      this.#debug.get()?.debug({ key, round, epoch: String(epoch) }, 'kv: new epoch for a creation');
    }
    throw new PrepareFailedError(key, ballot as Ballot, this.#maxRounds, {
      cause: new Error(`the key was deleted or re-created under this operation in each of its ${this.#maxRounds} rounds`),
    });
  }

  /** One round's change function: pure, given what the round was built with. */
  #change(key: string, decide: Decide, writer: bigint, token: bigint, epoch: bigint | undefined, base: Base | undefined): ChangeFunc {
    return (current) => {
      const stored = parseState(key, current);
      if (stored.kind === 'value') {
        const decision = decide(stored);
        if (decision.kind === 'keep') return current;
        if (decision.kind === 'delete') return null;
        if (stored.sequence < MAX_SEQUENCE) return encodeValueRecord(stored.epoch, stored.sequence + 1, writer, decision.payload);
        if (epoch !== undefined && base?.kind === 'value' && base.epoch === stored.epoch && base.sequence === stored.sequence) {
          if (epoch <= stored.epoch) throw new StateFormatError(this.#epochKey, `the epoch counter (${epoch}) is not above the epoch of key ${JSON.stringify(key)} (${stored.epoch}): was the epoch key deleted?`);
          return encodeValueRecord(epoch, 1, writer, decision.payload);
        }
        return current; // rollover: this value is the base of the next round
      }
      const decision = decide(undefined);
      if (decision.kind === 'keep') return current;
      if (decision.kind === 'delete') return null;
      if (stored.kind === 'creating') {
        if (epoch !== undefined && base?.kind === 'creating' && base.token === stored.token) return encodeValueRecord(epoch, 1, writer, decision.payload);
        return current; // someone's marker (or ours from an earlier round): the base of the next round
      }
      return encodeCreationMarker(token);
    };
  }

  /** Increments the epoch counter; resolves with its new value. */
  async #nextEpoch(callOptions: CallOptions | undefined): Promise<bigint> {
    const key = this.#epochKey;
    const { state } = await this.#proposer.propose(
      key,
      (current) => {
        const counter = parseEpochCounter(key, current);
        if (counter >= MAX_EPOCH) throw new StateFormatError(key, 'the epoch counter is exhausted');
        return encodeEpochCounter(counter + 1n);
      },
      callOptions,
    );
    return parseEpochCounter(key, state);
  }

  #collectLater(key: string): void {
    const collector = this.#collector;
    if (collector === undefined || this.#close.signal.aborted) return;
    void collector.collect(key);
  }

  async #sweepOnce(collector: BackgroundCollector, signal: AbortSignal | undefined, onProgress: ProgressListener | undefined): Promise<SweepReport> {
    const stop = signal === undefined ? this.#close.signal : AbortSignal.any([signal, this.#close.signal]);
    const callOptions = { signal: stop };
    const counts = { keys: 0, tombstones: 0, collected: 0, staleMarkers: 0, foreign: 0, failed: 0 };
    const markers = new Map<string, { readonly token: bigint; readonly since: number }>();
    const tally = (outcome: CollectionOutcome): void => {
      if (outcome === 'collected') counts.collected++;
      else if (outcome !== 'alive') counts.failed++;
    };
    // Listed first (the proposer's listing is held in memory either way), so progress has a total.
    const keys: string[] = [];
    for await (const key of this.#proposer.listKeys(callOptions)) if (key !== this.#epochKey) keys.push(key);
    const progress = (done: number): void => onProgress?.({ step: 'sweep', unit: 'keys', done, total: keys.length });
    progress(0);
    for (const key of keys) {
      if (counts.keys > 0) progress(counts.keys);
      counts.keys++;
      let stored: RegisterContent;
      try {
        stored = parseState(key, (await this.#proposer.propose(key, identity, callOptions)).state);
      } catch (error) {
        if (stop.aborted) throw stop.reason;
        if (error instanceof StateFormatError) counts.foreign++;
        else {
          counts.failed++;
          this.#logger?.warn({ key, err: error }, 'kv: sweep could not read a key');
        }
        continue;
      }
      if (stored.kind === 'creating') {
        const seen = this.#markersSeen.get(key);
        const since = seen?.token === stored.token ? seen.since : this.#now();
        if (seen?.token !== stored.token || this.#now() - since < this.#staleMarkerMs) {
          markers.set(key, { token: stored.token, since });
          continue;
        }
        // Found unchanged by an earlier sweep at least `staleMarkerMs` ago: its creator is gone. A
        // creator still running would only have to start again (its step 3 no longer finds the
        // marker), so a sweep that guessed wrong costs a retry, not safety.
        const token = stored.token;
        try {
          const { state } = await this.#proposer.propose(
            key,
            (current) => {
              const now = parseState(key, current);
              return now.kind === 'creating' && now.token === token ? null : current;
            },
            callOptions,
          );
          if (state !== null) continue;
        } catch (error) {
          if (stop.aborted) throw stop.reason;
          counts.failed++;
          continue;
        }
        counts.staleMarkers++;
        stored = { kind: 'absent' };
      }
      if (stored.kind !== 'absent') continue;
      counts.tombstones++;
      tally(await collector.collect(key));
      if (stop.aborted) throw stop.reason;
    }
    progress(counts.keys);
    this.#markersSeen = markers;
    this.#debug.get()?.debug({ ...counts }, 'kv: sweep done');
    return counts;
  }

  async #runSweeps(intervalMs: number): Promise<void> {
    const closed = this.#close.signal;
    while (!closed.aborted) {
      try {
        await this.#sleep(intervalMs, closed);
      } catch {
        return;
      }
      try {
        await this.sweep();
      } catch (error) {
        if (closed.aborted) return;
        this.#logger?.warn({ err: error }, 'kv: sweep failed; the next one runs in an interval');
      }
    }
  }

  async *#watch(key: string, { signal, bufferSize }: WatchOptions): AsyncGenerator<Entry<T> | undefined> {
    const stop = signal === undefined ? this.#close.signal : AbortSignal.any([signal, this.#close.signal]);
    let first = true;
    let last: bigint | undefined;
    for await (const state of this.#proposer.watch(key, { signal: stop, ...(bufferSize === undefined ? {} : { bufferSize }) })) {
      const stored = parseState(key, state);
      const version = stored.kind === 'value' ? versionOf(stored) : undefined;
      if (!first && version === last) continue;
      first = false;
      last = version;
      yield this.#entryOf(key, stored);
    }
  }

  #entryOf(key: string, stored: RegisterContent): Entry<T> | undefined {
    if (stored.kind !== 'value') return undefined;
    return { value: this.#decode(key, stored.payload), version: versionOf(stored) };
  }

  #encode(key: string, value: T): Uint8Array {
    let bytes: unknown;
    try {
      bytes = this.#codec.encode(value);
    } catch (error) {
      throw new InvalidArgumentError(`the ${this.#codec.name} codec cannot encode the value for key ${JSON.stringify(key)}: ${describe(error)}`, { cause: error });
    }
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError(`the ${this.#codec.name} codec's encode returned ${typeof bytes}, not a Uint8Array`);
    return bytes;
  }

  #decode(key: string, payload: Uint8Array): T {
    try {
      // A copy: the codec may keep what it is given, and the payload is a view of a state.
      return this.#codec.decode(new Uint8Array(payload));
    } catch (error) {
      throw new StateFormatError(key, `the ${this.#codec.name} codec cannot decode its value: ${describe(error)}`, { cause: error });
    }
  }

  #nextRandom(): bigint {
    const value = this.#random64();
    if (typeof value !== 'bigint' || value < 0n || value > 0xffff_ffff_ffff_ffffn) {
      throw new InvalidArgumentError(`options.random64 must return a bigint in [0, 2^64), got ${String(value)}`);
    }
    return value;
  }

  #assertKey(key: string): void {
    assertKey(key);
    if (key === this.#epochKey) throw new InvalidArgumentError(`key ${JSON.stringify(key)} is reserved for the epoch counter`);
  }

  #assertOpen(): void {
    if (this.#close.signal.aborted) throw new UnavailableError('the key-value store is closed');
  }
}

function versionOf(record: ValueRecord): bigint {
  return composeVersion(record.epoch, record.sequence);
}

function signalOnly(opts: CallOptions | undefined): CallOptions | undefined {
  return opts?.signal === undefined ? undefined : { signal: opts.signal };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** 64 random bits from the platform's CSPRNG (browsers and Node alike). */
function cryptoRandom64(): () => bigint {
  const crypto = (globalThis as { crypto?: { getRandomValues?: unknown } }).crypto;
  const getRandomValues = crypto?.getRandomValues;
  if (typeof getRandomValues !== 'function') {
    throw new InvalidArgumentError('no crypto.getRandomValues on this platform: pass options.random64');
  }
  const buffer = new BigUint64Array(1);
  return () => {
    getRandomValues.call(crypto, buffer);
    return buffer[0] as bigint;
  };
}
