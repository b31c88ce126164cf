/**
 * A test-side network between proposers and one acceptor: `FaultyAcceptor` wraps any `Acceptor`
 * (usually a `MemoryAcceptor`) and implements every method of the interface by delegating, except
 * that each call is a REQUEST travelling to the inner acceptor and a REPLY travelling back, and
 * the test decides what happens to either on the way:
 *
 *  - pass (no rule matches): delivered at once;
 *  - `drop`: lost. A dropped request never reaches the inner acceptor; a dropped reply was applied
 *    by the inner acceptor but the caller never learns it. Either way the caller's promise rejects
 *    at once with a `SimulatedTimeout`, as if its RPC timed out;
 *  - `delay`: delivered when the rule's `until(message)` promise settles;
 *  - `hold`: parked in `held` until the test calls `release()` (deliver now, possibly after many
 *    other messages: this is how "a delayed accept arriving later" is modelled), `drop()` (lost:
 *    the caller times out now) or `timeout()` (the caller times out now, the message stays parked
 *    and can still be released later: a message that arrives after its sender gave up).
 *
 * Independently, `down = true` makes every new call reject at once with `AcceptorDown`, without
 * reaching the inner acceptor (messages already held or delayed are not affected).
 *
 * A caller's abort signal rejects its pending call at once with `signal.reason`, as a cancellable
 * transport would. `ignoreAbort = true` models one that cannot cancel: new calls then settle only
 * by reply, drop or timeout, so a test can check that the proposer stops waiting on its own.
 *
 * Rules are matched in the order they were added; the first live rule whose `method`, `key`,
 * `when` and `match` all fit decides, and uses up one of its `times`. `watch` is not subject to
 * rules (only to `down`); `listKeys` is, as one call.
 *
 * Everything is promise-driven, nothing uses timers, so tests stay deterministic.
 *
 * Example: hold the accept of ballot 1/p1 at C, let it arrive after everything else:
 *
 *   c.addRule({ method: 'accept', when: 'request', action: 'hold', match: (m) => m.ballot?.counter === 1 });
 *   ...
 *   const [late] = c.held;  await late.release();
 */
import type {
  AcceptReply,
  AcceptedState,
  Acceptor,
  Age,
  Ballot,
  CallOptions,
  PrepareReply,
  RemoveReply,
  State,
  Tombstone,
  WatchOptions,
} from '../../src/index.js';
import { MemoryAcceptor, formatBallot } from '../../src/index.js';
import type { AcceptOptions } from '../../src/roles.js';

/** The methods rules can apply to. */
export type AcceptorMethod = 'prepare' | 'accept' | 'rejectByAge' | 'removeIfEqual' | 'listKeys';
/** Which leg of a call a rule applies to. */
export type Direction = 'request' | 'reply';
export type FaultAction = 'drop' | 'hold' | 'delay';

/** What the wrapper knows about one call. Fields a method does not have are `undefined`. */
export interface Message {
  /** Call number at this acceptor, from 1: request and reply of one call share it. */
  readonly id: number;
  readonly acceptor: string;
  readonly method: AcceptorMethod;
  readonly key: string | undefined;
  readonly age: Age | undefined;
  /** prepare/accept: the request's ballot; removeIfEqual: the tombstone's ballot. */
  readonly ballot: Ballot | undefined;
  /** accept: the proposed state. */
  readonly state: State | undefined;
  /** accept: the ballot the request asks the acceptor to promise as well (one round trip). */
  readonly next: Ballot | undefined;
  /** accept: the ancestry the request carries. */
  readonly ancestry: readonly Ballot[] | undefined;
  /** rejectByAge: the ages. */
  readonly ages: readonly Age[] | undefined;
}

export interface FaultRule {
  /** Methods the rule applies to; all of them when absent. */
  readonly method?: AcceptorMethod | readonly AcceptorMethod[];
  /** The key the rule applies to; every key (and key-less calls) when absent. */
  readonly key?: string;
  readonly when: Direction;
  readonly action: FaultAction;
  /**
   * An extra condition, e.g. on the ballot. On the reply leg it also gets the inner acceptor's
   * reply (`undefined` when the inner acceptor threw), e.g. to hold only `promised` replies.
   */
  readonly match?: (message: Message, reply?: unknown) => boolean;
  /** How many messages the rule applies to before it expires. @default Infinity */
  readonly times?: number;
  /** `delay` only: the message moves on when this settles. @default the next microtask */
  readonly until?: (message: Message) => PromiseLike<unknown>;
}

