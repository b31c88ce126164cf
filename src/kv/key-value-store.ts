/**
 * A typed key-value store over any `Proposer`: get, set, update, compare-and-set, delete and watch,
 * each value with a version usable as a fencing token.
 *
 * Every operation is one proposal on the key's register (a read too: paper §2.2, a read is the
 * identity change, which is what makes it linearizable). The register holds a small header and the
 * codec's bytes (`record-format.ts`). Keys are independent: no operation touches another key's
 * register (CASPaxos has no leader and no shared log; neither has this store).
 *
 * ## Versions
 *
 * A value's version is `(counter, sequence)`, rendered as one `bigint` (`counter * 2^32 +
 * sequence`): `counter` is the counter of the ballot of the round that wrote the value, `sequence`
 * is 1 + the write's step in that round (a proposer applies up to `maxBatch` queued changes of a
 * key in one round; the change learns both from its `ChangeContext`). The record stores them in
 * the fields the previous release called epoch and sequence. Creating a key is one proposal, like
 * any write.
 *
 * Claim: along the key's history (the states of its register in their linearization, across
 * deletes, garbage collections and re-creations), the versions of its values strictly increase.
 *
 * Terms. A round under ballot B computes states from a *base*: the state a quorum of promises
 * reported with the highest accepted ballot b (paper §2.2: "picks the value of the tuple with the
 * highest ballot number"; B > b), or, skipping the prepare (§2.2.1), the state its proposer's
 * previous accept committed under b, B having been promised then (B > b). Step i of the round
 * computes its state from step i - 1's. A state is *stamped* `(B.counter, i)` by the round and step
 * that computed it; a round that commits a state again (an identity change, a recovery) does not
 * restamp it. A value's version is its stamp (sequence = i + 1). c(X) is the counter of ballot X.
 *  (G1) Every round has c(B) > c(b) (rule G1, `Attempt.afterPrepare`; `Attempt.begin` for §2.2.1).
 *  (L1) A state is only accepted under ballots >= the one of the round that computed it (its own
 *       accept, then re-commits by later rounds, whose ballots are higher), so its stamp's counter
 *       is <= c(X) for every ballot X it is accepted under.
 *  (L2) Along "computed from" (a state, the state its step was applied to), stamps strictly
 *       increase: from an earlier step of the same round, (c(B), j) < (c(B), i) for j < i; from the
 *       base, stamp(base) <= c(b) < c(B) by L1 and G1.
 *
 * Proof, within one life of the key (no garbage collection between): a chosen state descends from
 * every state chosen before it through "computed from" links (CASPaxos' safety argument: quorums
 * intersect, and each round computes from the highest accepted state of its quorum), so by L2
 * stamps strictly increase along the history, values' versions among them.
 *
 * Across a garbage collection (paper §3.1; `garbageCollect`): step a is a full identity read, a
 * round under some ballot t; step d removes exactly the records accepted under t (an empty state).
 *  1. Every value V of the life that ended is an ancestor of t's base (accepted under b_t): its
 *     stamp's counter <= c(b_t) (L1, and counters never decrease along the links) < c(t) (G1, the
 *     read is a round too: this is why G1 binds re-commits).
 *  2. Every value W of the key's later lives has a stamp counter >= c(t). Step a has every
 *     acceptor accept t; consider what an acceptor accepts after it accepted t. It holds t or a
 *     later state, or has removed the record and kept its promise (>= t) as its floor (acceptor
 *     rules `remove`, `absentRecord`), so it accepts B only if B > t, or B >= floor >= t: c(B) >=
 *     c(t). By induction over these acceptances, each accepted state is empty or a value stamped
 *     with a counter >= c(t): the round's prepare quorum reported only such states or absent
 *     records (a promise of B given before that acceptor accepted t means t >= B, t's accept
 *     there needing t >= B, so B would be rejected after t everywhere), hence the round commits
 *     one of those again or computes new states stamped c(B) >= c(t); a §2.2.1 round's cached base
 *     was accepted after t for the same reason (else its promised B < t). A value that no acceptor
 *     accepted after t is overwritten by t everywhere and never read again: it is not in a later
 *     life. So W's counter >= c(t).
 * By 1 and 2, W's version > V's (sequences are below 2^32). ∎ The proof does not use step b's
 * fast-forward or step c's fence: a proposer the collection left out (a new incarnation) is held
 * above t by the floor alone; the fast-forward only spares the conflicts it would meet (and a
 * proposer may refuse it for a tombstone far ahead of its counter, `ProposerBallots.forward`: the
 * collection then stops before step d, so no life of the key ends).
 * `test/kv/versions.test.ts` checks the claim across delete, collection and re-creation with
 * concurrent proposers in both round-trip modes, and catches a proposer without G1 and acceptors
 * without the floor.
 *
 * Upgrade from the epoch scheme (the previous release: version = epoch * 2^32 + sequence, the epoch
 * taken from a cluster-wide counter register under `epochKey`, at most E, the register's value).
 * Before its first write, the store reads `epochKey` once (absent: nothing to do), and from then
 * on never stamps a counter <= E (a write whose ballot is one promised earlier, still in the
 * proposer's one-round-trip cache, declines and runs again under a later ballot); it also
 * fast-forwards its proposer to counter E + 1 (`fastForwardIncrement`), so that fresh ballots are
 * above E (for every key: E + 1 must be within 2^32 of the proposer's counter, as an epoch count of
 * the previous release is; a proposer refuses a fast-forward further ahead with
 * `BallotsExhaustedError`, and the upgrade, and so every write, fails with it). Every value it writes then has counter > E >= every old epoch: it is above every old
 * version. Old and new releases must not write one cluster together (an old writer raises E behind
 * the new stores' backs): stop old writers first. Creation markers left by the old release read as
 * absent; a sweep removes them.
 *
 * ## What each call returns, and failures
 *
 * Each value written carries a random 64-bit *writer* id of the operation, so a compare-and-set
 * tells its own write from an equal one written by someone else. Errors are the proposer's:
 * `PrepareFailedError` (the operation had no visible effect), `AcceptFailedError` (outcome
 * unknown), `AgeError`, the signal's reason; plus `StateFormatError` when the key holds a state
 * this store cannot read (nothing is written over it), `InvalidArgumentError` for bad input
 * (nothing is written), and `UnavailableError` once the store is closed. Nothing is retried here
 * beyond what the proposer retries: retrying a `set` after an unknown outcome could apply it twice.
 * A write racing its key's garbage collection is not a failure: the collection waits for the
 * proposer's round on the key (`MemoryProposer.fastForwardIncrement`).
 *
 * ## Deletion
 *
 * `delete` writes the tombstone, then (with `gc` options) schedules exactly one collection of it in
 * the background; see `background-collector.ts`. Without `gc`, tombstones stay on the acceptors (a
 * few bytes each), and so do the empty records that reads of never-written keys leave (a read is a
 * proposal). `sweep()` collects every tombstone and old creation marker the cluster holds whose
 * collection is not already running in this store.
 *
 * Time and randomness are injectable, so tests and the simulator run the store on virtual time.
 */
