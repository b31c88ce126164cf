/**
 * Deleting a key for good, paper §3.1 ("How to delete a record"). A delete itself is a proposal
 * that writes the empty state (`null`, a tombstone); this removes the tombstone's records:
 *  a. "Replicates an empty value to all nodes by executing the identity transform with max quorum
 *     size (2F+1)": a full identity read, which also yields the tombstone's ballot. A non-empty
 *     state stops here with a non-retryable `NotTombstoneError`.
 *  b. "Connects to each proposer, invalidates its cache associated with the removing key,
 *     fast-forwards its counter to guarantee that new ballot numbers are greater than the
 *     tombstone's ballot, and increments proposer's age." A proposer refuses a tombstone more than
 *     2^32 counters ahead of its own (`BallotsExhaustedError`, reason `far-ahead`, not retryable;
 *     see `ProposerBallots.forward`): the collection stops here, before step d could make that
 *     ballot every acceptor's tombstone floor, which every absent key answers with. Step b is for
 *     liveness only (the acceptors' floor, not the proposers' counters, keeps later ballots above
 *     the tombstone), so stopping here is safe: nothing was removed.
 *  c. "For each acceptor, asks to reject messages from proposers if their age is younger than the
 *     corresponding age from the previous step." Minimums only rise (the seed overwrote them).
 *  d. "Removes the register from each acceptor if it contains the tombstone from the 1st step":
 *     if its accepted ballot is the tombstone's and its state empty (the seed compared values,
 *     which also removed a newer tombstone and let an older value come back). A non-empty state
 *     under the tombstone's ballot stops with `NotTombstoneError` (see step d below).
 * Every step is idempotent, so a failed collection can simply run again from the start. As in the
 * seed (`makeRetryable` around steps a-c), a failure of steps a-c is retryable unless it is a
 * verdict (`NotTombstoneError`, or any error marked `retryable: false`): a plain `Error` from a
 * caller's own transport says only that a proposer or acceptor was not reached. Step d keeps its
 * cause's flag: a `NotEqualError` is retryable exactly when the kept record is newer.
 */
import { ballotEquals, compareBallots } from '../core/ballot.js';
import type { Age } from '../core/age.js';
import { BallotsExhaustedError, InvalidArgumentError, NotEqualError, NotTombstoneError } from '../errors.js';
import type { Addresser, FastForwarder, Peeker, RejectRemover } from '../roles.js';
import { assertKey } from '../internal/validate.js';
import type { OrchestrationOptions } from './options.js';
import { assertNonEmpty, pick, retryableUnlessFinal, runStep, settleAll } from './steps.js';

/**
 * Removes `key` from `acceptors`, which must be every acceptor of the cluster, after fencing off
 * every proposer in `proposers`, which must be every proposer of the cluster. Rejects with a
 * `StepFailedError` naming the step; retry when `isRetryable(error)` (steps a-c: unless the cause
 * is a verdict, see above). A proposer restarted later
 * must use a new id (its age starts again at 0); acceptors also keep the highest removed promise
 * as a floor for absent keys, so such a proposer cannot write below the tombstone either.
 */
export function garbageCollect(
  key: string,
  proposers: readonly FastForwarder[],
  acceptors: readonly (RejectRemover & Addresser)[],
  opts: OrchestrationOptions = {},
): Promise<void> {
  return collectKey(key, proposers, acceptors, opts, raiseAgesAtEach(acceptors));
}

/** Step c as the paper has it: one `rejectByAge` per acceptor, for this collection alone. */
export function raiseAgesAtEach(acceptors: readonly RejectRemover[]): RaiseAges {
  return async (ages, callOptions) => {
    await settleAll(acceptors.map((acceptor) => acceptor.rejectByAge(ages, callOptions)));
  };
}

/**
 * Step c, as `collectKey` runs it: make every acceptor reject the proposers' ages below `ages`,
 * resolving once every acceptor has (at least) those minimums. `garbageCollect` sends them itself;
 * the key-value store's collector may send one raise for several collections (`AgeRaises`).
 */
