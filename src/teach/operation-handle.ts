/**
 * A handle on something a lesson started: a proposal, a read, a membership change or a garbage
 * collection. It is not a promise on purpose: nothing happens on a simulated cluster until it is
 * driven (`step`, `deliver`, `runUntilSettled`), so awaiting the operation itself would wait
 * forever. Its fields change as the cluster runs.
 */
import { formatBallot } from '../core/ballot.js';
import type { ProposeResult } from '../roles.js';
import { errorText } from '../trace/text.js';
import { textOrPreview } from './changes.js';
import { JUPYTER_DISPLAY, type MimeBundle, NODE_INSPECT } from './display.js';

/**
 * What an operation does: `propose` (a change to a key), `read` (an identity read), `grow` or
 * `shrink` (a membership change, run by `operator`), `gc` (garbage collection of a key).
 */
export type OperationKind = 'propose' | 'read' | 'grow' | 'shrink' | 'gc';

/**
 * `pending` until the library call behind the operation settles, then `done` (it resolved) or
 * `failed` (it rejected; see `OperationHandle.error`). A `failed` proposal may still have taken
 * effect (an accept that reached some acceptors before its replies were lost): a later read tells.
 */
export type OperationStatus = 'pending' | 'done' | 'failed';

/**
 * A handle on something a lesson started: a proposal, a read, a membership change or a garbage
 * collection (`TeachingCluster.propose`, `read`, `grow`, `shrink`, `gc` return one). Not a promise
 * on purpose: nothing happens on the simulated cluster until it is driven (`step`, `deliver`,
 * `runUntilSettled`), so awaiting the operation itself would wait forever. Its `status`, `value`,
 * `ballot` and `error` change as the cluster runs.
 */
export class OperationHandle {
  #status: OperationStatus = 'pending';
  #value: string | null | undefined;
  #ballot: string | undefined;
  #error: unknown;

  constructor(
    /** 1 for the first operation of a cluster, 2 for the next, ... */
    readonly id: number,
    /** What it does; a proposal of the `read` change counts as a `read`. */
    readonly kind: OperationKind,
    /** Who runs it: a proposer id, or `operator` for membership changes and garbage collection. */
    readonly by: string,
    /** What it is: `p1 set "hello" on x`, `grow a4`, `gc x`. */
    readonly label: string,
    /** The library call behind it; the operation follows its outcome (and never leaves it unhandled). */
    running: Promise<ProposeResult | void>,
  ) {
    running.then(
      (value) => this.#settle({ status: 'fulfilled', value }),
      (reason: unknown) => this.#settle({ status: 'rejected', reason }),
    );
  }

  /** `pending` until it settles, then `done` or `failed`. */
  get status(): OperationStatus {
    return this.#status;
  }

  /** The register's text after a proposal or read that is `done` (`null`: empty), else undefined. */
  get value(): string | null | undefined {
    return this.#value;
  }

  /** The ballot that committed a proposal or read that is `done` (`3/p1`), else undefined. */
  get ballot(): string | undefined {
    return this.#ballot;
  }

  /** Why it `failed` (a `CASPaxosError` subclass, or what a change function threw). */
  get error(): unknown {
    return this.#error;
  }

  #settle(outcome: PromiseSettledResult<ProposeResult | void>): void {
    if (outcome.status === 'rejected') {
      this.#status = 'failed';
      this.#error = outcome.reason;
      return;
    }
    this.#status = 'done';
    const result = outcome.value;
    if (result !== undefined) {
      this.#ballot = formatBallot(result.ballot);
      this.#value = textOrPreview(result.state);
    }
  }

  /** `#1 p1 set "hello" on x: done, "hello" at 1/p1`. */
  toString(): string {
    let outcome: string;
    if (this.#status === 'pending') outcome = 'pending';
    else if (this.#status === 'failed') outcome = `failed, ${errorText(this.#error, 120)}`;
    else if (this.#ballot === undefined) outcome = 'done';
    else outcome = `done, ${this.#value === null || this.#value === undefined ? '∅' : JSON.stringify(this.#value)} at ${this.#ballot}`;
    return `#${this.id} ${this.label}: ${outcome}`;
  }

  /** `console.log` and the REPL show `toString()`. */
  [NODE_INSPECT](): string {
    return this.toString();
  }

  /** Jupyter: `toString()` as plain text. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return { 'text/plain': this.toString() };
  }
}
