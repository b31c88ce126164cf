// Benchmark suite entry: `npm run bench` (builds first) or `node bench/run.mjs [options]`.
// Runs limit.mjs (the physical-limit reference) and the caspaxos scenarios side by side, run after
// run, each in its own child process, and reports medians and ratios. See bench/README.md.
//
// Options (each also settable by environment variable):
//   --runs N      runs per figure, the reported figure is the median      BENCH_RUNS    (5; quick 3)
//   --ms N        milliseconds per measurement, ours and limit.mjs's      BENCH_MS      (1000; quick 200)
//   --d-keys N    keys written in scenario d                              BENCH_D_KEYS  (1000000; quick 100000)
//   --quick       short measurements for smoke checks
// Output: a table, then as the last line one JSON object.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const D_PARALLEL = Math.max(1, Math.min(2, availableParallelism()));

function parseOptions(argv, env) {
  const quick = argv.includes('--quick') || env.BENCH_QUICK === '1';
  const options = {
    quick,
    runs: quick ? 3 : 5,
    ms: quick ? 200 : 1000,
    dKeys: quick ? 100_000 : 1_000_000,
  };
  const fromEnv = { runs: env.BENCH_RUNS, ms: env.BENCH_MS, dKeys: env.BENCH_D_KEYS };
  for (const [name, value] of Object.entries(fromEnv)) if (value !== undefined && value !== '') options[name] = Number(value);
  const flags = { '--runs': 'runs', '--ms': 'ms', '--d-keys': 'dKeys' };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    if (flag === '--quick') continue;
    if (flag === '--help' || flag === '-h') {
      console.log('usage: node bench/run.mjs [--quick] [--runs N] [--ms N] [--d-keys N]   (see bench/README.md)');
      process.exit(0);
    }
    const name = flags[flag];
    if (name === undefined) throw new Error(`unknown option ${argv[i]} (try --help)`);
    options[name] = Number(inline ?? argv[++i]);
  }
  for (const name of ['runs', 'ms', 'dKeys']) {
    if (!Number.isSafeInteger(options[name]) || options[name] < 1) throw new Error(`${name} must be a positive integer, got ${options[name]}`);
  }
  return options;
}

/** Runs `node [...nodeArgs] script ...args`, returns its last output line parsed as JSON. */
function runNode(nodeArgs, script, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, join(BENCH, script), ...args.map(String)], {
      cwd: ROOT,
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
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`${command}: last line is not JSON: ${last}`));
      }
    });
  });
}

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
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

