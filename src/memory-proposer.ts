/**
 * A proposer that keeps its state (ballot counter, age, acceptor configuration) in memory: the
 * proposal rounds of `core/proposal` driven over any `Acceptor`s.
 *
 * Paper §2: a proposer "performs the initialization by communicating with acceptors, and keep[s]
 * minimal state needed to generate unique increasing update IDs (ballot numbers)".
 *
 * Concurrency: proposals for different keys run concurrently; proposals for one key through one
 * proposer wait in a FIFO queue and run one at a time, in arrival order (`KeyQueue`). Each attempt
 * takes its ballot synchronously before its first `await`, so a burst of calls gets increasing
 * ballots in call order.
 */
import { abortable, abortableWait } from './abort.js';
import type { Age } from './core/age.js';
import { type Ballot, ZERO_BALLOT, compareBallots, formatBallot, isZeroBallot } from './core/ballot.js';
import { BallotGenerator } from './core/ballot-generator.js';
import type { AcceptReply, AcceptedState, PrepareReply, State } from './core/messages.js';
import { AcceptRound, PrepareRound, type Round } from './core/proposal.js';
import { type QuorumStatus, majority } from './core/quorum.js';
import { copyState, isState, statesEqual } from './core/state.js';
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
} from './errors.js';
import { fanOut } from './fan-out.js';
import { KeyQueue } from './key-queue.js';
import { type Logger, debugEnabled } from './logger.js';
import { type Random, type RetryPolicy, type Sleep, resolveRetryPolicy, retryDelay, timerSleep } from './retry.js';
import type { Acceptor, Addresser, CallOptions, ChangeFunc, ProposeResult, Proposer, WatchOptions } from './roles.js';
import type { TraceEvent, Tracer } from './tracer.js';
import { assertAddress, assertBallot, assertFunction, assertKey } from './validate.js';
import { WatchChannel, closeOnAbort } from './watch-channel.js';

export interface MemoryProposerOptions {
  /** Receives debug records, one per phase of each attempt. Silent when absent. */
  readonly logger?: Logger | undefined;
  /** Receives a trace event per message, reply and outcome. Nothing is built when absent. */
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
}

/** A snapshot of a proposer's state, for tests and teaching. */
export interface ProposerSnapshot {
  readonly id: string;
  /** The counter of the last ballot this proposer generated or fast-forwarded to. */
  readonly counter: number;
  readonly age: Age;
  readonly preparers: readonly string[];
  readonly accepters: readonly string[];
}

type QuorumMode = 'majority' | 'all';

/** How an attempt that did not commit ended, when another attempt may follow. */
interface LostAttempt {
  readonly cause: unknown;
}

const DEFAULT_WATCH_BUFFER = 1024;

const identity: ChangeFunc = (state) => state;

export class MemoryProposer implements Proposer {
  readonly address: string;
  readonly #ballots: BallotGenerator;
  #age = 0;
  #config: Configuration;
  /** Replaced configurations that attempts still run under. */
  readonly #replaced = new Set<Configuration>();
  readonly #queue = new KeyQueue();
  readonly #logger: Logger | undefined;
  readonly #tracer: Tracer | undefined;
  readonly #retry: RetryPolicy;
  readonly #sleep: Sleep;
  readonly #random: Random;
  readonly #stragglerTimeoutMs: number;