/** A live rule, as returned by `addRule`. */
export interface RuleHandle {
  readonly rule: FaultRule;
  /** Messages the rule applied to so far. */
  readonly hits: number;
  /** Messages it may still apply to. */
  readonly remaining: number;
  /** Removes the rule (messages it already held stay held). */
  remove(): void;
}

/** A message parked by a `hold` rule. */
export interface HeldMessage {
  readonly message: Message;
  readonly when: Direction;
  /** False once the caller got an answer or a timeout. */
  readonly callerWaiting: boolean;
  /**
   * Delivers it now. A request reaches the inner acceptor (even if the caller timed out: a late
   * delivery) and the reply then travels back under the rules; a reply is handed to the caller.
   * Resolves with the inner acceptor's reply, or rejects with its error.
   */
  release(): Promise<unknown>;
  /** Loses it: a request never reaches the inner acceptor; the caller (if waiting) times out now. */
  drop(): void;
  /** The caller times out now; the message stays held, to be released or dropped later. */
  timeout(): void;
}

/** What the inner acceptor processed, in order. */
export interface Delivery {
  readonly message: Message;
  /** The inner acceptor's reply (when it resolved). */
  readonly reply?: unknown;
  /** The inner acceptor's error (when it rejected). */
  readonly error?: unknown;
  /** True when the caller had already timed out: nobody will see this reply. */
  readonly late: boolean;
}

/** A fault that happened to a message. */
export interface FaultEvent {
  readonly message: Message;
  readonly when: Direction;
  readonly event: 'dropped' | 'delayed' | 'held' | 'released' | 'caller-timed-out' | 'refused-down';
}

/** The rejection a caller sees when its request or the reply was lost. */
export class SimulatedTimeout extends Error {
  readonly code = 'ETIMEDOUT';
  /** Like a network timeout: trying again may work. */
  readonly retryable = true;
  constructor(readonly lost: Message) {
    super(`simulated timeout: ${describe(lost)}`);
    this.name = 'SimulatedTimeout';
  }
}

/** The rejection every call gets while the acceptor is `down`. */
export class AcceptorDown extends Error {
  readonly code = 'ECONNREFUSED';
  readonly retryable = true;
  constructor(address: string) {
    super(`acceptor ${address} is down`);
    this.name = 'AcceptorDown';
  }
}

export interface FaultyAcceptorOptions {
  /** Called synchronously each time a message is held, e.g. to schedule its release. */
  readonly onHold?: (held: HeldMessage) => void;
}

/** The caller's side of one call: settles once, rejecting with `signal.reason` on abort. */
class Caller<R> {
  settled = false;
  readonly #onAbort: () => void;

