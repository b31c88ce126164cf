// The caspaxos side of the benchmark: one child process per measurement, so every measurement
// starts cold like limit.mjs does and no scenario's JIT feedback leaks into another's. Usable on
// its own, e.g. under a profiler:
//   node bench/scenarios.mjs a --rtt 1 --ms 3000                 (a) one key, sequential, 1RTT
//   node bench/scenarios.mjs b --rtt 2 --acceptors 5 --ms 1000    (b)/(g) 10,000 keys, 2RTT, 5 acceptors
//   node bench/scenarios.mjs c --ms 1000 --seed 1 [--rtt 2]       (c) 3 proposers x 16 workers
//   node bench/scenarios.mjs d --ms 1000 [--max-batch 1]          (d) hot key, 64 callers, one proposer
//   node --expose-gc bench/scenarios.mjs e --keys 1000000 [--rtt 2]   (e) heap bytes per key
//   node bench/scenarios.mjs f --rtt 1 --count 200000             (f) latency percentiles
//   node bench/scenarios.mjs h --logger all --ms 100 --rounds 4   (h) pino logger (none|proposer|all)
//   node --cpu-prof bench/scenarios.mjs a --rtt 1 --ms 3000       CPU profile of scenario a, 1RTT
// Defaults: --rtt 1 (the library default, one round trip), --acceptors 3, --ms 1500, --seed 1.
// The last line of output is one JSON object. Every scenario reads its data back and throws on a
// mismatch, so a broken build fails instead of reporting fast nonsense.
// run.mjs passes a snapshot of dist/ taken when it started (BENCH_DIST), so a rebuild during the run
// cannot change what later measurements see; on its own this measures ../dist/ as it is.
const DIST = new URL(process.env.BENCH_DIST ?? '../dist/index.js', import.meta.url);
const { MemoryAcceptor, MemoryProposer, majority, timerSleep } = await import(DIST.href);
// The project's seeded PRNG, from the same build (caspaxos/testing), so a run's key sequence
// depends only on its seed.
const { SeededRandom } = await import(new URL('testing.js', DIST).href);

// 16 bytes, the same characters limit.mjs writes (there as a string, here as bytes).
const VALUE = new TextEncoder().encode('0123456789abcdef');
const write = () => VALUE;
const WARMUP_OPS = 20000; // as limit.mjs
const BATCH = 1024; // as limit.mjs
const B_KEYS = Array.from({ length: 10000 }, (_, i) => `key-${String(i).padStart(5, '0')}`); // as limit.mjs
const C_KEYS = B_KEYS.slice(0, 1000);
const C_PROPOSERS = 3;
const C_WORKERS_PER_PROPOSER = 16;
const D_CALLERS = 64;
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

/** Proposer options for a round-trip mode: 2 turns one round trip off, 1 is the library default. */
function rttOptions(rtt) {
  if (rtt === 2) return { oneRoundTrip: false };
  if (rtt === 1) return {};
  throw new Error(`--rtt must be 1 or 2, got ${rtt}`);
}