function formatRate(x) {
  return Math.round(x).toLocaleString('en-US');
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows
    .map((r, i) => {
      const line = r.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  ');
      return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

async function main() {
  const options = parseOptions(process.argv.slice(2), process.env);
  checkBuild();
  const started = performance.now();
  const limitRuns = [];
  const ourRuns = [];
  const dRuns = [];
  const log = (message) => console.error(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}`);
  log(`${options.runs} run(s), ${options.ms} ms per measurement, ${options.dKeys} keys in scenario d${options.quick ? ' (quick)' : ''}`);

  // Scenarios a-c and limit.mjs alternate, run by run, and swap order every run, so both sides
  // see the same machine (noise, thermal state, neighbours) and neither always goes first.
  for (let run = 0; run < options.runs; run++) {
    const limit = () => runNode([], 'limit.mjs', [options.ms]).then((r) => limitRuns.push(r));
    const ours = () => runNode([], 'scenarios.mjs', ['abc', options.ms, run + 1]).then((r) => ourRuns.push(r));
    for (const step of run % 2 === 0 ? [limit, ours] : [ours, limit]) await step();
    const o = ourRuns[run];
    const l = limitRuns[run].asyncQuorum;
    log(`run ${run + 1}: a ${formatRate(o.a.opsPerS)} (limit ${formatRate(l.a_ops_per_s)})  b ${formatRate(o.b.opsPerS)} (limit ${formatRate(l.b_ops_per_s)})  c ok ${formatRate(o.c.okOpsPerS)}, errors ${round(o.c.errorRate * 100, 2)}%`);
  }
  // Scenario d measures memory, not time, so its runs may share the cores: two at a time.
  let nextD = 0;
  const dWorker = async () => {
    while (nextD < options.runs) {
      const run = nextD++;
      dRuns[run] = (await runNode(['--expose-gc'], 'scenarios.mjs', ['d', options.dKeys])).d;
      log(`d run ${run + 1}: ${dRuns[run].bytesPerKey} heap bytes per key`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(D_PARALLEL, options.runs) }, dWorker));

  const limit = medianShape(limitRuns);
  const q = limit.asyncQuorum;
  const a = median(ourRuns.map((r) => r.a.opsPerS));
  const b = median(ourRuns.map((r) => r.b.opsPerS));
  const cOk = median(ourRuns.map((r) => r.c.okOpsPerS));
  const cErrorRate = median(ourRuns.map((r) => r.c.errorRate));
  const codes = [...new Set(ourRuns.flatMap((r) => Object.keys(r.c.errorsByCode)))].sort();
  const cErrorsByCode = Object.fromEntries(codes.map((code) => [code, median(ourRuns.map((r) => r.c.errorsByCode[code] ?? 0))]));
  const d = round(median(dRuns.map((r) => r.bytesPerKey)), 1);
  const ratios = { a: round(a / q.a_ops_per_s), b: round(b / q.b_ops_per_s), c_ok: round(cOk / q.b_ops_per_s) };
  // The same ratios taken within each run (ours / limit.mjs of that run): a drift check.
  const pairedRatios = {
    a: ourRuns.map((r, i) => round(r.a.opsPerS / limitRuns[i].asyncQuorum.a_ops_per_s)),
    b: ourRuns.map((r, i) => round(r.b.opsPerS / limitRuns[i].asyncQuorum.b_ops_per_s)),
    c_ok: ourRuns.map((r, i) => round(r.c.okOpsPerS / limitRuns[i].asyncQuorum.b_ops_per_s)),
  };
  const cpu = (scenario) => median(ourRuns.map((r) => r[scenario].cpuShare)).toFixed(2);
  const span = (values, f = formatRate) => `${f(Math.min(...values))} .. ${f(Math.max(...values))}`;
  const dMedianRun = dRuns.reduce((best, r) => (Math.abs(r.bytesPerKey - d) < Math.abs(best.bytesPerKey - d) ? r : best));

  const rows = [
    ['scenario', 'median', `min .. max of ${options.runs}`, 'cpu', 'limit asyncQuorum', 'ratio'],
    ['(a) 1 key, sequential, ops/s', formatRate(a), span(ourRuns.map((r) => r.a.opsPerS)), cpu('a'), `${formatRate(q.a_ops_per_s)} (a)`, ratios.a.toFixed(3)],
    ['(b) 10k keys round-robin, ops/s', formatRate(b), span(ourRuns.map((r) => r.b.opsPerS)), cpu('b'), `${formatRate(q.b_ops_per_s)} (b)`, ratios.b.toFixed(3)],
    ['(c) 3x16 workers, 1k keys, ok ops/s', formatRate(cOk), span(ourRuns.map((r) => r.c.okOpsPerS)), cpu('c'), `${formatRate(q.b_ops_per_s)} (b)`, ratios.c_ok.toFixed(3)],
    ['(c) error rate', `${round(cErrorRate * 100, 3)}%`, span(ourRuns.map((r) => r.c.errorRate * 100), (x) => `${round(x, 3)}%`), '', '', ''],
    [`(d) heap bytes/key, ${options.dKeys} keys`, String(d), span(dRuns.map((r) => r.bytesPerKey), String), '', '', ''],
  ];
  console.log(`caspaxos benchmark, node ${process.version}, ${options.runs} run(s) x ${options.ms} ms${options.quick ? ' (quick)' : ''}\n`);
  console.log(table(rows));
  const cRuns = ourRuns.map((r) => r.c);
  const share = (r) => Math.min(...r.okByProposer) / Math.max(1, Math.max(...r.okByProposer));
  console.log(`\n(c) errors per ${options.ms} ms window, median by code: ${codes.length === 0 ? 'none' : codes.map((c) => `${c} ${cErrorsByCode[c]}`).join(', ')}`);
  console.log(`(c) contention, median: ${median(cRuns.map((r) => r.attemptsPerProposal))} attempts per proposal, ${median(cRuns.map((r) => r.timerSleeps))} timer waits (retry backoff, straggler waits); slowest/fastest proposer's ok ops ${round(median(cRuns.map(share)), 2)}`);
  if (cRuns.some((r) => r.okByProposer.includes(0))) console.log('(c) WARNING: a proposer completed nothing in some run: it stalled (see README.md, "Scenario c")');
  console.log(`(d) freed per key on dropping, median run: proposer ${dMedianRun.freedPerKey.proposer}, acceptors a3 ${dMedianRun.freedPerKey.a3}, a2 ${dMedianRun.freedPerKey.a2}, a1 ${dMedianRun.freedPerKey.a1} (a1, dropped last, also frees the shared key strings and ballots)`);
  console.log(`limit.mjs medians: sync a ${formatRate(limit.sync.a_ops_per_s)} b ${formatRate(limit.sync.b_ops_per_s)} | asyncAll a ${formatRate(limit.asyncAll.a_ops_per_s)} b ${formatRate(limit.asyncAll.b_ops_per_s)} | asyncQuorum a ${formatRate(q.a_ops_per_s)} b ${formatRate(q.b_ops_per_s)}`);
  console.log('cpu = median share of a core our process got while measuring (neighbours on a shared machine lower it)');
  console.log(`ratio = our median / limit.mjs asyncQuorum median; per-run ratios: a ${pairedRatios.a.join(' ')} | b ${pairedRatios.b.join(' ')} | c ${pairedRatios.c_ok.join(' ')}`);
  console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s\n`);

  console.log(
    JSON.stringify({
      node: process.version,
      runs: options.runs,
      ms_per_measurement: options.ms,
      quick: options.quick,
      limit,
      a_ops_per_s: a,
      b_ops_per_s: b,
      c_ok_ops_per_s: cOk,
      c_error_rate: round(cErrorRate, 6),
      c_errors_by_code: cErrorsByCode,
      c_attempts_per_proposal: median(ourRuns.map((r) => r.c.attemptsPerProposal)),
      d_bytes_per_key: d,
      d_keys: options.dKeys,
      ratios,
      samples: {
        limit: limitRuns,
        a_ops_per_s: ourRuns.map((r) => r.a.opsPerS),
        b_ops_per_s: ourRuns.map((r) => r.b.opsPerS),
        c_ok_ops_per_s: ourRuns.map((r) => r.c.okOpsPerS),
        c_error_rate: ourRuns.map((r) => round(r.c.errorRate, 6)),
        d_bytes_per_key: dRuns.map((r) => r.bytesPerKey),
        a: ourRuns.map((r) => r.a),
        b: ourRuns.map((r) => r.b),
        c: ourRuns.map((r) => r.c),
        d: dRuns,
        paired_ratios: pairedRatios,
      },
    }),
  );
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
