/**
 * The chain checker's first two steps on one key (see `chain.ts`): read the operations' outputs,
 * then build the chain they show. Every observed value is a node (its writer at its version); its
 * `predecessor` links it to the writer's node one version below, made up (implied) when nobody
 * observed that value. Wrong versions and unreadable outputs are reported on the way; the later
 * checks (`chain-checks.ts`, `chain-final.ts`) work on the graph.
 */
import type { ChainNode } from './chain-node.js';
import { describeNode, evidence, opName } from './chain-text.js';
import { outcomeUnknown, type Operation } from './history.js';
import { decodeVersioned, encodeVersioned, type VersionedValue } from './versioned.js';

/** Records a violation of the key being checked: its kind, the operations involved, the message. */
export type Report = (kind: string, operations: readonly number[], message: string) => void;

/** A completed operation and the version it returned (0 = absent). */
export interface Observation {
  readonly op: Operation;
  readonly version: number;
}

/** What the outputs of one key's operations show (step 1). */
export interface KeyOutputs {
  /** The values observed, by canonical text, in order of first sight. */
  readonly nodesByText: ReadonlyMap<string, ChainNode>;
  /** Each completed write's node (none for a write whose output was unusable). */
  readonly nodeOfWrite: ReadonlyMap<Operation, ChainNode>;
  /** Every completed operation with a usable output, in history order. */
  readonly observations: readonly Observation[];
  readonly unknownWrites: readonly Operation[];
  /** The completed writes with a usable output. */
  readonly completedWrites: readonly Operation[];
  /** Counts for the summary (unsupported operations not included). */
  readonly reads: number;
  readonly writes: number;
  readonly failedWrites: number;
}

/**
 * Step 1: reads the outputs of one key's operations into observed nodes. Reports operations a
 * chain workload does not make and outputs that are not versioned values; those take no further
 * part in the check.
 */
export function readOutputs(ops: readonly Operation[], report: Report): KeyOutputs {
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
    if (outcomeUnknown(op)) {
      if (op.op === 'write') unknownWrites.push(op);
      continue;
    }
    const output = decodeOutput(op, report);
    if (output === undefined) continue;
    if (op.op === 'write') completedWrites.push(op);
    observations.push({ op, version: output.value?.version ?? 0 });
    if (output.value === null || output.text === null) continue;
    let node = nodesByText.get(output.text);
    if (node === undefined) {
      node = newNode(output.value.version, output.value.writer, output.value.predecessor, output.text);
      nodesByText.set(output.text, node);
    }
    node.observers.push(op);
    if (op.op === 'write') nodeOfWrite.set(op, node);
    node.firstReturn = Math.min(node.firstReturn, op.return as number);
    node.lastReturn = Math.max(node.lastReturn, op.return as number);
  }
  return { nodesByText, nodeOfWrite, observations, unknownWrites, completedWrites, reads, writes, failedWrites };
}

/**
 * A completed operation's output, decoded, with its canonical text (both `null` for the absent
 * value); `undefined` (reported `malformed`) when there is none or it is not a versioned value, or a
 * write's value names another writer.
 */
function decodeOutput(op: Operation, report: Report): { value: VersionedValue | null; text: string | null } | undefined {
  if (op.output === undefined || (op.op === 'write' && op.output === null)) {
    const what = op.op === 'read' ? 'the value it read (null for absent)' : 'the versioned value it wrote (a delete writes a tombstone, not null)';
    report('malformed', [op.id], `${opName(op)} completed without recording ${what}`);
    return undefined;
  }
  let value: VersionedValue | null;
  let text: string | null;
  try {
    value = decodeVersioned(op.output);
    text = value === null ? null : encodeVersioned(value);
  } catch (error) {
    report('malformed', [op.id], `${opName(op)} returned a value that is not a versioned value: ${(error as Error).message}`);
    return undefined;
  }
  if (op.op === 'write' && value !== null && value.writer !== op.id) {
    report('malformed', [op.id, value.writer], `${opName(op)} recorded a value whose writer is #${value.writer}, not #${op.id}: a write's value names its own operation`);
    return undefined;
  }
  return { value, text };
}

/** The chain of one key (step 2): its nodes linked to their predecessors, and indexes of them. */
export interface ChainGraph {
  /** The observed nodes, by version then writer. */
  readonly observed: readonly ChainNode[];
  /** Every node, observed or implied, by version then writer. */
  readonly nodes: readonly ChainNode[];
  /** Each writer's nodes, observed or implied, in ascending version order. */
  readonly byWriter: ReadonlyMap<number, ChainNode[]>;
  /** Each version's nodes (more than one is a fork), versions in ascending order. */
  readonly byVersion: ReadonlyMap<number, ChainNode[]>;
  /** The versions of the nodes, ascending. */
  readonly versions: readonly number[];
}

/**
 * Step 2: links each observed node to its predecessor, making implied nodes for predecessors
 * nobody observed, and indexes every node by writer and by version.
 */
