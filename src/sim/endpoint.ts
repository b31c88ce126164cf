/**
 * The client side of the simulated network: an `Endpoint` belongs to one node (a proposer, or the
 * operator that runs garbage collection and membership changes) and hands out `AcceptorProxy`s,
 * which implement `Acceptor` by sending request messages and waiting for the replies. A call times
 * out after `timeoutMs` of the node's (skewed) virtual time and then rejects like a real transport
 * would; a reply that comes later is ignored. When the node crashes, its endpoint goes dead: its
 * pending calls never settle, and it sends nothing more.
 */
import type { Age } from '../core/age.js';
import { type Ballot, formatBallot } from '../core/ballot.js';
import type { AcceptReply, AcceptedState, PeekReply, PrepareReply, RemoveReply, State, Tombstone } from '../core/messages.js';
import { UnavailableError } from '../errors.js';
import type { AcceptOptions, Acceptor, CallOptions, WatchOptions } from '../roles.js';
import { DEFAULT_WATCH_BUFFER, WatchChannel, closeOnAbort } from '../internal/watch-channel.js';
import type { SimMessage, SimNetwork } from './network.js';
import type { VirtualTime } from './virtual-time.js';

/** The outcome a reply message carries. */
export type ReplyBody =
  | {
      /** The call resolved. */
      readonly ok: true;
      /** What it resolved with. */
      readonly value: unknown;
    }
  | {
      /** The call rejected. */
      readonly ok: false;
      /** The error's message. */
      readonly error: string;
    };

/** What an endpoint needs from the simulation. */
export interface EndpointContext {
  /** The virtual clock. */
  readonly time: VirtualTime;
  /** The network messages travel on. */
  readonly network: SimNetwork;
  /** Globally unique call ids, so a reply can never be taken for another call's. */
  nextCall(): number;
}

/** Options of `Endpoint`. */
export interface EndpointOptions {
  /** How long a call waits for its reply, in milliseconds of this node's clock. */
  readonly timeoutMs: number;
  /** This node's clock rate: 2 means its timers take twice as long in virtual time. */
  readonly skew: number;
  /**
   * The proposer incarnation this endpoint serves (`p1#2`; a restarted proposer gets a new
   * endpoint), named by its timeout and wake events.
   * @default the address
   */
  readonly incarnation?: string | undefined;
}

interface PendingCall {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * The client side of one node (a proposer, or the operator that runs garbage collection and
 * membership changes) on the simulated network: it hands out `AcceptorProxy`s and waits for their
 * replies. A call times out after `timeoutMs` of the node's skewed virtual time and rejects like a
 * real transport would; a later reply is ignored. Once the node crashes (`kill`), nothing pending
 * settles and nothing more is sent.
 */
export class Endpoint {
  #alive = true;
  readonly #calls = new Map<number, PendingCall>();
  readonly #watches = new Map<number, WatchChannel<AcceptedState>>();

  constructor(
    /** The node's address on the network. */
    readonly address: string,
    /** The clock and network it runs on. */
    readonly context: EndpointContext,
    /** Its timeout and clock rate. */
    readonly options: EndpointOptions,
  ) {}

  get #incarnation(): string {
    return this.options.incarnation ?? this.address;
  }

  /** False once the node crashed (`kill`). */
  get alive(): boolean {
    return this.#alive;
  }

