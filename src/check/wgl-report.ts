/**
 * The WGL checker's text: a counterexample as a person reads it, and the check's report.
 */
import type { Counterexample, CounterexampleStep, KeyCheck } from './counterexample.js';
import { describeOperation } from './operation-text.js';
import type { Violation } from './result.js';

/** Options of `renderCounterexample`. */
export interface RenderCounterexampleOptions {
  /**
   * Show at most this many steps of the prefix (the last ones).
   * @default Infinity (every step)
   */
  readonly maxSteps?: number | undefined;
}

/**
 * A counterexample as text: a sentence, the longest linearizable prefix (each operation with its
 * times, client, action, and the state it moved to), and the operations that cannot go next.
 */
export function renderCounterexample(cx: Counterexample, options: RenderCounterexampleOptions = {}): string {
  const maxSteps = Math.max(0, options.maxSteps ?? Infinity);
  const last = cx.prefix[cx.prefix.length - 1];
  const current = last === undefined ? cx.initialState : last.state;
  const lines: string[] = [
    `key ${JSON.stringify(cx.key)} is not linearizable (${cx.model} model): after its longest linearizable prefix ` +
      `(${cx.prefix.length} of ${cx.operations} operations, ending in state ${current}), no remaining operation can take effect next.`,
  ];
  const shownFrom = Math.max(0, cx.prefix.length - maxSteps);
  const shown = cx.prefix.slice(shownFrom);
  const texts = shown.map((step) => describeOperation(step.op));
  const width = Math.min(72, Math.max(0, ...texts.map((t) => t.length)));
  const numberWidth = String(cx.prefix.length).length;
  lines.push(`  linearizable prefix (state after each operation):`);
  if (shownFrom === 0) {
    lines.push(`    ${' '.repeat(numberWidth)}  initial state ${cx.initialState}`);
  } else {
    const before = (cx.prefix[shownFrom - 1] as CounterexampleStep).state;
    lines.push(`    ${' '.repeat(numberWidth)}  … ${shownFrom} earlier operation${shownFrom === 1 ? '' : 's'}, then state ${before}`);
  }
  shown.forEach((step, k) => {
    const number = String(shownFrom + k + 1).padStart(numberWidth);
    lines.push(`    ${number}. ${(texts[k] as string).padEnd(width)}  ⇒ ${step.state}`);
  });
  lines.push(`  cannot take effect next (state ${current}):`);
  for (const s of cx.stuck) lines.push(`    ${describeOperation(s.op)}: ${s.reason}`);
  return lines.join('\n');
}

/** What the report of a whole check says. */
export interface ReportInput {
  readonly model: string;
  readonly ok: boolean | 'unknown';
  readonly perKey: ReadonlyMap<string, KeyCheck>;
  readonly violations: readonly Violation[];
  readonly unknownKeys: readonly KeyCheck[];
  /** Operations in the history, failed ones included. */
  readonly total: number;
  readonly dropped: number;
  readonly unknownCount: number;
  readonly maxStates: number;
  readonly timeMs: number | undefined;
}

/** The report: a summary line, each violation's counterexample, then each undecided key's budget. */
export function renderReport(r: ReportInput): string {
  const keys = r.perKey.size;
  let steps = 0;
  for (const v of r.perKey.values()) steps += v.steps;
  const verdict = r.ok === true ? 'linearizable' : r.ok === false ? 'NOT linearizable' : 'undecided';
  const counts =
    `${keys} key${keys === 1 ? '' : 's'}: ${keys - r.violations.length - r.unknownKeys.length} linearizable, ` +
    `${r.violations.length} not, ${r.unknownKeys.length} undecided`;
  const lines = [
    `wgl (${r.model}): ${verdict}. ${counts}. ${r.total} operations (${r.dropped} failed and dropped, ` +
      `${r.unknownCount} with unknown outcome); ${steps} search steps.`,
  ];
  for (const v of r.violations) lines.push('', v.message);
  if (r.unknownKeys.length > 0) {
    lines.push('');
    for (const v of r.unknownKeys) {
      const budget = v.exhausted === 'timeMs' ? `timeMs ${String(r.timeMs)}` : `maxStates ${r.maxStates}`;
      lines.push(`key ${JSON.stringify(v.key)}: undecided, the search ran out of its budget (${budget}) after ${v.steps} steps.`);
    }
  }
  return lines.join('\n');
}
