/**
 * Showing a cluster, a diagram, a state or an operation in a Jupyter notebook, explicitly:
 *
 * - Deno's kernel displays any object with a `[Symbol.for('Jupyter.display')]()` method when a cell
 *   ends with it; `await show(x)` displays it through `Deno.jupyter.display` at any point of a cell,
 *   and resolves once the kernel has had time to send it (see `showInDeno`: a cell that ends with a
 *   value can lose its output when a client runs the notebook unattended).
 * - tslab (the TypeScript kernel on Node) ignores that symbol and prints such objects as plain text.
 *   `show(x, tslab.display)` hands the richest format of the object's MIME bundle to tslab's own
 *   display API (HTML, else SVG, else Markdown, else text), which is all that API can take per call.
 *
 * It imports neither kernel: it uses the display function it is handed, or the symbol Deno reads.
 */
import { InvalidArgumentError } from '../errors.js';
import { type Displayable, JUPYTER_DISPLAY, type MimeBundle } from './display.js';

/**
 * The part of tslab's `display` that `show` calls (`import * as tslab from 'tslab'`, then pass
 * `tslab.display`). Structural, so this module needs no tslab import.
 */
export interface TslabDisplay {
  /** Displays an HTML fragment. */
  html(html: string): void;
  /** Displays an SVG document. */
  svg(svg: string): void;
  /** Displays Markdown. */
  markdown(markdown: string): void;
  /** Displays plain text. */
  text(text: string): void;
}

/** What `show` displays: anything with a MIME bundle (a cluster, a diagram, a state), a bundle, or text. */
export type Showable = Pick<Displayable, typeof JUPYTER_DISPLAY> | MimeBundle | string;

interface DenoJupyter {
  display(bundle: MimeBundle, options: { readonly raw: true }): Promise<void> | void;
}

/**
 * Displays `value` now in tslab, through its `display` (see the module): synchronously, so a cell
 * that ends with `show(x, tslab.display)` shows nothing else.
 * @example
 * import * as tslab from 'tslab';
 * show(cluster, tslab.display);
 */
export function show(value: Showable, display: TslabDisplay): void;
/**
 * Displays `value` now in Deno's kernel, through `Deno.jupyter.display`; resolves once the kernel
 * took it. Rejects with `InvalidArgumentError` outside a notebook (there, `console.log(value)`
 * shows its text).
 * @example
 * await show(cluster);
 */
export function show(value: Showable): Promise<void>;
export function show(value: Showable, display?: TslabDisplay): void | Promise<void> {
  if (display === undefined) return showInDeno(value);
  if (typeof display !== 'object' || display === null || typeof display.html !== 'function') {
    throw new InvalidArgumentError("show(value, display): display must be tslab's display (import * as tslab from 'tslab'; tslab.display)");
  }
  const bundle = bundleOf(value);
  const html = bundle['text/html'];
  const svg = bundle['image/svg+xml'];
  const markdown = bundle['text/markdown'];
  if (html !== undefined) display.html(html);
  else if (svg !== undefined) display.svg(svg);
  else if (markdown !== undefined) display.markdown(markdown);
  else display.text(bundle['text/plain']);
}

async function showInDeno(value: Showable): Promise<void> {
  const bundle = bundleOf(value);
  const deno = (globalThis as { Deno?: { jupyter?: Partial<DenoJupyter> } }).Deno?.jupyter;
  if (deno === undefined || typeof deno.display !== 'function') {
    throw new InvalidArgumentError("show(value): no notebook to display in: in tslab pass its display (show(value, tslab.display)); elsewhere use console.log(value)");
  }
  await deno.display(bundle, { raw: true });
  // Deno's kernel (2.x) queues an output and returns before it is sent, then may report the cell
  // finished first; a client running cells one after the other (nbconvert, papermill) drops what
  // comes after. A pause lets the queue drain. Measured with four notebooks at once on two cores:
  // with no pause 11 of 96 runs lost an output, with 50 ms 2 of 96, with this one none of 96.
  // Real time, but only in a notebook: the simulation never waits on it.
  await new Promise<void>((resolve) => setTimeout(resolve, DISPLAY_GRACE_MS));
}

/** How long `show` lets Deno's kernel send an output before the cell may end (see `showInDeno`). */
const DISPLAY_GRACE_MS = 200;

/** The MIME bundle of `value`. */
export function bundleOf(value: Showable): MimeBundle {
  if (typeof value === 'string') return { 'text/plain': value };
  if (typeof value === 'object' && value !== null) {
    const method = (value as { [JUPYTER_DISPLAY]?: unknown })[JUPYTER_DISPLAY];
    if (typeof method === 'function') return (method as () => MimeBundle).call(value);
    if (typeof (value as MimeBundle)['text/plain'] === 'string') return value as MimeBundle;
  }
  throw new InvalidArgumentError('show(value): value must be a cluster, a diagram, a state, an operation, a MIME bundle or a string');
}
