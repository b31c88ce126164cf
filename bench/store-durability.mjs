// What durability costs the LMDB store (`caspaxos/lmdb`): put throughput and latency of
// `LmdbStore` with every write synced before it resolves (`durable: true`, the default) against
// `durable: false` (LMDB `noSync`, unsafe), with 1 writer and with 64 concurrent writers. With 64
// writers lmdb commits many puts per transaction (one sync per group commit), which is what makes
// durability affordable under load.
//
// Durable writes run in both sync modes of the store: 'commit' (the default, reported as durable_*: LMDB syncs inside the
// commit) and 'overlapping' (lmdb's overlappingSync; the write waits for its `flushed` promise).
//
//   node bench/store-durability.mjs [--ms N] [--runs N] [--value-bytes N]     (measures dist/lmdb.js)
//   npx tsx bench/store-durability.mjs [...]        (falls back to src/ when dist/lmdb.js is missing)
//   BENCH_LMDB=$PWD/src/lmdb/lmdb-store.ts npx tsx bench/store-durability.mjs  (src/, even with a dist/)
//
// Options: --ms (per measurement, default 2000), --runs (default 3; figures are medians, the order
// of the variants alternates between runs), --value-bytes (state bytes per record, default 100).
// Each measurement writes into a fresh directory under os.tmpdir(), removed after it. Progress goes
// to stderr; the last line of stdout is one JSON object. Every run reads back the last writes and
// throws on a mismatch. Sync latency depends on the disk and on whatever else writes to it: compare
// figures of one run, not across machines or busy moments.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { LmdbStore, source } = await loadStore();

