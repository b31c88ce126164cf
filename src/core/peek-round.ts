/**
 * The decision of a read that writes nothing: a tally of peeks (`acceptorRules.peek`), fed one
 * reply at a time, that says as soon as it can whether a quorum of the preparers agrees on one
 * accepted ballot (`won`: the read returns that state at once) or can no longer (`lost`: the read
 * falls back to the full identity round, prepare and write-back, paper §2.2).
 *
 * Learned from Charapko, Ailijiang, Demirbas, "Linearizable Quorum Reads in Paxos" (HotStorage
 * 2019): a read that finds a quorum agreeing on a value that is already chosen need not go through
 * the leader's log. CASPaxos has no log and no leader; the argument below is ours, in the paper's
 * terms (Rystsov, "CASPaxos: Replicated State Machines without logs", 2018, §2.2): a proposer
 * "waits for the F+1 confirmations. If they all contain the empty value, then the proposer defines
 * the current state as ∅ otherwise it picks the value of the tuple with the highest ballot number",
 * then "sends the value with the B ballot number to the acceptors (the accept message)". The full
 * read is that round with the identity change: it writes back the state it found.
 *
 * ## Why agreement is enough (the proof)
 *
 * Setting. A read peeks at every preparer; it is used only while the preparers and the accepters
 * are the same set of N acceptors, so a quorum (a majority, `majority(N)`) of replies is both a
 * prepare quorum and an accept quorum. Let the read start at `s` (before any peek is sent) and
 * end at `r` (after the last reply it counts). Facts used:
 *
 *  (F1) An acceptor's accepted ballot only grows. `accepts` requires `ballot > accepted` (and
 *       `ballot >= promise >= accepted`); a prepare and a peek leave it alone. The one exception is
 *       garbage collection's step d (`acceptorRules.remove`, paper §3.1), which drops a record
 *       only when it holds the empty state under the tombstone's ballot T, after step a committed
 *       that tombstone on every accepter; the record's promise survives as the floor, so nothing
 *       below it is ever accepted there again.
 *  (F2) One ballot, one state: every attempt has its own ballot (`BallotGenerator`), and accepts
 *       one state under it. Replies that name the same ballot name the same state.
 *  (F3) CASPaxos' invariant (paper §2.2, the proof of the full round): once a majority accepted a
 *       state under B, that state is chosen: every state accepted under a higher ballot was
 *       computed from it or from a descendant of it (each higher round's prepare quorum meets that
 *       majority, whose members report B or higher, and `prepare` promises only above what they
 *       accepted). Chosen states form one chain, in ballot order.
 *  (F4) Peeks report only durable state (see `proposer/fast-read`, "Durability"): a reply never
 *       shows an accept the acceptor could still lose in a crash.
 *
 * Case 1: a quorum Q reports the same accepted ballot B (B not zero).
 *  (a) B's state is chosen no later than `r`. Each member of Q held B when it replied (F4: durably),
 *      so by the time the last of them replied a majority had accepted B: chosen (F3).
 *  (b) Nothing newer was chosen before `s`. Say a state under B' > B was accepted by a majority M'
 *      before `s`. Q and M' intersect (both majorities of one set) in some acceptor a, which had
 *      accepted B' before `s` and reported B < B' after it: impossible by (F1). (A removal in
 *      between would leave a reporting nothing, not B.)
 *  (c) Linearization point. Let f(B) be the first moment a state under a ballot >= B of the chain
 *      (B's or a descendant's) was chosen: f(B) <= r by (a). Linearize every write and identity
 *      read at f of its ballot (writes and reads of one chain position are ordered by ballot; this
 *      lies inside each completed operation, which returns only once its own ballot is chosen, and
 *      after its start, since its state was accepted somewhere before anything descending from
 *      it). Linearize this read at p = max(s, f(B)), just after B's state and before the next
 *      state of the chain. Then s <= p <= r, and no state after B in the chain is linearized
 *      before p: the next one, under B'' > B, has f(B'') >= f(B), and f(B'') > s by (b).
 *  (d) What follows cannot be older. After `r` a majority (Q, F1) holds B or higher forever (or the
 *      tombstone's floor, F1), so every later full read's prepare quorum meets it and finds B or a
 *      descendant, every later fast read's quorum meets it and agrees on B or higher, and every
 *      later write's prepare computes from B or a descendant (F3): real-time order is respected.
 *      Hence no write-back is needed: the write-back of the full read exists to make the state it
 *      found chosen, and this one is chosen already.
 *
 * Case 2: a quorum Q reports nothing accepted (`ZERO_BALLOT`). Take the last state chosen before
 * `s`, under X, on a majority M (if none, the register was empty at `s` and p = s). An acceptor a
 * in Q and M accepted X before `s` and reports nothing after it, so by (F1) garbage collection
 * removed its record in between, and it then held the empty state under a tombstone T >= X that
 * step a had chosen before the removal, so before `r`. If T = X the register was empty at `s`
 * (p = s); otherwise T was chosen after `s` and p = f(T) lies in [s, r]. Either way the empty
 * state is the register's state at p. (A removed record reads as the empty state, which is what
 * its tombstone says; this is the argument the full read already relies on when its promises
 * report removed keys.)
 *
 * Otherwise (replies under different ballots, failures, acceptors that cannot peek): `lost`. A
 * minority ahead of the others may hold a state that is not chosen yet, and returning the highest
 * of them without writing it back is exactly the mistake a full read's write-back prevents: a
 * later read that misses that minority would return an older state (the simulator's mutant
 * `mutant-read-skips-write-back` shows it). The caller then runs the full round.
 *
 * A peek carries no ballot and is not an attempt: it takes nothing from the ballot generator, so
 * every attempt still has a ballot of its own (F2).
 */
