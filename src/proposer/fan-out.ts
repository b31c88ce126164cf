/**
 * The quorum wait: sends one request to every member at once and feeds each reply to the phase's
 * round as it arrives. Resolves with the round's status as soon as it is decided (won or lost), so
 * a phase never waits for stragglers; the stragglers' replies still reach the callbacks, marked
 * late by the round, which ignores them. An abort rejects with `signal.reason` at once; a callback
 * that throws (a tracer is user code) rejects with its error instead of leaving the phase pending.
 *
 * On the hot path of every proposal: one promise and one pair of callbacks per member, nothing else.
 */
import type { QuorumStatus } from '../core/quorum.js';
import { type TrustedAcceptor, trustedAcceptorOf } from '../acceptor/in-process.js';
import { keptFailure } from './round-failure.js';

export function fanOut<M, R>(
  members: readonly M[],
  call: (member: M) => Promise<R>,
  onReply: (member: M, reply: R) => QuorumStatus,
  onFailure: (member: M, error: unknown) => QuorumStatus,
  signal: AbortSignal | undefined,
): Promise<QuorumStatus> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  let resolve!: (status: QuorumStatus) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<QuorumStatus>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  let settled = false;
  const onAbort = (): void => finish(undefined, signal?.reason);
  const finish = (status: QuorumStatus | undefined, error?: unknown): void => {
    if (settled) return;
    settled = true;
    signal?.removeEventListener('abort', onAbort);
    if (status === undefined) reject(error);
    else resolve(status);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  for (const member of members) {
    let reply: Promise<R>;
    try {
      reply = call(member);
    } catch (error) {
      // An acceptor that throws instead of rejecting is treated like one that rejected.
      reply = Promise.reject(error);
    }
    reply.then(
      (value) => {
        try {
          const status = onReply(member, value);
          if (status !== 'pending') finish(status);
        } catch (error) {
          finish(undefined, error);
        }
      },
      (error: unknown) => {
        try {
          const status = onFailure(member, error);
          if (status !== 'pending') finish(status);
        } catch (failure) {
          finish(undefined, failure);
        }
      },
    );
  }
  return promise;
}

/** What `feedInProcess` feeds: a phase's round (`PrepareRound`, `AcceptRound`), or a read's peeks. */
export interface PhaseRound<R, M = unknown> {
  /** Records `member`'s reply. */
  onReply(reply: R, member: M): QuorumStatus;
  onUnreachable(): QuorumStatus;
  lastFailure: unknown;
}

/**
 * The in-process part of a phase: calls the members that offer the trusted path
 * (`trustedAcceptorOf`, see `acceptor/in-process`) synchronously, through `request`, and feeds their
 * replies to `round` at once, in member order. Returns the other members, which the caller sends
 * to as usual (`fanOut`), or `undefined` when there are none. No promise and no callback is made
 * per in-process member.
 */
export function feedInProcess<M extends object, R>(members: readonly M[], round: PhaseRound<R, M>, request: { sendTrusted(member: TrustedAcceptor): R }): M[] | undefined {
  let others: M[] | undefined;
  for (const member of members) {
    const trusted = trustedAcceptorOf(member);
    if (trusted === undefined) {
      (others ??= []).push(member);
      continue;
    }
    let reply: R;
    try {
      reply = request.sendTrusted(trusted);
    } catch (error) {
      // As in `fanOut`: an acceptor that throws counts as one that could not be reached.
      round.lastFailure = keptFailure(round.lastFailure, error);
      round.onUnreachable();
      continue;
    }
    round.onReply(reply, member);
  }
  return others;
}
