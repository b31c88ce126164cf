/**
 * Limits that agree and hardened servers, with real processes:
 *  - a node derives its value limit from what its acceptors accept (their --max-body-bytes, after
 *    base64 and the request's other fields): a 900 KB value gets 413 at once (it used to be retried
 *    for 30 s and answered 503), a value at the derived limit is written through acceptors whose
 *    limit is 64 KiB, many of them at once (batched, cut to fit), and one byte more gets 413;
 *  - both servers disconnect a client that sends its headers too slowly (--headers-timeout-ms), and
 *    close connections beyond --max-connections;
 *  - the node's /v1/health is liveness (200 while it runs) and /v1/ready readiness (200 when a
 *    quorum of preparers and accepters answers now, 503 otherwise).
 * Needs the built CLI.
 */
import { type Socket, connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { valueLimit } from '../../src/cli/node-members.js';
import { type AcceptorProcess, type NodeProcess, startAcceptorProcess, startNodeProcess } from '../support/cli-process.js';

const SECRET = 'limits-secret';
const env = { CASPAXOS_SECRET: SECRET };

async function put(base: string, key: string, value: unknown): Promise<{ status: number; body: Record<string, unknown>; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${base}/v1/kv/${encodeURIComponent(key)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
    body: JSON.stringify({ value }),
    signal: AbortSignal.timeout(60_000),
  });
  const body = (await response.json()) as Record<string, unknown>;
  return { status: response.status, body, ms: performance.now() - started };
}

/** Opens a raw connection; resolves once connected (or closed). */
function open(url: string): Promise<{ socket: Socket; closed: Promise<void> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('close', () => resolve({ socket, closed }));
  });
}

/** Sends a request's headers a line every 300 ms, never finishing; resolves with how long until the server cut it. */
async function slowHeaders(url: string): Promise<number> {
  const { socket, closed } = await open(url);
  const started = performance.now();
  // Read (and drop) what the server sends: a paused socket would never see the server's end.
  socket.resume();
  socket.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n');
  const timer = setInterval(() => socket.writable && socket.write(`X-Slow-${Math.floor(performance.now())}: 1\r\n`), 300);
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  clearInterval(timer);
  const ms = performance.now() - started;
  socket.destroy();
  return ms;
}

