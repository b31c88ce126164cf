/**
 * Cancellation helpers. An aborted operation rejects with `signal.reason`, like `fetch`.
 */

/** Races `promise` against `signal`: rejects with `signal.reason` as soon as it aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    // The caller abandons `promise`; observe its rejection so it is not reported as unhandled.
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return abortableWait<T>(signal, (resolve, reject) => {
    promise.then(resolve, reject);
    return () => {};
  });
}

/**
 * A promise settled by `executor`, or rejected with `signal.reason` if the signal aborts first, in
 * which case the cleanup function `executor` returned runs (to withdraw whatever it registered).
 */
export function abortableWait<T>(
  signal: AbortSignal | undefined,
  executor: (resolve: (value: T) => void, reject: (error: unknown) => void) => () => void,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let cleanup: (() => void) | undefined;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      cleanup?.();
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    cleanup = executor(
      (value) => {
        if (finish()) resolve(value);
      },
      (error) => {
        if (finish()) reject(error);
      },
    );
  });
}
