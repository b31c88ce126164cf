/**
 * The sequence diagram of a trace, as data: participants (lifelines) and rows (arrows and notes),
 * built from the proposers' events alone. Acceptors need no events of their own: every reply event
 * (`promised`, `accepted`, the conflicts, the age rejections, `unreachable`) names the acceptor that
 * answered, so its arrow is drawn from that acceptor's lifeline back to the proposer's.
 *
 * The ASCII, Mermaid and SVG renderers all draw this model, so they show the same rows with the
 * same labels. Labels are plain text made safe by `./text.ts`; each renderer escapes them for its
 * own format.
 */
import { InvalidArgumentError } from '../errors.js';
import type { GarbageCollectStep, MembershipStep, TraceEvent } from '../tracer.js';
import type { TracePredicate } from './filter.js';
import type { RecordedEvent } from './recorder.js';
import { ageText, ballotText, displayName, errorText, escapeUnsafe, fastReadAgreement, previewState, truncate } from './text.js';

/** Options every diagram renderer takes. */
export interface DiagramOptions {
  /** Keeps only the events it returns true for, before anything is laid out. @default every event */
  readonly filter?: TracePredicate | undefined;
  /**
   * Lifelines to draw first, left to right, by proposer id or acceptor address (a name that is both
   * places both). The others follow, proposers then acceptors, each in order of first appearance.
   * @default []
   */
  readonly participants?: readonly string[] | undefined;
  /**
   * Length of a state preview, in characters (`previewState`).
   * @default 16
   */
  readonly stateChars?: number | undefined;
  /**
   * Draw the replies that arrived after their round was decided (marked `(late)`).
   * @default true
   */
  readonly lateReplies?: boolean | undefined;
  /**
   * Renders an event's time in the margin (ASCII and SVG).
   * @default String
   * @example { formatTime: (us) => `${(us / 1000).toFixed(3)} ms` } // a Simulation's clock
   */
  readonly formatTime?: ((time: number) => string) | undefined;
}

/**
 * What a lifeline stands for: a proposer, an acceptor, or the operator who runs garbage collection
 * and membership changes.
 */
export type ParticipantKind = 'proposer' | 'acceptor' | 'operator';

/** A lifeline of the diagram. */
export interface Participant {
  /** What it stands for. */
  readonly kind: ParticipantKind;
  /** The proposer id or acceptor address (`operator` for the operator lifeline). */
  readonly name: string;
  /** `name` as shown (see `displayName`). */
  readonly label: string;
}

/**
 * How an arrow is drawn: a `request` (prepare, accept), a positive `reply` (promised, accepted),
 * a `rejection` (a conflict or an age rejection) or `unreachable` (the call failed).
 */
export type ArrowStyle = 'request' | 'reply' | 'rejection' | 'unreachable';

/** What a note reports: the proposer's own steps, an outcome, or an operator step. */
export type NoteTone = 'info' | 'committed' | 'failed' | 'step';

/** A message: a request from a proposer to an acceptor, or a reply back. */
export interface DiagramArrow {
  /** Discriminant. */
  readonly kind: 'arrow';
  /** The recorded event's `seq`. */
  readonly seq: number;
  /** The recorded event's `time`. */
  readonly time: number;
  /** Index into `participants`. */
  readonly from: number;
  /** Index into `participants`. */
  readonly to: number;
  /**
   * What it carries, e.g. `prepare(k, 3/p1)` or `promised(2/p2, "v")` (plain text; renderers escape
   * it).
   */
  readonly label: string;
  /** How it is drawn. */
  readonly style: ArrowStyle;
  /** A reply that arrived after its round was decided: counted, but changed nothing. */
  readonly late: boolean;
}

/**
 * A note on one lifeline, or across all: a proposer's own step (a fast-forward, a retry), an
 * outcome, or an operator step.
 */
export interface DiagramNote {
  /** Discriminant. */
  readonly kind: 'note';
  /** The recorded event's `seq`. */
  readonly seq: number;
  /** The recorded event's `time`. */
  readonly time: number;
  /** Index into `participants`, or every lifeline. */
  readonly over: number | 'all';
  /** The note (plain text; renderers escape it). */
  readonly text: string;
  /** What it reports, for styling. */
  readonly tone: NoteTone;
}

/** One row of the diagram, top to bottom: an arrow or a note. */
export type DiagramRow = DiagramArrow | DiagramNote;

/**
 * A sequence diagram as data, built by `toDiagram`: what the ASCII, Mermaid and SVG renderers draw,
 * so all three show the same rows with the same labels.
 */
export interface Diagram {
  /** The lifelines, left to right. */
  readonly participants: readonly Participant[];
  /** The arrows and notes, in event order. */
  readonly rows: readonly DiagramRow[];
  /** The rows' times, rendered with `formatTime`, in row order. */
  readonly times: readonly string[];
}

const GC_STEPS: Record<GarbageCollectStep, string> = {
  'identity-read': 'a (full identity read)',
  'fast-forward': 'b (fast-forward proposers)',
  'reject-by-age': 'c (reject by age)',
  remove: 'd (remove if equal)',
};

