/**
 * Per-key FIFO. A proposer runs one proposal per key at a time, so its own proposals on one key
 * never duel each other; proposals on different keys run concurrently. (The seed held one mutex per
 * proposer, which serialized every key.) Waiting proposals start in arrival order; one that is
 * aborted while waiting leaves the queue without running.
 */
import { abortableWait } from './abort.js';

export class KeyQueue {
  /** Keys with a running task, each with the starters of the tasks waiting behind it. */
  #waiting = new Map<string, Array<() => void>>();

  /** Number of keys with a running task (for tests and introspection). */
  get activeKeys(): number {
    return this.#waiting.size;
  }

  /**
   * Runs `task` now if nothing runs for `key` (synchronously, before returning), otherwise once
   * everything queued before it has settled. Rejects with `signal.reason`, without running the
   * task, if the signal is aborted already or aborts while the task waits; once started, the task
   * itself decides what an abort does, and the key stays busy until it settles.
   */
  run<T>(key: string, task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const queue = this.#waiting.get(key);
    if (queue === undefined) {
      this.#waiting.set(key, []);
      return this.#start(key, task);
    }
    return abortableWait<T>(signal, (resolve, reject) => {
      const start = (): void => {
        this.#start(key, task).then(resolve, reject);
      };
      queue.push(start);
      return () => {
        const i = queue.indexOf(start);
        if (i >= 0) queue.splice(i, 1);
      };
    });
  }

  #start<T>(key: string, task: () => Promise<T>): Promise<T> {
    let promise: Promise<T>;
    try {
      promise = task();
    } catch (error) {
      promise = Promise.reject(error);
    }
    const next = (): void => this.#next(key);
    promise.then(next, next);
    return promise;
  }

  #next(key: string): void {
    const queue = this.#waiting.get(key);
    const start = queue?.shift();
    if (start === undefined) this.#waiting.delete(key);
    else start();
  }
}
