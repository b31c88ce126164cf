import { describe, expect, test } from 'vitest';
import {
  AcceptFailedError,
  AgeError,
  CASPaxosError,
  ConflictError,
  DuplicateError,
  type ErrorCode,
  InvalidArgumentError,
  NotEqualError,
  NotFoundError,
  NotTombstoneError,
  PrepareFailedError,
  StepFailedError,
  StateFormatError,
  StorageFailedError,
  StorageFullError,
  UnavailableError,
  isErrorCode,
  isRetryable,
} from '../src/errors.js';

const cause = new Error('root cause');
const b1 = { counter: 1, id: 'a' };
const b2 = { counter: 2, id: 'b' };

const cases: Array<[name: string, error: CASPaxosError, code: ErrorCode, retryable: boolean, cause: unknown | undefined]> = [
  ['ConflictError', new ConflictError(b1, b2, 'promise'), 'ERR_CONFLICT', true, undefined],
  ['AgeError', new AgeError({ counter: 1, id: 'p' }, { counter: 2, id: 'p' }), 'ERR_AGE', false, undefined],
  ['PrepareFailedError', new PrepareFailedError('k', b1, 3, { cause }), 'ERR_PREPARE_FAILED', true, cause],
  ['AcceptFailedError', new AcceptFailedError('k', b1, { cause }), 'ERR_ACCEPT_FAILED', true, cause],
  ['DuplicateError', new DuplicateError('addr', 'prepare'), 'ERR_DUPLICATE', false, undefined],
  ['NotFoundError', new NotFoundError('addr', 'accept'), 'ERR_NOT_FOUND', false, undefined],
  ['NotEqualError', new NotEqualError('k', 'addr', b2, b1, false), 'ERR_NOT_EQUAL', false, undefined],
  ['NotTombstoneError', new NotTombstoneError('k', b1), 'ERR_NOT_TOMBSTONE', false, undefined],
  ['InvalidArgumentError', new InvalidArgumentError('bad'), 'ERR_INVALID_ARGUMENT', false, undefined],
  ['UnavailableError', new UnavailableError('down', { cause }), 'ERR_UNAVAILABLE', true, cause],
  ['StepFailedError', new StepFailedError('gc', 'remove', cause, true), 'ERR_STEP_FAILED', true, cause],
  ['StateFormatError', new StateFormatError('k', 'not this format', { cause }), 'ERR_STATE_FORMAT', false, cause],
  ['StorageFullError', new StorageFullError('disk full', { cause, acceptors: ['a1'] }), 'ERR_STORAGE_FULL', true, cause],
  ['StorageFailedError', new StorageFailedError('read-only', { cause }), 'ERR_STORAGE_FAILED', true, cause],
];

