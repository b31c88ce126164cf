/**
 * A network whose every prepare and accept is scheduled by fast-check's scheduler, built on
 * `FaultyAcceptor`: each request and each reply is held, and a scheduled task (`s.schedule`)
 * releases it, so the scheduler decides when every request reaches its acceptor and when every
 * reply reaches its proposer: any reordering of messages, across proposers, acceptors and keys.
 * (`s.scheduleFunction` would call the acceptor at once and only delay the reply; scheduling the
 * request too also reorders what acceptors see.)
 *
 * Each request also gets a fate from a list that fast-check generates, consumed in call order:
 *  - `ok`: delivered, reply delivered;
 *  - `drop-request`: lost; the caller times out (when the scheduler says so);
 *  - `drop-reply`: applied by the acceptor; the caller times out instead of getting the reply;
 *  - `late`: the caller times out AND the request is still delivered later, in an order the
 *    scheduler picks: possibly after the proposer moved on, even after other proposals committed.
 * Calls beyond the list, and every call once `faults` is false, are `ok`.
 */
import fc from 'fast-check';
import type { Acceptor } from '../../src/index.js';
import { FaultyAcceptor, type HeldMessage, describe } from './faulty-acceptor.js';

export type Fate = 'ok' | 'drop-request' | 'drop-reply' | 'late';

/** Mostly `ok`, sometimes a fault. */
export const fateArbitrary: fc.Arbitrary<Fate> = fc.oneof(
  { weight: 10, arbitrary: fc.constant<Fate>('ok') },
  { weight: 1, arbitrary: fc.constant<Fate>('drop-request') },
  { weight: 1, arbitrary: fc.constant<Fate>('drop-reply') },
  { weight: 2, arbitrary: fc.constant<Fate>('late') },
);

export class ScheduledNetwork {
  /** When false, every new request is `ok` (still scheduled). */
  faults = true;
  readonly #fates: readonly Fate[];
  #used = 0;
  readonly #fateOf = new Map<string, Fate>();

  constructor(
    readonly s: fc.Scheduler,
    fates: readonly Fate[],
  ) {
    this.#fates = fates;
  }

  /** `inner` behind a `FaultyAcceptor` whose prepares and accepts travel through the scheduler. */
  wrap<A extends Acceptor>(inner: A): FaultyAcceptor<A> {
    const acceptor = new FaultyAcceptor(inner, { onHold: (held) => this.#onHold(held) });
    acceptor.addRule({ method: ['prepare', 'accept'], when: 'request', action: 'hold' });
    acceptor.addRule({ method: ['prepare', 'accept'], when: 'reply', action: 'hold' });
    return acceptor;
  }

  #onHold(held: HeldMessage): void {
    const label = describe(held.message);
    const id = `${held.message.acceptor}#${held.message.id}`;
    if (held.when === 'request') {
      const fate: Fate = this.faults ? (this.#fates[this.#used++] ?? 'ok') : 'ok';
      this.#fateOf.set(id, fate);
      if (fate === 'drop-request') {
        this.#at(`${label} lost`, () => held.drop());
      } else if (fate === 'late') {
        this.#at(`${label} caller times out`, () => held.timeout());
        this.#at(`${label} delivered late`, () => held.release());
      } else {
        this.#at(`${label} delivered`, () => held.release());
      }
    } else if (this.#fateOf.get(id) === 'drop-reply') {
      this.#at(`${label} reply lost`, () => held.drop());
    } else {
      this.#at(`${label} reply`, () => held.release());
    }
  }

  #at(label: string, action: () => Promise<unknown> | void): void {
    void this.s.schedule(Promise.resolve(), label).then(async () => {
      try {
        await action();
      } catch {
        // The inner acceptor's error already went to the caller (or nobody was waiting).
      }
    });
  }
}
