/**
 * The delivery diagram as a standalone SVG document: lifelines on the left, each message a slanted
 * arrow from the row where it was sent to the row where it arrived, and on the right of every row
 * what it was. Self-contained (no scripts, no external fonts or styles), every text escaped,
 * deterministic (same model, same bytes).
 *
 * Marks: an arrowhead where a message was delivered, a cross half way where it was dropped or lost,
 * an open circle where a message still in flight is now; a thick stroke and a green band for the
 * replies that formed a quorum, a faded one for late replies, red for refusals, a dashed one for a
 * message held back; a numbered disc where an acceptor processed a request (its n-th). A legend
 * explains the marks and the notation (`ø`, `∅`, `3/p1`).
 *
 * Rows have a fixed height and the lifelines a fixed spacing: a long run grows downwards and is
 * scrolled, never scaled down to illegibility.
 *
 * The SVG is built as text, without a DOM, so it renders the same in Node, a browser and a notebook.
 */
import { textWidth } from '../trace/layout.js';
import { escapeXml } from '../trace/svg.js';
import { ordinal } from './delivery-ascii.js';
import type { ArrivalRow, DeliveryModel, MessageStyle, NoteRow } from './delivery-model.js';

/** Options of `deliverySvg`. */
export interface DeliverySvgOptions {
  /** The image's title (its `<title>`). @default 'CASPaxos deliveries' */
  readonly title?: string | undefined;
  /** Draw the legend under the diagram. @default true */
  readonly legend?: boolean | undefined;
  /**
   * Spread the lifelines so the image is at least this wide (pixels), up to a comfortable spacing:
   * a diagram fills a wide box instead of hugging its left edge.
   * @default 0
   */
  readonly minWidth?: number | undefined;
}

const FONT = 12;
const CHAR = 7.2;
const ROW = 22;
const MARGIN = 10;
const HEADER = 28;
const MIN_SPACING = 64;
const MAX_SPACING = 150;

const COLOR: Record<MessageStyle, string> = { request: '#1f4e79', reply: '#2e7d32', rejection: '#c62828', event: '#6a1b9a' };
const NOTE_COLOR: Record<NoteRow['tone'], string> = {
  start: '#1f4e79',
  quorum: '#2e7d32',
  committed: '#1b5e20',
  failed: '#c62828',
  retry: '#b26a00',
  step: '#3949ab',
  fault: '#8e24aa',
  timeout: '#616161',
  delay: '#b26a00',
  info: '#424242',
};

const LEGEND: ReadonlyArray<{ sample: 'request' | 'reply' | 'quorum' | 'late' | 'refused' | 'lost' | 'flight' | 'order' | 'text'; text: string }> = [
  { sample: 'request', text: 'request, from the row it was sent on to the row it arrived on' },
  { sample: 'reply', text: 'reply' },
  { sample: 'quorum', text: 'reply that formed a quorum (green band)' },
  { sample: 'late', text: 'late reply: its round was already decided' },
  { sample: 'refused', text: 'refusal (conflict, age)' },
  { sample: 'lost', text: 'dropped or lost on the way' },
  { sample: 'flight', text: 'still in flight (dashed: held back)' },
  { sample: 'order', text: 'the n-th request this acceptor processed' },
  { sample: 'text', text: 'ø no ballot · ∅ empty value · 3/p1 ballot: counter 3 of proposer p1' },
];

