/**
 * The acceptor of a teaching cluster: a `MemoryAcceptor` that also reports each request it
 * handled, with the record as it was before the request, so that an explanation can show the
 * comparison the acceptor rules made (`promised 1/p2 > 1/p1`). It adds nothing to the rules and
 * changes no reply: every request goes to `MemoryAcceptor` as it is.
 *
 * `MemoryAcceptor` applies a request synchronously, inside the call, so the record read just before
 * the call is exactly the one the rule saw.
 */
import type { KeyRecord } from '../core/acceptor-rules.js';
import type { Age } from '../core/age.js';
import type { Ballot } from '../core/ballot.js';
import type { AcceptReply, PrepareReply, RemoveReply, State, Tombstone } from '../core/messages.js';
import { MemoryAcceptor } from '../acceptor/memory-acceptor.js';
import type { AcceptOptions, CallOptions } from '../roles.js';

/** A request an acceptor handled, as the rules saw it. */
export type ObservedRequest =
  | { readonly method: 'prepare'; readonly key: string; readonly age: Age; readonly ballot: Ballot }
  | { readonly method: 'accept'; readonly key: string; readonly age: Age; readonly ballot: Ballot; readonly state: State; readonly next: Ballot | undefined }
  | { readonly method: 'removeIfEqual'; readonly key: string; readonly tombstone: Ballot }
  | { readonly method: 'rejectByAge'; readonly ages: readonly Age[] };

/** One request an acceptor handled: what it was, what the acceptor held before, what it answered. */
export interface RequestObservation {
  /** The acceptor's address. */
  readonly acceptor: string;
  /** The request. */
  readonly request: ObservedRequest;
  /** The acceptor's record of the request's key before the request (`undefined`: none). */
  readonly before: KeyRecord | undefined;
  /** The promise every absent key behaved as having, before the request (its tombstone floor). */
  readonly floor: Ballot;
  /** The minimum age the acceptor required of the request's proposer before it (0: none). */
  readonly minimumAge: number;
  /** The reply (`undefined` for `rejectByAge`, which answers nothing). */
  readonly reply: PrepareReply | AcceptReply | RemoveReply | undefined;
}

/** A `MemoryAcceptor` that reports every request it handled to `observe` (see the module). */
export class ObservedAcceptor extends MemoryAcceptor {
  readonly #observe: (observation: RequestObservation) => void;

  constructor(address: string, observe: (observation: RequestObservation) => void) {
    super(address);
    this.#observe = observe;
  }

  override prepare(key: string, age: Age, ballot: Ballot, opts?: CallOptions): Promise<PrepareReply> {
    return this.#observed({ method: 'prepare', key, age, ballot }, key, age.id, () => super.prepare(key, age, ballot, opts));
  }

  override accept(key: string, age: Age, ballot: Ballot, state: State, opts?: AcceptOptions): Promise<AcceptReply> {
    // The state is copied: the proposer may reuse its buffer, and an explanation quotes it later.
    const request = { method: 'accept' as const, key, age, ballot, state: state === null ? null : state.slice(), next: opts?.next };
    return this.#observed(request, key, age.id, () => super.accept(key, age, ballot, state, opts));
  }

  override removeIfEqual(key: string, tombstone: Tombstone, opts?: CallOptions): Promise<RemoveReply> {
    return this.#observed({ method: 'removeIfEqual', key, tombstone: tombstone.ballot }, key, undefined, () => super.removeIfEqual(key, tombstone, opts));
  }

  override rejectByAge(ages: readonly Age[], opts?: CallOptions): Promise<void> {
    return this.#observed({ method: 'rejectByAge', ages: [...ages] }, undefined, undefined, () => super.rejectByAge(ages, opts));
  }

  #observed<T extends RequestObservation['reply'] | void>(request: ObservedRequest, key: string | undefined, ageId: string | undefined, call: () => Promise<T>): Promise<T> {
    const before = key === undefined ? undefined : this.inspect(key);
    const floor = this.tombstoneFloor;
    const minimumAge = ageId === undefined ? 0 : this.minimumAge(ageId);
    const result = call();
    // A request the checks refused (a malformed one) rejects: it changed nothing, so there is no
    // rule to explain; the reply message carries the error.
    result.then(
      (reply) => this.#observe({ acceptor: this.address, request, before, floor, minimumAge, reply: reply === undefined ? undefined : (reply as RequestObservation['reply']) }),
      () => {},
    );
    return result;
  }
}
