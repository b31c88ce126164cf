/**
 * The simulation's agenda: events ordered by virtual time, ties broken by insertion order, so the
 * order of events is a pure function of the order they were scheduled in.
 */

/** One scheduled item. */
interface Entry<T> {
  /** When it is due. */
  readonly time: number;
  /** Insertion order, breaking ties between equal times. */
  readonly seq: number;
  /** The item. */
  readonly item: T;
}

/**
 * An item on the queue and when it is due.
 * @inline
 */
interface QueuedItem<T> {
  /** When it is due. */
  readonly time: number;
  /** The item. */
  readonly item: T;
}

/** A binary min-heap on (time, seq). */
export class EventQueue<T> {
  #heap: Array<Entry<T>> = [];
  #seq = 0;

  /** Entries queued. */
  get size(): number {
    return this.#heap.length;
  }

  /** Queues `item` at `time`, after every entry already queued at that time. */
  push(time: number, item: T): void {
    const heap = this.#heap;
    heap.push({ time, seq: this.#seq++, item });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Entry<T>, heap[parent] as Entry<T>)) break;
      [heap[i], heap[parent]] = [heap[parent] as Entry<T>, heap[i] as Entry<T>];
      i = parent;
    }
  }

  /** The earliest entry without removing it. */
  peek(): QueuedItem<T> | undefined {
    return this.#heap[0];
  }

  /** Removes and returns the earliest entry. */
  pop(): QueuedItem<T> | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined) return undefined;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left] as Entry<T>, heap[smallest] as Entry<T>)) smallest = left;
        if (right < heap.length && before(heap[right] as Entry<T>, heap[smallest] as Entry<T>)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest] as Entry<T>, heap[i] as Entry<T>];
        i = smallest;
      }
    }
    return top;
  }

  /** Every entry, earliest first (a copy; for inspection). */
  entries(): Array<QueuedItem<T>> {
    return [...this.#heap].sort((a, b) => (before(a, b) ? -1 : 1));
  }

  /** Removes the entries whose item matches; returns how many. */
  remove(matches: (item: T) => boolean): number {
    const kept = this.#heap.filter((e) => !matches(e.item));
    const removed = this.#heap.length - kept.length;
    if (removed > 0) {
      this.#heap = [];
      for (const e of kept.sort((a, b) => (before(a, b) ? -1 : 1))) this.#heap.push(e);
    }
    return removed;
  }
}

function before<T>(a: Entry<T>, b: Entry<T>): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
