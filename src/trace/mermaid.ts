/**
 * A trace as Mermaid `sequenceDiagram` text, for Markdown that renders Mermaid (GitHub, GitLab,
 * many documentation sites).
 *
 * Every lifeline is declared up front under a generated id (`P1`, `A1`, ...) with its real name as
 * the alias, so no proposer id or acceptor address can clash with Mermaid's syntax or keywords.
 * Requests are `->>`, replies `-->>`, a reply from an unreachable acceptor `--x`; notes are
 * `Note over`. Text is escaped with Mermaid's entity codes: `#` (which would start a comment), `;`
 * (which would end the statement), `<`, `>`, `&` (read as markup), `%`, `\` and `:` in aliases are written as
 * `#35;`, `#59;`, `#lt;` and so on, so keys and states print as they are and never as markup.
 */
import { type Diagram, type DiagramOptions, toDiagram } from './diagram.js';
import type { RecordedEvent } from './recorder.js';

/** Options of `renderMermaid` and `mermaidFromDiagram`. */
export interface MermaidOptions extends DiagramOptions {
  /**
   * Prefix each arrow and note with its time, `[t]` (Mermaid has no time axis of its own).
   * @default false
   */
  readonly showTime?: boolean | undefined;
}

/** Renders `events` (after `options.filter`) as Mermaid `sequenceDiagram` text. */
export function renderMermaid(events: readonly RecordedEvent[], options: MermaidOptions = {}): string {
  return mermaidFromDiagram(toDiagram(events, options), options);
}

/** Renders an already built diagram (see `toDiagram`). */
export function mermaidFromDiagram(diagram: Diagram, options: Pick<MermaidOptions, 'showTime'> = {}): string {
  const { participants, rows, times } = diagram;
  const counts = { proposer: 0, acceptor: 0, operator: 0 };
  const prefix = { proposer: 'P', acceptor: 'A', operator: 'OP' };
  const ids = participants.map((p) => `${prefix[p.kind]}${++counts[p.kind]}`);
  const lines = ['sequenceDiagram'];
  participants.forEach((p, i) => lines.push(`    participant ${ids[i]} as ${escapeMermaid(p.label, true)}`));
  rows.forEach((row, r) => {
    const time = options.showTime === true ? `[${times[r]}] ` : '';
    if (row.kind === 'arrow') {
      const arrow = row.style === 'request' ? '->>' : row.style === 'unreachable' ? '--x' : '-->>';
      lines.push(`    ${ids[row.from]}${arrow}${ids[row.to]}: ${escapeMermaid(time + row.label)}`);
    } else {
      const over = row.over === 'all' ? (ids.length > 1 ? `${ids[0]},${ids.at(-1)}` : ids[0]) : ids[row.over];
      lines.push(`    Note over ${over}: ${escapeMermaid(time + row.text)}`);
    }
  });
  return `${lines.join('\n')}\n`;
}

const CODES: Record<string, string> = {
  '#': '#35;',
  ';': '#59;',
  '<': '#lt;',
  '>': '#gt;',
  '&': '#amp;',
  '%': '#37;',
  '\\': '#92;',
  ':': '#58;',
  '\n': ' ',
  '\r': ' ',
};

/**
 * `text` with the characters Mermaid would read as syntax or markup replaced by entity codes.
 * Newlines become spaces (diagram text is already single-line; this is a last guard). A colon is
 * only special in an alias (`wrap:` prefixes), so only aliases escape it.
 */
export function escapeMermaid(text: string, alias = false): string {
  return text.replace(alias ? /[#;<>&%\\:\n\r]/g : /[#;<>&%\\\n\r]/g, (c) => CODES[c] as string);
}
