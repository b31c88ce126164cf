/**
 * A minimal in-memory acceptor over the package's pure acceptor rules, whose `prepare` and `accept`
 * rules can be replaced: the real rules by default, deliberately broken ones for negative controls
 * (tests that prove the property tests can fail). Only prepare/accept/listKeys do real work; it
 * has no ages and no garbage collection. An accept's ancestry (`AcceptOptions.ancestry`) is handed
 * to the accept rule, as a real acceptor hands it (one that dropped it would report every state as
 * having no ancestors, see the acceptor-rules tests). The one-round-trip promise
 * (`AcceptOptions.next`) is ignored unless `oneRoundTrip` is set, as an acceptor that cannot honour
 * it must: then every change prepares, which keeps broken prepare rules in play.
 */
import type {
  AcceptReply,
  AcceptedState,
  Acceptor,
  Age,
  Ballot,
  Conflict,
  KeyRecord,
  PrepareReply,
  RemoveReply,
  RuleResult,
  State,
} from '../../src/index.js';
import { ZERO_BALLOT, acceptorRules, compareBallots, copyState, isZeroBallot } from '../../src/index.js';
import type { AcceptExtras } from '../../src/core/acceptor-rules.js';
import type { AcceptOptions } from '../../src/roles.js';

export interface Rules {
  prepare(record: KeyRecord, ballot: Ballot): RuleResult<PrepareReply>;
  /** `floor` is always the zero ballot here (no garbage collection); `extras` what the accept carried. */
  accept(record: KeyRecord, ballot: Ballot, state: State, floor?: Ballot, extras?: AcceptExtras): RuleResult<AcceptReply>;
}

export interface RuleAcceptorOptions {
  /** Hand `AcceptOptions.next` to the accept rule (piggybacked promises). @default false */
  readonly oneRoundTrip?: boolean;
}

export class RuleAcceptor implements Acceptor {
  readonly #records = new Map<string, KeyRecord>();
  readonly #rules: Rules;
  readonly #oneRoundTrip: boolean;

  constructor(
    readonly address: string,
    rules: Partial<Rules> = {},
    options: RuleAcceptorOptions = {},
  ) {
    this.#rules = { prepare: rules.prepare ?? acceptorRules.prepare, accept: rules.accept ?? acceptorRules.accept };
    this.#oneRoundTrip = options.oneRoundTrip ?? false;
  }

  async prepare(key: string, _age: Age, ballot: Ballot): Promise<PrepareReply> {
    const { reply, next } = this.#rules.prepare(this.#record(key), ballot);
    if (next !== undefined) this.#records.set(key, next);
    return reply.type === 'promised' ? { ...reply, state: copyState(reply.state) } : reply;
  }

  async accept(key: string, _age: Age, ballot: Ballot, state: State, opts?: AcceptOptions): Promise<AcceptReply> {
    const extras: AcceptExtras = { next: this.#oneRoundTrip ? opts?.next : undefined, ancestry: opts?.ancestry };
    const { reply, next } = this.#rules.accept(this.#record(key), ballot, copyState(state), ZERO_BALLOT, extras);
    if (next !== undefined) this.#records.set(key, next);
    return reply;
  }

  async rejectByAge(_ages: readonly Age[]): Promise<void> {}

  async removeIfEqual(): Promise<RemoveReply> {
    throw new Error('RuleAcceptor does not support garbage collection');
  }

  watch(): AsyncIterable<AcceptedState> {
    throw new Error('RuleAcceptor does not support watch');
  }

  async *listKeys(): AsyncIterable<string> {
    yield* [...this.#records].filter(([, r]) => !isZeroBallot(r.accepted)).map(([k]) => k);
  }

  #record(key: string): KeyRecord {
    return this.#records.get(key) ?? acceptorRules.absentRecord(ZERO_BALLOT);
  }
}

/**
 * The conflict the real rules send for `record` (its highest ballot and kind, and `accepted`: the
 * highest ballot it may have accepted; a RuleAcceptor has no tombstone floor). A broken rule must
 * still report conflicts truthfully: the proposer reads `accepted` to decide whether a rejected
 * accept certainly had no effect, and a conflict without it is malformed, not broken in the way a
 * negative control means to test.
 */
function conflict(record: KeyRecord): Conflict {
  // A prepare with the record's own promise always conflicts under the real rules.
  const { reply } = acceptorRules.prepare(record, record.promise);
  if (reply.type !== 'conflict') throw new Error('the real prepare rule promised a ballot equal to the promise');
  return reply;
}

/**
 * BROKEN: accepts any ballot above the accepted one, ignoring the promise it made. (Otherwise as
 * the real rule: it stores the ancestry and honours a piggybacked promise.)
 */
export const acceptIgnoringPromise: Rules['accept'] = (record, ballot, state, floor, extras) =>
  compareBallots(ballot, record.accepted) > 0
    ? acceptorRules.accept({ ...record, promise: ZERO_BALLOT }, ballot, state, floor, extras)
    : { reply: conflict(record) };

/** BROKEN: keeps the FIRST state it accepted; later accepts only move the ballot. */
export const firstValueWins: Rules['accept'] = (record, ballot, state, floor, extras) => {
  const result = acceptorRules.accept(record, ballot, state, floor, extras);
  if (result.next === undefined || isZeroBallot(record.accepted)) return result;
  return { reply: result.reply, next: { ...result.next, state: record.state } };
};

/** BROKEN: promises, but forgets the promise (a prepare never raises the stored promise). */
export const forgetfulPrepare: Rules['prepare'] = (record, ballot) => {
  const result = acceptorRules.prepare(record, ballot);
  return { reply: result.reply };
};

/**
 * BROKEN: promises a ballot equal to its promise (`>=` instead of `>`), as the seed did. Harmless
 * while every attempt has its own ballot; with ballot reuse (two proposers sharing an id) two
 * attempts of one ballot can both pass phase 1 and accept different states under that ballot.
 */
export const prepareAllowingEqual: Rules['prepare'] = (record, ballot) => {
  if (compareBallots(ballot, record.promise) < 0 || compareBallots(ballot, record.accepted) < 0) {
    return acceptorRules.prepare(record, ballot);
  }
  return {
    reply: { type: 'promised', accepted: record.accepted, state: record.state, ancestry: record.ancestry },
    next: { promise: ballot, accepted: record.accepted, state: record.state, ancestry: record.ancestry },
  };
};

/** BROKEN: accepts a ballot equal to the accepted one (`>=`), overwriting the state under it. */
export const acceptAllowingEqual: Rules['accept'] = (record, ballot, state, floor, extras) =>
  compareBallots(ballot, record.promise) >= 0 && compareBallots(ballot, record.accepted) >= 0
    ? acceptorRules.accept({ ...record, accepted: ZERO_BALLOT }, ballot, state, floor, extras)
    : { reply: conflict(record) };
