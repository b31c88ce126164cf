// What grew between two V8 heap snapshots of one process: the objects by kind and constructor
// (`object:KeySlot`, `array:(object elements)`, `code:(code)`, ...), with their counts and self
// sizes in each snapshot and the difference, largest first. soak.mjs --heap-snapshots runs it on
// each node's first and last snapshot; on its own:
//   node bench/heap-diff.mjs BEFORE.heapsnapshot AFTER.heapsnapshot [--top N]
// A leak shows as a kind whose count keeps rising with the work done; a table that fills up to a
// bound (a cache, the proposer's key slots) rises until it is full, then stays.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Strings, numbers and compiled code are grouped by kind alone: their "names" are their contents.
const BY_KIND_ALONE = new Set(['string', 'concatenated string', 'sliced string', 'number', 'bigint', 'code', 'hidden']);

/** Count and self size per kind:name of one snapshot (`.heapsnapshot`, the format V8 writes). */
export function heapSummary(file) {
  const snapshot = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const { nodes, strings } = snapshot;
  const groups = new Map();
  let bytes = 0;
  for (let i = 0; i < nodes.length; i += fields.length) {
    const type = types[nodes[i + typeAt]];
    const name = BY_KIND_ALONE.has(type) ? '' : strings[nodes[i + nameAt]].slice(0, 80);
    const key = name === '' ? type : `${type}:${name}`;
    const size = nodes[i + sizeAt];
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { count: 1, bytes: size });
    else (group.count++, (group.bytes += size));
    bytes += size;
  }
  return { bytes, objects: nodes.length / fields.length, groups };
}

/** The groups whose self size changed most between two summaries. */
export function heapDiff(before, after, top = 10) {
  const keys = new Set([...before.groups.keys(), ...after.groups.keys()]);
  const none = { count: 0, bytes: 0 };
  const rows = [...keys].map((key) => {
    const a = before.groups.get(key) ?? none;
    const b = after.groups.get(key) ?? none;
    return { kind: key, count: [a.count, b.count], bytes: [a.bytes, b.bytes], delta_bytes: b.bytes - a.bytes };
  });
  rows.sort((x, y) => Math.abs(y.delta_bytes) - Math.abs(x.delta_bytes));
  const mb = (x) => Math.round(x / 1e4) / 100;
  return { heap_mb: [mb(before.bytes), mb(after.bytes)], objects: [before.objects, after.objects], top: rows.slice(0, top) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt === -1 ? 20 : Number(args.splice(topAt, 2)[1]);
  if (args.length !== 2 || !Number.isInteger(top) || top < 1) {
    console.error('usage: node bench/heap-diff.mjs BEFORE.heapsnapshot AFTER.heapsnapshot [--top N]');
    process.exit(2);
  }
  const diff = heapDiff(heapSummary(args[0]), heapSummary(args[1]), top);
  console.error(`heap ${diff.heap_mb[0]} -> ${diff.heap_mb[1]} MB, ${diff.objects[0]} -> ${diff.objects[1]} objects`);
  for (const row of diff.top) {
    console.error(`${String(row.delta_bytes).padStart(10)} B  ${row.count[0]} -> ${row.count[1]} objects  ${row.kind}`);
  }
  console.log(JSON.stringify(diff));
}
