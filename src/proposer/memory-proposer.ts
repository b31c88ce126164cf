/**
 * A proposer that keeps its state (ballot counter, age, acceptor configuration) in memory: the
 * async driver of `core/attempt`'s decisions and `core/rounds`' phases, over any `Acceptor`s.
 *
 * Paper §2: a proposer "performs the initialization by communicating with acceptors, and keep[s]
 * minimal state needed to generate unique increasing update IDs (ballot numbers)".
 *
 * Concurrency: proposals for different keys run concurrently; proposals for one key through one
 * proposer wait in a FIFO queue and run in arrival order, in batches (`ProposalQueue`). Each attempt
 * takes its ballot synchronously before it first waits, so a burst of calls gets increasing
 * ballots in call order. An attempt is a generator of steps (`runSteps`) that waits only for
 * replies still outstanding: over in-process `MemoryAcceptor`s (the trusted path, see
 * `acceptor/in-process`) it runs synchronously, both phases; a round whose first attempt commits
 * so resolves its callers at once and holds its key for one microtask more, so proposals arriving
 * meanwhile on the key queue up behind it and run as the next batch (`#round`).
 */
import { abortable, abortableWait } from '../internal/abort.js';
import { type Steps, runSteps } from '../internal/steps.js';
import { inNextMicrotask } from '../internal/microtask.js';
import { Fifo } from '../internal/fifo.js';
import type { Age } from '../core/age.js';
import { ANCESTRY_FLOOR_ID } from '../core/ancestry.js';
import { Attempt, type ChangeFailure, type PrepareVerdict, type QuorumMode } from '../core/attempt.js';
import { type Ballot, formatBallot } from '../core/ballot.js';
import type { AcceptReply, PrepareReply, State } from '../core/messages.js';
import { AcceptRound, PrepareRound, type Round } from '../core/rounds.js';
import { type QuorumStatus, majority } from '../core/quorum.js';
import { Collections } from './collections.js';
import { Configuration } from './configuration.js';
import {
  AcceptFailedError,
  AgeError,
  ConflictError,
  DuplicateError,
  InvalidArgumentError,
  NotFoundError,
  PrepareFailedError,
  UnavailableError,
  isRetryable,
} from '../errors.js';
import { fanOut, feedInProcess } from './fan-out.js';
import { keptFailure } from './round-failure.js';
import { type FastReadContext, fastRead } from './fast-read.js';
import { AcceptRequest, type PhaseRequest, PrepareRequest } from './phase-requests.js';
import { OneRoundTripCache } from './one-round-trip-cache.js';
import { type Proposal, ProposalQueue, newProposal } from './proposal-queue.js';
import { type KeySlot, KeyTable } from './key-table.js';
import { watchKey } from './watch.js';
import { type CounterMove, ProposerBallots } from './key-ballots.js';
import { DEFAULT_MAX_FAR_KEYS } from '../core/key-ballots.js';
import { DebugGate, type Logger } from '../logger.js';
import { type Random, type RetryPolicy, type Sleep, resolveRetryPolicy, retryDelay, retryWhile, timerSleep } from '../retry.js';
import type { Acceptor, Addresser, CallOptions, ChangeFunc, ProposeResult, Proposer, ReadOptions, WatchOptions } from '../roles.js';
import type { TraceEvent, Tracer } from '../tracer.js';
import { assertAddress, assertBallot, assertFunction, assertKey, integerOption } from '../internal/validate.js';

/** Options of `MemoryProposer`. */
export interface MemoryProposerOptions {
  /**
   * Receives debug records, one per phase of each attempt. Silent when absent.
   * @default undefined (no logging)
   */
  readonly logger?: Logger | undefined;
  /**
   * Receives a trace event per message, reply and outcome. Nothing is built when absent.
   * @default undefined (no tracing)
   */
  readonly tracer?: Tracer | undefined;
  /**
   * How often and how patiently to retry a proposal whose prepare phase failed.
   * @default DEFAULT_RETRY_POLICY (10 attempts, delays capped at 1, 2, 4 ... 100 ms)
   */
  readonly retry?: Partial<RetryPolicy> | undefined;
  /**
   * Waits between attempts. Inject a virtual clock's sleep to make retries deterministic.
   * @default timerSleep (setTimeout)
   */
  readonly sleep?: Sleep | undefined;
  /**
   * Source of the retry jitter.
   * @default Math.random
   */
  readonly random?: Random | undefined;
  /**
   * When an accept phase is lost with nothing but rejections so far, how long to wait for the
   * remaining accepters, in milliseconds. If they all reject too, the value is stored nowhere and
   * the proposal is retried (this is what losing to a competitor's prepare looks like); otherwise,
   * or when the wait runs out, the outcome is unknown and the proposal fails with
   * `AcceptFailedError`.
   * @default 100
   */
  readonly stragglerTimeoutMs?: number | undefined;
  /**
   * One round trip (paper §2.2.1): each accept also asks the acceptors to promise the next ballot,
   * and the next change to the key skips the prepare phase while that promise holds. Safe under
   * contention (a competitor's prepare revokes it; the attempt then prepares). See
   * `OneRoundTripCache` for the rules.
   * @default true
   */
  readonly oneRoundTrip?: boolean | undefined;
  /**
   * How many keys the one-round-trip cache holds at most. When full, the key cached longest ago
   * goes first, unless it was cached again since (a hot key stays; see `OneRoundTripCache`).
   * @default 10000
   */
  readonly oneRoundTripKeys?: number | undefined;
  /**
   * How many keys at most may have a ballot counter of their own: keys whose acceptors hold a
   * ballot more than 2^32 counters ahead of this proposer's (a forged or faulty request, or a
   * cluster that counted far while this proposer was away). Such a key follows its own counter, so
   * it cannot use up the ballots of the others; a further one fails with `BallotsExhaustedError`.
   * See `core/key-ballots` and docs/operations/ballots.md.
   * @default 4096
   */
  readonly maxFarKeys?: number | undefined;
  /**
   * The most queued proposals on one key that run as one round (their changes applied in arrival
   * order, one accept for all). 1 disables batching.
   * @default 64
   */
  readonly maxBatch?: number | undefined;
  /**
   * Whether to call in-process `MemoryAcceptor`s through their trusted path (see the README,
   * "In-process fast path"): synchronously, without re-validating what this proposer validated
   * already, sharing one immutable copy of each state between them. Every reply and every stored
   * record is the same as through `prepare` and `accept`; an attempt over such acceptors runs
   * synchronously, and its round still holds its key for one microtask after it commits (so
   * proposals arriving meanwhile queue up and run as one batch). Acceptors whose `prepare` or
   * `accept` is overridden, and every other acceptor, are called through their public methods
   * regardless, and so is every acceptor while a `tracer` is set (a trace shows the messages as
   * asynchronous acceptors deliver them).
   * @default true
   */
  readonly inProcess?: boolean | undefined;
}

