/**
 * A proposer's figures, collected from its trace events (`Tracer`, see `tracer.ts`): the proposer
 * itself has no metrics code, so what is counted is exactly what a trace shows.
 *
 * A round is what one attempt sequence of `MemoryProposer` decides: proposals on one key that
 * arrive together run as one round (batching), so rounds are fewer than calls under load. Each
 * round ends once, `committed` or `failed`; its outcome here is:
 *  - `committed`: a quorum accepted;
 *  - `unknown`: the accept phase found no quorum (`ERR_ACCEPT_FAILED`): a minority may hold the
 *    value, and a later round may still adopt it;
 *  - `conflict`: it failed after losing to competing proposers (a higher ballot was seen in its
 *    last attempt, or `ERR_CONFLICT`);
 *  - `failed`: anything else (too few acceptors answered, a proposer too old, an abort).
 * A proposal whose change function threw is counted apart (`changes_rejected`): its round goes on.
 *
 * A phase lasts from its first message to the moment the next step starts: a prepare phase ends
 * with the first accept of the same ballot (a quorum promised), an accept phase with `committed`.
 * Phases that end otherwise (a retry, a failure) are counted by outcome, not timed.
 *
 * Memory: one entry per attempt in flight, dropped when the attempt ends; capped (the oldest go
 * first) so a tracer that misses an attempt's end cannot grow without bound.
 *
 * The clock is `performance.now()` unless one is given (tests pass their own).
 */
import type { TraceEvent, Tracer } from '../tracer.js';
import { LATENCY_BUCKETS, type MetricsRegistry } from './registry.js';

/** The most attempts tracked at once (far above what one proposer runs in flight). */
const MAX_ATTEMPTS = 65_536;
/**
 * An attempt not heard of for this long is forgotten (a round whose every change function threw
 * ends with no round event: nothing was sent).
 */
const ATTEMPT_TTL_MS = 120_000;

/** Codes of errors that end a round (as opposed to one proposal whose change function threw). */
const ROUND_ERRORS = new Set(['ERR_PREPARE_FAILED', 'ERR_ACCEPT_FAILED', 'ERR_AGE', 'ERR_CONFLICT', 'ERR_UNAVAILABLE', 'ERR_STORAGE_FULL', 'ERR_STORAGE_FAILED']);

/** Whether a `failed` event ends its round: a protocol error or an abort, not a change function's own error. */
function endsRound(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, name } = error as { code?: unknown; name?: unknown };
  return (typeof code === 'string' && ROUND_ERRORS.has(code)) || name === 'AbortError' || name === 'TimeoutError';
}

interface AttemptTimes {
  phase: 'prepare' | 'accept';
  startedMs: number;
  conflicted: boolean;
}

/** The labels of `caspaxos_proposer_replies_total` for each reply event. */
const REPLIES = {
  promised: { phase: 'prepare', reply: 'ok' },
  accepted: { phase: 'accept', reply: 'ok' },
  'prepare-conflict': { phase: 'prepare', reply: 'conflict' },
  'accept-conflict': { phase: 'accept', reply: 'conflict' },
  'prepare-age-rejected': { phase: 'prepare', reply: 'age_rejected' },
  'accept-age-rejected': { phase: 'accept', reply: 'age_rejected' },
  'prepare-unreachable': { phase: 'prepare', reply: 'unreachable' },
  'accept-unreachable': { phase: 'accept', reply: 'unreachable' },
} as const;

/** Options of `proposerMetrics`. */
export interface ProposerMetricsOptions {
  /** Milliseconds from an arbitrary origin. @default performance.now */
  readonly now?: (() => number) | undefined;
}

/**
 * Registers the proposer metrics in `registry` and returns the tracer that updates them: give it to
 * `MemoryProposer` (`{ tracer }`), and to garbage collection and membership changes (their
 * `tracer` option) for the `caspaxos_gc_*` and `caspaxos_membership_*` series. Combine it with
 * another tracer with `teeTracers`.
 * @example
 * ```ts
 * import { MemoryAcceptor, MemoryProposer } from 'caspaxos';
 * import { MetricsRegistry, proposerMetrics } from 'caspaxos/http';
 *
 * const metrics = new MetricsRegistry();
 * const acceptors = ['a', 'b', 'c'].map((name) => new MemoryAcceptor(name));
 * const proposer = new MemoryProposer('p1', acceptors, { tracer: proposerMetrics(metrics) });
 * await proposer.propose('k', (state) => state);
 * console.log(metrics.render()); // caspaxos_proposer_rounds_total{outcome="committed"} 1 ...
 * ```
 */