/** Renders `model` (see the module). */
export function deliverySvg(model: DeliveryModel, options: DeliverySvgOptions = {}): string {
  const { participants, rows, times, sends, inFlight } = model;
  const title = options.title ?? 'CASPaxos deliveries';
  const withLegend = options.legend !== false;
  const timeChars = Math.max(4, ...times.map(textWidth), ...inFlight.map((m) => textWidth(m.due)));
  const gutter = MARGIN + timeChars * CHAR + 14;
  const widest = Math.max(2, ...participants.map((p) => textWidth(p.label)));
  let spacing = Math.max(MIN_SPACING, (widest + 2) * CHAR + 12);
  const labels = rows.map((row, r) => rowText(row, participants.map((p) => p.label), sends[r] ?? []));
  const flightLabels = inFlight.map((m) => `${m.label}  [in flight${m.delayed ? ', held back' : ''}, due ${m.due}]`);
  const legendChars = withLegend ? Math.max(...LEGEND.map((l) => textWidth(l.text))) + 6 : 0;
  const textChars = Math.max(0, ...labels.map(textWidth), ...flightLabels.map(textWidth));
  const natural = (s: number): number => gutter + 16 + Math.max(0, participants.length - 1) * s + 28 + Math.max(textChars, legendChars) * CHAR + MARGIN;
  const minWidth = options.minWidth ?? 0;
  if (participants.length > 1 && natural(spacing) < minWidth) spacing = Math.min(MAX_SPACING, spacing + (minWidth - natural(spacing)) / (participants.length - 1));
  const x = participants.map((_, i) => gutter + 16 + i * spacing);
  const labelsX = (x.at(-1) ?? gutter) + 28;
  const top = MARGIN + HEADER + 8;
  const y = (r: number): number => top + r * ROW + ROW / 2;
  const total = rows.length + inFlight.length;
  const bottom = top + total * ROW + 4;
  const legendTop = bottom + 14;
  const height = Math.ceil(withLegend ? legendTop + LEGEND.length * 18 + MARGIN : bottom + MARGIN);
  const width = Math.ceil(Math.max(natural(spacing), minWidth));

  const back: string[] = [];
  const body: string[] = [];
  participants.forEach((p, i) => {
    const cx = x[i] as number;
    const w = (textWidth(p.label) + 2) * CHAR;
    back.push(`<line x1="${n(cx)}" y1="${n(top - 6)}" x2="${n(cx)}" y2="${n(bottom)}" stroke="#bdbdbd" stroke-dasharray="4 3"/>`);
    body.push(
      `<rect x="${n(cx - w / 2)}" y="${MARGIN}" width="${n(w)}" height="${HEADER - 4}" rx="3" fill="#f5f5f5" stroke="#424242"/>`,
      `<text x="${n(cx)}" y="${MARGIN + 17}" text-anchor="middle" font-weight="bold">${escapeXml(p.label)}</text>`,
    );
  });

  rows.forEach((row, r) => {
    const cy = y(r);
    body.push(`<text x="${n(gutter - 10)}" y="${n(cy + 4)}" text-anchor="end" fill="#757575">${escapeXml(times[r] as string)}</text>`);
    if (row.kind === 'arrival') {
      if (row.role === 'quorum') back.push(`<rect x="${n(gutter)}" y="${n(cy - ROW / 2 + 1)}" width="${n(width - gutter - MARGIN)}" height="${ROW - 2}" fill="#e8f5e9"/>`);
      body.push(...arrival(row, x, row.sentRow === undefined ? top - 6 : y(row.sentRow), cy));
      const color = row.fate === 'delivered' ? COLOR[row.style] : '#757575';
      const weight = row.role === 'quorum' ? ' font-weight="bold"' : '';
      body.push(`<text x="${n(labelsX)}" y="${n(cy + 4)}" fill="${color}"${weight}${row.role === 'late' ? ' opacity="0.6"' : ''}>${escapeXml(labels[r] as string)}</text>`);
    } else {
      const color = NOTE_COLOR[row.tone];
      if (row.over === 'all') {
        body.push(`<line x1="${n((x[0] ?? gutter) - 8)}" y1="${n(cy)}" x2="${n((x.at(-1) ?? gutter) + 8)}" y2="${n(cy)}" stroke="${color}" stroke-width="3" opacity="0.5"/>`);
      } else {
        const cx = x[row.over] as number;
        body.push(`<path d="M${n(cx)} ${n(cy - 6)}l6 6l-6 6l-6 -6z" fill="${color}"/>`);
      }
      const weight = row.tone === 'committed' || row.tone === 'quorum' ? ' font-weight="bold"' : '';
      body.push(`<text x="${n(labelsX)}" y="${n(cy + 4)}" fill="${color}"${weight}>${escapeXml(labels[r] as string)}</text>`);
    }
  });

  inFlight.forEach((m, i) => {
    const r = rows.length + i;
    const cy = y(r);
    const x1 = x[m.from] as number;
    const x2 = x[m.to] as number;
    const y1 = m.sentRow === undefined ? top - 6 : y(m.sentRow);
    const xm = x1 + (x2 - x1) / 2;
    body.push(
      `<text x="${n(gutter - 10)}" y="${n(cy + 4)}" text-anchor="end" fill="#9e9e9e">${escapeXml(m.due)}</text>`,
      `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(xm)}" y2="${n(cy)}" stroke="${COLOR[m.style]}" stroke-width="1.3" stroke-dasharray="${m.delayed ? '8 3 2 3' : '4 3'}"/>`,
      `<circle cx="${n(xm)}" cy="${n(cy)}" r="4" fill="#ffffff" stroke="${COLOR[m.style]}" stroke-width="1.5"/>`,
      `<text x="${n(labelsX)}" y="${n(cy + 4)}" fill="#616161">${escapeXml(flightLabels[i] as string)}</text>`,
    );
  });
  if (inFlight.length > 0) body.push(`<line x1="${n(gutter)}" y1="${n(top + rows.length * ROW)}" x2="${n(labelsX - 8)}" y2="${n(top + rows.length * ROW)}" stroke="#9e9e9e" stroke-dasharray="1 3"/>`);

  if (withLegend) body.push(...legend(MARGIN + 4, legendTop));

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="${FONT}" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...back,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** The text on the right of a row. */
function rowText(row: ArrivalRow | NoteRow, labels: readonly string[], sent: readonly number[]): string {
  let text: string;
  if (row.kind === 'note') text = row.text;
  else {
    const parts: string[] = [];
    if (row.order !== undefined && row.style === 'request') parts.push(`${ordinal(row.order)} at ${labels[row.to] ?? ''}`);
    if (row.role === 'quorum') parts.push('quorum');
    if (row.delayed) parts.push('held back');
    if (row.fate !== 'delivered') parts.push(row.fate === 'undeliverable' ? `${labels[row.to] ?? ''} is down: lost` : row.fate === 'lost' ? 'lost by the network' : row.fate === 'blocked' ? 'blocked by a partition' : 'dropped');
    text = `${row.label}${parts.length === 0 ? '' : `  [${parts.join(', ')}]`}`;
  }
  return sent.length === 0 ? text : `${text}  → sends ${sent.map((id) => `#${id}`).join(' ')}`;
}

/** The marks of one arrival: a slanted line, and its end (a head, or a cross half way). */
function arrival(row: ArrivalRow, x: readonly number[], y1: number, y2: number): string[] {
  const x1 = x[row.from] as number;
  const x2 = x[row.to] as number;
  const delivered = row.fate === 'delivered';
  const color = delivered ? COLOR[row.style] : '#757575';
  const width = row.role === 'quorum' ? 2.6 : 1.3;
  const dash = row.delayed ? ' stroke-dasharray="8 3 2 3"' : row.role === 'late' ? ' stroke-dasharray="2 3"' : '';
  const fade = row.role === 'late' ? ' opacity="0.55"' : '';
  const out: string[] = [];
  if (delivered) {
    const dx = x2 - x1;
    const dy = y2 - y1;
    const length = Math.hypot(dx, dy) || 1;
    const [ux, uy] = [dx / length, dy / length];
    // Stop short of the lifeline when a disc marks the processing order there.
    const back = row.order !== undefined && row.style === 'request' ? 7 : 0;
    const tx = x2 - ux * back;
    const ty = y2 - uy * back;
    out.push(
      `<g${fade}>`,
      `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(tx - ux * 6)}" y2="${n(ty - uy * 6)}" stroke="${color}" stroke-width="${width}"${dash}/>`,
      `<path d="M${n(tx)} ${n(ty)}L${n(tx - ux * 9 - uy * 4)} ${n(ty - uy * 9 + ux * 4)}L${n(tx - ux * 9 + uy * 4)} ${n(ty - uy * 9 - ux * 4)}z" fill="${color}"/>`,
      '</g>',
    );
    if (back > 0) {
      out.push(
        `<circle cx="${n(x2)}" cy="${n(y2)}" r="7" fill="#ffffff" stroke="${color}"/>`,
        `<text x="${n(x2)}" y="${n(y2 + 3)}" text-anchor="middle" font-size="9" fill="${color}">${row.order}</text>`,
      );
    }
  } else {
    const xm = x1 + (x2 - x1) / 2;
    out.push(
      `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(xm)}" y2="${n(y2)}" stroke="${color}" stroke-width="${width}" stroke-dasharray="5 3"/>`,
      `<path d="M${n(xm - 5)} ${n(y2 - 5)}l10 10m0 -10l-10 10" stroke="#c62828" stroke-width="2"/>`,
    );
  }
  return out;
}

function legend(left: number, top: number): string[] {
  const out = [`<text x="${n(left)}" y="${n(top)}" font-weight="bold" fill="#424242">legend</text>`];
  LEGEND.forEach((entry, i) => {
    const cy = top + 14 + i * 18;
    const a = left + 2;
    const b = left + 36;
    switch (entry.sample) {
      case 'request':
      case 'reply':
      case 'quorum':
      case 'late':
      case 'refused': {
        const color = entry.sample === 'request' ? COLOR.request : entry.sample === 'refused' ? COLOR.rejection : COLOR.reply;
        const width = entry.sample === 'quorum' ? 2.6 : 1.3;
        const dash = entry.sample === 'late' ? ' stroke-dasharray="2 3" opacity="0.55"' : '';
        out.push(`<line x1="${n(a)}" y1="${n(cy - 6)}" x2="${n(b - 8)}" y2="${n(cy)}" stroke="${color}" stroke-width="${width}"${dash}/>`, `<path d="M${n(b)} ${n(cy)}l-9 -5v8z" fill="${color}"/>`);
        break;
      }
      case 'lost':
        out.push(`<line x1="${n(a)}" y1="${n(cy - 6)}" x2="${n(a + 16)}" y2="${n(cy)}" stroke="#757575" stroke-width="1.3" stroke-dasharray="5 3"/>`, `<path d="M${n(a + 11)} ${n(cy - 5)}l10 10m0 -10l-10 10" stroke="#c62828" stroke-width="2"/>`);
        break;
      case 'flight':
        out.push(`<line x1="${n(a)}" y1="${n(cy - 6)}" x2="${n(a + 16)}" y2="${n(cy)}" stroke="${COLOR.request}" stroke-width="1.3" stroke-dasharray="4 3"/>`, `<circle cx="${n(a + 16)}" cy="${n(cy)}" r="4" fill="#ffffff" stroke="${COLOR.request}" stroke-width="1.5"/>`);
        break;
      case 'order':
        out.push(`<circle cx="${n(a + 16)}" cy="${n(cy - 3)}" r="7" fill="#ffffff" stroke="${COLOR.request}"/>`, `<text x="${n(a + 16)}" y="${n(cy)}" text-anchor="middle" font-size="9" fill="${COLOR.request}">2</text>`);
        break;
      case 'text':
        break;
    }
    out.push(`<text x="${n(b + 8)}" y="${n(cy + 1)}" fill="#424242">${escapeXml(entry.text)}</text>`);
  });
  return out;
}

/** A coordinate with at most one decimal, so output does not depend on float noise. */
function n(value: number): string {
  return String(Math.round(value * 10) / 10);
}
