/** `keptFailure`: which error a lost round keeps to explain itself, as its calls fail one by one. */
import { describe, expect, it } from 'vitest';
import { StorageFailedError, StorageFullError, UnavailableError } from '../../src/index.js';
import { keptFailure } from '../../src/proposer/round-failure.js';

const full = (a: string) => new StorageFullError(`${a}: storage full`, { acceptors: [a] });
const failing = (a: string, untrusted = false) => new StorageFailedError(`${a}: storage failed`, { acceptors: [a], untrusted });
const unreachable = (a: string) => new UnavailableError(`${a} unreachable`);

const keep = (...errors: unknown[]): unknown => errors.reduce<unknown>((kept, e) => keptFailure(kept, e), undefined);

describe('keptFailure', () => {
  it('names every acceptor whose storage is full, each once', () => {
    const kept = keep(full('a1'), full('a2'), full('a1'));
    expect(kept).toBeInstanceOf(StorageFullError);
    expect((kept as StorageFullError).acceptors).toEqual(['a1', 'a2']);
    expect((kept as StorageFullError).message).toBe('a1: storage full; a2: storage full');
  });

  it('a storage refusal outranks an acceptor not reached, and full outranks failing', () => {
    expect(keep(unreachable('a1'), full('a2'), unreachable('a3'))).toMatchObject({ code: 'ERR_STORAGE_FULL', acceptors: ['a2'] });
    expect(keep(failing('a1'), full('a2'), failing('a3'))).toMatchObject({ code: 'ERR_STORAGE_FULL', acceptors: ['a2'] });
    const failed = keep(failing('a1'), unreachable('a2'), failing('a3', true));
    expect(failed).toMatchObject({ code: 'ERR_STORAGE_FAILED', acceptors: ['a1', 'a3'], untrusted: true });
  });

  it('without storage errors, the latest failure (as before)', () => {
    const last = unreachable('a3');
    expect(keep(unreachable('a1'), new Error('boom'), last)).toBe(last);
  });
});
