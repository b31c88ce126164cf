/**
 * The node's proposer, with its membership made durable: every configuration change (a step of a
 * grow or a shrink, run by this node or by a peer through the proposer API, or the undo of one) is
 * written to the state file (`membership-state.ts`) before it is acknowledged. A change applied in
 * memory but not yet written when the process dies was never acknowledged either, so the node
 * that started it sees the step fail and undoes it on the other proposers: every node comes back
 * with the membership the cluster agreed on. Everything else is the wrapped proposer's.
 */
import type { Age } from '../core/age.js';
import type { Ballot } from '../core/ballot.js';
import type { State } from '../core/messages.js';
import type { Acceptor, Addresser, CallOptions, ChangeFunc, ProposeResult, Proposer, ReadOptions, WatchOptions } from '../roles.js';

export class PersistedProposer implements Proposer {
  readonly #inner: Proposer;
  readonly #changed: () => Promise<void>;
  /** Writes run one at a time, in the order of the changes. */
  #writing: Promise<void> = Promise.resolve();

  /** `changed` writes the state file (and refreshes what depends on the membership). */
  constructor(inner: Proposer, changed: () => Promise<void>) {
    this.#inner = inner;
    this.#changed = changed;
  }

  get address(): string {
    return this.#inner.address;
  }

  propose(key: string, change: ChangeFunc, opts?: CallOptions): Promise<ProposeResult> {
    return this.#inner.propose(key, change, opts);
  }

  identityRead(key: string, opts?: ReadOptions): Promise<ProposeResult> {
    return this.#inner.identityRead(key, opts);
  }

  fullIdentityRead(key: string, opts?: CallOptions): Promise<ProposeResult> {
    return this.#inner.fullIdentityRead(key, opts);
  }

  fastForwardIncrement(key: string, ballot: Ballot, opts?: CallOptions): Promise<Age> {
    return this.#inner.fastForwardIncrement(key, ballot, opts);
  }

  listKeys(opts?: CallOptions): AsyncIterable<string> {
    return this.#inner.listKeys(opts);
  }

  watch(key: string, opts?: WatchOptions): AsyncIterable<State> {
    return this.#inner.watch(key, opts);
  }

  listPreparers(opts?: CallOptions): Promise<string[]> {
    return this.#inner.listPreparers(opts);
  }

  listAccepters(opts?: CallOptions): Promise<string[]> {
    return this.#inner.listAccepters(opts);
  }

  async addAccepter(target: Acceptor, opts?: CallOptions): Promise<void> {
    await this.#inner.addAccepter(target, opts);
    await this.#persist();
  }

  async addPreparer(target: Acceptor, opts?: CallOptions): Promise<void> {
    await this.#inner.addPreparer(target, opts);
    await this.#persist();
  }

  async removePreparer(target: Addresser, opts?: CallOptions): Promise<void> {
    await this.#inner.removePreparer(target, opts);
    await this.#persist();
  }

  async removeAccepter(target: Addresser, opts?: CallOptions): Promise<void> {
    await this.#inner.removeAccepter(target, opts);
    await this.#persist();
  }

  #persist(): Promise<void> {
    const next = this.#writing.then(() => this.#changed());
    this.#writing = next.catch(() => {});
    return next;
  }
}
