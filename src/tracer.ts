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
import type { FastReadFallback } from './core/peek-round.js';

/**
 * Fields every message event carries: who sent to whom, for which key, under which ballot.
 * @inline
 */
interface MessageEvent {
  /** The proposer that sent the message. */
  readonly proposer: string;
  /** The acceptor it was sent to (or that answered). */
  readonly acceptor: string;
  /** The key of the proposal. */
  readonly key: string;
  /** The attempt's ballot. */
  readonly ballot: Ballot;
}

/**
 * Fields every reply event carries. `late` is true when the round had already been decided.
 * @inline
 */
interface ReplyEvent extends MessageEvent {
  /** The round was already decided when the reply arrived: it was counted, but changed nothing. */
  readonly late: boolean;
}

/**
 * One traced event, discriminated by `type`. Message events (`prepare-sent` to
 * `accept-unreachable`) name the proposer, the acceptor, the key and the ballot; reply events also
 * say whether they arrived `late`, after the round was decided (they change nothing then). The
 * other events describe a proposer's attempts and outcomes, and the steps of garbage collection and
 * membership changes.
 */
export type TraceEvent =
  | (MessageEvent & {
      /** Message 1a: a prepare went to `acceptor`. */
      readonly type: 'prepare-sent';
      /** The proposer's age, carried by the message (paper §3.1). */
      readonly age: Age;
    })
  | (ReplyEvent & {
      /** Message 1b: the acceptor promised. */
      readonly type: 'promised';
      /** The ballot of its last accepted state (`ZERO_BALLOT`: none). */
      readonly accepted: Ballot;
      /** Its last accepted state. */
      readonly state: State;
    })
  | (ReplyEvent & {
      /** Message 1b: the acceptor had seen a higher ballot. */
      readonly type: 'prepare-conflict';
      /** That ballot. */
      readonly conflict: Ballot;
      /** Whether it was the acceptor's promise or its accepted ballot. */
      readonly kind: ConflictKind;
    })
  | (ReplyEvent & {
      /** Message 1b: the acceptor rejected the proposer's age (paper §3.1). */
      readonly type: 'prepare-age-rejected';
      /** The minimum age it requires. */
      readonly required: Age;
    })
  | (ReplyEvent & {
      /** The prepare call failed: no reply (unreachable, timed out, refused). */
      readonly type: 'prepare-unreachable';
      /** Why. */
      readonly error: unknown;
    })
  | (MessageEvent & {
      /** Message 2a: an accept went to `acceptor`. */
      readonly type: 'accept-sent';
      /** The proposer's age, carried by the message (paper §3.1). */
      readonly age: Age;
      /** The state to accept. */
      readonly state: State;
    })
  | (ReplyEvent & {
      /** Message 2b: the acceptor accepted. */
      readonly type: 'accepted';
    })
  | (ReplyEvent & {
      /** Message 2b: the acceptor had seen a higher ballot. */
      readonly type: 'accept-conflict';
      /** That ballot. */
      readonly conflict: Ballot;
      /** Whether it was the acceptor's promise or its accepted ballot. */
      readonly kind: ConflictKind;
    })
  | (ReplyEvent & {
      /** Message 2b: the acceptor rejected the proposer's age (paper §3.1). */
      readonly type: 'accept-age-rejected';
      /** The minimum age it requires. */
      readonly required: Age;
    })
  | (ReplyEvent & {
      /** The accept call failed: no reply (unreachable, timed out, refused). */
      readonly type: 'accept-unreachable';
      /** Why. */
      readonly error: unknown;
    })
  | {
      /**
       * The proposer moved the ballot counter of `key` up after seeing a higher ballot (or on GC's
       * order): its one counter for all keys, or, for a ballot more than 2^32 ahead of it, the key's
       * own (see `core/key-ballots`).
       */
      readonly type: 'fast-forwarded';
      /** The proposer's id. */
      readonly proposer: string;
      /** The key. */
      readonly key: string;
      /** The counter before. */
      readonly from: number;
      /** The counter after: above every ballot counter seen. */
      readonly to: number;
    }
  | {
      /** Paper §2.2.1: the attempt skips the prepare phase, under the ballot promised with its last accept. */
      readonly type: 'skip-prepare';
      /** The proposer's id. */
      readonly proposer: string;
      /** The key. */
      readonly key: string;
      /** The ballot promised by the accepters with the previous accept. */
      readonly ballot: Ballot;
    }
  | {
      /**
       * After an accept with an unknown outcome, what the next prepare showed (see
       * `recoveryDecision`): `current`/`adopted` (the change took effect; its state is committed
       * again), `reapply` (it did not; it is applied afresh) or `undecidable`.
       */
      readonly type: 'recovery';
      /** The proposer's id. */
      readonly proposer: string;
      /** The key. */
      readonly key: string;
      /** The ballot of the prepare whose replies decided it. */
      readonly ballot: Ballot;
      /** What the replies showed (see above). */
      readonly decision: 'current' | 'adopted' | 'reapply' | 'undecidable';
    }
  | {
      /** An attempt failed in a way that allows another; the next starts after `delayMs`. */
      readonly type: 'retry';
      /** The proposer's id. */
      readonly proposer: string;
      /** The key. */
      readonly key: string;
      /** The ballot of the attempt that failed. */
      readonly ballot: Ballot;
      /** The number of the attempt that failed, from 1. */
      readonly attempt: number;
      /** The backoff before the next attempt (see `RetryPolicy`). */
      readonly delayMs: number;
    }
  | {
      /**
       * A read that writes nothing (`identityRead`, see `proposer/fast-read`): answered at once
       * from the preparers' peeks (`hit`: `from` reported `accepted` and its `state`, which is
       * chosen), or sent through the full identity round (`fallback`, with the `reason`).
       */
      readonly type: 'fast-read';
      /** The proposer's id. */
      readonly proposer: string;
      /** The key. */
      readonly key: string;
      /** `hit` or `fallback`. */
      readonly outcome: 'hit' | 'fallback';
      /** With `hit`: the accepted ballot a quorum reported (`ZERO_BALLOT`: nothing accepted). */
      readonly accepted?: Ballot;
      /** With `hit`: the state under it. */
      readonly state?: State;
      /** With `fallback`: why the read needs the full round. */
      readonly reason?: FastReadFallback;
      /** With `hit`: the acceptors whose replies agreed (empty with `fallback`). */
      readonly from: readonly string[];
    }
  | {
      /** A quorum accepted `state` under `ballot`: the proposal succeeded. */
      readonly type: 'committed';
      /** The proposer's id. */
      readonly proposer: string;
      /** The key. */
      readonly key: string;
      /** The ballot of the accept round a quorum confirmed. */
      readonly ballot: Ballot;
      /** The committed state. */
      readonly state: State;
    }
  | {
      /** The proposal failed; `error` is what its caller receives. */
      readonly type: 'failed';
      /** The proposer's id. */
      readonly proposer: string;
      /** The key. */
      readonly key: string;
      /** The ballot of the last attempt. */
      readonly ballot: Ballot;
      /** The rejection the caller receives (a `CASPaxosError`, or the signal's reason). */
      readonly error: unknown;
    }
  | {
      /** A step of garbage collection (paper §3.1, steps a-d). */
      readonly type: 'gc-step';
      /** The key being collected. */
      readonly key: string;
      /** Which step. */
      readonly step: GarbageCollectStep;
      /** Started, completed or failed. */
      readonly outcome: StepOutcome;
      /** The tombstone's ballot, for tracers of other collectors (`garbageCollect` does not set it). */
      readonly ballot?: Ballot;
      /** Why the step failed (with outcome `failed`). */
      readonly error?: unknown;
    }
  | {
      /** A step of a membership change (paper §2.3). */
      readonly type: 'membership-step';
      /** Growing or shrinking the cluster. */
      readonly operation: 'grow' | 'shrink';
      /** The address of the acceptor being added or removed. */
      readonly target: string;
      /** Which step. */
      readonly step: MembershipStep;
      /** Started, completed or failed. */
      readonly outcome: StepOutcome;
      /** Why the step failed (with outcome `failed`). */
      readonly error?: unknown;
    };

/**
 * The steps of garbage collection, paper §3.1: (a) an identity read that replicates the tombstone
 * to every acceptor, (b) fast-forwarding every proposer past its ballot and incrementing its age,
 * (c) asking acceptors to reject the old ages, (d) removing the register where it still holds the
 * tombstone.
 */
export type GarbageCollectStep = 'identity-read' | 'fast-forward' | 'reject-by-age' | 'remove';
/**
 * The steps of a membership change (paper §2.3): growing adds the acceptor as an accepter on every
 * proposer, re-writes every key (identity pass), then adds it as a preparer; shrinking removes the
 * accepter, re-writes every key, then removes the preparer (not the paper's reverse order; see
 * `shrinkCluster`). `undo` is traced, as failed, when rolling back a completed step failed.
 */
export type MembershipStep = 'add-accepter' | 'identity-pass' | 'add-preparer' | 'remove-preparer' | 'remove-accepter' | 'undo';
/** Each step is traced when it starts and again when it completed or failed. */
export type StepOutcome = 'started' | 'completed' | 'failed';

/** Receives trace events synchronously, in the order they happen. Must not throw. */
export type Tracer = (event: TraceEvent) => void;

/** The `type` of each trace event. */
export type TraceEventType = TraceEvent['type'];
