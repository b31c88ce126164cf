/**
 * What one step of a teaching cluster did, in a learner's words: `deliver #4 p1 → a2 prepare(x,
 * 1/p1)`, `blocked by a partition: ...`, `timeout: p1 gives up waiting for a3's reply to ...`,
 * `p1 wakes up (its retry backoff is over)`. Built from the simulator's events as data
 * (`SimStep`), never from its trace text.
 */
import type { DeliveryEvent, ScheduledEvent, SimStep, TimeoutEvent } from '../sim/events.js';
import { type CallLog, type MessageView, viewMessage } from './messages.js';
import { stamp } from './state-view.js';

/** An event still to come (`TeachingCluster.next()`, `upcoming()`): when, what, and what it is about. */
export interface UpcomingView {
  /** When it is due, in microseconds of virtual time. */
  readonly time: number;
  /** A message arriving (`deliver`), a call timing out (`timeout`), a proposer waking up (`wake`), or another `action`. */
  readonly kind: 'deliver' | 'timeout' | 'wake' | 'action';
  /** What it will do: `deliver #4 p1 → a2 prepare(x, 1/p1)`, `timeout: p1 gives up waiting for ...`. */
  readonly text: string;
  /** The message due, for a delivery. */
  readonly message: MessageView | undefined;
  /** `text` stamped with the time it is due. */
  toString(): string;
}

/**
 * What the step did. `before` is the messages in flight before it, so a delivered message reads as
 * it was listed (with its copy count); `calls` names what a timed-out call waited for.
 */
export function narrateStep(step: SimStep, before: readonly MessageView[], calls: CallLog): string {
  const event = step.event;
  switch (event.kind) {
    case 'deliver': {
      const message = before.find((m) => m.id === event.message.id) ?? viewMessage(event.message, 1, calls.keyOf);
      if (event.outcome === 'blocked') return `blocked by a partition: ${message.line}`;
      if (event.outcome === 'undeliverable') return `lost (${message.to} is down): ${message.line}`;
      return `deliver ${message.line}`;
    }
    case 'timeout':
      return timeoutText(event, calls);
    case 'wake':
      // A proposer's sleep is its retry backoff; a script's sleep says what the trace says.
      return event.incarnation === undefined ? step.text : `${event.incarnation} wakes up (its retry backoff is over)`;
    case 'action':
      return step.text;
  }
}

/** What delivering `message` by hand did (`deliveries`: the fate of each of its copies). */
export function narrateDeliveryByHand(message: MessageView, deliveries: readonly DeliveryEvent[]): string {
  const lost = deliveries.some((d) => d.outcome === 'undeliverable');
  return `${lost ? `lost (${message.to} is down)` : 'deliver'} ${message.line}`;
}

function timeoutText(event: TimeoutEvent, calls: CallLog): string {
  const call = calls.get(event.call);
  return `timeout: ${event.node} gives up waiting for ${call === undefined ? `call ${event.call}` : `${call.to}'s reply to ${call.text}`}`;
}

/**
 * What a scheduled event will do when it runs; `inFlight` are the messages on the wire (with their
 * copy counts), `fateOf` says what will stop a delivery (a partition, a receiver down), if anything.
 */
export function narrateUpcoming(scheduled: ScheduledEvent, inFlight: readonly MessageView[], calls: CallLog, fateOf: (message: MessageView) => string | undefined): UpcomingView {
  const { time, event } = scheduled;
  let text: string;
  let message: MessageView | undefined;
  switch (event.kind) {
    case 'deliver': {
      message = inFlight.find((m) => m.id === event.message.id) ?? viewMessage(event.message, 1, calls.keyOf);
      const fate = fateOf(message);
      text = fate === undefined ? `deliver ${message.line}` : `${fate}: ${message.line}`;
      break;
    }
    case 'timeout':
      text = timeoutText(event, calls);
      break;
    case 'wake':
      text = event.incarnation === undefined ? `${event.label} ends` : `${event.incarnation} wakes up (its retry backoff is over)`;
      break;
    case 'action':
      text = 'a scheduled action';
      break;
  }
  const line = stamp(time, text);
  return Object.freeze({ time, kind: event.kind, text, message, toString: () => line });
}
