import { describe, expect, test } from 'vitest';
import { type Steps, runSteps } from '../../src/internal/steps.js';

describe('runSteps', () => {
  test('a computation that yields no promise runs synchronously: its result, not a promise', () => {
    const log: string[] = [];
    function* steps(): Steps<number> {
      const a = yield 1;
      log.push(`got ${String(a)}`);
      yield 'x';
      return 42;
    }
    expect(runSteps(steps())).toBe(42);
    expect(log).toEqual(['got 1']); // each yielded value goes back in
  });

  test('from the first promise on it goes on asynchronously; settled values go back in', async () => {
    const log: unknown[] = [];
    function* steps(): Steps<string> {
      log.push(yield 'sync');
      log.push(yield Promise.resolve('later'));
      log.push(yield 'after');
      return 'done';
    }
    const result = runSteps(steps());
    expect(result).toBeInstanceOf(Promise);
    expect(log).toEqual(['sync']);
    await expect(result).resolves.toBe('done');
    expect(log).toEqual(['sync', 'later', 'after']);
  });

  test('a step that throws before any promise throws synchronously, and finally blocks run', () => {
    const log: string[] = [];
    function* steps(): Steps<void> {
      try {
        yield 1;
        throw new Error('boom');
      } finally {
        log.push('finally');
      }
    }
    expect(() => runSteps(steps())).toThrow('boom');
    expect(log).toEqual(['finally']);
  });

  test('a rejected promise is thrown into the computation: it may catch it and go on', async () => {
    function* steps(): Steps<string> {
      try {
        yield Promise.reject(new Error('lost'));
      } catch (error) {
        const again = yield Promise.resolve(`recovered from ${(error as Error).message}`);
        return String(again);
      }
      return 'unreachable';
    }
    await expect(runSteps(steps())).resolves.toBe('recovered from lost');
  });

  test('an uncaught rejection rejects the result, after the finally blocks ran', async () => {
    const log: string[] = [];
    function* steps(): Steps<void> {
      try {
        yield Promise.resolve();
        yield Promise.reject(new Error('late'));
      } finally {
        log.push('finally');
      }
    }
    await expect(runSteps(steps())).rejects.toThrow('late');
    expect(log).toEqual(['finally']);
  });
});
