/**
 * Options shared by the orchestration functions (`growCluster`, `shrinkCluster`,
 * `garbageCollect`).
 */
import type { Logger } from '../logger.js';
import type { Random } from '../retry.js';
import type { CallOptions } from '../roles.js';
import type { Tracer } from '../tracer.js';

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
}

/** Options of `growCluster` and `shrinkCluster`. */
export interface MembershipOptions extends OrchestrationOptions {
  /**
   * Identity reads in flight at once while re-reading every key.
   * @default 16
   */
  readonly concurrency?: number | undefined;
}