import type { Closeable } from '../internal/async-dispose.js';
import { AcceptFailedError, InvalidArgumentError, PrepareFailedError, StateFormatError, UnavailableError } from '../errors.js';
import type { Ballot } from '../core/ballot.js';
import type { ChangeContext } from '../core/attempt.js';
import { DebugGate, type Logger } from '../logger.js';
import { type Sleep, timerSleep } from '../retry.js';
import type { CallOptions, ChangeFunc, Proposer, WatchOptions } from '../roles.js';
import { assertFunction, assertKey, integerOption } from '../internal/validate.js';
import type { ProgressListener } from '../cluster/options.js';
import { BackgroundCollector, type CollectionOutcome, type CollectionStats, type GarbageCollectionOptions } from './background-collector.js';
import { type Codec, isCodec, jsonCodec } from './codec.js';
import { MAX_SEQUENCE, type RegisterContent, type ValueRecord, composeVersion, encodeValueRecord, parseEpochCounter, parseState } from './record-format.js';

/**
 * The default reserved key of the previous release's epoch counter (see "Versions": read once, to
 * upgrade). Keys starting with NUL are unlikely user keys.
 */
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
   * proposer's age (paper §3.1 step b): an accept in flight on another key at that moment is
   * rejected by the fenced acceptors and retried by its proposer.
   * @default undefined (no garbage collection)
   */
  readonly gc?: GarbageCollectionOptions | undefined;
  /**
   * Receives debug records, and a warning when a collection gives up. Silent when absent.
   * @default undefined (no logging)
   */
  readonly logger?: Logger | undefined;
  /**
   * The reserved key of the previous release's epoch counter. Before its first write the store
   * reads it once and keeps its versions above every version that release wrote (see "Versions":
   * upgrade). Never delete it while data written by that release remains. The store refuses it as
   * a user key.
   * @default DEFAULT_EPOCH_KEY ('\u0000caspaxos/kv/epoch')
   */
  readonly epochKey?: string | undefined;
  /**
   * A source of random 64-bit unsigned integers, for writer ids. Must not repeat in practice.
   * @default crypto.getRandomValues
   */
  readonly random64?: (() => bigint) | undefined;
  /**
   * How many times `get` reads again after an unknown outcome, and how many proposals a write may
   * take (more than one only if `update`'s function is not pure) before `PrepareFailedError`.
   * @default 16
   */
  readonly maxRounds?: number | undefined;
  /**
   * @deprecated No effect. Creation markers are only left by the previous release (whose writers
   * must be stopped before this one writes), so a sweep removes any it finds at once.
   */
  readonly staleMarkerMs?: number | undefined;
  /** @deprecated No effect (see `staleMarkerMs`). */
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
  /**
   * Tombstones found (empty states, including creation markers turned into tombstones), but not
   * those whose collection was already running in this store (left to it).
   */
  readonly tombstones: number;
  /** Tombstones removed from every acceptor. */
  readonly collected: number;
  /** Creation markers (left by the previous release) turned into tombstones and collected. */
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
 * A typed key-value store over any {@link Proposer} (a {@link MemoryProposer}, or a remote one):
 * {@link KeyValueStore.get}, {@link KeyValueStore.set}, {@link KeyValueStore.update},
 * {@link KeyValueStore.compareAndSet}, {@link KeyValueStore.delete} and {@link KeyValueStore.watch},
 * each value with a version (a `bigint`) that strictly increases over the key's whole history,
 * across deletes and garbage collection, so it can serve as a fencing token. Every operation is one
 * or a few proposals on the key's register; reads are proposals too (the identity change, paper
 * §2.2), hence linearizable. Values are JSON by default ({@link KeyValueStoreOptions.codec}); with
 * {@link KeyValueStoreOptions.gc}, deleted keys are collected in the background
 * ({@link garbageCollect}, paper §3.1).
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
  /**
   * The upgrade from the epoch scheme (see "Versions"), run before the first write; `undefined`
   * until then, and again after it failed (the next write tries again).
   */
  #upgraded: Promise<void> | undefined;
  /** E, the previous release's epoch counter (0 when it never wrote): no version is stamped at or below it. */
  #legacyEpochs = 0n;

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
   * Counts of this store's garbage collections since it opened, for metrics: what deletes and
   * sweeps scheduled, how many `garbageCollect` runs that took, and how they ended. All zero
   * without `gc` options.
   */
  get collectionStats(): CollectionStats {
    return this.#collector?.stats ?? { scheduled: 0, runs: 0, collected: 0, alive: 0, failed: 0, abandoned: 0 };
  }

  /**
   * The key's value and version, or `undefined` when it is absent (never written, or deleted; a
   * creation marker of the previous release reads as absent too). A linearizable read: the
   * proposer's `identityRead`, which answers from one round of peeks, writing nothing, when a
   * quorum of the acceptors agrees on the key's accepted state, and otherwise runs an identity
   * proposal, which re-writes the current state. An
   * identity proposal whose outcome is unknown (`AcceptFailedError`, for instance when a garbage
   * collection fenced the proposer mid-round) is read again, up to `maxRounds` times: applying
   * the identity twice changes nothing, so the retry is always safe.
   * @throws the proposer's errors: {@link PrepareFailedError} (retryable, nothing written),
   *   {@link AcceptFailedError} (outcome unknown), {@link StorageFullError} as their `cause`.
   * @throws {@link StateFormatError} when the key holds a state this store did not write.
   * @throws {@link UnavailableError} once the store is closed; {@link InvalidArgumentError} for a
   *   malformed key.
   */
  async get(key: string, opts?: CallOptions): Promise<Entry<T> | undefined> {
    this.#assertOpen();
    this.#assertKey(key);
    for (let round = 1; ; round++) {
      try {
        // One round trip and no write when a quorum agrees (see `proposer/fast-read`); the full
        // identity round otherwise.
        const { state } = await this.#proposer.identityRead(key, signalOnly(opts));
        return this.#entryOf(key, parseState(key, state));
      } catch (error) {
        if (!(error instanceof AcceptFailedError) || round >= this.#maxRounds || opts?.signal?.aborted === true) throw error;
      }
    }
  }

  /**
   * Writes `value`; resolves with its version. One proposal, whether the key exists or not.
   * @throws the proposer's errors: {@link PrepareFailedError} (retryable, nothing written),
   *   {@link AcceptFailedError} (outcome unknown), {@link StorageFullError} as their `cause`.
   * @throws {@link StateFormatError} when the key holds a state this store did not write.
   * @throws {@link UnavailableError} once the store is closed; {@link InvalidArgumentError} for a
   *   malformed key.
   */
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
   * @throws the proposer's errors: {@link PrepareFailedError} (retryable, nothing written),
   *   {@link AcceptFailedError} (outcome unknown), {@link StorageFullError} as their `cause`.
   * @throws {@link StateFormatError} when the key holds a state this store did not write.
   * @throws {@link UnavailableError} once the store is closed; {@link InvalidArgumentError} for a
   *   malformed key.
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
   * @throws the proposer's errors: {@link PrepareFailedError} (retryable, nothing written),
   *   {@link AcceptFailedError} (outcome unknown), {@link StorageFullError} as their `cause`.
   * @throws {@link StateFormatError} when the key holds a state this store did not write.
   * @throws {@link UnavailableError} once the store is closed; {@link InvalidArgumentError} for a
   *   malformed key.
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
   * @throws the proposer's errors: {@link PrepareFailedError} (retryable, nothing written),
   *   {@link AcceptFailedError} (outcome unknown), {@link StorageFullError} as their `cause`.
   * @throws {@link StateFormatError} when the key holds a state this store did not write.
   * @throws {@link UnavailableError} once the store is closed; {@link InvalidArgumentError} for a
   *   malformed key.
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
   * intermediate versions. Ends when the signal aborts, the loop breaks, or the store closes.
   * @throws {@link StateFormatError} (while iterating) if the key comes to hold a state this store
   *   cannot read; the errors of {@link MemoryProposer.watch}.
   */
  watch(key: string, opts: WatchOptions = {}): AsyncIterable<Entry<T> | undefined> {
    this.#assertOpen();
    this.#assertKey(key);
    return { [Symbol.asyncIterator]: () => this.#watch(key, opts) };
  }

  /**
   * Lists every key of the cluster and, for each (a read, that is an identity proposal, per key):
   * collects tombstones (the durable trace of a delete whose collection never ran: the process died
   * before it, or it gave up), and turns creation markers (left by the previous release) into
   * tombstones and collects them. Keys whose collection this store is running are left to it.
   * States in another format are left alone. Sweeps run one at a time.
   * @throws {@link InvalidArgumentError} without {@link KeyValueStoreOptions.gc}.
   * @throws {@link UnavailableError} once the store is closed, or when too few acceptors list keys.
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
   * Runs an operation: one proposal whose change writes `decide`'s decision, stamped with the
   * round's ballot counter and step (see "Versions"). The outcome is read from the state the
   * proposal resolves with (the state this call's change produced), never from what a change
   * function saw: a proposer may run a change function several times, and report the state an
   * earlier run produced. A second proposal happens only if `decide` is not pure (`update`'s
   * function may not be): its decision on the result differs from its decision in the change.
   */
  async #write(key: string, decide: Decide, opts: CallOptions | undefined): Promise<Outcome> {
    const callOptions = signalOnly(opts);
    await (this.#upgraded ??= this.#upgrade());
    const writer = this.#nextRandom();
    const change = this.#change(key, decide, writer);
    let ballot: Ballot | undefined;
    for (let round = 1; round <= this.#maxRounds; round++) {
      const result = await this.#proposer.propose(key, change, callOptions);
      ballot = result.ballot;
      const stored = parseState(key, result.state);
      if (stored.kind === 'value' && stored.writer === writer) return { kind: 'written', record: stored };
      // Not our value: the change left the state as it found it (or deleted it), so its decision on
      // this very state says why (`decide` is pure).
      const decision = decide(stored.kind === 'value' ? stored : undefined);
      // It declined to stamp a counter at or below the previous release's epochs (a ballot the
      // proposer had promised before the upgrade): the next proposal runs under a later one.
      if (decision.kind === 'put') continue;
      // Empty: this call deleted the key, or found it absent and left it so. Either way it is absent
      // now (which of the two is not always knowable: a delete's result looks like a kept tombstone).
      if (stored.kind === 'absent') return { kind: 'absent' };
      if (decision.kind === 'keep') return { kind: 'kept', current: stored };
    }
    throw new PrepareFailedError(key, ballot as Ballot, this.#maxRounds, {
      cause: new Error(`the change did not write its decision in any of ${this.#maxRounds} proposals (is update's function pure?)`),
    });
  }

  /** The change function of a write: pure, given the decision and the writer id. */
  #change(key: string, decide: Decide, writer: bigint): ChangeFunc {
    return (current, context) => {
      const stored = parseState(key, current);
      const decision = decide(stored.kind === 'value' ? stored : undefined);
      if (decision.kind === 'keep') return current;
      if (decision.kind === 'delete') return null;
      const { counter, sequence } = stampOf(context);
      // The upgrade (see "Versions") moved the proposer's counter past E, but a ballot it promised
      // before (one round trip, §2.2.1) may still be in its cache: never stamp one of those.
      if (counter <= this.#legacyEpochs) return current;
      // Never write a version that is not above the one it replaces. With rule G1 this cannot
      // happen (see "Versions": L2); a proposer that breaks it is refused, not trusted.
      if (stored.kind === 'value' && composeVersion(counter, sequence) <= versionOf(stored)) {
        throw new InvalidArgumentError(
          `options.proposer broke rule G1: the version of key ${JSON.stringify(key)} would go from ${versionOf(stored)} to ${composeVersion(counter, sequence)}`,
        );
      }
      return encodeValueRecord(counter, sequence, writer, decision.payload);
    };
  }

  /**
   * The upgrade from the epoch scheme (see "Versions"): reads the previous release's epoch counter
   * and, if it was ever written, moves the proposer's ballot counter past it. A linearizable read
   * (`identityRead`): on a new cluster a quorum reports the key absent and nothing is written (the
   * writing read left an empty record for it on every acceptor). Runs once; a failure is the
   * write's, and the next write tries again.
   */
  async #upgrade(): Promise<void> {
    const key = this.#epochKey;
    try {
      const { state } = await this.#proposer.identityRead(key, { signal: this.#close.signal });
      const epochs = parseEpochCounter(key, state);
      if (epochs === 0n) return;
      if (epochs >= BigInt(Number.MAX_SAFE_INTEGER) - 2n) throw new StateFormatError(key, `the epoch counter (${epochs}) is beyond what a ballot counter can pass`);
      this.#legacyEpochs = epochs;
      const age = await this.#proposer.fastForwardIncrement(key, { counter: Number(epochs) + 1, id: this.#proposer.address }, { signal: this.#close.signal });
      this.#debug.get()?.debug({ epochKey: key, epochs: String(epochs), age: age.counter }, 'kv: ballot counter moved past the epochs of the previous release');
    } catch (error) {
      this.#upgraded = undefined;
      throw error;
    }
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
      // Its collection is running here (a delete scheduled it): one collection per tombstone.
      if (collector.isCollecting(key)) continue;
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
        // A creation marker of the previous release, whose writers are stopped (see "Versions":
        // upgrade): its creation is abandoned. Turn it into a tombstone, unless it changed since.
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

/** The version a change writes: its round's ballot counter, and 1 + its step in the round. */
function stampOf(context: ChangeContext | undefined): { readonly counter: bigint; readonly sequence: number } {
  const counter = context?.ballot?.counter;
  const step = context?.step;
  if (typeof counter !== 'number' || !Number.isSafeInteger(counter) || counter < 1 || typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) {
    throw new InvalidArgumentError("options.proposer passed no ChangeContext (the round's ballot and step) to the change function: versions are made of them (MemoryProposer passes one)");
  }
  if (step + 1 > MAX_SEQUENCE) throw new InvalidArgumentError(`a round of ${step + 1} changes is beyond the ${MAX_SEQUENCE} a version can number: lower the proposer's maxBatch`);
  return { counter: BigInt(counter), sequence: step + 1 };
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
  // Drawn 64 at a time: a `getRandomValues` call costs microseconds whatever its size (argument
  // checks, a copy into a new view), and a store draws one writer id per write.
  const pool = new BigUint64Array(64);
  let next = pool.length;
  return () => {
    if (next === pool.length) {
      getRandomValues.call(crypto, pool);
      next = 0;
    }
    return pool[next++] as bigint;
  };
}
