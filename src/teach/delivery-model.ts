/**
 * The delivery diagram of a teaching cluster, as data: one row per event of its story, top to
 * bottom, and each message drawn from the row where it was sent to the row where it arrived (or
 * was dropped, lost, blocked), so that a message still on the wire, held back or lost never looks
 * delivered. Replies are marked by what they did: formed a quorum, counted, came late, refused.
 * Requests carry the order in which their acceptor processed them. The SVG, ASCII and Mermaid
 * renderers (`delivery-svg`, `delivery-ascii`, `delivery-mermaid`) all draw this model.
 */
import type { Participant } from '../trace/diagram.js';
import { displayName } from '../trace/text.js';
import type { DiagramNoteSpec, NoteTone, ReplyRole } from './explain-proposer.js';
import type { JournalEvent, MessageFate, MessageRecord } from './journal.js';
import type { MessageView } from './messages.js';

/** How a message is drawn: a request, a positive reply, a rejection (conflict, age, error), a watch event. */
export type MessageStyle = 'request' | 'reply' | 'rejection' | 'event';

/** What every drawn message has: which, between whom, from which row, what it said, how it looks. */
export interface MessageArrow {
  /** The message id. */
  readonly id: number;
  /** Index into `participants`: the sender. */
  readonly from: number;
  /** Index into `participants`: the receiver. */
  readonly to: number;
  /** The row it was sent on; `undefined` when that row is not drawn (sent before `since`). */
  readonly sentRow: number | undefined;
  /** `#4 p1 → a2 prepare(x, 1/p1)`: what the message was. */
  readonly label: string;
  /** How it is drawn. */
  readonly style: MessageStyle;
  /** It was held back on its way (`delay`). */
  readonly delayed: boolean;
}

/** A message that reached its fate on this row. */
export interface ArrivalRow extends MessageArrow {
  /** Discriminant. */
  readonly kind: 'arrival';
  /** The event of the story this row belongs to. */
  readonly seq: number;
  /** What became of it on this row: `delivered` ends in an arrowhead, anything else in a cross. */
  readonly fate: MessageFate;
  /** A request delivered to an acceptor: the n-th it processed (from 1). */
  readonly order: number | undefined;
  /** A reply: it formed the quorum, was counted, came late, or refused. */
  readonly role: ReplyRole | undefined;
}

/** An event that is not a message's arrival, or what a proposer concluded from one. */
export interface NoteRow {
  /** Discriminant. */
  readonly kind: 'note';
  /** The event of the story this row belongs to. */
  readonly seq: number;
  /** Index into `participants`, or every lifeline. */
  readonly over: number | 'all';
  /** The note. */
  readonly text: string;
  /** How it looks: an operation started, a fault, a timeout, a delay, or the tones of `NoteTone`. */
  readonly tone: NoteTone | 'start' | 'fault' | 'timeout' | 'delay';
}

/** One row of the diagram. */
export type DeliveryRow = ArrivalRow | NoteRow;

/** A message still on the wire at the end: drawn from its sending row towards its receiver, not arriving. */
export interface InFlightArrow extends MessageArrow {
  /** When it is due, as the rows show times. */
  readonly due: string;
}

/** The diagram as data. */
export interface DeliveryModel {
  /** The lifelines, left to right. */
  readonly participants: readonly Participant[];
  /** The rows, top to bottom. */
  readonly rows: readonly DeliveryRow[];
  /** Each row's time, as text. */
  readonly times: readonly string[];
  /** For each row, the ids of the messages sent while its event ran (on its first row only). */
  readonly sends: ReadonlyArray<readonly number[]>;
  /** Messages still on the wire, in id order. */
  readonly inFlight: readonly InFlightArrow[];
}

/** What `buildDeliveryModel` draws from. */
export interface DeliverySource {
  /** The events, in order (already cut to `since`). */
  readonly events: readonly JournalEvent[];
  /** Every message sent, by id. */
  readonly messages: ReadonlyMap<number, MessageRecord>;
  /** The messages on the wire now, with their arrival times. */
  readonly inFlight: readonly MessageView[];
  /** Proposers, then acceptors, in the cluster's order. */
  readonly nodes: ReadonlyArray<{ readonly name: string; readonly kind: 'proposer' | 'acceptor' }>;
  /** Times as text (virtual ms). */
  readonly formatTime: (us: number) => string;
  /** Only events and messages about this key (events about no key stay). */
  readonly key?: string | undefined;
}

