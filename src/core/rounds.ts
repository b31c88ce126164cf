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
 * The rounds decide as soon as the outcome is known; a reply after that is late: it is counted,
 * but a late promise never changes the state the change function already saw.
 */
import type { Age } from './age.js';
import { type Ballot, ZERO_BALLOT, ballotEquals, compareBallots } from './ballot.js';
import type { AcceptReply, AgeRejection, Conflict, PrepareReply, State } from './messages.js';
import { QuorumTally, type QuorumStatus } from './quorum.js';
import { NO_ANCESTRY } from './ancestry.js';

/**
 * What a round learned. The quorum decision (`tally`) counts only the replies that arrived before
 * it; the other counters count every reply, late ones included, because they still tell the
 * proposer how high to fast-forward and whether any acceptor may hold an accepted value.
 */
export abstract class Round {
  /** The quorum decision: counts only the replies that arrived before it. */
  readonly tally: QuorumTally;
  /** Replies received so far, of every kind, late ones included. */
  received = 0;
  /** Confirmations (promises, acceptances) received, late ones included. */
  confirmations = 0;
  /** Rejections (conflicts, stale ages) received, late ones included. */
  rejections = 0;
  /** Calls that failed (unreachable, timed out, refused), late ones included. */
  unreachable = 0;
  /** The highest ballot any conflict reported; `ZERO_BALLOT` if none. */
  highestConflict: Ballot = ZERO_BALLOT;
  /** The latest conflict reply, kept to explain a lost round. */
  lastConflict: Conflict | undefined;
  /** The highest minimum age any acceptor required, when some rejected the proposer's age. */
  requiredAge: Age | undefined;
  /** The error of the latest failed call (the shell records it), to explain a lost round. */
  lastFailure: unknown;
  #everyReply: { readonly members: number; readonly then: () => void } | undefined;

  constructor(
    /** The attempt's ballot. */
    readonly ballot: Ballot,
    members: number,
    needed: number,
  ) {
    this.tally = new QuorumTally(members, needed);
  }

  /** The quorum decision so far: `pending`, `won` or `lost` (the tally's). */
  get status(): QuorumStatus {
    return this.tally.status;
  }

  /** Calls `then` once `members` replies (of any kind) have arrived: at once if they have. */
  onEveryReply(members: number, then: () => void): void {
    if (this.received >= members) then();
    else this.#everyReply = { members, then };
  }

  #noteReply(): void {
    this.received++;
    if (this.#everyReply !== undefined && this.received >= this.#everyReply.members) {
      const { then } = this.#everyReply;
      this.#everyReply = undefined;
      then();
    }
  }

  /** Records a failed call: it counts against the quorum, like a rejection. */
  onUnreachable(): QuorumStatus {
    this.#noteReply();
    this.unreachable++;
    return this.tally.status === 'pending' ? this.tally.vote(false) : this.tally.status;
  }

  /** Records a confirmation (a promise, an acceptance). */
  protected confirm(): QuorumStatus {
    this.#noteReply();
    this.confirmations++;
    return this.tally.status === 'pending' ? this.tally.vote(true) : this.tally.status;
  }

  /**
   * Records a rejection, and remembers the highest conflicting ballot and required age it reports.
   */
  protected reject(reply: Conflict | AgeRejection): QuorumStatus {
    this.#noteReply();
    this.rejections++;
    if (reply.type === 'conflict') {
      if (compareBallots(reply.ballot, this.highestConflict) > 0) this.highestConflict = reply.ballot;
      this.lastConflict = reply;
    } else if (this.requiredAge === undefined || reply.required.counter > this.requiredAge.counter) {
      this.requiredAge = reply.required;
    }
    return this.tally.status === 'pending' ? this.tally.vote(false) : this.tally.status;
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
  /**
   * The ancestry of the state under `highestAccepted` (`Promised.ancestry`), or `undefined` when
   * its acceptor did not report one.
   */
  ancestry: readonly Ballot[] | undefined = NO_ANCESTRY;

  /** Records one prepare reply and returns the (possibly unchanged) status. */
  onReply(reply: PrepareReply): QuorumStatus {
    if (reply.type !== 'promised') return this.reject(reply);
    // A late promise must not change the state the change function already saw.
    if (this.tally.status !== 'pending') return this.confirm();
    // Strictly greater: two promises can only carry the same accepted ballot with the same state,
    // because one ballot is accepted with one value (every attempt has its own ballot).
    if (compareBallots(reply.accepted, this.highestAccepted) > 0) {
      this.highestAccepted = reply.accepted;
      this.state = reply.state;
      this.ancestry = reply.ancestry;
    }
    return this.confirm();
  }
}

/** Phase 2 of an attempt. */
export class AcceptRound extends Round {
  /** Rejections that prove the acceptor never stored this round's state (see `Conflict.accepted`). */
  provenRejections = 0;
  /** Acceptances that also promised `next` (one round trip). */
  promisedNext = 0;

  /**
   * @param next the ballot the accept asks acceptors to promise as well (one round trip), if any.
   */
  constructor(ballot: Ballot, members: number, needed: number, readonly next?: Ballot) {
    super(ballot, members, needed);
  }

  /** Records one accept reply and returns the (possibly unchanged) status. */
  onReply(reply: AcceptReply): QuorumStatus {
    if (reply.type === 'accepted') {
      if (this.next !== undefined && reply.promised !== undefined && ballotEquals(reply.promised, this.next)) this.promisedNext++;
      return this.confirm();
    }
    // An acceptor that reports our own ballot as its accepted one holds our state: it answered a
    // duplicate of an accept it had already stored. That is a confirmation, not a conflict.
    if (reply.type === 'conflict' && reply.kind === 'accepted' && ballotEquals(reply.ballot, this.ballot)) return this.confirm();
    // (An acceptor that omits `accepted`, as an older or foreign implementation may, proves nothing.)
    if (reply.type === 'conflict' && reply.accepted !== undefined && compareBallots(reply.accepted, this.ballot) < 0) this.provenRejections++;
    return this.reject(reply);
  }

  /**
   * Lost, and every reply so far proves its acceptor never stored the state: if the replies still
   * outstanding prove it too, the attempt had no effect. Worth waiting for them before calling
   * the outcome unknown.
   */
  get rejectedSoFar(): boolean {
    return this.tally.status === 'lost' && this.provenRejections === this.received;
  }

  /**
   * Lost, and every accepter answered with a conflict showing it never accepted this round's
   * ballot (its highest possibly-accepted ballot is lower): the state is stored nowhere, and never
   * will be (a late or duplicated copy of the accept meets a promise at least as high as the one
   * that rejected it), so the attempt certainly had no effect and may be retried. A rejection that
   * does not prove it (a stale age, or an acceptor that may have accepted this ballot before
   * moving on) leaves the outcome unknown: with duplicated messages, it may answer a copy of an
   * accept that the acceptor stored.
   */
  get rejectedByAll(): boolean {
    return this.tally.status === 'lost' && this.provenRejections === this.tally.total;
  }
}
