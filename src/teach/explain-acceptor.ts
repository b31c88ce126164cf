/**
 * Why an acceptor answered a request as it did, in one line: the rule it applied and the
 * comparison that decided, e.g. `a2: accept 1/p1 refused: promised 1/p2 > 1/p1` or
 * `a1: prepare 2/p1 promised: 2/p1 > promise 1/p2; reports accepted 1/p2 "v"`.
 *
 * The comparisons are those of `core/acceptor-rules` (quoted there from the paper, §2.2 and
 * §3.1), read off the record the acceptor held before the request (`RequestObservation.before`);
 * the verdict is the acceptor's own reply, never recomputed here.
 */
import { type Ballot, ZERO_BALLOT, ballotEquals, compareBallots, isZeroBallot } from '../core/ballot.js';
import { ageText, ballotText, displayName, previewState } from '../trace/text.js';
import type { RequestObservation } from './observed-acceptor.js';

/**
 * The line that explains `observation`. `withKey` names the key (when a cluster has several, a
 * line without it would be ambiguous).
 */
export function explainRequest(observation: RequestObservation, withKey: boolean): string {
  const { acceptor, request, before, floor, minimumAge, reply } = observation;
  const on = (key: string): string => (withKey ? ` on ${displayName(key)}` : '');
  switch (request.method) {
    case 'prepare':
    case 'accept': {
      const what = `${acceptor}: ${request.method} ${ballotText(request.ballot)}${on(request.key)}`;
      if (reply?.type === 'age') {
        // Paper §3.1 step c: after a garbage collection, messages of older ages are fenced off.
        return `${what} refused: ${request.age.id}'s age ${request.age.counter} < ${minimumAge}, the minimum garbage collection set (paper §3.1 step c): an old message must not land after the key was removed`;
      }
      // An absent key behaves as promised at the floor garbage collection left (`absentRecord`).
      const promise = before?.promise ?? floor;
      const accepted = before?.accepted ?? ZERO_BALLOT;
      const absent = before === undefined && !isZeroBallot(floor) ? ` (no record: an absent key acts as promised ${ballotText(floor)})` : '';
      const b = ballotText(request.ballot);
      if (reply?.type === 'conflict') return `${what} refused: ${refusal(request.method, request.ballot, promise, accepted)}${absent}`;
      if (request.method === 'prepare' && reply?.type === 'promised') {
        const reports = isZeroBallot(reply.accepted) ? 'reports nothing accepted' : `reports accepted ${ballotText(reply.accepted)} ${previewState(reply.state)}`;
        return `${what} promised: ${b} > promise ${ballotText(promise)}${absent}; ${reports}`;
      }
      if (request.method === 'accept' && reply?.type === 'accepted') {
        const next = reply.promised === undefined ? '' : ` and promises ${ballotText(reply.promised)} for ${request.ballot.id}'s next round (one round trip, paper §2.2.1)`;
        return `${what} accepted: ${b} ≥ promise ${ballotText(promise)}, > accepted ${ballotText(accepted)}${absent}; stores ${previewState(request.state)}${next}`;
      }
      return `${what}: ${reply?.type ?? 'no reply'}`;
    }
    case 'removeIfEqual': {
      const what = `${acceptor}: removeIfEqual ${displayName(request.key)} at ${ballotText(request.tombstone)}`;
      switch (reply?.type) {
        case 'removed':
          return `${what} removed: it holds the tombstone accepted at ${ballotText(request.tombstone)}; its promise ${ballotText(before?.promise ?? ZERO_BALLOT)} survives as the promise of absent keys`;
        case 'not-equal':
          return ballotEquals(reply.accepted, request.tombstone)
            ? `${what} kept: it holds a value at ${ballotText(reply.accepted)}, not a tombstone`
            : `${what} kept: it accepted ${ballotText(reply.accepted)}, not the tombstone's ${ballotText(request.tombstone)} (a write after the delete)`;
        case 'absent':
          return `${what}: no record to remove`;
        default:
          return `${what}: ${reply?.type ?? 'no reply'}`;
      }
    }
    case 'rejectByAge':
      return `${acceptor}: rejectByAge: from now on refuses ${request.ages.map((a) => `${displayName(a.id)} younger than ${ageText(a)}`).join(', ')} (paper §3.1 step c)`;
  }
}

/**
 * Which comparison refused `ballot`. Prepare (phase 1b) needs `ballot > promise` and
 * `ballot > accepted`; accept (phase 2b) needs `ballot ≥ promise` and `ballot > accepted`.
 */
function refusal(method: 'prepare' | 'accept', ballot: Ballot, promise: Ballot, accepted: Ballot): string {
  const b = ballotText(ballot);
  const toPromise = compareBallots(ballot, promise);
  if (method === 'prepare' ? toPromise <= 0 : toPromise < 0) {
    return toPromise === 0 ? `already promised ${b} (a ballot is promised once: a repeated prepare is refused)` : `promised ${ballotText(promise)} > ${b}`;
  }
  const toAccepted = compareBallots(ballot, accepted);
  return toAccepted === 0 ? `already accepted ${b} (a duplicate)` : `accepted ${ballotText(accepted)} > ${b}`;
}
