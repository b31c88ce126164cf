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
import { formatBallot, isZeroBallot } from '../core/ballot.js';
import { InvalidArgumentError, UnavailableError } from '../errors.js';
import type { MemoryAcceptor } from '../acceptor/memory-acceptor.js';
import type { RetryPolicy } from '../retry.js';
import type { ProposeResult } from '../roles.js';
import type { MonitorViolation } from '../sim/monitor.js';
import type { NetworkProfile, SimMessage } from '../sim/network.js';
import { Simulation } from '../sim/simulation.js';
import { type AgendaItem, settle } from '../sim/virtual-time.js';
import type { DiagramOptions } from '../trace/diagram.js';
import type { TracePredicate } from '../trace/filter.js';
import { type RecordedEvent, TraceRecorder } from '../trace/recorder.js';
import { escapeXml } from '../trace/svg.js';
import { displayName, previewState } from '../trace/text.js';
import { assertKey, integerOption } from '../internal/validate.js';
import { type Change, decodeText, toChange, toChangeFunc } from './changes.js';
import { type Displayable, JUPYTER_DISPLAY, type MimeBundle, NODE_INSPECT, type Table, codeBlock, svgImage, tableHtml, tableMarkdown, tableText } from './display.js';
import { type MessageSelector, type MessageView, select, viewMessage } from './messages.js';
import { Operation } from './operation.js';
import { SequenceDiagram } from './sequence-diagram.js';

/** Options of `createCluster`: the cluster's shape, its seed, and how it behaves when it runs by itself. */
export interface ClusterOptions {
  /**
   * The acceptors: how many (named `a1`, `a2`, ...), or their addresses. 2F+1 acceptors tolerate
   * F failures.
   * @default 3
   */
  readonly acceptors?: number | readonly string[] | undefined;
  /**
   * The proposers: how many (named `p1`, `p2`, ...), or their ids.
   * @default ['p1', 'p2']
   */
  readonly proposers?: number | readonly string[] | undefined;
  /**
   * The seed of every random decision (message delays, retry jitter, which proposer an operator
   * step uses). Same seed, same calls: same run.
   * @default 1
   */
  readonly seed?: number | undefined;
  /**
   * Message loss, duplication and delays when the cluster runs by itself.
   * @default no loss, no duplicates, 0.1 to 1 ms per message
   */
  readonly network?: NetworkProfile | undefined;
  /**
   * One round trip (paper §2.2.1): an accept also asks for a promise on the next ballot, so the
   * proposer's next change to the key skips the prepare phase. Off by default so that every
   * proposal shows the paper's two phases; turn it on to watch the optimisation.
   * @default false
   */
  readonly oneRoundTrip?: boolean | undefined;
  /**
   * The proposers' retry policy after a lost round (see `RetryPolicy`): the first retry is
   * immediate, later ones wait a random delay under a growing cap.
   * @default 10 attempts, delays capped at 1, 2, 4, ... up to 100 ms
   */
  readonly retry?: Partial<RetryPolicy> | undefined;
  /**
   * How long a proposer waits for an acceptor's reply before it counts the acceptor as
   * unreachable, in virtual milliseconds.
   * @default 20
   */
  readonly timeoutMs?: number | undefined;
}

/** What `acceptors()` reports about one key on one acceptor. */
export interface AcceptorRecordView {
  /** The key, exactly as proposed (tables and diagrams show it through `displayName`). */
  readonly key: string;
  /** The highest ballot promised, `3/p1`; `ø` is the zero ballot. */
  readonly promise: string;
  /** The ballot of the accepted state, `ø` if none was accepted. */
  readonly accepted: string;
  /** The accepted state as text (`null`: empty), or its preview when it is not text. */
  readonly value: string | null;
  /** The accepted state as diagrams show it: `"hello"`, `∅`. */
  readonly preview: string;
}

