/**
 * Garbage collection of deleted keys in the background, retried with backoff until done.
 *
 * A delete writes the tombstone (the empty state) first; collecting it (paper §3.1, `garbageCollect`)
 * needs every proposer and every acceptor and fails whenever one of them is unreachable, so it runs
 * after the delete returned, on its own schedule. Nothing here has to be durable: the tombstone on
 * the acceptors is the durable record that a collection is owed, and a sweep (`KeyValueStore.sweep`)
 * finds tombstones whose collection never ran (the process died, or gave up) and runs it.
 *
 * Outcomes of one key's collection:
 *  - `collected`: every acceptor removed the tombstone;
 *  - `alive`: the key holds a value again (written after the delete): there is nothing to collect;
 *  - `failed`: a non-retryable error (e.g. an acceptor outside the proposers' accept set), or the
 *    attempts ran out: logged as a warning, the tombstone stays for the next sweep;
 *  - `abandoned`: the collector was closed first; the tombstone stays for the next sweep.
 *
 * Time goes through the injected `sleep` and randomness through `random`, so tests and the
 * simulator run collections on virtual time.
 */
import { AgeRaises } from '../cluster/age-raises.js';
import { type RaiseAges, collectKey, raiseAgesAtEach } from '../cluster/garbage-collect.js';
import { InvalidArgumentError, NotTombstoneError, StepFailedError, isRetryable } from '../errors.js';
import { DebugGate, type Logger } from '../logger.js';
import { type Random, type RetryPolicy, type Sleep, retryDelay, timerSleep } from '../retry.js';
import type { Addresser, FastForwarder, RejectRemover } from '../roles.js';
import type { Tracer } from '../tracer.js';

/** How patiently a collection is retried. */
export interface CollectionRetryPolicy {
  /**
   * Attempts per collection, the first included. `Infinity`: until it succeeds or the store closes.
   * @default Infinity
   */
  readonly attempts: number;
  /**
   * The cap of the delay before the second retry, in milliseconds (the first retry is immediate);
   * each later retry multiplies it by `multiplier`, up to `maxDelayMs`. Delays are uniform in [0, cap).
   * @default 10
   */
  readonly baseDelayMs: number;
  /**
   * The largest delay cap, in milliseconds.
   * @default 10000
   */
  readonly maxDelayMs: number;
  /**
   * Growth factor of the delay cap.
   * @default 2
   */
  readonly multiplier: number;
}

/**
 * How the key-value store retries a failed garbage collection by default: until it succeeds (or the
 * store closes), after a random delay under a cap of 10 ms, 20 ms ... up to 10 s.
 */
export const DEFAULT_COLLECTION_RETRY: CollectionRetryPolicy = Object.freeze({
  attempts: Infinity,
  baseDelayMs: 10,
  maxDelayMs: 10_000,
  multiplier: 2,
});

/** Garbage collection of deleted keys (see `KeyValueStoreOptions.gc`). */
export interface GarbageCollectionOptions {
  /** Every proposer of the cluster, the store's own included (`garbageCollect` fences them all). */
  readonly proposers: readonly FastForwarder[];
  /** Every acceptor of the cluster. */
  readonly acceptors: readonly (RejectRemover & Addresser)[];
  /** How collections are retried. @default DEFAULT_COLLECTION_RETRY (until done, delays capped at 10 ms ... 10 s) */
  readonly retry?: Partial<CollectionRetryPolicy> | undefined;
  /**
   * When set, a sweep (`KeyValueStore.sweep`) runs every `sweepIntervalMs` milliseconds (the first
   * one after one interval) until the store closes. Sweep failures are logged and the next one runs.
   * @default undefined (sweep only when called)
   */
  readonly sweepIntervalMs?: number | undefined;
  /** Receives `garbageCollect`'s info record per step. @default the store's logger */
  readonly logger?: Logger | undefined;
  /** Receives `gc-step` trace events. @default none */
  readonly tracer?: Tracer | undefined;
  /** Jitter of the backoff, and which proposer runs each collection's read. @default Math.random */
  readonly random?: Random | undefined;
  /** Waits between attempts and between sweeps. @default timerSleep (setTimeout) */
  readonly sleep?: Sleep | undefined;
  /**
   * When set, the collections that reach step c (age raises) within this many milliseconds of
   * the first send one `rejectByAge` per acceptor together, with the highest age per proposer;
   * each collection goes on once that one is acknowledged (safe: see `cluster/age-raises.ts`).
   * Every raise rejects the proposers' messages in flight from before it, whatever their key, so
   * under many deletes one raise per window, rather than one per collection, spares writes to
   * other keys a lost accept and a retry. Each collection waits up to this long more.
   * @default undefined (each collection raises the ages itself, as `garbageCollect` does)
   */
  readonly ageRaiseWindowMs?: number | undefined;
}

