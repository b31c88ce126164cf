/**
 * Why a proposer did what it did, in a learner's words, from its trace events: each reply counted
 * towards a quorum or against it (`p1: 2 of 3 promises (a1, a2), quorum reached; adopts "v" from
 * a1 (highest accepted ballot 1/p2)`), a late reply that changes nothing, a fast-forward past the
 * ballot that beat it, a retry, a commit.
 *
 * The tallies are kept by the protocol's own round machines (`PrepareRound`, `AcceptRound` of
 * `core/rounds`), fed the replies the trace reports, in the order the proposer saw them: the state
 * adopted and the moment a quorum was reached are the library's decisions, not a re-implementation.
 */
import { type Ballot, ZERO_BALLOT, ballotEquals, isZeroBallot } from '../core/ballot.js';
import { majority } from '../core/quorum.js';
import { AcceptRound, PrepareRound, type Round } from '../core/rounds.js';
import type { FastReadFallback } from '../core/peek-round.js';
import type { GarbageCollectStep, MembershipStep, TraceEvent } from '../tracer.js';
import { ageText, ballotText, displayName, errorText, fastReadAgreement, previewState } from '../trace/text.js';

/**
 * A line of explanation. Lines with the same `group` in a row are one line that grows (a proposer
 * sending the same request to each acceptor in turn): `names` lists who it went to so far.
 */
export interface ExplanationLine {
  readonly text: string;
  /** What a diagram shows of it, as a note: over a node (`undefined`: over every lifeline). */
  readonly note?: DiagramNoteSpec | undefined;
  readonly group?: { readonly id: string; readonly names: readonly string[]; readonly render: (names: readonly string[]) => string } | undefined;
}

/** How a note looks: a quorum reached, a commit, a failure or lost round, a retry, an operator step, anything else. */
export type NoteTone = 'quorum' | 'committed' | 'failed' | 'retry' | 'step' | 'info';

/** A note a diagram draws for a line. */
export interface DiagramNoteSpec {
  /** The node it is about (a proposer's address, not its incarnation), or `undefined` for every lifeline. */
  readonly over: string | undefined;
  readonly tone: NoteTone;
  /** Short: `quorum 2/3 (a1, a2): adopts "v"`. */
  readonly text: string;
}

/** The node a proposer incarnation runs on: `p1#2` runs on `p1`. */
function nodeOf(proposer: string): string {
  const i = proposer.indexOf('#');
  return i < 0 ? proposer : proposer.slice(0, i);
}

/** What a reply turned out to be, for the diagram: part of a quorum, late, or a refusal. */
export type ReplyRole = 'quorum' | 'counted' | 'late' | 'refused';

/** A reply's role, for the message that carried it (`message` is its id, when it was a message). */
export interface ReplyMark {
  readonly message: number;
  readonly role: ReplyRole;
}

/** One attempt of one proposer on one key, under one ballot. */
interface Attempt {
  readonly proposer: string;
  readonly key: string;
  readonly ballot: Ballot;
  readonly prepareAsked: string[];
  readonly acceptAsked: string[];
  prepare: PrepareRound | undefined;
  accept: AcceptRound | undefined;
  /** Who confirmed before the decision, with the message that carried the reply. */
  readonly yes: { phase: 'prepare' | 'accept'; acceptor: string; message: number | undefined }[];
  /** Who refused, in order. */
  readonly no: { phase: 'prepare' | 'accept'; acceptor: string }[];
  /** The acceptor whose promise carried the state adopted so far. */
  adoptedFrom: string | undefined;
}

const GC_STEP_TEXT: Record<GarbageCollectStep, string> = {
  'identity-read': 'step a, a full identity read: the tombstone is written to every acceptor, not just a majority',
  'fast-forward': 'step b: every proposer moves its counter past the tombstone and ages by one',
  'reject-by-age': 'step c: every acceptor refuses messages of the old ages, so nothing sent before can land after',
  remove: 'step d: acceptors that hold the tombstone remove the key',
};

const MEMBERSHIP_STEP_TEXT: Record<MembershipStep, string> = {
  'add-accepter': 'accepts go to it too (prepares do not yet): every write now reaches the larger set',
  'identity-pass': 'every key is re-written by an identity read, so a quorum of the new set holds it',
  'add-preparer': 'prepares go to it too: it is a full member',
  'remove-accepter': 'accepts stop going to it',
  'remove-preparer': 'prepares stop going to it',
  undo: 'a completed step is undone',
};

/**
 * Turns a cluster's trace events into explanation lines, keeping each attempt's tallies. Feed it
 * every event, in order (`explain`).
 */
export class ProposerExplainer {
  readonly #attempts = new Map<string, Attempt>();

