/**
 * One proposal attempt as two small state machines, fed one acceptor reply at a time.
 *
 * Paper §2.2, the proposer's side of a round:
 *  1. "generates a ballot number B ... and sends a prepare message containing this number";
 *  2. "waits for the F+1 confirmations. If they all contain the empty value, then the proposer
 *     defines the current state as ∅ otherwise it picks the value of the tuple with the highest
 *     ballot number";
 *  3. "applies the change function to the current state" and "sends the value with the B ballot
 *     number to the acceptors (the accept message)";
 *  4. "waits for the F+1 confirmations" and "returns the new state to the client".
 *
 * The rounds decide as soon as the outcome is known and then ignore further replies: a late
 * promise must not change the state the change function already saw.
 *
 * Pure module: no I/O, safe in browsers and notebooks.
 */
import type { Age } from './age.js';
import { type Ballot, ZERO_BALLOT, compareBallots } from './ballot.js';
import type { AcceptReply, Conflict, PrepareReply, State } from './messages.js';
import { QuorumTally, type QuorumStatus } from './quorum.js';

/** What a round learned from rejections: used to fast-forward and to explain a failure. */
abstract class Round {
  readonly tally: QuorumTally;
  /** The highest ballot any conflict reported; `ZERO_BALLOT` if none. */
  highestConflict: Ballot = ZERO_BALLOT;
  /** The latest conflict reply, kept to explain a lost round. */
  lastConflict: Conflict | undefined;
  /** The highest minimum age any acceptor required, when some rejected the proposer's age. */
  requiredAge: Age | undefined;
  /** Acceptors whose call failed (unreachable, timed out, refused). */
  unreachable = 0;

  constructor(
    readonly ballot: Ballot,
    members: number,
    needed: number,
  ) {
    this.tally = new QuorumTally(members, needed);
  }

  get status(): QuorumStatus {
    return this.tally.status;
  }

  /** Records a failed call: it counts against the quorum, like a rejection. */
  onUnreachable(): QuorumStatus {
    if (this.tally.status !== 'pending') return this.tally.status;
    this.unreachable++;
    return this.tally.vote(false);
  }

  protected reject(reply: Conflict | { readonly type: 'age'; readonly required: Age }): QuorumStatus {
    if (reply.type === 'conflict') {
      if (compareBallots(reply.ballot, this.highestConflict) > 0) this.highestConflict = reply.ballot;
      this.lastConflict = reply;
    } else if (this.requiredAge === undefined || reply.required.counter > this.requiredAge.counter) {
      this.requiredAge = reply.required;
    }
    return this.tally.vote(false);
  }
}

/**
 * Phase 1 of an attempt. Once `won`, `state` is the current state (paper step 2): the state of the
 * promise with the highest accepted ballot among the quorum, or `null` if none accepted anything.
 */
export class PrepareRound extends Round {
  /** The highest accepted ballot among the promises counted. */
  highestAccepted: Ballot = ZERO_BALLOT;
  /** The state accepted under `highestAccepted`. */
  state: State = null;

  onReply(reply: PrepareReply): QuorumStatus {
    if (this.tally.status !== 'pending') return this.tally.status;
    if (reply.type !== 'promised') return this.reject(reply);
    // Strictly greater: two promises can only carry the same accepted ballot with the same state,
    // because one ballot is accepted with one value (every attempt has its own ballot).
    if (compareBallots(reply.accepted, this.highestAccepted) > 0) {
      this.highestAccepted = reply.accepted;
      this.state = reply.state;
    }
    return this.tally.vote(true);
  }
}

/** Phase 2 of an attempt. */
export class AcceptRound extends Round {
  onReply(reply: AcceptReply): QuorumStatus {
    if (this.tally.status !== 'pending') return this.tally.status;
    if (reply.type !== 'accepted') return this.reject(reply);
    return this.tally.vote(true);
  }
}
