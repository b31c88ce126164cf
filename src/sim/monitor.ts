/**
 * The acceptor monitor: checked after every request an acceptor applies, on the record it touched.
 *  - promise >= accepted (the rules keep it so; see `core/acceptor-rules`);
 *  - an acceptor's promise and accepted ballot for a key never go back, also across crashes; a
 *    record may only disappear through garbage collection, which leaves a tombstone floor at least
 *    as high as the promise it forgot;
 *  - one ballot names one state: no (key, ballot) is ever accepted with two different states,
 *    on any acceptors;
 *  - the readable ballot only moves forward: the highest ballot every quorum of the members can
 *    see (the m-th highest accepted ballot, m = n - quorum + 1) never decreases. Checked only while
 *    the membership is stable.
 */
import { type Ballot, ZERO_BALLOT, compareBallots, formatBallot } from '../core/ballot.js';
import type { State } from '../core/messages.js';
import { majority } from '../core/quorum.js';
import type { Acceptor } from '../roles.js';

/** What the monitor reads from an acceptor. `MemoryAcceptor` provides it. */
export interface InspectableAcceptor {
  /** A copy of the acceptor's record of `key`, `undefined` when it has none. */
  inspect(key: string):
    | {
        /** The highest ballot promised. */
        readonly promise: Ballot;
        /** The ballot the state was accepted under. */
        readonly accepted: Ballot;
        /** The accepted state. */
        readonly state: State;
      }
    | undefined;
  /**
   * The promise every absent key behaves as having (see `MemoryAcceptor.tombstoneFloor`): a record
   * may disappear only below it.
   */
  readonly tombstoneFloor?: Ballot;
}

/** An invariant the monitor saw broken. */
export interface MonitorViolation {
  /** Virtual time of the observation. */
  readonly time: number;
  /** Which invariant (see `AcceptorMonitor`). */
  readonly kind: 'promise-below-accepted' | 'ballot-went-back' | 'forgotten-record' | 'two-states-one-ballot' | 'readable-went-back';
  /** The acceptor, when one acceptor broke it. */
  readonly acceptor?: string;
  /** The key. */
  readonly key: string;
  /** What was seen, for humans. */
  readonly message: string;
}

function inspectable(acceptor: Acceptor): InspectableAcceptor | undefined {
  return typeof (acceptor as Partial<InspectableAcceptor>).inspect === 'function' ? (acceptor as unknown as InspectableAcceptor) : undefined;
}

/**
 * Checks acceptor invariants after every request an acceptor applies, on the record it touched:
 * - `promise >= accepted` (the acceptor rules keep it so);
 * - an acceptor's promise and accepted ballot for a key never go back, also across crashes; a
 *   record disappears only through garbage collection, leaving a tombstone floor at least as high
 *   as its promise;
 * - one ballot names one state: no (key, ballot) is accepted with two different states, on any
 *   acceptors (each attempt has its own ballot, see `BallotGenerator`);
 * - the readable ballot (the highest accepted ballot every quorum of the members sees) never
 *   decreases, checked while the membership is stable.
 */
export class AcceptorMonitor {
  /** Every violation seen, in order; empty in a correct run. */
  readonly violations: MonitorViolation[] = [];
  /** Last seen (promise, accepted) per acceptor and key. */
  readonly #last = new Map<string, { promise: Ballot; accepted: Ballot }>();
  /** The state accepted under each (key, ballot), as text. */
  readonly #stateOf = new Map<string, string>();
  /** The readable ballot per key. */
  readonly #readable = new Map<string, Ballot>();
  /** Observations made; for coverage. */
  checks = 0;

  constructor(
    private readonly now: () => number,
    /** The members (addresses and acceptors) while the membership is stable, else undefined. */
    private readonly members: () => ReadonlyArray<{ readonly address: string; readonly acceptor: Acceptor }> | undefined,
  ) {}

  /** Checks `key` on `address` after it applied a request. */
  observe(address: string, acceptor: Acceptor, key: string): void {
    const view = inspectable(acceptor);
    if (view === undefined) return;
    this.checks++;
    const record = view.inspect(key);
    const id = `${address} ${key}`;
    const last = this.#last.get(id);
    if (record === undefined) {
      if (last !== undefined && !(last.promise.counter === 0 && last.accepted.counter === 0)) {
        const floor = view.tombstoneFloor ?? ZERO_BALLOT;
        if (compareBallots(floor, last.promise) < 0) {
          this.#violate('forgotten-record', key, address, `${address} lost its record of ${key} (promise ${formatBallot(last.promise)}) without a tombstone floor to replace it (floor ${formatBallot(floor)})`);
        }
        // Garbage collection removed it: from now on the floor stands for its promise, nothing is
        // accepted, and the key's readable ballot starts afresh.
        this.#last.set(id, { promise: floor, accepted: ZERO_BALLOT });
        this.#readable.delete(key);
      }
      return;
    } else {
      if (compareBallots(record.promise, record.accepted) < 0) {
        this.#violate('promise-below-accepted', key, address, `${address} ${key}: promise ${formatBallot(record.promise)} < accepted ${formatBallot(record.accepted)}`);
      }
      if (last !== undefined && (compareBallots(record.promise, last.promise) < 0 || compareBallots(record.accepted, last.accepted) < 0)) {
        this.#violate(
          'ballot-went-back',
          key,
          address,
          `${address} ${key}: (promise, accepted) went from (${formatBallot(last.promise)}, ${formatBallot(last.accepted)}) back to (${formatBallot(record.promise)}, ${formatBallot(record.accepted)})`,
        );
      }
      this.#last.set(id, { promise: record.promise, accepted: record.accepted });
      if (record.accepted.counter > 0) {
        const ballotId = `${key} ${formatBallot(record.accepted)}`;
        const text = stateText(record.state);
        const seen = this.#stateOf.get(ballotId);
        if (seen === undefined) this.#stateOf.set(ballotId, text);
        else if (seen !== text) {
          this.#violate('two-states-one-ballot', key, address, `${key} was accepted under ${formatBallot(record.accepted)} with two states: ${seen} and ${text} (at ${address})`);
        }
      }
    }
    this.#checkReadable(key);
  }

  #checkReadable(key: string): void {
    const members = this.members();
    if (members === undefined || members.length === 0) return;
    const accepted: Ballot[] = [];
    for (const { address, acceptor } of members) {
      const view = inspectable(acceptor);
      if (view === undefined) return;
      accepted.push(view.inspect(key)?.accepted ?? this.#last.get(`${address} ${key}`)?.accepted ?? ZERO_BALLOT);
    }
    accepted.sort((a, b) => compareBallots(b, a));
    const m = members.length - majority(members.length) + 1;
    const readable = accepted[m - 1] ?? ZERO_BALLOT;
    const before = this.#readable.get(key);
    if (before !== undefined && compareBallots(readable, before) < 0) {
      this.#violate('readable-went-back', key, undefined, `${key}: the ballot every quorum sees went back from ${formatBallot(before)} to ${formatBallot(readable)}`);
    }
    this.#readable.set(key, readable);
  }

  /** Forgets the readable ballots (call when the membership changed). */
  membershipChanged(): void {
    this.#readable.clear();
  }

  #violate(kind: MonitorViolation['kind'], key: string, acceptor: string | undefined, message: string): void {
    this.violations.push({ time: this.now(), kind, key, ...(acceptor === undefined ? {} : { acceptor }), message });
  }
}

function stateText(state: State): string {
  if (state === null) return '∅';
  let text = '';
  for (const byte of state) text += String.fromCharCode(byte);
  return JSON.stringify(text);
}
