/**
 * A CASPaxos cluster to learn from, one message at a time: acceptors and proposers on the
 * deterministic simulator (`Simulation`, virtual time, a seed), driven by hand or run to the end,
 * with every step readable (`messages()`, `acceptors()`, `state()`) and drawn (`diagram()`,
 * `mermaid()`, `svg()`). The cluster, its diagrams and its operations display themselves in a
 * Jupyter notebook (Deno's kernel) and in Node's REPL.
 *
 *     const cluster = createCluster({ acceptors: 3, proposers: ['p1', 'p2'], seed: 1 });
 *     const write = cluster.propose('p1', 'x', set('hello'));
 *     cluster.messages();                      // three prepares in flight
 *     await cluster.deliver({ to: 'a1' });     // a1 promises; its reply is in flight
 *     await cluster.runUntilSettled();
 *     console.log(write.status, cluster.diagram(), cluster.state());
 *
 * Nothing here reads `Math.random`, `Date` or real timers: the same seed and the same calls give
 * the same messages, the same diagram and the same tables, byte for byte.
 *
 * Pure module: no I/O, safe in browsers and notebooks.
 */
import type { Closeable } from '../internal/async-dispose.js';
import { garbageCollect } from '../cluster/garbage-collect.js';
import { growCluster } from '../cluster/grow-cluster.js';
import { shrinkCluster } from '../cluster/shrink-cluster.js';
import { InvalidArgumentError, UnavailableError } from '../errors.js';
import { assertKey } from '../internal/validate.js';
import type { ProposeResult } from '../roles.js';
import type { MonitorViolation } from '../sim/monitor.js';
import type { SimMessage } from '../sim/network.js';
import { Simulation } from '../sim/simulation.js';
import { settle } from '../sim/virtual-time.js';
import { type RecordedEvent, TraceRecorder } from '../trace/recorder.js';
import { displayName } from '../trace/text.js';
import { type AcceptorView, viewAcceptors } from './acceptor-view.js';
import { type Change, toChange, toChangeFunc } from './changes.js';
import { type Displayable, JUPYTER_DISPLAY, type MimeBundle, NODE_INSPECT } from './display.js';
import { CallLog, type MessageSelector, type MessageView, select, viewInFlight } from './messages.js';
import { narrateDeliveryByHand, narrateStep } from './narration.js';
import { OperationHandle } from './operation-handle.js';
import { type ClusterOptions, type RunOptions, maxSteps, resolveClusterOptions } from './options.js';
import { type ClusterDiagramOptions, type SequenceDiagram, clusterDiagram } from './sequence-diagram.js';
import { type ClusterSnapshot, stamp, stateBundle, stateText } from './state-view.js';

/** Builds a teaching cluster. Throws `InvalidArgumentError` on bad options. */
export function createCluster(options: ClusterOptions = {}): TeachingCluster {
  return new TeachingCluster(options);
}

/**
 * A CASPaxos cluster to learn from, one message at a time (build it with `createCluster`):
 * acceptors and proposers on the deterministic simulator, driven by hand (`deliver`, `drop`,
 * `delay`, `step`) or run to the end (`runUntilSettled`), with every step readable (`messages()`,
 * `acceptors()`, `state()`) and drawn (`diagram()`). It displays itself in Jupyter and in Node's
 * REPL. Same seed, same calls: the same messages, diagrams and tables, byte for byte.
 */
export class TeachingCluster implements Displayable, Closeable {
  readonly #sim: Simulation;
  readonly #recorder: TraceRecorder;
  readonly #proposerIds: readonly string[];
  readonly #operations: OperationHandle[] = [];
  /** Every key any request named, so `acceptors()` can show records that hold only a promise. */
  readonly #keys = new Set<string>();
  /** Every request by call id, so a reply shows its key and a timeout what it waited for. */
  readonly #calls = new CallLog();
  readonly #operatorRandom: () => number;
  #membershipChange: OperationHandle | undefined;
  #closed = false;

  constructor(options: ClusterOptions = {}) {
    const { seed, acceptors, proposers, network, timeoutMs, retry, oneRoundTrip } = resolveClusterOptions(options);
    // The recorder stamps each event with the simulation's virtual clock; `sim` is assigned before
    // any event can be recorded.
    let sim: Simulation | undefined;
    this.#recorder = new TraceRecorder({ clock: () => sim?.now ?? 0 });
    sim = new Simulation({
      seed,
      acceptors,
      proposers,
      network,
      timeoutMs,
      retry,
      oneRoundTrip,
      tracer: this.#recorder.tracer,
    });
    this.#sim = sim;
    this.#proposerIds = proposers;
    this.#operatorRandom = sim.random.fork('teach operator').asFunction;
    sim.network.onSend = (message) => this.#sent(message);
  }

