/**
 * Shrinking the cluster by one acceptor: paper §2.3, "the same steps should be executed in the
 * reverse order to reduce the size of the cluster":
 *  1. stop sending prepares to `target` (prepare quorums shrink) — on every proposer;
 *  2. re-write EVERY key by an identity read, so each state is on a quorum of the remaining
 *     acceptors and not partly on the one leaving;
 *  3. stop sending accepts to `target` — on every proposer.
 * See `growCluster` for the waiting and undo rules, which are the same.
 */
import type { Acceptor, ConfigurationChanger } from '../roles.js';
import type { MembershipOptions } from './options.js';
import { changeMembership } from './change-membership.js';

/**
 * Removes `target` from the cluster served by `proposers`, which must be every proposer of the
 * cluster. Rejects like `growCluster`. Turn the acceptor off only after this resolves.
 */
export function shrinkCluster(target: Acceptor, proposers: readonly ConfigurationChanger[], opts: MembershipOptions = {}): Promise<void> {
  return changeMembership(
    'shrink',
    target,
    proposers,
    opts,
    { step: 'remove-preparer', label: '1 (remove preparer)', apply: (p, o) => p.removePreparer(target, o), revert: (p) => p.addPreparer(target) },
    { step: 'remove-accepter', label: '3 (remove accepter)', apply: (p, o) => p.removeAccepter(target, o), revert: (p) => p.addAccepter(target) },
  );
}
