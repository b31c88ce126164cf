import { fc, test } from '@fast-check/vitest';
import { afterEach, describe, expect, vi } from 'vitest';
import { getEventListeners } from 'node:events';
import { InvalidArgumentError } from '../src/errors.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, resolveRetryPolicy, retryDelay, retryWhile, timerSleep } from '../src/retry.js';

const ALMOST_ONE = 1 - Number.EPSILON;
const policy: RetryPolicy = { attempts: 10, baseDelayMs: 4, maxDelayMs: 50, multiplier: 3 };

describe('retryDelay', () => {
  test('the first retry is immediate', () => {
    expect(retryDelay(policy, 1, () => ALMOST_ONE)).toBe(0);
    expect(retryDelay(policy, 1, () => 0.5)).toBe(0);
  });

  test('the second retry waits up to the base delay', () => {
    expect(retryDelay(policy, 2, () => 0)).toBe(0);
    expect(retryDelay(policy, 2, () => 0.5)).toBe(2);
    const near = retryDelay(policy, 2, () => ALMOST_ONE);
    expect(near).toBeLessThan(4);
    expect(near).toBeGreaterThan(3.99);
  });

  test('the cap grows by the multiplier', () => {
    expect(retryDelay(policy, 3, () => 0.5)).toBe(6);
    expect(retryDelay(policy, 4, () => 0.5)).toBe(18);
  });

  test('the cap is bounded by maxDelayMs', () => {
    expect(retryDelay(policy, 5, () => 0.5)).toBe(25);
    expect(retryDelay(policy, 40, () => 0.5)).toBe(25);
    expect(retryDelay(policy, 1000, () => ALMOST_ONE)).toBeLessThan(50);
  });

  test('with the default policy the cap starts at 1 ms and stops at 100 ms', () => {
    expect(retryDelay(DEFAULT_RETRY_POLICY, 2, () => 0.5)).toBe(0.5);
    expect(retryDelay(DEFAULT_RETRY_POLICY, 3, () => 0.5)).toBe(1);
    expect(retryDelay(DEFAULT_RETRY_POLICY, 9, () => 0.5)).toBe(50);
    expect(retryDelay(DEFAULT_RETRY_POLICY, 30, () => 0.5)).toBe(50);
  });

  test.prop([
    fc.record({
      attempts: fc.constant(10),
      baseDelayMs: fc.double({ min: 0, max: 1000, noNaN: true }),
      maxDelayMs: fc.double({ min: 0, max: 1000, noNaN: true }),
      multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
    }),
    fc.integer({ min: 2, max: 60 }),
    fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  ])('later retries wait in [0, maxDelayMs] and never less than an earlier retry for the same random draw', (p, retry, r) => {
    const d = retryDelay(p, retry, () => r);
    expect(d).toBeGreaterThanOrEqual(0);
    expect(d).toBeLessThanOrEqual(p.maxDelayMs);
    expect(d).toBeLessThanOrEqual(p.baseDelayMs * p.multiplier ** (retry - 2));
    expect(retryDelay(p, retry + 1, () => r)).toBeGreaterThanOrEqual(d);
  });
});