/**
 * How one collection of a deleted key ended: `collected` (the tombstone is gone from every
 * acceptor), `alive` (the key was written again since; nothing to collect), `failed` (a
 * non-retryable error, or the retry policy's attempts ran out; the tombstone stays until a sweep
 * collects it) or `abandoned` (the store closed first).
 */
export type CollectionOutcome = 'collected' | 'alive' | 'failed' | 'abandoned';

/** Counts of a store's garbage collections since it opened (`KeyValueStore.collectionStats`). */
export interface CollectionStats {
  /**
   * Collections asked for (by deletes, `update`s that deleted, sweeps), a request made while the
   * key's collection runs included: that one then runs once more, after it.
   */
  readonly scheduled: number;
  /** `garbageCollect` runs, retries included. */
  readonly runs: number;
  /** Collections that removed their tombstone from every acceptor. */
  readonly collected: number;
  /** Collections that found the key written again (nothing to collect). */
  readonly alive: number;
  /** Collections that gave up (the tombstone stays for a sweep). */
  readonly failed: number;
  /** Collections abandoned because the store closed. */
  readonly abandoned: number;
}

interface Task {
  promise: Promise<CollectionOutcome>;
  /** A tombstone was written again while this task ran: collect once more when it ends. */
  again: boolean;
}

export class BackgroundCollector {
  readonly #options: GarbageCollectionOptions;
  readonly #retry: CollectionRetryPolicy;
  readonly #sleep: Sleep;
  readonly #random: Random;
  readonly #logger: Logger | undefined;
  readonly #debug: DebugGate;
  readonly #closed: AbortSignal;
  /** Step c for every collection of a window, when `ageRaiseWindowMs` is set. */
  readonly #raiseAges: RaiseAges;
  readonly #tasks = new Map<string, Task>();
  #stats = { scheduled: 0, runs: 0, collected: 0, alive: 0, failed: 0, abandoned: 0 };

