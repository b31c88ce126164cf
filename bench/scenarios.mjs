// The caspaxos side of the benchmark: one child process per run, so every run starts cold like
// limit.mjs does. Usable on its own, e.g. under a profiler:
//   node bench/scenarios.mjs abc <ms> [seed]           scenarios a, b, c (or any subset: a, bc ...)
//   node --expose-gc bench/scenarios.mjs d <keys>       scenario d (heap bytes per key)
//   node --cpu-prof bench/scenarios.mjs c 3000          CPU profile of scenario c
// The last line of output is one JSON object. Every scenario reads its data back and throws on a
// mismatch, so a broken build fails instead of reporting fast nonsense.
import { MemoryAcceptor, MemoryProposer, timerSleep } from '../dist/index.js';

// 16 bytes, the same characters limit.mjs writes (there as a string, here as bytes).
const VALUE = new TextEncoder().encode('0123456789abcdef');
const write = () => VALUE;
const WARMUP_OPS = 20000; // as limit.mjs
const BATCH = 1024; // as limit.mjs
const B_KEYS = Array.from({ length: 10000 }, (_, i) => `key-${String(i).padStart(5, '0')}`); // as limit.mjs
const C_KEYS = B_KEYS.slice(0, 1000);
const C_PROPOSERS = 3;
const C_WORKERS_PER_PROPOSER = 16;
// Scenario c workers wait for the next turn of the event loop (one shared setImmediate) before
// every Nth proposal: each turn, every free worker starts a proposal and all of them interleave at
// every await, like a burst of requests arriving in one I/O poll; between turns the event loop
// runs, so the retry policy's backoff timers fire. With 0 the workers never yield: in-memory
// acceptors answer through microtasks only, the microtask queue never drains while any worker runs,
// and a retry sleeping on a timer (holding its key's FIFO slot in its proposer) does not wake until
// the measurement ends. That setting is a diagnostic: proposers stall one by one (see README.md).
const C_YIELD_EVERY = Number(process.env.BENCH_C_YIELD_EVERY ?? 1);

function fail(message) {
  throw new Error(`bench check failed: ${message}`);
}

