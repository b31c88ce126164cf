/**
 * The node's long operator operations (grow, shrink, gc, sweep) as records an operator can follow
 * from another terminal: `GET /v1/admin/operations` lists the running ones and the last finished,
 * each with its step and keys done out of total; the log gets a line when each step starts and,
 * at most every `logIntervalMs`, one with the count so far. Grow and shrink re-read every key
 * (paper §2.3: the identity pass), and a sweep reads every key: on a large cluster that takes
 * minutes, and three log lines said nothing of how far it was.
 *
 * An operation runs to its end whatever happens to the request that started it (a client that
 * goes away, an HTTP timeout): half a membership change is undone, not left. It stops early only
 * when cancelled (`DELETE /v1/admin/operations/{id}`) or when the node shuts down; a grow or
 * shrink then undoes its completed steps (`changeMembership`).
 */
import type { OperationProgress, ProgressListener } from '../cluster/options.js';
import type { Logger } from '../logger.js';

/** What an operation is. */
export type AdminOperationKind = 'grow' | 'shrink' | 'gc' | 'sweep';

/** An operation as `GET /v1/admin/operations` shows it. */
export interface AdminOperationRecord {
  /** Its id, for `GET`/`DELETE /v1/admin/operations/{id}`. */
  readonly id: string;
  readonly operation: AdminOperationKind;
  /** The acceptor (grow, shrink) or key (gc) it acts on. */
  readonly target?: string | undefined;
  readonly state: 'running' | 'completed' | 'failed' | 'cancelled';
  /** The last progress reported (absent before the first). */
  readonly progress?: OperationProgress | undefined;
  /** When it started (ISO 8601). */
  readonly startedAt: string;
  /** How long it has run, or ran, in milliseconds. */
  readonly elapsedMs: number;
  /** Why it failed. */
  readonly error?: { readonly code: string; readonly message: string } | undefined;
}

/** Options of `AdminOperations`. */
export interface AdminOperationsOptions {
  readonly logger?: Logger | undefined;
  /**
   * The shortest time between two progress lines of one operation in the log (a step's start is
   * always logged).
   * @default 5000
   */
  readonly logIntervalMs?: number | undefined;
  /**
   * How many finished operations `list` keeps.
   * @default 20
   */
  readonly keepFinished?: number | undefined;
}

interface Entry {
  readonly id: string;
  readonly operation: AdminOperationKind;
  readonly target: string | undefined;
  readonly started: number;
  readonly controller: AbortController;
  state: AdminOperationRecord['state'];
  progress: OperationProgress | undefined;
  finished: number | undefined;
  /** The order it finished in (times can tie). */
  finishedOrder: number;
  error: { readonly code: string; readonly message: string } | undefined;
  lastLog: number;
}

/** The operations of one node: started, followed, cancelled, and all stopped at shutdown. */
export class AdminOperations {
  readonly #entries = new Map<string, Entry>();
  readonly #logger: Logger | undefined;
  readonly #logIntervalMs: number;
  readonly #keepFinished: number;
  #next = 1;
  #finishes = 0;
  #closed = false;

  constructor(options: AdminOperationsOptions = {}) {
    this.#logger = options.logger;
    this.#logIntervalMs = options.logIntervalMs ?? 5000;
    this.#keepFinished = options.keepFinished ?? 20;
  }

