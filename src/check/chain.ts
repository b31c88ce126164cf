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
 * Pure module: no I/O, safe in browsers and notebooks.
 */
import type { History, Operation } from './history.js';
import type { CheckResult, Violation } from './result.js';
import { decodeVersioned, encodeVersioned, type VersionedValue } from './versioned.js';

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
  const head =
    `chain: ${byKey.size} key${byKey.size === 1 ? '' : 's'}, ${history.operations.length} operation${history.operations.length === 1 ? '' : 's'}: ` +
    (violations.length === 0 ? 'ok' : `${violations.length} violation${violations.length === 1 ? '' : 's'}`);
  const lines = [head, ...summaries.map((s) => `  ${s}`)];
  if (violations.length > 0) {
    lines.push('violations:');
    for (const v of violations) lines.push(`  [${v.kind}]${v.key === undefined ? '' : ` key ${JSON.stringify(v.key)}:`} ${v.message}`);
  }
  return { checker: 'chain', ok: violations.length === 0, violations, report: `${lines.join('\n')}\n`, resolved };
}

/** One value of the chain: observed in an output, or implied by a successor's `predecessor`. */
interface ChainNode {
  readonly version: number;
  readonly writer: number;
  /** `undefined` for an implied node (its predecessor is unknown). */
  readonly predecessor: number | null | undefined;
  /** The canonical encoding; `undefined` for an implied node. */
  readonly text: string | undefined;
  /** Completed operations whose output was this value, in history order. */
  readonly observers: Operation[];
  /** Observed values naming this node's writer as predecessor and linked to it. */
  readonly children: ChainNode[];
  /** The node this one replaced: `null` = the absent value; `undefined` = unknown. */
  prev: ChainNode | null | undefined;
  /** Earliest and latest return among the observers (±Infinity for an implied node). */
  firstReturn: number;
  lastReturn: number;
}

/** A completed operation and the version it returned (0 = absent). */
interface Observation {
  readonly op: Operation;
  readonly version: number;
}

interface KeyOutcome {
  readonly violations: Violation[];
  readonly tookEffect: number[];
  readonly noEffect: number[];
  readonly undetermined: number[];
  readonly summary: string;
}

