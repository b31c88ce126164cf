/**
 * The story of a teaching cluster: every event in order (an operation started, a message
 * delivered, dropped, lost or held back, a timeout, a wake-up, a fault), each with the lines that
 * explain it, and every message with what became of it. The explanations are data
 * (`Explanation`); the delivery diagrams are drawn from the messages' fates, not from what was sent.
 *
 * What explains an event: the rule the receiving acceptor applied (`explain-acceptor`, from the
 * acceptor's own report of the request) and the proposer's reactions (`explain-proposer`, from its
 * trace events), both collected while the event runs.
 */
import type { SimMessage } from '../sim/network.js';
import type { TraceEvent } from '../tracer.js';
import { displayName } from '../trace/text.js';
import { explainRequest } from './explain-acceptor.js';
import { type DiagramNoteSpec, type ExplanationLine, ProposerExplainer, type ReplyRole } from './explain-proposer.js';
import { type MessageView, viewMessage } from './messages.js';
import type { RequestObservation } from './observed-acceptor.js';
import { formatVirtualTime, stamp } from './state-view.js';

/**
 * What an event was: an operation `start`ed; a message `deliver`ed, `drop`ped by hand, `lost` by
 * the network, `blocked` by a partition or `undeliverable` (its receiver down); a message held back
 * (`delay`); a `timeout`; a proposer's `wake`-up after its backoff; a `fault` injected or repaired
 * (crash, restart, partition, heal); or another scheduled `action`.
 */
export type ExplanationKind = 'start' | 'deliver' | 'drop' | 'lost' | 'blocked' | 'undeliverable' | 'delay' | 'timeout' | 'wake' | 'fault' | 'action';

/** One event of a teaching cluster, with why it went as it did. */
export interface Explanation {
  /** Its position in the cluster's story, from 0 (`TeachingCluster.mark()` is the next one's). */
  readonly seq: number;
  /** Virtual time of the event, in microseconds. */
  readonly time: number;
  /** What it was. */
  readonly kind: ExplanationKind;
  /** True when a learner did it by hand (`deliver`, `drop`, `delay`, a fault), false when the cluster ran it. */
  readonly byHand: boolean;
  /** What happened: `deliver #4 p1 → a2 prepare(x, 1/p1)`. */
  readonly summary: string;
  /**
   * Why, one line per rule applied: `a2: accept 1/p1 refused: promised 1/p2 > 1/p1`, then the
   * proposer's reaction: `p1: a2 refused 1/p1 (it promised 1/p2): 2 of 3 refused (a1, a2), ...`.
   */
  readonly why: readonly string[];
  /** The message it is about, as it was sent (delivered, dropped, delayed, lost), if any. */
  readonly message: MessageView | undefined;
  /** The key it is about, if any: its message's, or the key an operation started on. */
  readonly key: string | undefined;
  /** The summary stamped with the time, then each line of `why`, indented. */
  toString(): string;
}

/** What became of one copy of a message. */
export type MessageFate = 'delivered' | 'dropped' | 'lost' | 'blocked' | 'undeliverable';

/** One message of the story: when it was sent, what became of it, and what its reply meant. */
export interface MessageRecord {
  /** The message as it was sent. */
  readonly view: MessageView;
  /** The event during which it was sent. */
  readonly sentAt: number;
  /** What became of each copy, and at which event. */
  readonly fates: ReadonlyArray<{ readonly seq: number; readonly fate: MessageFate }>;
  /** When it was held back, and until when (µs). */
  readonly delays: ReadonlyArray<{ readonly seq: number; readonly until: number }>;
  /** For a request delivered to an acceptor: it was the n-th request that acceptor processed (from 1). */
  readonly order: number | undefined;
  /** For a reply: part of the quorum that decided its round, counted, late, or a refusal. */
  readonly role: ReplyRole | undefined;
}

/** An event as the diagrams read it. */
export interface JournalEvent {
  readonly seq: number;
  readonly time: number;
  readonly kind: ExplanationKind;
  readonly summary: string;
  readonly message: MessageView | undefined;
  readonly key: string | undefined;
  /** The node it happened at or was started by, when it is not a message's. */
  readonly node: string | undefined;
  /** Notes its lines ask a diagram to draw (a quorum reached, a commit, a retry, ...). */
  readonly notes: readonly DiagramNoteSpec[];
  /** The messages sent while it ran, in order. */
  readonly sent: readonly number[];
}