/** What `acceptors()` reports about one acceptor. */
export interface AcceptorView {
  /** Its address: `a1`, `a2`, ... or a name given in `ClusterOptions.acceptors` or to `grow`. */
  readonly address: string;
  /** False while crashed. Its records survive the crash (it persisted every write before replying). */
  readonly up: boolean;
  /**
   * In the proposers' sets: `member` (prepares and accepts), `accepts only` or `prepares only`
   * (half way through a membership change), or `not a member`.
   */
  readonly membership: 'member' | 'accepts only' | 'prepares only' | 'not a member';
  /** Its records, by key (keys it never heard of are absent; so are garbage-collected ones). */
  readonly records: readonly AcceptorRecordView[];
  /** Minimum proposer ages garbage collection made it require (paper §3.1 step c), by proposer id. */
  readonly minimumAges: Readonly<Record<string, number>>;
  /** The promise every absent key behaves as having after garbage collection (`ø` before any). */
  readonly tombstoneFloor: string;
}

/** Options of `diagram`, `mermaid` and `svg`. */
export interface ClusterDiagramOptions extends Omit<DiagramOptions, 'formatTime'> {
  /** Only events recorded from this mark on (a number `mark()` returned). @default 0 */
  readonly since?: number | undefined;
  /** Only events about this key (operator steps included). */
  readonly key?: string | undefined;
  /** The SVG's title. @default 'CASPaxos trace' */
  readonly title?: string | undefined;
}

/** Options of the `run*` methods. */
export interface RunOptions {
  /** The most events to run; a run that reaches it stops there (check `operations()`). @default 10000 */
  readonly maxSteps?: number | undefined;
}

const DEFAULT_MAX_STEPS = 10_000;