export type RaiseAges = (ages: readonly Age[], callOptions: { readonly signal?: AbortSignal }) => Promise<void>;

/** `garbageCollect` with step c done by `raiseAges` (see `RaiseAges`). @internal */
export async function collectKey(
  key: string,
  proposers: readonly FastForwarder[],
  acceptors: readonly (RejectRemover & Addresser)[],
  opts: OrchestrationOptions,
  raiseAges: RaiseAges,
): Promise<void> {
  assertKey(key);
  assertNonEmpty(proposers, 'proposers');
  assertNonEmpty(acceptors, 'acceptors');
  for (const acceptor of acceptors) {
    if (typeof acceptor?.removeIfEqual !== 'function') throw new InvalidArgumentError('acceptors must implement RejectRemover');
  }
  const op = { operation: 'gc', key } as const;
  const callOptions = opts.signal === undefined ? {} : { signal: opts.signal };
  const steps = ['a (full identity read)', 'b (fast-forward proposers)', 'c (reject by age)', 'd (remove if equal)'] as const;
  /** Reports step `index` as starting (`steps` done: the ones before it). */
  const starting = (index: number): string => {
    const step = steps[index] as string;
    opts.onProgress?.({ step, unit: 'steps', done: index, total: steps.length });
    return step;
  };

  const tombstone = await runStep(op, 'identity-read', starting(0), opts, async () => {
    const read = await pick(proposers, opts.random).fullIdentityRead(key, callOptions);
    if (read.state !== null) throw new NotTombstoneError(key, read.ballot);
    return { ballot: read.ballot, state: null };
  }, retryableUnlessFinal);

  const ages: Age[] = await runStep(op, 'fast-forward', starting(1), opts, () =>
    settleAll(proposers.map((proposer) => proposer.fastForwardIncrement(key, tombstone.ballot, callOptions))),
  retryableUnlessFinal);

  await runStep(op, 'reject-by-age', starting(2), opts, () => raiseAges(ages, callOptions), retryableUnlessFinal);

  await runStep(op, 'remove', starting(3), opts, async () => {
    const replies = await settleAll(acceptors.map((acceptor) => acceptor.removeIfEqual(key, tombstone, callOptions)));
    // An acceptor also keeps the tombstone itself when the key's promise is far above it (see
    // `acceptorRules.remove`: a hostile ballot must not become every absent key's floor). A peek
    // (where the acceptor has one) tells that from a live state under the tombstone's ballot.
    for (const [i, reply] of replies.entries()) {
      const peek = (acceptors[i] as RejectRemover & Partial<Peeker>).peek?.bind(acceptors[i]);
      if (reply.type !== 'not-equal' || !ballotEquals(reply.accepted, tombstone.ballot) || peek === undefined) continue;
      // An acceptor that cannot peek (an older remote one) leaves the verdict to the replies below.
      const seen = await peek(key, callOptions).catch(() => undefined);
      if (seen?.type === 'peeked' && ballotEquals(seen.accepted, tombstone.ballot) && seen.state === null) {
        throw new BallotsExhaustedError(key, tombstone.ballot.counter, 'far-promise');
      }
    }
    replies.forEach((reply, i) => {
      if (reply.type !== 'not-equal') return;
      // Kept under the tombstone's very ballot: the state accepted under it is not empty (one
      // ballot, one state). Step a's read reported the empty state its own identity change saw,
      // with the ballot of the round that committed it; after an unknown outcome that round may
      // have committed a later state descending from it (a recovery, see `ProposeResult.ballot`).
      // The key holds a value: nothing to collect (and nothing was removed: step d removes only
      // empty states).
      if (ballotEquals(reply.accepted, tombstone.ballot)) throw new NotTombstoneError(key, tombstone.ballot);
      const newer = compareBallots(reply.accepted, tombstone.ballot) > 0;
      throw new NotEqualError(key, (acceptors[i] as Addresser).address, tombstone.ballot, reply.accepted, newer);
    });
  });
  opts.onProgress?.({ step: steps[3], unit: 'steps', done: steps.length, total: steps.length });
}
