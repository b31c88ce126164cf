/**
 * Group commit for `StoreAcceptor`: the writes its operations make in one event-loop turn (the
 * items of one batch request, or many requests read in one poll) go to the store as one call, one
 * durable write, instead of one write each. Over a store with `writeMany`, a group holds every
 * kind of write (records, and the garbage collector's removals and age raises, which would
 * otherwise each cost a sync of their own); over one with only `putMany`, the records alone.
 * Every operation still waits for the durable write of its own entry before it replies (paper
 * §2.2: "persists ... and returns a confirmation"): `write` resolves only once the group holding
 * the entry was written, and rejects if that write failed (the operation then fails: an unknown
 * outcome, as a lost reply would be).
 *
 * Why this keeps `StoreAcceptor`'s one-operation-per-key rule: an operation holds its key's lock
 * until its write resolved, so a group never holds two writes of one key, and an operation that
 * reads a key after another wrote it runs only after that write is durable. (Age raises hold the
 * chain of `rejectByAge` calls the same way: at most one per group.)
 *
 * Window: a group is written when the turn that started it ends (`afterTurn`), or at once when it
 * reaches `MAX_GROUP` entries, so a lone write waits a few microseconds at most.
 */
import { afterTurn } from '../internal/after-turn.js';

/** The most entries one group holds; a full group is written at once. */
export const MAX_GROUP = 1024;

export class GroupCommit<E> {
  readonly #writeAll: (entries: readonly E[]) => Promise<void>;
  #entries: E[] = [];
  #done: Promise<void> | undefined;
  #settle: ((failure: { error: unknown } | undefined) => void) | undefined;

  /** `writeAll` writes one group durably; it resolves once the group is durable. */
  constructor(writeAll: (entries: readonly E[]) => Promise<void>) {
    this.#writeAll = writeAll;
  }

  /** Adds `entry` to the current group; resolves once the group is durable. */
  write(entry: E): Promise<void> {
    if (this.#done === undefined) {
      this.#done = new Promise<void>((resolve, reject) => {
        this.#settle = (failure) => (failure === undefined ? resolve() : reject(failure.error));
      });
      afterTurn(this.#flush);
    }
    const done = this.#done;
    this.#entries.push(entry);
    if (this.#entries.length >= MAX_GROUP) this.#flush();
    return done;
  }

  readonly #flush = (): void => {
    const entries = this.#entries;
    const settle = this.#settle;
    // Already written (a full group), and the scheduled flush came after: nothing to do.
    if (settle === undefined) return;
    this.#entries = [];
    this.#done = undefined;
    this.#settle = undefined;
    let written: Promise<void>;
    try {
      written = this.#writeAll(entries);
    } catch (error) {
      written = Promise.reject(error);
    }
    written.then(
      () => settle(undefined),
      (error: unknown) => settle({ error }),
    );
  };
}
