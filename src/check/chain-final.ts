/**
 * The chain checker's last steps on one key (8 and 9, see `chain.ts`): the final chain, traced down
 * from the newest value (a completed write off it was lost), and the versions nobody observed,
 * which decide what became of the unknown writes.
 */
import { type ChainGraph, type KeyOutputs, nodeOps, type Report } from './chain-graph.js';
import type { ChainNode } from './chain-node.js';
import { describeNode } from './chain-text.js';
import type { Operation } from './history.js';

/** The final chain: the value it holds at each version it could be traced through. */
export interface FinalChain {
  readonly chainAt: ReadonlyMap<number, ChainNode>;
  /** Versions at or below this were not traced (a fork or a gap made the chain ambiguous there). */
  readonly tracedDownTo: number;
}

/**
 * Step 8a. Traces the final chain down from the newest value (of the newest version, the one
 * returned last), through predecessors; across an unknown predecessor, through the next lower
 * version while it has a single value.
 */
export function traceFinalChain(graph: ChainGraph): FinalChain {
  const { versions, byVersion } = graph;
  const chainAt = new Map<number, ChainNode>();
  let tracedDownTo = 0;
  const top = versions[versions.length - 1];
  if (top === undefined) return { chainAt, tracedDownTo };
  const candidates = byVersion.get(top) ?? [];
  let cur = candidates.reduce((a, b) => (b.lastReturn > a.lastReturn ? b : a));
  let index = versions.length - 1;
  for (;;) {
    chainAt.set(cur.version, cur);
    if (cur.prev === null) break;
    if (cur.prev !== undefined) {
      cur = cur.prev;
      while ((versions[index] as number) > cur.version) index -= 1;
      continue;
    }
    while (index >= 0 && (versions[index] as number) >= cur.version) index -= 1;
    if (index < 0) break;
    const slot = byVersion.get(versions[index] as number) ?? [];
    if (slot.length !== 1) {
      tracedDownTo = versions[index] as number;
      break;
    }
    cur = slot[0] as ChainNode;
  }
  return { chainAt, tracedDownTo };
}

/** Step 8b. Lost updates: a completed write whose value is not on the final chain. */
export function checkLostUpdates(outputs: KeyOutputs, graph: ChainGraph, final: FinalChain, report: Report): void {
  const { chainAt, tracedDownTo } = final;
  const chainVersions = [...chainAt.keys()].sort((a, b) => a - b);
  for (const w of outputs.completedWrites) {
    const mine = graph.byWriter.get(w.id) ?? [];
    const node = outputs.nodeOfWrite.get(w);
    if (node === undefined || mine.some((n) => chainAt.get(n.version) === n)) continue;
    if (node.version <= tracedDownTo) continue;
    const involved = [w.id];
    const where = whereLost(node, chainAt, chainVersions, involved);
    report(
      'lost-update',
      involved,
      `write #${w.id} completed (returned at ${w.return}) with version ${node.version}, but no later value descends from it: ${where}`,
    );
  }
}

/** What the final chain has instead of `node`, in words; adds the writers it names to `involved`. */
function whereLost(node: ChainNode, chainAt: ReadonlyMap<number, ChainNode>, chainVersions: readonly number[], involved: number[]): string {
  const there = chainAt.get(node.version);
  if (there !== undefined) {
    involved.push(there.writer);
    return `the final chain holds ${describeNode(there)} instead`;
  }
  const above = chainAt.get(chainVersions[firstAbove(chainVersions, node.version)] ?? Number.NaN);
  const below = above?.prev;
  const where =
    above === undefined
      ? 'the final chain skips its version'
      : below === null
        ? `the final chain starts at version ${above.version} (#${above.writer}), which names no predecessor`
        : below === undefined
          ? `the final chain skips its version below version ${above.version} (#${above.writer})`
          : `the final chain goes from version ${below.version} (#${below.writer}) straight to version ${above.version} (#${above.writer})`;
  if (above !== undefined) involved.push(above.writer);
  if (below !== null && below !== undefined) involved.push(below.writer);
  return where;
}

/** What became of the unknown writes that wrote no value of the chain. */
export interface UnseenResolution {
  readonly noEffect: number[];
  readonly undetermined: number[];
}

/** Versions from `from` to `to` that nobody observed or named, to be written before `deadline`. */
interface Gap {
  readonly from: number;
  readonly to: number;
  /** The earliest return of an operation that saw a higher version. */
  readonly deadline: number;
}

