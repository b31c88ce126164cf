// Benchmark suite entry: `npm run bench` (builds first) or `node bench/run.mjs [options]`.
// Runs limit.mjs (the physical-limit reference) and the caspaxos scenarios side by side, run after
// run, each measurement in its own child process, and reports medians, ratios and targets. See
// bench/README.md.
//
// Options (each also settable by environment variable):
//   --runs N      runs of limit.mjs and of scenarios a-d, f, h; figures are medians BENCH_RUNS     (5; quick 3)
//   --ms N        milliseconds per measurement, ours and limit.mjs's               BENCH_MS       (1000; quick 200)
//   --g-runs N    runs of scenario g (5 and 7 acceptors), at most --runs           BENCH_G_RUNS   (3; quick 1)
//   --e-keys N    keys written in scenario e (heap bytes per key)                  BENCH_E_KEYS   (1000000; quick 100000)
//   --e-runs N    runs of scenario e                                               BENCH_E_RUNS   (3; quick 2)
//   --f-count N   proposals timed per run and mode in scenario f (latency)         BENCH_F_COUNT  (200000; quick 50000)
//   --h-rounds N  paired rounds per run in scenario h (logger overhead)            BENCH_H_ROUNDS (2; quick 1)
//   --h-ms N      milliseconds per slice in scenario h (4 slices per process)      BENCH_H_MS     (100; quick 50)
//   --quick       short measurements for smoke checks (about 30 s)
// Output: a table, then as the last line one JSON object.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const E_PARALLEL = Math.max(1, Math.min(2, availableParallelism()));
const G_ACCEPTORS = [5, 7];
const H_CONFIGS = ['none', 'proposer', 'all'];
const H_SLICES = 6;

// The targets, as ratios to limit.mjs's asyncQuorum figure of the same run (a to limit a; b and c
// to limit b) or absolute figures.
const TARGETS = {
  a_2rtt: { min: 0.6, unit: 'x' },
  a_1rtt: { min: 1.2, unit: 'x' },
  b_2rtt: { min: 0.6, unit: 'x' },
  b_1rtt: { min: 1.0, unit: 'x' },
  c_ok: { min: 0.55, unit: 'x' },
  c_error_rate: { max: 0, unit: '' },
  d_batching_speedup: { min: 10, unit: 'x' },
  e_bytes_per_key: { max: 350, unit: ' B' },
  f_p99_us_1rtt: { max: 2, unit: ' µs' }, // issue 15's target
  h_logger_overhead: { max: 0.03, unit: '' },
};

function parseOptions(argv, env) {
  const quick = argv.includes('--quick') || env.BENCH_QUICK === '1';
  const options = {
    quick,
    runs: quick ? 3 : 5,
    ms: quick ? 200 : 1000,
    gRuns: quick ? 1 : 3,
    eKeys: quick ? 100_000 : 1_000_000,
    eRuns: quick ? 2 : 3,
    fCount: quick ? 50_000 : 200_000,
    hRounds: quick ? 1 : 2,
    hMs: quick ? 50 : 100,
  };
  const names = { runs: 'RUNS', ms: 'MS', gRuns: 'G_RUNS', eKeys: 'E_KEYS', eRuns: 'E_RUNS', fCount: 'F_COUNT', hRounds: 'H_ROUNDS', hMs: 'H_MS' };
  for (const [name, suffix] of Object.entries(names)) {
    const value = env[`BENCH_${suffix}`];
    if (value !== undefined && value !== '') options[name] = Number(value);
  }
  const flags = { '--runs': 'runs', '--ms': 'ms', '--g-runs': 'gRuns', '--e-keys': 'eKeys', '--e-runs': 'eRuns', '--f-count': 'fCount', '--h-rounds': 'hRounds', '--h-ms': 'hMs' };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    if (flag === '--quick') continue;
    if (flag === '--help' || flag === '-h') {
      console.log('usage: node bench/run.mjs [--quick] [--runs N] [--ms N] [--g-runs N] [--e-keys N] [--e-runs N] [--f-count N] [--h-rounds N] [--h-ms N]   (see bench/README.md)');
      process.exit(0);
    }
    const name = flags[flag];
    if (name === undefined) throw new Error(`unknown option ${argv[i]} (try --help)`);
    options[name] = Number(inline ?? argv[++i]);
  }
  for (const name of Object.keys(names)) {
    if (!Number.isSafeInteger(options[name]) || options[name] < 1) throw new Error(`${name} must be a positive integer, got ${options[name]}`);
  }
  options.gRuns = Math.min(options.gRuns, options.runs);
  return options;
}