  /** The node crashed: nothing pending will ever settle, nothing more is sent or received. */
  kill(): void {
    this.#alive = false;
    this.#calls.clear();
    for (const channel of this.#watches.values()) channel.close();
    this.#watches.clear();
  }

  /** An `Acceptor` whose every call travels over the network to `address`. */
  proxy(address: string): AcceptorProxy {
    return new AcceptorProxy(address, this);
  }

  /** A timer on this node's clock; never fires once the node is dead. */
  sleep(ms: number, signal: AbortSignal | undefined, label: string): Promise<void> {
    if (!this.#alive) return new Promise(() => {});
    return this.context.time.sleep(ms, { signal, skew: this.options.skew, label, node: this.address, incarnation: this.#incarnation, live: () => this.#alive });
  }

  /**
   * Sends a request and resolves with the reply's value (rejects with its error, or on timeout).
   * `summary` describes it in the trace (only called when the simulation traces).
   */
  call(to: string, method: string, body: unknown, summary: () => string, signal: AbortSignal | undefined): Promise<unknown> {
    if (!this.#alive) return new Promise(() => {});
    if (signal?.aborted) return Promise.reject(signal.reason);
    const call = this.context.nextCall();
    // No abort listener per call: the proposer stops waiting on its own when its signal aborts
    // (and one listener per call would pile up on a long-lived signal). An abandoned call simply
    // ends at its reply or its timeout.
    return new Promise<unknown>((resolve, reject) => {
      const settle = (): void => {
        this.#calls.delete(call);
        timeout.cancel();
      };
      this.#calls.set(call, {
        resolve: (value) => {
          settle();
          resolve(value);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      this.context.network.send({ kind: 'request', from: this.address, to, method, call, body }, summary);
      const timeout = this.context.time.timer(
        this.options.timeoutMs,
        this.options.skew,
        () => `timer ${this.address} timeout of call ${call}`,
        () => {
          if (this.#alive) this.#calls.get(call)?.reject(new UnavailableError(`${method} to ${to} timed out after ${this.options.timeoutMs} ms`));
        },
        () => ({ kind: 'timeout', node: this.address, incarnation: this.#incarnation, call, to, method }),
      );
    });
  }

  /** Opens a watch stream on acceptor `to` (events travel as messages, faults included). */
  watch(to: string, key: string, opts: WatchOptions): AsyncIterable<AcceptedState> {
    return {
      [Symbol.asyncIterator]: () => {
        const call = this.context.nextCall();
        let detach = (): void => {};
        const channel = new WatchChannel<AcceptedState>(opts.bufferSize ?? DEFAULT_WATCH_BUFFER, () => {
          detach();
          this.#watches.delete(call);
          if (this.#alive) this.context.network.send({ kind: 'request', from: this.address, to, method: 'unwatch', call, body: {} }, () => `unwatch ${key}`);
        });
        if (!this.#alive) return channel; // a dead node's stream never yields
        this.#watches.set(call, channel);
        detach = closeOnAbort(channel, opts.signal);
        if (!channel.closed) this.context.network.send({ kind: 'request', from: this.address, to, method: 'watch', call, body: { key } }, () => `watch ${key}`);
        return channel;
      },
    };
  }

  /** The network hands this endpoint a message; returns false if the node is dead. */
  receive(message: SimMessage): boolean {
    if (!this.#alive) return false;
    if (message.kind === 'event') {
      this.#watches.get(message.call)?.push(message.body as AcceptedState);
      return true;
    }
    if (message.kind !== 'reply') return true;
    const pending = this.#calls.get(message.call);
    if (pending === undefined) return true; // late, duplicated or timed out: ignored
    const body = message.body as ReplyBody;
    if (body.ok) pending.resolve(body.value);
    else pending.reject(new UnavailableError(`${message.method} at ${message.from} failed: ${body.error}`));
    return true;
  }
}

/**
 * An `Acceptor` whose every call travels over the simulated network, from its endpoint's node to
 * the acceptor node at `address`, as a request and a reply message.
 */
export class AcceptorProxy implements Acceptor {
  constructor(
    /** The acceptor node it calls. */
    readonly address: string,
    /** The node it calls from. */
    readonly endpoint: Endpoint,
  ) {}

  prepare(key: string, age: Age, ballot: Ballot, opts?: CallOptions): Promise<PrepareReply> {
    const summary = (): string => `prepare ${key} ${formatBallot(ballot)} age ${age.counter}`;
    return this.endpoint.call(this.address, 'prepare', { key, age, ballot }, summary, opts?.signal) as Promise<PrepareReply>;
  }

  peek(key: string, opts?: CallOptions): Promise<PeekReply> {
    return this.endpoint.call(this.address, 'peek', { key }, () => `peek ${key}`, opts?.signal) as Promise<PeekReply>;
  }

  accept(key: string, age: Age, ballot: Ballot, state: State, opts?: AcceptOptions): Promise<AcceptReply> {
    const next = opts?.next;
    const ancestry = opts?.ancestry;
    const summary = (): string => `accept ${key} ${formatBallot(ballot)}${next === undefined ? '' : ` +promise ${formatBallot(next)}`} age ${age.counter} ${preview(state)}`;
    return this.endpoint.call(this.address, 'accept', { key, age, ballot, state, next, ancestry }, summary, opts?.signal) as Promise<AcceptReply>;
  }

  async rejectByAge(ages: readonly Age[], opts?: CallOptions): Promise<void> {
    const summary = (): string => `rejectByAge ${ages.map((a) => `${a.id}>=${a.counter}`).join(',')}`;
    await this.endpoint.call(this.address, 'rejectByAge', { ages }, summary, opts?.signal);
  }

  removeIfEqual(key: string, tombstone: Tombstone, opts?: CallOptions): Promise<RemoveReply> {
    const summary = (): string => `removeIfEqual ${key} ${formatBallot(tombstone.ballot)}`;
    return this.endpoint.call(this.address, 'removeIfEqual', { key, tombstone }, summary, opts?.signal) as Promise<RemoveReply>;
  }

  watch(key: string, opts: WatchOptions = {}): AsyncIterable<AcceptedState> {
    return this.endpoint.watch(this.address, key, opts);
  }

  async *listKeys(opts?: CallOptions): AsyncIterable<string> {
    const keys = (await this.endpoint.call(this.address, 'listKeys', {}, () => 'listKeys', opts?.signal)) as string[];
    yield* keys;
  }
}

/** A short, deterministic rendering of a state for traces. */
export function preview(state: State): string {
  if (state === null) return '∅';
  let text = '';
  for (const byte of state.subarray(0, 24)) text += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.';
  return `"${text}${state.length > 24 ? '…' : ''}"`;
}
