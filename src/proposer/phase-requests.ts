/**
 * The request of one phase of an attempt, as every member of the phase gets it: through the
 * member's public method (`send`), or through its in-process path (`sendTrusted`, see
 * `acceptor/in-process`), with what the in-process members of the phase share. One object per
 * phase carries the request, instead of a closure per way of sending it.
 */
import type { Age } from '../core/age.js';
import type { Ballot } from '../core/ballot.js';
import type { AcceptReply, PrepareReply, State } from '../core/messages.js';
import type { CompactState } from '../acceptor/compact-state.js';
import { SharedAccept, SharedPrepare, type TrustedAcceptor } from '../acceptor/in-process.js';
import type { AcceptOptions, Acceptor, CallOptions } from '../roles.js';
import type { TraceEvent } from '../tracer.js';

/** What `#send` needs of a phase's request. */
export interface PhaseRequest<R> {
  /** The key it is about. */
  readonly key: string;
  /** Sends it through the member's public method. */
  send(acceptor: Acceptor): Promise<R>;
  /** Sends it through the member's in-process path. */
  sendTrusted(acceptor: TrustedAcceptor): R;
  /** The trace event of sending it to `acceptor`. */
  sentEvent(proposer: string, acceptor: string): TraceEvent;
}

/** Phase 1a: "a prepare message containing this number". The promises it shares between in-process preparers are its own. */
export class PrepareRequest extends SharedPrepare implements PhaseRequest<PrepareReply> {
  readonly #options: CallOptions | undefined;

  constructor(
    readonly key: string,
    readonly age: Age,
    readonly ballot: Ballot,
    signal: AbortSignal | undefined,
  ) {
    super();
    this.#options = signal === undefined ? undefined : { signal };
  }

  send(acceptor: Acceptor): Promise<PrepareReply> {
    return acceptor.prepare(this.key, this.age, this.ballot, this.#options);
  }

  sendTrusted(acceptor: TrustedAcceptor): PrepareReply {
    return acceptor.prepare(this.key, this.age, this.ballot, this);
  }

  sentEvent(proposer: string, acceptor: string): TraceEvent {
    return { type: 'prepare-sent', proposer, acceptor, key: this.key, ballot: this.ballot, age: this.age };
  }
}

/**
 * Phase 2a: "the value with the B ballot number", with the promise of `next` asked for (one
 * round trip). The record in-process accepters store is built once, on first use.
 */
export class AcceptRequest implements PhaseRequest<AcceptReply> {
  #options: AcceptOptions | undefined = undefined;
  #shared: SharedAccept | undefined = undefined;

  /**
   * @param base a kept state that may hold the same bytes as `state` (the one the changes were
   *   applied to): the in-process accepters then share it instead of a new copy.
   */
  constructor(
    readonly key: string,
    readonly age: Age,
    readonly ballot: Ballot,
    readonly state: State,
    readonly next: Ballot | undefined,
    readonly ancestry: readonly Ballot[],
    readonly signal: AbortSignal | undefined,
    readonly base: CompactState | undefined,
  ) {}

  /** How the in-process accepters keep `state`, if any of them was sent the request. */
  get kept(): CompactState | undefined {
    return this.#shared?.record.state;
  }

  send(acceptor: Acceptor): Promise<AcceptReply> {
    return acceptor.accept(this.key, this.age, this.ballot, this.state, (this.#options ??= { next: this.next, ancestry: this.ancestry, signal: this.signal }));
  }

  sendTrusted(acceptor: TrustedAcceptor): AcceptReply {
    return acceptor.accept(this.key, this.age, (this.#shared ??= new SharedAccept(this.ballot, this.state, this.next, this.ancestry, this.base)));
  }

  sentEvent(proposer: string, acceptor: string): TraceEvent {
    return { type: 'accept-sent', proposer, acceptor, key: this.key, ballot: this.ballot, age: this.age, state: this.state };
  }
}