/** The ES module build that the scenarios import: a snapshot of dist/, see snapshotDist. */
let distEnv = {};

/**
 * Runs `node [...nodeArgs] script ...args`, returns its last output line parsed as JSON (with
 * `lines` = 2, the last two, in order).
 */
function runNode(nodeArgs, script, args, lines = 1) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, join(BENCH, script), ...args.map(String)], {
      cwd: ROOT,
      env: { ...process.env, ...distEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const command = `node ${[...nodeArgs, `bench/${script}`, ...args].join(' ')}`;
      if (code !== 0) {
        reject(new Error(`${command} exited with ${signal ?? code}\n${stderr || stdout}`));
        return;
      }
      const last = stdout.trim().split('\n').slice(-lines);
      try {
        const parsed = last.map((line) => JSON.parse(line));
        resolve(lines === 1 ? parsed[0] : parsed);
      } catch {
        reject(new Error(`${command}: last line is not JSON: ${last.join('\n')}`));
      }
    });
  });
}

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * limit.mjs's asyncQuorum figures per second of the CPU time its process got while measuring them
 * (windows 5 and 6 of cpu-hook.mjs, in limit.mjs's order): ops/s x wall time / CPU time.
 */
function limitPerCpu(limit, windows) {
  if (windows.length !== 6) throw new Error(`cpu-hook.mjs saw ${windows.length} measurements of limit.mjs, expected 6`);
  const perCpu = (opsPerS, w) => Math.round((opsPerS * w.wallMs) / w.cpuMs);
  return { a_ops_per_cpu_s: perCpu(limit.asyncQuorum.a_ops_per_s, windows[4]), b_ops_per_cpu_s: perCpu(limit.asyncQuorum.b_ops_per_s, windows[5]) };
}

/** The median of each numeric leaf over objects of one shape (limit.mjs's JSON, per run). */
function medianShape(objects) {
  const first = objects[0];
  if (typeof first === 'number') return median(objects);
  if (typeof first !== 'object' || first === null) return first;
  const out = {};
  for (const key of Object.keys(first)) out[key] = medianShape(objects.map((o) => o[key]));
  return out;
}

const round = (x, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Warns when the build is older than a source file: the bench measures dist/, not src/. */
function checkBuild() {
  const dist = join(ROOT, 'dist', 'index.js');
  if (!existsSync(dist)) throw new Error('dist/index.js is missing: run `npx tsup` (or `npm run bench`, which builds first)');
  const built = statSync(dist).mtimeMs;
  const stale = readdirSync(join(ROOT, 'src'), { recursive: true })
    .filter((f) => f.endsWith('.ts'))
    .filter((f) => statSync(join(ROOT, 'src', f)).mtimeMs > built);
  if (stale.length > 0) console.warn(`warning: dist/ is older than src/${stale[0]}${stale.length > 1 ? ` and ${stale.length - 1} more` : ''}; rebuild with \`npx tsup\``);
}

/**
 * Copies dist/'s ES modules to a temporary directory and points the scenarios at the copy, so a
 * rebuild while the bench runs (someone running `npm test`, which builds) cannot change what later
 * measurements see: every measurement of a run measures the build as it was at the start.
 */
function snapshotDist() {
  const dist = join(ROOT, 'dist');
  const dir = mkdtempSync(join(tmpdir(), 'caspaxos-bench-'));
  const files = readdirSync(dist).filter((f) => f.endsWith('.js'));
  for (const f of files) copyFileSync(join(dist, f), join(dir, f));
  // A copy taken in the middle of a rebuild could miss a chunk: check every relative import.
  for (const f of files) {
    for (const [, target] of readFileSync(join(dir, f), 'utf8').matchAll(/from\s*['"]\.\/([^'"]+)['"]/g)) {
      if (!existsSync(join(dir, target))) throw new Error(`dist/ changed while it was copied (${f} imports ${target}); run again`);
    }
  }
  distEnv = { BENCH_DIST: pathToFileURL(join(dir, 'index.js')).href };
  const built = new Date(statSync(join(dist, 'index.js')).mtimeMs).toISOString();
  return { dir, built, files: files.filter((f) => f.startsWith('chunk-')) };
}

function formatRate(x) {
  return Math.round(x).toLocaleString('en-US');
}

const percent = (x, digits = 2) => `${round(x * 100, digits)}%`;

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows
    .map((r, i) => {
      const line = r.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  ');
      return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

/** A figure against its target: { value, target, met }, and the table's text for it. */
function judge(name, value) {
  const t = TARGETS[name];
  const target = t.min !== undefined ? `>= ${t.min}${t.unit}` : `<= ${t.max}${t.unit}`;
  const met = t.min !== undefined ? value >= t.min : value <= t.max;
  // How far off: the figure as a share of the target (for ratios and speedups), else the excess.
  const detail = met ? 'met' : t.min !== undefined ? `MISSED (${round(value / t.min, 2)} of target)` : t.max === 0 ? 'MISSED' : `MISSED (${round(value / t.max, 2)}x the bound)`;
  return { verdict: { value, target, met }, target, detail };
}

async function main() {
  const options = parseOptions(process.argv.slice(2), process.env);
  checkBuild();
  const build = snapshotDist();
  try {
    await bench(options, build);
  } finally {
    rmSync(build.dir, { recursive: true, force: true });
  }
}

async function bench(options, build) {
  const started = performance.now();
  const limitRuns = [];
  const limitCpu = []; // per run: limit.mjs's asyncQuorum figures per second of CPU time (cpu-hook.mjs)
  const runs = []; // per run: the results of our scenarios, by job name
  const eRuns = [];
  const log = (message) => console.error(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}`);
  const { ms } = options;
  log(`measuring the build of ${build.built} (${build.files.join(', ')}), copied to ${build.dir}`);
  log(
    `${options.runs} run(s) of ${ms} ms per measurement; g ${options.gRuns} run(s); e ${options.eRuns} run(s) of ${options.eKeys} keys; f ${options.fCount} proposals per mode; h ${options.hRounds} paired round(s) per run, ${H_SLICES} slices of ${options.hMs} ms per process${options.quick ? ' (quick)' : ''}`,
  );

  // Every measurement runs in a fresh child process. Within a run the jobs go one after the
  // other, in reverse order every other run, so limit.mjs and each of our scenarios see the same
  // machine (noise, thermal state, neighbours) and none always goes first.
  for (let run = 0; run < options.runs; run++) {
    const ours = (runs[run] = {});
    const job = (name, args) => () => runNode([], 'scenarios.mjs', args).then((r) => (ours[name] = r[args[0]]));
    const jobs = [
      () =>
        runNode(['--import', pathToFileURL(join(BENCH, 'cpu-hook.mjs')).href], 'limit.mjs', [ms], 2).then(([r, hook]) => {
          limitRuns[run] = r;
          limitCpu[run] = limitPerCpu(r, hook.cpuWindows);
        }),
      job('a_2rtt', ['a', '--rtt', 2, '--ms', ms]),
      job('a_1rtt', ['a', '--rtt', 1, '--ms', ms]),
      job('b_2rtt', ['b', '--rtt', 2, '--ms', ms]),
      job('b_1rtt', ['b', '--rtt', 1, '--ms', ms]),
      job('c', ['c', '--ms', ms, '--seed', run + 1]),
      job('d_batched', ['d', '--ms', ms]),
      job('d_unbatched', ['d', '--ms', ms, '--max-batch', 1]),
      job('f_2rtt', ['f', '--rtt', 2, '--count', options.fCount]),
      job('f_1rtt', ['f', '--rtt', 1, '--count', options.fCount]),
    ];
    // (h) one process per logger configuration, rotated; each round's three are neighbours in time.
    ours.h = Array.from({ length: options.hRounds }, () => ({}));
    for (let r = 0; r < options.hRounds; r++) {
      for (let i = 0; i < H_CONFIGS.length; i++) {
        const config = H_CONFIGS[(i + r + run) % H_CONFIGS.length];
        jobs.push(() => runNode([], 'scenarios.mjs', ['h', '--logger', config, '--ms', options.hMs, '--rounds', H_SLICES]).then((x) => (ours.h[r][config] = x.h)));
      }
    }
    if (run < options.gRuns) {
      for (const n of G_ACCEPTORS) {
        for (const s of ['a', 'b']) for (const rtt of [2, 1]) jobs.push(job(`g${n}_${s}_${rtt}rtt`, [s, '--rtt', rtt, '--acceptors', n, '--ms', ms]));
      }
    }
    for (const step of run % 2 === 0 ? jobs : jobs.reverse()) await step();
    const l = limitRuns[run].asyncQuorum;
    log(
      `run ${run + 1}: limit a ${formatRate(l.a_ops_per_s)} b ${formatRate(l.b_ops_per_s)} | a 2rtt ${formatRate(ours.a_2rtt.opsPerS)} 1rtt ${formatRate(ours.a_1rtt.opsPerS)} | b 2rtt ${formatRate(ours.b_2rtt.opsPerS)} 1rtt ${formatRate(ours.b_1rtt.opsPerS)} | c ok ${formatRate(ours.c.okOpsPerS)}, errors ${percent(ours.c.errorRate)} | d ${formatRate(ours.d_batched.opsPerS)} vs ${formatRate(ours.d_unbatched.opsPerS)} | f p99 ${ours.f_1rtt.p99Us} µs | h ${ours.h.map((x) => round(x.none.bestOpsPerS / x.all.bestOpsPerS - 1, 4)).join(' ')}`,
    );
  }
  // Scenario e measures memory, not time, so its runs may share the cores: two at a time.
  let nextE = 0;
  const eWorker = async () => {
    while (nextE < options.eRuns) {
      const run = nextE++;
      eRuns[run] = (await runNode(['--expose-gc'], 'scenarios.mjs', ['e', '--keys', options.eKeys, '--rtt', 1])).e;
      log(`e run ${run + 1}: ${eRuns[run].bytesPerKey} heap bytes per key`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(E_PARALLEL, options.eRuns) }, eWorker));

  // ---- Aggregation: medians over runs; ratios of medians to limit.mjs's medians. ----
  const limit = medianShape(limitRuns);
  const q = limit.asyncQuorum;
  const of = (name, field) => runs.filter((r) => r[name] !== undefined).map((r) => r[name][field]);
  const med = (name, field) => median(of(name, field));
  const ops = {
    a_2rtt: med('a_2rtt', 'opsPerS'),
    a_1rtt: med('a_1rtt', 'opsPerS'),
    b_2rtt: med('b_2rtt', 'opsPerS'),
    b_1rtt: med('b_1rtt', 'opsPerS'),
    c_ok: med('c', 'okOpsPerS'),
    d_batched: med('d_batched', 'opsPerS'),
    d_unbatched: med('d_unbatched', 'opsPerS'),
  };
  const limitOf = { a_2rtt: q.a_ops_per_s, a_1rtt: q.a_ops_per_s, b_2rtt: q.b_ops_per_s, b_1rtt: q.b_ops_per_s, c_ok: q.b_ops_per_s };
  const ratios = Object.fromEntries(Object.keys(limitOf).map((name) => [name, round(ops[name] / limitOf[name])]));
  // The same ratios taken within each run (ours / limit.mjs of that run): a drift check.
  const pairedRatios = Object.fromEntries(
    Object.keys(limitOf).map((name) => {
      const field = name === 'c_ok' ? 'okOpsPerS' : 'opsPerS';
      const limitField = name.startsWith('a') ? 'a_ops_per_s' : 'b_ops_per_s';
      return [name, runs.map((r, i) => round((r[name === 'c_ok' ? 'c' : name][field]) / limitRuns[i].asyncQuorum[limitField]))];
    }),
  );
  // The same ratios per second of CPU time, ours and limit.mjs's (cpu-hook.mjs): on a shared
  // machine a neighbour slows the wall clock of one process and not the other; CPU time it slows
  // far less. Medians over runs, and within each run.
  const limitPerCpuMedian = { a_ops_per_cpu_s: median(limitCpu.map((l) => l.a_ops_per_cpu_s)), b_ops_per_cpu_s: median(limitCpu.map((l) => l.b_ops_per_cpu_s)) };
  const perCpuField = (name) => (name === 'c_ok' ? ['c', 'okOpsPerCpuS'] : [name, 'opsPerCpuS']);
  const limitPerCpuOf = (name, l) => (name.startsWith('a') ? l.a_ops_per_cpu_s : l.b_ops_per_cpu_s);
  const ratiosPerCpu = Object.fromEntries(
    Object.keys(limitOf).map((name) => [name, round(med(...perCpuField(name)) / limitPerCpuOf(name, limitPerCpuMedian))]),
  );
  const pairedRatiosPerCpu = Object.fromEntries(
    Object.keys(limitOf).map((name) => {
      const [job, field] = perCpuField(name);
      return [name, runs.map((r, i) => round(r[job][field] / limitPerCpuOf(name, limitCpu[i])))];
    }),
  );
  const cRuns = runs.map((r) => r.c);
  const cErrorRate = median(cRuns.map((r) => r.errorRate));
  const codes = [...new Set(cRuns.flatMap((r) => Object.keys(r.errorsByCode)))].sort();
  const cErrorsByCode = Object.fromEntries(codes.map((code) => [code, median(cRuns.map((r) => r.errorsByCode[code] ?? 0))]));
  const cAttempts = median(cRuns.map((r) => r.attemptsPerProposal));
  const dSpeedup = round(ops.d_batched / ops.d_unbatched, 2);
  const dPaired = runs.map((r) => round(r.d_batched.opsPerS / r.d_unbatched.opsPerS, 2));
  const dAvgBatch = med('d_batched', 'avgBatch');
  const e = round(median(eRuns.map((r) => r.bytesPerKey)), 1);
  const eMedianRun = eRuns.reduce((best, r) => (Math.abs(r.bytesPerKey - e) < Math.abs(best.bytesPerKey - e) ? r : best));
  const latency = (name) => ({
    p50_us: med(name, 'p50Us'),
    p99_us: med(name, 'p99Us'),
    p999_us: med(name, 'p999Us'),
    mean_us: med(name, 'meanUs'),
    max_us: med(name, 'maxUs'),
  });
  const f = { count_per_run: options.fCount, rtt2: latency('f_2rtt'), rtt1: latency('f_1rtt'), timer_overhead_p50_us: med('f_1rtt', 'timerOverheadP50Us') };
  // (h) pooled over every round of every run: each round is one paired comparison.
  const hOverhead = (config) => runs.flatMap((r) => r.h.map((x) => round(x.none.bestOpsPerS / x[config].bestOpsPerS - 1, 4)));
  const hAll = hOverhead('all');
  const hProposer = hOverhead('proposer');
  const h = round(median(hAll), 4);
  const hProposerOnly = round(median(hProposer), 4);
  const g = { limit_acceptors: 3, runs: options.gRuns };
  for (const n of G_ACCEPTORS) {
    const figures = {};
    for (const s of ['a', 'b']) {
      for (const rtt of [2, 1]) {
        const name = `${s}_${rtt}rtt`;
        const value = med(`g${n}_${name}`, 'opsPerS');
        figures[`${name}_ops_per_s`] = value;
        figures[`${name}_ratio`] = round(value / (s === 'a' ? q.a_ops_per_s : q.b_ops_per_s));
        ratios[`g${n}_${name}`] = figures[`${name}_ratio`];
      }
    }
    g[`acceptors_${n}`] = figures;
  }

  const verdicts = {};
  const check = (name, value) => {
    const j = judge(name, value);
    verdicts[name] = j.verdict;
    return [j.target, j.detail];
  };

  // ---- Human-readable table ----
  const span = (values, format = formatRate) => `${format(Math.min(...values))} .. ${format(Math.max(...values))}`;
  const cpu = (name) => {
    const shares = of(name, 'cpuShare');
    return shares.length === 0 ? '' : median(shares).toFixed(2);
  };
  const rateRow = (label, name, field, limitLabel, limitValue, target) => {
    const values = of(name, field);
    const value = median(values);
    const ratio = limitValue === undefined ? '' : `${(value / limitValue).toFixed(3)}x`;
    return [label, formatRate(value), span(values), cpu(name), limitValue === undefined ? '' : `${formatRate(limitValue)} (${limitLabel})`, ratio, ...(target ?? ['', ''])];
  };
  const usRow = (label, name, field, target) => {
    const values = of(name, field);
    return [label, `${median(values)} µs`, span(values, (x) => String(x)), '', '', '', ...(target ?? ['', ''])];
  };
  const rows = [
    ['figure', 'median', `min .. max over runs`, 'cpu', 'limit asyncQuorum', 'ratio', 'target', 'vs target'],
    rateRow('(a) 1 key, sequential, 2RTT, ops/s', 'a_2rtt', 'opsPerS', 'a', q.a_ops_per_s, check('a_2rtt', ratios.a_2rtt)),
    rateRow('(a) 1 key, sequential, 1RTT, ops/s', 'a_1rtt', 'opsPerS', 'a', q.a_ops_per_s, check('a_1rtt', ratios.a_1rtt)),
    rateRow('(b) 10k keys round-robin, 2RTT, ops/s', 'b_2rtt', 'opsPerS', 'b', q.b_ops_per_s, check('b_2rtt', ratios.b_2rtt)),
    rateRow('(b) 10k keys round-robin, 1RTT, ops/s', 'b_1rtt', 'opsPerS', 'b', q.b_ops_per_s, check('b_1rtt', ratios.b_1rtt)),
    rateRow('(c) 3x16 workers, 1k keys, ok ops/s', 'c', 'okOpsPerS', 'b', q.b_ops_per_s, check('c_ok', ratios.c_ok)),
    ['(c) error rate', percent(cErrorRate, 3), span(cRuns.map((r) => r.errorRate), (x) => percent(x, 3)), '', '', '', ...check('c_error_rate', cErrorRate)],
    ['(c) attempts per proposal', String(cAttempts), span(cRuns.map((r) => r.attemptsPerProposal), String), '', '', '', '', ''],
    rateRow('(d) hot key, 64 callers, batched, ops/s', 'd_batched', 'opsPerS'),
    rateRow('(d) same, maxBatch 1 (unbatched), ops/s', 'd_unbatched', 'opsPerS'),
    ['(d) batching speedup', `${dSpeedup}x`, span(dPaired, (x) => `${x}x`), '', '', '', ...check('d_batching_speedup', dSpeedup)],
    [`(e) heap B/key, ${options.eKeys} keys, 1RTT`, String(e), span(eRuns.map((r) => r.bytesPerKey), String), '', '', '', ...check('e_bytes_per_key', e)],
    usRow('(f) latency 2RTT p50', 'f_2rtt', 'p50Us'),
    usRow('(f) latency 2RTT p99', 'f_2rtt', 'p99Us'),
    usRow('(f) latency 2RTT p999', 'f_2rtt', 'p999Us'),
    usRow('(f) latency 1RTT p50', 'f_1rtt', 'p50Us'),
    usRow('(f) latency 1RTT p99', 'f_1rtt', 'p99Us', check('f_p99_us_1rtt', f.rtt1.p99_us)),
    usRow('(f) latency 1RTT p999', 'f_1rtt', 'p999Us'),
  ];
  for (const n of G_ACCEPTORS) {
    for (const s of ['a', 'b']) {
      for (const rtt of [2, 1]) {
        const label = `(g) ${n} acceptors, ${s === 'a' ? '1 key' : '10k keys'}, ${rtt}RTT, ops/s`;
        rows.push(rateRow(label, `g${n}_${s}_${rtt}rtt`, 'opsPerS', `${s}, 3 acc.`, s === 'a' ? q.a_ops_per_s : q.b_ops_per_s));
      }
    }
  }
  rows.push(['(h) pino info, proposer + acceptors', percent(h), span(hAll, (x) => percent(x)), '', '', '', ...check('h_logger_overhead', h)]);
  rows.push(['(h) pino info, proposer only', percent(hProposerOnly), span(hProposer, (x) => percent(x)), '', '', '', '', '']);

  const met = Object.values(verdicts).filter((v) => v.met).length;
  console.log(`caspaxos benchmark, node ${process.version}, ${options.runs} run(s) x ${ms} ms${options.quick ? ' (quick)' : ''}, build of ${build.built}\n`);
  console.log(table(rows));
  const share = (r) => Math.min(...r.okByProposer) / Math.max(1, Math.max(...r.okByProposer));
  console.log(`\ntargets met: ${met} of ${Object.keys(verdicts).length}`);
  console.log(`ratio = our median / limit.mjs asyncQuorum median (3 acceptors, 2 round trips, no copies, no checks): a to limit a; b, c to limit b; g too, against the same 3-acceptor limit figures`);
  console.log(`per-run ratios: ${Object.entries(pairedRatios).map(([name, values]) => `${name} ${values.join(' ')}`).join(' | ')}`);
  console.log(
    `ratios per CPU second (ours / limit.mjs, each per second of the CPU time its process got): ${Object.entries(ratiosPerCpu).map(([name, value]) => `${name} ${value}`).join(' | ')}; limit asyncQuorum a ${formatRate(limitPerCpuMedian.a_ops_per_cpu_s)} b ${formatRate(limitPerCpuMedian.b_ops_per_cpu_s)} ops per CPU second`,
  );
  console.log(`per-run ratios per CPU second: ${Object.entries(pairedRatiosPerCpu).map(([name, values]) => `${name} ${values.join(' ')}`).join(' | ')}`);
  console.log(`(c) library default mode (1RTT); errors per ${ms} ms window, median by code: ${codes.length === 0 ? 'none' : codes.map((c) => `${c} ${cErrorsByCode[c]}`).join(', ')}`);
  console.log(`(c) contention, median: ${cAttempts} attempts per proposal (${median(cRuns.map((r) => r.skippedPrepareShare))} of attempts skipped the prepare), ${median(cRuns.map((r) => r.timerSleeps))} timer waits (retry backoff, straggler waits); slowest/fastest proposer's ok ops ${round(median(cRuns.map(share)), 2)}`);
  if (cRuns.some((r) => r.okByProposer.includes(0))) console.log('(c) WARNING: a proposer completed nothing in some run: it stalled (see README.md, "Scenario c")');
  console.log(`(d) 1RTT, median proposals per round with batching: ${dAvgBatch} (maxBatch default); speedup = median batched / median unbatched; per run: ${dPaired.join(' ')}`);
  console.log(`(e) mode: ${eMedianRun.mode}; freed per key on dropping, median run: proposer ${eMedianRun.freedPerKey.proposer} (its bounded cache: ${formatRate(eMedianRun.proposerFreedBytes)} bytes in all), acceptors a3 ${eMedianRun.freedPerKey.a3}, a2 ${eMedianRun.freedPerKey.a2}, a1 ${eMedianRun.freedPerKey.a1} (a1, dropped last, also frees the shared key strings and ballots)`);
  console.log(`(f) ${options.fCount} sequential proposals per run and mode on one key, each timed alone; medians over runs of each run's percentile; timer cost p50 ${f.timer_overhead_p50_us} µs (included)`);
  console.log(`(h) overhead = time per proposal with the logger / without - 1 (best of ${H_SLICES} x ${options.hMs} ms slices per process, one process per configuration), scenario a 1RTT, median of ${hAll.length} paired rounds (${options.hRounds} per run x ${options.runs} runs)`);
  console.log(`limit.mjs medians: sync a ${formatRate(limit.sync.a_ops_per_s)} b ${formatRate(limit.sync.b_ops_per_s)} | asyncAll a ${formatRate(limit.asyncAll.a_ops_per_s)} b ${formatRate(limit.asyncAll.b_ops_per_s)} | asyncQuorum a ${formatRate(q.a_ops_per_s)} b ${formatRate(q.b_ops_per_s)}`);
  console.log('cpu = median share of a core our process got while measuring (neighbours on a shared machine lower it; GC threads can raise it above 1)');
  console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s\n`);

  console.log(
    JSON.stringify({
      node: process.version,
      runs: options.runs,
      ms_per_measurement: ms,
      quick: options.quick,
      options,
      build: { built: build.built, chunks: build.files },
      limit,
      ratios,
      limit_per_cpu: limitPerCpuMedian,
      ratios_per_cpu: ratiosPerCpu,
      c_error_rate: round(cErrorRate, 6),
      d_batching_speedup: dSpeedup,
      e_bytes_per_key: e,
      f_p99_us_1rtt: f.rtt1.p99_us,
      h_logger_overhead: h,
      h_logger_overhead_proposer_only: hProposerOnly,
      targets: verdicts,
      a_2rtt_ops_per_s: ops.a_2rtt,
      a_1rtt_ops_per_s: ops.a_1rtt,
      b_2rtt_ops_per_s: ops.b_2rtt,
      b_1rtt_ops_per_s: ops.b_1rtt,
      c_ok_ops_per_s: ops.c_ok,
      c_errors_by_code: cErrorsByCode,
      c_attempts_per_proposal: cAttempts,
      c_skipped_prepare_share: median(cRuns.map((r) => r.skippedPrepareShare)),
      d_batched_ops_per_s: ops.d_batched,
      d_unbatched_ops_per_s: ops.d_unbatched,
      d_avg_batch: dAvgBatch,
      e_keys: options.eKeys,
      e_mode: eMedianRun.mode,
      f,
      g,
      samples: {
        limit: limitRuns,
        a_2rtt_ops_per_s: of('a_2rtt', 'opsPerS'),
        a_1rtt_ops_per_s: of('a_1rtt', 'opsPerS'),
        b_2rtt_ops_per_s: of('b_2rtt', 'opsPerS'),
        b_1rtt_ops_per_s: of('b_1rtt', 'opsPerS'),
        c_ok_ops_per_s: of('c', 'okOpsPerS'),
        c_error_rate: cRuns.map((r) => round(r.errorRate, 6)),
        d_batched_ops_per_s: of('d_batched', 'opsPerS'),
        d_unbatched_ops_per_s: of('d_unbatched', 'opsPerS'),
        d_paired_speedup: dPaired,
        e_bytes_per_key: eRuns.map((r) => r.bytesPerKey),
        h_overhead: hAll,
        h_overhead_proposer_only: hProposer,
        paired_ratios: pairedRatios,
        paired_ratios_per_cpu: pairedRatiosPerCpu,
        limit_per_cpu: limitCpu,
        runs,
        e: eRuns,
      },
    }),
  );
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