  /** @param closed aborts when the store closes: running collections are abandoned. */
  constructor(options: GarbageCollectionOptions, logger: Logger | undefined, closed: AbortSignal) {
    if (!Array.isArray(options.proposers) || options.proposers.length === 0) throw new InvalidArgumentError('gc.proposers must be a non-empty array');
    if (!Array.isArray(options.acceptors) || options.acceptors.length === 0) throw new InvalidArgumentError('gc.acceptors must be a non-empty array');
    this.#options = options;
    this.#retry = resolveCollectionRetry(options.retry);
    this.#sleep = options.sleep ?? timerSleep;
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger ?? logger;
    this.#debug = new DebugGate(this.#logger);
    this.#closed = closed;
    const { acceptors, ageRaiseWindowMs } = options;
    if (ageRaiseWindowMs === undefined) this.#raiseAges = raiseAgesAtEach(acceptors);
    else {
      const raises = new AgeRaises(acceptors, ageRaiseWindowMs, this.#sleep);
      this.#raiseAges = (ages, callOptions) => raises.raise(ages, callOptions);
    }
  }

  /** Keys whose collection is running or waiting for a retry. */
  get pending(): number {
    return this.#tasks.size;
  }

  /** A copy of the counts (see `CollectionStats`). */
  get stats(): CollectionStats {
    return { ...this.#stats };
  }

  /** Whether a collection of `key` is running or waiting for a retry. */
  isCollecting(key: string): boolean {
    return this.#tasks.has(key);
  }

  /**
   * Collects `key`, retrying as the policy allows; resolves with the outcome, never rejects. If a
   * collection of `key` is already running, it runs once more after it (the caller may have written
   * a newer tombstone than the one being collected) and this resolves with that last outcome.
   */
  collect(key: string): Promise<CollectionOutcome> {
    this.#stats.scheduled++;
    const running = this.#tasks.get(key);
    if (running !== undefined) {
      running.again = true;
      return running.promise;
    }
    const task = { again: false } as Task;
    const run = async (): Promise<CollectionOutcome> => {
      let outcome: CollectionOutcome;
      do {
        task.again = false;
        outcome = await this.#collectWithRetries(key);
        this.#stats[outcome]++;
      } while (task.again && outcome !== 'abandoned');
      this.#tasks.delete(key);
      return outcome;
    };
    task.promise = run();
    this.#tasks.set(key, task);
    return task.promise;
  }

  /** Resolves once no collection is running (including ones started while waiting). */
  async idle(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.all(Array.from(this.#tasks.values(), (task) => task.promise));
  }

  async #collectWithRetries(key: string): Promise<CollectionOutcome> {
    if (this.#closed.aborted) return 'abandoned';
    // A signal per collection, aborted with the store's: each acceptor call of a collection listens
    // to it, and one shared signal would collect listeners from every collection at once.
    const controller = new AbortController();
    const onClose = (): void => controller.abort(this.#closed.reason);
    this.#closed.addEventListener('abort', onClose, { once: true });
    try {
      return await this.#attempts(key, controller.signal);
    } finally {
      this.#closed.removeEventListener('abort', onClose);
    }
  }

  async #attempts(key: string, signal: AbortSignal): Promise<CollectionOutcome> {
    const { proposers, acceptors, tracer } = this.#options;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return 'abandoned';
      this.#stats.runs++;
      try {
        const opts = {
          signal,
          random: this.#random,
          ...(this.#logger === undefined ? {} : { logger: this.#logger }),
          ...(tracer === undefined ? {} : { tracer }),
        };
        await collectKey(key, proposers, acceptors, opts, this.#raiseAges);
        this.#debug.get()?.debug({ key, attempt }, 'kv: tombstone collected');
        return 'collected';
      } catch (error) {
        if (signal.aborted) return 'abandoned';
        if (error instanceof StepFailedError && error.cause instanceof NotTombstoneError) {
          // Written again since the delete: the new value lives on; a later delete collects it.
          this.#debug.get()?.debug({ key, attempt }, 'kv: key holds a value again, nothing to collect');
          return 'alive';
        }
        if (!isRetryable(error) || attempt >= this.#retry.attempts) {
          this.#logger?.warn(
            { key, attempt, err: error },
            'kv: garbage collection failed; the tombstone stays until a sweep collects it',
          );
          return 'failed';
        }
        this.#debug.get()?.debug({ key, attempt, err: error }, 'kv: garbage collection failed, retrying');
        try {
          await this.#sleep(retryDelay(this.#retry as RetryPolicy, attempt, this.#random), signal);
        } catch {
          return 'abandoned';
        }
      }
    }
  }
}

function resolveCollectionRetry(partial: Partial<CollectionRetryPolicy> | undefined): CollectionRetryPolicy {
  const given = Object.entries(partial ?? {}).filter(([, value]) => value !== undefined);
  const policy: CollectionRetryPolicy = { ...DEFAULT_COLLECTION_RETRY, ...Object.fromEntries(given) };
  const { attempts } = policy;
  if (typeof attempts !== 'number' || !(attempts === Infinity || (Number.isSafeInteger(attempts) && attempts >= 1))) {
    throw new InvalidArgumentError(`gc.retry.attempts must be an integer >= 1 or Infinity, got ${String(attempts)}`);
  }
  for (const field of ['baseDelayMs', 'maxDelayMs', 'multiplier'] as const) {
    const value = policy[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new InvalidArgumentError(`gc.retry.${field} must be a finite number >= 0, got ${String(value)}`);
    }
  }
  if (policy.multiplier < 1) throw new InvalidArgumentError(`gc.retry.multiplier must be >= 1, got ${policy.multiplier}`);
  return policy;
}
