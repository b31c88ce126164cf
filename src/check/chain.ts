/**
 * The chain checker: an exact, search-free check of a "chain" workload history (see
 * `versioned.ts`), in O(n log n).
 *
 * In a chain workload every write is a read-modify-write that writes `nextVersioned(current, id)`:
 * a value naming its version, its writer (the operation's own id) and its predecessor (the writer
 * of the value it replaced). Deletes write a versioned tombstone, so the chain goes on through
 * them. The history holds:
 *  - `write` operations: completed ones with `output` = the exact value they wrote; unknown ones
 *    with no output (their values, if any, are found by their writer id); failed ones;
 *  - `read` operations: completed ones with `output` = the value read (`null` = absent, version 0).
 *
 * Every observed value fixes a node of the chain (its writer at its version) and, through its
 * predecessor, the writer one version below. Per key the checker builds these nodes, links them,
 * and reports:
 *  - `malformed`: an output that is not a versioned value, a completed read or write without an
 *    output, a completed write whose value names another writer, or two operations with one id;
 *  - `unsupported-operation`: a `cas` or `add` (a chain workload only reads and writes);
 *  - `fork`: two different values with the same version, or two values of different versions that
 *    name the same predecessor;
 *  - `version-gap`: a value whose predecessor's value does not have version − 1 (or the first
 *    value of a chain does not have version 1);
 *  - `double-apply`: one writer on values of two versions;
 *  - `phantom`: a value written by no write operation of the key (or a version that no operation
 *    can have written);
 *  - `failed-op-took-effect`: a value written by a failed operation;
 *  - `read-from-future`: an operation returned a value (or built on one) whose writer, or the
 *    writer of one of its ancestors, was invoked after that operation returned;
 *  - `stale-read`: a read returned version v although an operation returning a higher version had
 *    returned before the read was invoked;
 *  - `real-time-order`: a write wrote version v although an operation returning version ≥ v had
 *    returned before the write was invoked;
 *  - `lost-update`: a completed write whose value is not on the final chain (traced back from the
 *    newest value through predecessors).
 *
 * It also resolves unknown writes: those whose id appears on a value (or as a predecessor) took
 * effect; the rest had no visible effect (they never took effect, or did so only as the newest
 * value, which nobody observed), except those that may have written a version nobody observed
 * and nobody names as predecessor (`undetermined`).
 *
 * The steps, per key, in the order violations are reported: read the outputs and build the chain
 * (`chain-graph.ts`: `malformed`, `unsupported-operation`, `version-gap`); the checks of the chain
 * (`chain-checks.ts`: `fork`, `double-apply`, `phantom` and `failed-op-took-effect` writers,
 * `read-from-future`, `stale-read` and `real-time-order`); the final chain and the versions nobody
 * saw (`chain-final.ts`: `lost-update`, `phantom` versions, and the unknown writes resolved).
 */
import { checkDoubleApply, checkForks, checkReadsFromFuture, checkRealTimeOrder, checkWriters } from './chain-checks.js';
import { checkLostUpdates, resolveUnknownWrites, traceFinalChain } from './chain-final.js';
import { buildGraph, type ChainGraph, type KeyOutputs, readOutputs, type Report } from './chain-graph.js';
import { listIds } from './chain-text.js';
import type { History, Operation } from './history.js';
import type { CheckResult, Violation } from './result.js';

/** What became of the unknown writes (operation ids, ascending). */
export interface ChainResolution {
  /** Their value is on a value of the history, or named as a predecessor: they took effect. */
  readonly tookEffect: readonly number[];
  /** They appear nowhere: they had no effect any operation could see. */
  readonly noEffect: readonly number[];
  /**
   * They appear nowhere, but the chain has versions no one observed or named, and they may have
   * written one of them.
   */
  readonly undetermined: readonly number[];
}

/**
 * What `checkChain` returns: the verdict, and what became of the writes whose outcome was unknown.
 */
export interface ChainCheckResult extends CheckResult {
  /** The unknown writes, sorted into took effect, no effect and undetermined. */
  readonly resolved: ChainResolution;
}

