/**
 * A CASPaxos cluster to learn from, one message at a time: acceptors and proposers on the
 * deterministic simulator (`Simulation`, virtual time, a seed), driven by hand or run to the end,
 * with every step explained (`explanations()`: the rule each receiver applied and its comparison),
 * readable (`messages()` with their arrival times, `next()`, `acceptors()`, `state()`) and drawn
 * from what was delivered (`diagram()`). The cluster, its state, its diagrams and its operations
 * display themselves in Jupyter notebooks and in Node's REPL.
 *
 *     const cluster = createCluster({ acceptors: 3, proposers: ['p1', 'p2'], seed: 1 });
 *     const write = cluster.propose('p1', 'x', set('hello'));
 *     cluster.messages();                      // three prepares in flight, each with its arrival time
 *     await cluster.deliver({ to: 'a1' });     // a1 promises, and says why; its reply is in flight
 *     await cluster.runUntilSettled();
 *     console.log(write.status, cluster.diagram(), cluster.state());
 *
 * Nothing here reads `Math.random`, `Date` or real timers: the same seed and the same calls give
 * the same messages, explanations, diagrams and tables, byte for byte.
 */
import type { Closeable } from '../internal/async-dispose.js';
import { garbageCollect } from '../cluster/garbage-collect.js';
import { growCluster } from '../cluster/grow-cluster.js';
import { shrinkCluster } from '../cluster/shrink-cluster.js';
import { InvalidArgumentError, UnavailableError } from '../errors.js';
import { assertKey } from '../internal/validate.js';
import type { ProposeResult } from '../roles.js';
import type { SimStep } from '../sim/events.js';
import type { MonitorViolation } from '../sim/monitor.js';
import type { SimMessage } from '../sim/network.js';
import { type ProposerFactory, memoryProposerFactory } from '../sim/proposer-node.js';
import { Simulation } from '../sim/simulation.js';
import { settle } from '../sim/virtual-time.js';
import { type RecordedEvent, TraceRecorder, teeTracers } from '../trace/recorder.js';
import { displayName } from '../trace/text.js';
import type { Tracer } from '../tracer.js';
import { type AcceptorView, viewAcceptors } from './acceptor-view.js';
import { type Change, toChange, toChangeFunc } from './changes.js';
import { type CheckReport, type HistoryKind, OperationLog, checkRun } from './check.js';
import { DeliveryDiagram, type DeliveryDiagramOptions, checkDeliveryDiagramOptions } from './delivery-diagram.js';
import { buildDeliveryModel } from './delivery-model.js';
import { type Displayable, JUPYTER_DISPLAY, type MimeBundle, NODE_INSPECT } from './display.js';
import { type Explanation, type ExplanationKind, Journal } from './journal.js';
import { CallLog, type MessageSelector, type MessageView, select, viewInFlight } from './messages.js';
import { type UpcomingView, narrateDeliveryByHand, narrateStep, narrateUpcoming } from './narration.js';
import { ObservedAcceptor } from './observed-acceptor.js';
import { OperationHandle } from './operation-handle.js';
import { type ClusterOptions, type RunOptions, maxSteps, resolveClusterOptions } from './options.js';
import type { RuleBreak } from './rule-break.js';
import { type ClusterDiagramOptions, type SequenceDiagram, clusterDiagram } from './sequence-diagram.js';
import { ClusterState, formatVirtualTime, stateBundle } from './state-view.js';
import { viewValues } from './values-view.js';

/** Builds a teaching cluster. Throws `InvalidArgumentError` on bad options. */
export function createCluster(options: ClusterOptions = {}): TeachingCluster {
  return new TeachingCluster(options);
}

/** Options of `explanations`. */
export interface ExplanationOptions {
  /** Only the events from this mark on (a number `mark()` returned). @default 0 */
  readonly since?: number | undefined;
}

/**
 * A CASPaxos cluster to learn from, one message at a time (build it with `createCluster`):
 * acceptors and proposers on the deterministic simulator, driven by hand (`deliver`, `drop`,
 * `delay`, `step`) or run to the end (`runUntilSettled`). Every event is explained
 * (`explanations()`), every message shows when it will arrive (`messages()`, `next()`), and the
 * diagram is drawn from what was delivered (`diagram()`). It displays itself in Jupyter and in
 * Node's REPL. Same seed, same calls: the same story, diagrams and tables, byte for byte.
 */
