/**
 * The quorum wait: sends one request to every member at once and feeds each reply to the phase's
 * round as it arrives. Resolves with the round's status as soon as it is decided (won or lost), so
 * a phase never waits for stragglers; the stragglers' replies still reach the callbacks, marked
 * late by the round, which ignores them. An abort rejects with `signal.reason` at once; a callback
 * that throws rejects with its error.
 */
import { abortableWait } from './abort.js';
import type { QuorumStatus } from './core/quorum.js';

export function fanOut<M, R>(
  members: readonly M[],
  call: (member: M) => Promise<R>,
  onReply: (member: M, reply: R) => QuorumStatus,
  onFailure: (member: M, error: unknown) => QuorumStatus,
  signal: AbortSignal | undefined,
): Promise<QuorumStatus> {
  return abortableWait<QuorumStatus>(signal, (resolve, reject) => {
    // A callback that throws (a tracer is user code) fails the phase instead of leaving it
    // pending forever with an unhandled rejection.
    const settle = (status: () => QuorumStatus): void => {
      try {
        const decided = status();
        if (decided !== 'pending') resolve(decided);
      } catch (error) {
        reject(error);
      }
    };
    for (const member of members) {
      let reply: Promise<R>;
      try {
        reply = call(member);
      } catch (error) {
        // An acceptor that throws instead of rejecting is treated like one that rejected.
        reply = Promise.reject(error);
      }
      reply.then(
        (value) => settle(() => onReply(member, value)),
        (error: unknown) => settle(() => onFailure(member, error)),
      );
    }
    return () => {};
  });
}
