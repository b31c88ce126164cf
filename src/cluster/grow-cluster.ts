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
import { InvalidArgumentError } from '../errors.js';
import type { Acceptor, ConfigurationChanger } from '../roles.js';
import type { MembershipOptions } from './options.js';
import { UndoStack, assertNonEmpty, changeEach, identityPass, pick, runStep } from './steps.js';

/**
 * Adds `target` to the cluster served by `proposers`, which must be every proposer of the cluster.
 * Rejects with `StepFailedError` (the failed step in `step`, the reason in `cause`) after undoing
 * the steps that completed, or with `signal.reason` when aborted (also after undoing).
 */
export async function growCluster(
  target: Acceptor,
  proposers: readonly ConfigurationChanger[],
  opts: MembershipOptions = {},
): Promise<void> {
  assertNonEmpty(proposers, 'proposers');
  if (typeof target?.address !== 'string') throw new InvalidArgumentError('target must be an acceptor');
  const op = { operation: 'grow', target: target.address } as const;
  const callOptions = opts.signal === undefined ? {} : { signal: opts.signal };
  const undo = new UndoStack();
  try {
    await runStep(op, 'add-accepter', '1 (add accepter)', opts, () =>
      changeEach(proposers, (p) => p.addAccepter(target, callOptions), (p) => p.removeAccepter(target), undo, opts.signal),
    );
    await runStep(op, 'identity-pass', '2 (identity pass)', opts, () => identityPass(pick(proposers, opts.random), opts));
    await runStep(op, 'add-preparer', '3 (add preparer)', opts, () =>
      changeEach(proposers, (p) => p.addPreparer(target, callOptions), (p) => p.removePreparer(target), undo, opts.signal),
    );
  } catch (error) {
    await undo.run(op, opts);
    throw error;
  }
}
