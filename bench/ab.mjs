// Two builds in one process, measured in alternating windows: for a before/after comparison on a
// shared machine, where separate processes (bench/run.mjs, scenarios.mjs) swing by more than a
// change of a few percent. Neighbours and CPU frequency drift slowly, so windows of 100 ms taken
// in turn see nearly the same machine; the per-window ratio's median is the figure.
//   node bench/ab.mjs OLD_DIST NEW_DIST [a|b] [1|2] [windows] [windowMs]
//   e.g. cp -r dist /tmp/old; (change, build); node bench/ab.mjs /tmp/old dist a 1 40 100
// Scenario a: one key, sequential; b: 10,000 keys round-robin (each written first); 1 or 2
// round trips; 30,000 warm-up proposals per build. The order of the two builds alternates by
// window; run it in both argument orders too, since the build loaded second can differ (JIT). The
// last line is JSON: ops per CPU second (medians) and the median, first and third quartile of
// the per-window ratio NEW / OLD.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [oldDist, newDist, scenario = 'a', rtt = '1', windows = '40', windowMs = '100'] = process.argv.slice(2);
if (oldDist === undefined || newDist === undefined || !['a', 'b'].includes(scenario) || !['1', '2'].includes(rtt)) {
  console.error('usage: node bench/ab.mjs OLD_DIST NEW_DIST [a|b] [1|2] [windows] [windowMs]');
  process.exit(2);
}
const VALUE = new TextEncoder().encode('0123456789abcdef'); // as scenarios.mjs
const write = () => VALUE;
const KEYS = Array.from({ length: 10000 }, (_, i) => `key-${String(i).padStart(5, '0')}`);

async function setup(dist) {
  const { MemoryAcceptor, MemoryProposer } = await import(pathToFileURL(resolve(dist, 'index.js')).href);
  const acceptors = [1, 2, 3].map((i) => new MemoryAcceptor(`a${i}`));
  const proposer = new MemoryProposer('p1', acceptors, rtt === '2' ? { oneRoundTrip: false } : {});
  let n = 0;
  const op = scenario === 'a' ? () => proposer.propose('k', write) : () => proposer.propose(KEYS[n++ % KEYS.length], write);
  if (scenario === 'b') for (const key of KEYS) await proposer.propose(key, write);
  for (let i = 0; i < 30000; i++) await op();
  return op;
}

async function window(op, ms) {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  do {
    for (let j = 0; j < 256; j++) await op();
    n += 256;
  } while (performance.now() - t0 < ms);
  const { user, system } = process.cpuUsage(cpu);
  return n / ((user + system) / 1e6);
}

const ops = [await setup(oldDist), await setup(newDist)];
const perCpu = [[], []];
const ratios = [];
for (let w = 0; w < Number(windows); w++) {
  const rates = [0, 0];
  for (const i of w % 2 === 0 ? [0, 1] : [1, 0]) rates[i] = await window(ops[i], Number(windowMs));
  perCpu[0].push(rates[0]);
  perCpu[1].push(rates[1]);
  ratios.push(rates[1] / rates[0]);
}
const quantile = (xs, q) => [...xs].sort((x, y) => x - y)[Math.floor(q * (xs.length - 1))];
const r3 = (x) => Math.round(x * 1000) / 1000;
console.log(
  JSON.stringify({
    scenario,
    rtt: Number(rtt),
    oldOpsPerCpuS: Math.round(quantile(perCpu[0], 0.5)),
    newOpsPerCpuS: Math.round(quantile(perCpu[1], 0.5)),
    ratio: r3(quantile(ratios, 0.5)),
    q1: r3(quantile(ratios, 0.25)),
    q3: r3(quantile(ratios, 0.75)),
  }),
);