describe('resolveRetryPolicy', () => {
  test('fills in the defaults', () => {
    expect(resolveRetryPolicy(undefined)).toEqual({ attempts: 10, baseDelayMs: 1, maxDelayMs: 100, multiplier: 2 });
    expect(resolveRetryPolicy({})).toEqual(DEFAULT_RETRY_POLICY);
  });

  test('keeps the fields given and defaults the others', () => {
    expect(resolveRetryPolicy({ attempts: 3, maxDelayMs: 7 })).toEqual({ attempts: 3, baseDelayMs: 1, maxDelayMs: 7, multiplier: 2 });
  });

  test('accepts the boundaries: one attempt, zero delays, a constant cap (multiplier 1)', () => {
    expect(resolveRetryPolicy({ attempts: 1, baseDelayMs: 0, maxDelayMs: 0, multiplier: 1 })).toEqual({
      attempts: 1,
      baseDelayMs: 0,
      maxDelayMs: 0,
      multiplier: 1,
    });
  });

  test('fields given as undefined (from plain JavaScript) take their defaults', () => {
    expect(resolveRetryPolicy({ attempts: undefined, maxDelayMs: 7 } as unknown as Partial<RetryPolicy>)).toEqual({
      attempts: 10,
      baseDelayMs: 1,
      maxDelayMs: 7,
      multiplier: 2,
    });
  });

  test('does not modify the defaults', () => {
    resolveRetryPolicy({ attempts: 2 });
    expect(DEFAULT_RETRY_POLICY.attempts).toBe(10);
  });

  test.each([
    ['attempts 0', { attempts: 0 }],
    ['attempts -1', { attempts: -1 }],
    ['attempts 1.5', { attempts: 1.5 }],
    ['attempts NaN', { attempts: Number.NaN }],
    ['attempts Infinity', { attempts: Number.POSITIVE_INFINITY }],
    ['a negative baseDelayMs', { baseDelayMs: -1 }],
    ['a NaN baseDelayMs', { baseDelayMs: Number.NaN }],
    ['an infinite baseDelayMs', { baseDelayMs: Number.POSITIVE_INFINITY }],
    ['a negative maxDelayMs', { maxDelayMs: -0.5 }],
    ['a NaN maxDelayMs', { maxDelayMs: Number.NaN }],
    ['a negative multiplier', { multiplier: -2 }],
    ['a shrinking multiplier', { multiplier: 0.5 }],
    ['a NaN multiplier', { multiplier: Number.NaN }],
  ])('throws InvalidArgumentError on %s', (_name, partial: Partial<RetryPolicy>) => {
    expect(() => resolveRetryPolicy(partial)).toThrow(InvalidArgumentError);
  });
});

describe('timerSleep', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test('resolves after the delay', async () => {
    vi.useFakeTimers();
    let done = false;
    const p = timerSleep(1000).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(done).toBe(true);
  });

  test('resolves with a signal that never aborts, and removes its listener', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const p = timerSleep(10, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(10);
    await expect(p).resolves.toBeUndefined();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  test('with a real timer, a tiny delay resolves', async () => {
    await expect(timerSleep(1)).resolves.toBeUndefined();
  });

  test('rejects with signal.reason when aborted before the wait', async () => {
    vi.useFakeTimers();
    const reason = new Error('before');
    await expect(timerSleep(1000, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  test('rejects with signal.reason when aborted during the wait, and clears its timer', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const reason = new Error('during');
    const p = timerSleep(1000, controller.signal);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(500);
    controller.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  test('an abort without a reason rejects with the default AbortError', async () => {
    const controller = new AbortController();
    const p = timerSleep(60_000, controller.signal);
    controller.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('retryWhile', () => {
  const policy = { attempts: 4, baseDelayMs: 10, maxDelayMs: 40, multiplier: 2 };

  test('runs again after each retryable failure, always after a backoff, until it succeeds', async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await retryWhile(
      async () => {
        if (++calls < 3) throw new Error('busy');
        return 'done';
      },
      () => true,
      { policy, random: () => 0.5, sleep: async (ms) => void waits.push(ms) },
    );
    expect(result).toBe('done');
    expect(calls).toBe(3);
    // retryDelay of retries 2 and 3: half of the caps 10 and 20 (never the immediate first retry).
    expect(waits).toEqual([5, 10]);
  });

  test('stops at a failure it must not retry, at the last attempt, and on abort', async () => {
    const sleep = async (): Promise<void> => {};
    const fatal = new Error('fatal');
    let calls = 0;
    await expect(retryWhile(() => Promise.reject(fatal), (e) => e !== fatal, { policy, sleep })).rejects.toBe(fatal);
    await expect(
      retryWhile(
        () => {
          calls++;
          return Promise.reject(new Error('busy'));
        },
        () => true,
        { policy, sleep },
      ),
    ).rejects.toThrow('busy');
    expect(calls).toBe(policy.attempts);
    const controller = new AbortController();
    calls = 0;
    await expect(
      retryWhile(
        () => {
          if (++calls === 2) controller.abort(new Error('stop'));
          return Promise.reject(new Error('busy'));
        },
        () => true,
        { policy, sleep, signal: controller.signal },
      ),
    ).rejects.toThrow('busy');
    expect(calls).toBe(2);
  });
});
