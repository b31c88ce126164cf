/**
 * What the simulation's events are, as data: every item on the agenda says what it was once it
 * ran (a message delivery and its fate, a request timeout, the end of a sleep, a scripted action),
 * so a caller that narrates a run (the teaching cluster, a notebook) reads fields instead of parsing
 * the trace's text back. The trace lines stay the human rendering of the same events.
 */
import type { SimMessage } from './message.js';

/**
 * What became of a message at its destination: its node took it (`delivered`), a partition
 * swallowed it (`blocked`), or its node was down or absent (`undeliverable`).
 */
export type DeliveryOutcome = 'delivered' | 'blocked' | 'undeliverable';

/** A copy of a message reached its destination, or failed to. */
export interface DeliveryEvent {
  /** Discriminant. */
  readonly kind: 'deliver';
  /** The copy that arrived (`copy` > 0 for a duplicate). */
  readonly message: SimMessage;
  /** What became of it. */
  readonly outcome: DeliveryOutcome;
}

/** A request's timer ran out before its reply came: the call rejects as unavailable. */
export interface TimeoutEvent {
  /** Discriminant. */
  readonly kind: 'timeout';
  /** The calling node's address: a proposer's (`p1`, whatever its incarnation), or `operator`. */
  readonly node: string;
  /** The proposer incarnation that made the call (`p1`, `p1#2`), or the address for the operator. */
  readonly incarnation: string;
  /** The call (a request and its reply share it: `SimMessage.call`). */
  readonly call: number;
  /** The acceptor it waited for. */
  readonly to: string;
  /** The acceptor method it called: `prepare`, `accept`, ... */
  readonly method: string;
}

/** A sleep ended: a proposer's retry backoff or straggler wait, or a script's pause. */
export interface WakeEvent {
  /** Discriminant. */
  readonly kind: 'wake';
  /** Whose clock it ran on: a node's address, or `undefined` for a script (`Simulation.sleep`). */
  readonly node: string | undefined;
  /** The proposer incarnation that slept (`p1`, `p1#2`), `undefined` for a script. */
  readonly incarnation: string | undefined;
  /** What the sleep was for, as the trace names it: `sleep of p1#2`, `script`. */
  readonly label: string;
}

/** A scripted action (`Simulation.at`: a planned fault or repair), or an agenda item that does not describe itself as data. */
export interface ActionEvent {
  /** Discriminant. */
  readonly kind: 'action';
}

/** What one agenda item turned out to be once it ran; switch on `kind`. */
export type AgendaEvent = DeliveryEvent | TimeoutEvent | WakeEvent | ActionEvent;

/**
 * What an agenda item will do when it runs, as far as it is known before it runs: a delivery names
 * its message (its fate is decided when it arrives: a partition or a crash may still swallow it), a
 * timer its timeout or wake, anything else is an action.
 */
export type UpcomingEvent =
  | {
      /** Discriminant: a copy of `message` is due to arrive. */
      readonly kind: 'deliver';
      /** The copy due (`copy` > 0 for a duplicate). */
      readonly message: SimMessage;
    }
  | TimeoutEvent
  | WakeEvent
  | ActionEvent;

/** An event still on the agenda (`Simulation.upcoming`): when it is due and what it will be. */
export interface ScheduledEvent {
  /** When it is due, in microseconds of virtual time. */
  readonly time: number;
  /** What it will be. */
  readonly event: UpcomingEvent;
}

/** One event the simulation ran (`Simulation.stepEvent`): when, what, and how the trace tells it. */
export interface SimStep {
  /** Virtual time of the event, in microseconds. */
  readonly time: number;
  /** What it was. */
  readonly event: AgendaEvent;
  /**
   * What the trace says about it, without the time stamp: `deliver #4 p1 -> a2 request ...`,
   * `timer p1 timeout of call 3`; for an action, the last line it logged. Empty when not tracing.
   */
  readonly text: string;
  /** Its trace line, time stamp included, as `Simulation.step` resolves with ('' when not tracing). */
  readonly line: string;
}
