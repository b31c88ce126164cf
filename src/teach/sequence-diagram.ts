/**
 * A recorded trace as a sequence diagram that displays itself: ASCII in a terminal or REPL, SVG
 * (with Mermaid text and the ASCII as fallbacks) in a notebook. Rendered once, on first use of each
 * format, from a snapshot of the events: recording more later does not change it.
 */
import { InvalidArgumentError } from '../errors.js';
import { assertKey } from '../internal/validate.js';
import { type Diagram, type DiagramOptions, toDiagram } from '../trace/diagram.js';
import { asciiFromDiagram } from '../trace/ascii.js';
import type { TracePredicate } from '../trace/filter.js';
import { mermaidFromDiagram } from '../trace/mermaid.js';
import type { RecordedEvent } from '../trace/recorder.js';
import { svgFromDiagram } from '../trace/svg.js';
import { DisplayableDiagram } from './display.js';

/** Options of `diagram`, `mermaid` and `svg`. */
export interface ClusterDiagramOptions extends Omit<DiagramOptions, 'formatTime'> {
  /** Only events recorded from this mark on (a number `mark()` returned). @default 0 */
  readonly since?: number | undefined;
  /** Only events about this key (operator steps included). */
  readonly key?: string | undefined;
  /** The SVG's title. @default 'CASPaxos trace' */
  readonly title?: string | undefined;
}

/**
 * The diagram of a teaching cluster's recorded `events` that `options` selects, lifelines in the
 * order of `participants` unless the options name their own, times in virtual milliseconds.
 * Throws `InvalidArgumentError` on bad options.
 */
export function clusterDiagram(events: readonly RecordedEvent[], options: ClusterDiagramOptions, participants: readonly string[]): SequenceDiagram {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('diagram(options): options must be an object');
  const { since = 0, key, title, filter, ...rest } = options;
  if (!Number.isSafeInteger(since) || since < 0) throw new InvalidArgumentError(`diagram({ since }): since must be a mark (an integer >= 0), got ${String(since)}`);
  if (key !== undefined) assertKey(key);
  if (filter !== undefined && typeof filter !== 'function') throw new InvalidArgumentError('diagram({ filter }): filter must be a function');
  const keep: TracePredicate = (recorded) =>
    recorded.seq >= since && (key === undefined || !('key' in recorded.event) || recorded.event.key === key) && (filter === undefined || filter(recorded));
  return new SequenceDiagram(events.filter(keep), {
    ...rest,
    participants: rest.participants ?? participants,
    formatTime: (us) => (us / 1000).toFixed(3),
    title,
  });
}

/**
 * A recorded trace as a sequence diagram that displays itself: ASCII in a terminal or REPL, SVG
 * in a notebook (Mermaid source and ASCII as fallbacks). `TeachingCluster.traceDiagram()` builds one.
 * The rows are computed from the events when it is constructed, and each format rendered once on
 * first use: events recorded later do not change it.
 */
export class SequenceDiagram extends DisplayableDiagram {
  /** The diagram as data (participants and rows), as the renderers see it. */
  readonly diagram: Diagram;
  readonly #title: string;
  #text: string | undefined;
  #mermaid: string | undefined;
  #svg: string | undefined;

  /** @param options `toDiagram`'s options; `title` names the SVG. */
  constructor(events: readonly RecordedEvent[], options: DiagramOptions & { readonly title?: string | undefined } = {}) {
    super();
    this.diagram = toDiagram(events, options);
    this.#title = options.title ?? 'CASPaxos trace';
  }

  /** The number of rows (arrows and notes). */
  get length(): number {
    return this.diagram.rows.length;
  }

  /** Plain-text sequence diagram (`renderAscii`). */
  override get text(): string {
    this.#text ??= asciiFromDiagram(this.diagram);
    return this.#text;
  }

  /** Mermaid `sequenceDiagram` text (`renderMermaid`), times shown in brackets. */
  override get mermaid(): string {
    this.#mermaid ??= mermaidFromDiagram(this.diagram, { showTime: true });
    return this.#mermaid;
  }

  /** A standalone SVG document (`renderSvg`). */
  override get svg(): string {
    this.#svg ??= svgFromDiagram(this.diagram, { title: this.#title });
    return this.#svg;
  }
}
