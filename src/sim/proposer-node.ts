/**
 * A proposer on the simulated network: a `MemoryProposer` (or a test's own `Proposer`) whose
 * acceptors are `AcceptorProxy`s of this node's endpoint, whose sleeps run on virtual time at this
 * node's clock rate, and whose jitter comes from the simulation's seeded random source.
 *
 * It implements `Proposer` itself, so orchestration (`growCluster`, `garbageCollect`) can be given
 * the nodes: membership calls name acceptors by address, and each node maps the address to its own
 * proxy. It can crash (every operation in progress ends with an unknown outcome; its messages
 * already sent may still arrive) and restart: as the docs require of a proposer that lost its
 * ballot counter, it comes back under a new incarnation id (`p1#2`) with its counter at 0, and with
 * the acceptor configuration it had.
 */
import type { Age } from '../core/age.js';
import type { Ballot } from '../core/ballot.js';
import type { State } from '../core/messages.js';
import { CASPaxosError, UnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import { MemoryProposer } from '../proposer/memory-proposer.js';
import type { RetryPolicy } from '../retry.js';
import type { Acceptor, Addresser, CallOptions, ChangeFunc, ProposeResult, Proposer, ReadOptions, WatchOptions } from '../roles.js';
import type { Tracer } from '../tracer.js';
import { Endpoint, type EndpointContext } from './endpoint.js';
import type { SeededRandom } from './random.js';

/** Builds the proposer of one incarnation (a test may substitute a broken one). */
export type ProposerFactory = (id: string, acceptors: readonly Acceptor[], options: ProposerFactoryOptions) => Proposer;

/**
 * What a `ProposerFactory` must honour for the simulation to stay deterministic: `sleep` runs on
 * virtual time and `random` is seeded. The rest mirrors `MemoryProposerOptions`.
 */
export interface ProposerFactoryOptions {
  /** Waits on the node's virtual clock; use it for every wait. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The node's seeded random source; use it for every random choice (retry jitter). */
  readonly random: () => number;
  /**
   * `SimulationOptions.retry`.
   * @default DEFAULT_RETRY_POLICY
   */
  readonly retry?: Partial<RetryPolicy> | undefined;
  /**
   * `SimulationOptions.oneRoundTrip`.
   * @default true
   */
  readonly oneRoundTrip?: boolean | undefined;
  /**
   * `SimulationOptions.maxBatch`.
   * @default 64
   */
  readonly maxBatch?: number | undefined;
  /**
   * `SimulationOptions.tracer`.
   * @default undefined
   */
  readonly tracer?: Tracer | undefined;
  /**
   * `SimulationOptions.logger`.
   * @default undefined (no logging)
   */
  readonly logger?: Logger | undefined;
}

/** The default factory: a `MemoryProposer`. */
export const memoryProposerFactory: ProposerFactory = (id, acceptors, options) => new MemoryProposer(id, acceptors, options);

/** Rejection of every operation a proposer had in progress when it crashed: outcome unknown. */
export class ProposerCrashedError extends UnavailableError {
  /** Like an accept failure: the operation may or may not take effect. */
  readonly outcome = 'unknown' as const;
  constructor(id: string) {
    super(`proposer ${id} crashed; the outcome of its operation is unknown`);
  }
}

/** Rejection of an operation sent to a proposer that is down: it never started, so no effect. */
export class ProposerDownError extends UnavailableError {
  constructor(id: string) {
    super(`proposer ${id} is down`);
  }
}

/** Options of `ProposerNode`; the `Simulation` fills them in from its own options. */
export interface ProposerNodeOptions {
  /**
   * How long an acceptor call waits for its reply, in milliseconds of the node's clock
   * (`SimulationOptions.timeoutMs`).
   */
  readonly timeoutMs: number;
  /**
   * The node's clock rate: 1 is true time, 2 makes its timers take twice as long
   * (`SimulationOptions.skew`).
   */
  readonly skew: number;
  /**
   * `SimulationOptions.retry`.
   * @default DEFAULT_RETRY_POLICY
   */
  readonly retry?: Partial<RetryPolicy> | undefined;
  /**
   * `SimulationOptions.oneRoundTrip`.
   * @default true
   */
  readonly oneRoundTrip?: boolean | undefined;
  /**
   * `SimulationOptions.maxBatch`.
   * @default 64
   */
  readonly maxBatch?: number | undefined;
  /**
   * `SimulationOptions.tracer`.
   * @default undefined
   */
  readonly tracer?: Tracer | undefined;
  /**
   * `SimulationOptions.logger`.
   * @default undefined (no logging)
   */
  readonly logger?: Logger | undefined;
  /** Builds each incarnation's proposer (`SimulationOptions.proposerFactory`). */
  readonly factory: ProposerFactory;
}

/**
 * A proposer on the simulated network: a `MemoryProposer` (or the factory's `Proposer`) whose
 * acceptors are proxies on this node's endpoint, whose sleeps run on virtual time at this node's
 * clock rate and whose jitter is seeded. It implements `Proposer`, so `growCluster` and
 * `garbageCollect` can be given the nodes. It can crash and restart under a new incarnation id.
 */
export class ProposerNode implements Proposer {
  #incarnation = 1;
  #endpoint: Endpoint;
  #proposer: Proposer;
  #up = true;
  #preparers: string[];
  #accepters: string[];
  /** Rejecters of the operations in progress, so a crash can end them. */
  readonly #inProgress = new Set<(error: unknown) => void>();
  readonly #random: SeededRandom;

  constructor(
    /** The node's id on the network (its first incarnation's proposer id; see `incarnationId`). */
    readonly address: string,
    acceptors: readonly string[],
    private readonly context: EndpointContext,
    random: SeededRandom,
    private readonly options: ProposerNodeOptions,
  ) {
    this.#random = random;
    this.#preparers = [...acceptors];
    this.#accepters = [...acceptors];
    this.#endpoint = this.#newEndpoint();
    this.#proposer = this.#build();
    context.network.attach(address, (message) => this.#endpoint.receive(message));
  }

  /** False while crashed. */
  get up(): boolean {
    return this.#up;
  }

  /** The id the current incarnation's ballots carry: `p1`, then `p1#2`, `p1#3` after restarts. */
  get incarnationId(): string {
    return this.#incarnation === 1 ? this.address : `${this.address}#${this.#incarnation}`;
  }

  /** The current incarnation's proposer. */
  get proposer(): Proposer {
    return this.#proposer;
  }

  /** Addresses of the acceptors its prepares go to (as this node tracks them across restarts). */
  get preparers(): readonly string[] {
    return this.#preparers;
  }

  /** Addresses of the acceptors its accepts go to. */
  get accepters(): readonly string[] {
    return this.#accepters;
  }

  /** Clock rate of this node (1 = true time). */
  get skew(): number {
    return this.options.skew;
  }

  /**
   * Crashes the node: every operation in progress rejects with `ProposerCrashedError` (outcome
   * unknown), and calls until `restart` reject with `ProposerDownError`.
   */
  crash(): void {
    if (!this.#up) return;
    this.#up = false;
    this.#endpoint.kill();
    const crashed = new ProposerCrashedError(this.incarnationId);
    for (const reject of this.#inProgress) reject(crashed);
    this.#inProgress.clear();
  }

  /** Starts a new incarnation: new id, counter 0, age 0, the configuration it had. */
  async restart(): Promise<void> {
    if (this.#up) return;
    this.#incarnation++;
    this.#endpoint = this.#newEndpoint();
    this.#proposer = this.#build();
    this.#up = true;
  }

  propose(key: string, change: ChangeFunc, opts?: CallOptions): Promise<ProposeResult> {
    return this.#guard(() => this.#proposer.propose(key, change, opts));
  }

  identityRead(key: string, opts?: ReadOptions): Promise<ProposeResult> {
    return this.#guard(() => this.#proposer.identityRead(key, opts));
  }

  fullIdentityRead(key: string, opts?: CallOptions): Promise<ProposeResult> {
    return this.#guard(() => this.#proposer.fullIdentityRead(key, opts));
  }

  fastForwardIncrement(key: string, ballot: Ballot, opts?: CallOptions): Promise<Age> {
    return this.#guard(() => this.#proposer.fastForwardIncrement(key, ballot, opts));
  }

  listKeys(opts?: CallOptions): AsyncIterable<string> {
    if (!this.#up) return failing(new ProposerDownError(this.address));
    return this.#proposer.listKeys(opts);
  }

  // Membership changes apply at once in the proposer (it installs the new configuration before
  // waiting for in-flight attempts), so the node tracks them at once too; a refused change is
  // rolled back.
  async addAccepter(target: Acceptor, opts?: CallOptions): Promise<void> {
    await this.#track(() => this.#proposer.addAccepter(this.#endpoint.proxy(target.address), opts), 'accepters', target.address, 'add');
  }

  async addPreparer(target: Acceptor, opts?: CallOptions): Promise<void> {
    await this.#track(() => this.#proposer.addPreparer(this.#endpoint.proxy(target.address), opts), 'preparers', target.address, 'add');
  }

  async removePreparer(target: Addresser, opts?: CallOptions): Promise<void> {
    await this.#track(() => this.#proposer.removePreparer(target, opts), 'preparers', target.address, 'remove');
  }

  async removeAccepter(target: Addresser, opts?: CallOptions): Promise<void> {
    await this.#track(() => this.#proposer.removeAccepter(target, opts), 'accepters', target.address, 'remove');
  }

  async #track(change: () => Promise<void>, set: 'preparers' | 'accepters', address: string, how: 'add' | 'remove'): Promise<void> {
    const before = set === 'preparers' ? this.#preparers : this.#accepters;
    const after = how === 'add' ? (before.includes(address) ? before : [...before, address]) : before.filter((a) => a !== address);
    const assign = (value: string[]): void => {
      if (set === 'preparers') this.#preparers = value;
      else this.#accepters = value;
    };
    assign(after);
    try {
      await this.#guard(change);
    } catch (error) {
      // Refused (a duplicate, a missing acceptor, an empty set): nothing changed.
      if (error instanceof CASPaxosError && !(error instanceof UnavailableError)) assign(before);
      throw error;
    }
  }

  listPreparers(opts?: CallOptions): Promise<string[]> {
    return this.#guard(() => this.#proposer.listPreparers(opts));
  }

  listAccepters(opts?: CallOptions): Promise<string[]> {
    return this.#guard(() => this.#proposer.listAccepters(opts));
  }

  watch(key: string, opts?: WatchOptions): AsyncIterable<State> {
    if (!this.#up) return failing(new ProposerDownError(this.address));
    return this.#proposer.watch(key, opts);
  }

  /** Runs `operation` on the live incarnation; a crash meanwhile rejects it (outcome unknown). */
  #guard<T>(operation: () => Promise<T>): Promise<T> {
    if (!this.#up) return Promise.reject(new ProposerDownError(this.address));
    return new Promise<T>((resolve, reject) => {
      this.#inProgress.add(reject);
      operation().then(
        (value) => {
          this.#inProgress.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          this.#inProgress.delete(reject);
          reject(error);
        },
      );
    });
  }

  #newEndpoint(): Endpoint {
    return new Endpoint(this.address, this.context, { timeoutMs: this.options.timeoutMs, skew: this.options.skew, incarnation: this.incarnationId });
  }

  #build(): Proposer {
    const endpoint = this.#endpoint;
    const id = this.incarnationId;
    const union = [...new Set([...this.#accepters, ...this.#preparers])];
    const proposer = this.options.factory(
      id,
      union.map((address) => endpoint.proxy(address)),
      {
        sleep: (ms, signal) => endpoint.sleep(ms, signal, `sleep of ${id}`),
        random: this.#random.fork(id).asFunction,
        retry: this.options.retry,
        oneRoundTrip: this.options.oneRoundTrip,
        maxBatch: this.options.maxBatch,
        tracer: this.options.tracer,
        logger: this.options.logger,
      },
    );
    // Restore the two sets when they differ (a crash in the middle of a membership change); the
    // new proposer has no attempt in flight, so these resolve at once.
    for (const address of union) {
      if (!this.#preparers.includes(address)) void proposer.removePreparer({ address });
      if (!this.#accepters.includes(address)) void proposer.removeAccepter({ address });
    }
    return proposer;
  }
}

function failing<T>(error: unknown): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }),
  };
}
