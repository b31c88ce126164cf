/**
 * Tracing: a typed event for every message a proposer sends and every reply it receives, every
 * fast-forward, retry and outcome, and every step of garbage collection and membership change.
 * Renderers (sequence diagrams) and checkers consume these. With no tracer set, no event object is
 * ever built.
 *
 * Event names follow the paper's steps: a `prepare-sent` is message 1a, `promised`/`prepare-conflict`
 * are 1b, `accept-sent` is 2a, `accepted`/`accept-conflict` are 2b.
 */
import type { Age } from './core/age.js';
import type { Ballot } from './core/ballot.js';
import type { ConflictKind, State } from './core/messages.js';

/** Fields every message event carries: who sent to whom, for which key, under which ballot. */
interface MessageEvent {
  readonly proposer: string;
  readonly acceptor: string;
  readonly key: string;
  readonly ballot: Ballot;
}

/** Fields every reply event carries. `late` is true when the round had already been decided. */
interface ReplyEvent extends MessageEvent {
  readonly late: boolean;
}

export type TraceEvent =
  | (MessageEvent & { readonly type: 'prepare-sent'; readonly age: Age })
  | (ReplyEvent & { readonly type: 'promised'; readonly accepted: Ballot; readonly state: State })
  | (ReplyEvent & { readonly type: 'prepare-conflict'; readonly conflict: Ballot; readonly kind: ConflictKind })
  | (ReplyEvent & { readonly type: 'prepare-age-rejected'; readonly required: Age })
  | (ReplyEvent & { readonly type: 'prepare-unreachable'; readonly error: unknown })
  | (MessageEvent & { readonly type: 'accept-sent'; readonly age: Age; readonly state: State })
  | (ReplyEvent & { readonly type: 'accepted' })
  | (ReplyEvent & { readonly type: 'accept-conflict'; readonly conflict: Ballot; readonly kind: ConflictKind })
  | (ReplyEvent & { readonly type: 'accept-age-rejected'; readonly required: Age })
  | (ReplyEvent & { readonly type: 'accept-unreachable'; readonly error: unknown })
  | {
      /** The proposer moved its ballot counter up after seeing a higher ballot (or on GC's order). */
      readonly type: 'fast-forwarded';
      readonly proposer: string;
      readonly key: string;
      readonly from: number;
      readonly to: number;
    }
  | {
      /** Paper §2.2.1: the attempt skips the prepare phase, under the ballot promised with its last accept. */
      readonly type: 'skip-prepare';
      readonly proposer: string;
      readonly key: string;
      readonly ballot: Ballot;
    }
  | {
      /**
       * After an accept with an unknown outcome, what the next prepare showed (see
       * `recoveryDecision`): `current`/`adopted` (the change took effect; its state is committed
       * again), `reapply` (it did not; it is applied afresh) or `undecidable`.
       */
      readonly type: 'recovery';
      readonly proposer: string;
      readonly key: string;
      readonly ballot: Ballot;
      readonly decision: 'current' | 'adopted' | 'reapply' | 'undecidable';
    }
  | {
      /** An attempt failed in a way that allows another; the next starts after `delayMs`. */
      readonly type: 'retry';
      readonly proposer: string;
      readonly key: string;
      readonly ballot: Ballot;
      readonly attempt: number;
      readonly delayMs: number;
    }
  | {
      /** A quorum accepted `state` under `ballot`: the proposal succeeded. */
      readonly type: 'committed';
      readonly proposer: string;
      readonly key: string;
      readonly ballot: Ballot;
      readonly state: State;
    }
  | {
      /** The proposal failed; `error` is what its caller receives. */
      readonly type: 'failed';
      readonly proposer: string;
      readonly key: string;
      readonly ballot: Ballot;
      readonly error: unknown;
    }
  | {
      /** A step of garbage collection (paper §3.1, steps a-d). */
      readonly type: 'gc-step';
      readonly key: string;
      readonly step: GarbageCollectStep;
      readonly outcome: StepOutcome;
      readonly ballot?: Ballot;
      readonly error?: unknown;
    }
  | {
      /** A step of a membership change (paper §2.3). */
      readonly type: 'membership-step';
      readonly operation: 'grow' | 'shrink';
      readonly target: string;
      readonly step: MembershipStep;
      readonly outcome: StepOutcome;
      readonly error?: unknown;
    };

export type GarbageCollectStep = 'identity-read' | 'fast-forward' | 'reject-by-age' | 'remove';
export type MembershipStep = 'add-accepter' | 'identity-pass' | 'add-preparer' | 'remove-preparer' | 'remove-accepter' | 'undo';
export type StepOutcome = 'started' | 'completed' | 'failed';

/** Receives trace events synchronously, in the order they happen. Must not throw. */
export type Tracer = (event: TraceEvent) => void;

/** The `type` of each trace event. */
export type TraceEventType = TraceEvent['type'];
