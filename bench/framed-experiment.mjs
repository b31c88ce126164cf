// The experiment of issue 12, item 3: is a persistent framed connection (length-prefixed frames
// over one TCP connection per acceptor, pipelined) worth adopting over batched HTTP/1.1? The same
// acceptor processes (StoreAcceptor over LmdbStore, synced) serve both: HTTP through
// createAcceptorServer, and frames through a minimal server written here. The proposer side runs
// the same MemoryProposer over HttpAcceptor (batched, nodeFetch's lean path), or over a minimal
// framed client that batches the same way (the calls of one turn in one frame). The verdict rule:
// adopt frames only if they win by 1.3x or more.
//
//   node bench/framed-experiment.mjs [--ms N] [--rounds N] [--memory]
//
// Written for the measurement only: the framed codec here is plain JSON with base64 states, like
// the HTTP wire format, but without its strict validation.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryProposer, MemoryStore, StoreAcceptor } from '../dist/index.js';
import { HttpAcceptor, createAcceptorServer, nodeFetch } from '../dist/http.js';
import { LmdbStore } from '../dist/lmdb.js';
import { cpuOf, measure, waitForLine } from './deploy-support.mjs';

const b64 = (s) => (s === null ? null : Buffer.from(s.buffer, s.byteOffset, s.byteLength).toString('base64'));
const unb64 = (s) => (s === null ? null : new Uint8Array(Buffer.from(s, 'base64')));

/** Reads length-prefixed frames ([u32 length][u32 id][JSON]) from a socket. */
function onFrames(socket, handle) {
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 8) {
      const length = buffered.readUInt32BE(0);
      if (buffered.length < 8 + length) break;
      handle(buffered.readUInt32BE(4), buffered.toString('utf8', 8, 8 + length));
      buffered = buffered.subarray(8 + length);
    }
  });
}

function frame(id, text) {
  const body = Buffer.from(text, 'utf8');
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32BE(body.length, 0);
  head.writeUInt32BE(id, 4);
  return Buffer.concat([head, body]);
}

// --- The acceptor process: one StoreAcceptor served over HTTP and over frames ----------------------

async function serve(dir, store) {
  const acceptor = await StoreAcceptor.open('a', store === 'memory' ? new MemoryStore() : await LmdbStore.open({ path: dir }));
  const http = createAcceptorServer(acceptor);
  const { url } = await http.listen(0, '127.0.0.1');
  const framed = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    const out = [];
    let scheduled = false;
    onFrames(socket, (id, text) => {
      const { items } = JSON.parse(text);
      Promise.all(
        items.map((i) =>
          (i.op === 'prepare' ? acceptor.prepare(i.key, i.age, i.ballot) : acceptor.accept(i.key, i.age, i.ballot, unb64(i.state), { next: i.next })).then(
            (r) => (r.type === 'promised' ? { ...r, state: b64(r.state) } : r),
            (e) => ({ error: { code: e.code ?? 'ERR_INTERNAL', message: String(e.message) } }),
          ),
        ),
      ).then((replies) => {
        out.push(frame(id, JSON.stringify({ items: replies })));
        // Replies of one turn leave in one write.
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => {
            scheduled = false;
            socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
            out.length = 0;
          });
        }
      });
    });
  });
  await new Promise((resolve) => framed.listen(0, '127.0.0.1', resolve));
  console.log(JSON.stringify({ url, port: framed.address().port }));
}

// --- The framed client: prepare and accept, the calls of one turn in one frame ---------------------

