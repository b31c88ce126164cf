/**
 * What one step of a teaching cluster did, in a learner's words: `deliver #4 p1 → a2 prepare(x,
 * 1/p1)`, `blocked by a partition: ...`, `timeout: p1 gives up waiting for a3's reply to ...`,
 * `p1 wakes up (its retry backoff is over)`. Built from the simulator's events as data
 * (`SimStep`), never from its trace text.
 *
 * Pure module: no I/O, safe in browsers and notebooks.
 */
import type { DeliveryEvent, SimStep } from '../sim/events.js';
import { type CallLog, type MessageView, viewMessage } from './messages.js';

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
    case 'timeout': {
      const call = calls.get(event.call);
      return `timeout: ${event.node} gives up waiting for ${call === undefined ? `call ${event.call}` : `${call.to}'s reply to ${call.text}`}`;
    }
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