const MEMBERSHIP_STEPS: Record<'grow' | 'shrink', Record<MembershipStep, string>> = {
  grow: {
    'add-accepter': '1 (add accepter)',
    'identity-pass': '2 (identity pass)',
    'add-preparer': '3 (add preparer)',
    'remove-preparer': 'remove preparer',
    'remove-accepter': 'remove accepter',
    undo: 'undo',
  },
  shrink: {
    'remove-accepter': '1 (remove accepter)',
    'identity-pass': '2 (identity pass)',
    'remove-preparer': '3 (remove preparer)',
    'add-preparer': 'add preparer',
    'add-accepter': 'add accepter',
    undo: 'undo',
  },
};

/** Builds the diagram of `events` (filtered by `options.filter` first). */
export function toDiagram(events: readonly RecordedEvent[], options: DiagramOptions = {}): Diagram {
  if (!Array.isArray(events)) throw new InvalidArgumentError('events must be an array of recorded events');
  const { filter, lateReplies = true, formatTime = String } = options;
  const stateChars = options.stateChars ?? 16;
  if (!Number.isSafeInteger(stateChars) || stateChars < 2) throw new InvalidArgumentError(`stateChars must be an integer >= 2, got ${String(stateChars)}`);
  if (filter !== undefined && typeof filter !== 'function') throw new InvalidArgumentError('filter must be a function');
  if (typeof formatTime !== 'function') throw new InvalidArgumentError('formatTime must be a function');

  let kept = filter === undefined ? events : events.filter(filter);
  if (!lateReplies) kept = kept.filter(({ event }) => !('late' in event && event.late));

  // Keys show on replies only when the diagram mixes keys: with one key they would be noise.
  const keys = new Set<string>();
  for (const { event } of kept) if ('key' in event) keys.add(event.key);
  const state = (s: Parameters<typeof previewState>[0]) => previewState(s, stateChars);
  const ctx: LabelContext = { multiKey: keys.size > 1, state };

  const participants = orderParticipants(kept, options.participants ?? []);
  const index = new Map(participants.map((p, i) => [`${p.kind}:${p.name}`, i]));
  const at = (kind: ParticipantKind, name: string): number => index.get(`${kind}:${name}`) as number;

  const rows: DiagramRow[] = [];
  for (const { seq, time, event } of kept) {
    const base = { seq, time };
    const row = rowOf(event, ctx);
    if (row.kind === 'note') {
      const over = row.over === undefined ? 'all' : at('proposer', row.over);
      rows.push({ kind: 'note', ...base, over, text: row.text, tone: row.tone });
    } else {
      const proposer = at('proposer', row.proposer);
      const acceptor = at('acceptor', row.acceptor);
      const [from, to] = row.direction === 'out' ? [proposer, acceptor] : [acceptor, proposer];
      rows.push({ kind: 'arrow', ...base, from, to, label: row.label, style: row.style, late: row.late });
    }
  }
  return { participants, rows, times: rows.map((r) => escapeTime(formatTime(r.time))) };
}

/** A time label is shown as is, minus anything that could break a line, cut at 32 characters. */
function escapeTime(text: unknown): string {
  return truncate(escapeUnsafe(typeof text === 'string' ? text : String(text)), 32);
}

/** Participants in display order: the requested ones first, then proposers, then acceptors. */
function orderParticipants(events: readonly RecordedEvent[], requested: readonly string[]): Participant[] {
  const proposers: string[] = [];
  const acceptors: string[] = [];
  const seenP = new Set<string>();
  const seenA = new Set<string>();
  let operator = false;
  for (const { event } of events) {
    if ('proposer' in event && !seenP.has(event.proposer)) {
      seenP.add(event.proposer);
      proposers.push(event.proposer);
    }
    if ('acceptor' in event && !seenA.has(event.acceptor)) {
      seenA.add(event.acceptor);
      acceptors.push(event.acceptor);
    }
    if (event.type === 'gc-step' || event.type === 'membership-step') operator = true;
  }
  const make = (kind: ParticipantKind, name: string): Participant => ({ kind, name, label: displayName(name) });
  const out: Participant[] = [];
  const placed = new Set<string>();
  const place = (kind: ParticipantKind, name: string): void => {
    const id = `${kind}:${name}`;
    if (placed.has(id)) return;
    placed.add(id);
    out.push(make(kind, name));
  };
  for (const name of requested) {
    if (typeof name !== 'string') throw new InvalidArgumentError('participants must be strings');
    if (seenP.has(name)) place('proposer', name);
    if (seenA.has(name)) place('acceptor', name);
  }
  for (const name of proposers) place('proposer', name);
  for (const name of acceptors) place('acceptor', name);
  // Operator steps span every lifeline; with none to span (only the steps were traced), they get one.
  if (operator && out.length === 0) out.push(make('operator', 'operator'));
  return out;
}

interface LabelContext {
  readonly multiKey: boolean;
  readonly state: (s: Uint8Array | null) => string;
}