  constructor(
    private readonly resolveFn: (value: R) => void,
    private readonly rejectFn: (error: unknown) => void,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.#onAbort = () => this.reject(signal?.reason);
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  resolve(value: R): void {
    if (this.#settle()) this.resolveFn(value);
  }

  reject(error: unknown): void {
    if (this.#settle()) this.rejectFn(error);
  }

  #settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.signal?.removeEventListener('abort', this.#onAbort);
    return true;
  }
}

interface LiveRule {
  readonly rule: FaultRule;
  hits: number;
  removed: boolean;
}

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

export class FaultyAcceptor<A extends Acceptor = MemoryAcceptor> implements Acceptor {
  readonly address: string;
  /** Every new call rejects with `AcceptorDown` while true. */
  down = false;
  /**
   * While true, new calls ignore the caller's abort signal: an aborted caller's call stays pending
   * until its reply arrives, or it is dropped or timed out (the inner acceptor still gets the
   * signal). @default false: an abort rejects the pending call with `signal.reason`
   */
  ignoreAbort = false;
  /** What the inner acceptor processed, in order. */
  readonly deliveries: Delivery[] = [];
  /** Every drop, delay, hold, release, caller timeout and refusal, in order. */
  readonly faults: FaultEvent[] = [];
  readonly #held: HeldMessage[] = [];
  readonly #rules: LiveRule[] = [];
  readonly #onHold: ((held: HeldMessage) => void) | undefined;
  #calls = 0;

  constructor(
    readonly inner: A,
    options: FaultyAcceptorOptions = {},
  ) {
    this.address = inner.address;
    this.#onHold = options.onHold;
  }

  /** Messages currently held, oldest first. */
  get held(): readonly HeldMessage[] {
    return [...this.#held];
  }

  /** Held messages of `method` (and `when`, default either). */
  heldOf(method: AcceptorMethod, when?: Direction): HeldMessage[] {
    return this.#held.filter((h) => h.message.method === method && (when === undefined || h.when === when));
  }

  addRule(rule: FaultRule): RuleHandle {
    const live: LiveRule = { rule, hits: 0, removed: false };
    this.#rules.push(live);
    return {
      rule,
      get hits() {
        return live.hits;
      },
      get remaining() {
        return live.removed ? 0 : (rule.times ?? Infinity) - live.hits;
      },
      remove: () => {
        live.removed = true;
      },
    };
  }

  /** Removes every rule (held messages stay held). */
  clearRules(): void {
    for (const live of this.#rules) live.removed = true;
    this.#rules.length = 0;
  }

  /** Releases every held message, oldest first, each after the previous one was processed. */
  async releaseAll(): Promise<void> {
    for (const held of this.held) await held.release().catch(() => undefined);
  }

  /** Drops every held message. */
  dropAll(): void {
    for (const held of this.held) held.drop();
  }

  // --- the Acceptor interface ---------------------------------------------------------------

  prepare(key: string, age: Age, ballot: Ballot, opts?: CallOptions): Promise<PrepareReply> {
    return this.#call({ method: 'prepare', key, age, ballot }, () => this.inner.prepare(key, age, ballot, opts), opts);
  }

  accept(key: string, age: Age, ballot: Ballot, state: State, opts?: AcceptOptions): Promise<AcceptReply> {
    // Copy the state: a held message must carry what was sent, whatever the caller does later.
    const sent = state === null ? null : state.slice();
    const { next, ancestry } = opts ?? {};
    return this.#call({ method: 'accept', key, age, ballot, state: sent, next, ancestry }, () => this.inner.accept(key, age, ballot, sent, opts), opts);
  }

  rejectByAge(ages: readonly Age[], opts?: CallOptions): Promise<void> {
    const sent = [...ages];
    return this.#call({ method: 'rejectByAge', ages: sent }, () => this.inner.rejectByAge(sent, opts), opts);
  }

  removeIfEqual(key: string, tombstone: Tombstone, opts?: CallOptions): Promise<RemoveReply> {
    return this.#call(
      { method: 'removeIfEqual', key, ballot: tombstone.ballot },
      () => this.inner.removeIfEqual(key, tombstone, opts),
      opts,
    );
  }

  async *listKeys(opts?: CallOptions): AsyncIterable<string> {
    const keys = await this.#call({ method: 'listKeys' }, () => collect(this.inner.listKeys(opts)), opts);
    yield* keys;
  }

  /** Not subject to rules; while `down`, iteration fails at once. */
  watch(key: string, opts?: WatchOptions): AsyncIterable<AcceptedState> {
    if (!this.down) return this.inner.watch(key, opts);
    const address = this.address;
    return {
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.reject(new AcceptorDown(address)),
      }),
    };
  }

  // --- the network ----------------------------------------------------------------------------

  #call<R>(
    fields: Partial<Omit<Message, 'id' | 'acceptor'>> & { readonly method: AcceptorMethod },
    invoke: () => Promise<R>,
    opts: CallOptions | undefined,
  ): Promise<R> {
    const signal = this.ignoreAbort ? undefined : opts?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const message: Message = {
      id: ++this.#calls,
      acceptor: this.address,
      method: fields.method,
      key: fields.key,
      age: fields.age,
      ballot: fields.ballot,
      state: fields.state,
      next: fields.next,
      ancestry: fields.ancestry,
      ages: fields.ages,
    };
    if (this.down) {
      this.faults.push({ message, when: 'request', event: 'refused-down' });
      return Promise.reject(new AcceptorDown(this.address));
    }
    return new Promise<R>((resolve, reject) => {
      const caller = new Caller<R>(resolve, reject, signal);
      const deliver = (): Promise<unknown> => this.#deliver(message, caller, invoke);
      this.#route(message, 'request', caller, deliver);
    });
  }

