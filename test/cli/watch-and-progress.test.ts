/**
 * A real `caspaxos node` over three `caspaxos acceptor` processes: a key's watch as curl prints
 * it (resumed with Last-Event-ID), and a grow's progress followed from another client and in the
 * node's log. Needs the build (`npm test` does) and curl.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AcceptorProcess, type NodeProcess, TEST_CLUSTER, startAcceptorProcess, startNodeProcess } from '../support/cli-process.js';

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

/** Runs curl until it exits (here: at --max-time), with what it printed. */
function curl(args: readonly string[]): { done: Promise<{ code: number | null; stdout: string }>; output: () => string } {
  const child = spawn('curl', [...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (stdout += chunk));
  return { done: new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout }))), output: () => stdout };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within 10 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('caspaxos node: watch and operation progress', () => {
  let acceptors: AcceptorProcess[] = [];
  let node: NodeProcess;
  let log = '';

  beforeAll(async () => {
    acceptors = await Promise.all([0, 1, 2].map(() => startAcceptorProcess()));
    node = await startNodeProcess(['--acceptors', acceptors.map((a) => a.url).join(','), '--sweep-interval-ms', '0']);
    node.child.stdout?.on('data', (chunk: Buffer | string) => (log += String(chunk)));
  }, 60_000);

  afterAll(async () => {
    await node?.stop();
    await Promise.all(acceptors.map((a) => a.stop()));
  });

  it('curl -N prints the events of a resumed watch: only what is newer than Last-Event-ID', async () => {
    const v1 = (await call(node.url, 'PUT', '/v1/kv/greeting', { value: 'hello' })).body.version as string;
    const watch = curl(['-sN', '--max-time', '4', '-H', `Last-Event-ID: ${v1}`, `${node.url}/v1/kv/greeting/watch`]);
    await until(() => watch.output().includes(': watching'), 'the stream opens');
    const v2 = (await call(node.url, 'PUT', '/v1/kv/greeting', { value: 'bonjour' })).body.version as string;
    await until(() => watch.output().includes(`id: ${v2}`), 'the change');
    expect((await call(node.url, 'DELETE', '/v1/kv/greeting')).status).toBe(200);
    const { code, stdout } = await watch.done;
    // 28: curl's "operation timed out", i.e. --max-time ended a stream that was still open.
    expect(code).toBe(28);
    expect(stdout).toBe(
      'retry: 1000\n: watching "greeting"\n\n' +
        `id: ${v2}\nevent: value\ndata: {"key":"greeting","value":"bonjour","version":"${v2}"}\n\n` +
        `id: ${v2}-deleted\nevent: deleted\ndata: {"key":"greeting","deleted":true}\n\n`,
    );
  }, 30_000);

  it("a grow's progress is visible from another client while it runs, and in the node's log", async () => {
    for (let i = 0; i < 60; i++) expect((await call(node.url, 'PUT', `/v1/kv/key-${i}`, { value: i })).status).toBe(200);
    const listed = (await call(node.url, 'GET', '/v1/admin/acceptors')).body.accepters as string[];
    // Every key the acceptors hold (the 60, and a tombstone not collected yet).
    const keys = (await (await fetch(`${node.url}/v1/proposer/keys`, { headers: { 'caspaxos-cluster': TEST_CLUSTER } })).text()).trim().split('\n').length;
    expect(keys).toBeGreaterThanOrEqual(60);
    const fourth = await startAcceptorProcess();
    acceptors.push(fourth);
    const started = await call(node.url, 'POST', '/v1/admin/grow', { acceptor: fourth.url }, { prefer: 'respond-async' });
    expect(started.status).toBe(202);
    const location = started.headers.get('location') as string;
    expect(location).toMatch(/^\/v1\/admin\/operations\/grow-\d+$/);
    const seen: Array<Record<string, any>> = [];
    // Another client follows it until it ends.
    for (;;) {
      const record = (await call(node.url, 'GET', location)).body;
      seen.push(record);
      if (record.state !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(seen.at(-1)).toMatchObject({ operation: 'grow', target: fourth.url, state: 'completed', progress: { step: '3 (add preparer)', done: 1, total: 1 } });
    expect((await call(node.url, 'GET', '/v1/admin/acceptors')).body.accepters).toHaveLength(listed.length + 1);
    // The log: each step with its count; the identity pass over every key.
    await until(() => log.includes('"grow completed"'), 'the end in the log');
    const lines = log
      .split('\n')
      .filter((line) => line.includes(`"id":"${location.split('/').pop()}"`))
      .map((line) => JSON.parse(line) as Record<string, any>);
    const pass = lines.find((l) => l.step === '2 (identity pass)');
    expect(pass).toMatchObject({ unit: 'keys', done: 0, total: keys, msg: `grow step 2 (identity pass): 0/${keys} keys (0%)` });
    expect(lines.map((l) => l.msg)).toContain('grow completed');
    // A shrink answered synchronously carries its record too.
    const shrunk = await call(node.url, 'POST', '/v1/admin/shrink', { acceptor: fourth.url });
    expect(shrunk.status).toBe(200);
    expect(shrunk.body.operation).toMatchObject({ operation: 'shrink', state: 'completed' });
    const operations = (await call(node.url, 'GET', '/v1/admin/operations')).body.operations as Array<Record<string, any>>;
    expect(operations.map((o) => o.operation)).toEqual(['shrink', 'grow']);
  }, 60_000);
});