type RowSpec =
  | { kind: 'note'; over: string | undefined; text: string; tone: NoteTone }
  | {
      kind: 'arrow';
      proposer: string;
      acceptor: string;
      direction: 'out' | 'back';
      label: string;
      style: ArrowStyle;
      late: boolean;
    };

/** The row of one event: its arrow or note and their text. */
function rowOf(event: TraceEvent, ctx: LabelContext): RowSpec {
  const key = 'key' in event ? displayName(event.key) : '';
  // Requests always name their key; replies only when several keys share the diagram.
  const replyKey = ctx.multiKey ? `${key}, ` : '';
  const out = (e: { proposer: string; acceptor: string }, label: string): RowSpec => ({
    kind: 'arrow',
    proposer: e.proposer,
    acceptor: e.acceptor,
    direction: 'out',
    label,
    style: 'request',
    late: false,
  });
  const back = (e: { proposer: string; acceptor: string; late: boolean }, label: string, style: ArrowStyle): RowSpec => ({
    kind: 'arrow',
    proposer: e.proposer,
    acceptor: e.acceptor,
    direction: 'back',
    label: e.late ? `${label} (late)` : label,
    style,
    late: e.late,
  });
  const note = (over: string | undefined, text: string, tone: NoteTone = 'info'): RowSpec => ({ kind: 'note', over, text, tone });

  switch (event.type) {
    case 'prepare-sent':
      return out(event, `prepare(${key}, ${ballotText(event.ballot)}${event.age.counter > 0 ? `, age ${event.age.counter}` : ''})`);
    case 'accept-sent':
      return out(event, `accept(${key}, ${ballotText(event.ballot)}, ${ctx.state(event.state)}${event.age.counter > 0 ? `, age ${event.age.counter}` : ''})`);
    case 'promised':
      return back(event, `promised(${replyKey}${ballotText(event.accepted)}, ${ctx.state(event.state)})`, 'reply');
    case 'accepted':
      return back(event, ctx.multiKey ? `accepted(${key})` : 'accepted', 'reply');
    case 'prepare-conflict':
    case 'accept-conflict':
      return back(event, `conflict(${replyKey}${event.kind} ${ballotText(event.conflict)})`, 'rejection');
    case 'prepare-age-rejected':
    case 'accept-age-rejected':
      return back(event, `age-rejected(${replyKey}needs ${ageText(event.required)})`, 'rejection');
    case 'prepare-unreachable':
    case 'accept-unreachable':
      return back(event, `unreachable(${replyKey}${errorText(event.error, 40)})`, 'unreachable');
    case 'skip-prepare':
      return note(event.proposer, `skip prepare: ${key} under ${ballotText(event.ballot)} (promised with the last accept)`);
    case 'fast-forwarded':
      return note(event.proposer, `fast-forward ${key}: counter ${event.from} → ${event.to}`);
    case 'recovery':
      return note(event.proposer, `recovery ${key} at ${ballotText(event.ballot)}: ${event.decision}`);
    case 'retry':
      return note(event.proposer, `retry ${key}: attempt ${event.attempt} lost, next in ${formatDelay(event.delayMs)}`);
    case 'fast-read':
      return event.outcome === 'hit'
        ? note(event.proposer, `read ${key} at once: ${fastReadAgreement(event.from, event.accepted)}, chosen`, 'committed')
        : note(event.proposer, `read ${key}: full round (${event.reason ?? 'fallback'})`);
    case 'committed':
      return note(event.proposer, `committed ${key} = ${ctx.state(event.state)} at ${ballotText(event.ballot)}`, 'committed');
    case 'failed':
      return note(event.proposer, `failed ${key} at ${ballotText(event.ballot)}: ${errorText(event.error)}`, 'failed');
    case 'gc-step': {
      const failure = event.error === undefined ? '' : `: ${errorText(event.error)}`;
      const ballot = event.ballot === undefined ? '' : ` at ${ballotText(event.ballot)}`;
      return note(undefined, `gc ${key}: step ${GC_STEPS[event.step] ?? displayName(String(event.step))} ${event.outcome}${ballot}${failure}`, 'step');
    }
    case 'membership-step': {
      const failure = event.error === undefined ? '' : `: ${errorText(event.error)}`;
      const label = MEMBERSHIP_STEPS[event.operation]?.[event.step] ?? displayName(String(event.step));
      return note(undefined, `${event.operation} ${displayName(event.target)}: step ${label} ${event.outcome}${failure}`, 'step');
    }
    default:
      return unknownRow(event);
  }
}

/** A future event type this version does not know: shown as a note rather than dropped. */
function unknownRow(event: never): RowSpec {
  const e = event as { type?: unknown; proposer?: unknown };
  const over = typeof e.proposer === 'string' ? e.proposer : undefined;
  return { kind: 'note', over, text: `event ${displayName(String(e.type))}`, tone: 'info' };
}

/** A retry delay for a note: two decimals are plenty (the jitter makes the rest noise). */
function formatDelay(ms: number): string {
  return `${Number(ms.toFixed(2))} ms`;
}