  /**
   * @param id unique among the proposers of a cluster, and never reused by a proposer that
   *   restarts without its ballot counter (use a new incarnation id such as `p1#2`): two attempts
   *   with one ballot break linearizability.
   * @param acceptors the initial acceptors, used for both phases. At least one, addresses unique.
   */
  constructor(id: string, acceptors: Iterable<Acceptor>, options: MemoryProposerOptions = {}) {
    if (typeof id !== 'string' || id === '') throw new InvalidArgumentError('a proposer id must be a non-empty string');
    const list = Array.from(acceptors ?? []);
    if (list.length === 0) throw new InvalidArgumentError('a proposer needs at least one acceptor');
    const seen = new Set<string>();
    for (const acceptor of list) {
      assertAcceptor(acceptor);
      if (seen.has(acceptor.address)) throw new DuplicateError(acceptor.address, 'initial');
      seen.add(acceptor.address);
    }
    this.address = id;
    this.#ballots = new BallotGenerator(id);
    this.#config = new Configuration(list, list);
    this.#logger = options.logger;
    this.#tracer = options.tracer;
    this.#retry = resolveRetryPolicy(options.retry);
    this.#sleep = options.sleep ?? timerSleep;
    this.#random = options.random ?? Math.random;
    this.#stragglerTimeoutMs = options.stragglerTimeoutMs ?? 100;
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
    return { counter: this.#age, id: this.address };
  }

  inspect(): ProposerSnapshot {
    return {
      id: this.address,
      counter: this.#ballots.counter,
      age: this.age,
      preparers: sortedAddresses(this.#config.preparers),
      accepters: sortedAddresses(this.#config.accepters),
    };
  }

  /**
   * Paper §2.2: "A client submits the change function to a proposer." Runs `change` on the current
   * state of `key` and resolves with the new state once a quorum accepted it.
   *
   * Rejects with: the change function's own error if it throws (nothing is accepted, the state is
   * unchanged); `PrepareFailedError` when every attempt the retry policy allows ended without
   * effect (lost its prepare phase, or had its accept rejected by every accepter);
   * `AcceptFailedError` when the accept phase failed otherwise (outcome unknown);
   * `AgeError` when this proposer was left out of a garbage collection; `signal.reason` on abort.
   * An abort after the accept phase began leaves the outcome unknown too.
   */
  async propose(key: string, change: ChangeFunc, opts?: CallOptions): Promise<ProposeResult> {
    assertKey(key);
    assertFunction(change, 'change');
    return this.#enqueue(key, change, 'majority', opts?.signal);
  }

  /** A proposal with the identity change function: reads the current state (by re-writing it). */
  async identityRead(key: string, opts?: CallOptions): Promise<ProposeResult> {
    assertKey(key);
    return this.#enqueue(key, identity, 'majority', opts?.signal);
  }

  /**
   * An identity read whose accept phase needs every accepter (paper §3.1 step a: "executing the
   * identity transform with max quorum size"). Fails if any accepter is unreachable.
   */
  async fullIdentityRead(key: string, opts?: CallOptions): Promise<ProposeResult> {
    assertKey(key);
    return this.#enqueue(key, identity, 'all', opts?.signal);
  }

  /**
   * Paper §3.1 step b: "invalidates its cache associated with the removing key, ... fast-forwards
   * its counter to guarantee that new ballot numbers are greater than the tombstone's ballot, and
   * increments proposer's age". Resolves with the new age.
   */
  async fastForwardIncrement(key: string, ballot: Ballot, opts?: CallOptions): Promise<Age> {
    opts?.signal?.throwIfAborted();
    assertKey(key);
    assertBallot(ballot);
    this.#fastForward(key, ballot);
    this.#age += 1;
    return this.age;
  }

  /**
   * Grow step 1 (paper §2.3): accepts go to `target` too, and need a majority of the larger set.
   * The change applies at once; the returned promise resolves when no attempt still runs under the
   * previous configuration (aborting stops that wait, not the change).
   */
  async addAccepter(target: Acceptor, opts?: CallOptions): Promise<void> {
    assertAcceptor(target);
    const { accepters } = this.#config;
    if (accepters.some((a) => a.address === target.address)) throw new DuplicateError(target.address, 'accept');
    await this.#reconfigure(this.#config.with({ accepters: [...accepters, target] }), opts?.signal);
  }

  /** Grow step 3: prepares go to `target` too. See `addAccepter` for when it resolves. */
  async addPreparer(target: Acceptor, opts?: CallOptions): Promise<void> {
    assertAcceptor(target);
    const { preparers } = this.#config;
    if (preparers.some((a) => a.address === target.address)) throw new DuplicateError(target.address, 'prepare');
    await this.#reconfigure(this.#config.with({ preparers: [...preparers, target] }), opts?.signal);
  }

  /** Shrink step 1: prepares no longer go to `target`. See `addAccepter` for when it resolves. */
  async removePreparer(target: Addresser, opts?: CallOptions): Promise<void> {
    assertAddress(target, 'target');
    const preparers = without(this.#config.preparers, target.address, 'prepare');
    await this.#reconfigure(this.#config.with({ preparers }), opts?.signal);
  }

  /** Shrink step 3: accepts no longer go to `target`. See `addAccepter` for when it resolves. */
  async removeAccepter(target: Addresser, opts?: CallOptions): Promise<void> {
    assertAddress(target, 'target');
    const accepters = without(this.#config.accepters, target.address, 'accept');
    await this.#reconfigure(this.#config.with({ accepters }), opts?.signal);
  }

  async listPreparers(opts?: CallOptions): Promise<string[]> {
    opts?.signal?.throwIfAborted();
    return sortedAddresses(this.#config.preparers);
  }

  async listAccepters(opts?: CallOptions): Promise<string[]> {
    opts?.signal?.throwIfAborted();
    return sortedAddresses(this.#config.accepters);
  }

  /**
   * The union, sorted, of the keys listed by the accepters. Needs a majority of them to answer: a
   * committed state is held by a majority of the accept set it was written under, and every
   * majority of the current accept set (one acceptor more or less) meets every such majority.
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
   */
  watch(key: string, opts: WatchOptions = {}): AsyncIterable<State> {
    assertKey(key);
    return { [Symbol.asyncIterator]: () => this.#watch(key, opts) };
  }

  #enqueue(key: string, change: ChangeFunc, mode: QuorumMode, signal: AbortSignal | undefined): Promise<ProposeResult> {
    return this.#queue.run(key, () => this.#run(key, change, mode, signal), signal);
  }

  /** Runs attempts until one commits, one fails for good, or the retry policy is exhausted. */
  async #run(key: string, change: ChangeFunc, mode: QuorumMode, signal: AbortSignal | undefined): Promise<ProposeResult> {
    const log = debugEnabled(this.#logger) ? this.#logger : undefined;
    const callOptions = signal === undefined ? undefined : { signal };
    let ballot: Ballot = ZERO_BALLOT;
    try {
      for (let attempt = 1; ; attempt++) {
        // Every attempt gets a fresh ballot, taken synchronously, before anything is awaited.
        ballot = this.#ballots.next();
        const outcome = await this.#attempt(key, change, mode, ballot, callOptions, log);
        if ('state' in outcome) return outcome;
        if (attempt >= this.#retry.attempts) throw new PrepareFailedError(key, ballot, attempt, { cause: outcome.cause });
        const delayMs = retryDelay(this.#retry, attempt, this.#random);
        this.#tracer?.({ type: 'retry', proposer: this.address, key, ballot, attempt, delayMs });
        if (delayMs > 0) await this.#sleep(delayMs, signal);
        else signal?.throwIfAborted();
      }
    } catch (error) {
      this.#tracer?.({ type: 'failed', proposer: this.address, key, ballot, error });
      throw error;
    }
  }

  /**
   * One attempt (paper §2.2): prepare, apply the change, accept. Resolves with the result when it
   * committed, or with a `LostAttempt` when it certainly had no effect (its prepare phase lost, or
   * every accepter rejected its accept) and may be retried. Throws when it must not be retried:
   * the change function threw, the accept phase failed with an unknown outcome, the proposer is
   * too old (`AgeError`), or the signal aborted.
   */
  async #attempt(
    key: string,
    change: ChangeFunc,
    mode: QuorumMode,
    ballot: Ballot,
    callOptions: CallOptions | undefined,
    log: Logger | undefined,
  ): Promise<ProposeResult | LostAttempt> {
    const config = this.#config;
    config.enter();
    try {
      const age = this.age;
      const tracer = this.#tracer;
      const proposer = this.address;
      const attempt: AttemptContext = { key, ballot, signal: callOptions?.signal, log };

      // Phase 1: "sends a prepare message containing this number to the acceptors ... waits for
      // the F+1 confirmations".
      const { preparers } = config;
      const prepare = new PrepareRound(ballot, preparers.length, majority(preparers.length));
      const prepareFailure = await this.#phase('prepare', preparers, prepare, attempt, (acceptor) => {
        tracer?.({ type: 'prepare-sent', proposer, acceptor: acceptor.address, key, ballot, age });
        return acceptor.prepare(key, age, ballot, callOptions);
      });
      if (prepare.status === 'lost') {
        const { requiredAge } = prepare;
        if (requiredAge !== undefined && requiredAge.counter > this.#age) {
          // Not the race with a garbage collection that already bumped our age: we are stale.
          throw new AgeError(age, requiredAge);
        }
        return { cause: rejectionCause(prepare, age) ?? prepareFailure };
      }

      // "The proposer applies the change function to the current state." A throw propagates to
      // the caller before anything is sent: nothing changes.
      const next = change(prepare.state);
      if (!isState(next)) {
        throw new InvalidArgumentError(`the change function must return a Uint8Array or null, got ${next === undefined ? 'undefined' : typeof next}`);
      }

      // Phase 2: "sends the value with the B ballot number to the acceptors ... waits for the F+1
      // confirmations". For a full identity read the quorum is every accepter.
      const { accepters } = config;
      const needed = mode === 'all' ? accepters.length : majority(accepters.length);
      const accept = new AcceptRound(ballot, accepters.length, needed);
      const acceptFailure = await this.#phase(
        'accept',
        accepters,
        accept,
        attempt,
        (acceptor) => {
          tracer?.({ type: 'accept-sent', proposer, acceptor: acceptor.address, key, ballot, age, state: next });
          return acceptor.accept(key, age, ballot, next, callOptions);
        },
        // Lost, with nothing but rejections so far: if the stragglers reject too, the value is
        // stored nowhere and the attempt can be retried instead of reported as unknown. This is
        // what a proposal preempted by a competitor's prepare looks like.
        () => accept.rejectedSoFar,
      );
      if (accept.status === 'lost') {
        const cause = rejectionCause(accept, age) ?? acceptFailure;
        // Rejected by every accepter: stored nowhere, so it had no effect and may be retried.
        if (accept.rejectedByAll) return { cause };
        // Otherwise some acceptors may hold `next` and a later prepare may adopt it: the outcome
        // is unknown. Never report it as "nothing happened", and never retry it here: applying the
        // change again could apply it twice.
        throw new AcceptFailedError(key, ballot, { cause });
      }
      tracer?.({ type: 'committed', proposer, key, ballot, state: next });
      return { state: next, ballot };
    } finally {
      config.leave();
    }
  }

  /**
   * Runs one phase: sends to every member at once (`send` also traces the message), feeds each
   * reply to `round` and traces it, resolves once the round is decided, or, while
   * `waitForStragglers()` holds after the decision, once every member answered. Then fast-forwards
   * past any conflict and logs the phase. Resolves with the last transport failure, if any.
   */
  async #phase<R extends PrepareReply | AcceptReply>(
    phase: 'prepare' | 'accept',
    members: readonly Acceptor[],
    round: Round & { onReply(reply: R): QuorumStatus },
    attempt: AttemptContext,
    send: (acceptor: Acceptor) => Promise<R>,
    waitForStragglers?: () => boolean,
  ): Promise<unknown> {
    const tracer = this.#tracer;
    const { key, ballot, signal } = attempt;
    let lastFailure: unknown;
    let everyReplyIn: (() => void) | undefined;
    const received = (status: QuorumStatus): QuorumStatus => {
      if (round.received === members.length) everyReplyIn?.();
      return status;
    };
    await fanOut(
      members,
      send,
      (acceptor, reply) => {
        const late = round.status !== 'pending';
        const status = round.onReply(reply);
        if (tracer !== undefined) tracer(replyEvent(phase, { proposer: this.address, acceptor: acceptor.address, key, ballot, late }, reply));
        return received(status);
      },
      (acceptor, error) => {
        const late = round.status !== 'pending';
        lastFailure = error;
        const status = round.onUnreachable();
        if (tracer !== undefined) {
          const base = { proposer: this.address, acceptor: acceptor.address, key, ballot, late, error };
          tracer(phase === 'prepare' ? { ...base, type: 'prepare-unreachable' } : { ...base, type: 'accept-unreachable' });
        }
        return received(status);
      },
      signal,
    );
    if (waitForStragglers?.() === true && round.received < members.length) {
      // Bounded: an acceptor that never answers must not hold the proposal (and its key) forever.
      await abortableWait<void>(signal, (resolve) => {
        const timer = new AbortController();
        everyReplyIn = () => {
          timer.abort();
          resolve();
        };
        this.#sleep(this.#stragglerTimeoutMs, timer.signal).then(resolve, () => {});
        return () => timer.abort();
      });
    }
    this.#fastForward(key, round.highestConflict);
    attempt.log?.debug({
      proposer: this.address,
      method: 'propose',
      key,
      B: formatBallot(ballot),
      phase,
      result: round.status === 'won' ? 'success' : 'failed',
      confirmed: round.confirmations,
      rejected: round.rejections,
      unreachable: round.unreachable,
      broadcast_to: members.length,
    });
    return lastFailure;
  }

  #fastForward(key: string, seen: Ballot): void {
    const from = this.#ballots.counter;
    if (this.#ballots.fastForward(seen)) {
      this.#tracer?.({ type: 'fast-forwarded', proposer: this.address, key, from, to: this.#ballots.counter });
    }
  }

  /** Installs `next` and waits until no attempt runs under any configuration it replaced. */
  #reconfigure(next: Configuration, signal: AbortSignal | undefined): Promise<void> {
    const previous = this.#config;
    this.#config = next;
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
  async #readForWatch(key: string, signal: AbortSignal): Promise<ProposeResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.identityRead(key, { signal });
      } catch (error) {
        if (signal.aborted || !isRetryable(error) || attempt >= this.#retry.attempts) throw error;
        await this.#sleep(retryDelay(this.#retry, attempt + 1, this.#random), signal);
      }
    }
  }

  #watch(key: string, { signal, bufferSize = DEFAULT_WATCH_BUFFER }: WatchOptions): AsyncIterator<State> {
    const stop = new AbortController();
    let detach = (): void => {};
    const out = new WatchChannel<State>(bufferSize, () => {
      detach();
      stop.abort();
    });
    detach = closeOnAbort(out, signal);
    if (out.closed) return out;

    const { accepters } = this.#config;
    const needed = majority(accepters.length);
    // For each ballot reported by some accepter: its state and which accepters reported it.
    const votes = new Map<string, { ballot: Ballot; state: State; voters: Set<number> }>();
    let last: AcceptedState | undefined;
    let failed = 0;

    const emit = (chosen: AcceptedState): void => {
      if (last !== undefined && statesEqual(chosen.state, last.state)) {
        last = chosen;
      } else {
        last = chosen;
        out.push(copyState(chosen.state));
      }
      for (const [id, vote] of votes) if (compareBallots(vote.ballot, chosen.ballot) <= 0) votes.delete(id);
    };
    const onVote = (voter: number, { ballot, state }: AcceptedState): void => {
      if (isZeroBallot(ballot) || (last !== undefined && compareBallots(ballot, last.ballot) <= 0)) return;
      const id = formatBallot(ballot);
      let vote = votes.get(id);
      if (vote === undefined) votes.set(id, (vote = { ballot, state, voters: new Set() }));
      vote.voters.add(voter);
      // A state accepted by a majority is chosen. Before the first read completes, only collect.
      if (last !== undefined && vote.voters.size >= needed) emit(vote);
    };
    const onPumpEnd = (error: unknown): void => {
      if (stop.signal.aborted) return;
      failed++;
      if (accepters.length - failed < needed) {
        out.fail(new UnavailableError(`watch of key ${JSON.stringify(key)}: too few accepters still answer`, { cause: error }));
      }
    };

    const watchOptions = { signal: stop.signal, bufferSize };
    accepters.forEach((acceptor, voter) => {
      void (async () => {
        try {
          for await (const accepted of acceptor.watch(key, watchOptions)) onVote(voter, accepted);
          onPumpEnd(undefined);
        } catch (error) {
          onPumpEnd(error);
        }
      })();
    });

    this.#readForWatch(key, stop.signal).then(
      (read) => {
        last = read;
        out.push(read.state);
        const chosen = Array.from(votes.values())
          .filter((vote) => vote.voters.size >= needed && compareBallots(vote.ballot, read.ballot) > 0)
          .sort((a, b) => compareBallots(a.ballot, b.ballot));
        for (const vote of chosen) emit(vote);
      },
      (error: unknown) => {
        if (!stop.signal.aborted) out.fail(error);
      },
    );
    return out;
  }
}

/** What a phase needs to know about the attempt it belongs to. */
interface AttemptContext {
  readonly key: string;
  readonly ballot: Ballot;
  readonly signal: AbortSignal | undefined;
  readonly log: Logger | undefined;
}

/** The error that explains a lost round's rejections: the conflict, else the stale age. */
function rejectionCause(round: Round, age: Age): Error | undefined {
  if (round.lastConflict !== undefined) return new ConflictError(round.ballot, round.highestConflict, round.lastConflict.kind);
  if (round.requiredAge !== undefined) return new AgeError(age, round.requiredAge);
  return undefined;
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