export class TeachingCluster implements Displayable, Closeable {
  readonly #sim: Simulation;
  readonly #recorder: TraceRecorder;
  readonly #tracer: Tracer;
  readonly #journal: Journal;
  readonly #log: OperationLog;
  readonly #breaks: readonly RuleBreak[];
  readonly #proposerIds: readonly string[];
  readonly #operations: OperationHandle[] = [];
  /** Every key any request named, so `acceptors()` can show records that hold only a promise. */
  readonly #keys = new Set<string>();
  /** Every request by call id, so a reply shows its key and a timeout what it waited for. */
  readonly #calls = new CallLog();
  /** The trace's length when each event of the story began, so a story mark also marks the trace. */
  readonly #traceMarks: number[] = [];
  readonly #operatorRandom: () => number;
  #membershipChange: OperationHandle | undefined;
  #closed = false;

  constructor(options: ClusterOptions = {}) {
    const { seed, acceptors, proposers, network, timeoutMs, retry, oneRoundTrip, breaks } = resolveClusterOptions(options);
    this.#breaks = breaks;
    this.#journal = new Journal(this.#calls.keyOf, () => new Set(this.#sim.network.inFlight().map((m) => m.id)));
    // The recorder stamps each event with the simulation's virtual clock; `sim` is assigned before
    // any event can be recorded.
    let sim: Simulation | undefined;
    this.#recorder = new TraceRecorder({ clock: () => sim?.now ?? 0 });
    this.#tracer = teeTracers(this.#recorder.tracer, (event) => this.#journal.trace(event));
    this.#log = new OperationLog(() => sim?.now ?? 0);
    const proposerFactory = breaks.reduce<ProposerFactory>((factory, b) => b.proposers?.(factory) ?? factory, memoryProposerFactory);
    sim = new Simulation({
      seed,
      acceptors,
      proposers,
      network,
      timeoutMs,
      retry,
      oneRoundTrip,
      tracer: this.#tracer,
      proposerFactory,
      acceptorFactory: (address) => new ObservedAcceptor(address, (observation) => this.#journal.observed(observation)),
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

  /** The rules this cluster breaks on purpose (`ClusterOptions.breaks`); empty for the real protocol. */
  get breaks(): readonly RuleBreak[] {
    return this.#breaks;
  }

  /** The proposers' trace events so far (for `renderNdjson` and the filters of `caspaxos/trace`). */
  get events(): RecordedEvent[] {
    return this.#recorder.events;
  }

  /**
   * A mark in the story: `diagram({ since: mark })`, `explanations({ since: mark })` and
   * `traceDiagram({ since: mark })` then show only what happened after it.
   */
  mark(): number {
    return this.#journal.length;
  }

  /** Violations of the acceptor invariants the simulator's monitor checks after every request (none, ever, unless a rule is broken). */
  violations(): readonly MonitorViolation[] {
    return this.#sim.monitor?.violations ?? [];
  }

  /**
   * What happened, event by event, and why: for each delivery the rule the receiver applied and its
   * comparison (`a2: accept 1/p1 refused: promised 1/p2 > 1/p1`), then what the proposer concluded
   * (`p1: 2 of 3 promises (a1, a2), quorum reached; adopts ...`).
   */
  explanations(options: ExplanationOptions = {}): Explanation[] {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('explanations(options): options must be an object');
    const { since = 0 } = options;
    if (!Number.isSafeInteger(since) || since < 0) throw new InvalidArgumentError(`explanations({ since }): since must be a mark (an integer >= 0), got ${String(since)}`);
    return this.#journal.explanations(since);
  }

  /**
   * Runs the library's checkers over what happened so far: the operations as a history, judged by
   * the linearizability checker, and the acceptor monitor's findings. A correct cluster passes
   * whatever you do; one built with `breaks` can be caught.
   */
  check(): CheckReport {
    const clients = new Map(this.#proposerIds.map((id, i) => [i + 1, id]));
    return checkRun(this.#log, this.violations(), clients);
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
    const label = `${proposer} ${c.label} on ${displayName(key)}`;
    const kind: HistoryKind = c.kind === 'read' ? { op: 'read' } : c.writes !== undefined ? { op: 'write', value: c.writes.value } : { op: 'change' };
    const tracked = this.#log.start(this.#operations.length + 1, this.#proposerIds.indexOf(proposer) + 1, key, kind);
    this.#begin('start', label, { node: proposer, key });
    // A lesson's read is the full round (prepare, then write back what it found): lesson 3 is about
    // reads that write. (`identityRead` would answer from peeks when a quorum agrees.)
    const running = c.kind === 'read' ? node.identityRead(key, { writeBack: true }) : node.propose(key, toChangeFunc(c, tracked.ran));
    running.then(
      (result) => tracked.settled({ value: result.state }),
      (error: unknown) => tracked.settled({ error }),
    );
    return this.#start(c.kind === 'read' ? 'read' : 'propose', proposer, label, running);
  }

  /** Starts an identity read (`propose(proposer, key, read)`): both phases, writing back what it read. */
  read(proposer: string, key: string): OperationHandle {
    return this.propose(proposer, key, { kind: 'read', label: 'read', apply: (current) => current });
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
    this.#begin('start', `operator grows the cluster: adds ${address}`, { node: 'operator' });
    this.#sim.addAcceptor(address);
    const [target] = this.#sim.operatorAcceptors([address]);
    const grow = this.#breaks.find((b) => b.grow !== undefined)?.grow ?? growCluster;
    return this.#membership('grow', address, before, [...before, address], () =>
      grow(target as NonNullable<typeof target>, this.#sim.proposers, { random: this.#operatorRandom, tracer: this.#tracer }),
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
    this.#begin('start', `operator shrinks the cluster: removes ${address}`, { node: 'operator' });
    const [target] = this.#sim.operatorAcceptors([address]);
    return this.#membership('shrink', address, before, before.filter((a) => a !== address), () =>
      shrinkCluster(target as NonNullable<typeof target>, this.#sim.proposers, { random: this.#operatorRandom, tracer: this.#tracer }),
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
    this.#begin('start', `operator garbage-collects ${displayName(key)}`, { node: 'operator', key });
    const running = garbageCollect(key, this.#sim.proposers, this.#sim.operatorAcceptors(), { random: this.#operatorRandom, tracer: this.#tracer });
    return this.#start('gc', 'operator', `gc ${displayName(key)}`, running);
  }

  // ---- driving ------------------------------------------------------------------------------

  /**
   * Runs the next event on the agenda (a message arriving, or a timer: a timeout, a retry's
   * backoff; `next()` says which) and resolves with what happened and why: the stamped line
   * (`'  1.234 ms  deliver #4 p1 → a2 prepare(x, 1/p1)'`), then the explanation, one indented line
   * per rule applied. Resolves with `undefined` when nothing is left to happen.
   */
  async step(): Promise<string | undefined> {
    this.#open();
    return (await this.#runOne())?.toString();
  }

  /**
   * Delivers the selected messages now, ahead of their turn, in id order; resolves with what each
   * did and why (as `step`). A message delivered by hand arrives when the next event was due (its
   * own arrival time when it was next), so the clock moves on without skipping any event. Throws
   * `InvalidArgumentError` (delivering nothing) when none is in flight, or when a partition blocks
   * one of them (heal first, or drop it).
   */
  async deliver(selector: MessageSelector): Promise<string[]> {
    this.#open();
    const chosen = this.#choose(selector, 'deliver');
    const blocked = chosen.find((m) => this.#sim.network.isBlocked(m.from, m.to));
    if (blocked !== undefined) throw new InvalidArgumentError(`cannot deliver ${blocked.line}: ${blocked.from} and ${blocked.to} are partitioned (heal first, or drop it)`);
    const lines: string[] = [];
    for (const message of chosen) {
      if (!this.#sim.network.inFlight().some((m) => m.id === message.id)) continue; // already gone
      // Nothing is due before the earliest event on the agenda, this message's own arrival included.
      const due = this.#sim.upcoming(1)[0];
      if (due !== undefined) this.#sim.time.advanceTo(due.time);
      this.#begin('deliver', `deliver ${message.line}`, { byHand: true, message });
      const deliveries = await this.#sim.deliver(message.id);
      for (const d of deliveries) this.#journal.fate(message.id, d.outcome);
      const lost = deliveries.some((d) => d.outcome === 'undeliverable');
      this.#journal.describe(this.now, lost ? 'undeliverable' : 'deliver', narrateDeliveryByHand(message, deliveries), message);
      lines.push(this.#lastExplanation());
    }
    return lines;
  }

  /** Loses the selected messages (every copy); resolves with what each loss means. */
  async drop(selector: MessageSelector): Promise<string[]> {
    this.#open();
    const chosen = this.#choose(selector, 'drop');
    const lines: string[] = [];
    for (const message of chosen) {
      this.#begin('drop', `drop ${message.line}`, { byHand: true, message });
      await this.#sim.drop(message.id);
      for (let copy = 0; copy < message.copies; copy++) this.#journal.fate(message.id, 'dropped');
      this.#journal.note(
        message.kind === 'request'
          ? `${message.to} never sees it; ${message.from} counts ${message.to} as a refusal only when the call times out`
          : `${message.to} never gets ${message.from}'s answer, though ${message.from} did apply the request (its record changed)`,
      );
      lines.push(this.#lastExplanation());
    }
    return lines;
  }

  /**
   * Holds the selected messages back: each arrives `ms` virtual milliseconds from now instead of
   * when it was due (a slow link, a message stuck in a queue). Returns what each delay means.
   */
  delay(selector: MessageSelector, ms: number): string[] {
    this.#open();
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError(`delay(selector, ms): ms must be a number >= 0, got ${String(ms)}`);
    const chosen = this.#choose(selector, 'delay');
    const lines: string[] = [];
    for (const message of chosen) {
      this.#begin('delay', `delay ${message.line} by ${ms} ms`, { byHand: true, message });
      this.#sim.delay(message.id, ms);
      const until = this.now + Math.round(ms * 1000);
      this.#journal.delayed(message.id, until);
      const was = message.arrival === undefined ? '' : ` instead of ${formatVirtualTime(message.arrival)}`;
      this.#journal.note(`it now arrives at ${formatVirtualTime(until)}${was}: whatever is due before it happens first`);
      lines.push(this.#lastExplanation());
    }
    return lines;
  }

  /** Runs events until `condition()` holds (checked before each), or nothing is left to happen. Resolves with the number of events run. */
  async runUntil(condition: () => boolean, options: RunOptions = {}): Promise<number> {
    this.#open();
    if (typeof condition !== 'function') throw new InvalidArgumentError('runUntil(condition): condition must be a function');
    return this.#run(condition, maxSteps(options));
  }

  /** Runs events until every operation started so far has settled. Resolves with the number of events run. */
  async runUntilSettled(options: RunOptions = {}): Promise<number> {
    this.#open();
    return this.#run(() => this.#operations.every((op) => op.status !== 'pending'), maxSteps(options));
  }

  /**
   * Runs events until every operation has settled and no message is in flight (late replies
   * included). Timers still on the agenda then belong to settled calls and would do nothing, so
   * the clock stays at the last event that did something. Resolves with the number of events run.
   */
  async runUntilIdle(options: RunOptions = {}): Promise<number> {
    this.#open();
    const idle = (): boolean => this.#operations.every((op) => op.status !== 'pending') && this.#sim.network.inFlight().length === 0;
    return this.#run(idle, maxSteps(options));
  }

  /** What the next `step()` will run, with when it is due; `undefined` when nothing is left to happen. */
  next(): UpcomingView | undefined {
    return this.upcoming(1)[0];
  }

  /** The next `limit` events in the order `step()` will run them, each with when it is due. */
  upcoming(limit = 10): UpcomingView[] {
    this.#open();
    if (!Number.isSafeInteger(limit) || limit < 0) throw new InvalidArgumentError(`upcoming(limit): limit must be an integer >= 0, got ${String(limit)}`);
    const inFlight = this.#inFlight();
    return this.#sim.upcoming(limit).map((scheduled) => narrateUpcoming(scheduled, inFlight, this.#calls, (m) => this.#obstacle(m)));
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
    this.#begin('fault', `partition ${left.join(', ')} | ${right.join(', ')}`, { byHand: true });
    this.#sim.partition(left, right);
    this.#journal.note('messages between the two sides are lost from now on, those already in flight included');
  }

  /** Removes every partition. */
  heal(): void {
    this.#open();
    this.#begin('fault', 'heal every partition', { byHand: true });
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
      this.#begin('fault', `crash ${node}`, { byHand: true, node });
      this.#sim.crashAcceptor(node);
      this.#journal.note(`${node} takes no messages and its replies on the wire are lost; what it persisted (every promise and value, each written before it replied) survives`);
    } else {
      if (!this.#sim.proposer(node).up) throw new InvalidArgumentError(`crash(${JSON.stringify(node)}): it is already down`);
      this.#begin('fault', `crash ${node}`, { byHand: true, node });
      this.#sim.crashProposer(node);
      this.#journal.note(`${node}'s operations end with an unknown outcome: messages it sent may still arrive and take effect`);
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
    this.#begin('fault', `restart ${node}`, { byHand: true, node });
    if (kind === 'acceptor') {
      if (this.#breaks.some((b) => b.forgetsOnRestart === true)) {
        this.#sim.restartAcceptor(node, { amnesia: true });
        this.#journal.note(`${node} comes back EMPTY: it replied before its writes were durable, so every promise and value it gave is forgotten (a broken rule)`);
      } else {
        this.#sim.restartAcceptor(node);
        this.#journal.note(`${node} comes back with every record it persisted`);
      }
    } else {
      await this.#sim.restartProposer(node);
      const id = this.#sim.proposer(node).incarnationId;
      this.#journal.note(`${node} comes back as ${id}: its counter starts at 0 again, and the new id keeps its ballots unique`);
    }
    await settle();
  }

  // ---- looking ------------------------------------------------------------------------------

  /** The messages in flight, in id order, each with when it is due (optionally only those `selector` picks). */
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

  /**
   * The state now: the acceptors' records, which values are chosen, the messages in flight with
   * their arrival times, what happens next, the operations. Aligned text as a string
   * (`String(state)`, `console.log`), tables in a notebook; its fields are the data.
   */
  state(): ClusterState {
    this.#open();
    const acceptors = this.acceptors();
    const next = this.next();
    return new ClusterState({
      now: this.now,
      seed: this.seed,
      acceptors,
      inFlight: this.#inFlight(),
      operations: [...this.#operations],
      violations: [...this.violations()],
      values: viewValues(acceptors),
      next: next === undefined ? undefined : { time: next.time, text: next.text },
    });
  }

  /**
   * The delivery diagram of the story so far: every message drawn from the event that sent it to
   * the one where it arrived, was dropped or lost; replies marked by what they did (formed a
   * quorum, came late, refused); requests by the order their acceptor processed them; messages
   * still in flight at the bottom, with when they are due.
   */
  diagram(options: DeliveryDiagramOptions = {}): DeliveryDiagram {
    this.#open();
    const { since = 0, key } = checkDeliveryDiagramOptions(options);
    const model = buildDeliveryModel({
      events: this.#journal.events(since),
      messages: this.#journal.messages(),
      inFlight: this.#inFlight(),
      nodes: [...this.#proposerIds.map((name) => ({ name, kind: 'proposer' as const })), ...this.#sim.acceptors.map((a) => ({ name: a.address, kind: 'acceptor' as const }))],
      formatTime: (us) => (us / 1000).toFixed(3),
      key,
    });
    return new DeliveryDiagram(model, options);
  }

  /** The delivery diagram as Mermaid `sequenceDiagram` text, times in brackets (virtual ms). */
  mermaid(options: DeliveryDiagramOptions = {}): string {
    return this.diagram(options).mermaid;
  }

  /** The delivery diagram as a standalone SVG document. */
  svg(options: DeliveryDiagramOptions = {}): string {
    return this.diagram(options).svg;
  }

  /**
   * The sequence diagram of the proposers' trace (`caspaxos/trace`): requests drawn when sent,
   * replies when the proposer counted them, as a proposer sees its rounds. `since` is a story mark.
   */
  traceDiagram(options: ClusterDiagramOptions = {}): SequenceDiagram {
    this.#open();
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('traceDiagram(options): options must be an object');
    const since = options.since;
    const traceSince = since === undefined || !Number.isSafeInteger(since) || since < 0 ? since : (this.#traceMarks[since] ?? this.#recorder.recorded);
    // Lifelines in a fixed order (proposers, then acceptors as they joined), not in order of first
    // appearance, so diagrams of one cluster line up with each other.
    return clusterDiagram(this.#recorder.events, { ...options, since: traceSince }, this.#allNodes());
  }

  /** The state and the diagram, as text. */
  toString(): string {
    if (this.#closed) return 'TeachingCluster (closed)';
    return `${this.state().text}\n${this.diagram().text}`;
  }

  /** `console.log` and the REPL show `toString()` (the state, then the diagram), without the trailing newline. */
  [NODE_INSPECT](): string {
    return this.toString().trimEnd();
  }

  /** Jupyter: the delivery diagram (SVG) above the acceptor table, values, messages in flight and operations. */
  [JUPYTER_DISPLAY](): MimeBundle {
    if (this.#closed) return { 'text/plain': this.toString() };
    return stateBundle(this.state(), this.diagram(), this.toString());
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

  /** Opens the story's next event; what runs until the next one belongs to it. */
  #begin(kind: ExplanationKind, summary: string, options: { byHand?: boolean; message?: MessageView | undefined; key?: string | undefined; node?: string | undefined } = {}): void {
    this.#traceMarks[this.#journal.length] = this.#recorder.recorded;
    this.#journal.begin(this.now, kind, summary, options);
  }

  #lastExplanation(): string {
    return String(this.#journal.explanations(this.#journal.length - 1)[0]);
  }

  /** Runs the next event on the agenda into the story; `undefined` when there is none. */
  async #runOne(): Promise<Explanation | undefined> {
    await settle();
    const before = this.#inFlight();
    // The event is known before it runs: what it sets off (replies, tallies) belongs to it.
    const due = this.#sim.upcoming(1)[0]?.event;
    const message = due?.kind === 'deliver' ? before.find((m) => m.id === due.message.id) : undefined;
    this.#begin(due?.kind === 'deliver' ? 'deliver' : 'action', '', { message });
    const step = await this.#sim.stepEvent();
    if (step === undefined) {
      this.#journal.abandonIfEmpty();
      return undefined;
    }
    this.#record(step, before);
    return this.#journal.explanations(this.#journal.length - 1)[0];
  }

  /** Says in the story what `step` was. */
  #record(step: SimStep, before: readonly MessageView[]): void {
    const event = step.event;
    const summary = narrateStep(step, before, this.#calls);
    switch (event.kind) {
      case 'deliver': {
        const message = before.find((m) => m.id === event.message.id);
        this.#journal.fate(event.message.id, event.outcome);
        const kind = event.outcome === 'delivered' ? 'deliver' : event.outcome;
        this.#journal.describe(step.time, kind, summary, message);
        break;
      }
      case 'timeout':
        this.#journal.describe(step.time, 'timeout', summary);
        this.#journal.at(event.node, this.#calls.get(event.call)?.key);
        this.#journal.timedOut(event.call);
        break;
      case 'wake':
        this.#journal.describe(step.time, 'wake', summary);
        if (event.node !== undefined) this.#journal.at(event.node);
        break;
      case 'action':
        this.#journal.describe(step.time, 'action', summary);
        break;
    }
  }

  async #run(until: () => boolean, limit: number): Promise<number> {
    let steps = 0;
    await settle();
    while (steps < limit && !until()) {
      if ((await this.#runOne()) === undefined) break;
      steps++;
    }
    return steps;
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
    this.#journal.sent(message);
  }

  #inFlight(): MessageView[] {
    const arrivals = new Map<number, number>();
    for (const { time, event } of this.#sim.upcoming()) {
      if (event.kind === 'deliver' && !arrivals.has(event.message.id)) arrivals.set(event.message.id, time);
    }
    return viewInFlight(this.#sim.network.inFlight(), this.#calls.keyOf, arrivals);
  }

  /** What will stop `message` when it arrives, if anything. */
  #obstacle(message: MessageView): string | undefined {
    if (this.#sim.network.isBlocked(message.from, message.to)) return 'blocked by a partition, it will be lost';
    const acceptor = this.#sim.acceptors.find((a) => a.address === message.to);
    const down = acceptor !== undefined ? !acceptor.up : this.#proposerIds.includes(message.to) && !this.#sim.proposer(message.to).up;
    return down ? `${message.to} is down, it will be lost` : undefined;
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

