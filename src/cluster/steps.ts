/**
 * Machinery shared by the orchestration functions: picking a proposer, running a labelled step
 * (traced, logged, its failure wrapped in `StepFailedError`), and undoing completed steps.
 */
import type { Random } from '../retry.js';
import { InvalidArgumentError, StepFailedError, isRetryable } from '../errors.js';
import type { GarbageCollectStep, MembershipStep, StepOutcome, TraceEvent } from '../tracer.js';
import type { OrchestrationOptions } from './options.js';

/** One proposer chosen with `random` (uniformly when `random` is uniform). */
export function pick<T>(items: readonly T[], random: Random = Math.random): T {
  const index = Math.min(items.length - 1, Math.floor(random() * items.length));
  return items[index] as T;
}

export function assertNonEmpty(items: unknown, what: string): void {
  if (!Array.isArray(items) || items.length === 0) throw new InvalidArgumentError(`${what} must be a non-empty array`);
}

/** The orchestration a step belongs to: garbage collection of a key, or a membership change of an acceptor. */
type Orchestration =
  | { readonly operation: 'gc'; readonly key: string }
  | { readonly operation: 'grow' | 'shrink'; readonly target: string };

/** Builds the trace event of a step of `op`. */
function stepEvent(op: Orchestration, step: string, outcome: StepOutcome, error?: unknown): TraceEvent {
  const failure = error === undefined ? {} : { error };
  if (op.operation === 'gc') return { type: 'gc-step', key: op.key, step: step as GarbageCollectStep, outcome, ...failure };
  return { type: 'membership-step', operation: op.operation, target: op.target, step: step as MembershipStep, outcome, ...failure };
}

/** Whether a step's failure may be retried: `isRetryable` unless a step says otherwise. */
export type RetryRule = (error: unknown) => boolean;

/**
 * The seed's `makeRetryable` (GarbageCollect steps a-c): every failure is retryable except a
 * verdict, an error that says itself it is final (`retryable: false`: `NotTombstoneError`, a
 * malformed argument). A plain `Error` from a caller's own transport (an unreachable proposer or
 * acceptor) carries no verdict, and the step is idempotent, so running the whole operation again
 * is safe and may succeed.
 */
export const retryableUnlessFinal: RetryRule = (error) => typeof error !== 'object' || error === null || (error as { retryable?: unknown }).retryable !== false;

/**
 * Runs one step: traces and logs its start and end, and rethrows a failure as a `StepFailedError`
 * labelled `label` (for example `2 (identity pass)`) whose `retryable` is `retryable(cause)`
 * (the cause's own flag unless told otherwise), unless the failure is the caller's own abort,
 * which is rethrown as is.
 */
export async function runStep<T>(
  op: Orchestration,
  step: GarbageCollectStep | MembershipStep,
  label: string,
  opts: OrchestrationOptions,
  body: () => Promise<T>,
  retryable: RetryRule = isRetryable,
): Promise<T> {
  opts.tracer?.(stepEvent(op, step, 'started'));
  try {
    const result = await body();
    opts.tracer?.(stepEvent(op, step, 'completed'));
    opts.logger?.info({ ...op, step: label }, `${op.operation} step ${label} completed`);
    return result;
  } catch (error) {
    opts.tracer?.(stepEvent(op, step, 'failed', error));
    if (opts.signal?.aborted && error === opts.signal.reason) throw error;
    throw new StepFailedError(op.operation, label, error, retryable(error));
  }
}

/** Completed steps' inverses, run in reverse order when a later step fails. */
export class UndoStack {
  #actions: Array<() => Promise<void>> = [];

  push(action: () => Promise<void>): void {
    this.#actions.push(action);
  }

  /** Runs every inverse, newest first. A failing inverse is logged and traced, and the rest still run. */
  async run(op: Orchestration, opts: OrchestrationOptions): Promise<void> {
    const actions = this.#actions.reverse();
    this.#actions = [];
    for (const action of actions) {
      try {
        await action();
      } catch (error) {
        opts.tracer?.(stepEvent(op, 'undo', 'failed', error));
        opts.logger?.warn({ ...op, err: error }, `${op.operation}: undoing a completed step failed; check the proposers' configurations`);
      }
    }
  }
}

/** Like `Promise.all`, but waits for every promise before rejecting with the first failure. */
export async function settleAll<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
