/**
 * A message on the simulated network, as data: what `SimNetwork` carries and what the agenda's
 * events (`events.ts`) name. Apart from the network so that the events can name messages without
 * importing the network that sends them.
 */

/** A request, its reply, or a watch event pushed by an acceptor. */
export type MessageKind = 'request' | 'reply' | 'event';

/** One message on the wire. */
export interface SimMessage {
  /** Unique per message sent; a duplicate shares its original's id. */
  readonly id: number;
  /** What it is. */
  readonly kind: MessageKind;
  /** The sender's address. */
  readonly from: string;
  /** The receiver's address. */
  readonly to: string;
  /** The acceptor method (`prepare`, `accept`, ...), or `watch-event` / `unwatch`. */
  readonly method: string;
  /** The call this message belongs to: a request and its reply share it. */
  readonly call: number;
  /** Arguments (request), outcome (reply) or payload (event). */
  readonly body: unknown;
  /** What the trace prints for it. */
  readonly summary: string;
  /** 0 for the original, 1 for a duplicate. */
  readonly copy: number;
}