/** A snapshot of a proposer's state, for tests and teaching. */
export interface ProposerSnapshot {
  /** The proposer's id. */
  readonly id: string;
  /**
   * The counter of the last ballot this proposer generated or fast-forwarded to, for every key but
   * the few that follow a counter of their own (a ballot more than 2^32 ahead was seen on them;
   * see `core/key-ballots`).
   */
  readonly counter: number;
  /** The age it sends with every message (see `Age`). */
  readonly age: Age;
  /** Addresses of the acceptors prepares go to, sorted. */
  readonly preparers: readonly string[];
  /** Addresses of the acceptors accepts go to, sorted. */
  readonly accepters: readonly string[];
  /**
   * Attempts started since the proposer was created, retries included: above the number of
   * proposals (less batching) when proposals lose to competitors.
   */
  readonly attempts: number;
  /** How many of those skipped the prepare phase under a promise (one round trip, paper §2.2.1). */
  readonly preparesSkipped: number;
}


const identity: ChangeFunc = (state) => state;

/**
 * A {@link Proposer} that talks to its acceptors through their methods: {@link MemoryAcceptor}s in
 * one process, or remote ones behind any transport (`HttpAcceptor` from `caspaxos/http`,
 * `RedisAcceptor` from `caspaxos/redis`, a {@link StoreAcceptor} over a durable store). Proposals
 * to one key queue up and run in arrival order, in batches (one round for up to
 * {@link MemoryProposerOptions.maxBatch} changes); different keys run in parallel. An attempt that
 * certainly had no effect (a lost prepare phase, an accept every accepter rejected) is retried under
 * a new ballot after a jittered backoff ({@link MemoryProposerOptions.retry}); with
 * {@link MemoryProposerOptions.oneRoundTrip}, a change may skip the prepare phase (paper §2.2.1).
 * Any number of proposers may serve one cluster, each under its own id. Membership changes and
 * garbage collection go through {@link growCluster}, {@link shrinkCluster} and
 * {@link garbageCollect}, which must be given every proposer of the cluster.
 * @example
 * ```ts
 * import { MemoryAcceptor, MemoryProposer } from 'caspaxos';
 *
 * const acceptors = ['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address));
 * const p1 = new MemoryProposer('p1', acceptors);
 * const increment = (current: Uint8Array | null) => Uint8Array.of((current?.[0] ?? 0) + 1);
 * const { state, ballot } = await p1.propose('hits', increment, { signal: AbortSignal.timeout(1000) });
 * ```
 */
export class MemoryProposer implements Proposer {
  readonly address: string;
  /** Its ballots, per key (see `ProposerBallots`, `core/key-ballots`). */
  readonly #ballots: ProposerBallots;
  #age = 0;
  /** The garbage collections this proposer took part in, per key (see `Collections`). */
  readonly #collections = new Collections();
  /** `age` as sent in messages: one object until the age changes. */
  #ageMessage: Age;
  #config: Configuration;
  /** Replaced configurations that attempts still run under. */
  readonly #replaced = new Set<Configuration>();
  readonly #queue: ProposalQueue;
  readonly #cache: OneRoundTripCache | undefined;
  readonly #debug: DebugGate;
  /** For warnings (a key meeting a ballot far ahead); debug records go through `#debug`. */
  readonly #logger: Logger | undefined;
  readonly #tracer: Tracer | undefined;
  readonly #retry: RetryPolicy;
  readonly #sleep: Sleep;
  readonly #random: Random;
  readonly #stragglerTimeoutMs: number;
  #attempts = 0;
  #preparesSkipped = 0;
  /** Whether phases use the acceptors' in-process path (see `MemoryProposerOptions.inProcess`). */
  readonly #inProcess: boolean;
  /** What the read path needs (see `fastRead`). */
  readonly #readContext: FastReadContext;
  /** The keys' slots, shared by the queue and the cache; `KeySlot.running` says a round runs on the key. */
  readonly #keys: KeyTable<Proposal>;
  /** Rounds that committed synchronously and end in a microtask: slot, batch size, ... (see `#endNext`). */
  readonly #ending = new Fifo<KeySlot<Proposal> | number>();
  /** Fast-forwards waiting for their key's round to end (see `fastForwardIncrement`). */
  readonly #deferred = new Map<string, Array<() => void>>();

