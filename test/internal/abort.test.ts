import { getEventListeners } from 'node:events';
import { describe, expect, test, vi } from 'vitest';
import { abortable, abortableWait } from '../../src/internal/abort.js';

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

describe('abortable', () => {
  test('without a signal it settles like the inner promise', async () => {
    await expect(abortable(Promise.resolve(1), undefined)).resolves.toBe(1);
    const error = new Error('inner');
    await expect(abortable(Promise.reject(error), undefined)).rejects.toBe(error);
  });

  test('resolves with the inner value and removes its listener', async () => {
    const controller = new AbortController();
    const d = deferred<string>();
    const p = abortable(d.promise, controller.signal);
    expect(listeners(controller.signal)).toBe(1);
    d.resolve('value');
    await expect(p).resolves.toBe('value');
    expect(listeners(controller.signal)).toBe(0);
  });

  test('rejects with the inner error and removes its listener', async () => {
    const controller = new AbortController();
    const d = deferred<string>();
    const p = abortable(d.promise, controller.signal);
    const error = new Error('inner');
    d.reject(error);
    await expect(p).rejects.toBe(error);
    expect(listeners(controller.signal)).toBe(0);
  });

  test('rejects with signal.reason when the signal is already aborted', async () => {
    const reason = new Error('before');
    const never = new Promise<number>(() => {});
    await expect(abortable(never, AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  test('with an already aborted signal, a later rejection of the inner promise is not left unhandled', async () => {
    const reason = new Error('before');
    let fail: (error: Error) => void = () => {};
    const inner = new Promise<number>((_, reject) => (fail = reject));
    await expect(abortable(inner, AbortSignal.abort(reason))).rejects.toBe(reason);
    fail(new Error('late failure'));
    // vitest fails the run on an unhandled rejection; give it the chance to surface.
    await new Promise((resolve) => setTimeout(resolve, 0));
  });

  test('rejects with signal.reason when the signal aborts during the wait, and removes its listener', async () => {
    const controller = new AbortController();
    const d = deferred<number>();
    const p = abortable(d.promise, controller.signal);
    const reason = new Error('during');
    controller.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(listeners(controller.signal)).toBe(0);
    // The inner promise settling afterwards changes nothing and is not an unhandled rejection.
    d.reject(new Error('late'));
    await expect(p).rejects.toBe(reason);
  });

  test('an abort after the inner promise settled changes nothing', async () => {
    const controller = new AbortController();
    const p = abortable(Promise.resolve(5), controller.signal);
    await expect(p).resolves.toBe(5);
    controller.abort(new Error('too late'));
    await expect(p).resolves.toBe(5);
  });

  test('a TimeoutError reason from AbortSignal.timeout is passed through', async () => {
    vi.useFakeTimers();
    try {
      const p = abortable(new Promise<never>(() => {}), AbortSignal.timeout(10));
      const check = expect(p).rejects.toMatchObject({ name: 'TimeoutError' });
      await vi.advanceTimersByTimeAsync(10);
      await check;
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('abortableWait', () => {
  test('runs the cleanup on abort, and not after a normal settle', async () => {
    const cleanupAborted = vi.fn();
    const controller = new AbortController();
    const p = abortableWait<number>(controller.signal, () => cleanupAborted);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(cleanupAborted).toHaveBeenCalledTimes(1);

    const cleanupSettled = vi.fn();
    const other = new AbortController();
    const q = abortableWait<number>(other.signal, (resolve) => {
      resolve(1);
      return cleanupSettled;
    });
    await expect(q).resolves.toBe(1);
    other.abort();
    expect(cleanupSettled).not.toHaveBeenCalled();
    expect(listeners(other.signal)).toBe(0);
  });

  test('does not run the executor for an already aborted signal', async () => {
    const executor = vi.fn(() => () => {});
    const reason = new Error('before');
    await expect(abortableWait(AbortSignal.abort(reason), executor)).rejects.toBe(reason);
    expect(executor).not.toHaveBeenCalled();
  });

  test('the first settlement wins', async () => {
    const p = abortableWait<number>(undefined, (resolve, reject) => {
      resolve(1);
      reject(new Error('ignored'));
      resolve(2);
      return () => {};
    });
    await expect(p).resolves.toBe(1);
  });
});