function checkKey(key: string, ops: readonly Operation[], byId: ReadonlyMap<number, Operation>): KeyOutcome {
  const violations: Violation[] = [];
  const report = (kind: string, operations: readonly number[], message: string): void => {
    violations.push({ kind, key, operations: [...new Set(operations)], message });
  };

  // 1. Read the outputs.
  const nodesByText = new Map<string, ChainNode>();
  const nodeOfWrite = new Map<Operation, ChainNode>();
  const observations: Observation[] = [];
  const unknownWrites: Operation[] = [];
  const completedWrites: Operation[] = [];
  let reads = 0;
  let writes = 0;
  let failedWrites = 0;
  for (const op of ops) {
    if (op.op !== 'read' && op.op !== 'write') {
      report('unsupported-operation', [op.id], `${opName(op)} is a ${op.op}: a chain workload only reads and writes versioned values`);
      continue;
    }
    if (op.op === 'write') writes += 1;
    else reads += 1;
    if (op.fail === true) {
      if (op.op === 'write') failedWrites += 1;
      continue;
    }
    if (op.unknown === true || op.return === null) {
      if (op.op === 'write') unknownWrites.push(op);
      continue;
    }
    if (op.output === undefined || (op.op === 'write' && op.output === null)) {
      const what = op.op === 'read' ? 'the value it read (null for absent)' : 'the versioned value it wrote (a delete writes a tombstone, not null)';
      report('malformed', [op.id], `${opName(op)} completed without recording ${what}`);
      continue;
    }
    let value: VersionedValue | null;
    let text: string | null;
    try {
      value = decodeVersioned(op.output);
      text = value === null ? null : encodeVersioned(value);
    } catch (error) {
      report('malformed', [op.id], `${opName(op)} returned a value that is not a versioned value: ${(error as Error).message}`);
      continue;
    }
    if (op.op === 'write' && value !== null && value.writer !== op.id) {
      report('malformed', [op.id, value.writer], `${opName(op)} recorded a value whose writer is #${value.writer}, not #${op.id}: a write's value names its own operation`);
      continue;
    }
    if (op.op === 'write') completedWrites.push(op);
    observations.push({ op, version: value?.version ?? 0 });
    if (value === null || text === null) continue;
    let node = nodesByText.get(text);
    if (node === undefined) {
      node = {
        version: value.version,
        writer: value.writer,
        predecessor: value.predecessor,
        text,
        observers: [],
        children: [],
        prev: undefined,
        firstReturn: Number.POSITIVE_INFINITY,
        lastReturn: Number.NEGATIVE_INFINITY,
      };
      nodesByText.set(text, node);
    }
    node.observers.push(op);
    if (op.op === 'write') nodeOfWrite.set(op, node);
    node.firstReturn = Math.min(node.firstReturn, op.return);
    node.lastReturn = Math.max(node.lastReturn, op.return);
  }

  // 2. Index the observed nodes, then link each to its predecessor (creating implied nodes).
  const observed = [...nodesByText.values()].sort(byVersionThenWriter);
  /** Each writer's observed nodes, in ascending version order. */
  const observedByWriter = new Map<number, ChainNode[]>();
  /** The first node of each (writer, version), observed or implied. */
  const byWriterVersion = new Map<string, ChainNode>();
  for (const node of observed) {
    const list = observedByWriter.get(node.writer);
    if (list === undefined) observedByWriter.set(node.writer, [node]);
    else list.push(node);
    const at = `${node.writer}@${node.version}`;
    if (!byWriterVersion.has(at)) byWriterVersion.set(at, node);
  }
  const implied: ChainNode[] = [];
  /** Each writer's implied nodes, in ascending version order (they are made in that order). */
  const impliedByWriter = new Map<number, ChainNode[]>();
  for (const node of observed) {
    const p = node.predecessor;
    if (p === null || p === undefined) {
      node.prev = null;
      if (node.version !== 1) {
        report('version-gap', [node.writer, ...node.observers.map((o) => o.id)], `${describeNode(node)} names no predecessor: only version 1 replaces the absent value (version 0)`);
      }
      continue;
    }
    if (node.version === 1) {
      node.prev = null;
      report('version-gap', [node.writer, p, ...node.observers.map((o) => o.id)], `${describeNode(node)} names #${p} as its predecessor, but version 1 replaces the absent value`);
      continue;
    }
    const exact = byWriterVersion.get(`${p}@${node.version - 1}`);
    const seen = observedByWriter.get(p);
    const named = impliedByWriter.get(p);
    if (exact !== undefined) {
      link(node, exact);
    } else if ((seen !== undefined || named !== undefined) && p !== node.writer) {
      // p wrote a value of another version: a gap (or p took effect twice); link to p's value below
      const versions = [...new Set((seen ?? []).slice(0, 4).map((c) => c.version))];
      const shown =
        seen === undefined
          ? `version ${(named?.[0] as ChainNode).version} (${evidence(named?.[0] as ChainNode)})`
          : seen.length > 4
            ? `version ${versions.join(', ')}, …`
            : `version ${versions.join(' and ')}`;
      report(
        'version-gap',
        [node.writer, p, ...node.observers.map((o) => o.id)],
        `${describeNode(node)} names #${p} as its predecessor, so #${p}'s value should have version ${node.version - 1}, ` +
          `but #${p}'s value has ${shown} (or #${p}'s change function took effect a second time, unobserved, at version ${node.version - 1})`,
      );
      const seenBelow = seen === undefined ? undefined : seen[firstAtOrAbove(seen, node.version) - 1];
      const namedBelow = named === undefined ? undefined : named[firstAtOrAbove(named, node.version) - 1];
      const below = seenBelow === undefined || (namedBelow !== undefined && namedBelow.version > seenBelow.version) ? namedBelow : seenBelow;
      if (below === undefined) node.prev = undefined;
      else link(node, below);
    } else {
      // p's value was never observed (or p === node.writer: p took effect twice)
      const made: ChainNode = {
        version: node.version - 1,
        writer: p,
        predecessor: undefined,
        text: undefined,
        observers: [],
        children: [],
        prev: undefined,
        firstReturn: Number.POSITIVE_INFINITY,
        lastReturn: Number.NEGATIVE_INFINITY,
      };
      byWriterVersion.set(`${p}@${made.version}`, made);
      if (named === undefined) impliedByWriter.set(p, [made]);
      else named.push(made);
      implied.push(made);
      link(node, made);
    }
  }
  const nodes = [...observed, ...implied].sort(byVersionThenWriter);
  /** Each writer's nodes, observed or implied, in ascending version order. */
  const byWriter = new Map<number, ChainNode[]>();
  for (const node of nodes) {
    const list = byWriter.get(node.writer);
    if (list === undefined) byWriter.set(node.writer, [node]);
    else list.push(node);
  }
  const bySlot = new Map<number, ChainNode[]>();
  for (const node of nodes) {
    const list = bySlot.get(node.version);
    if (list === undefined) bySlot.set(node.version, [node]);
    else list.push(node);
  }

  // 3. Forks: two values at one version; two values of different versions naming one predecessor.
  for (const [version, slot] of bySlot) {
    if (slot.length < 2) continue;
    const sameWriter = new Set(slot.map((n) => n.writer)).size < slot.length;
    report(
      'fork',
      slot.flatMap(nodeOps),
      `${slot.length} different values have version ${version}: ${slot.map((n) => describeNode(n, sameWriter)).join('; ')}`,
    );
  }
  for (const parent of nodes) {
    const kids = parent.children;
    if (kids.length < 2 || new Set(kids.map((k) => k.writer)).size < 2 || kids.every((k) => k.version === kids[0]?.version)) continue;
    report(
      'fork',
      [parent.writer, ...kids.flatMap(nodeOps)],
      `${kids.length} values name #${parent.writer} as their predecessor: ${kids.map((k) => describeNode(k)).join('; ')}`,
    );
  }

  // 4. Double apply: one writer on values of two versions.
  for (const [writer, list] of byWriter) {
    const versions = [...new Set(list.map((n) => n.version))].sort((a, b) => a - b);
    if (versions.length < 2) continue;
    report(
      'double-apply',
      [writer, ...list.flatMap(nodeOps)],
      `#${writer}'s change function took effect ${versions.length} times: it wrote ${list.slice(0, 4).map(describeVersion).join(' and ')}` +
        (list.length > 4 ? ` and ${list.length - 4} more` : ''),
    );
  }

  // 5. Writers: each must be a write of this key that did not fail; unknown ones took effect.
  const tookEffect = new Set<number>();
  for (const [writer, list] of byWriter) {
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
    } else if (op.unknown === true || op.return === null) {
      tookEffect.add(writer);
    }
  }

  // 6. Read from the future: every ancestor's writer must be invoked before the observer returned.
  const latestCall = new Map<ChainNode, ChainNode | undefined>();
  const callOf = (node: ChainNode): number => {
    const op = byId.get(node.writer);
    return op !== undefined && op.op === 'write' && op.key === key ? op.call : Number.NEGATIVE_INFINITY;
  };
  for (const node of nodes) {
    // nodes are in ascending version order and `prev` always has a lower version
    const inherited = node.prev === null || node.prev === undefined ? undefined : latestCall.get(node.prev);
    const own = callOf(node) === Number.NEGATIVE_INFINITY ? undefined : node;
    latestCall.set(node, inherited === undefined || (own !== undefined && callOf(own) >= callOf(inherited)) ? own : inherited);
  }
  for (const node of observed) {
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

  // 7. Stale reads and real-time order: the highest version returned before each operation's call.
  const byReturn = [...observations].sort((a, b) => (a.op.return as number) - (b.op.return as number));
  const prefixBest: Observation[] = [];
  for (const obs of byReturn) {
    const best = prefixBest[prefixBest.length - 1];
    prefixBest.push(best === undefined || obs.version > best.version ? obs : best);
  }
  for (const obs of observations) {
    // the last observation that returned strictly before obs was invoked
    let lo = 0;
    let hi = byReturn.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (((byReturn[mid] as Observation).op.return as number) < obs.op.call) lo = mid + 1;
      else hi = mid;
    }
    const witness = prefixBest[lo - 1];
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

  // 8. The final chain, traced down from the newest value; completed writes off it were lost.
  const versions = [...bySlot.keys()].sort((a, b) => a - b);
  const chainAt = new Map<number, ChainNode>();
  let tracedDownTo = 0; // versions at or below this were not traced (ambiguous)
  const top = versions[versions.length - 1];
  if (top !== undefined) {
    const candidates = bySlot.get(top) ?? [];
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
      const slot = bySlot.get(versions[index] as number) ?? [];
      if (slot.length !== 1) {
        tracedDownTo = versions[index] as number;
        break;
      }
      cur = slot[0] as ChainNode;
    }
  }
  const chainVersions = [...chainAt.keys()].sort((a, b) => a - b);
  for (const w of completedWrites) {
    const mine = byWriter.get(w.id) ?? [];
    const node = nodeOfWrite.get(w);
    if (node === undefined || mine.some((n) => chainAt.get(n.version) === n)) continue;
    if (node.version <= tracedDownTo) continue;
    const there = chainAt.get(node.version);
    let where: string;
    const involved = [w.id];
    if (there !== undefined) {
      where = `the final chain holds ${describeNode(there)} instead`;
      involved.push(there.writer);
    } else {
      const above = chainAt.get(chainVersions[firstAbove(chainVersions, node.version)] ?? Number.NaN);
      const below = above?.prev;
      where =
        above === undefined
          ? 'the final chain skips its version'
          : below === null
            ? `the final chain starts at version ${above.version} (#${above.writer}), which names no predecessor`
            : below === undefined
              ? `the final chain skips its version below version ${above.version} (#${above.writer})`
              : `the final chain goes from version ${below.version} (#${below.writer}) straight to version ${above.version} (#${above.writer})`;
      if (above !== undefined) involved.push(above.writer);
      if (below !== null && below !== undefined) involved.push(below.writer);
    }
    report(
      'lost-update',
      involved,
      `write #${w.id} completed (returned at ${w.return}) with version ${node.version}, but no later value descends from it: ${where}`,
    );
  }

  // 9. Versions no one observed or named: some unresolved unknown write must have written each.
  const unresolved = unknownWrites.filter((w) => !tookEffect.has(w.id)).sort((a, b) => a.call - b.call);
  let missing = 0;
  for (let i = 0; i < versions.length; i += 1) missing += (versions[i] as number) - (i === 0 ? 0 : (versions[i - 1] as number)) - 1;
  const undetermined: number[] = [];
  const noEffect: number[] = [];
  if (missing === 0) {
    for (const w of unresolved) noEffect.push(w.id);
  } else {
    // the deadline of a missing version: the earliest return of an operation that saw a higher one
    const suffixFirst = new Map<number, number>();
    let earliest = Number.POSITIVE_INFINITY;
    for (let i = versions.length - 1; i >= 0; i -= 1) {
      const v = versions[i] as number;
      for (const n of bySlot.get(v) ?? []) earliest = Math.min(earliest, n.firstReturn);
      suffixFirst.set(v, earliest);
    }
    const gaps: { from: number; to: number; deadline: number }[] = [];
    for (let i = 0; i < versions.length; i += 1) {
      const v = versions[i] as number;
      const from = i === 0 ? 1 : (versions[i - 1] as number) + 1;
      if (from < v) gaps.push({ from, to: v - 1, deadline: suffixFirst.get(v) as number });
    }
    const lastDeadline = gaps.reduce((latest, g) => Math.max(latest, g.deadline), Number.NEGATIVE_INFINITY);
    for (const w of unresolved) (w.call <= lastDeadline ? undetermined : noEffect).push(w.id);
    const list = gaps.map((g) => (g.from === g.to ? `${g.from}` : `${g.from}–${g.to}`)).join(', ');
    let feasible = missing <= unresolved.length;
    if (feasible) {
      // versions in ascending order have non-decreasing deadlines; pair them with the writes in
      // order of invocation (the earliest-invoked write for the most urgent version)
      let next = 0;
      for (const g of gaps) {
        for (let v = g.from; v <= g.to && feasible; v += 1) {
          if ((unresolved[next] as Operation).call > g.deadline) feasible = false;
          next += 1;
        }
      }
    }
    if (!feasible) {
      const firstGap = gaps[0] as { from: number; to: number; deadline: number };
      const after = bySlot.get(versions.find((v) => v > firstGap.to) as number) ?? [];
      report(
        'phantom',
        [...after.flatMap((n) => [...nodeOps(n), ...n.children.map((c) => c.writer)]), ...unresolved.map((w) => w.id)],
        `no operation can have written version${missing === 1 ? '' : 's'} ${list}: no one observed ${missing === 1 ? 'it' : 'them'} or names ${missing === 1 ? 'its' : 'their'} writer, ` +
          `yet ${after.map((n) => describeNode(n)).join(' and ')} descends from ${firstGap.from === firstGap.to ? 'it' : 'them'}, ` +
          `and too few unknown writes were invoked early enough to have written ${missing === 1 ? 'it' : 'them'} (unknown writes left: ${unresolved.length === 0 ? 'none' : unresolved.map((w) => `#${w.id}`).join(', ')})`,
      );
    }
  }

  const unknownCount = unknownWrites.length;
  const summary =
    `key ${JSON.stringify(key)}: chain of ${top ?? 0} version${top === 1 ? '' : 's'} (${observed.length} observed value${observed.length === 1 ? '' : 's'}), ` +
    `${writes} write${writes === 1 ? '' : 's'} (${completedWrites.length} completed, ${unknownCount} unknown, ${failedWrites} failed), ${reads} read${reads === 1 ? '' : 's'}; ` +
    `unknown writes: ${tookEffect.size} took effect${listIds([...tookEffect])}, ${noEffect.length} no effect${listIds(noEffect)}` +
    (undetermined.length === 0 ? '' : `, ${undetermined.length} undetermined${listIds(undetermined)}`);
  return { violations, tookEffect: [...tookEffect], noEffect, undetermined, summary };
}

