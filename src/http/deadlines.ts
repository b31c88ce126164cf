/**
 * Request deadlines without a timer per request, for a server whose requests all get the same
 * time limit (the node server's `requestTimeoutMs`).
 *
 * `AbortSignal.timeout` per request costs several microseconds (a timer, a weak reference and a
 * finalization registration), and its timer lives on for the whole timeout after the request
 * ended: at a few thousand requests a second and 30 s, tens of thousands of live timers for the
 * garbage collector to trace. Here each request gets a plain `AbortController` in a list ordered by
 * deadline (with one limit for all, the order of arrival), leaves the list when it ends, and one
 * timer, armed for the oldest request's deadline, aborts the requests whose time is up. The signal
 * aborts with the `TimeoutError` `AbortSignal.timeout` aborts with, never before the limit (the
 * timer fires at the oldest deadline; the others are checked then, and the timer re-armed for the
 * next).
 */

/** One request's deadline: its signal, and `end()` once the request is over. */
export interface Deadline {
  /** Aborts (with a `TimeoutError` `DOMException`) when the request's time is up. */
  readonly signal: AbortSignal;
  /** The request ended: its signal will not abort. Idempotent. */
  end(): void;
}

/** An entry of the list, oldest first; `undefined` links at the ends. */
class Entry implements Deadline {
  readonly controller = new AbortController();
  prev: Entry | undefined = undefined;
  next: Entry | undefined = undefined;
  /** Still in the list. */
  linked = true;

  constructor(
    readonly owner: Deadlines,
    /** When its time is up, in `performance.now()` milliseconds. */
    readonly at: number,
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  end(): void {
    if (this.linked) this.owner.unlink(this);
  }
}

/** The deadlines of requests that each get `limitMs` (see the module comment). */
export class Deadlines {
  #oldest: Entry | undefined;
  #newest: Entry | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly limitMs: number) {}

  /** Starts a request's deadline, `limitMs` from now. */
  start(): Deadline {
    const entry = new Entry(this, performance.now() + this.limitMs);
    const newest = this.#newest;
    if (newest === undefined) this.#oldest = entry;
    else {
      newest.next = entry;
      entry.prev = newest;
    }
    this.#newest = entry;
    if (this.#timer === undefined) this.#arm(entry.at);
    return entry;
  }

  /** @internal (by `Deadline.end`) */
  unlink(entry: Entry): void {
    entry.linked = false;
    const { prev, next } = entry;
    if (prev === undefined) this.#oldest = next;
    else prev.next = next;
    if (next === undefined) this.#newest = prev;
    else next.prev = prev;
    entry.prev = entry.next = undefined;
    // The timer stays armed for the deadline it had: when it fires it finds a later one and
    // re-arms (once per limit at most, rather than once per request).
  }

  #arm(at: number): void {
    // Unref'd, as `AbortSignal.timeout`'s timer is: a request in flight holds its socket open anyway.
    this.#timer = setTimeout(this.#fire, Math.max(0, Math.ceil(at - performance.now()))).unref();
  }

  readonly #fire = (): void => {
    // A timer may fire a moment early by `performance.now()` (the loop's clock lags it): a
    // deadline not reached yet re-arms the timer for the rest, so no signal aborts early.
    const now = performance.now();
    // Keep `#timer` set while aborting: a request started by an abort listener must not arm a
    // second timer. Abort listeners may end other requests too: take the oldest afresh each time.
    for (let entry = this.#oldest; entry !== undefined && entry.at <= now; entry = this.#oldest) {
      this.unlink(entry);
      entry.controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    }
    this.#timer = undefined;
    if (this.#oldest !== undefined) this.#arm(this.#oldest.at);
  };
}
