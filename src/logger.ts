/**
 * Logging. Pass any logger with pino's shape (a pino logger itself, or a child of one); nothing is
 * logged without one. Records are debug-level, one per phase of a proposal as the seed logs them
 * and one per acceptor request; nothing is built while debug is disabled, and on the hot path a
 * pino logger is not even asked (see `DebugGate`).
 */

import { type Age, formatAge } from './core/age.js';
import { type Ballot, formatBallot } from './core/ballot.js';

/** One log method: pino's `(mergingObject, message)` form. */
export type LogFn = (obj: Record<string, unknown>, msg?: string) => void;

/** The subset of pino's `Logger` this package uses. */
export interface Logger {
  /** Where every record of this package goes (one per proposal phase and per acceptor request). */
  debug: LogFn;
  /**
   * Completed steps of membership changes and garbage collection; requests served by a node server.
   */
  info: LogFn;
  /**
   * Trouble an operator should see that no caller receives: an undo step that failed, a key-value
   * sweep that could not read a key.
   */
  warn: LogFn;
  /** An HTTP request handler or a hosted acceptor failed (the client gets a 5xx reply). */
  error: LogFn;
  /** pino's level test; when absent, debug counts as enabled. */
  isLevelEnabled?(level: string): boolean;
  /** pino's level number; with `on`, marks a logger that announces its level changes. */
  readonly levelVal?: number;
  /** pino's `EventEmitter` methods, for its `'level-change'` event. */
  on?(event: 'level-change', listener: () => void): unknown;
  /** pino's `EventEmitter.off`: removes the `'level-change'` listener once its logger is gone. */
  off?(event: 'level-change', listener: () => void): unknown;
  /**
   * pino's `EventEmitter.listenerCount`: with `getMaxListeners`, keeps this package under the
   * family's listener limit.
   */
  listenerCount?(event: 'level-change'): number;
  /** pino's `EventEmitter.getMaxListeners` (0: no limit). */
  getMaxListeners?(): number;
}

/** True when `logger` would write a debug record. */
export function debugEnabled(logger: Logger | undefined): logger is Logger {
  if (logger === undefined) return false;
  return logger.isLevelEnabled === undefined || logger.isLevelEnabled('debug');
}

/** Whether debug is enabled on one pino logger, kept current by its `'level-change'` event. */
interface LevelWatch {
  enabled: boolean;
}

/** One watch per logger object, shared by every proposer and acceptor given that logger. */
const watches = new WeakMap<Logger, LevelWatch>();

/**
 * The logger to write a debug record to, or `undefined` while debug is disabled: `debugEnabled`,
 * cheap enough to ask on every message. Asking pino costs tens of nanoseconds in a hot loop
 * (measured: `isLevelEnabled` or even reading `levelVal` once per acceptor request made a
 * 3-acceptor cluster 10-15% slower), so for a pino logger the answer is kept in a flag that pino's
 * `'level-change'` event (emitted after every level change, `logger.level = 'debug'` included)
 * refreshes; the hot path reads the flag. Other loggers are asked every time.
 *
 * pino's child loggers share their parent's event listeners, so each distinct logger object adds
 * one listener to its family: the listener holds its logger weakly and removes itself once the
 * logger is gone, and when a family is at its listener limit the gate asks the logger instead of
 * adding one (no `MaxListenersExceededWarning` from this package).
 */
export class DebugGate {
  readonly #logger: Logger | undefined;
  readonly #watch: LevelWatch | undefined;

  constructor(logger: Logger | undefined) {
    this.#logger = logger;
    this.#watch = logger === undefined ? undefined : watchLevel(logger);
  }

  get(): Logger | undefined {
    const watch = this.#watch;
    if (watch !== undefined) return watch.enabled ? this.#logger : undefined;
    return debugEnabled(this.#logger) ? this.#logger : undefined;
  }

  /**
   * The debug record of one acceptor request, the same for every acceptor implementation. On hot
   * paths, test `get()` first: the arguments alone cost something.
   */
  acceptorRequest(acceptor: string, method: string, key: string, ballot: Ballot, age: Age | undefined, result: string): void {
    this.get()?.debug({ acceptor, method, key, B: formatBallot(ballot), ...(age === undefined ? {} : { age: formatAge(age) }), result });
  }
}

function watchLevel(logger: Logger): LevelWatch | undefined {
  const existing = watches.get(logger);
  if (existing !== undefined) return existing;
  if (typeof logger.levelVal !== 'number' || typeof logger.on !== 'function' || typeof logger.off !== 'function') return undefined;
  if (typeof logger.listenerCount === 'function' && typeof logger.getMaxListeners === 'function') {
    const max = logger.getMaxListeners();
    if (max > 0 && logger.listenerCount('level-change') >= max) return undefined;
  }
  const watch: LevelWatch = { enabled: debugEnabled(logger) };
  const ref = new WeakRef(logger);
  const listener = function (this: Logger | undefined): void {
    const current = ref.deref();
    if (current !== undefined) watch.enabled = debugEnabled(current);
    // The logger was collected: leave its family (`this` is the emitting logger, one of it).
    else this?.off?.('level-change', listener);
  };
  logger.on('level-change', listener);
  watches.set(logger, watch);
  return watch;
}
