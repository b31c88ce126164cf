/**
 * Objects that show themselves: in a Jupyter notebook, in a Node REPL, and in `String(x)`.
 *
 * - Jupyter (Deno's kernel, and any kernel that follows the same convention): an object with a
 *   `[Symbol.for('Jupyter.display')]()` method is displayed as the MIME bundle it returns; the
 *   front end picks the richest type it can render (HTML, then Markdown, SVG, plain text).
 * - Node's `console.log` and REPL call `[Symbol.for('nodejs.util.inspect.custom')]()`; a symbol
 *   registered with `Symbol.for` needs no `node:util` import, so this module stays browser-safe.
 */
import { escapeXml } from '../trace/svg.js';

/** The key of the method Jupyter kernels call to display an object. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for('Jupyter.display');
/** The key of the method Node's `util.inspect` (hence `console.log` and the REPL) calls. */
export const NODE_INSPECT: unique symbol = Symbol.for('nodejs.util.inspect.custom');

/** A MIME bundle: the same content in several formats, keyed by MIME type. */
export interface MimeBundle {
  /** Plain text: always present, the fallback of any front end that renders nothing richer. */
  readonly 'text/plain': string;
  /** Markdown: tables, and diagrams as Mermaid source in a fenced `mermaid` block. */
  readonly 'text/markdown'?: string;
  /** An HTML fragment (no `<html>` or `<body>`), the richest type a notebook renders. */
  readonly 'text/html'?: string;
  /** A standalone SVG document (a sequence diagram). */
  readonly 'image/svg+xml'?: string;
}

/** What every display object here implements. */
export interface Displayable {
  /** Plain text: what `String(x)` and template literals show. */
  toString(): string;
  /** The MIME bundle a Jupyter kernel displays; the front end picks the richest type it renders. */
  [JUPYTER_DISPLAY](): MimeBundle;
  /** What `console.log` and Node's REPL show (`util.inspect` calls it): plain text, no trailing newline. */
  [NODE_INSPECT](): string;
}

/** A table: a header row and body rows of cells (plain, single-line text). */
export interface Table {
  readonly header: readonly string[];
  readonly rows: ReadonlyArray<readonly string[]>;
}

const width = (text: string): number => Array.from(text).length;

/** The table as aligned plain text, two spaces between columns, no trailing spaces. */
export function tableText(table: Table): string {
  const all = [table.header, ...table.rows];
  const widths = table.header.map((_, c) => Math.max(...all.map((row) => width(row[c] ?? ''))));
  return all
    .map((row) =>
      row
        .map((cell, c) => cell + ' '.repeat((widths[c] ?? 0) - width(cell)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The table in GitHub-flavoured Markdown (cells in code spans, so keys and values print as they are). */
export function tableMarkdown(table: Table): string {
  const cell = (text: string): string => (text === '' ? '' : codeSpan(text));
  const lines = [`| ${table.header.join(' | ')} |`, `|${table.header.map(() => ' --- |').join('')}`];
  for (const row of table.rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

/** The table as an HTML `<table>`, every cell escaped. */
export function tableHtml(table: Table): string {
  const head = table.header.map((h) => `<th>${escapeXml(h)}</th>`).join('');
  const body = table.rows.map((row) => `<tr>${row.map((c) => `<td><code>${escapeXml(c)}</code></td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/**
 * `text` as a Markdown code span: fenced with one more backtick than its longest run, and with
 * `|` escaped, which a table would otherwise read as a cell boundary even inside a span.
 */
export function codeSpan(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text.replace(/\|/g, '\\|')}${pad}${fence}`;
}

/** `text` in a fenced Markdown code block (the fence longer than any backtick run inside). */
export function codeBlock(text: string, language = ''): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${language}\n${text.endsWith('\n') ? text : `${text}\n`}${fence}`;
}

/** An SVG document as an `<img>` with a data URI: isolated from the page's styles and ids. */
export function svgImage(svg: string, alt: string): string {
  return `<img alt="${escapeXml(alt)}" src="data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}">`;
}

/**
 * A diagram that displays itself: its ASCII `text` in a terminal or REPL, its SVG in a notebook
 * (the Mermaid source and the ASCII as fallbacks). `SequenceDiagram` and `DeliveryDiagram` are two.
 */
export abstract class DisplayableDiagram implements Displayable {
  /** The plain-text diagram, ending in a newline. */
  abstract get text(): string;
  /** The diagram as Mermaid `sequenceDiagram` text. */
  abstract get mermaid(): string;
  /** The diagram as a standalone SVG document. */
  abstract get svg(): string;

  /** The ASCII diagram (`text`), ending in a newline. */
  toString(): string {
    return this.text;
  }

  /** `console.log` and the REPL show the ASCII diagram, without its trailing newline. */
  [NODE_INSPECT](): string {
    return this.text.trimEnd();
  }

  /** Jupyter: the SVG, the Mermaid source as Markdown, the ASCII as plain text. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return { 'image/svg+xml': this.svg, 'text/markdown': codeBlock(this.mermaid, 'mermaid'), 'text/plain': this.text };
  }
}
