/**
 * A deterministic simulation of a CASPaxos cluster: acceptor and proposer nodes on a simulated
 * network, virtual time, seeded randomness, fault injection, a history recorder and the acceptor
 * monitor. Nothing below it reads `Math.random`, `Date` or real timers: the same seed and the same
 * calls give a byte-identical trace.
 *
 * Drive it by hand (`step`, `deliver`, `drop`, `partition`, `crashAcceptor`, ...) as a test or a
 * notebook would, or let `run` take events off the agenda until a condition holds.
 *
 * Between events it yields one turn of the host's event loop so that promise callbacks settle
 * (see `settle`); that is the only thing it asks of the host.
 */
import { majority } from '../core/quorum.js';
import { HistoryRecorder } from '../check/history.js';
import type { Logger } from '../logger.js';
import { MemoryAcceptor } from '../acceptor/memory-acceptor.js';
import type { RetryPolicy } from '../retry.js';
import type { Acceptor } from '../roles.js';
import type { Tracer } from '../tracer.js';
import { AcceptorNode, type CrashPoint } from './acceptor-node.js';
import { type AcceptorProxy, Endpoint, type EndpointContext } from './endpoint.js';
import type { DeliveryEvent, ScheduledEvent, SimStep } from './events.js';
import { AcceptorMonitor } from './monitor.js';
import { CALM_NETWORK, type NetworkProfile, type SimMessage, SimNetwork } from './network.js';
import { type ProposerFactory, ProposerNode, memoryProposerFactory } from './proposer-node.js';
import { SeededRandom } from './random.js';
import { VirtualTime, formatTime, settle } from './virtual-time.js';

/**
 * Options of `Simulation`. Only `seed` is required: the same seed and the same calls replay the
 * same run.
 */
export interface SimulationOptions {
  /** The seed of every random decision. */
  readonly seed: number;
  /** Acceptor addresses. @default ['a1', 'a2', 'a3'] */
  readonly acceptors?: readonly string[] | undefined;
  /** Proposer ids. @default ['p1', 'p2'] */
  readonly proposers?: readonly string[] | undefined;
  /** Loss, duplication and delays. @default CALM_NETWORK */
  readonly network?: NetworkProfile | undefined;
  /** How long an acceptor call waits for its reply (ms, proposer's clock). @default 20 */
  readonly timeoutMs?: number | undefined;
  /** The proposers' retry policy. @default 10 attempts, delays up to 100 ms */
  readonly retry?: Partial<RetryPolicy> | undefined;
  /** The proposers' one-round-trip option (`MemoryProposerOptions.oneRoundTrip`). @default true */
  readonly oneRoundTrip?: boolean | undefined;
  /** The proposers' batch bound (`MemoryProposerOptions.maxBatch`). @default 64 */
  readonly maxBatch?: number | undefined;
  /** Clock rate per proposer id (1 = true time, 2 = its timers take twice as long). @default 1 */
  readonly skew?: Readonly<Record<string, number>> | undefined;
  /** Builds each acceptor (a test may pass a broken one). @default MemoryAcceptor */
  readonly acceptorFactory?: ((address: string) => Acceptor) | undefined;
  /** Builds each proposer incarnation. @default MemoryProposer */
  readonly proposerFactory?: ProposerFactory | undefined;
  /**
   * Receives every proposer's trace events too.
   * @default undefined (the simulation keeps its own `trace` lines either way)
   */
  readonly tracer?: Tracer | undefined;
  /**
   * Receives every proposer's debug records.
   * @default undefined (no logging)
   */
  readonly logger?: Logger | undefined;
  /** Run the acceptor monitor after every applied request. @default true */
  readonly monitor?: boolean | undefined;
  /**
   * Record the trace (one line per event). Off, a run is faster and `trace` stays empty; a failing
   * run can be replayed with the same seed and tracing on, since tracing changes no decision.
   * @default true
   */
  readonly trace?: boolean | undefined;
}

/** A crash-at-delivery fault: each request delivered to an acceptor crashes it with this rate. */
export interface AcceptorCrashes {
  /**
   * The probability, per request delivered to an acceptor, that it crashes while handling it
   * (before or after applying it, at random).
   */
  readonly rate: number;
  /** Downtime before the automatic restart, in milliseconds. */
  readonly minDowntimeMs: number;
  /** The longest downtime; each is uniform between the two bounds. */
  readonly maxDowntimeMs: number;
  /** Negative control only: restart empty. */
  readonly amnesia?: boolean;
}

