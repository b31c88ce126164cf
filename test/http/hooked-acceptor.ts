/**
 * An acceptor that delegates to a `MemoryAcceptor` after an async hook of the test's choosing:
 * to hold a call (a gate), fail it, or count the calls that got past the server's decoding.
 */
import type { AcceptOptions, AcceptReply, AcceptedState, Acceptor, Age, Ballot, CallOptions, PrepareReply, RemoveReply, State, Tombstone, WatchOptions } from '../../src/index.js';
import { MemoryAcceptor } from '../../src/index.js';

export type Method = 'prepare' | 'accept' | 'rejectByAge' | 'removeIfEqual' | 'listKeys' | 'watch';

export class HookedAcceptor implements Acceptor {
  readonly inner: MemoryAcceptor;
  /** Runs before each unary call reaches the inner acceptor; may wait or throw. */
  hook: (method: Method, signal: AbortSignal | undefined) => Promise<void> | void = () => {};
  readonly calls: Method[] = [];

  constructor(readonly address = 'hooked') {
    this.inner = new MemoryAcceptor(address);
  }

  async prepare(key: string, age: Age, ballot: Ballot, opts?: CallOptions): Promise<PrepareReply> {
    await this.#enter('prepare', opts?.signal);
    return this.inner.prepare(key, age, ballot, opts);
  }

  async accept(key: string, age: Age, ballot: Ballot, state: State, opts?: AcceptOptions): Promise<AcceptReply> {
    await this.#enter('accept', opts?.signal);
    return this.inner.accept(key, age, ballot, state, opts);
  }

  async rejectByAge(ages: readonly Age[], opts?: CallOptions): Promise<void> {
    await this.#enter('rejectByAge', opts?.signal);
    return this.inner.rejectByAge(ages, opts);
  }

  async removeIfEqual(key: string, tombstone: Tombstone, opts?: CallOptions): Promise<RemoveReply> {
    await this.#enter('removeIfEqual', opts?.signal);
    return this.inner.removeIfEqual(key, tombstone, opts);
  }

  async *listKeys(opts?: CallOptions): AsyncIterable<string> {
    await this.#enter('listKeys', opts?.signal);
    yield* this.inner.listKeys(opts);
  }

  watch(key: string, opts?: WatchOptions): AsyncIterable<AcceptedState> {
    this.calls.push('watch');
    return this.inner.watch(key, opts);
  }

  async #enter(method: Method, signal: AbortSignal | undefined): Promise<void> {
    this.calls.push(method);
    await this.hook(method, signal);
  }
}
