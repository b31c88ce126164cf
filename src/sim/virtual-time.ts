/**
 * Virtual time: a clock that only moves when the simulation takes the next event off its agenda,
 * and timers that fire in that order. Every node's `sleep` (the proposer's retry backoff and
 * straggler wait, request timeouts) is one of these timers, scaled by the node's clock skew.
 *
 * Time is in integer microseconds, so arithmetic is exact and traces are byte-identical.
 *
 * Time moves only when the agenda runs an event, never with a real timer: a seed replays a run.
 */
import { EventQueue } from './event-queue.js';
import type { AgendaEvent, TimeoutEvent, UpcomingEvent, WakeEvent } from './events.js';

/** Something on the agenda: a message delivery, a timer, or a scripted action. */
export interface AgendaItem {
  /** Does it. Returns false when there was nothing to do (a cancelled timer). */
  run(): boolean;
  /**
   * What the trace says about it, asked after `run` (built lazily: most timers are cancelled);
   * `undefined` when the item logged what it did itself.
   */
  describe(): string | undefined;
  /**
   * What it was, as data, asked after `run` returned true. An item without it counts as a scripted
   * action (`{ kind: 'action' }`).
   */
  event?(): AgendaEvent;
  /**
   * What it will be if it runs now, asked before it runs (`Simulation.upcoming`); `undefined` when
   * running it would do nothing (a cancelled timer). An item without it counts as an action.
   */
  upcoming?(): UpcomingEvent | undefined;
}

/**
 * The simulation's clock: it moves only when the simulation takes the next event off its agenda,
 * and timers fire in agenda order. Every node's `sleep` (retry backoff, straggler waits) and
 * request timeout is one of its timers, scaled by the node's clock skew.
 */
export class VirtualTime {
  #now = 0;
  /** Everything scheduled, by due time (microseconds), ties in scheduling order. */
  readonly agenda = new EventQueue<AgendaItem>();

  /** The current time, in microseconds since the start of the simulation. */
  get now(): number {
    return this.#now;
  }

  /** Moves the clock to `time` (never backwards). */
  advanceTo(time: number): void {
    if (time > this.#now) this.#now = time;
  }

  /** Puts `item` on the agenda `delayUs` microseconds from now. */
  schedule(delayUs: number, item: AgendaItem): void {
    this.agenda.push(this.#now + Math.max(0, Math.round(delayUs)), item);
  }

  /**
   * A cancellable callback timer, cheaper than `sleep` (no promise, no AbortSignal): the request
   * timeouts, of which there is one per acceptor call, use it. `label` and `event` describe it once
   * it fired (built lazily: most timers are cancelled); without `event` it counts as an action.
   */
  timer(
    ms: number,
    skew: number,
    label: () => string,
    fire: () => void,
    event?: () => TimeoutEvent,
  ): {
    /** Stops the timer; it will not fire. */
    cancel(): void;
  } {
    const handle = { cancelled: false, cancel: () => void (handle.cancelled = true) };
    this.schedule(ms * 1000 * skew, {
      run: () => {
        if (handle.cancelled) return false;
        fire();
        return true;
      },
      describe: label,
      upcoming: () => (handle.cancelled ? undefined : (event?.() ?? { kind: 'action' })),
      ...(event === undefined ? {} : { event }),
    });
    return handle;
  }

  /**
   * A timer: resolves after `ms` virtual milliseconds times `skew`; rejects with `signal.reason` if
   * the signal aborts first (the timer is then cancelled and leaves no trace). `live()` is asked
   * when the timer is due: a timer of a crashed node never fires (its promise never settles).
   * `label` says what the sleep is for, `node` and `incarnation` whose it is: the trace line is
   * `timer <node> <label>` and the event a `WakeEvent`.
   */
  sleep(
    ms: number,
    options: { signal?: AbortSignal | undefined; skew?: number; label: string; live?: () => boolean; node?: string | undefined; incarnation?: string | undefined },
  ): Promise<void> {
    const { signal, skew = 1, label, live, node, incarnation } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      let cancelled = false;
      const onAbort = (): void => {
        cancelled = true;
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.schedule(ms * 1000 * skew, {
        describe: () => `timer ${node === undefined ? label : `${node} ${label}`}`,
        event: (): WakeEvent => ({ kind: 'wake', node, incarnation, label }),
        upcoming: (): WakeEvent | undefined => (cancelled || (live !== undefined && !live()) ? undefined : { kind: 'wake', node, incarnation, label }),
        run: () => {
          signal?.removeEventListener('abort', onAbort);
          if (cancelled || (live !== undefined && !live())) return false;
          resolve();
          return true;
        },
      });
    });
  }
}

/** Renders a virtual time as fixed-width milliseconds with microsecond precision: `000012.345`. */
export function formatTime(us: number): string {
  const ms = Math.floor(us / 1000);
  return `${String(ms).padStart(6, '0')}.${String(us % 1000).padStart(3, '0')}`;
}

/**
 * Lets every pending promise callback run: one turn of the host's event loop. The simulation calls
 * this between events, so each event's consequences (replies computed, next messages sent) are
 * complete before the next event is taken. Uses `setImmediate` where it exists (Node), else a
 * `MessageChannel` (browsers), else `setTimeout(0)`.
 */
export const settle: () => Promise<void> = (() => {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown; MessageChannel?: typeof MessageChannel };
  if (typeof g.setImmediate === 'function') {
    const setImmediate = g.setImmediate;
    return () => new Promise<void>((resolve) => void setImmediate(resolve));
  }
  if (typeof g.MessageChannel === 'function') {
    const channel = new g.MessageChannel();
    const waiting: Array<() => void> = [];
    channel.port1.onmessage = () => waiting.shift()?.();
    return () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        channel.port2.postMessage(null);
      });
  }
  return () => new Promise<void>((resolve) => setTimeout(resolve, 0));
})();
