/**
 * A trace as a plain-text sequence diagram, in the style of the README's "a proposal, step by
 * step": one lifeline per proposer and acceptor, one line per event, the time in the left margin.
 *
 *     p1                              a1                              a2
 *   0 |-- prepare(k, 1/p1) ---------->|                               |
 *   2 |<-- promised(ø, ∅) ------------|                               |
 *   8 |  [committed k = "v" at 1/p1]
 *
 * Requests point right (`-->`), replies left (`<--`); a reply from an unreachable acceptor starts
 * with `x`, a late reply says `(late)`. Notes sit next to the proposer's lifeline in brackets;
 * garbage-collection and membership steps run across every lifeline between `==` marks. Lines
 * carry no trailing spaces. Columns assume one cell per code point: wide characters (CJK, emoji)
 * in keys or states shift the rest of their line.
 */
import { type Diagram, type DiagramOptions, toDiagram } from './diagram.js';
import { blank, columnPositions, finish, put, textWidth } from './layout.js';
import type { RecordedEvent } from './recorder.js';

/** Options of `renderAscii`: those of every diagram renderer. */
export type AsciiOptions = DiagramOptions;

/** Renders `events` (after `options.filter`) as a text sequence diagram, lines joined by `\n`. */
export function renderAscii(events: readonly RecordedEvent[], options: AsciiOptions = {}): string {
  return asciiFromDiagram(toDiagram(events, options));
}

/** Renders an already built diagram (see `toDiagram`). */
export function asciiFromDiagram(diagram: Diagram): string {
  const { participants, rows, times } = diagram;
  const gutter = Math.max(0, ...times.map(textWidth)) + 1;
  // Each name needs its own width and two spaces before the next lifeline; each arrow needs its
  // label plus `|-- ` and ` -->|` around it.
  const x = columnPositions(diagram, (j) => Math.max(6, textWidth((participants[j - 1] as { label: string }).label) + 2), 8).map((c) => c + gutter + 1);
  const width = (x.at(-1) ?? gutter) + 1;

  const lines: string[] = [];
  const header = blank(width);
  participants.forEach((p, i) => put(header, x[i] as number, p.label));
  lines.push(finish(header));

  rows.forEach((row, r) => {
    const cells = blank(width);
    for (const at of x) cells[at] = '|';
    put(cells, gutter - textWidth(times[r] as string), times[r] as string);
    if (row.kind === 'arrow') {
      const a = x[row.from] as number;
      const b = x[row.to] as number;
      const [lo, hi] = a < b ? [a, b] : [b, a];
      for (let c = lo + 1; c < hi; c++) cells[c] = '-';
      // `|-- label -->|` to the right, `|<-- label --|` to the left (`x--` when unreachable).
      const start = a < b ? lo + 3 : lo + 4;
      if (a < b) cells[hi - 1] = '>';
      else cells[lo + 1] = row.style === 'unreachable' ? 'x' : '<';
      put(cells, start, ` ${row.label} `);
    } else if (row.over === 'all') {
      const first = x[0] ?? gutter + 1;
      const text = `== ${row.text} ==`;
      put(cells, first, text);
      // Stretch the marks to the last lifeline when the text is shorter than the diagram.
      for (let c = first + textWidth(text); c <= (x.at(-1) ?? 0); c++) cells[c] = '=';
    } else {
      put(cells, (x[row.over] as number) + 3, `[${row.text}]`);
    }
    lines.push(finish(cells));
  });
  return `${lines.join('\n')}\n`;
}
