/**
 * Ancestry: which proposers' states a state was computed from, and what that tells a proposer
 * whose accept had an unknown outcome. An extension of the paper (see `Promised.ancestry`): an
 * acceptor stores each state's ancestry with it (`acceptor-rules`) and reports it with its
 * promise; the proposer builds the ancestry of each state it sends (`ancestryOf`) and, after an
 * unknown outcome, reads its next prepare quorum's to decide whether its change took effect
 * (`recoveryDecision`).
 */
import { type Ballot, ballotEquals, compareBallots } from './ballot.js';

/**
 * The id of the floor entry of an ancestry: its ballot bounds every ancestor not listed (dropped
 * to keep the ancestry short, or unknown because an acceptor did not report it). Not a valid
 * proposer id.
 */
export const ANCESTRY_FLOOR_ID = '…';

/** The most proposer entries an ancestry keeps; beyond, the lowest go into the floor entry. */
export const ANCESTRY_LIMIT = 32;

/** The ancestry of the empty state: nothing. */
export const NO_ANCESTRY: readonly Ballot[] = Object.freeze([]);

/**
 * The ancestry of a state accepted under `ballot` and computed from the state accepted under
 * `parentBallot`, whose ancestry is `parent` (see `Promised.ancestry`): for each proposer other
 * than the state's own, its highest ballot among the state's ancestors (the parent, its parent,
 * ...). The state's own proposer is left out: its own ballot is its highest, and is known. So a key
 * written by one proposer has an empty ancestry. `parent` undefined means unknown (an acceptor
 * that does not keep ancestries): then `parentBallot` bounds every earlier ancestor and goes into
 * the floor entry. Frozen, so acceptors in one process can share it.
 */
export function ancestryOf(ballot: Ballot, parent: readonly Ballot[] | undefined, parentBallot: Ballot): readonly Ballot[] {
  // The common case, one proposer writing the key: nothing to record.
  if (parent !== undefined && parent.length === 0 && (parentBallot.counter === 0 || parentBallot.id === ballot.id)) return NO_ANCESTRY;
  const entries: Ballot[] = [];
  let floor: Ballot | undefined;
  if (parent === undefined) {
    if (parentBallot.counter > 0) floor = { counter: parentBallot.counter, id: ANCESTRY_FLOOR_ID };
  } else {
    for (const b of parent) {
      if (b.id === ANCESTRY_FLOOR_ID) floor = b;
      else if (b.id !== ballot.id && b.id !== parentBallot.id) entries.push(b);
    }
  }
  // The parent is an ancestor too, and the highest of its proposer's among them.
  if (parentBallot.counter > 0 && parentBallot.id !== ballot.id) entries.push(parentBallot);
  while (entries.length > ANCESTRY_LIMIT) {
    let lowest = 0;
    for (let i = 1; i < entries.length; i++) if (compareBallots(entries[i] as Ballot, entries[lowest] as Ballot) < 0) lowest = i;
    const [dropped] = entries.splice(lowest, 1) as [Ballot];
    if (floor === undefined || dropped.counter > floor.counter) floor = { counter: dropped.counter, id: ANCESTRY_FLOOR_ID };
  }
  if (floor !== undefined) entries.unshift(floor);
  return entries.length === 0 ? NO_ANCESTRY : Object.freeze(entries);
}

/**
 * What a proposer whose accept had an unknown outcome learns from its next prepare round (an
 * extension of the paper, built on `Promised.ancestry`).
 *
 * `ours` lists the ballots, all this proposer's, of every state that may contain the round's
 * changes: each accept of them with an unknown outcome (after `reapply` the changes are applied
 * afresh and that accept is added; the older ones stay, since until the fresh one commits an
 * older one may still be adopted), and each state found to contain them and committed again. The
 * proposer runs one round per key at a time and its ballots only grow, so any of its ballots above
 * the oldest of `ours` in an ancestry is one of `ours`. `highest` is the highest accepted ballot in
 * the new prepare quorum and `ancestry` that state's (`undefined` when unreported); `mine`, below,
 * is this proposer's highest ballot among that state and its ancestors (`highest` itself when the
 * state is this proposer's, else its entry in the ancestry).
 *  - `current`: the quorum's state is one of ours; commit it again and the changes took effect.
 *  - `adopted`: `mine` is one of ours, an ancestor of the quorum's state, which therefore contains
 *    the changes; commit it again and they took effect (before those of the states after ours).
 *  - `reapply`: `mine` is below the oldest of ours (or absent, and every ancestor not listed is
 *    below it): none of ours is an ancestor, so none was chosen (a chosen state is seen by every
 *    quorum, and every state accepted later descends from it). Once the changes applied afresh
 *    commit under a higher ballot, all of ours are buried for good: they take effect exactly once.
 *  - `undecidable`: the ancestry is missing, or does not reach far enough, to tell.
 */
export type RecoveryDecision =
  | {
      /** The changes took effect: commit the quorum's state again (see above). */
      readonly decision: 'current' | 'adopted';
      /** Which of `ours` is (an ancestor of) the quorum's state. */
      readonly match: number;
    }
  | {
      /** The changes did not take effect (`reapply` them), or the replies cannot tell. */
      readonly decision: 'reapply' | 'undecidable';
    };

/**
 * Decides, from a prepare round's highest accepted ballot and its ancestry, whether the earlier
 * accepts `ours` took effect (see `RecoveryDecision`).
 */
export function recoveryDecision(ours: readonly Ballot[], highest: Ballot, ancestry: readonly Ballot[] | undefined): RecoveryDecision {
  const first = ours[0];
  if (first === undefined) return { decision: 'reapply' };
  let oldest = first;
  for (const b of ours) if (compareBallots(b, oldest) < 0) oldest = b;
  const indexOf = (b: Ballot): number => ours.findIndex((o) => ballotEquals(o, b));
  const current = indexOf(highest);
  if (current >= 0) return { decision: 'current', match: current };
  if (compareBallots(highest, oldest) < 0) return { decision: 'reapply' };
  if (ancestry === undefined) return { decision: 'undecidable' };
  // The state's own proposer is not in its ancestry: its own ballot is its highest.
  const mine = highest.id === first.id ? highest : ancestry.find((b) => b.id === first.id);
  if (mine !== undefined) {
    const match = indexOf(mine);
    if (match >= 0) return { decision: 'adopted', match };
    return { decision: compareBallots(mine, oldest) < 0 ? 'reapply' : 'undecidable' };
  }
  const floor = ancestry.find((b) => b.id === ANCESTRY_FLOOR_ID);
  return { decision: floor === undefined || floor.counter < oldest.counter ? 'reapply' : 'undecidable' };
}