  // ---- the clock and the record -------------------------------------------------------------

  /** The seed this cluster runs from. */
  get seed(): number {
    return this.#sim.seed;
  }

  /** Virtual time now, in microseconds since the cluster was created. */
  get now(): number {
    return this.#sim.now;
  }

  /** The simulation underneath, for what this class does not cover (see `caspaxos/testing`). */
  get simulation(): Simulation {
    return this.#sim;
  }

  /** The proposers' trace events so far (for `renderNdjson` and the filters of `caspaxos/trace`). */
  get events(): RecordedEvent[] {
    return this.#recorder.events;
  }

  /** A mark in the trace: `diagram({ since: mark })` then draws only what happened after it. */
  mark(): number {
    return this.#recorder.recorded;
  }

  /** Violations of the acceptor invariants the simulator's monitor checks after every request (none, ever, unless the code is broken). */
  violations(): readonly MonitorViolation[] {
    return this.#sim.monitor?.violations ?? [];
  }

  // ---- starting operations ------------------------------------------------------------------

  /**
   * Starts a proposal: `proposer` runs `change` on `key`. Its first messages (the prepares, or the
   * accepts when one round trip skips the prepare) are in flight when this returns; nothing is
   * delivered until you drive the cluster.
   * @param change `set('v')`, `append('v')`, `increment`, `read`, `remove`, `change(label, fn)`,
   *   or a function `(current: string | null) => string | null`.
   */
  propose(proposer: string, key: string, change: Change | ((current: string | null) => string | null)): OperationHandle {
    this.#open();
    const node = this.#proposer(proposer);
    assertKey(key);
    const c = toChange(change);
    const running = c.kind === 'read' ? node.identityRead(key) : node.propose(key, toChangeFunc(c));
    return this.#start(c.kind === 'read' ? 'read' : 'propose', proposer, `${proposer} ${c.label} on ${displayName(key)}`, running);
  }

  /** Starts an identity read (`propose(proposer, key, read)`): both phases, writing back what it read. */
  read(proposer: string, key: string): OperationHandle {
    this.#open();
    const node = this.#proposer(proposer);
    assertKey(key);
    return this.#start('read', proposer, `${proposer} read on ${displayName(key)}`, node.identityRead(key));
  }