  /**
   * The lines `event` adds, and the roles of the replies it decided. `replyMessage(acceptor,
   * proposer)` is the id of the reply message from `acceptor` that is being delivered now, if any.
   */
  explain(event: TraceEvent, withKey: boolean, replyMessage: (acceptor: string) => number | undefined): { lines: ExplanationLine[]; marks: ReplyMark[] } {
    const lines: ExplanationLine[] = [];
    const marks: ReplyMark[] = [];
    const on = (key: string): string => (withKey ? ` on ${displayName(key)}` : '');
    switch (event.type) {
      case 'prepare-sent':
      case 'accept-sent': {
        const attempt = this.#attempt(event.proposer, event.key, event.ballot);
        const phase = event.type === 'prepare-sent' ? 'prepare' : 'accept';
        (phase === 'prepare' ? attempt.prepareAsked : attempt.acceptAsked).push(event.acceptor);
        const what =
          event.type === 'prepare-sent'
            ? `${event.proposer} sends prepare ${ballotText(event.ballot)}${on(event.key)}`
            : `${event.proposer} sends accept ${ballotText(event.ballot)} ${previewState(event.state)}${on(event.key)}`;
        const need = phase === 'prepare' ? 'promises' : 'acceptances';
        lines.push({
          text: '',
          group: {
            id: `${phase} ${event.proposer} ${event.key} ${ballotText(event.ballot)}`,
            names: [event.acceptor],
            render: (names) => `${what} to ${names.join(', ')}; it needs ${majority(names.length)} ${need}`,
          },
        });
        break;
      }
      case 'promised':
      case 'prepare-conflict':
      case 'prepare-age-rejected':
      case 'prepare-unreachable':
      case 'accepted':
      case 'accept-conflict':
      case 'accept-age-rejected':
      case 'accept-unreachable': {
        const attempt = this.#attempt(event.proposer, event.key, event.ballot);
        const message = event.type.endsWith('unreachable') ? undefined : replyMessage(event.acceptor);
        this.#reply(attempt, event, message, lines, marks, `${event.proposer}${on(event.key)}`);
        break;
      }
      case 'fast-forwarded':
        lines.push({
          note: { over: nodeOf(event.proposer), tone: 'retry', text: `fast-forward ${event.from} → ${event.to}` },
          text: `${event.proposer} fast-forwards its counter ${event.from} → ${event.to}, past the highest ballot it was shown: its next ballot, ${event.to + 1}/${event.proposer}, beats it`,
        });
        break;
      case 'retry':
        lines.push({
          note: { over: nodeOf(event.proposer), tone: 'retry', text: `retry ${event.delayMs === 0 ? 'at once' : `in ${Number(event.delayMs.toFixed(2))} ms`}` },
          text:
            `${event.proposer} retries${on(event.key)}: attempt ${event.attempt} (${ballotText(event.ballot)}) lost; ` +
            (event.delayMs === 0 ? 'the next starts at once, under a new ballot' : `the next starts in ${Number(event.delayMs.toFixed(2))} ms (a random backoff, so that competing proposers stop spoiling each other's rounds)`),
        });
        break;
      case 'skip-prepare':
        lines.push({
          note: { over: nodeOf(event.proposer), tone: 'info', text: `skip prepare: ${ballotText(event.ballot)} promised` },
          text: `${event.proposer} skips the prepare phase${on(event.key)}: with its last accept a quorum also promised ${ballotText(event.ballot)} (one round trip, paper §2.2.1), so it accepts under it at once`,
        });
        break;
      case 'recovery':
        lines.push({ note: { over: nodeOf(event.proposer), tone: 'info', text: `recovery: ${event.decision}` }, text: `${event.proposer}${on(event.key)}: ${RECOVERY_TEXT[event.decision]}` });
        break;
      case 'fast-read':
        lines.push(
          event.outcome === 'hit'
            ? {
                note: { over: nodeOf(event.proposer), tone: 'committed', text: `read at once: ${previewState(event.state ?? null)}` },
                text: `${event.proposer} reads${on(event.key)} at once: ${fastReadAgreement(event.from, event.accepted)}, a majority, so that state is chosen and nothing newer was chosen before the read began; it returns ${previewState(event.state ?? null)} without a prepare or a write`,
              }
            : {
                note: { over: nodeOf(event.proposer), tone: 'info', text: `read: full round (${event.reason ?? 'fallback'})` },
                text: `${event.proposer} reads${on(event.key)} through the full round (prepare, then write back what it finds): ${FAST_READ_FALLBACK_TEXT[event.reason ?? 'disagree']}`,
              },
        );
        break;
      case 'committed':
        lines.push({
          note: { over: nodeOf(event.proposer), tone: 'committed', text: `committed ${displayName(event.key)} = ${previewState(event.state)} at ${ballotText(event.ballot)}` },
          text: `${event.proposer} commits ${displayName(event.key)} = ${previewState(event.state)} at ${ballotText(event.ballot)}: a majority accepted it, so every later quorum contains one of them and adopts it (or a state built on it)`,
        });
        break;
      case 'failed':
        lines.push({
          note: { over: nodeOf(event.proposer), tone: 'failed', text: `failed: ${errorText(event.error, 60)}` },
          text: `${event.proposer} gives up on ${displayName(event.key)} at ${ballotText(event.ballot)}: ${errorText(event.error, 160)}`,
        });
        break;
      case 'gc-step': {
        const failure = event.error === undefined ? '' : `: ${errorText(event.error, 120)}`;
        lines.push({
          note: { over: undefined, tone: 'step', text: `gc ${displayName(event.key)}: ${event.step} ${event.outcome}` },
          text: `operator: garbage collection of ${displayName(event.key)}, ${GC_STEP_TEXT[event.step] ?? String(event.step)}, ${event.outcome}${failure}`,
        });
        break;
      }
      case 'membership-step': {
        const failure = event.error === undefined ? '' : `: ${errorText(event.error, 120)}`;
        lines.push({
          note: { over: undefined, tone: 'step', text: `${event.operation} ${displayName(event.target)}: ${event.step} ${event.outcome}` },
          text: `operator: ${event.operation} ${displayName(event.target)}, step ${event.step} ${event.outcome}${event.outcome === 'started' ? ` (${MEMBERSHIP_STEP_TEXT[event.step]})` : ''}${failure}`,
        });
        break;
      }
    }
    return { lines, marks };
  }

