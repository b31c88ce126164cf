/**
 * The read path of `MemoryProposer.identityRead`: a read that writes nothing when it can.
 *
 *  1. Eligibility. Only while the preparers and the accepters are the same set (no membership
 *     change in progress, paper §2.3: during one, a majority of the preparers is not a majority of
 *     the accepters, and agreement among preparers would not show that a state is chosen), and
 *     only when every preparer offers `peek` (`Peeker`, optional: a third-party acceptor without
 *     it is read through the full round).
 *  2. One round trip: every preparer is asked for its accepted ballot and state, without a promise
 *     (`acceptorRules.peek`; no ballot is taken, so this is not an attempt). The replies feed a
 *     `PeekRound`, which decides as soon as one ballot has a quorum of agreeing replies (the state
 *     under it is chosen and is the register's state at a point inside the read: the proof is in
 *     `core/peek-round`) or no ballot can reach one any more; stragglers are not waited for.
 *  3. Otherwise (replies under different ballots, failures, an acceptor that does not know the
 *     request: `UnsupportedError`) the caller runs the full identity round, prepare and write-back
 *     (paper §2.2), exactly as before: `fastRead` resolves with `undefined`.
 *
 * The read runs under the proposer's configuration like an attempt (`Configuration.enter`), so a
 * membership change waits for it as it waits for attempts, and the configuration it checked is the
 * one it used.
 *
 * ## Durability
 * A peek must report only durable state (F4 of `core/peek-round`): otherwise a read could return a
 * state an acceptor later loses in a crash, and a quorum that "agreed" would not hold it.
 *  - `MemoryAcceptor`: the state is the state (nothing is durable; a restart forgets everything).
 *  - `StoreAcceptor` (LMDB, any `AcceptorStore`, with group commit): a peek takes the key's lock
 *    like every operation; a prepare or accept releases it only once its group's write is durable,
 *    so a peek behind a pending commit answers after the commit.
 *  - `RedisAcceptor` with `appendfsync always`: the peek is a read-only script; Redis writes and
 *    fsyncs the AOF of an event-loop iteration before it sends any reply of that iteration, and
 *    exits if that fsync fails, so a reply never shows a write that is not on disk.
 *  - HTTP acceptors answer with their acceptor's reply.
 *
 * Traces one `fast-read` event per read that tried: `hit` (answered from the peeks) or `fallback`
 * with the reason, so metrics can count both.
 */
import type { PeekReply } from '../core/messages.js';
import { type FastReadFallback, PeekRound } from '../core/peek-round.js';
import type { QuorumStatus } from '../core/quorum.js';
import { UnsupportedError } from '../errors.js';
import type { Acceptor, Peeker, ProposeResult } from '../roles.js';
import type { Tracer } from '../tracer.js';
import type { Configuration } from './configuration.js';
import { fanOut, feedInProcess } from './fan-out.js';

/** What `fastRead` needs of its proposer. */
export interface FastReadContext {
  /** The proposer's id, for traces. */
  readonly proposer: string;
  readonly tracer: Tracer | undefined;
  /**
   * Whether to call in-process `MemoryAcceptor`s through their trusted path (see
   * `MemoryProposerOptions.inProcess`; off while a tracer is set).
   */
  readonly inProcess: boolean;
}

/**
 * Whether a read of this configuration may be answered from peeks: the same acceptors prepare and
 * accept, and every one of them can peek. `reconfiguring` or `unsupported` when not.
 */
export function fastReadBlocker(config: Configuration): FastReadFallback | undefined {
  // A configuration never changes (a reconfiguration makes a new one): decide once per configuration.
  let blocker = blockers.get(config);
  if (blocker === undefined) blockers.set(config, (blocker = blockerOf(config) ?? 'none'));
  return blocker === 'none' ? undefined : blocker;
}

/** `fastReadBlocker`'s verdicts, per configuration. */
const blockers = new WeakMap<Configuration, FastReadFallback | 'none'>();

function blockerOf(config: Configuration): FastReadFallback | undefined {
  const { preparers, accepters } = config;
  if (preparers !== accepters) {
    if (preparers.length !== accepters.length) return 'reconfiguring';
    const addresses = new Set(accepters.map((a) => a.address));
    for (const p of preparers) if (!addresses.has(p.address)) return 'reconfiguring';
  }
  for (const p of preparers) if (typeof p.peek !== 'function') return 'unsupported';
  return undefined;
}

/**
 * Reads `key` from peeks at the preparers of `config` (see the module comment). Resolves with the
 * state and the ballot it was accepted under (`ZERO_BALLOT` when a quorum holds nothing), or with
 * `undefined` when the caller must run the full identity round. Rejects only when `signal`
 * aborts (or a tracer throws). Synchronous, without a promise, when every preparer is an
 * in-process `MemoryAcceptor`.
 */
export function fastRead(
  key: string,
  config: Configuration,
  context: FastReadContext,
  signal: AbortSignal | undefined,
): ProposeResult | undefined | Promise<ProposeResult | undefined> {
  const { tracer } = context;
  const blocker = fastReadBlocker(config);
  if (blocker !== undefined) {
    tracer?.({ type: 'fast-read', proposer: context.proposer, key, outcome: 'fallback', reason: blocker, from: [] });
    return undefined;
  }
  const { preparers } = config;
  const round = new PeekRound(preparers.length);
  config.enter();
  let others: readonly Acceptor[] | undefined = preparers;
  if (context.inProcess) {
    others = peekInProcess(preparers, key, round);
    if (others === undefined || round.status !== 'pending') {
      config.leave();
      return outcome(key, round, context);
    }
  }
  return peekRemote(others, key, round, signal).then(
    () => {
      config.leave();
      return outcome(key, round, context);
    },
    (error: unknown) => {
      config.leave();
      throw error;
    },
  );
}

/** Peeks synchronously at the members offering the in-process path (`feedInProcess`); returns the others. */
function peekInProcess(members: readonly Acceptor[], key: string, round: PeekRound): Acceptor[] | undefined {
  const phase = {
    lastFailure: undefined as unknown,
    onReply: (reply: PeekReply, member: Acceptor) => round.onReply(reply, member.address),
    onUnreachable: () => round.onUnreachable(phase.lastFailure),
  };
  return feedInProcess(members, phase, { sendTrusted: (trusted) => trusted.peek(key) });
}

/** Peeks at the other members through their public `peek`; resolves once the round is decided. */
function peekRemote(members: readonly Acceptor[], key: string, round: PeekRound, signal: AbortSignal | undefined): Promise<QuorumStatus> {
  const options = signal === undefined ? undefined : { signal };
  return fanOut(
    members,
    // Eligibility checked that every member has `peek`.
    (acceptor) => (acceptor as Acceptor & Peeker).peek(key, options),
    (acceptor, reply) => round.onReply(reply, acceptor.address),
    (_, error) => round.onUnreachable(error, error instanceof UnsupportedError),
    signal,
  );
}

/** The read's result from a decided round, traced; `undefined` to fall back. */
function outcome(key: string, round: PeekRound, context: FastReadContext): ProposeResult | undefined {
  const agreed = round.agreed;
  if (agreed === undefined) {
    context.tracer?.({ type: 'fast-read', proposer: context.proposer, key, outcome: 'fallback', reason: round.fallback, from: [] });
    return undefined;
  }
  context.tracer?.({ type: 'fast-read', proposer: context.proposer, key, outcome: 'hit', accepted: agreed.accepted, state: agreed.state, from: agreed.from });
  return { state: agreed.state, ballot: agreed.accepted };
}

