/**
 * Self-test of the test-side FaultyAcceptor: each fault does what its documentation says.
 */
import { describe, expect, it } from 'vitest';
import { MemoryAcceptor } from '../../src/index.js';
import { flush } from './cluster.js';
import { AcceptorDown, FaultyAcceptor, SimulatedTimeout } from './faulty-acceptor.js';
import { enc } from './text.js';

const age = { counter: 0, id: 'p' };
const b = (counter: number) => ({ counter, id: 'p' });

function acceptor(): FaultyAcceptor {
  return new FaultyAcceptor(new MemoryAcceptor('A'));
}

describe('FaultyAcceptor', () => {
  it('passes calls through when no rule matches', async () => {
    const a = acceptor();
    await expect(a.prepare('k', age, b(1))).resolves.toMatchObject({ type: 'promised' });
    await expect(a.accept('k', age, b(1), enc('x'))).resolves.toEqual({ type: 'accepted' });
    expect(a.inner.inspect('k')?.state).toEqual(enc('x'));
    expect(a.deliveries.map((d) => d.message.method)).toEqual(['prepare', 'accept']);
    expect(a.faults).toEqual([]);
  });

  it('drops a request: the inner acceptor never sees it, the caller times out', async () => {
    const a = acceptor();
    const rule = a.addRule({ method: 'prepare', when: 'request', action: 'drop', times: 1 });
    await expect(a.prepare('k', age, b(1))).rejects.toBeInstanceOf(SimulatedTimeout);
    expect(a.inner.inspect('k')).toBeUndefined();
    expect(rule.hits).toBe(1);
    expect(rule.remaining).toBe(0);
    await expect(a.prepare('k', age, b(2))).resolves.toMatchObject({ type: 'promised' });
  });

  it('drops a reply: the inner acceptor applied it, the caller times out', async () => {
    const a = acceptor();
    a.addRule({ method: 'prepare', key: 'k', when: 'reply', action: 'drop' });
    await expect(a.prepare('k', age, b(1))).rejects.toBeInstanceOf(SimulatedTimeout);
    expect(a.inner.inspect('k')?.promise).toEqual(b(1));
    await expect(a.prepare('other', age, b(1))).resolves.toMatchObject({ type: 'promised' });
  });

  it('delays a message until the test says so', async () => {
    const a = acceptor();
    let go = (): void => {};
    const gate = new Promise<void>((resolve) => (go = resolve));
    a.addRule({ method: 'prepare', when: 'request', action: 'delay', until: () => gate });
    const reply = a.prepare('k', age, b(1));
    await flush();
    expect(a.inner.inspect('k')).toBeUndefined();
    go();
    await expect(reply).resolves.toMatchObject({ type: 'promised' });
  });

  it('holds messages and releases them in any order', async () => {
    const a = acceptor();
    a.addRule({ method: 'prepare', when: 'request', action: 'hold' });
    const first = a.prepare('k', age, b(1));
    const second = a.prepare('k', age, b(2));
    expect(a.held.map((h) => h.message.ballot)).toEqual([b(1), b(2)]);
    await a.held[1]?.release();
    await a.held[0]?.release();
    await expect(second).resolves.toMatchObject({ type: 'promised' });
    await expect(first).resolves.toMatchObject({ type: 'conflict', ballot: b(2) });
    expect(a.held).toEqual([]);
  });

  it('times a held message out and still delivers it late', async () => {
    const a = acceptor();
    a.addRule({ method: 'accept', when: 'request', action: 'hold' });
    const call = a.accept('k', age, b(1), enc('late'));
    const [held] = a.held;
    held?.timeout();
    await expect(call).rejects.toBeInstanceOf(SimulatedTimeout);
    expect(held?.callerWaiting).toBe(false);
    await expect(held?.release()).resolves.toEqual({ type: 'accepted' });
    expect(a.inner.inspect('k')?.state).toEqual(enc('late'));
    expect(a.deliveries.at(-1)?.late).toBe(true);
  });

  it('drops a held message: never delivered, the caller times out', async () => {
    const a = acceptor();
    a.addRule({ method: 'accept', when: 'request', action: 'hold' });
    const call = a.accept('k', age, b(1), enc('x'));
    a.dropAll();
    await expect(call).rejects.toBeInstanceOf(SimulatedTimeout);
    expect(a.inner.inspect('k')).toBeUndefined();
  });

  it('holds replies, optionally matching on the reply', async () => {
    const a = acceptor();
    a.addRule({ method: 'prepare', when: 'reply', action: 'hold', match: (_m, reply) => (reply as { type: string }).type === 'conflict' });
    await expect(a.prepare('k', age, b(2))).resolves.toMatchObject({ type: 'promised' });
    const conflicting = a.prepare('k', age, b(1));
    await flush(); // the reply leg starts once the inner acceptor's promise settled
    expect(a.heldOf('prepare', 'reply')).toHaveLength(1);
    await a.releaseAll();
    await expect(conflicting).resolves.toMatchObject({ type: 'conflict' });
  });

  it('refuses every call while down, without reaching the inner acceptor', async () => {
    const a = acceptor();
    await a.accept('k', age, b(1), enc('x'));
    a.down = true;
    await expect(a.prepare('k', age, b(2))).rejects.toBeInstanceOf(AcceptorDown);
    await expect(a.rejectByAge([{ counter: 1, id: 'p' }])).rejects.toBeInstanceOf(AcceptorDown);
    await expect(a.removeIfEqual('k', { ballot: b(1), state: null })).rejects.toBeInstanceOf(AcceptorDown);
    await expect(a.listKeys()[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(AcceptorDown);
    await expect(a.watch('k')[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(AcceptorDown);
    expect(a.inner.inspect('k')?.promise).toEqual(b(1));
    expect(a.inner.minimumAge('p')).toBe(0);
    a.down = false;
    const keys: string[] = [];
    for await (const key of a.listKeys()) keys.push(key);
    expect(keys).toEqual(['k']);
  });

  it('rejects with the signal reason when the caller aborts', async () => {
    const a = acceptor();
    a.addRule({ method: 'prepare', when: 'request', action: 'hold' });
    const controller = new AbortController();
    const call = a.prepare('k', age, b(1), { signal: controller.signal });
    controller.abort(new Error('gave up'));
    await expect(call).rejects.toThrow('gave up');
    expect(a.held).toHaveLength(1);
  });

  it('ignores the caller abort signal when ignoreAbort is set: the call settles only by its reply', async () => {
    const a = acceptor();
    a.ignoreAbort = true;
    a.addRule({ method: 'prepare', when: 'request', action: 'hold' });
    const controller = new AbortController();
    let settled = false;
    const call = a.prepare('k', age, b(1), { signal: controller.signal }).finally(() => (settled = true));
    controller.abort(new Error('gave up'));
    await flush();
    expect(settled).toBe(false);
    a.ignoreAbort = false; // only affects new calls
    await a.releaseAll();
    // The inner acceptor got the aborted signal too and refused the request.
    await expect(call).rejects.toThrow('gave up');
    expect(a.inner.inspect('k')).toBeUndefined();
  });
});
