/**
 * Steps of a computation that may have to wait: a generator that yields what it waits for (a
 * value, or a promise of one) and returns its result. `runSteps` runs it synchronously for as long
 * as nothing it yields is a promise, so a computation that never waits costs no promise at all
 * (an `async` function makes one, and one more turn of the microtask queue, even when it never
 * awaits anything pending); from the first promise on, it goes on asynchronously.
 *
 * The proposer's attempts are written this way: with in-process acceptors (see
 * `acceptor/in-process`), both phases answer synchronously.
 */

/** A computation in steps: yields what it waits for, returns `T`. */
export type Steps<T> = Generator<unknown, T, unknown>;

/**
 * Runs `steps`: its result, at once if it never yields a promise, else a promise of it. A step
 * that throws throws here (synchronously, before any promise was yielded) or rejects the promise.
 */
export function runSteps<T>(steps: Steps<T>): T | Promise<T> {
  let next = steps.next();
  while (!next.done) {
    const waited = next.value;
    if (waited instanceof Promise) return finish(steps, waited);
    next = steps.next(waited);
  }
  return next.value;
}

/** Goes on with `steps` once `pending` settles: its value goes back in, or its error is thrown in. */
async function finish<T>(steps: Steps<T>, pending: Promise<unknown>): Promise<T> {
  let waited: unknown = pending;
  for (;;) {
    let next: IteratorResult<unknown, T>;
    let value: unknown;
    try {
      value = await waited;
    } catch (error) {
      next = steps.throw(error);
      if (next.done === true) return next.value;
      waited = next.value;
      continue;
    }
    next = steps.next(value);
    if (next.done === true) return next.value;
    waited = next.value;
  }
}