function parseOptions(argv) {
  const options = { ms: 2000, runs: 3, valueBytes: 100 };
  const flags = { '--ms': 'ms', '--runs': 'runs', '--value-bytes': 'valueBytes' };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    if (flag === '--help' || flag === '-h') {
      console.log('usage: node bench/store-durability.mjs [--ms N] [--runs N] [--value-bytes N]');
      process.exit(0);
    }
    const name = flags[flag];
    if (name === undefined) throw new Error(`unknown option ${argv[i]} (try --help)`);
    options[name] = Number(inline ?? argv[++i]);
  }
  for (const [name, value] of Object.entries(options)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${value}`);
  }
  return options;
}

async function loadStore() {
  const dist = process.env.BENCH_LMDB ?? new URL('../dist/lmdb.js', import.meta.url).href;
  try {
    return { LmdbStore: (await import(dist)).LmdbStore, source: process.env.BENCH_LMDB ?? 'dist/lmdb.js' };
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    try {
      // Works under tsx (`npx tsx bench/store-durability.mjs`), which compiles the TypeScript source.
      return { LmdbStore: (await import('../src/lmdb/lmdb-store.ts')).LmdbStore, source: 'src/lmdb/lmdb-store.ts (tsx)' };
    } catch {
      throw new Error('dist/lmdb.js not found: run `npm run build` (with the lmdb entry), or run this under tsx: npx tsx bench/store-durability.mjs');
    }
  }
}

const KEYS = 10_000;
const WARMUP_MS = 200;
const key = (i) => `key-${String(i % KEYS).padStart(5, '0')}`;

function recordFor(i, valueBytes) {
  const state = new Uint8Array(valueBytes);
  state.fill(i & 0xff);
  return { promise: { counter: i + 1, id: 'p1' }, accepted: { counter: i + 1, id: 'p1' }, state, ancestry: [] };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/**
 * `writers` loops, each awaiting one write at a time for `ms` milliseconds (after a warm-up);
 * returns ops/s and latency percentiles in microseconds. `write(i)` returns the write's promise.
 */
async function drive(write, writers, ms) {
  let next = 0;
  const loop = async (until, latencies) => {
    while (performance.now() < until) {
      const i = next++;
      const t0 = performance.now();
      await write(i);
      latencies?.push(performance.now() - t0);
    }
  };
  const warmEnd = performance.now() + WARMUP_MS;
  await Promise.all(Array.from({ length: writers }, () => loop(warmEnd)));
  const latencies = [];
  const first = next;
  const start = performance.now();
  await Promise.all(Array.from({ length: writers }, () => loop(start + ms, latencies)));
  const elapsed = performance.now() - start;
  latencies.sort((a, b) => a - b);
  return {
    ops_per_s: Math.round(((next - first) / elapsed) * 1000),
    p50_us: Math.round(percentile(latencies, 0.5) * 1000),
    p99_us: Math.round(percentile(latencies, 0.99) * 1000),
    last: next - 1,
  };
}

async function measureStore(durable, syncMode, writers, options) {
  const path = mkdtempSync(join(tmpdir(), 'caspaxos-bench-lmdb-'));
  try {
    const store = await LmdbStore.open({ path, durable, syncMode });
    if (store.syncMode !== (durable ? syncMode : 'commit')) throw new Error(`the store reports syncMode ${store.syncMode}, not ${syncMode}: rebuild dist (npm run build)`);
    const figures = await drive((i) => store.put(key(i), recordFor(i, options.valueBytes)), writers, options.ms);
    // Read back the last writes: each key holds the record of the last write to it.
    for (let i = figures.last; i > figures.last - 50 && i >= 0; i--) {
      const got = await store.get(key(i));
      if (got === undefined || got.accepted.counter !== i + 1) throw new Error(`bench check failed: ${key(i)} reads back ${JSON.stringify(got?.accepted)}`);
    }
    await store.close();
    const { last, ...rest } = figures;
    return rest;
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const options = parseOptions(process.argv.slice(2));
const variants = [];
for (const writers of [1, 64]) {
  variants.push({ name: `durable_w${writers}`, run: () => measureStore(true, 'commit', writers, options) });
  variants.push({ name: `overlapping_w${writers}`, run: () => measureStore(true, 'overlapping', writers, options) });
  variants.push({ name: `nosync_w${writers}`, run: () => measureStore(false, 'commit', writers, options) });
}
const samples = Object.fromEntries(variants.map((v) => [v.name, []]));
for (let run = 0; run < options.runs; run++) {
  const order = run % 2 === 0 ? variants : [...variants].reverse();
  for (const v of order) {
    const figures = await v.run();
    samples[v.name].push(figures);
    process.stderr.write(`run ${run + 1}/${options.runs} ${v.name}: ${JSON.stringify(figures)}\n`);
  }
}
const results = {};
for (const [name, list] of Object.entries(samples)) {
  results[name] = {
    ops_per_s: median(list.map((f) => f.ops_per_s)),
    p50_us: median(list.map((f) => f.p50_us)),
    p99_us: median(list.map((f) => f.p99_us)),
  };
}
const ratio = (a, b) => Math.round((a / b) * 1000) / 1000;
const output = {
  bench: 'store-durability',
  source,
  options: { ms: options.ms, runs: options.runs, value_bytes: options.valueBytes, node: process.version, tmpdir: tmpdir() },
  results,
  ratios: {
    // Throughput kept with durability on, as a share of noSync's (durable: false).
    durable_vs_nosync_throughput_w1: ratio(results.durable_w1.ops_per_s, results.nosync_w1.ops_per_s),
    durable_vs_nosync_throughput_w64: ratio(results.durable_w64.ops_per_s, results.nosync_w64.ops_per_s),
    // Latency multiplier of durability.
    durable_vs_nosync_p50_w1: ratio(results.durable_w1.p50_us, results.nosync_w1.p50_us),
    durable_vs_nosync_p99_w1: ratio(results.durable_w1.p99_us, results.nosync_w1.p99_us),
    durable_vs_nosync_p50_w64: ratio(results.durable_w64.p50_us, results.nosync_w64.p50_us),
    durable_vs_nosync_p99_w64: ratio(results.durable_w64.p99_us, results.nosync_w64.p99_us),
    // What group commit buys: durable throughput with 64 writers over 1 writer.
    durable_group_commit_speedup: ratio(results.durable_w64.ops_per_s, results.durable_w1.ops_per_s),
    overlapping_group_commit_speedup: ratio(results.overlapping_w64.ops_per_s, results.overlapping_w1.ops_per_s),
    // syncMode 'overlapping' against the default 'commit' (above 1: overlapping is faster).
    overlapping_vs_durable_throughput_w1: ratio(results.overlapping_w1.ops_per_s, results.durable_w1.ops_per_s),
    overlapping_vs_durable_throughput_w64: ratio(results.overlapping_w64.ops_per_s, results.durable_w64.ops_per_s),
    overlapping_vs_nosync_throughput_w64: ratio(results.overlapping_w64.ops_per_s, results.nosync_w64.ops_per_s),
  },
};
console.log(JSON.stringify(output));
