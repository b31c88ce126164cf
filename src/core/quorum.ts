/**
 * Quorum arithmetic.
 *
 * Paper §2.2: the proposer "waits for F+1 confirmations" out of 2F+1 acceptors. During a membership
 * change the prepare and accept sets differ in size (2F+1 and 2F+2, paper §2.3), and each phase
 * needs a majority of its own set: F+1 of 2F+1 and F+2 of 2F+2 still intersect. A majority of an
 * empty set does not exist: an empty list of acceptors is a configuration error, never a quorum.
 */

/**
 * `pending` until enough replies decide: `won` (a quorum confirmed) or `lost` (a quorum is out of
 * reach).
 */
export type QuorumStatus = 'pending' | 'won' | 'lost';

/** floor(n/2)+1: the smallest number of members any two of which intersect. Throws for n < 1. */
export function majority(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`a quorum needs at least one member, got ${n}`);
  return (n >> 1) + 1;
}

/**
 * Counts the replies of one phase: `won` as soon as `needed` members said yes, `lost` as soon as so
 * many said no (or failed to answer) that `needed` yeses are out of reach. Once decided, the status
 * never changes: replies that arrive late are counted but change nothing.
 */
export class QuorumTally {
  /** Members that said yes. */
  yes = 0;
  /** Members that said no or failed to answer. */
  no = 0;
  /** The decision; once not `pending`, it never changes. */
  status: QuorumStatus = 'pending';

  constructor(
    /** Members asked. */
    readonly total: number,
    /** Yeses needed to win: `majority(total)` for a phase of CASPaxos. */
    readonly needed: number,
  ) {
    if (!Number.isSafeInteger(needed) || needed < 1 || needed > total) {
      throw new RangeError(`a quorum of ${needed} out of ${total} members is impossible`);
    }
  }

  /** Records one reply and returns the (possibly unchanged) status. */
  vote(ok: boolean): QuorumStatus {
    if (this.yes + this.no >= this.total) throw new RangeError(`more than ${this.total} votes: a member answered twice`);
    if (ok) this.yes++;
    else this.no++;
    if (this.status === 'pending') {
      if (this.yes >= this.needed) this.status = 'won';
      else if (this.total - this.no < this.needed) this.status = 'lost';
    }
    return this.status;
  }

  /** Replies still outstanding. */
  get outstanding(): number {
    return this.total - this.yes - this.no;
  }
}