describe('error classes', () => {
  test.each(cases)('%s has its code, name, retryable flag and cause', (name, error, code, retryable, expectedCause) => {
    expect(error.code).toBe(code);
    expect(error.name).toBe(name);
    expect(error.retryable).toBe(retryable);
    expect(error).toBeInstanceOf(CASPaxosError);
    expect(error).toBeInstanceOf(Error);
    expect(error.message).not.toBe('');
    expect(typeof error.stack).toBe('string');
    if (expectedCause === undefined) expect('cause' in error).toBe(false);
    else expect(error.cause).toBe(expectedCause);
    expect(isRetryable(error)).toBe(retryable);
  });

  test('every class is covered with a distinct code', () => {
    expect(new Set(cases.map(([, , code]) => code)).size).toBe(cases.length);
  });

  test('isErrorCode knows every code, and nothing else (codes that crossed a wire)', () => {
    for (const [, , code] of cases) expect(isErrorCode(code)).toBe(true);
    for (const other of ['ERR_NOPE', 'toString', '__proto__', '', 7, undefined]) expect(isErrorCode(other)).toBe(false);
  });

  test('an explicitly given undefined cause is kept as a cause', () => {
    const e = new UnavailableError('x', { cause: undefined });
    expect('cause' in e).toBe(true);
    expect(e.cause).toBeUndefined();
  });

  test('errors without options have no cause', () => {
    expect('cause' in new PrepareFailedError('k', b1, 1)).toBe(false);
    expect('cause' in new AcceptFailedError('k', b1)).toBe(false);
    expect('cause' in new UnavailableError('x')).toBe(false);
  });

  test('the base class names itself', () => {
    const e = new CASPaxosError('ERR_CONFLICT', 'msg', true, { cause });
    expect(e.name).toBe('CASPaxosError');
    expect(e.message).toBe('msg');
    expect(e.cause).toBe(cause);
  });

  test('ConflictError keeps both ballots and names them in its message', () => {
    const e = new ConflictError(b1, b2, 'accepted');
    expect(e.proposed).toEqual(b1);
    expect(e.existing).toEqual(b2);
    expect(e.existingKind).toBe('accepted');
    expect(e.message).toContain('1/a');
    expect(e.message).toContain('2/b');
    expect(e.message).toContain('accepted');
  });

  test('AgeError keeps both ages and names them in its message', () => {
    const e = new AgeError({ counter: 1, id: 'p' }, { counter: 4, id: 'p' });
    expect(e.incoming).toEqual({ counter: 1, id: 'p' });
    expect(e.existing).toEqual({ counter: 4, id: 'p' });
    expect(e.message).toContain('1:p');
    expect(e.message).toContain('4:p');
  });

  test('AgeError tells a proposer that raced a collection from one left out of it', () => {
    const stale = new AgeError({ counter: 1, id: 'p' }, { counter: 4, id: 'p' }, { counter: 3, id: 'p' });
    expect([stale.raced, stale.retryable]).toEqual([false, false]);
    expect(stale.message).toContain('restart it under a new id');
    const raced = new AgeError({ counter: 3, id: 'p' }, { counter: 4, id: 'p' }, { counter: 4, id: 'p' });
    expect([raced.raced, raced.retryable, raced.code]).toEqual([true, true, 'ERR_AGE']);
    expect(raced.message).toContain('while the request was in flight');
    expect(raced.message).not.toContain('restart');
  });

  test('PrepareFailedError and AcceptFailedError keep key, ballot and attempts', () => {
    const p = new PrepareFailedError('key', b2, 7);
    expect([p.key, p.ballot, p.attempts]).toEqual(['key', b2, 7]);
    expect(p.message).toContain('2/b');
    const a = new AcceptFailedError('key', b2);
    expect([a.key, a.ballot, a.outcome]).toEqual(['key', b2, 'unknown']);
  });

  test('NotEqualError is retryable exactly when the kept record is newer', () => {
    expect(new NotEqualError('k', 'addr', b1, b2, true).retryable).toBe(true);
    expect(new NotEqualError('k', 'addr', b2, b1, false).retryable).toBe(false);
    const e = new NotEqualError('k', 'addr', b1, b2, true);
    expect([e.key, e.address, e.tombstone, e.accepted]).toEqual(['k', 'addr', b1, b2]);
  });

  test('StepFailedError takes retryable from its argument and describes its cause', () => {
    const e = new StepFailedError('grow', 'add-accepter', new Error('unreachable'), false);
    expect(e.retryable).toBe(false);
    expect([e.operation, e.step]).toEqual(['grow', 'add-accepter']);
    expect(e.message).toContain('unreachable');
    expect(new StepFailedError('shrink', 's', 'plain string', true).message).toContain('plain string');
  });

  test('DuplicateError and NotFoundError keep the address', () => {
    expect(new DuplicateError('x:1', 'accept').address).toBe('x:1');
    expect(new NotFoundError('x:2', 'prepare').address).toBe('x:2');
  });
});

describe('isRetryable', () => {
  test('is true for a plain object with retryable true (an error from another package copy)', () => {
    expect(isRetryable({ retryable: true })).toBe(true);
    class ForeignError extends Error {
      readonly code = 'ERR_UNAVAILABLE';
      readonly retryable = true;
    }
    expect(isRetryable(new ForeignError('x'))).toBe(true);
  });

  test.each([
    ['an AbortError DOMException', new DOMException('aborted', 'AbortError')],
    ['a TimeoutError DOMException', new DOMException('timed out', 'TimeoutError')],
    ['the default reason of an aborted signal', AbortSignal.abort().reason],
    ['a plain Error', new Error('x')],
    ['retryable false', { retryable: false }],
    ['retryable "true" (a string)', { retryable: 'true' }],
    ['retryable 1', { retryable: 1 }],
    ['null', null],
    ['undefined', undefined],
    ['a string', 'retryable'],
    ['a number', 1],
  ])('is false for %s', (_name, value) => {
    expect(isRetryable(value)).toBe(false);
  });
});
