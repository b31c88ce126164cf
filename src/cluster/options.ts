/**
 * Options shared by the orchestration functions (`growCluster`, `shrinkCluster`,
 * `garbageCollect`).
 */
import type { Logger } from '../logger.js';
import type { Random } from '../retry.js';
import type { CallOptions } from '../roles.js';
import type { Tracer } from '../tracer.js';

/**
 * How far a long operation has come: the step running and, for the steps that go through every
 * key or every proposer, how many are done out of how many.
 */
export interface OperationProgress {
  /** The step running, as errors name it, e.g. `2 (identity pass)`. */
  readonly step: string;
  /** What `done` and `total` count. */
  readonly unit: 'keys' | 'proposers' | 'steps';
  /** How many are done in this step. */
  readonly done: number;
  /** How many the step goes through (keys: as listed when the step began). */
  readonly total: number;
}

/** Receives an `OperationProgress` when a step starts and each time it gets one further. Must not throw. */
export type ProgressListener = (progress: OperationProgress) => void;

/**
 * Options of `garbageCollect` (and, with `concurrency`, of `growCluster` and `shrinkCluster`):
 * cancellation, logging, tracing and the choice of proposer.
 */
export interface OrchestrationOptions extends CallOptions {
  /**
   * Receives an info record per step and a warning per failed undo. Silent when absent.
   * @default undefined (no logging)
   */
  readonly logger?: Logger | undefined;
  /**
   * Receives a `gc-step` or `membership-step` event when each step starts, completes or fails.
   * @default undefined (no tracing)
   */
  readonly tracer?: Tracer | undefined;
  /**
   * Picks the proposer that runs the reads (the seed picks one at random, `rand.Intn`). Inject a
   * seeded source to make runs reproducible.
   * @default Math.random
   */
  readonly random?: Random | undefined;
  /**
   * Receives the progress: each step as it starts, then each proposer or key done (the identity
   * pass of a membership change reads every key: this is how to show how far it is).
   * @default undefined (no progress reports)
   */
  readonly onProgress?: ProgressListener | undefined;
}

/** Options of `growCluster` and `shrinkCluster`. */
export interface MembershipOptions extends OrchestrationOptions {
  /**
   * Identity reads in flight at once while re-reading every key.
   * @default 16
   */
  readonly concurrency?: number | undefined;
}