function cluster(size = 3, options = {}, proposerIds = ['p1'], AcceptorClass = MemoryAcceptor, acceptorOptions = {}) {
  const acceptors = Array.from({ length: size }, (_, i) => new AcceptorClass(`a${i + 1}`, acceptorOptions));
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

/** limit.mjs's measurement loop without the warm-up: batches of 1024 until `ms` elapsed. */
async function measureLoop(ms, op) {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  for (;;) {
    for (let j = 0; j < BATCH; j++) await op(n++);
    const elapsed = performance.now() - t0;
    if (elapsed >= ms) {
      const { user, system } = process.cpuUsage(cpu);
      return {
        opsPerS: Math.round(n / (elapsed / 1000)),
        ops: n,
        ms: Math.round(elapsed),
        cpuShare: cpuShare(cpu, elapsed),
        // Per second of CPU time this process got: immune to neighbours taking the core away.
        opsPerCpuS: Math.round(n / ((user + system) / 1e6)),
      };
    }
  }
}

/** limit.mjs's measureAsync: 20000 warm-up calls, then batches of 1024 until `ms` elapsed. */
async function measureAsync(ms, op) {
  for (let i = 0; i < WARMUP_OPS; i++) await op(i);
  return measureLoop(ms, op);
}

/**
 * Reads `key` back and checks the bytes and that a majority of the acceptors hold them. The read is
 * `identityRead`: with no contention the acceptors agree, so it is a read that writes nothing and
 * takes no ballot (see `checkBallots`).
 */
async function checkValue(proposer, acceptors, key) {
  const { state, ballot } = await proposer.identityRead(key);
  if (!sameBytes(state, VALUE)) fail(`read back ${state} for ${key}, expected ${VALUE}`);
  const holding = acceptors.filter((a) => {
    const r = a.inspect(key);
    return r !== undefined && r.accepted.counter === ballot.counter && r.accepted.id === ballot.id && sameBytes(r.state, VALUE);
  }).length;
  if (holding < majority(acceptors.length)) fail(`only ${holding} of ${acceptors.length} acceptors hold ${key} at ballot ${ballot.counter}/${ballot.id}`);
}

/**
 * One proposer and no contention: every proposal must have used exactly one ballot, and with one
 * round trip each key's first proposal (the only one that prepares) one more: the ballot it
 * reserved for the key's next change. So N proposals on one key use N ballots in 2RTT and N + 1 in
 * 1RTT; a 1RTT run that prepared every time would use 2N.
 */
function checkBallots(proposer, proposals, rtt, keys, scenario) {
  const { counter } = proposer.inspect();
  const expected = proposals + (rtt === 1 ? keys : 0);
  if (counter !== expected) {
    const rule = rtt === 1 ? `one each plus one reserved per key (${keys} key(s)): did every change after a key's first skip the prepare phase?` : 'one each';
    fail(`scenario ${scenario} (${rtt}RTT): ${proposals} proposals used ${counter} ballots, expected ${expected}, ${rule}`);
  }
}

// (a) Sequential proposals on one key; (g) with 5 or 7 acceptors.
async function scenarioA({ ms, rtt, acceptors: size }) {
  const { acceptors, proposers: [p] } = cluster(size, rttOptions(rtt));
  const m = await measureAsync(ms, () => p.propose('k', write));
  await checkValue(p, acceptors, 'k');
  checkBallots(p, WARMUP_OPS + m.ops, rtt, 1, 'a');
  return m;
}

// (b) Sequential proposals round-robin over 10,000 pre-written keys; (g) with 5 or 7 acceptors.
async function scenarioB({ ms, rtt, acceptors: size }) {
  const { acceptors, proposers: [p] } = cluster(size, rttOptions(rtt));
  for (const key of B_KEYS) await p.propose(key, write);
  const m = await measureAsync(ms, (i) => p.propose(B_KEYS[i % B_KEYS.length], write));
  for (const key of [B_KEYS[0], B_KEYS[4321], B_KEYS[B_KEYS.length - 1]]) await checkValue(p, acceptors, key);
  for (const a of acceptors) if (a.size !== B_KEYS.length) fail(`scenario b: acceptor ${a.address} holds ${a.size} keys`);
  // With 1RTT each key prepares once, on its first write, if the proposer's one-round-trip cache
  // holds all 10,000 keys (oneRoundTripKeys, default 10,000); a smaller cache fails this check.
  checkBallots(p, B_KEYS.length + WARMUP_OPS + m.ops, rtt, B_KEYS.length, 'b');
  return m;
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

// (c) 3 proposers x 16 workers each (48 workers) over 1,000 keys, all on the one event loop, in the
// library's default mode (one round trip). Each worker loops: pick a random key, propose a fresh
// 16-byte value through its proposer. Only operations that complete inside the measurement window
// (after a warm-up) are counted.
async function scenarioC({ ms, seed, rtt }, yieldEvery = C_YIELD_EVERY) {
  let sleeps = 0;
  let sleptMs = 0;
  // The default sleep, counted: how often a proposal waited on a timer (retry backoff, or a bounded
  // wait for straggling replies; in-memory acceptors answer those at once, cancelling the timer).
  const sleep = (delay, signal) => {
    sleeps++;
    sleptMs += delay;
    return timerSleep(delay, signal);
  };
  // Attempts, a measure of contention: each proposer counts the attempts it started and those
  // that skipped the prepare phase under a ballot promised by the previous accept (one round
  // trip); see ProposerSnapshot.
  const acceptors = [new MemoryAcceptor('a1'), new MemoryAcceptor('a2'), new MemoryAcceptor('a3')];
  const proposers = Array.from({ length: C_PROPOSERS }, (_, i) => new MemoryProposer(`p${i + 1}`, acceptors, { sleep, ...rttOptions(rtt) }));
  const random = new SeededRandom(seed).asFunction;
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
  const cpuUsed = cpu === undefined ? undefined : process.cpuUsage(cpu);
  // Warm-up included, read-back not.
  const attempts = proposers.reduce((sum, p) => sum + p.inspect().attempts, 0);
  const skippedPrepares = proposers.reduce((sum, p) => sum + p.inspect().preparesSkipped, 0);

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

  const r4 = (x) => Math.round(x * 1e4) / 1e4;
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
    // Per second of CPU time this process got in the window: immune to neighbours taking the core.
    okOpsPerCpuS: cpuUsed === undefined ? 0 : Math.round(ok / ((cpuUsed.user + cpuUsed.system) / 1e6)),
    totalOps,
    attemptsPerProposal: r4(attempts / totalOps),
    // Share of attempts that skipped the prepare phase (one round trip) despite the contention.
    skippedPrepareShare: r4(skippedPrepares / Math.max(1, attempts)),
    timerSleeps: sleeps,
    timerSleepRequestedMs: Math.round(sleptMs),
    emptyKeys: empty,
  };
}

// (d) One hot key, 64 concurrent callers on one proposer (library default mode, one round trip),
// with the proposer's batching (default maxBatch) or without (maxBatch 1). Each caller loops:
// `await propose(key, increment)`. The change increments a counter held in the 16-byte state, so
// the read-back proves every acknowledged change was applied exactly once, and each caller checks
// that the states it gets back increase. There is no contention (one proposer), hence no retries
// and no timers: the callers never need to leave the microtask queue, and the clock is read once
// per 64 completed proposals.
async function scenarioD({ ms, maxBatch }) {
  const { acceptors, proposers: [p] } = cluster(3, maxBatch === undefined ? {} : { maxBatch });
  const key = 'hot';
  const increment = (state) => {
    const next = new Uint8Array(16);
    putUint32(next, 0, state === null ? 1 : getUint32(state, 0) + 1);
    putUint32(next, 4, MAGIC);
    return next;
  };
  let completed = 0;
  let stop = false;
  let phase = 'warm-up';
  let t0 = 0;
  let startCount = 0;
  let measured;
  let cpu;
  let counter0 = 0;
  const started = performance.now();
  // Called every 64 completions: ends the warm-up (20,000 proposals), then the measurement (ms).
  const tick = () => {
    const now = performance.now();
    if (phase === 'warm-up' && completed >= WARMUP_OPS) {
      phase = 'measure';
      t0 = now;
      startCount = completed;
      counter0 = p.inspect().counter;
      cpu = process.cpuUsage();
    } else if (phase === 'measure' && now - t0 >= ms) {
      const elapsed = now - t0;
      const ops = completed - startCount;
      const rounds = p.inspect().counter - counter0; // one ballot per round in 1RTT
      measured = { opsPerS: Math.round(ops / (elapsed / 1000)), ops, ms: Math.round(elapsed), rounds, cpuShare: cpuShare(cpu, elapsed) };
      phase = 'done';
      stop = true;
    } else if (now - started > 60000 + ms) {
      fail('scenario d: no progress');
    }
  };
  const caller = async () => {
    let last = 0;
    while (!stop) {
      const { state } = await p.propose(key, increment);
      const count = getUint32(state, 0);
      if (count <= last) fail(`scenario d: a caller got state ${count} after ${last}`);
      last = count;
      if ((++completed & 63) === 0) tick();
    }
  };
  await Promise.all(Array.from({ length: D_CALLERS }, caller));
  const { state } = await p.identityRead(key);
  if (state === null || getUint32(state, 0) !== completed || getUint32(state, 4) !== MAGIC) {
    fail(`scenario d: read back ${state === null ? 'nothing' : getUint32(state, 0)} after ${completed} acknowledged increments`);
  }
  for (const a of acceptors) {
    const r = a.inspect(key);
    if (r !== undefined && r.state !== null && getUint32(r.state, 0) > completed) fail(`scenario d: acceptor ${a.address} holds a count above ${completed}`);
  }
  const avgBatch = measured.ops / Math.max(1, measured.rounds);
  if (maxBatch === 1 && measured.rounds !== measured.ops) fail(`scenario d: maxBatch 1, yet ${measured.ops} proposals ran in ${measured.rounds} rounds`);
  if (maxBatch !== undefined && avgBatch > maxBatch + 1e-9) fail(`scenario d: average batch ${avgBatch} above maxBatch ${maxBatch}`);
  return { ...measured, callers: D_CALLERS, maxBatch: maxBatch ?? 'default', avgBatch: Math.round(avgBatch * 100) / 100, totalOps: completed };
}

function heap(collections = 2) {
  for (let i = 0; i < collections; i++) gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, external: m.external, rss: m.rss };
}

