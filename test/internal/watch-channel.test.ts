import { fc, test } from '@fast-check/vitest';
import { describe, expect, vi } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { WatchChannel, closeOnAbort } from '../../src/internal/watch-channel.js';

async function drain<T>(channel: WatchChannel<T>): Promise<T[]> {
  const out: T[] = [];
  for (;;) {
    const r = await channel.next();
    if (r.done === true) return out;
    out.push(r.value);
  }
}

/** Resolves after pending microtasks (and the promise jobs they queue) have run. */
const flush = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe('WatchChannel', () => {
  test('delivers buffered values in order', async () => {
    const c = new WatchChannel<number>(10);
    c.push(1);
    c.push(2);
    c.push(3);
    c.close();
    expect(await drain(c)).toEqual([1, 2, 3]);
  });

  test('hands a pushed value to a consumer already waiting', async () => {
    const c = new WatchChannel<string>(1);
    const pending = c.next();
    c.push('a');
    await expect(pending).resolves.toEqual({ value: 'a', done: false });
    c.push('b');
    await expect(c.next()).resolves.toEqual({ value: 'b', done: false });
  });

  test('drops the oldest values when the capacity is exceeded: the consumer ends with the latest', async () => {
    const c = new WatchChannel<number>(2);
    for (let i = 1; i <= 5; i++) c.push(i);
    c.close();
    expect(await drain(c)).toEqual([4, 5]);
  });

  test('with capacity 1 only the latest value waits', async () => {
    const c = new WatchChannel<number>(1);
    c.push(1);
    c.push(2);
    c.push(3);
    await expect(c.next()).resolves.toEqual({ value: 3, done: false });
  });

  test('keeps the newest values in order over long runs', async () => {
    const c = new WatchChannel<number>(100);
    for (let i = 0; i < 1000; i++) c.push(i);
    c.close();
    expect(await drain(c)).toEqual(Array.from({ length: 100 }, (_, i) => 900 + i));
  });

  test('close ends the stream after the buffered values', async () => {
    const c = new WatchChannel<number>(4);
    c.push(1);
    c.push(2);
    c.close();
    expect(c.closed).toBe(true);
    await expect(c.next()).resolves.toEqual({ value: 1, done: false });
    await expect(c.next()).resolves.toEqual({ value: 2, done: false });
    await expect(c.next()).resolves.toEqual({ value: undefined, done: true });
    await expect(c.next()).resolves.toEqual({ value: undefined, done: true });
  });

  test('close ends a consumer already waiting', async () => {
    const c = new WatchChannel<number>(1);
    const pending = c.next();
    c.close();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
  });

  test('fail() rejects after the buffered values, once, then the stream is done', async () => {
    const c = new WatchChannel<number>(4);
    const error = new Error('boom');
    c.push(1);
    c.push(2);
    c.fail(error);
    await expect(c.next()).resolves.toEqual({ value: 1, done: false });
    await expect(c.next()).resolves.toEqual({ value: 2, done: false });
    await expect(c.next()).rejects.toBe(error);
    await expect(c.next()).resolves.toEqual({ value: undefined, done: true });
  });

  test('fail() rejects a consumer already waiting', async () => {
    const c = new WatchChannel<number>(1);
    const pending = c.next();
    const error = new Error('boom');
    c.fail(error);
    await expect(pending).rejects.toBe(error);
  });

  test('fail() after close is ignored', async () => {
    const c = new WatchChannel<number>(1);
    c.close();
    c.fail(new Error('late'));
    await expect(c.next()).resolves.toEqual({ value: undefined, done: true });
  });

  test('onClose runs exactly once, whatever closes the channel', async () => {
    const onClose = vi.fn();
    const c = new WatchChannel<number>(1, onClose);
    expect(onClose).not.toHaveBeenCalled();
    c.close();
    c.close();
    c.fail(new Error('x'));
    await c.return();
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  test('fail() runs onClose', () => {
    const onClose = vi.fn();
    new WatchChannel<number>(1, onClose).fail(new Error('x'));
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  test('return() runs onClose once, drops the buffer and ends the stream', async () => {
    const onClose = vi.fn();
    const c = new WatchChannel<number>(4, onClose);
    c.push(1);
    c.push(2);
    await expect(c.return()).resolves.toEqual({ value: undefined, done: true });
    expect(onClose).toHaveBeenCalledTimes(1);
    expect(c.closed).toBe(true);
    await expect(c.next()).resolves.toEqual({ value: undefined, done: true });
    await c.return();
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  test('return() discards a pending failure', async () => {
    const c = new WatchChannel<number>(4);
    c.push(1);
    c.fail(new Error('x'));
    await c.return();
    await expect(c.next()).resolves.toEqual({ value: undefined, done: true });
  });

  test('breaking out of for await calls return() and so onClose', async () => {
    const onClose = vi.fn();
    const c = new WatchChannel<number>(4, onClose);
    c.push(1);
    c.push(2);
    const seen: number[] = [];
    for await (const v of c) {
      seen.push(v);
      break;
    }
    expect(seen).toEqual([1]);
    expect(onClose).toHaveBeenCalledTimes(1);
    expect(c.closed).toBe(true);
  });

  test('push after close is a no-op', async () => {
    const c = new WatchChannel<number>(4);
    c.push(1);
    c.close();
    c.push(2);
    expect(await drain(c)).toEqual([1]);
  });

  test('a second concurrent next() is refused', async () => {
    const c = new WatchChannel<number>(1);
    const first = c.next();
    await expect(c.next()).rejects.toThrow(/one pending next/);
    c.push(7);
    await expect(first).resolves.toEqual({ value: 7, done: false });
  });

  test.each([[0], [-1], [1.5], [Number.NaN]])('rejects capacity %s', (capacity) => {
    expect(() => new WatchChannel<number>(capacity)).toThrow(InvalidArgumentError);
  });

  const ops = fc.array(fc.oneof(fc.nat({ max: 1000 }), fc.constant('pull' as const)), { maxLength: 200 });

  test.prop([fc.integer({ min: 1, max: 5 }), ops])('behaves like a bounded drop-oldest queue', async (capacity, script) => {
    const c = new WatchChannel<number>(capacity);
    const model: number[] = [];
    const received: number[] = [];
    const expected: number[] = [];
    let waiting: Promise<IteratorResult<number>> | undefined;
    for (const op of script) {
      if (op === 'pull') {
        if (waiting !== undefined) continue;
        const front = model.shift();
        if (front !== undefined) expected.push(front);
        const p = c.next();
        if (front === undefined) waiting = p;
        else {
          const r = await p;
          if (r.done !== true) received.push(r.value);
        }
      } else if (waiting !== undefined) {
        expected.push(op);
        c.push(op);
        const r = await waiting;
        if (r.done !== true) received.push(r.value);
        waiting = undefined;
      } else {
        c.push(op);
        model.push(op);
        if (model.length > capacity) model.shift();
      }
    }
    c.close();
    if (waiting !== undefined) expect(await waiting).toEqual({ value: undefined, done: true });
    received.push(...(await drain(c)));
    expected.push(...model);
    expect(received).toEqual(expected);
  });
});

describe('closeOnAbort', () => {
  test('closes the channel when the signal aborts', async () => {
    const onClose = vi.fn();
    const c = new WatchChannel<number>(1, onClose);
    const controller = new AbortController();
    closeOnAbort(c, controller.signal);
    const pending = c.next();
    expect(c.closed).toBe(false);
    controller.abort();
    expect(c.closed).toBe(true);
    expect(onClose).toHaveBeenCalledTimes(1);
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
  });

  test('closes at once for an already aborted signal', () => {
    const c = new WatchChannel<number>(1);
    closeOnAbort(c, AbortSignal.abort());
    expect(c.closed).toBe(true);
  });

  test('does nothing without a signal', () => {
    const c = new WatchChannel<number>(1);
    const detach = closeOnAbort(c, undefined);
    detach();
    expect(c.closed).toBe(false);
  });

  test('the returned function detaches the listener', async () => {
    const c = new WatchChannel<number>(1);
    const controller = new AbortController();
    const detach = closeOnAbort(c, controller.signal);
    detach();
    controller.abort();
    await flush();
    expect(c.closed).toBe(false);
  });
});
