/**
 * The README's "Run a cluster" walkthrough, as a test of the built CLI: three `caspaxos acceptor`
 * processes (each created with --init) and two `caspaxos node` processes (peers of each other) on loopback; the user API
 * (put, get, cas, increment, delete), the operator API (acceptors, grow, shrink, gc), one acceptor
 * killed with SIGKILL while clients keep reading and writing, and restarted from its data.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AcceptorProcess, type NodeProcess, runCli, startAcceptorProcess, startNodeProcess, TEST_CLUSTER } from '../support/cli-process.js';

const SECRET = 'walkthrough-secret';
const env = { CASPAXOS_SECRET: SECRET };

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

async function call(base: string, method: string, path: string, body?: unknown, secret: string | null = SECRET): Promise<Reply> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(secret === null ? {} : { authorization: `Bearer ${secret}` }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('caspaxos acceptor + caspaxos node, as the README runs them', () => {
  let acceptors: AcceptorProcess[] = [];
  const nodes: NodeProcess[] = [];
  let n1 = '';
  let n2 = '';

  beforeAll(async () => {
    acceptors = await Promise.all([0, 1, 2].map(() => startAcceptorProcess([], env)));
    const urls = acceptors.map((a) => a.url).join(',');
    // Node 1 first (no peers yet known), then node 2 naming node 1; node 1 learns of node 2 by a
    // restart with --peers, as an operator would deploy them (its membership comes from its data
    // directory then, --acceptors only bootstraps).
    const first = await startNodeProcess(['--id', 'n1', '--acceptors', urls, '--sweep-interval-ms', '0'], env);
    const second = await startNodeProcess(['--id', 'n2', '--acceptors', urls, '--peers', first.url, '--sweep-interval-ms', '0'], env);
    await first.kill();
    await first.restart(['--id', 'n1', '--peers', second.url, '--sweep-interval-ms', '0']);
    nodes.push(second, first);
    n1 = first.url;
    n2 = second.url;
  }, 90_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await Promise.all(acceptors.map((a) => a.stop()));
  });

  it('serves the user API through either node', async () => {
    expect((await call(n1, 'GET', '/v1/health', undefined, null)).status).toBe(200);
    expect((await call(n1, 'GET', '/v1/kv/greeting', undefined, null)).status).toBe(401);
    expect((await call(n1, 'GET', '/v1/kv/greeting', undefined, 'wrong')).status).toBe(401);

    const put = await call(n1, 'PUT', '/v1/kv/greeting', { value: { text: 'hello' } });
    expect(put.status).toBe(200);
    const version = put.body.version as string;
    const got = await call(n2, 'GET', '/v1/kv/greeting');
    expect(got.body).toEqual({ key: 'greeting', value: { text: 'hello' }, version });

    const stale = await call(n2, 'POST', '/v1/kv/greeting/cas', { version: '1', value: 'nope' });
    expect(stale.status).toBe(409);
    expect(stale.body.current).toEqual({ value: { text: 'hello' }, version });
    const cas = await call(n2, 'POST', '/v1/kv/greeting/cas', { version, value: 'bonjour' });
    expect(cas.status).toBe(200);
    expect(BigInt(cas.body.version as string)).toBeGreaterThan(BigInt(version));

    const counts = await Promise.all(Array.from({ length: 20 }, (_, i) => call(i % 2 ? n1 : n2, 'POST', '/v1/kv/hits/increment', { by: 1 })));
    expect(counts.every((r) => r.status === 200)).toBe(true);
    expect((await call(n1, 'GET', '/v1/kv/hits')).body.value).toBe(20);
    // Incrementing a string is refused and writes nothing (the version stays).
    expect((await call(n1, 'POST', '/v1/kv/greeting/increment', {})).body).toMatchObject({ code: 'ERR_NOT_A_NUMBER' });
    expect((await call(n2, 'GET', '/v1/kv/greeting')).body).toEqual({ key: 'greeting', value: 'bonjour', version: cas.body.version });

    expect((await call(n1, 'DELETE', '/v1/kv/greeting')).status).toBe(200);
    expect((await call(n2, 'GET', '/v1/kv/greeting')).status).toBe(404);
    // A garbage collection now (deletes also schedule one in the background): both nodes fenced.
    const gc = await call(n2, 'POST', '/v1/admin/gc', { key: 'greeting' });
    expect(gc.body).toMatchObject({ key: 'greeting', collected: true, operation: { operation: 'gc', target: 'greeting', state: 'completed' } });
    const again = await call(n1, 'PUT', '/v1/kv/greeting', { value: 'again' });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(BigInt(again.body.version as string)).toBeGreaterThan(BigInt(cas.body.version as string));
  }, 60_000);

  it('rejects bad requests with a 4xx and a clear message', async () => {
    expect((await call(n1, 'PUT', '/v1/kv/k', {})).body).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect((await call(n1, 'POST', '/v1/kv/k/cas', { version: 'x', value: 1 })).status).toBe(400);
    expect((await call(n1, 'POST', '/v1/kv/k/increment', { by: 1.5 })).status).toBe(400);
    expect((await call(n1, 'GET', `/v1/kv/${'x'.repeat(2000)}`)).body).toMatchObject({ code: 'ERR_KEY_TOO_LONG' });
    const raw = await fetch(`${n1}/v1/kv/k`, { method: 'PUT', headers: { authorization: `Bearer ${SECRET}` }, body: '{not json' });
    expect(raw.status).toBe(400);
    expect((await call(n1, 'PATCH', '/v1/kv/k', {})).status).toBe(405);
    expect((await call(n1, 'GET', '/v1/nowhere')).status).toBe(404);
  });

  it('notes a peer that is not running yet, and warns of one that is up but does not answer', async () => {
    // Nothing listens on `closed`; `silent` accepts connections and never answers.
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const held: Socket[] = [];
    const silent = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const dir = mkdtempSync(join(tmpdir(), 'caspaxos-node-'));
    try {
      const urls = acceptors.map((a) => a.url).join(',');
      const peers = [`http://127.0.0.1:${closed}`, `http://127.0.0.1:${(silent.address() as AddressInfo).port}`];
      const run = await runCli(['node', '--data', dir, '--port', '0', '--cluster-id', TEST_CLUSTER, '--acceptors', urls, '--peers', peers.join(','), '--timeout-ms', '500'], env);
      expect(run.listening, run.stderr).toBe(true);
      const lines = run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string; peer?: string });
      const about = (peer: string) => lines.filter((l) => l.peer === peer);
      expect(about(peers[0] as string).map((l) => [l.level, l.msg])).toEqual([[30, expect.stringMatching(/^peer is not running \(connection refused\)/)]]);
      expect(about(peers[1] as string).map((l) => [l.level, l.msg])).toEqual([[40, 'peer did not answer; its membership was not compared']]);
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('keeps reading and writing while an acceptor is killed, and after it restarts', async () => {
    const [victim] = acceptors as [AcceptorProcess];
    await victim.kill();
    for (let i = 1; i <= 5; i++) {
      expect((await call(i % 2 ? n1 : n2, 'PUT', '/v1/kv/during-outage', { value: i })).status).toBe(200);
      expect((await call(i % 2 ? n2 : n1, 'GET', '/v1/kv/during-outage')).body.value).toBe(i);
    }
    await victim.restart();
    expect((await call(n1, 'POST', '/v1/kv/hits/increment', { by: 5 })).body.value).toBe(25);
  }, 60_000);

  it('grows and shrinks the cluster through the operator API', async () => {
    const fourth = await startAcceptorProcess([], env);
    acceptors.push(fourth);
    const grown = await call(n1, 'POST', '/v1/admin/grow', { acceptor: fourth.url });
    expect(grown.status).toBe(200);
    // Members are known by URL and incarnation.
    expect(grown.body.accepters).toContain(fourth.address);
    // Both nodes changed configuration (membership change acts on every proposer).
    expect((await call(n2, 'GET', '/v1/admin/acceptors')).body.preparers).toContain(fourth.address);
    const gone = acceptors[0] as AcceptorProcess;
    const shrunk = await call(n2, 'POST', '/v1/admin/shrink', { acceptor: gone.url });
    expect(shrunk.status).toBe(200);
    expect((await call(n1, 'GET', '/v1/admin/acceptors')).body.accepters).not.toContain(gone.address);
    expect((await call(n2, 'GET', '/v1/kv/hits')).body.value).toBe(25);
  }, 60_000);
});