// (e) Heap bytes per key: `keys` keys with 16-byte values written once each through one proposer
// into three acceptors, in the given mode (default 1RTT, the library default: then every acceptor
// also holds the promise of the key's next ballot, and the proposer's one-round-trip cache holds
// the last `oneRoundTripKeys` (10,000 by default) keys: bounded, not per key). Counts everything
// the writes leave reachable: the three acceptors' maps, records and state copies, the ballot
// objects, the key strings (allocated here, then held only by the maps and shared by all three),
// and whatever the proposer keeps. Afterwards it drops the proposer, then the acceptors one by one,
// and reports how much each drop freed.
async function scenarioE({ keys, rtt }) {
  if (typeof gc !== 'function') fail('scenario e needs `node --expose-gc`');
  {
    // Warm up (JIT code, inline caches) on a throw-away cluster, so the delta below is data only.
    const { proposers: [p] } = cluster(3, rttOptions(rtt));
    for (let i = 0; i < WARMUP_OPS; i++) await p.propose(`warm-${i}`, write);
  }
  const held = cluster(3, rttOptions(rtt));
  const before = heap();
  const t0 = performance.now();
  for (let i = 0; i < keys; i++) await held.proposers[0].propose(`key-${String(i).padStart(7, '0')}`, write);
  const writeMs = performance.now() - t0;
  const after = heap();

  await checkE(held, keys); // after the measurement, so it cannot affect it

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
    rtt,
    mode: rtt === 1 ? '1RTT (library default; the proposer keeps a bounded one-round-trip cache, default 10,000 keys)' : '2RTT (oneRoundTrip: false; no cache)',
    bytesPerKey: perKey(after.heapUsed - before.heapUsed),
    arrayBufferBytesPerKey: perKey(after.arrayBuffers - before.arrayBuffers),
    externalBytesPerKey: perKey(after.external - before.external),
    rssBytesPerKey: perKey(after.rss - before.rss),
    freedPerKey: freed,
    proposerFreedBytes: Math.round(freed.proposer * keys),
    writeOpsPerS: Math.round(keys / (writeMs / 1000)),
  };
}

