/**
 * The chain checker's checks of one key's chain (steps 3 to 7, see `chain.ts`): forks, double
 * applies, who wrote each value, reads from the future, and real-time order. Each reports what it
 * finds; none changes the graph.
 */
import { type ChainGraph, nodeOps, type Observation, type Report } from './chain-graph.js';
import type { ChainNode } from './chain-node.js';
import { describeNode, describeVersion, opName } from './chain-text.js';
import { outcomeUnknown, type Operation } from './history.js';

/** Step 3. Forks: two values at one version; two values of different versions naming one predecessor. */
export function checkForks(graph: ChainGraph, report: Report): void {
  for (const [version, slot] of graph.byVersion) {
    if (slot.length < 2) continue;
    const sameWriter = new Set(slot.map((n) => n.writer)).size < slot.length;
    report(
      'fork',
      slot.flatMap(nodeOps),
      `${slot.length} different values have version ${version}: ${slot.map((n) => describeNode(n, sameWriter)).join('; ')}`,
    );
  }
  for (const parent of graph.nodes) {
    const kids = parent.children;
    if (kids.length < 2 || new Set(kids.map((k) => k.writer)).size < 2 || kids.every((k) => k.version === kids[0]?.version)) continue;
    report(
      'fork',
      [parent.writer, ...kids.flatMap(nodeOps)],
      `${kids.length} values name #${parent.writer} as their predecessor: ${kids.map((k) => describeNode(k)).join('; ')}`,
    );
  }
}

/** Step 4. Double apply: one writer on values of two versions. */
export function checkDoubleApply(graph: ChainGraph, report: Report): void {
  for (const [writer, list] of graph.byWriter) {
    const versions = [...new Set(list.map((n) => n.version))].sort((a, b) => a - b);
    if (versions.length < 2) continue;
    report(
      'double-apply',
      [writer, ...list.flatMap(nodeOps)],
      `#${writer}'s change function took effect ${versions.length} times: it wrote ${list.slice(0, 4).map(describeVersion).join(' and ')}` +
        (list.length > 4 ? ` and ${list.length - 4} more` : ''),
    );
  }
}

/**
 * Step 5. Writers: each must be a write of this key that did not fail. Returns the unknown writes
 * that wrote a value of the chain: they took effect.
 */
export function checkWriters(graph: ChainGraph, key: string, byId: ReadonlyMap<number, Operation>, report: Report): Set<number> {
  const tookEffect = new Set<number>();
  for (const [writer, list] of graph.byWriter) {
    const op = byId.get(writer);
    const first = list[0] as ChainNode;
    const involved = [writer, ...list.flatMap(nodeOps)];
    if (op === undefined) {
      report('phantom', involved, `${describeVersion(first)} names #${writer} as its writer, but no operation has id #${writer}`);
    } else if (op.op !== 'write') {
      report('phantom', involved, `${describeVersion(first)} names #${writer} as its writer, but #${writer} is a ${op.op}, not a write`);
    } else if (op.key !== key) {
      report('phantom', involved, `${describeVersion(first)} names #${writer} as its writer, but #${writer} is a write of key ${JSON.stringify(op.key)}`);
    } else if (op.fail === true) {
      report('failed-op-took-effect', involved, `write #${writer} failed (it must have had no effect), but it wrote ${describeVersion(first)}`);
    } else if (outcomeUnknown(op)) {
      tookEffect.add(writer);
    }
  }
  return tookEffect;
}

/** Step 6. Read from the future: every ancestor's writer must be invoked before the observer returned. */
export function checkReadsFromFuture(graph: ChainGraph, key: string, byId: ReadonlyMap<number, Operation>, report: Report): void {
  const callOf = (node: ChainNode): number => {
    const op = byId.get(node.writer);
    return op !== undefined && op.op === 'write' && op.key === key ? op.call : Number.NEGATIVE_INFINITY;
  };
  // Each node's ancestor (itself included) whose writer was invoked last.
  const latestCall = new Map<ChainNode, ChainNode | undefined>();
  for (const node of graph.nodes) {
    // nodes are in ascending version order and `prev` always has a lower version
    const inherited = node.prev === null || node.prev === undefined ? undefined : latestCall.get(node.prev);
    const own = callOf(node) === Number.NEGATIVE_INFINITY ? undefined : node;
    latestCall.set(node, inherited === undefined || (own !== undefined && callOf(own) >= callOf(inherited)) ? own : inherited);
  }
  for (const node of graph.observed) {
    const latest = latestCall.get(node);
    if (latest === undefined) continue;
    const call = callOf(latest);
    for (const o of node.observers) {
      if (o.return === null || call <= o.return) continue;
      const cause =
        latest === node
          ? `its writer #${latest.writer} was invoked at ${call}, after that`
          : `it descends from version ${latest.version}, whose writer #${latest.writer} was invoked at ${call}, after that`;
      report('read-from-future', [o.id, latest.writer, node.writer], `${opName(o)} returned version ${node.version} at ${o.return}, but ${cause}`);
    }
  }
}

/**
 * Step 7. Stale reads and real-time order: against the highest version returned before an
 * operation was invoked, a read must not return a lower one (`stale-read`), and a write must write
 * a higher one (`real-time-order`).
 */
export function checkRealTimeOrder(observations: readonly Observation[], report: Report): void {
  const byReturn = [...observations].sort((a, b) => (a.op.return as number) - (b.op.return as number));
  // prefixBest[i]: the observation of the highest version among byReturn[0..i]
  const prefixBest: Observation[] = [];
  for (const obs of byReturn) {
    const best = prefixBest[prefixBest.length - 1];
    prefixBest.push(best === undefined || obs.version > best.version ? obs : best);
  }
  for (const obs of observations) {
    const witness = prefixBest[returnedBefore(byReturn, obs.op.call) - 1];
    if (witness === undefined) continue;
    const seen = `${opName(witness.op)} had returned version ${witness.version} at ${witness.op.return}`;
    if (obs.op.op === 'read' && witness.version > obs.version) {
      report(
        'stale-read',
        [obs.op.id, witness.op.id],
        `${opName(obs.op)} (invoked at ${obs.op.call}) returned ${obs.version === 0 ? 'the absent value (version 0)' : `version ${obs.version}`}, but ${seen}`,
      );
    } else if (obs.op.op === 'write' && witness.version >= obs.version) {
      report('real-time-order', [obs.op.id, witness.op.id], `${opName(obs.op)} (invoked at ${obs.op.call}) wrote version ${obs.version}, but ${seen}`);
    }
  }
}

/** How many of `byReturn` (sorted by return) returned strictly before `time`. */
function returnedBefore(byReturn: readonly Observation[], time: number): number {
  let lo = 0;
  let hi = byReturn.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (((byReturn[mid] as Observation).op.return as number) < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