/** The index of the first node of `sorted` (ascending versions) with version ≥ `version`. */
function firstAtOrAbove(sorted: readonly ChainNode[], version: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as ChainNode).version < version) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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

function link(child: ChainNode, parent: ChainNode): void {
  child.prev = parent;
  parent.children.push(child);
}

function byVersionThenWriter(a: ChainNode, b: ChainNode): number {
  return a.version - b.version || a.writer - b.writer || ((a.text ?? '') < (b.text ?? '') ? -1 : (a.text ?? '') > (b.text ?? '') ? 1 : 0);
}

/** The writer and the observers of a node. */
function nodeOps(node: ChainNode): number[] {
  return [node.writer, ...node.observers.map((o) => o.id)];
}

function opName(op: Operation): string {
  return `${op.op} #${op.id}`;
}

/** What the history shows of a node: `seen by read #6, read #7` or `never observed; #9's value names it as predecessor`. */
function evidence(node: ChainNode): string {
  if (node.text === undefined) {
    const namers = node.children.slice(0, 3).map((c) => `#${c.writer}'s value`);
    if (node.children.length > 3) namers.push(`${node.children.length - 3} more`);
    return `never observed; ${namers.join(', ')} name${namers.length === 1 ? 's' : ''} it as predecessor`;
  }
  const shown = node.observers.slice(0, 3).map(opName);
  if (node.observers.length > 3) shown.push(`${node.observers.length - 3} more`);
  return `seen by ${shown.join(', ')}`;
}

/** e.g. `version 3 (seen by read #6)`. */
function describeVersion(node: ChainNode): string {
  return `version ${node.version} (${evidence(node)})`;
}

/** e.g. `#4's value, version 3 (seen by read #6)`; `withText` adds the value itself. */
function describeNode(node: ChainNode, withText = false): string {
  const text = withText && node.text !== undefined ? ` ${abbreviate(node.text)}` : '';
  return `#${node.writer}'s value${text}, ${describeVersion(node)}`;
}

function listIds(ids: readonly number[]): string {
  if (ids.length === 0) return '';
  const sorted = [...ids].sort((a, b) => a - b);
  const shown = sorted.slice(0, 8).map((id) => `#${id}`);
  if (sorted.length > 8) shown.push('…');
  return ` (${shown.join(', ')})`;
}

function abbreviate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
