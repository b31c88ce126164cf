/**
 * Which states are chosen, told from the accepted states the accepters report one at a time (a
 * proposer's watch of a key).
 *
 * A state accepted by a majority of the accepters under one ballot is chosen: every later prepare
 * quorum meets that majority and sees it (paper §2.2: the proposer "picks the value of the tuple
 * with the highest ballot number"), so every state accepted later descends from it. A state only
 * some accepters report may never be chosen, and is not reported until a majority do.
 */
import { type Ballot, compareBallots, formatBallot, isZeroBallot } from './ballot.js';
import type { AcceptedState } from './messages.js';
import { QuorumTally, majority } from './quorum.js';

/** The accepters that reported one ballot, and the state under it. */
interface Votes {
  readonly chosen: AcceptedState;
  /** Each accepter counts once, however often it reports the ballot. */
  readonly voters: Set<number>;
  readonly tally: QuorumTally;
}

/**
 * Detects the states chosen after a baseline, in ballot order. Accepters are numbered 0 to
 * `accepters - 1`. Until `start` gives the baseline (the state a read found), reports are only
 * collected; afterwards a report that completes a majority above the last chosen ballot returns
 * that state. Ballots at or below the last chosen one are ignored: their states are older.
 */
export class ChosenDetector {
  readonly #votes = new Map<string, Votes>();
  /** Each accepter whose reports ended, as a vote against a majority still answering. */
  readonly #reachable: QuorumTally;
  #last: Ballot | undefined;

  constructor(readonly accepters: number) {
    this.#reachable = new QuorumTally(accepters, majority(accepters));
  }

  /** The ballot of the last chosen state (or of the baseline); `undefined` before `start`. */
  get last(): Ballot | undefined {
    return this.#last;
  }

  /**
   * Accepter `voter` reports `accepted`. Returns it when this report makes it chosen (and newer
   * than the last chosen state), else `undefined`.
   */
  report(voter: number, accepted: AcceptedState): AcceptedState | undefined {
    const { ballot } = accepted;
    if (isZeroBallot(ballot) || (this.#last !== undefined && compareBallots(ballot, this.#last) <= 0)) return undefined;
    const id = formatBallot(ballot);
    let votes = this.#votes.get(id);
    if (votes === undefined) {
      votes = { chosen: accepted, voters: new Set(), tally: new QuorumTally(this.accepters, majority(this.accepters)) };
      this.#votes.set(id, votes);
    }
    if (votes.voters.has(voter)) return undefined;
    votes.voters.add(voter);
    // Before the baseline, only collect.
    if (votes.tally.vote(true) !== 'won' || this.#last === undefined) return undefined;
    this.#choose(ballot);
    return votes.chosen;
  }

  /**
   * The baseline: `read`, a state known to be chosen. Returns the states a majority reported
   * under higher ballots meanwhile, in ballot order (each chosen after the one before).
   */
  start(read: AcceptedState): AcceptedState[] {
    this.#choose(read.ballot);
    const chosen = Array.from(this.#votes.values())
      .filter((votes) => votes.tally.status === 'won')
      .map((votes) => votes.chosen)
      .sort((a, b) => compareBallots(a.ballot, b.ballot));
    if (chosen.length > 0) this.#choose((chosen.at(-1) as AcceptedState).ballot);
    return chosen;
  }

  /**
   * One more accepter stopped reporting (each stops at most once). Returns false once too few
   * still report for a majority to be seen again.
   */
  accepterStopped(): boolean {
    return this.#reachable.vote(false) !== 'lost';
  }

  /** `ballot` is chosen: forget the votes at or below it. */
  #choose(ballot: Ballot): void {
    this.#last = ballot;
    for (const [id, votes] of this.#votes) if (compareBallots(votes.chosen.ballot, ballot) <= 0) this.#votes.delete(id);
  }
}
