/**
 * A first-in first-out queue on a ring buffer: `push` and `shift` in O(1), with no array method
 * calls on the way (`Array.prototype.shift` moves every element, and resetting an array's
 * `length` is a slow builtin call: measured at 2 % of sequential in-process proposals). Grows by
 * doubling when full, never shrinks; a taken slot is cleared, so the queue holds on to nothing it
 * gave out.
 */
export class Fifo<T> {
  #items: Array<T | undefined> = new Array<T | undefined>(16).fill(undefined);
  #head = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    if (this.#size === this.#items.length) this.#grow();
    const items = this.#items;
    items[(this.#head + this.#size) & (items.length - 1)] = item;
    this.#size++;
  }

  /** Removes and returns the oldest item; `undefined` when empty. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const items = this.#items;
    const item = items[this.#head];
    items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (items.length - 1);
    this.#size--;
    return item;
  }

  #grow(): void {
    const old = this.#items;
    const items = new Array<T | undefined>(old.length * 2).fill(undefined);
    for (let i = 0; i < this.#size; i++) items[i] = old[(this.#head + i) & (old.length - 1)];
    this.#items = items;
    this.#head = 0;
  }
}