  #attempt(proposer: string, key: string, ballot: Ballot): Attempt {
    const id = `${proposer}\u0000${key}\u0000${ballot.counter}\u0000${ballot.id}`;
    let attempt = this.#attempts.get(id);
    if (attempt === undefined) {
      attempt = { proposer, key, ballot, prepareAsked: [], acceptAsked: [], prepare: undefined, accept: undefined, yes: [], no: [], adoptedFrom: undefined };
      this.#attempts.set(id, attempt);
    }
    return attempt;
  }

  #reply(
    attempt: Attempt,
    event: Extract<TraceEvent, { readonly late: boolean }>,
    message: number | undefined,
    lines: ExplanationLine[],
    marks: ReplyMark[],
    actor: string,
  ): void {
    const phase = event.type.startsWith('prepare') || event.type === 'promised' ? 'prepare' : 'accept';
    const asked = phase === 'prepare' ? attempt.prepareAsked : attempt.acceptAsked;
    const members = Math.max(asked.length, 1);
    const round: Round =
      phase === 'prepare'
        ? (attempt.prepare ??= new PrepareRound(attempt.ballot, members, majority(members)))
        : (attempt.accept ??= new AcceptRound(attempt.ballot, members, majority(members)));
    const { proposer, acceptor } = event;
    const b = ballotText(attempt.ballot);
    const before = round.status;
    const confirmationsBefore = round.confirmations;
    const highestBefore = attempt.prepare?.highestAccepted ?? ZERO_BALLOT;
    let verb: string;
    switch (event.type) {
      case 'promised':
        (round as PrepareRound).onReply({ type: 'promised', accepted: event.accepted, state: event.state });
        verb = `promise from ${acceptor} (it accepted ${ballotText(event.accepted)}${isZeroBallot(event.accepted) ? '' : ` ${previewState(event.state)}`})`;
        break;
      case 'accepted':
        (round as AcceptRound).onReply({ type: 'accepted' });
        verb = `${acceptor} accepted ${b}`;
        break;
      case 'prepare-conflict':
      case 'accept-conflict':
        // `accepted` is not traced; the rounds use it only to tell whether an accept may be retried,
        // which the explanation does not need.
        if (phase === 'prepare') (round as PrepareRound).onReply({ type: 'conflict', ballot: event.conflict, kind: event.kind, accepted: ZERO_BALLOT });
        else (round as AcceptRound).onReply({ type: 'conflict', ballot: event.conflict, kind: event.kind, accepted: ZERO_BALLOT });
        verb = `${acceptor} refused ${b} (it ${event.kind === 'promise' ? 'promised' : 'accepted'} ${ballotText(event.conflict)})`;
        break;
      case 'prepare-age-rejected':
      case 'accept-age-rejected':
        if (phase === 'prepare') (round as PrepareRound).onReply({ type: 'age', required: event.required });
        else (round as AcceptRound).onReply({ type: 'age', required: event.required });
        verb = `${acceptor} refused its age (it requires ${ageText(event.required)})`;
        break;
      default:
        round.onUnreachable();
        verb = `no reply from ${acceptor} (${errorText(event.error, 80)})${event.late || before !== 'pending' ? '' : ', which counts as a refusal'}`;
        break;
    }
    // A duplicate of its own accept counts as an acceptance (`AcceptRound`): the round says which.
    const confirmed = round.confirmations > confirmationsBefore;
    if (event.late || before !== 'pending') {
      if (message !== undefined) marks.push({ message, role: 'late' });
      lines.push({ text: `${actor}: ${verb}; late: the ${phase} round at ${b} was already decided, so it changes nothing` });
      return;
    }
    if (confirmed) attempt.yes.push({ phase, acceptor, message });
    else attempt.no.push({ phase, acceptor });
    if (message !== undefined) marks.push({ message, role: confirmed ? 'counted' : 'refused' });
    if (phase === 'prepare' && attempt.prepare !== undefined && !ballotEquals(attempt.prepare.highestAccepted, highestBefore)) attempt.adoptedFrom = acceptor;

    const yes = attempt.yes.filter((y) => y.phase === phase);
    const no = attempt.no.filter((n) => n.phase === phase);
    const needed = round.tally.needed;
    const noun = phase === 'prepare' ? 'promises' : 'acceptances';
    if (round.status === 'won') {
      for (const y of yes) if (y.message !== undefined) marks.push({ message: y.message, role: 'quorum' });
      const who = yes.map((y) => y.acceptor).join(', ');
      if (phase === 'prepare') {
        const prepare = attempt.prepare as PrepareRound;
        const adopted = isZeroBallot(prepare.highestAccepted)
          ? 'none of them accepted anything, so the current state is ∅'
          : `adopts ${previewState(prepare.state)} from ${attempt.adoptedFrom ?? '?'} (highest accepted ballot ${ballotText(prepare.highestAccepted)})`;
        const short = isZeroBallot(prepare.highestAccepted) ? 'current state ∅' : `adopts ${previewState(prepare.state)} (${ballotText(prepare.highestAccepted)} from ${attempt.adoptedFrom ?? '?'})`;
        lines.push({
          note: { over: nodeOf(proposer), tone: 'quorum', text: `quorum ${yes.length}/${round.tally.total} promised (${who}): ${short}` },
          text: `${actor}: ${verb}: ${yes.length} of ${round.tally.total} promises (${who}), quorum reached; ${adopted}`,
        });
      } else {
        lines.push({
          note: { over: nodeOf(proposer), tone: 'quorum', text: `quorum ${yes.length}/${round.tally.total} accepted (${who})` },
          text: `${actor}: ${verb}: ${yes.length} of ${round.tally.total} acceptances (${who}), quorum reached`,
        });
      }
    } else if (round.status === 'lost') {
      const who = no.map((n) => n.acceptor).join(', ');
      const highest = round.highestConflict.counter > 0 ? `; the highest ballot it was shown is ${ballotText(round.highestConflict)}` : '';
      lines.push({
        note: { over: nodeOf(proposer), tone: 'failed', text: `${phase} at ${b} lost: ${no.length}/${round.tally.total} refused` },
        text: `${actor}: ${verb}: ${no.length} of ${round.tally.total} refused (${who}), ${needed} ${noun} are out of reach; the ${phase} round at ${b} is lost${highest}`,
      });
    } else if (confirmed) {
      lines.push({ text: `${actor}: ${verb}: ${yes.length} of ${needed} ${noun} needed` });
    } else {
      lines.push({ text: `${actor}: ${verb}: ${no.length} refused so far; ${needed} ${noun} are still possible` });
    }
  }
}

const RECOVERY_TEXT: Record<'current' | 'adopted' | 'reapply' | 'undecidable', string> = {
  current: "the quorum's state is its own earlier accept (whose outcome was unknown): it commits it again",
  adopted: "the quorum's state was built on its own earlier accept (whose outcome was unknown): the change took effect; it commits that state again",
  reapply: 'its earlier accept (whose outcome was unknown) was not chosen: it applies the change afresh',
  undecidable: 'the replies cannot tell whether its earlier accept took effect: the outcome stays unknown',
};

/** Why a read took the full round, in words. */
const FAST_READ_FALLBACK_TEXT: Record<FastReadFallback, string> = {
  disagree: 'the preparers it heard from report different accepted ballots, so the newest may not be chosen yet',
  unreachable: 'too few preparers answered its peeks for a majority to agree',
  unsupported: 'a preparer cannot answer a peek (an older version)',
  reconfiguring: 'a membership change is in progress: its preparers and accepters differ',
};
