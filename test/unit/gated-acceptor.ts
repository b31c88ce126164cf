/**
 * Test double: a memory acceptor whose prepare and accept calls can be made to fail (unreachable)
 * or be held until the test releases them: `release` delivers the request late, `fail` loses it
 * (the call rejects, as a timeout would).
 */
import { type AcceptReply, type Age, type Ballot, type CallOptions, MemoryAcceptor, type PrepareReply, type State } from '../../src/index.js';

/** Lets pending promise callbacks and zero-delay timers run. */
export const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export type Method = 'prepare' | 'accept';

export class GatedAcceptor extends MemoryAcceptor {
  down = false;
  hold: ((method: Method, key: string) => boolean) | undefined;
  readonly held: Array<{ method: Method; key: string; release: () => void; fail: (error: Error) => void }> = [];

  async #gate(method: Method, key: string): Promise<void> {
    if (this.down) throw new Error(`${this.address} unreachable`);
    if (this.hold?.(method, key) === true) {
      await new Promise<void>((release, fail) => this.held.push({ method, key, release, fail }));
    }
  }

  override async prepare(key: string, age: Age, ballot: Ballot, opts?: CallOptions): Promise<PrepareReply> {
    await this.#gate('prepare', key);
    return super.prepare(key, age, ballot, opts);
  }

  override async accept(key: string, age: Age, ballot: Ballot, state: State, opts?: CallOptions): Promise<AcceptReply> {
    await this.#gate('accept', key);
    return super.accept(key, age, ballot, state, opts);
  }

  releaseAll(): void {
    this.hold = undefined;
    for (const h of this.held.splice(0)) h.release();
  }

  failAll(): void {
    this.hold = undefined;
    for (const h of this.held.splice(0)) h.fail(new Error(`${this.address}: message lost`));
  }
}

