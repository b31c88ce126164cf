/**
 * Shrinking the cluster by one acceptor. Paper §2.3: "the same steps should be executed in the
 * reverse order to reduce the size of the cluster", i.e. prepares first. That order is only right
 * when shrinking from an even size (2F+2 to 2F+1). From an odd size (say 5 to 4) a state committed
 * between the identity pass and the last step sits on 3 of the 5 acceptors, possibly including the
 * one leaving: then on only 2 of the 4 left, not a majority of the accept set, and the next shrink
 * (4 to 3, prepare quorums of 2) can prepare on the other two and lose it. The simulator found
 * this (grow-shrink, 3 -> 4 -> 5 -> 4 -> 3: an acknowledged write forked).
 *
 * So shrinking mirrors growing, whatever the size:
 *  1. stop sending accepts to `target` — on every proposer. Safe at once: a prepare quorum of the
 *     N acceptors and an accept quorum of the N - 1 others always meet (their sizes add up to more
 *     than N), and every state committed before is on a quorum of the N, which every prepare
 *     quorum of the N meets;
 *  2. re-write EVERY key by an identity read, so each state is on a quorum of the N - 1;
 *  3. stop sending prepares to `target` — on every proposer. From here on every committed state
 *     is on a majority of the accept set, as after a grow, whatever the next change.
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
    { step: 'remove-accepter', label: '1 (remove accepter)', apply: (p, o) => p.removeAccepter(target, o), revert: (p) => p.addAccepter(target) },
    { step: 'remove-preparer', label: '3 (remove preparer)', apply: (p, o) => p.removePreparer(target, o), revert: (p) => p.addPreparer(target) },
  );
}