export function buildGraph(outputs: KeyOutputs, report: Report): ChainGraph {
  const observed = [...outputs.nodesByText.values()].sort(byVersionThenWriter);
  const links = new PredecessorIndex(observed);
  for (const node of observed) linkPredecessor(node, links, report);
  const nodes = [...observed, ...links.implied].sort(byVersionThenWriter);
  const byWriter = new Map<number, ChainNode[]>();
  const byVersion = new Map<number, ChainNode[]>();
  for (const node of nodes) addTo(byWriter, node.writer, node);
  for (const node of nodes) addTo(byVersion, node.version, node);
  const versions = [...byVersion.keys()].sort((a, b) => a - b);
  return { observed, nodes, byWriter, byVersion, versions };
}

/** Where a predecessor may be found: the nodes seen so far by writer and version. */
class PredecessorIndex {
  /** Each writer's observed nodes, in ascending version order. */
  readonly observedByWriter = new Map<number, ChainNode[]>();
  /** The first node of each (writer, version), observed or implied. */
  readonly byWriterVersion = new Map<string, ChainNode>();
  /** Each writer's implied nodes, in ascending version order (they are made in that order). */
  readonly impliedByWriter = new Map<number, ChainNode[]>();
  readonly implied: ChainNode[] = [];

  /** `observed` in ascending version order. */
  constructor(observed: readonly ChainNode[]) {
    for (const node of observed) {
      addTo(this.observedByWriter, node.writer, node);
      const at = `${node.writer}@${node.version}`;
      if (!this.byWriterVersion.has(at)) this.byWriterVersion.set(at, node);
    }
  }

  /** A node for `writer`'s value at `version`, which nobody observed. */
  imply(writer: number, version: number): ChainNode {
    const made = newNode(version, writer, undefined, undefined);
    this.byWriterVersion.set(`${writer}@${version}`, made);
    addTo(this.impliedByWriter, writer, made);
    this.implied.push(made);
    return made;
  }
}

/** Links `node` to the node it replaced, reporting a `version-gap` when the versions do not fit. */
function linkPredecessor(node: ChainNode, links: PredecessorIndex, report: Report): void {
  const p = node.predecessor;
  if (p === null || p === undefined) {
    node.prev = null;
    if (node.version !== 1) {
      report('version-gap', [node.writer, ...node.observers.map((o) => o.id)], `${describeNode(node)} names no predecessor: only version 1 replaces the absent value (version 0)`);
    }
    return;
  }
  if (node.version === 1) {
    node.prev = null;
    report('version-gap', [node.writer, p, ...node.observers.map((o) => o.id)], `${describeNode(node)} names #${p} as its predecessor, but version 1 replaces the absent value`);
    return;
  }
  const exact = links.byWriterVersion.get(`${p}@${node.version - 1}`);
  const seen = links.observedByWriter.get(p);
  const named = links.impliedByWriter.get(p);
  if (exact !== undefined) {
    link(node, exact);
  } else if ((seen !== undefined || named !== undefined) && p !== node.writer) {
    // p wrote a value of another version: a gap (or p took effect twice); link to p's value below
    reportGap(node, p, seen, named, report);
    const seenBelow = seen === undefined ? undefined : seen[firstAtOrAbove(seen, node.version) - 1];
    const namedBelow = named === undefined ? undefined : named[firstAtOrAbove(named, node.version) - 1];
    const below = seenBelow === undefined || (namedBelow !== undefined && namedBelow.version > seenBelow.version) ? namedBelow : seenBelow;
    if (below === undefined) node.prev = undefined;
    else link(node, below);
  } else {
    // p's value was never observed (or p === node.writer: p took effect twice)
    link(node, links.imply(p, node.version - 1));
  }
}

/** `node` names `p`, whose values (`seen`, or else `named`) have versions other than `node`'s − 1. */
function reportGap(node: ChainNode, p: number, seen: readonly ChainNode[] | undefined, named: readonly ChainNode[] | undefined, report: Report): void {
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
}

function newNode(version: number, writer: number, predecessor: number | null | undefined, text: string | undefined): ChainNode {
  return {
    version,
    writer,
    predecessor,
    text,
    observers: [],
    children: [],
    prev: undefined,
    firstReturn: Number.POSITIVE_INFINITY,
    lastReturn: Number.NEGATIVE_INFINITY,
  };
}

function link(child: ChainNode, parent: ChainNode): void {
  child.prev = parent;
  parent.children.push(child);
}

function addTo<K>(map: Map<K, ChainNode[]>, key: K, node: ChainNode): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [node]);
  else list.push(node);
}

function byVersionThenWriter(a: ChainNode, b: ChainNode): number {
  return a.version - b.version || a.writer - b.writer || ((a.text ?? '') < (b.text ?? '') ? -1 : (a.text ?? '') > (b.text ?? '') ? 1 : 0);
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

/** The writer and the observers of a node. */
export function nodeOps(node: ChainNode): number[] {
  return [node.writer, ...node.observers.map((o) => o.id)];
}
