/**
 * BROKEN, for negative controls: an in-memory acceptor over the package's acceptor rules, with the
 * garbage collection's age fence (paper §3.1 step c), that forgets a removed record's promise: it
 * keeps no tombstone floor (`acceptorRules.absentRecord`), so a proposer the collection never
 * fast-forwarded (a new incarnation, its counter at 0) is promised and accepted below the collected
 * tombstone's ballot. Everything else is the real rules.
 */
import type { AcceptReply, AcceptedState, Acceptor, Age, Ballot, KeyRecord, PrepareReply, RemoveReply, State, Tombstone } from '../../src/index.js';
import { ZERO_BALLOT, acceptorRules, copyState, isZeroBallot } from '../../src/index.js';
import type { AcceptOptions } from '../../src/roles.js';

export class FloorlessAcceptor implements Acceptor {
  readonly #records = new Map<string, KeyRecord>();
  readonly #minimumAges = new Map<string, number>();

  constructor(readonly address: string) {}

  async prepare(key: string, age: Age, ballot: Ballot): Promise<PrepareReply> {
    const rejected = acceptorRules.checkAge(age, this.#minimumAges.get(age.id) ?? 0);
    if (rejected !== undefined) return rejected;
    const { reply, next } = acceptorRules.prepare(this.#record(key), ballot);
    if (next !== undefined) this.#records.set(key, next);
    return reply.type === 'promised' ? { ...reply, state: copyState(reply.state) } : reply;
  }

  async accept(key: string, age: Age, ballot: Ballot, state: State, opts?: AcceptOptions): Promise<AcceptReply> {
    const rejected = acceptorRules.checkAge(age, this.#minimumAges.get(age.id) ?? 0);
    if (rejected !== undefined) return rejected;
    const { reply, next } = acceptorRules.accept(this.#record(key), ballot, copyState(state), ZERO_BALLOT, { next: opts?.next, ancestry: opts?.ancestry });
    if (next !== undefined) this.#records.set(key, next);
    return reply;
  }

  async rejectByAge(ages: readonly Age[]): Promise<void> {
    for (const { id, counter } of acceptorRules.raiseAges((id) => this.#minimumAges.get(id) ?? 0, ages)) this.#minimumAges.set(id, counter);
  }

  async removeIfEqual(key: string, tombstone: Tombstone): Promise<RemoveReply> {
    const { reply, floor } = acceptorRules.remove(this.#records.get(key), tombstone.ballot, ZERO_BALLOT);
    if (floor !== undefined) this.#records.delete(key); // the broken part: the floor is dropped
    return reply;
  }

  watch(): AsyncIterable<AcceptedState> {
    throw new Error('FloorlessAcceptor does not support watch');
  }

  async *listKeys(): AsyncIterable<string> {
    for (const [key, record] of this.#records) if (!isZeroBallot(record.accepted)) yield key;
  }

  /** The record of `key`, as `MemoryAcceptor.inspect` shows it (`undefined`: none). */
  inspect(key: string): KeyRecord | undefined {
    return this.#records.get(key);
  }

  #record(key: string): KeyRecord {
    return this.#records.get(key) ?? acceptorRules.absentRecord(ZERO_BALLOT);
  }
}