/** A time on the virtual clock (microseconds) as `12.345 ms`. */
export function formatVirtualTime(us: number): string {
  return `${(us / 1000).toFixed(3)} ms`;
}

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
  readonly #operations: Operation[] = [];
  /** Every key any request named, so `acceptors()` can show records that hold only a promise. */
  readonly #keys = new Set<string>();
  /** Call id -> its request, so a reply shows its key and a timeout what it waited for. */
  readonly #calls = new Map<number, { readonly key: string | undefined; readonly to: string; readonly text: string }>();
  readonly #operatorRandom: () => number;
  #membershipChange: Operation | undefined;
  #closed = false;

  constructor(options: ClusterOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('createCluster(options): options must be an object');
    const acceptors = names(options.acceptors ?? 3, 'a', 'acceptors');
    const proposers = names(options.proposers ?? ['p1', 'p2'], 'p', 'proposers');
    const all = [...acceptors, ...proposers];
    const clash = all.find((name, i) => all.indexOf(name) !== i || name === 'operator');
    if (clash !== undefined) throw new InvalidArgumentError(`node names must be unique and not "operator"; ${JSON.stringify(clash)} is not`);
    const seed = options.seed ?? 1;
    if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw new InvalidArgumentError(`seed must be an integer in [0, 2^32), got ${String(seed)}`);
    const timeoutMs = options.timeoutMs ?? 20;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new InvalidArgumentError(`timeoutMs must be a number > 0, got ${String(timeoutMs)}`);
    if (options.oneRoundTrip !== undefined && typeof options.oneRoundTrip !== 'boolean') throw new InvalidArgumentError('oneRoundTrip must be a boolean');

    // The recorder stamps each event with the simulation's virtual clock; `sim` is assigned before
    // any event can be recorded.
    let sim: Simulation | undefined;
    this.#recorder = new TraceRecorder({ clock: () => sim?.now ?? 0 });
    sim = new Simulation({
      seed,
      acceptors,
      proposers,
      network: options.network,
      timeoutMs,
      retry: options.retry,
      oneRoundTrip: options.oneRoundTrip ?? false,
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
  propose(proposer: string, key: string, change: Change | ((current: string | null) => string | null)): Operation {
    this.#open();
    const node = this.#proposer(proposer);
    assertKey(key);
    const c = toChange(change);
    const running = c.kind === 'read' ? node.identityRead(key) : node.propose(key, toChangeFunc(c));
    return this.#start(c.kind === 'read' ? 'read' : 'propose', proposer, `${proposer} ${c.label} on ${displayName(key)}`, running);
  }

  /** Starts an identity read (`propose(proposer, key, read)`): both phases, writing back what it read. */
  read(proposer: string, key: string): Operation {
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
  grow(address: string): Operation {
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
  shrink(address: string): Operation {
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
  gc(key: string): Operation {
    this.#open();
    assertKey(key);
    this.#keys.add(key);
    const running = garbageCollect(key, this.#sim.proposers, this.#sim.operatorAcceptors(), { random: this.#operatorRandom, tracer: this.#recorder.tracer });
    return this.#start('gc', 'operator', `gc ${displayName(key)}`, running);
  }

  // ---- driving ------------------------------------------------------------------------------

  /**
   * Runs the next event on the agenda (a message arriving, or a timer: a timeout, a retry's
   * backoff) and resolves with what happened, `'  1.234 ms  a2 ← p1 prepare(x, 1/p1)'`-style, or
   * `undefined` when nothing is left to happen.
   */
  async step(): Promise<string | undefined> {
    this.#open();
    await settle();
    const before = this.#inFlight();
    const stats = { ...this.#sim.network.stats };
    const line = await this.#sim.step();
    if (line === undefined) return undefined;
    return this.#stamp(this.#whatHappened(before, stats, line));
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
      const undeliverable = this.#sim.network.stats.undeliverable;
      await this.#sim.deliver(message.id);
      const lost = this.#sim.network.stats.undeliverable > undeliverable;
      lines.push(this.#stamp(`${lost ? `lost (${message.to} is down)` : 'deliver'} ${message.line}`));
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
      lines.push(this.#stamp(`drop ${message.line}`));
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
    const network = this.#sim.network;
    for (const message of chosen) {
      const copies = network.inFlight().filter((m) => m.id === message.id);
      // Take its deliveries off the agenda and put them back later. A delivery is the agenda item
      // carrying the message; `arrive` is what it runs (partitions and crashes still apply then).
      this.#sim.time.agenda.remove((item) => (item as AgendaItem & { message?: SimMessage }).message?.id === message.id);
      for (const copy of copies) {
        let line = '';
        this.#sim.time.schedule(ms * 1000, { run: () => ((line = network.arrive(copy)), true), describe: () => line });
      }
    }
    return chosen.map((message) => this.#stamp(`delay ${message.line} by ${ms} ms`));
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
  operations(): Operation[] {
    return [...this.#operations];
  }

  /** What each acceptor holds, in the order they joined. */
  acceptors(): AcceptorView[] {
    this.#open();
    const keys = [...this.#keys].sort();
    const proposers = this.#sim.proposers;
    return this.#sim.acceptors.map((node) => {
      const acceptor = node.acceptor as MemoryAcceptor;
      const records: AcceptorRecordView[] = [];
      for (const key of keys) {
        const record = acceptor.inspect(key);
        if (record === undefined) continue;
        let value: string | null;
        try {
          value = decodeText(record.state);
        } catch {
          value = previewState(record.state);
        }
        records.push(Object.freeze({ key, promise: formatBallot(record.promise), accepted: formatBallot(record.accepted), value, preview: previewState(record.state) }));
      }
      const prepares = proposers.some((p) => p.preparers.includes(node.address));
      const accepts = proposers.some((p) => p.accepters.includes(node.address));
      const membership = prepares && accepts ? 'member' : accepts ? 'accepts only' : prepares ? 'prepares only' : 'not a member';
      const minimumAges: Record<string, number> = {};
      for (const id of this.#proposerIds) {
        // A restarted proposer's incarnations (`p1#2`) have ages of their own.
        for (const incarnation of [id, this.#sim.proposer(id).incarnationId]) {
          const age = acceptor.minimumAge(incarnation);
          if (age > 0) minimumAges[incarnation] = age;
        }
      }
      const floor = acceptor.tombstoneFloor;
      return Object.freeze({ address: node.address, up: node.up, membership, records: Object.freeze(records), minimumAges: Object.freeze(minimumAges), tombstoneFloor: isZeroBallot(floor) ? 'ø' : formatBallot(floor) });
    });
  }

  /** The acceptors' records, the messages in flight and the operations, as aligned text. */
  state(): string {
    this.#open();
    const sections = [`time ${formatVirtualTime(this.now)}`, tableText(this.#acceptorTable()), ...this.#extraLines()];
    return `${sections.join('\n')}\n`;
  }

  /** The sequence diagram of the proposers' trace so far (see `ClusterDiagramOptions`). */
  diagram(options: ClusterDiagramOptions = {}): SequenceDiagram {
    this.#open();
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('diagram(options): options must be an object');
    const { since = 0, key, title, filter, ...rest } = options;
    if (!Number.isSafeInteger(since) || since < 0) throw new InvalidArgumentError(`diagram({ since }): since must be a mark (an integer >= 0), got ${String(since)}`);
    if (key !== undefined) assertKey(key);
    if (filter !== undefined && typeof filter !== 'function') throw new InvalidArgumentError('diagram({ filter }): filter must be a function');
    const keep: TracePredicate = (recorded) =>
      recorded.seq >= since && (key === undefined || !('key' in recorded.event) || recorded.event.key === key) && (filter === undefined || filter(recorded));
    const events = this.#recorder.events.filter(keep);
    return new SequenceDiagram(events, {
      ...rest,
      // Lifelines in a fixed order (proposers, then acceptors as they joined), not in order of
      // first appearance, so diagrams of one cluster line up with each other.
      participants: rest.participants ?? [...this.#proposerIds, ...this.#sim.acceptors.map((a) => a.address)],
      formatTime: (us) => (us / 1000).toFixed(3),
      title,
    });
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
    const diagram = this.diagram();
    const table = this.#acceptorTable();
    const extra = this.#extraLines();
    const heading = `time ${formatVirtualTime(this.now)}, seed ${this.seed}`;
    const html = [
      '<div>',
      `<p>${heading}</p>`,
      diagram.length > 0 ? svgImage(diagram.svg, 'sequence diagram') : '',
      tableHtml(table),
      extra.length > 0 ? `<pre>${escapeXml(extra.join('\n'))}</pre>` : '',
      '</div>',
    ].join('');
    const markdown = [heading, diagram.length > 0 ? codeBlock(diagram.mermaid, 'mermaid') : '', tableMarkdown(table), extra.length > 0 ? codeBlock(extra.join('\n')) : '']
      .filter((part) => part !== '')
      .join('\n\n');
    return { 'text/html': html, 'text/markdown': markdown, 'image/svg+xml': diagram.svg, 'text/plain': this.toString() };
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

  #start(kind: Operation['kind'], by: string, label: string, running: Promise<ProposeResult | void>): Operation {
    const op = new Operation(this.#operations.length + 1, kind, by, label, running);
    this.#operations.push(op);
    return op;
  }

  #membership(kind: 'grow' | 'shrink', address: string, before: readonly string[], after: readonly string[], run: () => Promise<void>): Operation {
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
    if (message.kind !== 'request') return;
    const body = message.body as { key?: unknown };
    const key = typeof body.key === 'string' ? body.key : undefined;
    if (key !== undefined) this.#keys.add(key);
    const view = viewMessage(message, 1, () => undefined);
    this.#calls.set(message.call, { key, to: message.to, text: view.text });
  }

  #inFlight(): MessageView[] {
    const copies = new Map<number, SimMessage[]>();
    for (const message of this.#sim.network.inFlight()) {
      const list = copies.get(message.id);
      if (list === undefined) copies.set(message.id, [message]);
      else list.push(message);
    }
    return [...copies.values()].map((list) => viewMessage(list[0] as SimMessage, list.length, (call) => this.#calls.get(call)?.key));
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

  /** Names what one `step` did, from the message that left the wire (if any) and the network's counters. */
  #whatHappened(before: readonly MessageView[], stats: SimNetworkStats, line: string): string {
    const after = new Map(this.#inFlight().map((m) => [m.id, m.copies]));
    const gone = before.find((m) => (after.get(m.id) ?? 0) < m.copies);
    const now = this.#sim.network.stats;
    if (gone !== undefined) {
      if (now.blocked > stats.blocked) return `blocked by a partition: ${gone.line}`;
      if (now.undeliverable > stats.undeliverable) return `lost (${gone.to} is down): ${gone.line}`;
      return `deliver ${gone.line}`;
    }
    // A timer: the sim's line is `<time> timer <node> <label>`.
    const text = line.slice(line.indexOf(' ') + 1);
    const timeout = /^timer (\S+) timeout of call (\d+)$/.exec(text);
    if (timeout !== null) {
      const call = this.#calls.get(Number(timeout[2]));
      return `timeout: ${timeout[1]} gives up waiting for ${call === undefined ? `call ${timeout[2]}` : `${call.to}'s reply to ${call.text}`}`;
    }
    const sleep = /^timer (\S+) sleep of (\S+)$/.exec(text);
    if (sleep !== null) return `${sleep[2]} wakes up (its retry backoff is over)`;
    return text;
  }

  #stamp(text: string): string {
    return `${formatVirtualTime(this.now).padStart(10)}  ${text}`;
  }

  #acceptorTable(): Table {
    const rows: string[][] = [];
    for (const a of this.acceptors()) {
      const status = `${a.up ? 'up' : 'down'}${a.membership === 'member' ? '' : `, ${a.membership}`}`;
      if (a.records.length === 0) rows.push([a.address, status, '', '', '', '']);
      a.records.forEach((r, i) => rows.push([i === 0 ? a.address : '', i === 0 ? status : '', displayName(r.key), r.promise, r.accepted, r.preview]));
    }
    return { header: ['acceptor', 'status', 'key', 'promise', 'accepted', 'value'], rows };
  }

  /** Lines under the table: garbage-collection fences, messages in flight, operations, violations. */
  #extraLines(): string[] {
    const lines: string[] = [];
    for (const a of this.acceptors()) {
      const ages = Object.entries(a.minimumAges).map(([id, age]) => `${displayName(id)} ≥ ${age}`);
      if (ages.length > 0 || a.tombstoneFloor !== 'ø') lines.push(`${a.address} requires ages ${ages.join(', ') || '-'}; absent keys act as promised ${a.tombstoneFloor}`);
    }
    const inFlight = this.#inFlight();
    lines.push(inFlight.length === 0 ? 'in flight: nothing' : `in flight (${inFlight.length}):`);
    for (const m of inFlight) lines.push(`  ${m.line}`);
    if (this.#operations.length > 0) lines.push('operations:');
    for (const op of this.#operations) lines.push(`  ${op.toString()}`);
    for (const v of this.violations()) lines.push(`VIOLATION ${v.kind}: ${v.message}`);
    return lines;
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

type SimNetworkStats = Simulation['network']['stats'];

function names(value: number | readonly string[], prefix: string, what: string): string[] {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 1 || value > 99) throw new InvalidArgumentError(`${what} must be a count from 1 to 99 or an array of names, got ${value}`);
    return Array.from({ length: value }, (_, i) => `${prefix}${i + 1}`);
  }
  if (!Array.isArray(value) || value.length === 0) throw new InvalidArgumentError(`${what} must be a count from 1 to 99 or a non-empty array of names`);
  for (const name of value) if (typeof name !== 'string' || name === '') throw new InvalidArgumentError(`${what}: every name must be a non-empty string`);
  return [...(value as readonly string[])];
}

function maxSteps(options: RunOptions): number {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('run options must be an object');
  return integerOption(options.maxSteps, 'maxSteps', 1, DEFAULT_MAX_STEPS);
}