  /**
   * Starts adding acceptor `address` (a new name) to the cluster, paper §2.3: accepts go to it
   * first, then every key is re-written by an identity read, then prepares go to it too. One
   * membership change at a time.
   */
  grow(address: string): OperationHandle {
    this.#open();
    this.#assertName(address, 'grow(address)');
    if (this.#sim.acceptors.some((a) => a.address === address) || this.#proposerIds.includes(address) || address === 'operator') {
      throw new InvalidArgumentError(`grow(${JSON.stringify(address)}): that name is taken; a new acceptor needs a new address`);
    }
    this.#assertNoMembershipChange();
    const before = [...this.#sim.members];
    this.#sim.addAcceptor(address);
    const [target] = this.#sim.operatorAcceptors([address]);
    return this.#membership('grow', address, before, [...before, address], () =>
      growCluster(target as NonNullable<typeof target>, this.#sim.proposers, { random: this.#operatorRandom, tracer: this.#recorder.tracer }),
    );
  }

  /**
   * Starts removing acceptor `address` from the cluster, paper §2.3: prepares stop going to it
   * first, then every key is re-written, then accepts stop too. One membership change at a time.
   */
  shrink(address: string): OperationHandle {
    this.#open();
    this.#assertName(address, 'shrink(address)');
    const before = [...this.#sim.members];
    if (!before.includes(address)) throw new InvalidArgumentError(`shrink(${JSON.stringify(address)}): not a member; members are ${before.join(', ')}`);
    if (before.length === 1) throw new InvalidArgumentError(`shrink(${JSON.stringify(address)}): it is the last acceptor`);
    this.#assertNoMembershipChange();
    const [target] = this.#sim.operatorAcceptors([address]);
    return this.#membership('shrink', address, before, before.filter((a) => a !== address), () =>
      shrinkCluster(target as NonNullable<typeof target>, this.#sim.proposers, { random: this.#operatorRandom, tracer: this.#recorder.tracer }),
    );
  }

  /**
   * Starts garbage collection of `key`, paper §3.1: the key must hold a tombstone (write it with
   * `propose(p, key, remove)` first). Needs every proposer and every acceptor.
   */
  gc(key: string): OperationHandle {
    this.#open();
    assertKey(key);
    this.#keys.add(key);
    const running = garbageCollect(key, this.#sim.proposers, this.#sim.operatorAcceptors(), { random: this.#operatorRandom, tracer: this.#recorder.tracer });
    return this.#start('gc', 'operator', `gc ${displayName(key)}`, running);
  }

  // ---- driving ------------------------------------------------------------------------------

  /**
   * Runs the next event on the agenda (a message arriving, or a timer: a timeout, a retry's
   * backoff) and resolves with what happened (`'  1.234 ms  deliver #4 p1 → a2 prepare(x, 1/p1)'`),
   * or `undefined` when nothing is left to happen.
   */
  async step(): Promise<string | undefined> {
    this.#open();
    await settle();
    const before = this.#inFlight();
    const step = await this.#sim.stepEvent();
    if (step === undefined) return undefined;
    return stamp(step.time, narrateStep(step, before, this.#calls));
  }

  /**
   * Delivers the selected messages now, ahead of their turn, in id order; resolves with a line per
   * message. Throws `InvalidArgumentError` (delivering nothing) when none is in flight, or when a
   * partition blocks one of them (heal first, or drop it).
   */
  async deliver(selector: MessageSelector): Promise<string[]> {
    this.#open();
    const chosen = this.#choose(selector, 'deliver');
    const blocked = chosen.find((m) => this.#sim.network.isBlocked(m.from, m.to));
    if (blocked !== undefined) throw new InvalidArgumentError(`cannot deliver ${blocked.line}: ${blocked.from} and ${blocked.to} are partitioned (heal first, or drop it)`);
    const lines: string[] = [];
    for (const message of chosen) {
      if (!this.#sim.network.inFlight().some((m) => m.id === message.id)) continue; // already gone
      const deliveries = await this.#sim.deliver(message.id);
      lines.push(stamp(this.now, narrateDeliveryByHand(message, deliveries)));
    }
    return lines;
  }

  /** Loses the selected messages (every copy); resolves with a line per message. */
  async drop(selector: MessageSelector): Promise<string[]> {
    this.#open();
    const chosen = this.#choose(selector, 'drop');
    const lines: string[] = [];
    for (const message of chosen) {
      await this.#sim.drop(message.id);
      lines.push(stamp(this.now, `drop ${message.line}`));
    }
    return lines;
  }

  /**
   * Holds the selected messages back: each arrives `ms` virtual milliseconds from now instead of
   * when it was due (a slow link, a message stuck in a queue). Returns a line per message.
   */
  delay(selector: MessageSelector, ms: number): string[] {
    this.#open();
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError(`delay(selector, ms): ms must be a number >= 0, got ${String(ms)}`);
    const chosen = this.#choose(selector, 'delay');
    for (const message of chosen) this.#sim.delay(message.id, ms);
    return chosen.map((message) => stamp(this.now, `delay ${message.line} by ${ms} ms`));
  }

  /** Runs events until `condition()` holds (checked before each), or nothing is left to happen. Resolves with the number of events run. */
  async runUntil(condition: () => boolean, options: RunOptions = {}): Promise<number> {
    this.#open();
    if (typeof condition !== 'function') throw new InvalidArgumentError('runUntil(condition): condition must be a function');
    return this.#sim.run({ until: condition, maxSteps: maxSteps(options) });
  }

  /** Runs events until every operation started so far has settled. Resolves with the number of events run. */
  async runUntilSettled(options: RunOptions = {}): Promise<number> {
    this.#open();
    return this.#sim.run({ until: () => this.#operations.every((op) => op.status !== 'pending'), maxSteps: maxSteps(options) });
  }

  /**
   * Runs events until every operation has settled and no message is in flight (late replies
   * included). Timers still on the agenda then belong to settled calls and would do nothing, so
   * the clock stays at the last event that did something. Resolves with the number of events run.
   */
  async runUntilIdle(options: RunOptions = {}): Promise<number> {
    this.#open();
    const idle = (): boolean => this.#operations.every((op) => op.status !== 'pending') && this.#sim.network.inFlight().length === 0;
    return this.#sim.run({ until: idle, maxSteps: maxSteps(options) });
  }

  // ---- faults -------------------------------------------------------------------------------

  /**
   * Cuts every link between the nodes of `a` and those of `b`, both ways (messages already in
   * flight on those links are lost when they arrive). `operator` names the node that runs
   * membership changes and garbage collection.
   */
  partition(a: string | readonly string[], b: string | readonly string[]): void {
    this.#open();
    const left = this.#nodes(a, 'partition(a, b): a');
    const right = this.#nodes(b, 'partition(a, b): b');
    const both = left.find((n) => right.includes(n));
    if (both !== undefined) throw new InvalidArgumentError(`partition(a, b): ${both} is on both sides`);
    this.#sim.partition(left, right);
  }

  /** Removes every partition. */
  heal(): void {
    this.#open();
    this.#sim.heal();
  }

  /**
   * Crashes an acceptor (it takes no messages; its replies under way are lost; its records
   * survive) or a proposer (its operations fail with an unknown outcome).
   */
  crash(node: string): void {
    this.#open();
    const kind = this.#kindOf(node, 'crash(node)');
    if (kind === 'acceptor') {
      if (!this.#sim.acceptor(node).up) throw new InvalidArgumentError(`crash(${JSON.stringify(node)}): it is already down`);
      this.#sim.crashAcceptor(node);
    } else {
      if (!this.#sim.proposer(node).up) throw new InvalidArgumentError(`crash(${JSON.stringify(node)}): it is already down`);
      this.#sim.crashProposer(node);
    }
  }

  /**
   * Restarts a crashed node: an acceptor with the records it persisted, a proposer under a new
   * incarnation id (`p1#2`: its ballot counter starts again at 0, its new id keeps ballots unique).
   */
  async restart(node: string): Promise<void> {
    this.#open();
    const kind = this.#kindOf(node, 'restart(node)');
    const up = kind === 'acceptor' ? this.#sim.acceptor(node).up : this.#sim.proposer(node).up;
    if (up) throw new InvalidArgumentError(`restart(${JSON.stringify(node)}): it is not down`);
    if (kind === 'acceptor') this.#sim.restartAcceptor(node);
    else await this.#sim.restartProposer(node);
    await settle();
  }

  // ---- looking ------------------------------------------------------------------------------

  /** The messages in flight, in id order (optionally only those `selector` picks). */
  messages(selector?: MessageSelector): MessageView[] {
    this.#open();
    const all = this.#inFlight();
    return selector === undefined ? all : select(all, selector);
  }

  /** Every operation started so far, oldest first. */
  operations(): OperationHandle[] {
    return [...this.#operations];
  }

  /** What each acceptor holds, in the order they joined. */
  acceptors(): AcceptorView[] {
    this.#open();
    return viewAcceptors(this.#sim, this.#keys, this.#proposerIds);
  }

  /** The acceptors' records, the messages in flight and the operations, as aligned text. */
  state(): string {
    this.#open();
    return stateText(this.#snapshot());
  }

  /** The sequence diagram of the proposers' trace so far (see `ClusterDiagramOptions`). */
  diagram(options: ClusterDiagramOptions = {}): SequenceDiagram {
    this.#open();
    // Lifelines in a fixed order (proposers, then acceptors as they joined), not in order of first
    // appearance, so diagrams of one cluster line up with each other.
    return clusterDiagram(this.#recorder.events, options, this.#allNodes());
  }

  /** The diagram as Mermaid `sequenceDiagram` text, times in brackets (virtual ms). */
  mermaid(options: ClusterDiagramOptions = {}): string {
    return this.diagram(options).mermaid;
  }

  /** The diagram as a standalone SVG document. */
  svg(options: ClusterDiagramOptions = {}): string {
    return this.diagram(options).svg;
  }

  /** The state and the diagram, as text. */
  toString(): string {
    if (this.#closed) return 'TeachingCluster (closed)';
    return `${this.state()}\n${this.diagram().text}`;
  }

  /** `console.log` and the REPL show `toString()` (the state, then the diagram), without the trailing newline. */
  [NODE_INSPECT](): string {
    return this.toString().trimEnd();
  }

  /** Jupyter: the diagram (SVG) above the acceptor table, messages in flight and operations. */
  [JUPYTER_DISPLAY](): MimeBundle {
    if (this.#closed) return { 'text/plain': this.toString() };
    return stateBundle(this.#snapshot(), this.diagram(), this.toString());
  }

  // ---- closing ------------------------------------------------------------------------------

  /**
   * Stops the cluster: later calls throw `UnavailableError`; operations still pending stay
   * pending. Everything lives in memory on virtual time, so there is nothing else to release.
   * Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sim.network.onSend = undefined;
  }

  /** `await using cluster = createCluster(...)` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  // ---- internals ----------------------------------------------------------------------------

  #open(): void {
    if (this.#closed) throw new UnavailableError('this teaching cluster is closed');
  }

  #start(kind: OperationHandle['kind'], by: string, label: string, running: Promise<ProposeResult | void>): OperationHandle {
    const op = new OperationHandle(this.#operations.length + 1, kind, by, label, running);
    this.#operations.push(op);
    return op;
  }

  #membership(kind: 'grow' | 'shrink', address: string, before: readonly string[], after: readonly string[], run: () => Promise<void>): OperationHandle {
    // The monitor checks the readable ballot only while the membership is stable.
    this.#sim.setMembers(undefined);
    const running = run().then(
      () => this.#sim.setMembers(after),
      (error: unknown) => {
        this.#sim.setMembers(before); // the change undid its completed steps
        throw error;
      },
    );
    const op = this.#start(kind, 'operator', `${kind} ${address}`, running);
    this.#membershipChange = op;
    return op;
  }

  #assertNoMembershipChange(): void {
    const current = this.#membershipChange;
    if (current !== undefined && current.status === 'pending') throw new InvalidArgumentError(`one membership change at a time: ${current.label} is still running`);
  }

  #sent(message: SimMessage): void {
    const key = this.#calls.record(message);
    if (key !== undefined) this.#keys.add(key);
  }

  #inFlight(): MessageView[] {
    return viewInFlight(this.#sim.network.inFlight(), this.#calls.keyOf);
  }

  #snapshot(): ClusterSnapshot {
    return { now: this.now, seed: this.seed, acceptors: this.acceptors(), inFlight: this.#inFlight(), operations: this.#operations, violations: this.violations() };
  }

  #choose(selector: MessageSelector, verb: string): MessageView[] {
    if (selector === undefined) throw new InvalidArgumentError(`${verb}(selector): give a message id, a predicate or a pattern`);
    const inFlight = this.#inFlight();
    const chosen = select(inFlight, selector);
    if (chosen.length === 0) {
      const what = typeof selector === 'number' ? `message #${selector} is` : 'no message that matches is';
      const now = inFlight.length === 0 ? 'nothing is in flight' : `in flight: ${inFlight.map((m) => `#${m.id}`).join(' ')}`;
      throw new InvalidArgumentError(`${verb}: ${what} in flight; ${now}`);
    }
    return chosen;
  }

  #proposer(id: string) {
    this.#assertName(id, 'proposer');
    if (!this.#proposerIds.includes(id)) throw new InvalidArgumentError(`no proposer ${JSON.stringify(id)}; proposers are ${this.#proposerIds.join(', ')}`);
    return this.#sim.proposer(id);
  }

  #kindOf(node: string, what: string): 'acceptor' | 'proposer' {
    this.#assertName(node, what);
    if (this.#proposerIds.includes(node)) return 'proposer';
    if (this.#sim.acceptors.some((a) => a.address === node)) return 'acceptor';
    throw new InvalidArgumentError(`${what}: no node ${JSON.stringify(node)}; nodes are ${this.#allNodes().join(', ')}`);
  }

  #nodes(value: string | readonly string[], what: string): string[] {
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list) || list.length === 0) throw new InvalidArgumentError(`${what} must be a node name or a non-empty array of them`);
    const known = new Set([...this.#allNodes(), 'operator']);
    for (const name of list) {
      if (typeof name !== 'string' || !known.has(name)) throw new InvalidArgumentError(`${what}: no node ${JSON.stringify(name)}; nodes are ${[...known].join(', ')}`);
    }
    return [...new Set(list as readonly string[])];
  }

  #allNodes(): string[] {
    return [...this.#proposerIds, ...this.#sim.acceptors.map((a) => a.address)];
  }

  #assertName(value: unknown, what: string): asserts value is string {
    if (typeof value !== 'string' || value === '') throw new InvalidArgumentError(`${what} must be a non-empty string, got ${typeof value === 'string' ? '""' : typeof value}`);
  }
}