interface Entry {
  readonly seq: number;
  time: number;
  kind: ExplanationKind;
  byHand: boolean;
  summary: string;
  message: MessageView | undefined;
  key: string | undefined;
  node: string | undefined;
  readonly lines: ExplanationLine[];
  /** Messages sent during the event, by id. */
  readonly sent: number[];
}

interface MutableRecord {
  readonly view: MessageView;
  readonly sentAt: number;
  readonly fates: Array<{ seq: number; fate: MessageFate }>;
  readonly delays: Array<{ seq: number; until: number }>;
  order: number | undefined;
  role: ReplyRole | undefined;
}

/**
 * The story of a cluster (see the module). The cluster opens an entry before each event
 * (`begin`), and reports what it sees while the event runs: messages sent (`sent`), trace events
 * (`trace`), acceptor requests (`observed`) and fates (`fate`, `delayed`).
 */
export class Journal {
  readonly #entries: Entry[] = [];
  readonly #messages = new Map<number, MutableRecord>();
  readonly #explainer = new ProposerExplainer();
  /** Requests each acceptor has processed so far. */
  readonly #processed = new Map<string, number>();
  /** Keys seen, to name the key in lines only when there are several. */
  readonly #keys = new Set<string>();
  readonly #keyOf: (call: number) => string | undefined;
  readonly #inFlight: () => ReadonlySet<number>;
  /** The call of each message, by id. */
  readonly #callOf = new Map<number, number>();
  /** When each call that timed out did, by call. */
  readonly #timedOut = new Map<number, number>();

  /**
   * @param keyOf the key of a call's request (a reply's body does not name it).
   * @param inFlight the ids of the messages on the wire now, to tell which the network lost.
   */
  constructor(keyOf: (call: number) => string | undefined, inFlight: () => ReadonlySet<number>) {
    this.#keyOf = keyOf;
    this.#inFlight = inFlight;
  }

  /** Events so far (`mark()`). */
  get length(): number {
    return this.#entries.length;
  }

  /** Starts the story's next event; what it was is filled in by `describe` once it is known. */
  begin(time: number, kind: ExplanationKind, summary: string, options: { byHand?: boolean; message?: MessageView | undefined; key?: string | undefined; node?: string | undefined } = {}): void {
    this.#close();
    const { byHand = false, message, key = message?.key, node } = options;
    if (key !== undefined) this.#keys.add(key);
    this.#entries.push({ seq: this.#entries.length, time, kind, byHand, summary, message, key, node, lines: [], sent: [] });
  }

  /** Fills in what the current event turned out to be. */
  describe(time: number, kind: ExplanationKind, summary: string, message?: MessageView): void {
    const entry = this.#current();
    entry.time = time;
    entry.kind = kind;
    entry.summary = summary;
    if (message !== undefined) {
      entry.message = message;
      entry.key ??= message.key;
    }
  }

  /** Sets the node the current event happened at (a timeout's or a wake-up's proposer). */
  at(node: string, key?: string): void {
    const entry = this.#current();
    entry.node = node;
    entry.key ??= key;
  }

  /** Forgets the current event if nothing happened in it (a step with nothing left to run). */
  abandonIfEmpty(): void {
    const entry = this.#entries.at(-1);
    if (entry !== undefined && entry.lines.length === 0 && entry.sent.length === 0 && entry.summary === '') this.#entries.pop();
  }

  /** Adds a line of explanation to the current event. */
  note(text: string): void {
    this.#current().lines.push({ text });
  }

