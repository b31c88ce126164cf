/**
 * Argument checks at the public boundary. Each throws `InvalidArgumentError` before anything is
 * changed, so bad input never leaves half-applied state behind.
 */
import { isAge } from '../core/age.js';
import type { Age } from '../core/age.js';
import { MAX_BALLOT_COUNTER, isBallot } from '../core/ballot.js';
import type { Ballot } from '../core/ballot.js';
import type { State } from '../core/messages.js';
import { isState } from '../core/state.js';
import { InvalidArgumentError } from '../errors.js';

export function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new InvalidArgumentError(`key must be a string, got ${typeName(key)}`);
}

export function assertState(state: unknown, what: string): asserts state is State {
  if (!isState(state)) throw new InvalidArgumentError(`${what} must be a Uint8Array or null, got ${typeName(state)}`);
}

export function assertBallot(ballot: unknown, what = 'ballot'): asserts ballot is Ballot {
  if (!isBallot(ballot)) {
    throw new InvalidArgumentError(
      `${what} must be { counter, id } with a non-negative integer counter, and id '' exactly when counter is 0; got ${preview(ballot)}`,
    );
  }
}

/**
 * `assertBallot`, and a counter of at most `MAX_BALLOT_COUNTER`: for ballots that arrive in
 * requests from the wire (prepare, accept, `next`, ancestry, tombstone, fast-forward), so no
 * request can push a key's promise, or a proposer's counter, to where counters cannot grow.
 * Stored records and replies are only shape-checked (`assertBallot`): what was stored before the
 * limit existed still reads.
 */
export function assertRequestBallot(ballot: unknown, what = 'ballot'): asserts ballot is Ballot {
  assertBallot(ballot, what);
  if (ballot.counter > MAX_BALLOT_COUNTER) {
    throw new InvalidArgumentError(`${what} counter ${ballot.counter} is above the largest accepted, ${MAX_BALLOT_COUNTER} (2^48)`);
  }
}

export function assertAge(age: unknown, what = 'age'): asserts age is Age {
  if (!isAge(age)) {
    throw new InvalidArgumentError(`${what} must be { counter, id } with a non-negative integer counter and a non-empty id; got ${preview(age)}`);
  }
}

/**
 * A numeric option: `fallback` when absent, else a safe integer of at least `min`, or
 * `InvalidArgumentError` naming the option.
 */
export function integerOption(value: unknown, what: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw new InvalidArgumentError(`${what} must be an integer >= ${min}, got ${String(value)}`);
  return value;
}

export function assertFunction(fn: unknown, what: string): asserts fn is (...args: never[]) => unknown {
  if (typeof fn !== 'function') throw new InvalidArgumentError(`${what} must be a function, got ${typeName(fn)}`);
}

export function assertAddress(value: unknown, what: string): asserts value is { readonly address: string } {
  const address = typeof value === 'object' && value !== null ? (value as { address?: unknown }).address : undefined;
  if (typeof address !== 'string' || address === '') {
    throw new InvalidArgumentError(`${what} must have a non-empty string address, got ${preview(value)}`);
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

function preview(value: unknown): string {
  try {
    return JSON.stringify(value) ?? typeName(value);
  } catch {
    return typeName(value);
  }
}