/**
 * A deterministic simulation of a CASPaxos cluster: acceptor and proposer nodes on a simulated
 * network, virtual time, seeded randomness, fault injection (loss, duplication, reordering,
 * partitions, crashes, clock skew), a history recorder and the acceptor monitor. Nothing below it
 * reads `Math.random`, `Date` or real timers, so the same seed and the same calls replay a run byte
 * for byte (`trace`). Drive it by hand (`deliver`, `drop`, `partition`, `crashAcceptor`, ...) or
 * let `run` and `runWorkload` take events off the agenda.
 * @example
 * ```ts
 * import { Simulation } from 'caspaxos/testing';
 *
 * const sim = new Simulation({ seed: 7 });
 * sim.partition(['p1'], ['a1', 'a2']); // p1 now reaches a3 alone: no quorum
 * const write = sim.proposer('p2').propose('k', () => new TextEncoder().encode('v'));
 * const outcome = await sim.runUntilSettled(write); // { status: 'fulfilled', value: { state, ballot } }
 * console.log(sim.trace.join('\n')); // every message, fault and timer, on virtual time
 * ```
 */
export class Simulation implements EndpointContext {
  /** The seed, as an unsigned 32-bit integer: print it with a failure, replay with it. */
  readonly seed: number;
  /** The seeded source every random decision forks from. */
  readonly random: SeededRandom;
  /** The virtual clock and its agenda, in microseconds. */
  readonly time = new VirtualTime();
  /** The simulated network: partitions, loss, duplication, delays. */
  readonly network: SimNetwork;
  /** The history of the workload's operations, for the checkers (see `verifySimulation`). */
  readonly recorder: HistoryRecorder;
  /**
   * The acceptor monitor, checking invariants after every applied request (`undefined` with
   * `monitor: false`).
   */
  readonly monitor: AcceptorMonitor | undefined;
  /** One line per event, in order: the run's trace. */
  readonly trace: string[] = [];
  readonly #acceptors = new Map<string, AcceptorNode>();
  readonly #proposers = new Map<string, ProposerNode>();
  readonly #operator: Endpoint;
  readonly #acceptorFactory: (address: string) => Acceptor;
  #members: string[];
  #membershipStable = true;
  #nextCall = 1;
  readonly #tracing: boolean;
  /** The text of the last trace line, without its time stamp (what a scripted action logged). */
  #lastText = '';
  #crashes: AcceptorCrashes | undefined;
  readonly #faultRandom: SeededRandom;
  /** Counters, for coverage assertions. */
  readonly stats = {
    /** Events taken off the agenda. */
    steps: 0,
    /** Acceptor crashes, injected or scripted. */
    acceptorCrashes: 0,
    /** Proposer crashes. */
    proposerCrashes: 0,
  };
  /**
   * Whether each proposer could reach a quorum, recorded after every fault and repair: the input
   * of the check that no operation succeeds without a reachable quorum.
   */
  readonly availability: Array<{
    /** When it was recorded (virtual time, µs). */
    readonly time: number;
    /** The proposer. */
    readonly proposer: string;
    /** Whether it could reach a quorum of both its prepare and its accept set. */
    readonly quorum: boolean;
  }> = [];

