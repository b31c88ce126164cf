/**
 * What ends a command's process, besides a signal: a rejection nobody handled is logged (one error
 * line) and the process keeps serving; it exits (one fatal line, exit code 1) only when the
 * acceptor's store can no longer be trusted: a read of committed data failed, a record is damaged
 * (`CorruptRecordError`), or LMDB declared its environment unusable (MDB_PANIC, MDB_CORRUPTED). A
 * full or read-only disk is none of these: requests get 507 / 503 and writes resume by themselves
 * (see docs/operations/full-disk.md).
 */
import type { pino } from 'pino';
import { StorageFailedError } from '../errors.js';

let guarded = false;

/**
 * No rejection goes unhandled, and no exception kills the process without a fatal log line: a
 * rejection nobody handled is logged as an error and the process keeps serving, unless it says
 * the store cannot be trusted (`isUntrusted`): then one fatal line and exit 1. An exception thrown
 * past every handler leaves the process in an unknown state: one fatal line and exit 1.
 */
export function guardProcess(logger: pino.Logger): void {
  if (guarded) return;
  guarded = true;
  process.on('unhandledRejection', (reason: unknown) => {
    if (isUntrusted(reason)) stopUntrusted(logger, reason);
    else logger.error({ err: reason }, 'a rejection nobody handled (a bug; the process keeps serving)');
  });
  process.on('uncaughtException', (error: Error) => {
    logger.fatal({ err: error }, 'an exception nobody caught: stopping');
    logger.flush();
    process.exit(1);
  });
}

/**
 * Errors after which the acceptor's store can no longer be trusted: `StorageFailedError` with
 * `untrusted` (a read of committed data failed; LMDB's MDB_PANIC or MDB_CORRUPTED), and a damaged
 * record (`CorruptRecordError`). A full or read-only disk is not one: its writes fail cleanly.
 */
export function isUntrusted(error: unknown): boolean {
  return (error instanceof StorageFailedError && error.untrusted) || (error instanceof Error && error.name === 'CorruptRecordError');
}

/** One fatal line, then exit 1: restarting reopens the store (LMDB's committed data is atomic). */
export function stopUntrusted(logger: pino.Logger, error: unknown): void {
  logger.fatal({ err: error }, 'the store can no longer be trusted: stopping (see docs/operations/full-disk.md)');
  logger.flush();
  process.exit(1);
}
