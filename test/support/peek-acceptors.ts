/**
 * Acceptors for the tests of reads that write nothing: one that counts its requests, and one of a
 * version before peeks.
 */
import { type Acceptor, MemoryAcceptor } from '../../src/index.js';

/** A memory acceptor that counts the requests it gets (overriding them turns the in-process path off). */
export class CountingAcceptor extends MemoryAcceptor {
  readonly counts = { prepare: 0, accept: 0, peek: 0 };
  override prepare(...args: Parameters<MemoryAcceptor['prepare']>): ReturnType<MemoryAcceptor['prepare']> {
    this.counts.prepare++;
    return super.prepare(...args);
  }
  override accept(...args: Parameters<MemoryAcceptor['accept']>): ReturnType<MemoryAcceptor['accept']> {
    this.counts.accept++;
    return super.accept(...args);
  }
  override peek(...args: Parameters<MemoryAcceptor['peek']>): ReturnType<MemoryAcceptor['peek']> {
    this.counts.peek++;
    return super.peek(...args);
  }
}

/** An acceptor of a version before peeks: `inner` without `peek`. */
export function withoutPeek(inner: MemoryAcceptor): Acceptor {
  return {
    address: inner.address,
    prepare: (...args) => inner.prepare(...args),
    accept: (...args) => inner.accept(...args),
    rejectByAge: (...args) => inner.rejectByAge(...args),
    removeIfEqual: (...args) => inner.removeIfEqual(...args),
    watch: (...args) => inner.watch(...args),
    listKeys: (...args) => inner.listKeys(...args),
  };
}