  constructor(options: SimulationOptions) {
    this.seed = options.seed >>> 0;
    this.random = new SeededRandom(this.seed);
    this.#faultRandom = this.random.fork('faults');
    this.network = new SimNetwork(this.time, this.random.fork('network'), (line) => this.log(line));
    this.network.profile = options.network ?? CALM_NETWORK;
    this.#tracing = options.trace !== false;
    this.network.tracing = this.#tracing;
    this.recorder = new HistoryRecorder(() => this.time.now);
    this.#acceptorFactory = options.acceptorFactory ?? ((address) => new MemoryAcceptor(address));
    const acceptors = options.acceptors ?? ['a1', 'a2', 'a3'];
    for (const address of acceptors) this.addAcceptor(address);
    this.#members = [...acceptors];
    this.monitor =
      options.monitor === false
        ? undefined
        : new AcceptorMonitor(
            () => this.time.now,
            () => (this.#membershipStable ? this.#members.map((address) => ({ address, acceptor: this.acceptor(address).acceptor })) : undefined),
          );
    for (const id of options.proposers ?? ['p1', 'p2']) {
      const node = new ProposerNode(id, acceptors, this, this.random.fork(`proposer ${id}`), {
        timeoutMs: options.timeoutMs ?? 20,
        skew: options.skew?.[id] ?? 1,
        retry: options.retry,
        oneRoundTrip: options.oneRoundTrip,
        maxBatch: options.maxBatch,
        tracer: options.tracer,
        logger: options.logger,
        factory: options.proposerFactory ?? memoryProposerFactory,
      });
      this.#proposers.set(id, node);
    }
    this.#operator = new Endpoint('operator', this, { timeoutMs: options.timeoutMs ?? 20, skew: 1 });
    this.network.attach('operator', (message) => this.#operator.receive(message));
  }

  /** Virtual time now, in microseconds. */
  get now(): number {
    return this.time.now;
  }

  nextCall(): number {
    return this.#nextCall++;
  }

  /** Appends a line to the trace, stamped with the virtual time. */
  log(line: string): void {
    if (!this.#tracing) return;
    this.#lastText = line;
    this.trace.push(`${formatTime(this.time.now)} ${line}`);
  }

  // ---- nodes ------------------------------------------------------------------------------

  /** The acceptor node at `address`; throws a `RangeError` if there is none. */
  acceptor(address: string): AcceptorNode {
    const node = this.#acceptors.get(address);
    if (node === undefined) throw new RangeError(`no acceptor ${address}`);
    return node;
  }

  /** The proposer node `id`; throws a `RangeError` if there is none. */
  proposer(id: string): ProposerNode {
    const node = this.#proposers.get(id);
    if (node === undefined) throw new RangeError(`no proposer ${id}`);
    return node;
  }

  /** Every acceptor node, members or not, in the order they were added. */
  get acceptors(): AcceptorNode[] {
    return [...this.#acceptors.values()];
  }

  /** Every proposer node. */
  get proposers(): ProposerNode[] {
    return [...this.#proposers.values()];
  }

  /** The acceptors the cluster consists of, as far as the monitor is concerned. */
  get members(): readonly string[] {
    return this.#members;
  }

  /**
   * Declares a membership change in progress (`members` undefined) or done (the new members):
   * the monitor checks the readable ballot only while the membership is stable.
   */
  setMembers(members: readonly string[] | undefined): void {
    if (members === undefined) {
      this.#membershipStable = false;
      return;
    }
    this.#members = [...members];
    this.#membershipStable = true;
    this.monitor?.membershipChanged();
  }

  /** Starts a new acceptor node (not yet a member of any proposer's sets: see `growCluster`). */
  addAcceptor(address: string): AcceptorNode {
    if (this.#acceptors.has(address)) throw new RangeError(`acceptor ${address} exists`);
    const node = new AcceptorNode(address, this.#acceptorFactory(address), this.network, this.#acceptorFactory);
    node.onApplied = (n, key) => {
      if (key !== undefined) this.monitor?.observe(n.address, n.acceptor, key);
    };
    node.crashPolicy = () => this.#crashDecision();
    node.onCrash = (n, point) => this.#crashed(n, point);
    this.#acceptors.set(address, node);
    return node;
  }

  /** Acceptors as seen from the operator node: garbage collection and membership targets. */
  operatorAcceptors(addresses: readonly string[] = this.#members): AcceptorProxy[] {
    return addresses.map((address) => this.#operator.proxy(address));
  }

  // ---- faults -----------------------------------------------------------------------------

  /** Crashes at delivery points with the given rate, restarting after a random downtime. */
  set acceptorCrashes(crashes: AcceptorCrashes | undefined) {
    this.#crashes = crashes;
  }

  /**
   * Crashes an acceptor now: it stops receiving, and replies under way are lost. Its acceptor keeps
   * what it persisted (see `restartAcceptor`).
   */
  crashAcceptor(address: string): void {
    this.acceptor(address).crash();
    this.stats.acceptorCrashes++;
    this.log(`crash ${address}`);
    this.recorder.annotate('crash', address);

    this.#noteAvailability();
  }

  /**
   * Restarts a crashed acceptor with what it persisted. `amnesia` restarts it empty instead: a
   * negative control only, since CASPaxos does not tolerate an acceptor that forgets.
   */
  restartAcceptor(address: string, options: { amnesia?: boolean } = {}): void {
    this.acceptor(address).restart(options);
    this.log(`restart ${address}${options.amnesia === true ? ' (amnesia)' : ''}`);
    this.recorder.annotate('restart', `${address}${options.amnesia === true ? ' amnesia' : ''}`);

    this.#noteAvailability();
  }

  /**
   * Crashes a proposer now: its operations in progress reject with `ProposerCrashedError` (outcome
   * unknown); messages it already sent may still arrive.
   */
  crashProposer(id: string): void {
    this.proposer(id).crash();
    this.stats.proposerCrashes++;
    this.log(`crash ${id}`);
    this.recorder.annotate('crash', id);

    this.#noteAvailability();
  }

  /**
   * Restarts a crashed proposer as a new incarnation (`p1#2`: a new id, counter 0, age 0) with the
   * acceptor configuration it had, as a proposer that lost its ballot counter must.
   */
  async restartProposer(id: string): Promise<void> {
    await this.proposer(id).restart();
    this.log(`restart ${id} as ${this.proposer(id).incarnationId}`);
    this.recorder.annotate('restart', this.proposer(id).incarnationId);

    this.#noteAvailability();
  }

  /**
   * Blocks traffic between two groups of nodes. `direction` limits it to requests (proposer or
   * operator to acceptor) or replies (acceptor to proposer or operator); by default both.
   */
  partition(a: readonly string[], b: readonly string[], direction: 'both' | 'requests' | 'replies' = 'both'): void {
    for (const x of a) {
      for (const y of b) {
        for (const [from, to] of [
          [x, y],
          [y, x],
        ] as const) {
          const isRequest = this.#acceptors.has(to) && !this.#acceptors.has(from);
          if (direction === 'both' || (direction === 'requests') === isRequest) this.network.block(from, to);
        }
      }
    }
    const detail = `${a.join(',')} | ${b.join(',')}${direction === 'both' ? '' : ` (${direction})`}`;
    this.log(`partition ${detail}`);
    this.recorder.annotate('partition', detail);

    this.#noteAvailability();
  }

  /** Removes every partition. */
  heal(): void {
    this.network.heal();
    this.log('heal');
    this.recorder.annotate('heal', 'all links');

    this.#noteAvailability();
  }

  /** Restarts every crashed node and removes every partition. */
  async healAll(): Promise<void> {
    this.heal();
    for (const node of this.acceptors) if (!node.up) this.restartAcceptor(node.address);
    for (const node of this.proposers) if (!node.up) await this.restartProposer(node.address);
  }

  /**
   * True when `proposer` can reach a quorum of its prepare set and of its accept set right now
   * (links in both directions open, acceptors up): used to assert that no operation succeeds
   * without one.
   */
  hasQuorum(proposer: string): boolean {
    const node = this.proposer(proposer);
    const reachable = (set: readonly string[]): boolean =>
      set.filter((address) => {
        const acceptor = this.#acceptors.get(address);
        return acceptor !== undefined && acceptor.up && !this.network.isBlocked(proposer, address) && !this.network.isBlocked(address, proposer);
      }).length >= majority(set.length);
    return reachable(node.preparers) && reachable(node.accepters);
  }

  #noteAvailability(): void {
    for (const node of this.#proposers.values()) {
      this.availability.push({ time: this.time.now, proposer: node.address, quorum: node.up && this.hasQuorum(node.address) });
    }
  }

  #crashDecision(): CrashPoint | undefined {
    const crashes = this.#crashes;
    if (crashes === undefined || !this.#faultRandom.chance(crashes.rate)) return undefined;
    return this.#faultRandom.chance(0.5) ? 'before-apply' : 'after-apply';
  }

  #crashed(node: AcceptorNode, point: CrashPoint): void {
    const crashes = this.#crashes;
    this.stats.acceptorCrashes++;
    this.log(`crash ${node.address} (${point})`);
    this.recorder.annotate('crash', `${node.address} ${point}`);
    this.#noteAvailability();
    if (crashes === undefined) return;
    const downtimeMs = crashes.minDowntimeMs + this.#faultRandom.next() * (crashes.maxDowntimeMs - crashes.minDowntimeMs);
    this.at(downtimeMs, () => this.restartAcceptor(node.address, crashes.amnesia === true ? { amnesia: true } : {}));
  }

  // ---- driving ----------------------------------------------------------------------------

  /** Schedules `action` at `delayMs` from now on the agenda (a scripted fault, a workload step). */
  at(delayMs: number, action: () => void): void {
    this.time.schedule(delayMs * 1000, {
      run: () => {
        action();
        return true;
      },
      describe: () => undefined, // the action logs what it does itself
    });
  }

  /** A timer on true (unskewed) virtual time, for workloads and scripts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.time.sleep(ms, { signal, label: 'script' });
  }

  /**
   * Takes the next event off the agenda and runs it, letting every promise callback settle before
   * and after. Resolves with its trace line ('' when not tracing), or `undefined` when the agenda
   * is empty. Cancelled timers are skipped: they are not events.
   */
  async step(): Promise<string | undefined> {
    return (await this.stepEvent())?.line;
  }

  /**
   * `step`, resolving with the event as data (`SimStep`: its time, what it was, its trace text),
   * or `undefined` when the agenda is empty.
   */
  async stepEvent(): Promise<SimStep | undefined> {
    await settle();
    return this.#next();
  }

  /** Runs the next event and lets its consequences settle (the caller settled before). */
  async #next(): Promise<SimStep | undefined> {
    for (;;) {
      const next = this.time.agenda.pop();
      if (next === undefined) return undefined;
      this.time.advanceTo(next.time);
      this.stats.steps++;
      if (!next.item.run()) continue; // a cancelled timer: nothing happened
      const event = next.item.event?.() ?? { kind: 'action' };
      let text = '';
      let line = '';
      if (this.#tracing) {
        const description = next.item.describe();
        if (description === undefined) {
          // The item logged what it did itself (a scripted action).
          text = this.#lastText;
          line = this.trace.at(-1) ?? '';
        } else {
          text = this.#lastText = description;
          this.trace.push((line = `${formatTime(this.time.now)} ${description}`));
        }
      }
      await settle();
      return { time: this.time.now, event, text, line };
    }
  }

  /**
   * Runs events until `until()` holds, the agenda is empty, virtual time passes `untilTime` (µs),
   * or `maxSteps` events ran. Resolves with the number of events run.
   */
  async run(options: { until?: () => boolean; untilTime?: number; maxSteps?: number } = {}): Promise<number> {
    const { until, untilTime = Infinity, maxSteps = Infinity } = options;
    let steps = 0;
    await settle();
    while (steps < maxSteps && until?.() !== true) {
      const next = this.time.agenda.peek();
      if (next === undefined || next.time > untilTime) break;
      await this.#next();
      steps++;
    }
    if (untilTime !== Infinity && this.time.agenda.peek() === undefined) this.time.advanceTo(untilTime);
    return steps;
  }

  /** Runs until `promise` settles (or the agenda empties) and returns its outcome. */
  async runUntilSettled<T>(promise: Promise<T>, options: { maxSteps?: number } = {}): Promise<PromiseSettledResult<T>> {
    let outcome: PromiseSettledResult<T> | undefined;
    promise.then(
      (value) => (outcome = { status: 'fulfilled', value }),
      (reason: unknown) => (outcome = { status: 'rejected', reason }),
    );
    await this.run({ until: () => outcome !== undefined, ...(options.maxSteps === undefined ? {} : { maxSteps: options.maxSteps }) });
    await settle();
    if (outcome === undefined) throw new Error('the simulation went idle before the promise settled');
    return outcome;
  }

  /**
   * What is due next, earliest first (at most `limit` events): the agenda as `step` will run it,
   * without the cancelled timers that `step` skips. Each delivery is a copy of a message in
   * flight, so its time is when that copy arrives unless it is delivered, dropped or delayed first.
   */
  upcoming(limit = Number.POSITIVE_INFINITY): ScheduledEvent[] {
    const events: ScheduledEvent[] = [];
    for (const { time, item } of this.time.agenda.entries()) {
      if (events.length >= limit) break;
      const event = item.upcoming === undefined ? { kind: 'action' as const } : item.upcoming();
      if (event !== undefined) events.push({ time, event });
    }
    return events;
  }

  /** Messages on the wire, not yet delivered. */
  pendingMessages(): SimMessage[] {
    return this.network.inFlight();
  }

  /**
   * Delivers message `id` now, ahead of its turn and past any partition (step-by-step use); resolves
   * with what became of each copy (`undeliverable` when its node is down).
   */
  async deliver(id: number): Promise<DeliveryEvent[]> {
    const events = this.network.deliverByHand(id);
    if (events.length === 0) throw new RangeError(`message #${id} is not in flight`);
    await settle();
    return events;
  }

  /**
   * Holds message `id` back (step-by-step use): every copy arrives `ms` virtual milliseconds from
   * now instead of when it was due; partitions and crashes still apply then.
   */
  delay(id: number, ms: number): void {
    if (!this.network.postpone(id, ms)) throw new RangeError(`message #${id} is not in flight`);
  }

  /** Loses message `id` (step-by-step use). */
  async drop(id: number): Promise<void> {
    if (!this.network.drop(id)) throw new RangeError(`message #${id} is not in flight`);
    await settle();
  }
}