/** A GET /v1/health on an already open socket: true if it was answered. */
function answered(socket: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(false);
    const timer = setTimeout(() => resolve(false), 5000);
    socket.once('data', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
    socket.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

describe('limits that agree (default acceptor limits)', () => {
  let acceptors: AcceptorProcess[] = [];
  let node: NodeProcess | undefined;
  beforeAll(async () => {
    acceptors = await Promise.all([0, 1, 2].map(() => startAcceptorProcess([], env)));
    node = await startNodeProcess(['--acceptors', acceptors.map((a) => a.url).join(','), '--sweep-interval-ms', '0'], env);
  }, 90_000);
  afterAll(async () => {
    await node?.stop();
    await Promise.all(acceptors.map((a) => a.stop()));
  });

  it('a 900 KB value gets 413 in under a second, and nothing is written', async () => {
    const base = (node as NodeProcess).url;
    const reply = await put(base, 'big', 'x'.repeat(900_000));
    console.log(`900 KB value: HTTP ${reply.status} in ${reply.ms.toFixed(0)} ms`);
    expect(reply.status).toBe(413);
    expect(reply.body).toMatchObject({ code: 'ERR_VALUE_TOO_LARGE' });
    expect(reply.ms).toBeLessThan(1000);
    const read = await fetch(`${base}/v1/kv/big`, { headers: { authorization: `Bearer ${SECRET}` } });
    expect(read.status).toBe(404);
  }, 30_000);
});

describe('limits that agree (acceptors with --max-body-bytes 65536), and hardened servers', () => {
  let acceptors: AcceptorProcess[] = [];
  let node: NodeProcess | undefined;
  /** A node over the same acceptors that only the hardening tests connect to (capped at 4 connections). */
  let hardened: NodeProcess | undefined;
  /** An acceptor in no node's membership, capped at 4 connections. */
  let lone: AcceptorProcess | undefined;
  const caps = ['--headers-timeout-ms', '1000', '--max-connections', '4'];
  beforeAll(async () => {
    acceptors = await Promise.all([0, 1, 2].map(() => startAcceptorProcess(['--max-body-bytes', '65536'], env)));
    lone = await startAcceptorProcess(caps, env);
    const urls = acceptors.map((a) => a.url).join(',');
    node = await startNodeProcess(['--acceptors', urls, '--sweep-interval-ms', '0'], env);
    hardened = await startNodeProcess(['--acceptors', urls, '--sweep-interval-ms', '0', ...caps], env);
  }, 90_000);
  afterAll(async () => {
    await node?.stop();
    await hardened?.stop();
    await lone?.stop();
    await Promise.all(acceptors.map((a) => a.stop()));
  });

  it('writes values at the derived limit (many at once: batches cut to fit) and answers 413 one byte above', async () => {
    const base = (node as NodeProcess).url;
    // The value limit for a key: JSON string values of n characters take n + 2 bytes.
    const atLimit = (key: string) => 'v'.repeat(valueLimit(65536, key) - 2);
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => put(base, `k${i}`, atLimit(`k${i}`))));
    expect(replies.map((r) => r.status)).toEqual(Array(12).fill(200));
    const over = await put(base, 'k0', `${atLimit('k0')}v`);
    expect(over.status).toBe(413);
    expect(over.ms).toBeLessThan(1000);
    const read = await fetch(`${base}/v1/kv/k3`, { headers: { authorization: `Bearer ${SECRET}` } });
    expect(((await read.json()) as { value: string }).value).toHaveLength(valueLimit(65536, 'k3') - 2);
  }, 60_000);

  it('both servers cut a client that sends its headers too slowly (--headers-timeout-ms 1000)', async () => {
    const [acceptorMs, nodeMs] = await Promise.all([slowHeaders((lone as AcceptorProcess).url), slowHeaders((hardened as NodeProcess).url)]);
    console.log(`slow-header client cut after: acceptor ${acceptorMs.toFixed(0)} ms, node ${nodeMs.toFixed(0)} ms`);
    // Node's checks run every second: cut between 1 and ~2.5 s (Node's defaults: 60 s).
    expect(acceptorMs).toBeLessThan(5000);
    expect(nodeMs).toBeLessThan(5000);
    expect(acceptorMs).toBeGreaterThanOrEqual(900);
    expect(nodeMs).toBeGreaterThanOrEqual(900);
  }, 30_000);

  it.each([
    ['node', () => (hardened as NodeProcess).url],
    ['acceptor', () => (lone as AcceptorProcess).url],
  ])('the %s closes connections beyond --max-connections 4, and takes new ones once some close', async (_name, url) => {
    const held = await Promise.all(Array.from({ length: 4 }, () => open(url())));
    // Control: every held connection is served.
    expect(await Promise.all(held.map((h) => answered(h.socket)))).toEqual(Array(4).fill(true));
    const extra = await open(url());
    expect(await answered(extra.socket)).toBe(false);
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const later = await open(url());
    expect(await answered(later.socket)).toBe(true);
    later.socket.destroy();
  }, 30_000);

  it('/v1/health is liveness, /v1/ready a quorum of preparers and accepters reachable now', async () => {
    const base = (node as NodeProcess).url;
    const ready = async () => {
      const response = await fetch(`${base}/v1/ready`);
      return { status: response.status, body: (await response.json()) as { ready: boolean; preparers: { reachable: number; required: number } } };
    };
    expect((await ready()).status).toBe(200);
    const [a1, a2] = acceptors as [AcceptorProcess, AcceptorProcess];
    await a1.kill();
    await a2.kill();
    // Readiness is cached for half a second.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const down = await ready();
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ ready: false, preparers: { reachable: 1, required: 2 } });
    expect((await fetch(`${base}/v1/health`)).status).toBe(200);
    await a1.restart();
    await a2.restart();
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await ready()).status).toBe(200);
  }, 60_000);
});
