/**
 * Retry policy for proposals that lose their prepare phase to a higher ballot or to unreachable
 * acceptors. Such an attempt had no effect, so it is safe to try again with a fresh, higher ballot.
 * The first retry is immediate (fast-forwarding past the conflicting ballot usually suffices); later
 * ones wait a random delay ("full jitter") under an exponentially growing cap, so dueling proposers
 * stop preempting each other.
 */
import { InvalidArgumentError } from './errors.js';

/**
 * How a proposer retries an attempt that had no effect: how many attempts, and the capped
 * exponential backoff with full jitter between them. Pass a `Partial<RetryPolicy>`: missing fields
 * take `DEFAULT_RETRY_POLICY`'s values.
 */
export interface RetryPolicy {
  /**
   * Attempts per proposal, the first included. 1 disables retries.
   * @default 10
   */
  readonly attempts: number;
  /**
   * The cap of the delay before the second retry, in milliseconds; each later retry multiplies it
   * by `multiplier`, up to `maxDelayMs`. The actual delay is uniform in [0, cap).
   * @default 1
   */
  readonly baseDelayMs: number;
  /**
   * The largest delay cap, in milliseconds.
   * @default 100
   */
  readonly maxDelayMs: number;
  /**
   * Growth factor of the delay cap.
   * @default 2
   */
  readonly multiplier: number;
}

/**
 * The retry policy a `MemoryProposer` uses by default: 10 attempts, the first retry immediate,
 * later ones after a random delay under a cap of 1, 2, 4 ... up to 100 ms.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  attempts: 10,
  baseDelayMs: 1,
  maxDelayMs: 100,
  multiplier: 2,
});

/** Waits `ms` milliseconds; rejects with `signal.reason` if the signal aborts first. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** A source of uniform random numbers in [0, 1), like `Math.random`. */
export type Random = () => number;

/**
 * The delay before retry number `retry` (1 for the first retry): 0 for the first, then uniform in
 * [0, min(maxDelayMs, baseDelayMs * multiplier^(retry-2))).
 */
export function retryDelay(policy: RetryPolicy, retry: number, random: Random): number {
  if (retry <= 1) return 0;
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * policy.multiplier ** (retry - 2));
  return random() * cap;
}

/** Validates and completes a partial policy. Throws `InvalidArgumentError` on nonsense values. */
export function resolveRetryPolicy(partial: Partial<RetryPolicy> | undefined): RetryPolicy {
  // Fields given as `undefined` (plain JavaScript callers) take their defaults.
  const given = Object.entries(partial ?? {}).filter(([, value]) => value !== undefined);
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...Object.fromEntries(given) };
  if (!Number.isSafeInteger(policy.attempts) || policy.attempts < 1) throw new InvalidArgumentError(`retry.attempts must be an integer >= 1, got ${policy.attempts}`);
  for (const field of ['baseDelayMs', 'maxDelayMs', 'multiplier'] as const) {
    const value = policy[field];
    if (!Number.isFinite(value) || value < 0) throw new InvalidArgumentError(`retry.${field} must be a finite number >= 0, got ${value}`);
  }
  if (policy.multiplier < 1) throw new InvalidArgumentError(`retry.multiplier must be >= 1, got ${policy.multiplier}`);
  return policy;
}

/** The default `Sleep`, on the host's timers (browsers and Node alike). */
export const timerSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Runs `attempt` until it resolves, or rejects with an error `retryable` refuses, or `policy`'s
 * attempts are used up, or `signal` aborts; between attempts it always waits a jittered backoff
 * (`retryDelay` of the next retry: whatever made the attempt fail is usually still going on).
 * For operations whose every attempt is safe to repeat.
 */
export async function retryWhile<T>(
  attempt: () => Promise<T>,
  retryable: (error: unknown) => boolean,
  { signal, policy = DEFAULT_RETRY_POLICY, random = Math.random, sleep = timerSleep }: { signal?: AbortSignal | undefined; policy?: RetryPolicy; random?: Random; sleep?: Sleep } = {},
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (!retryable(error) || signal?.aborted === true || n >= policy.attempts) throw error;
      await sleep(retryDelay(policy, n + 1, random), signal);
    }
  }
}
