/**
 * The conformance suite against the in-process acceptors: `MemoryAcceptor` (not durable) and
 * `StoreAcceptor` over a `MemoryStore`, whose "crash" drops the acceptor without closing it and
 * opens a new one over the same store. A negative control checks that the suite catches an
 * acceptor that forgets its promises in a crash.
 */
import { describe, expect, it } from 'vitest';
import { MemoryAcceptor, ZERO_BALLOT, ballotEquals } from '../../src/index.js';
import type { AcceptorStore } from '../../src/acceptor/acceptor-store.js';
import type { KeyRecord } from '../../src/core/acceptor-rules.js';
import { MemoryStore } from '../../src/acceptor/memory-store.js';
import { StoreAcceptor } from '../../src/acceptor/store-acceptor.js';
import { type ConformanceSubject, describeAcceptorConformance } from '../../src/testing/acceptor-conformance.js';

describeAcceptorConformance('MemoryAcceptor', async () => ({ acceptor: new MemoryAcceptor('a1'), close: async () => {} }), { describe, it, durable: false });

async function storeSubject(store: AcceptorStore): Promise<ConformanceSubject> {
  let acceptor = await StoreAcceptor.open('a1', store);
  return {
    acceptor,
    async crashAndRestart() {
      // Dropped without close: whatever it had not acknowledged may or may not have landed.
      acceptor = await StoreAcceptor.open('a1', store);
      return acceptor;
    },
    close: () => acceptor.close(),
  };
}

describeAcceptorConformance('StoreAcceptor over MemoryStore', () => storeSubject(new MemoryStore()), { describe, it });

/** A store that acknowledges promise-only writes without keeping them: it loses promises in a crash. */
class ForgetfulStore extends MemoryStore {
  #volatile = new Map<string, KeyRecord>();
  override async get(key: string): Promise<KeyRecord | undefined> {
    return this.#volatile.get(key) ?? super.get(key);
  }
  override async put(key: string, record: KeyRecord): Promise<void> {
    const accepted = (await super.get(key))?.accepted ?? ZERO_BALLOT;
    if (ballotEquals(accepted, record.accepted)) {
      this.#volatile.set(key, record);
      return;
    }
    this.#volatile.delete(key);
    await super.put(key, record);
  }
  forget(): void {
    this.#volatile.clear();
  }
}

describe('negative control: the conformance suite catches an acceptor that forgets promises in a crash', () => {
  const cases: Array<{ name: string; body: () => Promise<void> }> = [];
  const collect = Object.assign((name: string, body: () => Promise<void>) => void cases.push({ name, body }), { skip: () => {} });
  describeAcceptorConformance(
    'forgetful',
    async () => {
      const store = new ForgetfulStore();
      const subject = await storeSubject(store);
      return { ...subject, crashAndRestart: () => (store.forget(), subject.crashAndRestart?.() as Promise<StoreAcceptor>) };
    },
    { describe: (_name, body) => body(), it: collect },
  );

  it('fails the durability case that re-prepares a promised ballot', async () => {
    const durable = cases.find((c) => c.name.startsWith('keeps promises, accepted states'));
    expect(durable).toBeDefined();
    await expect(durable?.body()).rejects.toThrow(/the promise must survive/);
  });

  it('passes the cases that do not crash', async () => {
    const basic = cases.find((c) => c.name.startsWith('promises a ballot on an empty key'));
    await expect(basic?.body()).resolves.toBeUndefined();
  });
});
