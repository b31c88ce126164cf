/**
 * Shrinking the cluster by one acceptor: paper §2.3, "the same steps should be executed in the
 * reverse order to reduce the size of the cluster":
 *  1. stop sending prepares to `target` (prepare quorums shrink) — on every proposer;
 *  2. re-write EVERY key by an identity read, so each state is on a quorum of the remaining
 *     acceptors and not partly on the one leaving;
 *  3. stop sending accepts to `target` — on every proposer.
 * See `growCluster` for the waiting and undo rules, which are the same.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Acceptor, ConfigurationChanger } from '../roles.js';
import type { MembershipOptions } from './options.js';
import { UndoStack, assertNonEmpty, changeEach, identityPass, pick, runStep } from './steps.js';

/**
 * Removes `target` from the cluster served by `proposers`, which must be every proposer of the
 * cluster. Rejects like `growCluster`. Turn the acceptor off only after this resolves.
 */
export async function shrinkCluster(
  target: Acceptor,
  proposers: readonly ConfigurationChanger[],
  opts: MembershipOptions = {},
): Promise<void> {
  assertNonEmpty(proposers, 'proposers');
  if (typeof target?.address !== 'string') throw new InvalidArgumentError('target must be an acceptor');
  const op = { operation: 'shrink', target: target.address } as const;
  const callOptions = opts.signal === undefined ? {} : { signal: opts.signal };
  const undo = new UndoStack();
  try {
    await runStep(op, 'remove-preparer', '1 (remove preparer)', opts, () =>
      changeEach(proposers, (p) => p.removePreparer(target, callOptions), (p) => p.addPreparer(target), undo, opts.signal),
    );
    await runStep(op, 'identity-pass', '2 (identity pass)', opts, () => identityPass(pick(proposers, opts.random), opts));
    await runStep(op, 'remove-accepter', '3 (remove accepter)', opts, () =>
      changeEach(proposers, (p) => p.removeAccepter(target, callOptions), (p) => p.addAccepter(target), undo, opts.signal),
    );
  } catch (error) {
    await undo.run(op, opts);
    throw error;
  }
}
