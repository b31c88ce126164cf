/**
 * Growing the cluster by one acceptor, paper §2.3 ("How to change the set of acceptors"), in the
 * paper's order:
 *  1. "update its configuration to send the accept messages to the A_1...A_2F+2 set of acceptors
 *     and to require F+2 confirmations during the accept phase" — on every proposer;
 *  2. "pick any proposer and execute the identity state transaction x -> x" — for EVERY key the
 *     acceptors hold. (The seed re-read one reserved key, so a key written while an acceptor was
 *     down could end up on fewer acceptors than the new size promises: write k while one of A,B,C
 *     is down, grow to D then E, lose A and B, and k was gone.)
 *  3. "update its configuration to send prepare messages to the A_1...A_2F+2 set of acceptors and
 *     to require F+2 confirmations" — on every proposer.
 * Each configuration step resolves only when no attempt runs under the replaced configuration, so
 * every proposal of the next step already sees the new sets. On failure the completed steps are
 * undone in reverse order, which only ever moves back through configurations this process passes
 * through, so the cluster is safe at every point.
 */
import type { Acceptor, ConfigurationChanger } from '../roles.js';
import type { MembershipOptions } from './options.js';
import { changeMembership } from './change-membership.js';

/**
 * Adds `target` to the cluster served by `proposers`, which must be every proposer of the cluster.
 * Rejects with `StepFailedError` (the failed step in `step`, the reason in `cause`) after undoing
 * the steps that completed, or with `signal.reason` when aborted (also after undoing).
 */
export function growCluster(target: Acceptor, proposers: readonly ConfigurationChanger[], opts: MembershipOptions = {}): Promise<void> {
  return changeMembership(
    'grow',
    target,
    proposers,
    opts,
    { step: 'add-accepter', label: '1 (add accepter)', apply: (p, o) => p.addAccepter(target, o), revert: (p) => p.removeAccepter(target) },
    { step: 'add-preparer', label: '3 (add preparer)', apply: (p, o) => p.addPreparer(target, o), revert: (p) => p.removePreparer(target) },
  );
}