/** Builds the model (see the module). */
export function buildDeliveryModel(source: DeliverySource): DeliveryModel {
  const { messages, formatTime, key } = source;
  const about = (k: string | undefined): boolean => key === undefined || k === undefined || k === key;
  const events = source.events.filter((e) => about(e.key) && (e.message === undefined || about(e.message.key)));

  const usesOperator = events.some((e) => e.message?.from === 'operator' || e.message?.to === 'operator' || e.notes.some((n) => n.over === undefined) || e.node === 'operator');
  const participants: Participant[] = [];
  for (const n of source.nodes.filter((n) => n.kind === 'proposer')) participants.push({ kind: 'proposer', name: n.name, label: displayName(n.name) });
  if (usesOperator) participants.push({ kind: 'operator', name: 'operator', label: 'operator' });
  for (const n of source.nodes.filter((n) => n.kind === 'acceptor')) participants.push({ kind: 'acceptor', name: n.name, label: displayName(n.name) });
  const index = new Map(participants.map((p, i) => [p.name, i]));
  const at = (name: string | undefined): number | 'all' => (name === undefined ? 'all' : (index.get(name) ?? 'all'));

  const rows: DeliveryRow[] = [];
  const times: string[] = [];
  const sends: number[][] = [];
  /** The first row of each event, by seq. */
  const firstRow = new Map<number, number>();
  const push = (row: DeliveryRow, time: number, sent: readonly number[] = []): void => {
    if (!firstRow.has(row.seq)) firstRow.set(row.seq, rows.length);
    rows.push(row);
    times.push(formatTime(time));
    sends.push(sent.filter((id) => about(messages.get(id)?.view.key)));
  };
  const arrival = (seq: number, record: MessageRecord, fate: MessageFate): ArrivalRow | undefined => {
    const { view } = record;
    const from = index.get(view.from);
    const to = index.get(view.to);
    if (from === undefined || to === undefined) return undefined;
    return {
      kind: 'arrival',
      seq,
      id: view.id,
      from,
      to,
      sentRow: firstRow.get(record.sentAt),
      label: `${view.line}${record.role === 'late' ? ' (late)' : ''}`,
      style: styleOf(view),
      fate,
      order: fate === 'delivered' ? record.order : undefined,
      role: record.role,
      delayed: record.delays.some((d) => d.seq <= seq),
    };
  };

  for (const event of events) {
    const own = event.message === undefined ? undefined : messages.get(event.message.id);
    const ownFate = own?.fates.find((f) => f.seq === event.seq);
    let first: DeliveryRow | undefined;
    if (own !== undefined && ownFate !== undefined && event.kind !== 'delay') first = arrival(event.seq, own, ownFate.fate);
    first ??= {
      kind: 'note',
      seq: event.seq,
      over: event.kind === 'delay' && own !== undefined ? at(own.view.from) : at(event.node),
      text: event.summary,
      tone: noteTone(event),
    };
    push(first, event.time, event.sent);
    // Other fates decided during this event: copies, and what the network lost as it was sent.
    for (const id of event.sent) {
      const record = messages.get(id);
      if (record === undefined || !about(record.view.key)) continue;
      for (const f of record.fates) {
        if (f.seq !== event.seq) continue;
        const row = arrival(event.seq, record, f.fate);
        if (row !== undefined) push(row, event.time);
      }
    }
    for (const note of event.notes) push(noteRow(event.seq, note, at), event.time);
  }

  const inFlight: InFlightArrow[] = [];
  for (const view of source.inFlight) {
    const record = messages.get(view.id);
    const from = index.get(view.from);
    const to = index.get(view.to);
    if (record === undefined || from === undefined || to === undefined || !about(view.key)) continue;
    inFlight.push({
      id: view.id,
      from,
      to,
      sentRow: firstRow.get(record.sentAt),
      label: view.line,
      style: styleOf(view),
      due: view.arrival === undefined ? '?' : formatTime(view.arrival),
      delayed: record.delays.length > 0,
    });
  }
  return { participants, rows, times, sends, inFlight };
}

function noteRow(seq: number, note: DiagramNoteSpec, at: (name: string | undefined) => number | 'all'): NoteRow {
  return { kind: 'note', seq, over: at(note.over), text: note.text, tone: note.tone };
}

function noteTone(event: JournalEvent): NoteRow['tone'] {
  switch (event.kind) {
    case 'start':
      return 'start';
    case 'fault':
      return 'fault';
    case 'timeout':
      return 'timeout';
    case 'delay':
      return 'delay';
    default:
      return 'info';
  }
}

function styleOf(view: MessageView): MessageStyle {
  if (view.kind === 'event') return 'event';
  if (view.kind === 'request') return 'request';
  return /^(conflict|age-rejected|error|not-equal)\(/.test(view.text) ? 'rejection' : 'reply';
}
