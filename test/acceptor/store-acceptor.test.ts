/**
 * What `StoreAcceptor` adds to the acceptor rules: it replies only after the store acknowledged
 * the write, runs one operation per key at a time, and closes cleanly.
 */
import { describe, expect, it } from 'vitest';
import { type Ballot, InvalidArgumentError, UnavailableError } from '../../src/index.js';
import type { KeyRecord } from '../../src/core/acceptor-rules.js';
import { MemoryStore } from '../../src/acceptor/memory-store.js';
import { StoreAcceptor } from '../../src/acceptor/store-acceptor.js';
import { flush } from '../support/cluster.js';

const b = (counter: number, id = 'p1'): Ballot => ({ counter, id });
const AGE = { counter: 0, id: 'p1' };

/** A store whose writes wait until the test releases them. */
class GatedStore extends MemoryStore {
  readonly pending: Array<{ key: string; release: () => void }> = [];
  override put(key: string, record: KeyRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ key, release: () => void super.put(key, record).then(resolve, reject) });
    });
  }
}


describe('StoreAcceptor', () => {
  it('replies only after the store acknowledged the write', async () => {
    const store = new GatedStore();
    const acceptor = await StoreAcceptor.open('a1', store);
    let replied = false;
    const reply = acceptor.prepare('k', AGE, b(1)).then((r) => ((replied = true), r));
    await flush();
    expect(store.pending).toHaveLength(1);
    expect(replied).toBe(false);
    store.pending.shift()?.release();
    expect(await reply).toMatchObject({ type: 'promised' });
  });

  it('runs one operation per key at a time, in arrival order, and keys independently', async () => {
    const store = new GatedStore();
    const acceptor = await StoreAcceptor.open('a1', store);
    const first = acceptor.prepare('k', AGE, b(1));
    const second = acceptor.prepare('k', AGE, b(1)); // same ballot: must see the first's promise
    const other = acceptor.prepare('j', AGE, b(1));
    await flush();
    // The second prepare on k waits for the first; j runs at once.
    expect(store.pending.map((p) => p.key).sort()).toEqual(['j', 'k']);
    for (const p of store.pending.splice(0)) p.release();
    expect(await first).toMatchObject({ type: 'promised' });
    expect(await second).toMatchObject({ type: 'conflict', ballot: b(1) });
    expect(await other).toMatchObject({ type: 'promised' });
  });

  it('rejects a call aborted while it waits for its key, without running it', async () => {
    const store = new GatedStore();
    const acceptor = await StoreAcceptor.open('a1', store);
    const first = acceptor.prepare('k', AGE, b(1));
    const controller = new AbortController();
    const second = acceptor.prepare('k', AGE, b(2), { signal: controller.signal });
    controller.abort(new Error('gave up'));
    await flush();
    store.pending.shift()?.release();
    await first;
    await expect(second).rejects.toThrow('gave up');
    await flush();
    expect(store.pending).toHaveLength(0);
    const retried = acceptor.prepare('k', AGE, b(2));
    await flush();
    store.pending.shift()?.release();
    expect(await retried).toMatchObject({ type: 'promised' });
  });

  it('close waits for operations in progress, then refuses new ones and closes the store', async () => {
    const store = new GatedStore();
    const acceptor = await StoreAcceptor.open('a1', store);
    const inFlight = acceptor.accept('k', AGE, b(1), Uint8Array.of(1));
    await flush();
    let closed = false;
    const closing = acceptor.close().then(() => (closed = true));
    await flush();
    expect(closed).toBe(false);
    store.pending.shift()?.release();
    await closing;
    expect(await inFlight).toMatchObject({ type: 'accepted' });
    await expect(acceptor.prepare('k', AGE, b(2))).rejects.toBeInstanceOf(UnavailableError);
    await expect(store.get('k')).rejects.toBeInstanceOf(UnavailableError);
  });

  it('keeps the floor and the ages it loaded, and raises them durably', async () => {
    const store = new MemoryStore();
    const first = await StoreAcceptor.open('a1', store);
    await first.rejectByAge([{ counter: 4, id: 'p1' }]);
    await first.accept('k', { counter: 4, id: 'p1' }, b(3), null);
    await first.removeIfEqual('k', { ballot: b(3), state: null });
    const second = await StoreAcceptor.open('a1', store);
    expect(second.minimumAge('p1')).toBe(4);
    expect(second.tombstoneFloor).toEqual(b(3));
    // Concurrent raises end at the highest, whatever their order.
    await Promise.all([second.rejectByAge([{ counter: 9, id: 'p2' }]), second.rejectByAge([{ counter: 7, id: 'p2' }])]);
    expect(second.minimumAge('p2')).toBe(9);
    expect((await store.loadMeta()).ages).toContainEqual({ counter: 9, id: 'p2' });
  });

  it('checks its options and its address', async () => {
    await expect(StoreAcceptor.open('', new MemoryStore())).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(StoreAcceptor.open('a1', new MemoryStore(), { scanPageSize: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('lists keys across pages', async () => {
    const acceptor = await StoreAcceptor.open('a1', new MemoryStore(), { scanPageSize: 3 });
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    for (const key of keys) await acceptor.accept(key, AGE, b(1), null);
    await acceptor.prepare('promised-only', AGE, b(1));
    const listed: string[] = [];
    for await (const key of acceptor.listKeys()) listed.push(key);
    expect(listed.sort()).toEqual(keys.sort());
  });
});
