/**
 * Step c of garbage collection (paper §3.1: "For each acceptor, asks to reject messages from
 * proposers if their age is younger than the corresponding age from the previous step") for every
 * collection that reaches it within a short window, as one `rejectByAge` per acceptor.
 *
 * Why: a raise of a proposer's minimum age rejects every message of that proposer still in flight
 * with the age it had before its step b, whatever key it is for. Under a steady stream of deletes
 * (the soak: ~90 collections a second per node) a raise per collection landed every few
 * milliseconds and about one round in ten lost its accept to it and ran again (prepare, recovery,
 * accept). One raise per window exposes in-flight messages once per window instead.
 *
 * Why it is safe (each collection's own order, a → b → c → d, is kept):
 * - A collection's `raise(ages)` resolves only after every acceptor acknowledged a `rejectByAge`
 *   whose minimum for each proposer is at least the collection's own (the merged request takes
 *   the highest age per proposer over the window's collections): what step d relies on, "every
 *   acceptor rejects the proposers' ages from before their fast-forward", holds when it runs.
 * - The merged minimum is never above a proposer's age: every age merged was returned by that
 *   proposer's own step b (`fastForwardIncrement`), and a proposer's age only rises. So no
 *   proposer is rejected for an age it has not reached (which would leave it out for good).
 * - Raising a minimum higher than one collection needed is what a later collection does anyway
 *   (minimums only rise; `acceptorRules.raiseAges`).
 * A failed merged request fails every collection of the window, each of which retries from step a
 * (every step is idempotent), as a failed step c of its own would.
 */
import type { Age } from '../core/age.js';
import type { Addresser, RejectRemover } from '../roles.js';
import { InvalidArgumentError } from '../errors.js';
import { abortableWait } from '../internal/abort.js';
import { type Sleep, timerSleep } from '../retry.js';
import { settleAll } from './steps.js';

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

export class AgeRaises {
  readonly #acceptors: readonly (RejectRemover & Addresser)[];
  readonly #windowMs: number;
  readonly #sleep: Sleep;
  /** The window's merged minimums, per proposer id; undefined while no window is open. */
  #merged: Map<string, number> | undefined;
  #waiters: Waiter[] = [];

  /**
   * One `rejectByAge` per acceptor for the raises asked for within `windowMs` of the first; the
   * window is waited with `sleep` (the collector's, so a test's scheduler runs it too).
   */
  constructor(acceptors: readonly (RejectRemover & Addresser)[], windowMs: number, sleep: Sleep = timerSleep) {
    if (typeof windowMs !== 'number' || !Number.isFinite(windowMs) || windowMs < 0) {
      throw new InvalidArgumentError(`gc.ageRaiseWindowMs must be a finite number >= 0, got ${String(windowMs)}`);
    }
    this.#acceptors = acceptors;
    this.#windowMs = windowMs;
    this.#sleep = sleep;
  }

  /**
   * Raises every acceptor's minimum age for each proposer in `ages` to at least its counter;
   * resolves once every acceptor acknowledged a raise covering them. An abort rejects this caller
   * at once (the window's request still goes out for the others).
   */
  raise(ages: readonly Age[], callOptions: { readonly signal?: AbortSignal } = {}): Promise<void> {
    return abortableWait<void>(callOptions.signal, (resolve, reject) => {
      let merged = this.#merged;
      if (merged === undefined) {
        merged = new Map();
        this.#merged = merged;
        // Sent when the window ends, however the wait ends (a sleep that fails must not strand it).
        this.#sleep(this.#windowMs).then(this.#send, this.#send);
      }
      for (const age of ages) {
        const known = merged.get(age.id);
        if (known === undefined || age.counter > known) merged.set(age.id, age.counter);
      }
      this.#waiters.push({ resolve, reject });
      return () => {};
    });
  }

  readonly #send = (): void => {
    const merged = this.#merged;
    const waiters = this.#waiters;
    this.#merged = undefined;
    this.#waiters = [];
    if (merged === undefined) return;
    const ages: Age[] = Array.from(merged, ([id, counter]) => ({ counter, id }));
    settleAll(this.#acceptors.map((acceptor) => acceptor.rejectByAge(ages))).then(
      () => {
        for (const waiter of waiters) waiter.resolve();
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error);
      },
    );
  };
}
