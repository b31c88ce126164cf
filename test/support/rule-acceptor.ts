/**
 * A minimal in-memory acceptor over the package's pure acceptor rules, whose `prepare` and `accept`
 * rules can be replaced: the real rules by default, deliberately broken ones for negative controls
 * (tests that prove the property tests can fail). Only prepare/accept/listKeys do real work; it
 * has no ages and no garbage collection.
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

export interface Rules {
  prepare(record: KeyRecord, ballot: Ballot): RuleResult<PrepareReply>;
  accept(record: KeyRecord, ballot: Ballot, state: State): RuleResult<AcceptReply>;
}

export class RuleAcceptor implements Acceptor {
  readonly #records = new Map<string, KeyRecord>();
  readonly #rules: Rules;

  constructor(
    readonly address: string,
    rules: Partial<Rules> = {},
  ) {
    this.#rules = { prepare: rules.prepare ?? acceptorRules.prepare, accept: rules.accept ?? acceptorRules.accept };
  }

  async prepare(key: string, _age: Age, ballot: Ballot): Promise<PrepareReply> {
    const { reply, next } = this.#rules.prepare(this.#record(key), ballot);
    if (next !== undefined) this.#records.set(key, next);
    return reply.type === 'promised' ? { ...reply, state: copyState(reply.state) } : reply;
  }

  async accept(key: string, _age: Age, ballot: Ballot, state: State): Promise<AcceptReply> {
    const { reply, next } = this.#rules.accept(this.#record(key), ballot, copyState(state));
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

/** BROKEN: accepts any ballot above the accepted one, ignoring the promise it made. */
export const acceptIgnoringPromise: Rules['accept'] = (record, ballot, state) =>
  compareBallots(ballot, record.accepted) > 0
    ? { reply: { type: 'accepted' }, next: { promise: ballot, accepted: ballot, state } }
    : { reply: conflict(record) };

/** BROKEN: keeps the FIRST state it accepted; later accepts only move the ballot. */
export const firstValueWins: Rules['accept'] = (record, ballot, state) => {
  const result = acceptorRules.accept(record, ballot, state);
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
    reply: { type: 'promised', accepted: record.accepted, state: record.state },
    next: { promise: ballot, accepted: record.accepted, state: record.state },
  };
};

/** BROKEN: accepts a ballot equal to the accepted one (`>=`), overwriting the state under it. */
export const acceptAllowingEqual: Rules['accept'] = (record, ballot, state) =>
  compareBallots(ballot, record.promise) >= 0 && compareBallots(ballot, record.accepted) >= 0
    ? { reply: { type: 'accepted' }, next: { promise: ballot, accepted: ballot, state } }
    : { reply: conflict(record) };
