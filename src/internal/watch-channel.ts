/**
 * A one-consumer async queue for watch streams. Producers `push` and never wait: when `capacity`
 * values are already waiting, the oldest is dropped, so a slow consumer skips intermediate values
 * but always ends with the latest, and the producer (an acceptor) is never held up by it.
 */
import { InvalidArgumentError } from '../errors.js';

/** How many states a watch stream buffers for a slow consumer unless told otherwise (`WatchOptions.bufferSize`). */
export const DEFAULT_WATCH_BUFFER = 1024;

export class WatchChannel<T> implements AsyncIterableIterator<T> {
  #buffer: T[] = [];
  #head = 0;
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  #closed = false;
  #error: { readonly error: unknown } | undefined;
  #onClose: (() => void) | undefined;

  /**
   * @param capacity how many values may wait for the consumer (at least 1).
   * @param onClose called once when the channel closes, for whatever reason (to unsubscribe).
   */
  constructor(
    readonly capacity: number,
    onClose?: () => void,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new InvalidArgumentError(`bufferSize must be an integer >= 1, got ${capacity}`);
    this.#onClose = onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Hands `value` to the waiting consumer or buffers it; a no-op once closed. */
  push(value: T): void {
    if (this.#closed) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.resolve({ value, done: false });
      return;
    }
    this.#buffer.push(value);
    if (this.#buffer.length - this.#head > this.capacity) this.#head++;
    if (this.#head > 64 && this.#head * 2 > this.#buffer.length) {
      this.#buffer = this.#buffer.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Ends the stream after the values already buffered. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const onClose = this.#onClose;
    this.#onClose = undefined;
    onClose?.();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter === undefined) return;
    if (this.#error !== undefined) waiter.reject(this.#error.error);
    else waiter.resolve({ value: undefined, done: true });
  }

  /** Ends the stream with an error, delivered after the values already buffered. */
  fail(error: unknown): void {
    if (this.#closed) return;
    this.#error = { error };
    this.close();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#buffer.length) {
      const value = this.#buffer[this.#head] as T;
      this.#head++;
      if (this.#head === this.#buffer.length) {
        this.#buffer = [];
        this.#head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#closed) {
      if (this.#error !== undefined) {
        const { error } = this.#error;
        this.#error = undefined;
        return Promise.reject(error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.#waiter !== undefined) return Promise.reject(new Error('WatchChannel supports one pending next() at a time'));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Called by `for await` on `break`/`return`/`throw`: stops the stream and drops what is buffered. */
  return(): Promise<IteratorResult<T>> {
    this.#buffer = [];
    this.#head = 0;
    this.#error = undefined;
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** Closes `channel` when `signal` aborts; returns a function that detaches the listener. */
export function closeOnAbort(channel: { close(): void }, signal: AbortSignal | undefined): () => void {
  if (signal === undefined) return () => {};
  if (signal.aborted) {
    channel.close();
    return () => {};
  }
  const onAbort = (): void => channel.close();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}