export function proposerMetrics(registry: MetricsRegistry, options: ProposerMetricsOptions = {}): Tracer {
  const now = options.now ?? (() => performance.now());
  const rounds = registry.counter('caspaxos_proposer_rounds_total', 'Rounds of proposals by outcome (committed, conflict, unknown, failed); proposals on one key that arrive together run as one round.', ['outcome']);
  const phases = registry.counter('caspaxos_proposer_phases_total', 'Phases run, by phase (prepare, accept) and outcome (quorum, or lost: no quorum in that attempt).', ['phase', 'outcome']);
  const phaseSeconds = registry.histogram('caspaxos_proposer_phase_duration_seconds', 'Time from a phase\'s first message to its quorum, by phase.', ['phase'], LATENCY_BUCKETS);
  const messages = registry.counter('caspaxos_proposer_messages_total', 'Messages sent to acceptors, by phase.', ['phase']);
  const replies = registry.counter('caspaxos_proposer_replies_total', 'Acceptor replies by phase and kind (ok, conflict, age_rejected, unreachable).', ['phase', 'reply']);
  const conflicts = registry.counter('caspaxos_proposer_conflicts_total', 'Acceptor replies naming a higher ballot (a competing proposer), by phase.', ['phase']);
  const rejected = registry.counter('caspaxos_proposer_changes_rejected_total', 'Proposals whose change function threw (nothing was written for them; an increment of a value that is not a number, say).');
  const retries = registry.counter('caspaxos_proposer_retries_total', 'Attempts retried after a failed attempt.');
  const skipped = registry.counter('caspaxos_proposer_prepares_skipped_total', 'Attempts that skipped the prepare phase under a ballot promised with the previous accept (one round trip, paper 2.2.1).');
  const recoveries = registry.counter('caspaxos_proposer_recoveries_total', 'After an accept with an unknown outcome, what the next prepare decided (current, adopted, reapply, undecidable).', ['decision']);
  const gcSteps = registry.counter('caspaxos_gc_steps_total', 'Steps of garbage collection (paper 3.1) by step and outcome (started, completed, failed).', ['step', 'outcome']);
  const membershipSteps = registry.counter('caspaxos_membership_steps_total', 'Steps of membership changes (paper 2.3) by operation, step and outcome.', ['operation', 'step', 'outcome']);

  const attempts = new Map<string, AttemptTimes>();
  const id = (event: { proposer: string; key: string; ballot: { counter: number; id: string } }): string => `${event.proposer}\u0000${event.key}\u0000${event.ballot.counter}\u0000${event.ballot.id}`;
  const begin = (key: string, phase: 'prepare' | 'accept', conflicted = false): void => {
    const at = now();
    // Kept in start order (delete, then set), so the oldest are first: forget stale ones.
    attempts.delete(key);
    for (const [old, times] of attempts) {
      if (attempts.size < MAX_ATTEMPTS && at - times.startedMs < ATTEMPT_TTL_MS) break;
      attempts.delete(old);
    }
    attempts.set(key, { phase, startedMs: at, conflicted });
  };
  /** The attempt's phase did not reach a quorum: count it lost; forget the attempt. */
  const lose = (key: string): AttemptTimes | undefined => {
    const times = attempts.get(key);
    if (times !== undefined) phases.inc({ phase: times.phase, outcome: 'lost' });
    attempts.delete(key);
    return times;
  };

  return (event: TraceEvent): void => {
    switch (event.type) {
      case 'prepare-sent':
      case 'accept-sent': {
        const phase = event.type === 'prepare-sent' ? 'prepare' : 'accept';
        messages.inc({ phase });
        const key = id(event);
        const times = attempts.get(key);
        if (times === undefined) begin(key, phase);
        else if (times.phase === 'prepare' && phase === 'accept') {
          // The first accept of the ballot: its prepare phase found a quorum.
          phases.inc({ phase: 'prepare', outcome: 'quorum' });
          phaseSeconds.observe((now() - times.startedMs) / 1000, { phase: 'prepare' });
          begin(key, 'accept', times.conflicted);
        }
        return;
      }
      case 'promised':
      case 'accepted':
      case 'prepare-age-rejected':
      case 'accept-age-rejected':
      case 'prepare-unreachable':
      case 'accept-unreachable':
        replies.inc(REPLIES[event.type]);
        return;
      case 'prepare-conflict':
      case 'accept-conflict': {
        const labels = REPLIES[event.type];
        replies.inc(labels);
        conflicts.inc({ phase: labels.phase });
        const times = attempts.get(id(event));
        if (times !== undefined) times.conflicted = true;
        return;
      }
      case 'skip-prepare':
        skipped.inc();
        return;
      case 'recovery':
        recoveries.inc({ decision: event.decision });
        return;
      case 'retry':
        retries.inc();
        lose(id(event));
        return;
      case 'committed': {
        const key = id(event);
        const times = attempts.get(key);
        if (times !== undefined && times.phase === 'accept') {
          phases.inc({ phase: 'accept', outcome: 'quorum' });
          phaseSeconds.observe((now() - times.startedMs) / 1000, { phase: 'accept' });
        }
        attempts.delete(key);
        rounds.inc({ outcome: 'committed' });
        return;
      }
      case 'failed': {
        if (!endsRound(event.error)) {
          // One proposal's change function threw: the round goes on for the others.
          rejected.inc();
          return;
        }
        const times = lose(id(event));
        const code = (event.error as { code?: unknown } | null | undefined)?.code;
        const outcome = code === 'ERR_ACCEPT_FAILED' ? 'unknown' : code === 'ERR_CONFLICT' || times?.conflicted === true ? 'conflict' : 'failed';
        rounds.inc({ outcome });
        return;
      }
      case 'fast-forwarded':
        return;
      case 'gc-step':
        gcSteps.inc({ step: event.step, outcome: event.outcome });
        return;
      case 'membership-step':
        membershipSteps.inc({ operation: event.operation, step: event.step, outcome: event.outcome });
        return;
    }
  };
}

/** One tracer that calls each of `tracers` in order (undefined ones skipped). */
export function teeTracers(...tracers: ReadonlyArray<Tracer | undefined>): Tracer | undefined {
  const present = tracers.filter((t): t is Tracer => t !== undefined);
  if (present.length <= 1) return present[0];
  return (event) => {
    for (const tracer of present) tracer(event);
  };
}