function sameBytes(a, b) {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function cluster(proposerIds = ['p1'], options = {}) {
  const acceptors = ['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address));
  const proposers = proposerIds.map((id) => new MemoryProposer(id, acceptors, options));
  return { acceptors, proposers };
}

/**
 * CPU time this process got (user + system) per wall-clock time since `since`: about 1 when it had
 * a core to itself, lower when neighbours on a shared machine took turns (then the run is slower).
 */
function cpuShare(since, wallMs) {
  const { user, system } = process.cpuUsage(since);
  return Math.round(((user + system) / 1000 / wallMs) * 100) / 100;
}

/** limit.mjs's measureAsync: 20000 warm-up calls, then batches of 1024 until `ms` elapsed. */
async function measureAsync(ms, op) {
  for (let i = 0; i < WARMUP_OPS; i++) await op(i);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  for (;;) {
    for (let j = 0; j < BATCH; j++) await op(n++);
    const elapsed = performance.now() - t0;
    if (elapsed >= ms) return { opsPerS: Math.round(n / (elapsed / 1000)), ops: n, ms: Math.round(elapsed), cpuShare: cpuShare(cpu, elapsed) };
  }
}

/** Reads `key` back and checks the bytes and that a majority of the acceptors hold them. */
async function checkValue(proposer, acceptors, key) {
  const { state, ballot } = await proposer.identityRead(key);
  if (!sameBytes(state, VALUE)) fail(`read back ${state} for ${key}, expected ${VALUE}`);
  const holding = acceptors.filter((a) => {
    const r = a.inspect(key);
    return r !== undefined && r.accepted.counter === ballot.counter && r.accepted.id === ballot.id && sameBytes(r.state, VALUE);
  }).length;
  if (holding < 2) fail(`only ${holding} of 3 acceptors hold ${key} at ballot ${ballot.counter}/${ballot.id}`);
}

/** One proposer and no contention: every proposal must have used exactly one ballot. */
function checkBallots(proposer, proposals, scenario) {
  const { counter } = proposer.inspect();
  if (counter !== proposals) fail(`scenario ${scenario}: ${proposals} proposals used ${counter} ballots, expected one each`);
}

// (a) Sequential proposals on one key.
async function scenarioA(ms) {
  const { acceptors, proposers: [p] } = cluster();
  const m = await measureAsync(ms, () => p.propose('k', write));
  await checkValue(p, acceptors, 'k');
  checkBallots(p, WARMUP_OPS + m.ops + 1, 'a');
  return m;
}

// (b) Sequential proposals round-robin over 10,000 pre-written keys.
async function scenarioB(ms) {
  const { acceptors, proposers: [p] } = cluster();
  for (const key of B_KEYS) await p.propose(key, write);
  const m = await measureAsync(ms, (i) => p.propose(B_KEYS[i % B_KEYS.length], write));
  for (const key of [B_KEYS[0], B_KEYS[4321], B_KEYS[B_KEYS.length - 1]]) await checkValue(p, acceptors, key);
  for (const a of acceptors) if (a.size !== B_KEYS.length) fail(`scenario b: acceptor ${a.address} holds ${a.size} keys`);
  checkBallots(p, B_KEYS.length + WARMUP_OPS + m.ops + 3, 'b');
  return m;
}

/** Deterministic PRNG (mulberry32), so a run's key sequence depends only on its seed. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Scenario c values: 16 bytes = magic, writer, sequence number, key index. The read-back check
// decodes them to make sure every final state is a value some writer actually proposed.
const MAGIC = 0xca5ba705;
const OP_OK = 1;
const OP_UNKNOWN = 2; // another retryable error (ERR_ACCEPT_FAILED): may or may not have taken effect
const OP_NO_EFFECT = 3; // ERR_PREPARE_FAILED: must never be visible

function cValue(writer, seq, keyIndex) {
  // Plain byte stores: a DataView would make V8 materialize the array's buffer on every call.
  const bytes = new Uint8Array(16);
  putUint32(bytes, 0, MAGIC);
  putUint32(bytes, 4, writer);
  putUint32(bytes, 8, seq);
  putUint32(bytes, 12, keyIndex);
  return bytes;
}

function putUint32(bytes, offset, value) {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = value >>> 16;
  bytes[offset + 2] = value >>> 8;
  bytes[offset + 3] = value;
}

function getUint32(bytes, offset) {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
}

// (c) 3 proposers x 16 workers each (48 workers) over 1,000 keys, all on the one event loop.
// Each worker loops: pick a random key, propose a fresh 16-byte value through its proposer.
// Only operations that complete inside the measurement window (after a warm-up) are counted.
async function scenarioC(ms, seed, yieldEvery = C_YIELD_EVERY) {
  let sleeps = 0;
  let sleptMs = 0;
  // The default sleep, counted: how often a proposal waited on a timer (retry backoff, or a bounded
  // wait for straggling replies; in-memory acceptors answer those at once, cancelling the timer).
  const sleep = (delay, signal) => {
    sleeps++;
    sleptMs += delay;
    return timerSleep(delay, signal);
  };
  // Attempts per proposal, a measure of contention: every attempt sends one prepare per acceptor.
  let prepares = 0;
  class CountingAcceptor extends MemoryAcceptor {
    prepare(...args) {
      prepares++;
      return super.prepare(...args);
    }
  }
  const acceptors = ['a1', 'a2', 'a3'].map((address) => new CountingAcceptor(address));
  const proposers = Array.from({ length: C_PROPOSERS }, (_, i) => new MemoryProposer(`p${i + 1}`, acceptors, { sleep }));
  const random = mulberry32(seed);
  const warmupMs = Math.min(500, ms / 2);
  const start = performance.now();
  const t0 = start + warmupMs;
  const t1 = t0 + ms;
  let ok = 0;
  let errors = 0;
  let totalOps = 0;
  let cpu;
  const errorsByCode = {};
  const okByProposer = new Array(C_PROPOSERS).fill(0);
  const ops = []; // per writer: the outcome of each of its proposals
  const ackedByKey = new Uint8Array(C_KEYS.length);

  let turn;
  const nextTurn = () =>
    (turn ??= new Promise((resolve) =>
      setImmediate(() => {
        turn = undefined;
        resolve();
      }),
    ));

  async function worker(writer, proposerIndex) {
    const proposer = proposers[proposerIndex];
    const outcome = [];
    ops[writer] = outcome;
    for (let seq = 0; ; seq++) {
      if (yieldEvery > 0 && seq % yieldEvery === 0) await nextTurn();
      const keyIndex = Math.floor(random() * C_KEYS.length);
      const value = cValue(writer, seq, keyIndex);
      let code;
      try {
        await proposer.propose(C_KEYS[keyIndex], () => value);
        outcome.push(OP_OK);
        ackedByKey[keyIndex] = 1;
      } catch (error) {
        // Retryable errors are the expected price of contention; anything else (a TypeError, an
        // invalid argument, an age error) means the build is broken: fail the run.
        if (error?.retryable !== true || typeof error.code !== 'string') throw error;
        code = error.code;
        outcome.push(code === 'ERR_PREPARE_FAILED' ? OP_NO_EFFECT : OP_UNKNOWN);
      }
      totalOps++;
      const done = performance.now();
      if (done >= t1) return;
      if (done >= t0) {
        cpu ??= process.cpuUsage();
        if (code === undefined) {
          ok++;
          okByProposer[proposerIndex]++;
        } else {
          errors++;
          errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
        }
      }
    }
  }

  const workers = [];
  for (let p = 0; p < C_PROPOSERS; p++) {
    for (let w = 0; w < C_WORKERS_PER_PROPOSER; w++) workers.push(worker(p * C_WORKERS_PER_PROPOSER + w, p));
  }
  await Promise.all(workers);
  const windowMs = ms; // counted operations all completed in [t0, t1)
  const share = cpu === undefined ? 0 : cpuShare(cpu, ms);
  const attemptsPerProposal = prepares / acceptors.length / totalOps; // warm-up included, read-back not

  // Read every key back: each final state must be a value written to that key by a proposal that
  // did not fail in its prepare phase, and a key with an acknowledged write must not be empty.
  let empty = 0;
  for (let k = 0; k < C_KEYS.length; k++) {
    const { state } = await proposers[k % C_PROPOSERS].identityRead(C_KEYS[k]);
    if (state === null) {
      if (ackedByKey[k]) fail(`scenario c: ${C_KEYS[k]} is empty after an acknowledged write`);
      empty++;
      continue;
    }
    if (state.length !== 16) fail(`scenario c: ${C_KEYS[k]} holds ${state.length} bytes`);
    const [magic, writer, seq, keyIndex] = [0, 4, 8, 12].map((offset) => getUint32(state, offset));
    const outcome = ops[writer]?.[seq];
    if (magic !== MAGIC || keyIndex !== k || outcome === undefined) fail(`scenario c: ${C_KEYS[k]} holds a value nobody wrote to it`);
    if (outcome === OP_NO_EFFECT) fail(`scenario c: ${C_KEYS[k]} holds the value of a proposal that failed its prepare phase`);
  }
  if (ok === 0) fail('scenario c: no proposal succeeded');

  return {
    okOpsPerS: Math.round(ok / (windowMs / 1000)),
    ok,
    errors,
    errorRate: errors / (ok + errors),
    errorsByCode,
    okByProposer,
    yieldEvery,
    windowMs,
    cpuShare: share,
    totalOps,
    attemptsPerProposal: Math.round(attemptsPerProposal * 1e4) / 1e4,
    timerSleeps: sleeps,
    timerSleepRequestedMs: Math.round(sleptMs),
    emptyKeys: empty,
  };
}

function heap(collections = 2) {
  for (let i = 0; i < collections; i++) gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, external: m.external, rss: m.rss };
}

// (d) Heap bytes per key: `keys` keys with 16-byte values written through one proposer into three
// acceptors. Counts everything the writes leave reachable: the three acceptors' maps, records and
// state copies, the ballot objects, the key strings (allocated here, then held only by the maps
// and shared by all three), and whatever the proposer keeps. Afterwards it drops the proposer, then
// the acceptors one by one, and reports how much each drop freed.
async function scenarioD(keys) {
  if (typeof gc !== 'function') fail('scenario d needs `node --expose-gc`');
  {
    // Warm up (JIT code, inline caches) on a throw-away cluster, so the delta below is data only.
    const { proposers: [p] } = cluster();
    for (let i = 0; i < WARMUP_OPS; i++) await p.propose(`warm-${i}`, write);
  }
  const held = cluster();
  const before = heap();
  const t0 = performance.now();
  for (let i = 0; i < keys; i++) await held.proposers[0].propose(`key-${String(i).padStart(7, '0')}`, write);
  const writeMs = performance.now() - t0;
  const after = heap();

  await checkD(held, keys); // after the measurement, so it cannot affect it

  // Drop the proposer, then the acceptors one by one. (Nothing in this async function's frame may
  // still point at an acceptor here: a for-of variable would keep the last one alive.)
  const perKey = (bytes) => Math.round((bytes / keys) * 10) / 10;
  const freed = {};
  let now = heap(1);
  held.proposers.length = 0;
  for (const name of ['proposer', 'a3', 'a2', 'a1']) {
    if (name !== 'proposer') held.acceptors.length -= 1;
    const last = now;
    now = heap(1);
    freed[name] = perKey(last.heapUsed - now.heapUsed);
  }
  return {
    keys,
    bytesPerKey: perKey(after.heapUsed - before.heapUsed),
    arrayBufferBytesPerKey: perKey(after.arrayBuffers - before.arrayBuffers),
    externalBytesPerKey: perKey(after.external - before.external),
    rssBytesPerKey: perKey(after.rss - before.rss),
    freedPerKey: freed,
    writeOpsPerS: Math.round(keys / (writeMs / 1000)),
  };
}

async function checkD({ proposers: [p], acceptors }, keys) {
  for (const a of acceptors) if (a.size !== keys) fail(`scenario d: acceptor ${a.address} holds ${a.size} keys, expected ${keys}`);
  for (const i of [0, keys >> 1, keys - 1]) await checkValue(p, acceptors, `key-${String(i).padStart(7, '0')}`);
}

async function main() {
  const [what, arg, seedArg] = process.argv.slice(2);
  const result = { node: process.version };
  if (/^[abc]+$/.test(what ?? '')) {
    const ms = Number(arg ?? 1500);
    const seed = Number(seedArg ?? 1);
    if (!(ms > 0) || !Number.isInteger(seed)) throw new Error('usage: scenarios.mjs abc <ms> [seed]');
    result.msPerMeasurement = ms;
    const line = [];
    if (what.includes('a')) {
      result.a = await scenarioA(ms);
      line.push(`(a) one key ${result.a.opsPerS} ops/s`);
    }
    if (what.includes('b')) {
      result.b = await scenarioB(ms);
      line.push(`(b) 10k keys ${result.b.opsPerS} ops/s`);
    }
    if (what.includes('c')) {
      result.c = await scenarioC(ms, seed);
      line.push(`(c) ok ${result.c.okOpsPerS} ops/s, error rate ${result.c.errorRate.toFixed(4)}`);
    }
    console.log(line.join('   '));
  } else if (what === 'd') {
    const keys = Number(arg ?? 1e6);
    if (!Number.isSafeInteger(keys) || keys < 1) throw new Error('usage: node --expose-gc scenarios.mjs d <keys>');
    result.d = await scenarioD(keys);
    console.log(`(d) ${result.d.bytesPerKey} heap bytes per key over ${keys} keys`);
  } else {
    throw new Error('usage: scenarios.mjs abc <ms> [seed] | --expose-gc scenarios.mjs d <keys>');
  }
  console.log(JSON.stringify(result));
}

await main();
