/**
 * A proposer's acceptor configuration: the prepare set and the accept set (paper §2.3 changes them
 * one at a time). Configurations are immutable; a change installs a new one. Each proposal attempt
 * runs entirely under the configuration current when it started and holds it `active` meanwhile,
 * so a membership step can wait until no attempt still uses the configuration it replaced before
 * the operator moves on to the next step.
 */
import type { Acceptor } from '../roles.js';

export class Configuration {
  #active = 0;
  #idleWaiters: Array<() => void> = [];

  constructor(
    readonly preparers: readonly Acceptor[],
    readonly accepters: readonly Acceptor[],
  ) {}

  /** Attempts currently running under this configuration. */
  get active(): number {
    return this.#active;
  }

  enter(): void {
    this.#active++;
  }

  leave(): void {
    this.#active--;
    if (this.#active === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Resolves once no attempt runs under this configuration. */
  idle(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  with(change: { preparers?: readonly Acceptor[]; accepters?: readonly Acceptor[] }): Configuration {
    return new Configuration(change.preparers ?? this.preparers, change.accepters ?? this.accepters);
  }
}