import { type Ballot, ballotEquals, isZeroBallot } from './ballot.js';
import type { PeekReply, State } from './messages.js';
import { type QuorumStatus, majority } from './quorum.js';

/** Why a read could not be answered from its peeks. */
export type PeekFallback = 'disagree' | 'unreachable' | 'unsupported';

/**
 * Why a read went through the full round: its peek round's reason, or `reconfiguring` (the
 * preparers and accepters differ: a membership change is in progress, no peek was sent), or
 * `unsupported` (a preparer cannot peek).
 */
export type FastReadFallback = PeekFallback | 'reconfiguring';

/** What a quorum of peeks agreed on (`PeekRound.agreed`). */
export interface PeekAgreement {
  /** The accepted ballot a quorum reported (`ZERO_BALLOT`: nothing accepted). */
  readonly accepted: Ballot;
  /** The state under it (the state of the first reply that named it). */
  readonly state: State;
  /** The members whose replies named it, in the order they arrived. */
  readonly from: readonly string[];
}

/** The peeks that named one accepted ballot, and who sent them. */
interface Agreement extends PeekAgreement {
  readonly from: string[];
}

/**
 * The tally of one read's peeks over `members` preparers (which are also the accepters). `won` as
 * soon as `majority(members)` replies name one accepted ballot (`agreed` then says which, and its
 * state); `lost` as soon as no ballot can reach a majority any more, counting the replies still
 * outstanding. Once decided, the status never changes; later replies are counted but ignored.
 */
export class PeekRound {
  /** Replies (of any kind, failures included) needed for a quorum. */
  readonly needed: number;
  /** The decision; once not `pending`, it never changes. */
  status: QuorumStatus = 'pending';
  /** Replies and failures received so far, late ones included. */
  received = 0;
  /** Peeks that failed (unreachable, timed out), late ones included. */
  unreachable = 0;
  /** Peeks the acceptor does not know (an older version), late ones included. */
  unsupported = 0;
  /** The error of the latest failed peek. */
  lastFailure: unknown;
  readonly #groups: Agreement[] = [];
  /** The largest agreement among the replies counted before the decision. */
  #largest = 0;
  #agreed: Agreement | undefined;

  constructor(
    /** Preparers peeked at (the same set as the accepters). */
    readonly members: number,
  ) {
    this.needed = majority(members);
  }

  /**
   * The agreed accepted ballot and state once `won` (`ZERO_BALLOT` and `null`: a quorum holds
   * nothing for the key), with the members that reported it; `undefined` otherwise.
   */
  get agreed(): PeekAgreement | undefined {
    return this.#agreed;
  }

  /** Whether the agreed state is that nothing is accepted (the key is absent on a quorum). */
  get absent(): boolean {
    return this.#agreed !== undefined && isZeroBallot(this.#agreed.accepted);
  }

  /**
   * Why the read must fall back, once `lost`: an acceptor that cannot peek, else one that failed
   * to answer, else the replies named different ballots.
   */
  get fallback(): PeekFallback {
    if (this.unsupported > 0) return 'unsupported';
    if (this.unreachable > 0) return 'unreachable';
    return 'disagree';
  }

  /** Records member `from`'s peek reply and returns the (possibly unchanged) status. */
  onReply(reply: PeekReply, from = ''): QuorumStatus {
    this.#count();
    if (this.status !== 'pending') return this.status;
    // Same ballot, same state (F2): group by ballot alone.
    let group = this.#groups.find((g) => ballotEquals(g.accepted, reply.accepted));
    if (group === undefined) {
      group = { accepted: reply.accepted, state: reply.state, from: [] };
      this.#groups.push(group);
    }
    group.from.push(from);
    if (group.from.length > this.#largest) this.#largest = group.from.length;
    if (group.from.length >= this.needed) {
      this.#agreed = group;
      this.status = 'won';
    } else {
      this.#decideIfHopeless();
    }
    return this.status;
  }

  /** Records a failed peek (`unsupported`: the acceptor does not know the request). */
  onUnreachable(error?: unknown, unsupported = false): QuorumStatus {
    this.#count();
    this.lastFailure = error;
    if (unsupported) this.unsupported++;
    else this.unreachable++;
    if (this.status === 'pending') this.#decideIfHopeless();
    return this.status;
  }

  #count(): void {
    if (this.received >= this.members) throw new RangeError(`more than ${this.members} peek replies: a member answered twice`);
    this.received++;
  }

  /** Lost when even every outstanding reply joining the largest agreement would not make a quorum. */
  #decideIfHopeless(): void {
    if (this.#largest + (this.members - this.received) < this.needed) this.status = 'lost';
  }
}