  /**
   * Starts `run` as an operation: it gets a signal (cancel, shutdown) and a progress listener.
   * Returns its id and its outcome (a rejection is `run`'s error).
   */
  start<T>(operation: AdminOperationKind, target: string | undefined, run: (signal: AbortSignal, progress: ProgressListener) => Promise<T>): { readonly id: string; readonly outcome: Promise<T> } {
    const id = `${operation}-${this.#next++}`;
    const entry: Entry = { id, operation, target, started: Date.now(), controller: new AbortController(), state: 'running', progress: undefined, finished: undefined, finishedOrder: 0, error: undefined, lastLog: 0 };
    if (this.#closed) entry.controller.abort(new Error('the node is shutting down'));
    this.#entries.set(id, entry);
    this.#logger?.info({ id, operation, target }, `${operation}${target === undefined ? '' : ` ${target}`} started`);
    const outcome = (async () => {
      try {
        const result = await run(entry.controller.signal, (progress) => this.#progress(entry, progress));
        this.#finish(entry, 'completed', undefined);
        return result;
      } catch (error) {
        const cancelled = entry.controller.signal.aborted;
        const code = typeof (error as { code?: unknown })?.code === 'string' ? ((error as { code: string }).code) : cancelled ? 'ERR_CANCELLED' : 'ERR_INTERNAL';
        this.#finish(entry, cancelled ? 'cancelled' : 'failed', { code, message: error instanceof Error ? error.message : String(error) });
        throw error;
      }
    })();
    // The caller may stop listening (a client that went away): the record keeps the outcome.
    outcome.catch(() => {});
    return { id, outcome };
  }

  /** The running operations, then the finished ones, newest first. */
  list(): AdminOperationRecord[] {
    const all = [...this.#entries.values()];
    const running = all.filter((e) => e.state === 'running').reverse();
    const finished = all.filter((e) => e.state !== 'running').sort((a, b) => b.finishedOrder - a.finishedOrder);
    return [...running, ...finished].map(recordOf);
  }

  get(id: string): AdminOperationRecord | undefined {
    const entry = this.#entries.get(id);
    return entry === undefined ? undefined : recordOf(entry);
  }

  /** Cancels a running operation; `false` if there is none with that id running. */
  cancel(id: string): boolean {
    const entry = this.#entries.get(id);
    if (entry?.state !== 'running') return false;
    entry.controller.abort(new Error(`operation ${id} was cancelled`));
    return true;
  }

  /** How many are running. */
  get running(): number {
    return [...this.#entries.values()].filter((e) => e.state === 'running').length;
  }

  /** Cancels every running operation and refuses new ones (they start cancelled). */
  close(): void {
    this.#closed = true;
    for (const entry of this.#entries.values()) if (entry.state === 'running') entry.controller.abort(new Error('the node is shutting down'));
  }

  #progress(entry: Entry, progress: OperationProgress): void {
    const stepChanged = entry.progress?.step !== progress.step;
    entry.progress = progress;
    const now = Date.now();
    if (!stepChanged && now - entry.lastLog < this.#logIntervalMs) return;
    entry.lastLog = now;
    const percent = progress.total === 0 ? 100 : Math.floor((100 * progress.done) / progress.total);
    this.#logger?.info(
      { id: entry.id, operation: entry.operation, target: entry.target, step: progress.step, done: progress.done, total: progress.total, unit: progress.unit },
      `${entry.operation} step ${progress.step}: ${progress.done}/${progress.total} ${progress.unit} (${percent}%)`,
    );
  }

  #finish(entry: Entry, state: 'completed' | 'failed' | 'cancelled', error: Entry['error']): void {
    entry.state = state;
    entry.finished = Date.now();
    entry.finishedOrder = ++this.#finishes;
    entry.error = error;
    const fields = { id: entry.id, operation: entry.operation, target: entry.target, ms: entry.finished - entry.started, progress: entry.progress };
    if (state === 'completed') this.#logger?.info(fields, `${entry.operation} completed`);
    else this.#logger?.warn({ ...fields, err: error?.message }, `${entry.operation} ${state}`);
    const finished = [...this.#entries.values()].filter((e) => e.state !== 'running').sort((a, b) => a.finishedOrder - b.finishedOrder);
    for (const old of finished.slice(0, Math.max(0, finished.length - this.#keepFinished))) this.#entries.delete(old.id);
  }
}

function recordOf(entry: Entry): AdminOperationRecord {
  return {
    id: entry.id,
    operation: entry.operation,
    ...(entry.target === undefined ? {} : { target: entry.target }),
    state: entry.state,
    ...(entry.progress === undefined ? {} : { progress: entry.progress }),
    startedAt: new Date(entry.started).toISOString(),
    elapsedMs: (entry.finished ?? Date.now()) - entry.started,
    ...(entry.error === undefined ? {} : { error: entry.error }),
  };
}
