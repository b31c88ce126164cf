/**
 * A teaching cluster's delivery diagram that displays itself: ASCII in a terminal or REPL, SVG
 * (with Mermaid and the ASCII as fallbacks) in a notebook. Built once from a snapshot of the
 * cluster's story; each format is rendered on first use.
 */
import { InvalidArgumentError } from '../errors.js';
import { assertKey } from '../internal/validate.js';
import { deliveryAscii } from './delivery-ascii.js';
import { deliveryMermaid } from './delivery-mermaid.js';
import type { DeliveryModel } from './delivery-model.js';
import { type DeliverySvgOptions, deliverySvg } from './delivery-svg.js';
import { DisplayableDiagram } from './display.js';

/** Options of `TeachingCluster.diagram`. */
export interface DeliveryDiagramOptions {
  /** Only the events from this mark on (a number `mark()` returned). @default 0 */
  readonly since?: number | undefined;
  /** Only the events and messages about this key (events about no key stay). */
  readonly key?: string | undefined;
  /** The SVG's title. @default 'CASPaxos deliveries' */
  readonly title?: string | undefined;
  /** The text diagram ends with a legend of its marks and notation (the SVG always has one). @default false */
  readonly legend?: boolean | undefined;
  /** The SVG spreads its lifelines to be at least this wide, in pixels. @default 0 */
  readonly minWidth?: number | undefined;
}

/** Checks `options` (throws `InvalidArgumentError`) and returns them. */
export function checkDeliveryDiagramOptions(options: DeliveryDiagramOptions): DeliveryDiagramOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('diagram(options): options must be an object');
  const { since = 0, key, minWidth = 0, legend } = options;
  if (!Number.isSafeInteger(since) || since < 0) throw new InvalidArgumentError(`diagram({ since }): since must be a mark (an integer >= 0), got ${String(since)}`);
  if (key !== undefined) assertKey(key);
  if (typeof minWidth !== 'number' || !Number.isFinite(minWidth) || minWidth < 0) throw new InvalidArgumentError(`diagram({ minWidth }): minWidth must be a number >= 0, got ${String(minWidth)}`);
  if (legend !== undefined && typeof legend !== 'boolean') throw new InvalidArgumentError('diagram({ legend }): legend must be a boolean');
  return options;
}

/**
 * The delivery diagram of a teaching cluster (`TeachingCluster.diagram()` builds one): every
 * message drawn from where it was sent to where it arrived, was dropped or was lost, replies marked
 * by what they did (formed a quorum, came late, refused), requests by the order their acceptor
 * processed them. ASCII in a terminal, SVG in a notebook.
 */
export class DeliveryDiagram extends DisplayableDiagram {
  /** The diagram as data, as the renderers see it. */
  readonly model: DeliveryModel;
  readonly #options: DeliveryDiagramOptions;
  #text: string | undefined;
  #mermaid: string | undefined;
  #svg: string | undefined;

  constructor(model: DeliveryModel, options: DeliveryDiagramOptions = {}) {
    super();
    this.model = model;
    this.#options = options;
  }

  /** The number of rows (events and the notes they led to), not counting messages still in flight. */
  get length(): number {
    return this.model.rows.length;
  }

  /** The plain-text diagram. */
  override get text(): string {
    this.#text ??= deliveryAscii(this.model, { legend: this.#options.legend === true });
    return this.#text;
  }

  /** Mermaid `sequenceDiagram` text, times in brackets. */
  override get mermaid(): string {
    this.#mermaid ??= deliveryMermaid(this.model);
    return this.#mermaid;
  }

  /** A standalone SVG document, with its legend. */
  override get svg(): string {
    this.#svg ??= deliverySvg(this.model, { title: this.#options.title, minWidth: this.#options.minWidth });
    return this.#svg;
  }

  /** The SVG with other options (a width to fill, no legend). */
  svgWith(options: DeliverySvgOptions): string {
    return deliverySvg(this.model, { title: this.#options.title, minWidth: this.#options.minWidth, ...options });
  }
}
