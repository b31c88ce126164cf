/**
 * Machinery shared by the orchestration functions: picking a proposer, running a labelled step
 * (traced, logged, its failure wrapped in `StepFailedError`), undoing completed steps, and the
 * identity pass over every key.
 */
import type { Random } from '../retry.js';
import { InvalidArgumentError, StepFailedError, isRetryable } from '../errors.js';
import type { ConfigurationChanger } from '../roles.js';
import type { GarbageCollectStep, MembershipStep, StepOutcome, TraceEvent } from '../tracer.js';
import type { MembershipOptions, OrchestrationOptions } from './options.js';

/** One proposer chosen with `random` (uniformly when `random` is uniform). */
export function pick<T>(items: readonly T[], random: Random = Math.random): T {
  const index = Math.min(items.length - 1, Math.floor(random() * items.length));
  return items[index] as T;
}

export function assertNonEmpty(items: unknown, what: string): void {
  if (!Array.isArray(items) || items.length === 0) throw new InvalidArgumentError(`${what} must be a non-empty array`);
}

type Operation =
  | { readonly operation: 'gc'; readonly key: string }
  | { readonly operation: 'grow' | 'shrink'; readonly target: string };

/** Builds the trace event of a step of `op`. */
function stepEvent(op: Operation, step: string, outcome: StepOutcome, error?: unknown): TraceEvent {
  const failure = error === undefined ? {} : { error };
  if (op.operation === 'gc') return { type: 'gc-step', key: op.key, step: step as GarbageCollectStep, outcome, ...failure };
  return { type: 'membership-step', operation: op.operation, target: op.target, step: step as MembershipStep, outcome, ...failure };
}

/**
 * Runs one step: traces and logs its start and end, and rethrows a failure as a `StepFailedError`
 * labelled `label` (for example `2 (identity pass)`) whose `retryable` is the cause's, unless the
 * failure is the caller's own abort, which is rethrown as is.
 */
export async function runStep<T>(
  op: Operation,
  step: GarbageCollectStep | MembershipStep,
  label: string,
  opts: OrchestrationOptions,
  body: () => Promise<T>,
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
    throw new StepFailedError(op.operation, label, error, isRetryable(error));
  }
}

/** Completed steps' inverses, run in reverse order when a later step fails. */
export class UndoStack {
  #actions: Array<() => Promise<void>> = [];

  push(action: () => Promise<void>): void {
    this.#actions.push(action);
  }

  /** Runs every inverse, newest first. A failing inverse is logged and traced, and the rest still run. */
  async run(op: Operation, opts: OrchestrationOptions): Promise<void> {
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

/**
 * Re-writes every key the proposer's accepters hold by an identity read, `concurrency` at a time,
 * so each committed state ends up on a quorum of the current accept set. Stops at the first failure.
 */
export async function identityPass(proposer: ConfigurationChanger, opts: MembershipOptions): Promise<number> {
  const { signal, concurrency = 16 } = opts;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new InvalidArgumentError(`concurrency must be an integer >= 1, got ${concurrency}`);
  const callOptions = signal === undefined ? {} : { signal };
  const keys = proposer.listKeys(callOptions)[Symbol.asyncIterator]();
  let count = 0;
  let failure: { readonly error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined) {
      const next = await keys.next();
      if (next.done === true) return;
      await proposer.identityRead(next.value, callOptions);
      count++;
    }
  };
  const workers = Array.from({ length: concurrency }, () =>
    worker().catch((error: unknown) => {
      failure ??= { error };
    }),
  );
  await Promise.all(workers);
  if (failure !== undefined) {
    await keys.return?.();
    throw failure.error;
  }
  return count;
}

/**
 * Applies one configuration change to every proposer in turn, pushing its inverse on `undo` as
 * each completes. A change interrupted by the caller's abort may already be installed (only the
 * wait for in-flight attempts was cut short), so its inverse is pushed too.
 */
export async function changeEach(
  proposers: readonly ConfigurationChanger[],
  apply: (proposer: ConfigurationChanger) => Promise<void>,
  revert: (proposer: ConfigurationChanger) => Promise<void>,
  undo: UndoStack,
  signal: AbortSignal | undefined,
): Promise<void> {
  for (const proposer of proposers) {
    try {
      await apply(proposer);
    } catch (error) {
      if (signal?.aborted && error === signal.reason) undo.push(() => revert(proposer));
      throw error;
    }
    undo.push(() => revert(proposer));
  }
}