class FramedAcceptor {
  #socket;
  #queue = [];
  #pending = new Map();
  #next = 1;
  constructor(port) {
    this.address = `framed:${port}`;
    this.#socket = createConnection({ port, host: '127.0.0.1', noDelay: true });
    this.#socket.on('error', (error) => {
      for (const calls of this.#pending.values()) for (const c of calls) c.reject(error);
      this.#pending.clear();
    });
    onFrames(this.#socket, (id, text) => {
      const calls = this.#pending.get(id);
      this.#pending.delete(id);
      JSON.parse(text).items.forEach((r, i) => (r.error ? calls[i].reject(new Error(r.error.message)) : calls[i].resolve(r.type === 'promised' ? { ...r, state: unb64(r.state) } : r)));
    });
  }
  #call(item) {
    return new Promise((resolve, reject) => {
      if (this.#queue.length === 0) setImmediate(() => this.#flush());
      this.#queue.push({ item, resolve, reject });
    });
  }
  #flush() {
    const calls = this.#queue;
    this.#queue = [];
    const id = this.#next++;
    this.#pending.set(id, calls);
    this.#socket.write(frame(id, JSON.stringify({ items: calls.map((c) => c.item) })));
  }
  prepare(key, age, ballot) {
    return this.#call({ op: 'prepare', key, age, ballot });
  }
  accept(key, age, ballot, state, opts) {
    return this.#call({ op: 'accept', key, age, ballot, state: b64(state), ...(opts?.next ? { next: opts.next } : {}) });
  }
  close() {
    this.#socket.destroy();
  }
}

// --- Main -----------------------------------------------------------------------------------------

if (process.argv[2] === 'serve') {
  await serve(process.argv[3], process.argv[4]);
} else {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const i = args.indexOf(name);
    return i < 0 ? fallback : Number(args[i + 1]);
  };
  const ms = option('--ms', 3000);
  const rounds = option('--rounds', 3);
  const dirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), 'caspaxos-framed-')));
  // --memory: acceptors over MemoryStore (no disk), to see the transports alone.
  const store = args.includes('--memory') ? 'memory' : 'lmdb';
  const children = dirs.map((dir) => spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve', dir, store], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const endpoints = await Promise.all(children.map((c) => waitForLine(c, (line) => (line.startsWith('{') ? JSON.parse(line) : undefined), 'framed acceptor')));
  const pids = [process.pid, ...children.map((c) => c.pid)];
  const fetch = nodeFetch({ maxSockets: 64 });
  const VALUE = new Uint8Array(16).fill(7);
  const transports = {
    'http-batched': () => endpoints.map((e) => new HttpAcceptor(e.url, { timeoutMs: 10_000, fetch })),
    framed: () => endpoints.map((e) => new FramedAcceptor(e.port)),
  };
  const samples = {};
  let prefix = 0;
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? Object.keys(transports) : Object.keys(transports).reverse();
    for (const name of order) {
      for (const [c, k] of [[1, 1], [1, 10_000], [64, 10_000]]) {
        const acceptors = transports[name]();
        const proposer = new MemoryProposer('x', acceptors);
        const before = cpuOf(pids);
        const r = await measure((key) => proposer.propose(key, () => VALUE), { concurrency: c, keyCount: k, ms, prefix: `p${prefix++}` });
        const cpu = Math.round((cpuOf(pids) - before) / ((r.ops_per_s * ms) / 1000));
        (samples[`${name} c${c} k${k}`] ??= []).push({ ops_per_s: r.ops_per_s, p50_ms: r.p50_ms, cpu_us_per_op: cpu, errors: r.errors });
        for (const a of acceptors) a.close?.();
        console.error(`[framed] round ${round + 1} ${name} c${c} k${k}: ${r.ops_per_s} ops/s, ${cpu} µs/op`);
      }
    }
  }
  for (const c of children) c.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const figures = Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, { ops_per_s: median(s.map((x) => x.ops_per_s)), p50_ms: median(s.map((x) => x.p50_ms)), cpu_us_per_op: median(s.map((x) => x.cpu_us_per_op)) }]));
  const gains = {};
  for (const cell of ['c1 k1', 'c1 k10000', 'c64 k10000']) {
    const h = figures[`http-batched ${cell}`];
    const f = figures[`framed ${cell}`];
    gains[cell] = { ops: Math.round((f.ops_per_s / h.ops_per_s) * 100) / 100, cpu: Math.round((h.cpu_us_per_op / f.cpu_us_per_op) * 100) / 100 };
  }
  console.log(JSON.stringify({ store, ms, rounds, figures, framed_over_http: gains, adopt: Object.values(gains).some((g) => g.ops >= 1.3) }));
  process.exit(0);
}
