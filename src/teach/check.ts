/**
 * Checking a teaching cluster's run with the library's own checkers: its operations as a history
 * (`check/history`), judged by the linearizability checker (`check/linearizability`, against the
 * compare-and-set register model), and the acceptor monitor's findings (`sim/monitor`, checked
 * after every request). A correct cluster passes whatever a learner does; a cluster built with a
 * rule broken (`ClusterOptions.breaks`) can be caught.
 *
 * How operations become history entries: a read is a `read` of the value it returned; `set` and
 * `remove` are blind `write`s; any other change (append, increment, your own) is a `cas` from the
 * value its change function last ran on to the value it produced, which is exact for a completed
 * change (its last run is the one that committed). A failure that certainly had no effect is
 * dropped; any other failure leaves the outcome unknown, as it is.
 */
import type { History, Operation, Value } from '../check/history.js';
import { type LinearizabilityResult, checkLinearizability } from '../check/linearizability.js';
import { renderCounterexample } from '../check/wgl-report.js';
import { casRegisterModel } from '../check/models.js';
import type { State } from '../core/messages.js';
import type { MonitorViolation } from '../sim/monitor.js';
import { hadNoEffect } from '../sim/workload.js';
import { textOrPreview } from './changes.js';
import { formatVirtualTime } from './state-view.js';

/** What the checkers found (`TeachingCluster.check()`). */
export interface CheckReport {
  /** `true`: nothing wrong; `false`: a violation; `unknown`: a checker ran out of budget. */
  readonly ok: boolean | 'unknown';
  /** The history the linearizability checker judged (operation ids are the cluster's `#n`). */
  readonly history: History;
  /** The linearizability checker's verdict, per key, with a counterexample where it failed. */
  readonly linearizability: LinearizabilityResult;
  /** What the acceptor monitor saw broken (see `AcceptorMonitor`). */
  readonly monitor: readonly MonitorViolation[];
  /** The verdict in words: each checker, and each violation explained. */
  readonly lines: readonly string[];
  /** `lines`, one per line. */
  toString(): string;
}

/** How an operation enters the history. */
export type HistoryKind = { readonly op: 'read' } | { readonly op: 'write'; readonly value: Value } | { readonly op: 'change' };

interface Tracked {
  readonly id: number;
  readonly client: number;
  readonly key: string;
  readonly kind: HistoryKind;
  readonly call: number;
  ran: { input: State; output: State } | undefined;
  end: { time: number; outcome: 'done'; value: Value } | { time: number; outcome: 'failed'; error: unknown } | undefined;
}

/** The operations of a cluster, as the checkers need them. */
export class OperationLog {
  readonly #tracked: Tracked[] = [];
  #last = -Infinity;
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /**
   * Records operation `id` starting now. Returns a wrapper for its change function (it remembers
   * what the change last ran on) and the function to call when it settles.
   */
  start(id: number, client: number, key: string, kind: HistoryKind): { readonly ran: (input: State, output: State) => void; readonly settled: (outcome: { value: State } | { error: unknown }) => void } {
    const tracked: Tracked = { id, client, key, kind, call: this.#stamp(), ran: undefined, end: undefined };
    this.#tracked.push(tracked);
    return {
      ran: (input, output) => void (tracked.ran = { input, output }),
      settled: (outcome) => {
        const time = this.#stamp();
        tracked.end = 'error' in outcome ? { time, outcome: 'failed', error: outcome.error } : { time, outcome: 'done', value: textOrPreview(outcome.value) };
      },
    };
  }

  /** The history: one entry per operation that may have taken effect. */
  history(): History {
    const operations: Operation[] = [];
    for (const t of this.#tracked) {
      const base = { id: t.id, clientId: t.client, key: t.key, call: t.call };
      const end = t.end;
      const failed = end?.outcome === 'failed';
      if (failed && hadNoEffect(end.error)) continue; // certainly no effect
      const unknown = end === undefined || failed;
      const settle = unknown ? { return: null, unknown: true as const } : { return: end.time, ok: true };
      switch (t.kind.op) {
        case 'read':
          operations.push({ ...base, op: 'read', ...settle, ...(end?.outcome === 'done' ? { output: end.value } : {}) });
          break;
        case 'write':
          operations.push({ ...base, op: 'write', arg: t.kind.value, ...settle });
          break;
        case 'change':
          // A change that never ran sent no accept: it had no effect.
          if (t.ran === undefined) continue;
          operations.push({ ...base, op: 'cas', expected: textOrPreview(t.ran.input), arg: textOrPreview(t.ran.output), ...settle });
          break;
      }
    }
    return { operations, annotations: [] };
  }

  /** Strictly increasing stamps: checkers read equal times as overlapping, which would hide real-time order. */
  #stamp(): number {
    const time = this.#now();
    this.#last = time > this.#last ? time : this.#last + 1;
    return this.#last;
  }
}

/** Runs the checkers over `log` and the monitor's findings; `clients` names each client id. */
export function checkRun(log: OperationLog, monitor: readonly MonitorViolation[], clients: ReadonlyMap<number, string>): CheckReport {
  const history = log.history();
  const linearizability = checkLinearizability(history, casRegisterModel);
  const lines: string[] = [];
  const keys = linearizability.perKey.size;
  const clientNames = [...clients].map(([id, name]) => `${id} = ${name}`).join(', ');
  if (linearizability.ok === true) {
    lines.push(`linearizability (check/linearizability, cas-register model): ok, ${history.operations.length} operation(s) on ${keys} key(s) have a legal order`);
  } else if (linearizability.ok === 'unknown') {
    lines.push('linearizability (check/linearizability): undecided, the search ran out of budget');
  } else {
    lines.push(`linearizability (check/linearizability, cas-register model): VIOLATED (operations are numbered as in the cluster; clients: ${clientNames})`);
    for (const check of linearizability.perKey.values()) {
      if (check.counterexample !== undefined) lines.push(...renderCounterexample(check.counterexample).split('\n').map((l) => `  ${l}`));
    }
  }
  if (monitor.length === 0) lines.push('acceptor monitor (sim/monitor): ok, no acceptor invariant broken');
  else {
    lines.push(`acceptor monitor (sim/monitor): ${monitor.length} violation(s)`);
    for (const v of monitor) lines.push(`  at ${formatVirtualTime(v.time)}: ${v.kind}: ${v.message}`);
  }
  const ok = linearizability.ok === false || monitor.length > 0 ? false : linearizability.ok;
  const text = lines.join('\n');
  return Object.freeze({ ok, history, linearizability, monitor, lines: Object.freeze(lines), toString: () => text });
}
