/**
 * A teaching cluster's state as a learner reads it: the acceptor table, then garbage-collection
 * fences, the messages in flight, the operations and any monitor violation; as aligned text
 * (`state()`, the REPL) or as a Jupyter MIME bundle (HTML, Markdown, SVG, text).
 *
 * Pure module: no I/O, safe in browsers and notebooks.
 */
import type { MonitorViolation } from '../sim/monitor.js';
import { escapeXml } from '../trace/svg.js';
import { displayName } from '../trace/text.js';
import type { AcceptorView } from './acceptor-view.js';
import { type MimeBundle, type Table, codeBlock, svgImage, tableHtml, tableMarkdown, tableText } from './display.js';
import type { MessageView } from './messages.js';
import type { OperationHandle } from './operation-handle.js';
import type { SequenceDiagram } from './sequence-diagram.js';

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
 * Jupyter's MIME bundle: the diagram (SVG) above the acceptor table, messages in flight and
 * operations; `plain` is the text fallback.
 */
export function stateBundle(snapshot: ClusterSnapshot, diagram: SequenceDiagram, plain: string): MimeBundle {
  const table = acceptorTable(snapshot.acceptors);
  const extra = stateLines(snapshot);
  const heading = `time ${formatVirtualTime(snapshot.now)}, seed ${snapshot.seed}`;
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
  return { 'text/html': html, 'text/markdown': markdown, 'image/svg+xml': diagram.svg, 'text/plain': plain };
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

/** Lines under the table: garbage-collection fences, messages in flight, operations, violations. */
function stateLines(snapshot: ClusterSnapshot): string[] {
  const lines: string[] = [];
  for (const a of snapshot.acceptors) {
    const ages = Object.entries(a.minimumAges).map(([id, age]) => `${displayName(id)} ≥ ${age}`);
    if (ages.length > 0 || a.tombstoneFloor !== 'ø') lines.push(`${a.address} requires ages ${ages.join(', ') || '-'}; absent keys act as promised ${a.tombstoneFloor}`);
  }
  const { inFlight, operations } = snapshot;
  lines.push(inFlight.length === 0 ? 'in flight: nothing' : `in flight (${inFlight.length}):`);
  for (const m of inFlight) lines.push(`  ${m.line}`);
  if (operations.length > 0) lines.push('operations:');
  for (const op of operations) lines.push(`  ${op.toString()}`);
  for (const v of snapshot.violations) lines.push(`VIOLATION ${v.kind}: ${v.message}`);
  return lines;
}