async function checkE({ proposers: [p], acceptors }, keys) {
  for (const a of acceptors) if (a.size !== keys) fail(`scenario e: acceptor ${a.address} holds ${a.size} keys, expected ${keys}`);
  for (const i of [0, keys >> 1, keys - 1]) await checkValue(p, acceptors, `key-${String(i).padStart(7, '0')}`);
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

// (f) Latency of single proposals in scenario a (one key, sequential): after the usual warm-up,
// `count` proposals, each timed with performance.now() around its await. Reported in µs: p50, p99,
// p999 (nearest rank), mean and max over all `count`, plus the timer's own cost (two back-to-back
// performance.now() calls, p50) for reference. GC pauses are part of the distribution.
async function scenarioF({ count, rtt }) {
  const { acceptors, proposers: [p] } = cluster(3, rttOptions(rtt));
  for (let i = 0; i < WARMUP_OPS; i++) await p.propose('k', write);
  const us = new Float64Array(count);
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await p.propose('k', write);
    us[i] = (performance.now() - t0) * 1000;
  }
  const wallMs = performance.now() - started;
  const share = cpuShare(cpu, wallMs);
  await checkValue(p, acceptors, 'k');
  checkBallots(p, WARMUP_OPS + count, rtt, 1, 'f');
  let sum = 0;
  for (let i = 0; i < count; i++) sum += us[i];
  us.sort();
  const timer = new Float64Array(10001);
  for (let i = 0; i < timer.length; i++) {
    const t0 = performance.now();
    timer[i] = (performance.now() - t0) * 1000;
  }
  timer.sort();
  const r3 = (x) => Math.round(x * 1000) / 1000;
  return {
    count,
    p50Us: r3(percentile(us, 0.5)),
    p90Us: r3(percentile(us, 0.9)),
    p99Us: r3(percentile(us, 0.99)),
    p999Us: r3(percentile(us, 0.999)),
    maxUs: r3(us[count - 1]),
    meanUs: r3(sum / count),
    timerOverheadP50Us: r3(percentile(timer, 0.5)),
    opsPerS: Math.round(count / (wallMs / 1000)),
    cpuShare: share,
  };
}