  /**
   * @param id unique among the proposers of a cluster, and never reused by a proposer that
   *   restarts without its ballot counter (use a new incarnation id such as `p1#2`): two attempts
   *   with one ballot break linearizability.
   * @param acceptors the initial acceptors, used for both phases. At least one, addresses unique.
   * @throws {@link InvalidArgumentError} for an empty or reserved id, no acceptor, or an option out
   *   of range.
   * @throws {@link DuplicateError} when two acceptors share an address.
   */
  constructor(id: string, acceptors: Iterable<Acceptor>, options: MemoryProposerOptions = {}) {
    if (typeof id !== 'string' || id === '') throw new InvalidArgumentError('a proposer id must be a non-empty string');
    if (id === ANCESTRY_FLOOR_ID) throw new InvalidArgumentError(`the proposer id ${id} is reserved`);
    const list = Array.from(acceptors ?? []);
    if (list.length === 0) throw new InvalidArgumentError('a proposer needs at least one acceptor');
    const seen = new Set<string>();
    for (const acceptor of list) {
      assertAcceptor(acceptor);
      if (seen.has(acceptor.address)) throw new DuplicateError(acceptor.address, 'initial');
      seen.add(acceptor.address);
    }
    this.address = id;
    this.#ageMessage = { counter: 0, id };
    this.#ballots = new ProposerBallots(id, integerOption(options.maxFarKeys, 'maxFarKeys', 0, DEFAULT_MAX_FAR_KEYS));
    this.#config = new Configuration(list, list);
    this.#debug = new DebugGate(options.logger);
    this.#logger = options.logger;
    this.#tracer = options.tracer;
    this.#retry = resolveRetryPolicy(options.retry);
    this.#sleep = options.sleep ?? timerSleep;
    this.#random = options.random ?? Math.random;
    this.#stragglerTimeoutMs = options.stragglerTimeoutMs ?? 100;
    this.#inProcess = options.inProcess !== false && this.#tracer === undefined;
    this.#readContext = { proposer: id, tracer: this.#tracer, inProcess: this.#inProcess };
    const maxBatch = integerOption(options.maxBatch, 'maxBatch', 1, 64);
    const cacheKeys = integerOption(options.oneRoundTripKeys, 'oneRoundTripKeys', 1, 10_000);
    // One slot per key for the queue and the cache (one lookup per proposal), as many as the cache holds.
    const keys = new KeyTable<Proposal>(cacheKeys);
    this.#keys = keys;
    this.#queue = new ProposalQueue((key, batch, slot) => this.#round(key, batch, slot), maxBatch, keys);
    this.#cache = options.oneRoundTrip === false ? undefined : new OneRoundTripCache(keys);
    if (!Number.isFinite(this.#stragglerTimeoutMs) || this.#stragglerTimeoutMs < 0) {
      throw new InvalidArgumentError(`stragglerTimeoutMs must be a finite number >= 0, got ${this.#stragglerTimeoutMs}`);
    }
  }

  /** This proposer's id (the same as `address`). */
  get id(): string {
    return this.address;
  }

  /** The age this proposer sends with every message. */
  get age(): Age {
    if (this.#ageMessage.counter !== this.#age) this.#ageMessage = { counter: this.#age, id: this.address };
    return this.#ageMessage;
  }

  /** A snapshot of its ballot counter, age and acceptor sets. */
  inspect(): ProposerSnapshot {
    return {
      id: this.address,
      counter: this.#ballots.counter,
      age: this.age,
      preparers: sortedAddresses(this.#config.preparers),
      accepters: sortedAddresses(this.#config.accepters),
      attempts: this.#attempts,
      preparesSkipped: this.#preparesSkipped,
    };
  }

  /**
   * Paper §2.2: "A client submits the change function to a proposer." Runs `change` on the current
   * state of `key` and resolves with the new state once a quorum accepted it.
   *
   * An abort after the accept phase began leaves the outcome unknown.
   * @param change runs on the current state and returns the next; it must be free of side effects
   *   and must not modify or keep its argument (see {@link ChangeFunc}).
   * @throws the change function's own error if it throws: nothing is accepted, the state is
   *   unchanged.
   * @throws {@link PrepareFailedError} when every attempt the retry policy allows ended without
   *   effect (lost its prepare phase, or had its accept rejected by every accepter); retryable.
   * @throws {@link AcceptFailedError} when the accept phase failed otherwise: the outcome is
   *   unknown, the state may still win. Retry only a change that is safe to apply twice.
   * @throws {@link AgeError} when this proposer was left out of a garbage collection.
   * @throws {@link StorageFullError} or {@link StorageFailedError} (as the `cause`) when the
   *   acceptors' storage refused the write.
   * @throws {@link InvalidArgumentError} for a malformed key or a change that returned something
   *   other than a `Uint8Array` or `null`.
   * @throws `signal.reason` when the signal aborts.
   */
  propose(key: string, change: ChangeFunc, opts?: CallOptions): Promise<ProposeResult> {
    return this.#submit(key, change, 'majority', opts?.signal);
  }

  /**
   * Reads the current state of `key`, linearizably. First, one round trip that writes nothing: if a
   * quorum of the preparers (the same set as the accepters) reports one accepted ballot, its state
   * is chosen and is returned with that ballot (`ZERO_BALLOT` and `null` when a quorum holds
   * nothing for the key); no promise is taken, nothing is stored, no record is created. Otherwise
   * (disagreement, failures, an acceptor without `peek`, a membership change in progress), or with
   * `opts.writeBack`, a proposal with the identity change function: prepare, then accept of the
   * state found (its ballot is then this round's). See `proposer/fast-read` and, for the proof,
   * `core/peek-round`. Rejects as {@link MemoryProposer.propose} does.
   */
  identityRead(key: string, opts?: ReadOptions): Promise<ProposeResult> {
    const signal = opts?.signal;
    if (opts?.writeBack === true) return this.#submit(key, identity, 'majority', signal);
    try {
      assertKey(key);
      signal?.throwIfAborted();
    } catch (error) {
      return Promise.reject(error);
    }
    const read = fastRead(key, this.#config, this.#readContext, signal);
    if (read === undefined) return this.#submit(key, identity, 'majority', signal);
    if (!(read instanceof Promise)) return Promise.resolve(read);
    return read.then((result) => result ?? this.#submit(key, identity, 'majority', signal));
  }

  /**
   * An identity read whose accept phase needs every accepter (paper §3.1 step a: "executing the
   * identity transform with max quorum size"). Used by {@link garbageCollect}.
   * @throws {@link AcceptFailedError} or {@link PrepareFailedError} when any accepter is unreachable
   *   or refuses, as {@link MemoryProposer.propose} does.
   */
  fullIdentityRead(key: string, opts?: CallOptions): Promise<ProposeResult> {
    return this.#submit(key, identity, 'all', opts?.signal);
  }

  /**
   * Paper §3.1 step b: "invalidates its cache associated with the removing key, ... fast-forwards
   * its counter to guarantee that new ballot numbers are greater than the tombstone's ballot, and
   * increments proposer's age". Resolves with the new age. Used by {@link garbageCollect}.
   *
   * While a round of `key` runs, this waits for it to end, and applies between that round and the
   * next: a round of a key never straddles a collection of that key. Otherwise the collection's
   * step c (which fences the ages step b returns) could reject the round's accept on some acceptors
   * and not others; its outcome would be unknown, and, the collection's step d having perhaps
   * removed the evidence (`Attempt.afterPrepare`, verdict `collected`), undecidable: a write racing
   * its key's collection (a delete, then a write) failed with `AcceptFailedError` without any
   * fault. Waiting is safe: the collection goes on to step c only with every proposer's answer,
   * and until the answer the proposer runs as if the collection had not begun. The round ends
   * within its retry policy, so the wait is bounded.
   * @throws {@link InvalidArgumentError} for a malformed key or ballot.
   */
  fastForwardIncrement(key: string, ballot: Ballot, opts?: CallOptions): Promise<Age> {
    const signal = opts?.signal;
    try {
      signal?.throwIfAborted();
      assertKey(key);
      assertBallot(ballot);
    } catch (error) {
      return Promise.reject(error);
    }
    // A collection's fast-forward of a key waits for the round running on it to end.
    if (this.#keys.get(key)?.running !== true) {
      try {
        return Promise.resolve(this.#forwardAndAge(key, ballot));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return abortableWait<Age>(signal, (resolve, reject) => {
      const apply = (): void => {
        try {
          resolve(this.#forwardAndAge(key, ballot));
        } catch (error) {
          reject(error);
        }
      };
      const waiting = this.#deferred.get(key);
      if (waiting === undefined) this.#deferred.set(key, [apply]);
      else waiting.push(apply);
      return () => {
        const list = this.#deferred.get(key);
        const index = list?.indexOf(apply) ?? -1;
        if (index >= 0) list?.splice(index, 1);
        if (list?.length === 0) this.#deferred.delete(key);
      };
    });
  }

  /**
   * Step b itself (see `fastForwardIncrement`); returns the new age. A tombstone's ballot far
   * ahead of this proposer's counter is refused, with nothing changed (`ProposerBallots.forward`).
   */
  #forwardAndAge(key: string, ballot: Ballot): Age {
    const move = this.#ballots.forward(key, ballot);
    this.#cache?.forget(key);
    this.#traceForward(key, move);
    this.#age += 1;
    this.#collections.record(key, this.#age);
    return this.age;
  }

  /**
   * Grow step 1 (paper §2.3): accepts go to `target` too, and need a majority of the larger set.
   * The change applies at once; the returned promise resolves when no attempt still runs under the
   * previous configuration (aborting stops that wait, not the change). Used by
   * {@link growCluster}.
   * @throws {@link DuplicateError} when `target` already receives accepts.
   */
  async addAccepter(target: Acceptor, opts?: CallOptions): Promise<void> {
    assertAcceptor(target);
    const { accepters } = this.#config;
    if (accepters.some((a) => a.address === target.address)) throw new DuplicateError(target.address, 'accept');
    await this.#reconfigure(this.#config.with({ accepters: [...accepters, target] }), opts?.signal);
  }

  /**
   * Grow step 3: prepares go to `target` too. See {@link MemoryProposer.addAccepter} for when it
   * resolves.
   * @throws {@link DuplicateError} when `target` already receives prepares.
   */
  async addPreparer(target: Acceptor, opts?: CallOptions): Promise<void> {
    assertAcceptor(target);
    const { preparers } = this.#config;
    if (preparers.some((a) => a.address === target.address)) throw new DuplicateError(target.address, 'prepare');
    await this.#reconfigure(this.#config.with({ preparers: [...preparers, target] }), opts?.signal);
  }

  /**
   * Shrink step 3: prepares no longer go to `target`. See {@link MemoryProposer.addAccepter} for
   * when it resolves. Used by {@link shrinkCluster}.
   * @throws {@link NotFoundError} when `target` receives no prepares.
   * @throws {@link InvalidArgumentError} when it would leave no preparer.
   */
  async removePreparer(target: Addresser, opts?: CallOptions): Promise<void> {
    assertAddress(target, 'target');
    const preparers = without(this.#config.preparers, target.address, 'prepare');
    await this.#reconfigure(this.#config.with({ preparers }), opts?.signal);
  }

  /**
   * Shrink step 1: accepts no longer go to `target`. See {@link MemoryProposer.addAccepter} for
   * when it resolves.
   * @throws {@link NotFoundError} when `target` receives no accepts.
   * @throws {@link InvalidArgumentError} when it would leave no accepter.
   */
  async removeAccepter(target: Addresser, opts?: CallOptions): Promise<void> {
    assertAddress(target, 'target');
    const accepters = without(this.#config.accepters, target.address, 'accept');
    await this.#reconfigure(this.#config.with({ accepters }), opts?.signal);
  }

  /**
   * The addresses of the acceptors prepares go to now, sorted: the prepare set that
   * {@link MemoryProposer.addPreparer} and {@link MemoryProposer.removePreparer} change. Answered
   * from this proposer's configuration, without asking the acceptors.
   * @throws `signal.reason` when the signal has aborted.
   */
  async listPreparers(opts?: CallOptions): Promise<string[]> {
    opts?.signal?.throwIfAborted();
    return sortedAddresses(this.#config.preparers);
  }

  /**
   * The addresses of the acceptors accepts go to now, sorted: the accept set that
   * {@link MemoryProposer.addAccepter} and {@link MemoryProposer.removeAccepter} change. During a
   * grow or a shrink it differs from {@link MemoryProposer.listPreparers} by one acceptor.
   * Answered from this proposer's configuration, without asking the acceptors.
   * @throws `signal.reason` when the signal has aborted.
   */
  async listAccepters(opts?: CallOptions): Promise<string[]> {
    opts?.signal?.throwIfAborted();
    return sortedAddresses(this.#config.accepters);
  }

  /**
   * The union, sorted, of the keys listed by the accepters. Needs a majority of them to answer: a
   * committed state is held by a majority of the accept set it was written under, and every
   * majority of the current accept set (one acceptor more or less) meets every such majority.
   * @throws {@link UnavailableError} when fewer than a majority of the accepters listed their keys.
   */
  async *listKeys(opts?: CallOptions): AsyncIterable<string> {
    const signal = opts?.signal;
    const { accepters } = this.#config;
    const callOptions = signal === undefined ? undefined : { signal };
    const listings = await abortable(Promise.allSettled(accepters.map((a) => collect(a.listKeys(callOptions)))), signal);
    const keys = new Set<string>();
    const failures: unknown[] = [];
    for (const listing of listings) {
      if (listing.status === 'rejected') failures.push(listing.reason);
      else for (const key of listing.value) keys.add(key);
    }
    const answered = listings.length - failures.length;
    if (answered < majority(accepters.length)) {
      throw new UnavailableError(`only ${answered} of ${accepters.length} accepters listed their keys; a majority must`, {
        cause: failures[0],
      });
    }
    yield* Array.from(keys).sort();
  }

  /**
   * Watches `key`: yields the current state first (from an identity read), then every state a
   * majority of the accepters accepted under a higher ballot, skipping repeats of the same bytes.
   * Ends when the signal aborts or the consumer stops; fails if the read fails or too many
   * accepters stop answering. A slow consumer skips intermediate states (see `bufferSize`). The
   * accepters are those configured when iteration starts.
   * @throws {@link UnavailableError} (while iterating) when too few accepters keep answering; the
   *   read's errors as {@link MemoryProposer.identityRead}'s.
   */
  watch(key: string, opts: WatchOptions = {}): AsyncIterable<State> {
    assertKey(key);
    return { [Symbol.asyncIterator]: () => watchKey(key, this.#config.accepters, (signal) => this.#readForWatch(key, signal), opts) };
  }

  /**
   * Validates and queues one proposal. Not `async` (one promise per proposal on the hot path), so
   * bad arguments are returned as a rejected promise, never thrown.
   */
  #submit(key: string, change: ChangeFunc, mode: QuorumMode, signal: AbortSignal | undefined): Promise<ProposeResult> {
    try {
      assertKey(key);
      assertFunction(change, 'change');
    } catch (error) {
      return Promise.reject(error);
    }
    const proposal = newProposal(change, mode, signal);
    this.#queue.submit(key, proposal);
    return proposal.promise;
  }

  /**
   * One round for a batch of proposals on `key`: attempts until one commits, one fails for good,
   * or the retry policy is exhausted. Settles every proposal of the batch; never throws.
   *
   * The common case costs no promise of its own: when the first attempt commits synchronously (in
   * process, see `MemoryProposerOptions.inProcess`), the batch is resolved at once and the round
   * ends one microtask later (`#endNext`, queued once per round), so proposals that arrive on the
   * key meanwhile still queue up and run as the next batch, as they do behind an awaited attempt.
   * Everything else (an attempt that waits, a lost or unknown one, retries) goes on in `#roundRest`.
   */
  #round(key: string, batch: readonly Proposal[], slot: KeySlot<Proposal>): void {
    slot.running = true;
    const log = this.#debug.get();
    const attempt = new Attempt(key, (batch[0] as Proposal).mode, this.#cache !== undefined);
    // A lone proposal's signal also cancels its acceptor calls and waits; a batch's calls are not
    // tied to any one caller (each caller's abort settles that caller alone).
    const signal = batch.length === 1 ? (batch[0] as Proposal).signal : undefined;
    let first: Outcome | Promise<Outcome>;
    try {
      first = runSteps(this.#attempt(attempt, batch, signal, log, slot));
    } catch (error) {
      this.#failBatch(key, batch, attempt, error);
      this.#endRound(slot, batch.length);
      return;
    }
    if (first !== 'committed') {
      void this.#roundRest(key, batch, slot, attempt, signal, log, first);
      return;
    }
    resolveBatch(batch, attempt, slot);
    this.#ending.push(slot);
    this.#ending.push(batch.length);
    inNextMicrotask(this.#endNext);
  }

  /**
   * Ends the round that committed synchronously longest ago (`#round`): each such round queues
   * its slot and batch size on `#ending` and one call of this in a microtask, and microtasks run
   * in order, so each call ends its own round. One function for all (no closure per round or key).
   */
  readonly #endNext = (): void => {
    const slot = this.#ending.shift() as KeySlot<Proposal>;
    this.#endRound(slot, this.#ending.shift() as number);
  };

  /**
   * The rest of a round whose first attempt (`first`) waits or did not commit: awaits it (always
   * yielding once, even when it ran synchronously), then retries while a retry may help.
   */
  async #roundRest(
    key: string,
    batch: readonly Proposal[],
    slot: KeySlot<Proposal>,
    attempt: Attempt,
    signal: AbortSignal | undefined,
    log: Logger | undefined,
    first: Outcome | Promise<Outcome>,
  ): Promise<void> {
    try {
      for (let n = 1; ; n++) {
        if (n > 1 && allSettled(batch)) return; // every caller aborted: stop retrying
        // Awaited even when the attempt ran synchronously (in process): a round always yields
        // once, so proposals that arrive on the key meanwhile queue up and run as the next batch.
        const outcome = await (n === 1 ? first : runSteps(this.#attempt(attempt, batch, signal, log, slot)));
        if (outcome === 'committed') {
          resolveBatch(batch, attempt, slot);
          return;
        }
        if (outcome === 'nothing') return;
        if (n >= this.#retry.attempts) {
          const failure = attempt.finalFailure();
          throw failure.kind === 'prepare-failed'
            ? new PrepareFailedError(key, failure.ballot, n, { cause: outcome() })
            : new AcceptFailedError(key, failure.ballot, { cause: outcome() });
        }
        // After rule G1 turned a won prepare down, nobody is in the way: retry at once.
        const delayMs = outcome === BEHIND ? 0 : retryDelay(this.#retry, n, this.#random);
        this.#tracer?.({ type: 'retry', proposer: this.address, key, ballot: attempt.ballot, attempt: n, delayMs });
        if (delayMs > 0) await this.#sleep(delayMs, signal);
        else signal?.throwIfAborted();
      }
    } catch (error) {
      this.#failBatch(key, batch, attempt, error);
    } finally {
      this.#endRound(slot, batch.length);
    }
  }

  /** Rejects every proposal of the batch with `error` (traced; see `#traceFailure`). */
  #failBatch(key: string, batch: readonly Proposal[], attempt: Attempt, error: unknown): void {
    const failure = this.#traceFailure(key, attempt.ballot, error);
    for (const proposal of batch) proposal.reject(failure);
  }

  /** The round on the slot's key is over: what waited for it applies, and the queue goes on. */
  #endRound(slot: KeySlot<Proposal>, size: number): void {
    const { key } = slot;
    slot.running = false;
    this.#ballots.roundDone(key);
    // Collections' fast-forwards of this key apply now, before the next round takes its age.
    if (this.#deferred.size > 0) {
      const waiting = this.#deferred.get(key);
      this.#deferred.delete(key);
      if (waiting !== undefined) for (const apply of waiting) apply();
    }
    this.#queue.roundDone(slot, size);
  }

  /**
   * One attempt (paper §2.2): prepare (skipped under a ballot promised with the previous accept,
   * §2.2.1), apply the batch's changes, accept; `attempt` makes every decision, this drives it.
   * Ends with `committed`; `nothing` when every change function threw (nothing was sent); or why
   * the attempt failed when a retry may help (it lost, or its outcome is unknown and the next
   * prepare decides it). Throws when nothing may be retried: the outcome cannot be decided, the
   * proposer is too old (`AgeError`), or the signal aborted. Steps (see `runSteps`): it yields
   * what it waits for, a phase's replies or the stragglers, and goes on at once when a phase was
   * decided in process.
   */
  *#attempt(
    attempt: Attempt,
    batch: readonly Proposal[],
    signal: AbortSignal | undefined,
    log: Logger | undefined,
    slot: KeySlot<Proposal>,
  ): Steps<Outcome> {
    const config = this.#config;
    config.enter();
    try {
      const { key } = attempt;
      const tracer = this.#tracer;
      const proposer = this.address;
      const cached = this.#cache?.take(slot);
      const promised = attempt.begin(cached);
      // Every attempt gets a ballot never used before, taken synchronously, before any await: the
      // cached one (promised by a quorum, reserved from the key's ballots when it was sent) or a new one.
      if (attempt.skipsCounter) this.#ballots.skip(key);
      const ballot = promised ?? this.#ballots.take(key, attempt.pending?.at(-1)?.ballot);
      attempt.start(ballot);
      this.#attempts++;
      const age = this.age;
      // The kept form of the state the changes apply to, if known: shared with the accepted state
      // when the changes left the bytes alone (see `SharedAccept`).
      let base = cached?.kept;

      if (promised !== undefined) {
        this.#preparesSkipped++;
        tracer?.({ type: 'skip-prepare', proposer, key, ballot });
      } else {
        // Phase 1: "sends a prepare message containing this number to the acceptors ... waits for
        // the F+1 confirmations".
        const { preparers } = config;
        const prepare = new PrepareRound(ballot, preparers.length, majority(preparers.length));
        const request = new PrepareRequest(key, age, ballot, signal);
        // Decided in process: no step to yield (a resumption of the generator saved per phase).
        const sent = this.#send('prepare', preparers, prepare, request, signal);
        if (typeof sent !== 'string') yield sent;
        base = request.keptFormOf(prepare.state);
        this.#afterPhase('prepare', preparers.length, prepare, key, log);
        const verdict = attempt.afterPrepare(prepare, this.#age, this.#collections);
        if (verdict.kind === 'lost') return rejectionCause(prepare, age, this.age);
        if (verdict.kind === 'behind') {
          // Rule G1 (`Attempt.afterPrepare`): no accept under this ballot; the next one is above.
          this.#fastForward(key, verdict.highest);
          return BEHIND;
        }
        // After an unknown outcome, the trace says what the prepare decided about it.
        const recovery = verdict.kind === 'proceed' ? verdict.recovery : verdict.kind === 'undecidable' ? 'undecidable' : undefined;
        if (recovery !== undefined) tracer?.({ type: 'recovery', proposer, key, ballot, decision: recovery });
        if (verdict.kind !== 'proceed') throw stopError(key, age, verdict);
      }

      // "The proposer applies the change function to the current state." A change that throws
      // rejects its caller alone, before anything is sent.
      if (!attempt.apply(batch, this.#rejectChange)) return 'nothing';

      // Phase 2: "sends the value with the B ballot number to the acceptors ... waits for the F+1
      // confirmations". With one round trip on, the accept also asks for the promise of a fresh
      // ballot for the next change.
      const { accepters } = config;
      const needed = attempt.acceptQuorum(accepters.length);
      // None when the key's ballots run out: its last accept asks for no promise.
      const nextBallot = attempt.asksNext ? this.#ballots.reserve(key) : undefined;
      const accept = new AcceptRound(ballot, accepters.length, needed, nextBallot);
      const { state, ancestry } = attempt;
      const request = new AcceptRequest(key, age, ballot, state, nextBallot, ancestry, signal, base);
      const sent = this.#send('accept', accepters, accept, request, signal);
      if (typeof sent !== 'string') yield sent;
      // Lost, with nothing but proven rejections so far: if the stragglers prove it too, the state
      // is stored nowhere and this attempt can be retried instead of called unknown. This is what
      // a proposal preempted by a competitor's prepare looks like.
      if (accept.rejectedSoFar && accept.received < accepters.length) yield this.#awaitStragglers(accept, accepters.length, signal);
      this.#afterPhase('accept', accepters.length, accept, key, log);
      if (attempt.afterAccept(accept, age.counter) !== 'committed') return rejectionCause(accept, age, this.age);
      // Cached unless something that clears the key's entry happened during the round: a
      // membership change, or a garbage collection of this key (its fast-forward forgets the key's
      // entry, `#forwardAndAge`). A collection of another key raises the age too, but leaves this
      // key's promise and records alone (step d removes only the collected key's records; step c
      // only rejects ages below the new one, and the next attempt sends the new age): refusing to
      // cache on any age change sent nearly every write of a cluster that deletes through a
      // prepare again (the soak: 87 % of rounds, at ~50 collections a second per node).
      const entry = attempt.cacheEntry(accept, config === this.#config && !this.#collections.collectedSince(key, age.counter));
      // The in-process accepters' copy of `state` serves the cache too (a doubted key's entry holds none).
      if (entry !== undefined) this.#cache?.put(slot, entry, entry.state === state ? request.kept : undefined);
      tracer?.({ type: 'committed', proposer, key, ballot, state });
      return 'committed';
    } finally {
      config.leave();
    }
  }

  /** Rejects the caller of a change function that failed (`Attempt.apply`), and traces it. */
  readonly #rejectChange = (proposal: Proposal, failure: ChangeFailure, attempt: Attempt): void => {
    proposal.reject(this.#traceFailure(attempt.key, attempt.ballot, changeError(failure)));
  };

  /**
   * Traces a proposal's failure; returns the error to reject it with: `error`, or the tracer's own
   * if it throws (as in a phase: a throwing tracer fails the proposal, never leaves it pending).
   */
  #traceFailure(key: string, ballot: Ballot, error: unknown): unknown {
    try {
      this.#tracer?.({ type: 'failed', proposer: this.address, key, ballot, error });
      return error;
    } catch (tracerError) {
      return tracerError;
    }
  }

  /**
   * Sends one phase's messages to every member at once (`send` also traces each message), feeds
   * each reply to `round` and traces it; resolves once the round is decided. Not `async`: on the
   * hot path the fan-out's promise is the only one. Members that offer the in-process path get
   * `sendTrusted` instead (see `feedInProcess`), and their replies are fed at once: when that
   * leaves nobody to wait for (no other member, or the round is decided: the others' replies are
   * late), the status is returned as it is, no promise is made at all, and the attempt goes on
   * at once (`runSteps`).
   */
  #send<R extends PrepareReply | AcceptReply>(
    phase: 'prepare' | 'accept',
    members: readonly Acceptor[],
    round: Round & { onReply(reply: R): QuorumStatus },
    request: PhaseRequest<R>,
    signal: AbortSignal | undefined,
  ): QuorumStatus | Promise<QuorumStatus> {
    if (!this.#inProcess) return this.#fanOut(phase, members, round, request, signal);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const others = feedInProcess(members, round, request);
    if (others === undefined) return round.status;
    const rest = this.#fanOut(phase, others, round, request, signal);
    if (round.status === 'pending') return rest;
    // Decided already: nobody waits for the others (an abort later on would reject `rest`).
    rest.catch(() => {});
    return round.status;
  }

  /** `#send` through the members' public methods, with a trace of every message and reply. */
  #fanOut<R extends PrepareReply | AcceptReply>(
    phase: 'prepare' | 'accept',
    members: readonly Acceptor[],
    round: Round & { onReply(reply: R): QuorumStatus },
    request: PhaseRequest<R>,
    signal: AbortSignal | undefined,
  ): Promise<QuorumStatus> {
    const tracer = this.#tracer;
    const { ballot } = round;
    const proposer = this.address;
    const { key } = request;
    return fanOut(
      members,
      tracer === undefined
        ? (acceptor) => request.send(acceptor)
        : (acceptor) => {
            tracer(request.sentEvent(proposer, acceptor.address));
            return request.send(acceptor);
          },
      tracer === undefined
        ? (_, reply) => round.onReply(reply)
        : (acceptor, reply) => {
            const late = round.status !== 'pending';
            const status = round.onReply(reply);
            tracer(replyEvent(phase, { proposer, acceptor: acceptor.address, key, ballot, late }, reply));
            return status;
          },
      (acceptor, error) => {
        const late = round.status !== 'pending';
        round.lastFailure = keptFailure(round.lastFailure, error);
        const status = round.onUnreachable();
        if (tracer !== undefined) {
          const base = { proposer, acceptor: acceptor.address, key, ballot, late, error };
          tracer(phase === 'prepare' ? { ...base, type: 'prepare-unreachable' } : { ...base, type: 'accept-unreachable' });
        }
        return status;
      },
      signal,
    );
  }

  /**
   * Waits, at most `stragglerTimeoutMs`, for the members that have not answered yet (an acceptor
   * that never answers must not hold the proposal, and its key, forever).
   */
  #awaitStragglers(round: Round, members: number, signal: AbortSignal | undefined): Promise<void> {
    return abortableWait<void>(signal, (resolve) => {
      const timer = new AbortController();
      const done = (): void => {
        timer.abort();
        resolve();
      };
      round.onEveryReply(members, done);
      this.#sleep(this.#stragglerTimeoutMs, timer.signal).then(resolve, () => {});
      return () => timer.abort();
    });
  }

  /** After a phase: fast-forward past any conflict, and log it (one debug record per phase). */
  #afterPhase(phase: 'prepare' | 'accept', members: number, round: Round, key: string, log: Logger | undefined): void {
    this.#fastForward(key, round.highestConflict);
    log?.debug({
      proposer: this.address,
      method: 'propose',
      key,
      B: formatBallot(round.ballot),
      phase,
      result: round.status === 'won' ? 'success' : 'failed',
      confirmed: round.confirmations,
      rejected: round.rejections,
      unreachable: round.unreachable,
      broadcast_to: members,
    });
  }

  #fastForward(key: string, seen: Ballot): void {
    this.#traceForward(key, this.#ballots.observe(key, seen));
  }

  /**
   * Traces the counter of `key` moving (its next ballot is one above `to`); warns when the key
   * follows a counter of its own from now on (a forged or faulty ballot, or this proposer far behind).
   */
  #traceForward(key: string, move: CounterMove | undefined): void {
    if (move === undefined) return;
    this.#tracer?.({ type: 'fast-forwarded', proposer: this.address, key, from: move.from, to: move.to });
    if (move.far) {
      this.#logger?.warn(
        { proposer: this.address, key, from: move.from, to: move.to },
        'a ballot more than 2^32 ahead of this proposer on this key: the key follows a counter of its own (docs/operations/ballots.md)',
      );
    }
  }

  /** Installs `next` and waits until no attempt runs under any configuration it replaced. */
  #reconfigure(next: Configuration, signal: AbortSignal | undefined): Promise<void> {
    const previous = this.#config;
    this.#config = next;
    // Promises piggybacked on accepts were made by the old accept set: start over with prepares.
    this.#cache?.clear();
    if (previous.active > 0) {
      this.#replaced.add(previous);
      void previous.idle().then(() => this.#replaced.delete(previous));
    }
    const waits = Array.from(this.#replaced, (config) => config.idle());
    return abortable(Promise.all(waits).then(() => undefined), signal);
  }

  /**
   * The watch's first state: an identity read, retried (under the retry policy, with its backoff)
   * while it fails retryably. Retrying is safe even after an unknown outcome: applying the identity
   * twice changes nothing.
   */
  #readForWatch(key: string, signal: AbortSignal): Promise<ProposeResult> {
    return retryWhile(() => this.identityRead(key, { signal }), isRetryable, { signal, policy: this.#retry, random: this.#random, sleep: this.#sleep });
  }
}

/** How an attempt ends (see `MemoryProposer.#attempt`). */
type Outcome = 'committed' | 'nothing' | Cause;

/**
 * Resolves each caller of a committed batch with the state its own change produced. A result that
 * is the copy of the key's state lent to the change functions is the caller's from now on
 * (`KeySlot.resolved`).
 */
function resolveBatch(batch: readonly Proposal[], attempt: Attempt, slot: KeySlot<Proposal>): void {
  const { results, ballot } = attempt;
  slot.resolved(results);
  for (let i = 0; i < batch.length; i++) {
    const state = results?.[i];
    if (state !== undefined) (batch[i] as Proposal).resolve({ state, ballot });
  }
}

/** Whether every caller of the batch has its answer (all aborted, say). */
function allSettled(batch: readonly Proposal[]): boolean {
  for (const proposal of batch) if (!proposal.settled) return false;
  return true;
}

/** The error a change function's caller is rejected with (`Attempt.apply`). */
function changeError(failure: ChangeFailure): unknown {
  if (failure.kind === 'threw') return failure.error;
  return new InvalidArgumentError(`the change function must return a Uint8Array or null, got ${failure.got}`);
}

/** The error of a prepare verdict that no retry helps. */
function stopError(key: string, age: Age, verdict: Exclude<PrepareVerdict, { kind: 'proceed' | 'lost' | 'behind' }>): Error {
  switch (verdict.kind) {
    case 'stale-age': {
      const stale = new AgeError(age, verdict.required);
      return verdict.unknown === undefined ? stale : new AcceptFailedError(key, verdict.unknown, { cause: stale });
    }
    case 'collected':
      return new AcceptFailedError(key, verdict.unknown, {
        cause: new Error('a garbage collection of the key may have removed the evidence of this change'),
      });
    case 'undecidable':
      return new AcceptFailedError(key, verdict.unknown, {
        cause: new Error(`the quorum's state (accepted under ${formatBallot(verdict.highest)}) neither shows nor excludes this change`),
      });
  }
}

/**
 * Why an attempt lost, as an error built only if the proposal fails for good: most lost attempts
 * are retried, and an `Error` with its stack trace costs microseconds (measured: a fifth of the CPU
 * time of a contended workload). The round's figures are read now, before late replies change them.
 */
type Cause = () => unknown;

/** The cause of an attempt that won its prepare and sent no accept by rule G1 (`Attempt.afterPrepare`). */
const BEHIND: Cause = () => new Error('the ballot counter was not above the accepted ballot of the current state (rule G1)');

function rejectionCause(round: Round, age: Age, current: Age): Cause {
  const { ballot, highestConflict, lastConflict, requiredAge, lastFailure } = round;
  if (lastConflict !== undefined) return () => new ConflictError(ballot, highestConflict, lastConflict.kind);
  // `current`: a collection may have raised the age since the attempt began (then it is a race).
  if (requiredAge !== undefined) return () => new AgeError(age, requiredAge, current);
  return () => lastFailure;
}

/** The trace event of one reply of a phase. */
function replyEvent(
  phase: 'prepare' | 'accept',
  base: { proposer: string; acceptor: string; key: string; ballot: Ballot; late: boolean },
  reply: PrepareReply | AcceptReply,
): TraceEvent {
  switch (reply.type) {
    case 'promised':
      return { ...base, type: 'promised', accepted: reply.accepted, state: reply.state };
    case 'accepted':
      return { ...base, type: 'accepted' };
    case 'conflict':
      return { ...base, type: phase === 'prepare' ? 'prepare-conflict' : 'accept-conflict', conflict: reply.ballot, kind: reply.kind };
    case 'age':
      return { ...base, type: phase === 'prepare' ? 'prepare-age-rejected' : 'accept-age-rejected', required: reply.required };
  }
}

function assertAcceptor(value: unknown): asserts value is Acceptor {
  assertAddress(value, 'acceptor');
  const { prepare, accept } = value as Partial<Acceptor>;
  if (typeof prepare !== 'function' || typeof accept !== 'function') {
    throw new InvalidArgumentError(`acceptor ${JSON.stringify(value.address)} must implement prepare and accept`);
  }
}

function without(set: readonly Acceptor[], address: string, name: string): Acceptor[] {
  const index = set.findIndex((a) => a.address === address);
  if (index < 0) throw new NotFoundError(address, name);
  if (set.length === 1) throw new InvalidArgumentError(`removing ${JSON.stringify(address)} would leave the ${name} set empty`);
  return [...set.slice(0, index), ...set.slice(index + 1)];
}

function sortedAddresses(set: readonly Acceptor[]): string[] {
  return set.map((a) => a.address).sort();
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