  /** A message was sent (during the current event). */
  sent(message: SimMessage): void {
    if (message.copy > 0 || this.#messages.has(message.id)) return; // a replayed copy is the same message
    const entry = this.#current();
    const view = viewMessage(message, 1, this.#keyOf);
    if (view.key !== undefined) this.#keys.add(view.key);
    this.#messages.set(message.id, { view, sentAt: entry.seq, fates: [], delays: [], order: undefined, role: undefined });
    this.#callOf.set(message.id, message.call);
    entry.sent.push(message.id);
  }

  /** A proposer or operator trace event (during the current event). */
  trace(event: TraceEvent): void {
    if ('key' in event) this.#keys.add(event.key);
    const entry = this.#current();
    const { lines, marks } = this.#explainer.explain(event, this.#keys.size > 1, (acceptor) => this.#deliveredReplyFrom(entry, acceptor));
    for (const line of lines) this.#push(entry, line);
    for (const { message, role } of marks) {
      const record = this.#messages.get(message);
      // `quorum` is final: a reply that formed a quorum stays marked so.
      if (record !== undefined && record.role !== 'quorum') record.role = role;
    }
  }

  /** An acceptor handled a request (during the current event). */
  observed(observation: RequestObservation): void {
    this.note(explainRequest(observation, this.#keys.size > 1));
  }

  /** A copy of message `id` reached its fate (during the current event). */
  fate(id: number, fate: MessageFate): void {
    const record = this.#messages.get(id);
    if (record === undefined) return;
    const entry = this.#current();
    record.fates.push({ seq: entry.seq, fate });
    if (fate === 'delivered' && record.view.kind === 'request' && record.order === undefined) {
      const n = (this.#processed.get(record.view.to) ?? 0) + 1;
      this.#processed.set(record.view.to, n);
      record.order = n;
    }
  }

  /** Call `call` timed out (during the current event): a reply to it arriving later is ignored. */
  timedOut(call: number): void {
    this.#timedOut.set(call, this.#current().time);
  }

  /** Message `id` was held back until `until` (µs). */
  delayed(id: number, until: number): void {
    this.#messages.get(id)?.delays.push({ seq: this.#current().seq, until });
  }

  /** The events from `since` on, explained. */
  explanations(since = 0): Explanation[] {
    this.#close();
    return this.#entries.slice(since).map((entry) => this.#view(entry));
  }

  /** Every message sent so far, by id. */
  messages(): ReadonlyMap<number, MessageRecord> {
    this.#close();
    return this.#messages;
  }

  /** The events from `since` on, as the diagrams read them. */
  events(since = 0): JournalEvent[] {
    this.#close();
    return this.#entries.slice(since).map((e) => ({
      seq: e.seq,
      time: e.time,
      kind: e.kind,
      summary: e.summary,
      message: e.message,
      key: e.key,
      node: e.node,
      notes: e.lines.flatMap((l) => (l.note === undefined ? [] : [l.note])),
      sent: [...e.sent],
    }));
  }

  #current(): Entry {
    if (this.#entries.length === 0) this.begin(0, 'action', '');
    return this.#entries.at(-1) as Entry;
  }

  /** Settles the current event: what it sent that is neither on the wire nor accounted for was lost by the network. */
  #close(): void {
    const entry = this.#entries.at(-1);
    if (entry === undefined) return;
    const inFlight = this.#inFlight();
    for (const id of entry.sent) {
      const record = this.#messages.get(id) as MutableRecord;
      if (record.fates.length === 0 && !inFlight.has(id) && !record.fates.some((f) => f.fate === 'lost')) {
        record.fates.push({ seq: entry.seq, fate: 'lost' });
        entry.lines.push({ text: `the network loses #${id} ${record.view.from} → ${record.view.to} ${record.view.text}` });
      }
    }
  }

  /** The id of the reply from `acceptor` delivered in `entry`, if that is what `entry` is. */
  #deliveredReplyFrom(entry: Entry, acceptor: string): number | undefined {
    const m = entry.message;
    return entry.kind === 'deliver' && m !== undefined && m.kind === 'reply' && m.from === acceptor ? m.id : undefined;
  }

  #push(entry: Entry, line: ExplanationLine): void {
    const last = entry.lines.at(-1);
    const group = line.group;
    if (group !== undefined && last?.group?.id === group.id) {
      const names = [...last.group.names, ...group.names];
      entry.lines[entry.lines.length - 1] = { text: group.render(names), group: { ...group, names } };
      return;
    }
    entry.lines.push(group === undefined ? line : { text: group.render(group.names), group });
  }

  #view(entry: Entry): Explanation {
    const why = entry.lines.map((l) => l.text);
    const m = entry.message;
    if (entry.kind === 'deliver' && m !== undefined && m.kind === 'reply' && why.length === 0) {
      const timedOut = this.#timedOut.get(this.#callOf.get(m.id) ?? -1);
      why.push(
        m.to === 'operator'
          ? `operator: ${m.from} answered ${m.method}${m.key === undefined ? '' : ` on ${displayName(m.key)}`}`
          : timedOut !== undefined && timedOut <= entry.time
            ? `${m.to} ignores it: it stopped waiting for this reply when the call timed out, at ${formatVirtualTime(timedOut)}`
            : `${m.to} ignores it: it no longer waits for this reply (${m.to} crashed or restarted since it asked)`,
      );
    }
    const summary = entry.summary;
    const text = [stamp(entry.time, summary), ...why.map((line) => `${' '.repeat(12)}${line}`)].join('\n');
    return Object.freeze({ seq: entry.seq, time: entry.time, kind: entry.kind, byHand: entry.byHand, summary, why: Object.freeze(why), message: m, key: entry.key, toString: () => text });
  }
}