// (h) What a pino logger at level 'info' (debug disabled: nothing is written) costs on scenario a
// in 1RTT. One configuration per process (so the JIT sees only one, as in an application):
// `--logger none` (no logger), `proposer` (the logger on the proposer only) or `all` (on the
// proposer and the three acceptors: what passing one logger everywhere gives). After the usual
// warm-up, `rounds` slices of `ms` each; the figure is the best slice (noise on a shared machine
// only ever slows a slice down). run.mjs alternates the configurations process by process and pairs
// neighbours: overhead = ops/s without / ops/s with - 1 (time per proposal: 0.03 = 3% slower).
async function scenarioH({ ms, rounds, logger: which }) {
  let logger;
  if (which !== 'none') {
    const { default: pino } = await import('pino');
    logger = pino({ level: 'info' }, { write() {} }); // a no-op destination; at info nothing reaches it anyway
    if (logger.isLevelEnabled('debug') || !logger.isLevelEnabled('info')) fail('scenario h: the pino logger must be at level info');
  } else {
    await import('pino'); // loaded in every configuration alike
  }
  const { acceptors, proposers: [p] } = cluster(3, logger === undefined ? {} : { logger }, ['p1'], MemoryAcceptor, which === 'all' ? { logger } : {});
  for (let i = 0; i < WARMUP_OPS; i++) await p.propose('k', write);
  let total = WARMUP_OPS;
  const slices = [];
  const cpuSlices = [];
  for (let r = 0; r < rounds; r++) {
    const m = await measureLoop(ms, () => p.propose('k', write));
    total += m.ops;
    slices.push(m.opsPerS);
    cpuSlices.push(m.opsPerCpuS);
  }
  await checkValue(p, acceptors, 'k');
  checkBallots(p, total, 1, 1, `h (${which})`);
  return {
    logger: which,
    msPerSlice: ms,
    slices,
    cpuSlices,
    bestOpsPerS: Math.max(...slices),
    bestOpsPerCpuS: Math.max(...cpuSlices),
  };
}

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const USAGE = `usage: node [--expose-gc] bench/scenarios.mjs <a|b|c|d|e|f|h> [--ms N] [--rtt 1|2] [--acceptors N] [--seed N]
       [--max-batch N] [--keys N] [--count N] [--rounds N] [--logger none|proposer|all]   (see the top of this file)`;

