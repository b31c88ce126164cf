/**
 * Why the command line stopped, as an exit code a script can switch on. A refusal is not a crash:
 * the process found something it must not run on (a data directory that lost its data, another
 * process on it, a membership that disagrees with the cluster's) and says what to do instead.
 *
 *     0  ran and stopped cleanly (or printed help)
 *     1  failed unexpectedly (the message says how)
 *     2  a command-line mistake (the usage is printed)
 *     3  the data directory is missing or empty: create it with --init (or, if it served before,
 *        replace the member: --init anew, then shrink the old, grow the new)
 *     4  the data directory was written by a release without identities: adopt it (--adopt)
 *     5  the data directory (or the node's state) belongs to another cluster
 *     6  the data directory (or the node's state) is damaged: truncated, corrupt, inconsistent
 *     7  another process holds the directory's lock (or this process lost it)
 *     8  the node's membership cannot be trusted: its acceptors could not be identified at
 *        bootstrap, or a peer node runs with another membership
 */
import { DataDirectoryError, type DataDirectoryProblem } from '../lmdb/data-directory.js';

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  missing: 3,
  unadopted: 4,
  foreign: 5,
  damaged: 6,
  locked: 7,
  membership: 8,
} as const;

/** A refusal to run, with its exit code (see the module comment). */
export class Refusal extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'Refusal';
  }
}

const EXIT_OF_PROBLEM: Record<DataDirectoryProblem, number> = {
  missing: EXIT.missing,
  empty: EXIT.missing,
  'not-empty': EXIT.usage,
  unadopted: EXIT.unadopted,
  foreign: EXIT.foreign,
  damaged: EXIT.damaged,
  locked: EXIT.locked,
};

/** A `DataDirectoryError` as a `Refusal`; anything else unchanged. */
export function asRefusal(error: unknown): unknown {
  if (error instanceof DataDirectoryError) return new Refusal(EXIT_OF_PROBLEM[error.problem], error.message, { cause: error });
  return error;
}
