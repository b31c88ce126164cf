/**
 * A value of the chain checker's chain (see `chain.ts`): who wrote it, what it replaced, who saw
 * it. Its own module so that the graph's builder and the text that names nodes share it without
 * importing each other.
 */
import type { Operation } from './history.js';

/** One value of the chain: observed in an output, or implied by a successor's `predecessor`. */
export interface ChainNode {
  readonly version: number;
  readonly writer: number;
  /** `undefined` for an implied node (its predecessor is unknown). */
  readonly predecessor: number | null | undefined;
  /** The canonical encoding; `undefined` for an implied node. */
  readonly text: string | undefined;
  /** Completed operations whose output was this value, in history order. */
  readonly observers: Operation[];
  /** Observed values naming this node's writer as predecessor and linked to it. */
  readonly children: ChainNode[];
  /** The node this one replaced: `null` = the absent value; `undefined` = unknown. */
  prev: ChainNode | null | undefined;
  /** Earliest and latest return among the observers (±Infinity for an implied node). */
  firstReturn: number;
  lastReturn: number;
}
