/**
 * Group commit for `StoreAcceptor`: the record writes its operations make in one event-loop turn
 * (the items of one batch request, or many requests read in one poll) go to the store as one
 * `putMany`, one durable write, instead of one write each. Every operation still waits for the
 * durable write of its own record before it replies (paper §2.2: "persists ... and returns a
 * confirmation"): `write` resolves only once the group holding the record was written, and rejects
 * if that write failed (the operation then fails: an unknown outcome, as a lost reply would be).
 *
 * Why this keeps `StoreAcceptor`'s one-operation-per-key rule: an operation holds its key's lock
 * until its write resolved, so a group never holds two writes of one key, and an operation that
 * reads a key after another wrote it runs only after that write is durable.
 *
 * Window: a group is written when the turn that started it ends (`afterTurn`), or at once when it
 * reaches `MAX_GROUP` records, so a lone write waits a few microseconds at most.
 */
import type { KeyRecord } from '../core/acceptor-rules.js';
import { afterTurn } from '../internal/after-turn.js';

/** The most records one group holds; a full group is written at once. */
export const MAX_GROUP = 1024;

type Entries = Array<readonly [string, KeyRecord]>;

export class GroupCommit {
  readonly #putMany: (entries: ReadonlyArray<readonly [string, KeyRecord]>) => Promise<void>;
  #entries: Entries = [];
  #done: Promise<void> | undefined;
  #settle: ((failure: { error: unknown } | undefined) => void) | undefined;

  constructor(putMany: (entries: ReadonlyArray<readonly [string, KeyRecord]>) => Promise<void>) {
    this.#putMany = putMany;
  }

  /** Adds `record` to the current group; resolves once the group is durable. */
  write(key: string, record: KeyRecord): Promise<void> {
    if (this.#done === undefined) {
      this.#done = new Promise<void>((resolve, reject) => {
        this.#settle = (failure) => (failure === undefined ? resolve() : reject(failure.error));
      });
      afterTurn(this.#flush);
    }
    const done = this.#done;
    this.#entries.push([key, record]);
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
      written = this.#putMany(entries);
    } catch (error) {
      written = Promise.reject(error);
    }
    written.then(
      () => settle(undefined),
      (error: unknown) => settle({ error }),
    );
  };
}