/** Checks a chain workload history (see the module comment). Never throws on a bad history. */
export function checkChain(history: History): ChainCheckResult {
  const violations: Violation[] = [];
  const { byId, byKey } = partition(history, violations);
  const tookEffect: number[] = [];
  const noEffect: number[] = [];
  const undetermined: number[] = [];
  const summaries: string[] = [];
  for (const key of [...byKey.keys()].sort()) {
    const outcome = checkKey(key, byKey.get(key) ?? [], byId);
    // (loops, not push(...spread): a broken history of a big run can hold many violations)
    for (const v of outcome.violations) violations.push(v);
    for (const id of outcome.tookEffect) tookEffect.push(id);
    for (const id of outcome.noEffect) noEffect.push(id);
    for (const id of outcome.undetermined) undetermined.push(id);
    summaries.push(outcome.summary);
  }
  const ascending = (a: number, b: number): number => a - b;
  const resolved: ChainResolution = {
    tookEffect: tookEffect.sort(ascending),
    noEffect: noEffect.sort(ascending),
    undetermined: undetermined.sort(ascending),
  };
  const report = renderReport(history, byKey.size, summaries, violations);
  return { checker: 'chain', ok: violations.length === 0, violations, report, resolved };
}

/**
 * The operations by id and by key (in history order); an operation whose id was seen before is
 * reported `malformed` and left out.
 */
function partition(history: History, violations: Violation[]): { byId: Map<number, Operation>; byKey: Map<string, Operation[]> } {
  const byId = new Map<number, Operation>();
  const byKey = new Map<string, Operation[]>();
  for (const [index, op] of history.operations.entries()) {
    if (byId.has(op.id)) {
      violations.push({ kind: 'malformed', key: op.key, operations: [op.id], message: `operation ${index} has id #${op.id}, like an earlier one; it is ignored` });
      continue;
    }
    byId.set(op.id, op);
    const ops = byKey.get(op.key);
    if (ops === undefined) byKey.set(op.key, [op]);
    else ops.push(op);
  }
  return { byId, byKey };
}

/** The report: a summary line, one line per key, then every violation. */
function renderReport(history: History, keys: number, summaries: readonly string[], violations: readonly Violation[]): string {
  const operations = history.operations.length;
  const head =
    `chain: ${keys} key${keys === 1 ? '' : 's'}, ${operations} operation${operations === 1 ? '' : 's'}: ` +
    (violations.length === 0 ? 'ok' : `${violations.length} violation${violations.length === 1 ? '' : 's'}`);
  const lines = [head, ...summaries.map((s) => `  ${s}`)];
  if (violations.length > 0) {
    lines.push('violations:');
    for (const v of violations) lines.push(`  [${v.kind}]${v.key === undefined ? '' : ` key ${JSON.stringify(v.key)}:`} ${v.message}`);
  }
  return `${lines.join('\n')}\n`;
}

interface KeyOutcome {
  readonly violations: Violation[];
  readonly tookEffect: number[];
  readonly noEffect: number[];
  readonly undetermined: number[];
  readonly summary: string;
}

/** Checks one key's operations (in history order): the steps of the module comment, in order. */
function checkKey(key: string, ops: readonly Operation[], byId: ReadonlyMap<number, Operation>): KeyOutcome {
  const violations: Violation[] = [];
  const report: Report = (kind, operations, message) => {
    violations.push({ kind, key, operations: [...new Set(operations)], message });
  };
  const outputs = readOutputs(ops, report);
  const graph = buildGraph(outputs, report);
  checkForks(graph, report);
  checkDoubleApply(graph, report);
  const tookEffect = checkWriters(graph, key, byId, report);
  checkReadsFromFuture(graph, key, byId, report);
  checkRealTimeOrder(outputs.observations, report);
  checkLostUpdates(outputs, graph, traceFinalChain(graph), report);
  const { noEffect, undetermined } = resolveUnknownWrites(outputs, graph, tookEffect, report);
  const summary = summarize(key, outputs, graph, [...tookEffect], noEffect, undetermined);
  return { violations, tookEffect: [...tookEffect], noEffect, undetermined, summary };
}

/** The key's line of the report: the chain's length, the operations, what became of the unknown writes. */
function summarize(
  key: string,
  outputs: KeyOutputs,
  graph: ChainGraph,
  tookEffect: readonly number[],
  noEffect: readonly number[],
  undetermined: readonly number[],
): string {
  const { writes, reads, failedWrites } = outputs;
  const top = graph.versions[graph.versions.length - 1];
  const observed = graph.observed.length;
  return (
    `key ${JSON.stringify(key)}: chain of ${top ?? 0} version${top === 1 ? '' : 's'} (${observed} observed value${observed === 1 ? '' : 's'}), ` +
    `${writes} write${writes === 1 ? '' : 's'} (${outputs.completedWrites.length} completed, ${outputs.unknownWrites.length} unknown, ${failedWrites} failed), ${reads} read${reads === 1 ? '' : 's'}; ` +
    `unknown writes: ${tookEffect.length} took effect${listIds(tookEffect)}, ${noEffect.length} no effect${listIds(noEffect)}` +
    (undetermined.length === 0 ? '' : `, ${undetermined.length} undetermined${listIds(undetermined)}`)
  );
}
