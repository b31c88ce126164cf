/**
 * Benchmark of the WGL linearizability checker: a 10,000-operation history over 100 keys with 8
 * clients (reads 50 %, writes 25 %, cas 25 %; 1 % unknown outcomes, half of which take effect late;
 * 1 % failed), generated from a linearizable execution of a cas register with a seeded PRNG.
 *
 *   npx tsx bench/wgl.ts [--ops 10000] [--keys 100] [--clients 8] [--seed 1] [--runs 5]
 *
 * Prints one JSON line: the first (cold) check's time, then the median and each of `runs` more
 * checks of the same history, in milliseconds; search steps and the verdict.
 */
import { checkLinearizability } from '../src/check/linearizability.js';
import { casRegisterModel } from '../src/check/models.js';
import { historyFromPlans, randomPlans } from '../test/check/histories.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i >= 0 ? process.argv[i + 1] : undefined;
  return raw === undefined ? fallback : Number(raw);
}

const operations = flag('ops', 10_000);
const keys = flag('keys', 100);
const clients = flag('clients', 8);
const seed = flag('seed', 1);
const runs = flag('runs', 5);

const generateStart = performance.now();
const history = historyFromPlans(randomPlans(seed, { operations, keys, clients, unknownRate: 0.01, failRate: 0.01 }));
const generateMs = performance.now() - generateStart;

const coldStart = performance.now();
let result = checkLinearizability(history, casRegisterModel);
const coldMs = performance.now() - coldStart;
const times: number[] = [];
for (let run = 0; run < runs; run++) {
  const start = performance.now();
  result = checkLinearizability(history, casRegisterModel);
  times.push(performance.now() - start);
}
const sorted = [...times].sort((a, b) => a - b);
let steps = 0;
for (const v of result.perKey.values()) steps += v.steps;
const round = (x: number): number => Math.round(x * 10) / 10;

console.log(
  JSON.stringify({
    bench: 'wgl',
    node: process.version,
    operations,
    keys,
    clients,
    seed,
    unknown: history.filter((op) => op.unknown === true).length,
    failed: history.filter((op) => op.fail === true).length,
    ok: result.ok,
    steps,
    generate_ms: round(generateMs),
    cold_ms: round(coldMs),
    median_ms: round(sorted[Math.floor(sorted.length / 2)] ?? NaN),
    runs_ms: times.map(round),
  }),
);
