/**
 * A teaching cluster's state as a learner reads it: the acceptor table, what the records add up to
 * (which values are chosen, which held by a minority only), garbage-collection fences, the messages
 * in flight with when each is due, what happens next, the operations and any monitor violation; as
 * aligned text (`state()`, the REPL) or as a Jupyter MIME bundle (HTML, Markdown, text).
 */
import type { MonitorViolation } from '../sim/monitor.js';
import { escapeXml } from '../trace/svg.js';
import { displayName } from '../trace/text.js';
import type { AcceptorView } from './acceptor-view.js';
import { type Displayable, JUPYTER_DISPLAY, type MimeBundle, NODE_INSPECT, type Table, codeBlock, svgImage, tableHtml, tableMarkdown, tableText } from './display.js';
import type { MessageView } from './messages.js';
import type { OperationHandle } from './operation-handle.js';
import type { AcceptedValueView } from './values-view.js';

/** What a diagram offers a state bundle: its SVG, its Mermaid text, whether it has rows. */
export interface BundleDiagram {
  readonly length: number;
  readonly svg: string;
  readonly mermaid: string;
}

/** What happens next, as the state shows it. */
export interface NextEvent {
  /** When it is due (µs). */
  readonly time: number;
  /** What it will do. */
  readonly text: string;
}

/** What the state views show, taken from the cluster at one moment. */
export interface ClusterSnapshot {
  /** Virtual time, in microseconds. */
  readonly now: number;
  /** The cluster's seed. */
  readonly seed: number;
  /** `TeachingCluster.acceptors()`. */
  readonly acceptors: readonly AcceptorView[];
  /** The messages in flight, in id order. */
  readonly inFlight: readonly MessageView[];
  /** Every operation started, oldest first. */
  readonly operations: readonly OperationHandle[];
  /** What the acceptor monitor found (nothing, unless the code is broken). */
  readonly violations: readonly MonitorViolation[];
  /** Every value accepted somewhere, with who holds it and whether it is chosen. */
  readonly values: readonly AcceptedValueView[];
  /** The next event, if anything is left to happen. */
  readonly next: NextEvent | undefined;
}

/** The fields of a `ClusterState`: its snapshot (declared with the class below). */
export interface ClusterState extends ClusterSnapshot {}

/**
 * A teaching cluster's state at one moment (`TeachingCluster.state()`): aligned text in a terminal
 * (`String(state)`, `console.log`), tables in a notebook. Its fields (those of `ClusterSnapshot`)
 * are the data behind both.
 */
export class ClusterState implements Displayable {
  #text: string | undefined;

  constructor(snapshot: ClusterSnapshot) {
    Object.assign(this, snapshot);
  }

  /** The state as aligned text, ending in a newline. */
  get text(): string {
    this.#text ??= stateText(this);
    return this.#text;
  }

  /** `text`. */
  toString(): string {
    return this.text;
  }

  /** `console.log` and the REPL show `text`, without its trailing newline. */
  [NODE_INSPECT](): string {
    return this.text.trimEnd();
  }

  /** Jupyter: the tables as HTML and Markdown, `text` as plain text. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return stateBundle(this, undefined, this.text);
  }
}

/** A time on the virtual clock (microseconds) as `12.345 ms`. */
export function formatVirtualTime(us: number): string {
  return `${(us / 1000).toFixed(3)} ms`;
}

/** A line of narration stamped with the virtual time: `  12.345 ms  deliver #4 p1 → a2 ...`. */
export function stamp(us: number, text: string): string {
  return `${formatVirtualTime(us).padStart(10)}  ${text}`;
}

/** The time, the acceptor table, then the lines under it (`stateLines`), as aligned text. */
export function stateText(snapshot: ClusterSnapshot): string {
  const sections = [`time ${formatVirtualTime(snapshot.now)}`, tableText(acceptorTable(snapshot.acceptors)), ...stateLines(snapshot)];
  return `${sections.join('\n')}\n`;
}

/**
 * Jupyter's MIME bundle: the diagram (SVG, when given and not empty) above the acceptor table, the
 * values, messages in flight, what happens next and the operations; `plain` is the text fallback.
 */
export function stateBundle(snapshot: ClusterSnapshot, diagram: BundleDiagram | undefined, plain: string): MimeBundle {
  const table = acceptorTable(snapshot.acceptors);
  const extra = stateLines(snapshot);
  const heading = `time ${formatVirtualTime(snapshot.now)}, seed ${snapshot.seed}`;
  const drawn = diagram !== undefined && diagram.length > 0 ? diagram : undefined;
  const html = [
    '<div>',
    `<p>${heading}</p>`,
    drawn === undefined ? '' : svgImage(drawn.svg, 'delivery diagram'),
    tableHtml(table),
    extra.length > 0 ? `<pre>${escapeXml(extra.join('\n'))}</pre>` : '',
    '</div>',
  ].join('');
  const markdown = [heading, drawn === undefined ? '' : codeBlock(drawn.mermaid, 'mermaid'), tableMarkdown(table), extra.length > 0 ? codeBlock(extra.join('\n')) : '']
    .filter((part) => part !== '')
    .join('\n\n');
  return { 'text/html': html, 'text/markdown': markdown, ...(drawn === undefined ? {} : { 'image/svg+xml': drawn.svg }), 'text/plain': plain };
}

/** One row per record (an acceptor without records gets one empty row). */
function acceptorTable(acceptors: readonly AcceptorView[]): Table {
  const rows: string[][] = [];
  for (const a of acceptors) {
    const status = `${a.up ? 'up' : 'down'}${a.membership === 'member' ? '' : `, ${a.membership}`}`;
    if (a.records.length === 0) rows.push([a.address, status, '', '', '', '']);
    a.records.forEach((r, i) => rows.push([i === 0 ? a.address : '', i === 0 ? status : '', displayName(r.key), r.promise, r.accepted, r.preview]));
  }
  return { header: ['acceptor', 'status', 'key', 'promise', 'accepted', 'value'], rows };
}

/**
 * Lines under the table: the values (chosen or not), garbage-collection fences, messages in flight
 * (each with when it is due), the next event, operations, violations.
 */
function stateLines(snapshot: ClusterSnapshot): string[] {
  const lines: string[] = [];
  if (snapshot.values.length > 0) lines.push('values:');
  for (const v of snapshot.values) lines.push(`  ${v.toString()}`);
  for (const a of snapshot.acceptors) {
    const ages = Object.entries(a.minimumAges).map(([id, age]) => `${displayName(id)} ≥ ${age}`);
    if (ages.length > 0 || a.tombstoneFloor !== 'ø') lines.push(`${a.address} requires ages ${ages.join(', ') || '-'}; absent keys act as promised ${a.tombstoneFloor}`);
  }
  const { inFlight, operations } = snapshot;
  lines.push(inFlight.length === 0 ? 'in flight: nothing' : `in flight (${inFlight.length}):`);
  for (const m of inFlight) lines.push(`  ${m.line}${m.arrival === undefined ? '' : `  due ${formatVirtualTime(m.arrival)}`}`);
  if (snapshot.next !== undefined) lines.push(`next: ${formatVirtualTime(snapshot.next.time)} ${snapshot.next.text}`);
  if (operations.length > 0) lines.push('operations:');
  for (const op of operations) lines.push(`  ${op.toString()}`);
  for (const v of snapshot.violations) lines.push(`VIOLATION ${v.kind}: ${v.message}`);
  return lines;
}