  /** Applies the first matching rule to one leg of a call; `go` moves the message on. */
  #route<R>(message: Message, when: Direction, caller: Caller<R>, go: () => Promise<unknown>, reply?: unknown): void {
    const live = this.#rules.find((r) => !r.removed && r.hits < (r.rule.times ?? Infinity) && matches(r.rule, message, when, reply));
    if (live === undefined) {
      void go().catch(() => undefined);
      return;
    }
    live.hits++;
    const { action } = live.rule;
    if (action === 'drop') {
      this.faults.push({ message, when, event: 'dropped' });
      caller.reject(new SimulatedTimeout(message));
    } else if (action === 'delay') {
      this.faults.push({ message, when, event: 'delayed' });
      const until = live.rule.until?.(message) ?? Promise.resolve();
      void Promise.resolve(until)
        .then(go, go)
        .catch(() => undefined);
    } else {
      this.#hold(message, when, caller, go);
    }
  }

  #hold<R>(message: Message, when: Direction, caller: Caller<R>, go: () => Promise<unknown>): void {
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      const i = this.#held.indexOf(held);
      if (i >= 0) this.#held.splice(i, 1);
      return true;
    };
    const held: HeldMessage = {
      message,
      when,
      get callerWaiting() {
        return !caller.settled;
      },
      release: () => {
        if (!finish()) return Promise.reject(new Error(`held message ${describe(message)} was already released or dropped`));
        this.faults.push({ message, when, event: 'released' });
        return go();
      },
      drop: () => {
        if (!finish()) return;
        this.faults.push({ message, when, event: 'dropped' });
        caller.reject(new SimulatedTimeout(message));
      },
      timeout: () => {
        if (caller.settled) return;
        this.faults.push({ message, when, event: 'caller-timed-out' });
        caller.reject(new SimulatedTimeout(message));
      },
    };
    this.#held.push(held);
    this.faults.push({ message, when, event: 'held' });
    this.#onHold?.(held);
  }

  /** The request reaches the inner acceptor; the reply then takes its own leg back. */
  async #deliver<R>(message: Message, caller: Caller<R>, invoke: () => Promise<R>): Promise<unknown> {
    let outcome: Outcome;
    try {
      outcome = { ok: true, value: await invoke() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    const late = caller.settled;
    this.deliveries.push(outcome.ok ? { message, reply: outcome.value, late } : { message, error: outcome.error, late });
    if (!late) {
      const reply = outcome.ok ? outcome.value : undefined;
      this.#route(
        message,
        'reply',
        caller,
        async () => {
          if (outcome.ok) caller.resolve(outcome.value as R);
          else caller.reject(outcome.error);
          return settle(outcome);
        },
        reply,
      );
    }
    return settle(outcome);
  }
}

function settle(outcome: Outcome): Promise<unknown> {
  return outcome.ok ? Promise.resolve(outcome.value) : Promise.reject(outcome.error);
}

function matches(rule: FaultRule, message: Message, when: Direction, reply: unknown): boolean {
  if (rule.when !== when) return false;
  if (rule.method !== undefined) {
    const methods: readonly AcceptorMethod[] = typeof rule.method === 'string' ? [rule.method] : rule.method;
    if (!methods.includes(message.method)) return false;
  }
  if (rule.key !== undefined && rule.key !== message.key) return false;
  return rule.match === undefined || rule.match(message, reply);
}

/** A short human-readable rendering, e.g. `C.accept("k", 1/p1)#3`. */
export function describe(message: Message): string {
  const args = [
    message.key === undefined ? undefined : JSON.stringify(message.key),
    message.ballot === undefined ? undefined : formatBallot(message.ballot),
    message.next === undefined ? undefined : `+promise ${formatBallot(message.next)}`,
    message.ages === undefined ? undefined : message.ages.map((a) => `${a.counter}:${a.id}`).join(' '),
  ].filter((x) => x !== undefined);
  return `${message.acceptor}.${message.method}(${args.join(', ')})#${message.id}`;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
