/**
 * Logging. Pass any logger with pino's shape (a pino logger itself, or a child of one); nothing is
 * logged without one. Records are debug-level, one per phase of a proposal as the seed logs them,
 * and the hot path checks `isLevelEnabled('debug')` once per proposal before building any record.
 */

/** One log method: pino's `(mergingObject, message)` form. */
export type LogFn = (obj: Record<string, unknown>, msg?: string) => void;

/** The subset of pino's `Logger` this package uses. */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** pino's level test; when absent, debug counts as enabled. */
  isLevelEnabled?(level: string): boolean;
}

/** True when `logger` would write a debug record. */
export function debugEnabled(logger: Logger | undefined): logger is Logger {
  if (logger === undefined) return false;
  return logger.isLevelEnabled === undefined || logger.isLevelEnabled('debug');
}