function parseArgs(argv) {
  const [scenario, ...rest] = argv;
  const options = { ms: 1500, rtt: 1, acceptors: 3, seed: 1, maxBatch: undefined, keys: 1_000_000, count: 200_000, rounds: 4, logger: 'all' };
  const flags = { '--ms': 'ms', '--rtt': 'rtt', '--acceptors': 'acceptors', '--seed': 'seed', '--max-batch': 'maxBatch', '--keys': 'keys', '--count': 'count', '--rounds': 'rounds' };
  for (let i = 0; i < rest.length; i++) {
    const [flag, inline] = rest[i].split('=', 2);
    if (flag === '--logger') {
      options.logger = inline ?? rest[++i];
      if (!['none', 'proposer', 'all'].includes(options.logger)) throw new Error(`--logger must be none, proposer or all\n${USAGE}`);
      continue;
    }
    const name = flags[flag];
    if (name === undefined) throw new Error(`unknown option ${rest[i]}\n${USAGE}`);
    const value = Number(inline ?? rest[++i]);
    if (!Number.isSafeInteger(value) || value < (name === 'seed' ? 0 : 1)) throw new Error(`${flag} needs a positive integer\n${USAGE}`);
    options[name] = value;
  }
  if (options.rtt !== 1 && options.rtt !== 2) throw new Error(`--rtt must be 1 or 2\n${USAGE}`);
  return { scenario, options };
}

async function main() {
  const { scenario, options: o } = parseArgs(process.argv.slice(2));
  const result = { node: process.version, scenario };
  const rate = (x) => Math.round(x).toLocaleString('en-US');
  let line;
  switch (scenario) {
    case 'a':
    case 'b': {
      const options = { ms: o.ms, rtt: o.rtt, acceptors: o.acceptors };
      result.options = options;
      result[scenario] = await (scenario === 'a' ? scenarioA : scenarioB)(options);
      line = `(${scenario}) ${scenario === 'a' ? 'one key' : '10k keys'}, ${o.rtt}RTT, ${o.acceptors} acceptors: ${rate(result[scenario].opsPerS)} ops/s`;
      break;
    }
    case 'c':
      result.options = { ms: o.ms, seed: o.seed, rtt: o.rtt };
      result.c = await scenarioC(result.options);
      line = `(c) ok ${rate(result.c.okOpsPerS)} ops/s, error rate ${result.c.errorRate.toFixed(4)}, ${result.c.attemptsPerProposal} attempts per proposal`;
      break;
    case 'd':
      result.options = { ms: o.ms, maxBatch: o.maxBatch };
      result.d = await scenarioD(result.options);
      line = `(d) hot key, ${D_CALLERS} callers, maxBatch ${result.d.maxBatch}: ${rate(result.d.opsPerS)} ops/s, ${result.d.avgBatch} proposals per round`;
      break;
    case 'e':
      result.options = { keys: o.keys, rtt: o.rtt };
      result.e = await scenarioE(result.options);
      line = `(e) ${result.e.bytesPerKey} heap bytes per key over ${o.keys} keys, ${result.e.mode}`;
      break;
    case 'f':
      result.options = { count: o.count, rtt: o.rtt };
      result.f = await scenarioF(result.options);
      line = `(f) ${o.rtt}RTT latency over ${o.count} proposals: p50 ${result.f.p50Us} µs, p99 ${result.f.p99Us} µs, p999 ${result.f.p999Us} µs`;
      break;
    case 'h':
      result.options = { ms: o.ms, rounds: o.rounds, logger: o.logger };
      result.h = await scenarioH(result.options);
      line = `(h) logger ${o.logger}: best of ${o.rounds} slices ${rate(result.h.bestOpsPerS)} ops/s, ${rate(result.h.bestOpsPerCpuS)} ops per CPU second`;
      break;
    default:
      throw new Error(USAGE);
  }
  console.log(line);
  console.log(JSON.stringify(result));
}

await main();