/**
 * Step 9. Versions no one observed or named: some unresolved unknown write must have written each.
 * An unresolved unknown write invoked before the last such deadline may have (`undetermined`);
 * the others had no effect anyone could see. Reports a `phantom` when too few were invoked early
 * enough.
 */
export function resolveUnknownWrites(outputs: KeyOutputs, graph: ChainGraph, tookEffect: ReadonlySet<number>, report: Report): UnseenResolution {
  const unresolved = outputs.unknownWrites.filter((w) => !tookEffect.has(w.id)).sort((a, b) => a.call - b.call);
  const { versions } = graph;
  let missing = 0;
  for (let i = 0; i < versions.length; i += 1) missing += (versions[i] as number) - (i === 0 ? 0 : (versions[i - 1] as number)) - 1;
  const undetermined: number[] = [];
  const noEffect: number[] = [];
  if (missing === 0) {
    for (const w of unresolved) noEffect.push(w.id);
    return { noEffect, undetermined };
  }
  const gaps = unseenGaps(graph);
  const lastDeadline = gaps.reduce((latest, g) => Math.max(latest, g.deadline), Number.NEGATIVE_INFINITY);
  for (const w of unresolved) (w.call <= lastDeadline ? undetermined : noEffect).push(w.id);
  if (!writable(gaps, missing, unresolved)) reportPhantomVersions(graph, gaps, missing, unresolved, report);
  return { noEffect, undetermined };
}

/** The runs of versions below the newest that no node has, each with its deadline. */
function unseenGaps(graph: ChainGraph): Gap[] {
  const { versions, byVersion } = graph;
  // the deadline of a missing version: the earliest return of an operation that saw a higher one
  const suffixFirst = new Map<number, number>();
  let earliest = Number.POSITIVE_INFINITY;
  for (let i = versions.length - 1; i >= 0; i -= 1) {
    const v = versions[i] as number;
    for (const n of byVersion.get(v) ?? []) earliest = Math.min(earliest, n.firstReturn);
    suffixFirst.set(v, earliest);
  }
  const gaps: Gap[] = [];
  for (let i = 0; i < versions.length; i += 1) {
    const v = versions[i] as number;
    const from = i === 0 ? 1 : (versions[i - 1] as number) + 1;
    if (from < v) gaps.push({ from, to: v - 1, deadline: suffixFirst.get(v) as number });
  }
  return gaps;
}

/** Whether the `missing` versions of `gaps` can each have been written by one of `unresolved` (by call) in time. */
function writable(gaps: readonly Gap[], missing: number, unresolved: readonly Operation[]): boolean {
  if (missing > unresolved.length) return false;
  // versions in ascending order have non-decreasing deadlines; pair them with the writes in
  // order of invocation (the earliest-invoked write for the most urgent version)
  let next = 0;
  for (const g of gaps) {
    for (let v = g.from; v <= g.to; v += 1) {
      if ((unresolved[next] as Operation).call > g.deadline) return false;
      next += 1;
    }
  }
  return true;
}

function reportPhantomVersions(graph: ChainGraph, gaps: readonly Gap[], missing: number, unresolved: readonly Operation[], report: Report): void {
  const list = gaps.map((g) => (g.from === g.to ? `${g.from}` : `${g.from}–${g.to}`)).join(', ');
  const firstGap = gaps[0] as Gap;
  const after = graph.byVersion.get(graph.versions.find((v) => v > firstGap.to) as number) ?? [];
  report(
    'phantom',
    [...after.flatMap((n) => [...nodeOps(n), ...n.children.map((c) => c.writer)]), ...unresolved.map((w) => w.id)],
    `no operation can have written version${missing === 1 ? '' : 's'} ${list}: no one observed ${missing === 1 ? 'it' : 'them'} or names ${missing === 1 ? 'its' : 'their'} writer, ` +
      `yet ${after.map((n) => describeNode(n)).join(' and ')} descends from ${firstGap.from === firstGap.to ? 'it' : 'them'}, ` +
      `and too few unknown writes were invoked early enough to have written ${missing === 1 ? 'it' : 'them'} (unknown writes left: ${unresolved.length === 0 ? 'none' : unresolved.map((w) => `#${w.id}`).join(', ')})`,
  );
}

/** The index of the first element of `sorted` greater than `x` (`sorted.length` if none). */
function firstAbove(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
