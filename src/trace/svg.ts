/**
 * A trace as a standalone SVG image: self-contained (no scripts, no external fonts or styles: the
 * generic `monospace` family and presentation attributes only), every text escaped, and
 * deterministic (the same events give the same bytes), so it can be committed, diffed and
 * embedded with `<img src>`.
 *
 * Layout: participant boxes on top, dashed lifelines, one row per event with its time in the left
 * margin. Requests are solid blue arrows, replies dashed green, rejections dashed red, unreachable
 * replies grey with a cross; late replies are faded. Notes are boxes next to the proposer's
 * lifeline; operator steps (garbage collection, membership) span every lifeline.
 *
 * The SVG is built as text, without a DOM, so it renders the same in Node and in a browser.
 */
import { type ArrowStyle, type Diagram, type DiagramOptions, type NoteTone, toDiagram } from './diagram.js';
import { columnPositions, textWidth } from './layout.js';
import type { RecordedEvent } from './recorder.js';

/** Options of `renderSvg` and `svgFromDiagram`. */
export interface SvgOptions extends DiagramOptions {
  /**
   * A title for the image (its `<title>`, read by screen readers and shown as a tooltip).
   * @default 'CASPaxos trace'
   */
  readonly title?: string | undefined;
}

const FONT_SIZE = 12;
/** The advance of one character of a monospace font: 0.6 em is what common monospace fonts use. */
const CHAR = 7.2;
const ROW = 26;
const MARGIN = 12;
const HEADER = 30;

const ARROW_COLOR: Record<ArrowStyle, string> = {
  request: '#1f4e79',
  reply: '#2e7d32',
  rejection: '#c62828',
  unreachable: '#757575',
};

const NOTE_COLORS: Record<NoteTone, { fill: string; stroke: string }> = {
  info: { fill: '#fff8c4', stroke: '#c9b200' },
  committed: { fill: '#e6f4ea', stroke: '#2e7d32' },
  failed: { fill: '#fdecea', stroke: '#c62828' },
  step: { fill: '#e8eaf6', stroke: '#3949ab' },
};

/** Renders `events` (after `options.filter`) as an SVG document. */
export function renderSvg(events: readonly RecordedEvent[], options: SvgOptions = {}): string {
  return svgFromDiagram(toDiagram(events, options), options);
}

/** Renders an already built diagram (see `toDiagram`). */
export function svgFromDiagram(diagram: Diagram, options: Pick<SvgOptions, 'title'> = {}): string {
  const { participants, rows, times } = diagram;
  const title = options.title ?? 'CASPaxos trace';
  const gutter = MARGIN + Math.max(0, ...times.map(textWidth)) * CHAR + MARGIN;
  const boxWidth = (label: string): number => (textWidth(label) + 2) * CHAR;
  // Boxes are centred on their lifelines: neighbours need half of each box and a gap between.
  const cells = columnPositions(
    diagram,
    (j) => Math.ceil((textWidth((participants[j - 1] as { label: string }).label) + textWidth((participants[j] as { label: string }).label)) / 2) + 4,
    4,
  );
  const firstHalf = participants.length === 0 ? 0 : boxWidth((participants[0] as { label: string }).label) / 2;
  const x = cells.map((c) => gutter + firstHalf + c * CHAR);
  const top = MARGIN + HEADER;
  const bottom = top + rows.length * ROW + MARGIN;

  const body: string[] = [];
  let right = (x.at(-1) ?? gutter) + firstHalf;

  participants.forEach((p, i) => {
    const cx = x[i] as number;
    const w = boxWidth(p.label);
    right = Math.max(right, cx + w / 2);
    body.push(
      `<line x1="${n(cx)}" y1="${n(top)}" x2="${n(cx)}" y2="${n(bottom)}" stroke="#9e9e9e" stroke-dasharray="4 3"/>`,
      `<rect x="${n(cx - w / 2)}" y="${n(MARGIN)}" width="${n(w)}" height="${n(HEADER - 6)}" rx="3" fill="#f5f5f5" stroke="#424242"/>`,
      `<text x="${n(cx)}" y="${n(MARGIN + HEADER / 2)}" text-anchor="middle" font-weight="bold">${escapeXml(p.label)}</text>`,
    );
  });

  rows.forEach((row, r) => {
    const y = top + r * ROW;
    body.push(`<text x="${n(gutter - MARGIN)}" y="${n(y + 17)}" text-anchor="end" fill="#757575">${escapeXml(times[r] as string)}</text>`);
    if (row.kind === 'arrow') {
      const x1 = x[row.from] as number;
      const x2 = x[row.to] as number;
      const color = ARROW_COLOR[row.style];
      const dir = x2 > x1 ? 1 : -1;
      const ly = y + 19;
      const dash = row.style === 'request' ? '' : ' stroke-dasharray="5 3"';
      const fade = row.late ? ' opacity="0.45"' : '';
      const head =
        row.style === 'unreachable'
          ? `<path d="M${n(x2 - dir * 10)} ${n(ly - 4)}l8 8m0 -8l-8 8" stroke="${color}" stroke-width="1.5"/>`
          : `<path d="M${n(x2)} ${n(ly)}l${n(-dir * 8)} -4v8z" fill="${color}"/>`;
      body.push(
        `<g${fade}>`,
        `<line x1="${n(x1)}" y1="${n(ly)}" x2="${n(x2 - dir * (row.style === 'unreachable' ? 12 : 2))}" y2="${n(ly)}" stroke="${color}" stroke-width="1.5"${dash}/>`,
        head,
        // A white halo under the label keeps the lifelines it crosses from striking it through.
        `<text x="${n((x1 + x2) / 2)}" y="${n(y + 13)}" text-anchor="middle" fill="${color}" stroke="#ffffff" stroke-width="3" paint-order="stroke">${escapeXml(row.label)}</text>`,
        '</g>',
      );
    } else {
      const { fill, stroke } = NOTE_COLORS[row.tone];
      const w = (textWidth(row.text) + 2) * CHAR;
      const left = row.over === 'all' ? (x[0] ?? gutter) - 8 : (x[row.over] as number) + 6;
      const width = row.over === 'all' ? Math.max(w, (x.at(-1) ?? 0) - (x[0] ?? 0) + 16) : w;
      right = Math.max(right, left + width);
      body.push(
        `<rect x="${n(left)}" y="${n(y + 4)}" width="${n(width)}" height="${n(ROW - 6)}" rx="2" fill="${fill}" stroke="${stroke}"/>`,
        `<text x="${n(left + CHAR)}" y="${n(y + 18)}" fill="#212121">${escapeXml(row.text)}</text>`,
      );
    }
  });

  const width = Math.ceil(right + MARGIN);
  const height = Math.ceil(bottom + MARGIN);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="${FONT_SIZE}" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** A coordinate with at most one decimal, so output does not depend on float noise. */
function n(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/**
 * `text` as XML character data or attribute value: `&`, `<`, `>`, `"` and `'` as entities, and
 * characters XML 1.0 cannot carry at all (controls other than tab and newline, lone surrogates,
 * U+FFFE and U+FFFF) as U+FFFD. Labels from `toDiagram` contain none of those; this is for text
 * such as a title that comes straight from the caller.
 */
export function escapeXml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff\ud800-\udfff]/gu, '\ufffd')
    .replace(/[&<>"']/g, (c) => XML_ENTITIES[c] as string);
}

const XML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
