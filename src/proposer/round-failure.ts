/**
 * Which error explains a lost round, as its calls fail one by one. A round keeps one error (the
 * proposal's cause if it fails for good); when several acceptors' storage refused the write, the
 * operator needs all of them named (issue 17: "a single clear client error ... naming the
 * acceptors"), and a storage refusal says more than an acceptor that was merely not reached (the
 * remedy is to free space, not to wait).
 */
import { StorageFailedError, StorageFullError } from '../errors.js';

/** The error to keep after `error`, given the one kept so far (`previous`, `undefined` at first). */
export function keptFailure(previous: unknown, error: unknown): unknown {
  if (error instanceof StorageFullError) {
    return previous instanceof StorageFullError ? new StorageFullError(joined(previous, error), { acceptors: union(previous, error), cause: error }) : error;
  }
  if (error instanceof StorageFailedError) {
    if (previous instanceof StorageFullError) return previous;
    return previous instanceof StorageFailedError
      ? new StorageFailedError(joined(previous, error), { acceptors: union(previous, error), cause: error, untrusted: previous.untrusted || error.untrusted })
      : error;
  }
  return previous instanceof StorageFullError || previous instanceof StorageFailedError ? previous : error;
}

type StorageError = StorageFullError | StorageFailedError;

function union(a: StorageError, b: StorageError): string[] {
  return [...new Set([...a.acceptors, ...b.acceptors])];
}

function joined(a: StorageError, b: StorageError): string {
  return a.message.includes(b.message) ? a.message : `${a.message}; ${b.message}`;
}
