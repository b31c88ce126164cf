import { describe, expect, test } from 'vitest';
import { KeyQueue } from '../../src/key-queue.js';

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued promise job run (a macrotask turn runs all microtasks first). */
const flush = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** A task that records its start in `log` and settles when its deferred does. */
function task<T>(log: string[], name: string, d: Deferred<T>): () => Promise<T> {
  return () => {
    log.push(`start ${name}`);
    return d.promise.finally(() => log.push(`end ${name}`));
  };
}

describe('KeyQueue', () => {
  test('the first task for a key starts synchronously inside run()', () => {
    const q = new KeyQueue();
    let started = false;
    const d = deferred();
    void q.run('k', () => {
      started = true;
      return d.promise;
    });
    expect(started).toBe(true);
    expect(q.activeKeys).toBe(1);
    d.resolve();
  });

  test('tasks for one key run one at a time, in arrival order', async () => {
    const q = new KeyQueue();
    const log: string[] = [];
    const [d1, d2, d3] = [deferred<number>(), deferred<number>(), deferred<number>()];
    const p1 = q.run('k', task(log, '1', d1));
    const p2 = q.run('k', task(log, '2', d2));
    const p3 = q.run('k', task(log, '3', d3));
    await flush();
    expect(log).toEqual(['start 1']);

    d1.resolve(1);
    await flush();
    expect(log).toEqual(['start 1', 'end 1', 'start 2']);

    // Settling a later task early does not let it jump the queue (task 3 has not started, and its
    // deferred settling does not start anything else).
    d3.resolve(3);
    await flush();
    expect(log).toEqual(['start 1', 'end 1', 'start 2']);

    d2.resolve(2);
    await flush();
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
    await expect(Promise.all([p1, p2, p3])).resolves.toEqual([1, 2, 3]);
    expect(q.activeKeys).toBe(0);
  });

  test('different keys run concurrently', async () => {
    const q = new KeyQueue();
    const log: string[] = [];
    const [da, db] = [deferred(), deferred()];
    const pa = q.run('a', task(log, 'a', da));
    const pb = q.run('b', task(log, 'b', db));
    expect(log).toEqual(['start a', 'start b']);
    expect(q.activeKeys).toBe(2);
    db.resolve();
    await pb;
    expect(q.activeKeys).toBe(1);
    da.resolve();
    await pa;
    await flush();
    expect(q.activeKeys).toBe(0);
  });

  test('a waiting task aborted via its signal rejects with signal.reason, never runs, and the queue continues', async () => {
    const q = new KeyQueue();
    const log: string[] = [];
    const [d1, d2, d3] = [deferred(), deferred(), deferred()];
    const controller = new AbortController();
    const reason = new Error('stop');
    const p1 = q.run('k', task(log, '1', d1));
    const p2 = q.run('k', task(log, '2', d2), controller.signal);
    const p3 = q.run('k', task(log, '3', d3));
    controller.abort(reason);
    await expect(p2).rejects.toBe(reason);
    expect(log).toEqual(['start 1']);

    d1.resolve();
    await flush();
    expect(log).toEqual(['start 1', 'end 1', 'start 3']);
    d3.resolve();
    await Promise.all([p1, p3]);
    await flush();
    expect(log).not.toContain('start 2');
    expect(q.activeKeys).toBe(0);
  });

  test('a task queued with an already aborted signal rejects with its reason and never runs', async () => {
    const q = new KeyQueue();
    const log: string[] = [];
    const d1 = deferred();
    const p1 = q.run('k', task(log, '1', d1));
    const reason = new Error('already');
    await expect(q.run('k', task(log, '2', deferred()), AbortSignal.abort(reason))).rejects.toBe(reason);
    d1.resolve();
    await p1;
    await flush();
    expect(log).toEqual(['start 1', 'end 1']);
    expect(q.activeKeys).toBe(0);
  });

  test('a task for an idle key with an already aborted signal rejects with its reason and never runs', async () => {
    const q = new KeyQueue();
    const log: string[] = [];
    const reason = new Error('already');
    await expect(q.run('k', task(log, '1', deferred()), AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(log).toEqual([]);
    expect(q.activeKeys).toBe(0);
  });

  test('aborting a task after it started does not let the next one start before it settles', async () => {
    const q = new KeyQueue();
    const log: string[] = [];
    const [d1, d2, d3] = [deferred(), deferred(), deferred()];
    const controller = new AbortController();
    void q.run('k', task(log, '1', d1));
    const p2 = q.run('k', task(log, '2', d2), controller.signal);
    void q.run('k', task(log, '3', d3));
    d1.resolve();
    await flush();
    expect(log).toEqual(['start 1', 'end 1', 'start 2']);
    controller.abort(new Error('late'));
    await p2.catch(() => undefined);
    await flush();
    expect(log).toEqual(['start 1', 'end 1', 'start 2']);
    d2.resolve();
    await flush();
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3']);
    d3.resolve();
  });

  test('a task that throws synchronously rejects its run and does not block the queue', async () => {
    const q = new KeyQueue();
    const error = new Error('sync');
    const p1 = q.run('k', () => {
      throw error;
    });
    const p2 = q.run('k', () => Promise.resolve('next'));
    await expect(p1).rejects.toBe(error);
    await expect(p2).resolves.toBe('next');
    await flush();
    expect(q.activeKeys).toBe(0);
  });

  test('a queued task that throws synchronously does not block the queue either', async () => {
    const q = new KeyQueue();
    const d1 = deferred();
    const error = new Error('sync');
    void q.run('k', () => d1.promise);
    const p2 = q.run('k', () => {
      throw error;
    });
    const p3 = q.run('k', () => Promise.resolve(3));
    d1.resolve();
    await expect(p2).rejects.toBe(error);
    await expect(p3).resolves.toBe(3);
    await flush();
    expect(q.activeKeys).toBe(0);
  });

  test('a task that rejects rejects its run and does not block the queue', async () => {
    const q = new KeyQueue();
    const error = new Error('async');
    const d1 = deferred();
    const p1 = q.run('k', () => d1.promise);
    const p2 = q.run('k', () => Promise.resolve('after'));
    d1.reject(error);
    await expect(p1).rejects.toBe(error);
    await expect(p2).resolves.toBe('after');
    await flush();
    expect(q.activeKeys).toBe(0);
  });

  test('activeKeys returns to 0 once everything settled, and a key can be reused afterwards', async () => {
    const q = new KeyQueue();
    expect(q.activeKeys).toBe(0);
    await Promise.all([q.run('a', () => Promise.resolve(1)), q.run('a', () => Promise.resolve(2)), q.run('b', () => Promise.resolve(3))]);
    await flush();
    expect(q.activeKeys).toBe(0);
    let started = false;
    const p = q.run('a', async () => {
      started = true;
    });
    expect(started).toBe(true);
    await p;
  });
});
