/**
 * What an operator runs the service with, on real processes of the built CLI (loopback): TLS
 * between clients, nodes and acceptors (the acceptor stream included), with a private CA made by
 * openssl at test time, and clients without that CA refused; GET /metrics on both servers, behind
 * the secret, with figures that match what the test did; flags from environment variables; and
 * `--version`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpAcceptor, nodeFetch } from '../../src/http/index.js';
import { type AcceptorProcess, type NodeProcess, TEST_CLUSTER, runCli, startAcceptorProcess, startNodeProcess } from '../support/cli-process.js';
import { type Certificates, HAS_OPENSSL, makeCertificates } from '../support/tls.js';
import { parseExposition, sample } from '../support/exposition.js';

const SECRET = 'operations-secret';
const env = { CASPAXOS_SECRET: SECRET };

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** An HTTPS request that trusts `ca` (global fetch cannot be given a CA). */
function httpsCall(url: string, ca: string | undefined, method = 'GET', body?: unknown, secret: string | null = SECRET): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = httpsRequest(url, {
      method,
      ...(ca === undefined ? {} : { ca }),
      headers: { ...(text === undefined ? {} : { 'content-type': 'application/json' }), ...(secret === null ? {} : { authorization: `Bearer ${secret}` }) },
    }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (data += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: data }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

describe.skipIf(!HAS_OPENSSL)('a cluster over TLS, with metrics (openssl makes the certificates)', () => {
  let certs: Certificates;
  let acceptors: AcceptorProcess[] = [];
  let node: NodeProcess | undefined;

  beforeAll(async () => {
    certs = makeCertificates() as Certificates;
    const tls = ['--tls-cert', certs.certFile, '--tls-key', certs.keyFile];
    acceptors = await Promise.all([0, 1, 2].map(() => startAcceptorProcess(tls, env)));
    node = await startNodeProcess([...tls, '--tls-ca', certs.caFile, '--acceptors', acceptors.map((a) => a.url).join(','), '--sweep-interval-ms', '0'], env);
  }, 90_000);

  afterAll(async () => {
    await node?.stop();
    await Promise.all(acceptors.map((a) => a.stop()));
    rmSync(certs.dir, { recursive: true, force: true });
  });

  it('serves https everywhere: clients, the node, its calls to acceptors and the acceptor stream', async () => {
    const base = (node as NodeProcess).url;
    expect(base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    for (const a of acceptors) expect(a.url).toMatch(/^https:/);
    for (let i = 0; i < 5; i++) {
      const put = await httpsCall(`${base}/v1/kv/k${i % 3}`, certs.ca, 'PUT', { value: i });
      expect(put.status, put.text).toBe(200);
    }
    const get = await httpsCall(`${base}/v1/kv/k1`, certs.ca);
    expect(get.status).toBe(200);
    expect(JSON.parse(get.text)).toMatchObject({ key: 'k1', value: 4 });
    // The prepares and accepts went over the acceptor stream, encrypted: every acceptor saw frames.
    for (const a of acceptors) {
      const scraped = parseExposition((await httpsCall(`${a.url}/metrics`, certs.ca)).text);
      expect(sample(scraped, 'caspaxos_acceptor_batch_items_count', { transport: 'stream' })).toBeGreaterThan(0);
    }
  });

  it('refuses clients that do not trust the CA: a plain https client, and HttpAcceptor without ca', async () => {
    const base = (node as NodeProcess).url;
    await expect(httpsCall(`${base}/v1/health`, undefined, 'GET', undefined, null)).rejects.toMatchObject({ code: expect.stringMatching(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/) });
    const untrusting = new HttpAcceptor((acceptors[0] as AcceptorProcess).url, { secret: SECRET, clusterId: TEST_CLUSTER, fetch: nodeFetch(), timeoutMs: 5000 });
    await expect(untrusting.identify()).rejects.toThrow(/certificate/i);
    // Negative control: the same client with the CA gets in.
    const trusting = new HttpAcceptor((acceptors[0] as AcceptorProcess).url, { secret: SECRET, clusterId: TEST_CLUSTER, fetch: nodeFetch({ ca: certs.ca }), timeoutMs: 5000 });
    await expect(trusting.identify()).resolves.toMatchObject({ identity: { clusterId: TEST_CLUSTER } });
  });

  it('refuses to bootstrap a node that does not trust the acceptors\' CA: exit 8 at once, naming --tls-ca', async () => {
    const started = Date.now();
    const data = mkdtempSync(join(tmpdir(), 'caspaxos-node-'));
    const result = await runCli(['node', '--data', data, '--port', '0', '--cluster-id', TEST_CLUSTER, '--acceptors', acceptors.map((a) => a.url).join(',')], env);
    rmSync(data, { recursive: true, force: true });
    expect(result.code, result.stderr).toBe(8);
    expect(result.stderr).toMatch(/its TLS certificate does not verify \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\): name the authority that signed it with --tls-ca/);
    // Not after the 60 s a bootstrapping node waits for acceptors that do not answer yet.
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);

  it('refuses at start a key that does not belong to its certificate (exit 2, before anything listens)', async () => {
    const result = await runCli(['acceptor', '--data', (acceptors[0] as AcceptorProcess).dir, '--port', '0', '--tls-cert', certs.caFile, '--tls-key', certs.keyFile]);
    expect(result.code).toBe(2);
    expect(result.listening).toBe(false);
    expect(result.stderr).toMatch(/cannot serve TLS: .*key values mismatch/);
  });

  it('serves /metrics behind the secret, in the text format, with figures that match what happened', async () => {
    const base = (node as NodeProcess).url;
    expect((await httpsCall(`${base}/metrics`, certs.ca, 'GET', undefined, null)).status).toBe(401);
    expect((await httpsCall(`${acceptors[0]?.url}/metrics`, certs.ca, 'GET', undefined, 'wrong')).status).toBe(401);

    const before = parseExposition((await httpsCall(`${base}/metrics`, certs.ca)).text);
    const puts = sample(before, 'caspaxos_node_http_requests_total', { route: 'kv', method: 'PUT', status: '200' }) ?? 0;
    const committed = sample(before, 'caspaxos_proposer_rounds_total', { outcome: 'committed' }) ?? 0;
    for (let i = 0; i < 4; i++) expect((await httpsCall(`${base}/v1/kv/m${i}`, certs.ca, 'PUT', { value: 'x' })).status).toBe(200);
    expect((await httpsCall(`${base}/v1/kv/m0/cas`, certs.ca, 'POST', { version: null, value: 'y' })).status).toBe(409);

    const reply = await httpsCall(`${base}/metrics`, certs.ca);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const after = parseExposition(reply.text);
    expect(sample(after, 'caspaxos_node_http_requests_total', { route: 'kv', method: 'PUT', status: '200' })).toBe(puts + 4);
    expect(sample(after, 'caspaxos_node_http_requests_total', { route: 'kv_cas', method: 'POST', status: '409' })).toBe(1);
    // Each PUT is at least one committed round (a read-modify-write: the CAS reads too).
    expect(sample(after, 'caspaxos_proposer_rounds_total', { outcome: 'committed' })).toBeGreaterThanOrEqual(committed + 4);
    expect(sample(after, 'caspaxos_proposer_phase_duration_seconds_count', { phase: 'accept' })).toBeGreaterThan(0);
    expect(sample(after, 'caspaxos_build_info', { version: JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version, role: 'node' })).toBe(1);
    expect(after.types.get('caspaxos_node_http_request_duration_seconds')).toBe('histogram');
    // What resident memory is made of: a heap in use within the heap reserved, within the RSS.
    const rss = sample(after, 'process_resident_memory_bytes') ?? 0;
    const heapTotal = sample(after, 'nodejs_heap_size_total_bytes') ?? 0;
    const heapUsed = sample(after, 'nodejs_heap_size_used_bytes') ?? 0;
    expect(heapUsed).toBeGreaterThan(1e6);
    expect(heapUsed).toBeLessThanOrEqual(heapTotal);
    expect(heapTotal).toBeLessThan(rss);
    expect(sample(after, 'nodejs_external_memory_bytes')).toBeGreaterThan(0);
    // The spaces add up to the heap (V8 reports them from the same figures).
    const spaces = [...reply.text.matchAll(/^nodejs_heap_space_size_total_bytes\{space="(\w+)"\} (\d+)$/gm)];
    expect(spaces.map((m) => m[1])).toEqual(expect.arrayContaining(['new', 'old', 'code']));
    const spacesTotal = spaces.reduce((sum, m) => sum + Number(m[2]), 0);
    expect(Math.abs(spacesTotal - heapTotal)).toBeLessThan(0.2 * heapTotal);
    expect(sample(after, 'nodejs_heap_space_size_used_bytes', { space: 'old' })).toBeGreaterThan(0);

    // Every acceptor holds the keys written so far (k0-k2, m0-m3; the key-value store's read of
    // the previous release's epoch key wrote nothing): the store's count, read at the scrape. The
    // slowest acceptor may take its accepts a moment after the quorum answered.
    for (const a of acceptors) {
      let records: number | undefined;
      for (let tries = 0; tries < 50 && records !== 7; tries++) {
        records = sample(parseExposition((await httpsCall(`${a.url}/metrics`, certs.ca)).text), 'caspaxos_store_records');
        if (records !== 7) await new Promise((r) => setTimeout(r, 100));
      }
      expect(records).toBe(7);
      const scraped = parseExposition((await httpsCall(`${a.url}/metrics`, certs.ca)).text);
      expect(sample(scraped, 'caspaxos_store_write_duration_seconds_count', { op: 'put_many' })).toBeGreaterThan(0);
      expect(sample(scraped, 'caspaxos_acceptor_storage_writable')).toBe(1);
      expect(sample(scraped, 'caspaxos_acceptor_operations_total', { op: 'accept', reply: 'accepted' })).toBeGreaterThan(0);
    }
  });
});

describe('flags from the environment, and --version', () => {
  it('starts an acceptor configured by variables alone; a flag on the command line wins', async () => {
    const a = await startAcceptorProcess([], { CASPAXOS_MAX_KEY_BYTES: '16', CASPAXOS_LOG_LEVEL: 'info' });
    try {
      const identity = (await (await fetch(`${a.url}/v1/identity`)).json()) as { maxKeyBytes: number };
      expect(identity.maxKeyBytes).toBe(16);
    } finally {
      await a.stop();
    }
    const b = await startAcceptorProcess(['--max-key-bytes', '32'], { CASPAXOS_MAX_KEY_BYTES: '16' });
    try {
      const identity = (await (await fetch(`${b.url}/v1/identity`)).json()) as { maxKeyBytes: number };
      expect(identity.maxKeyBytes).toBe(32);
    } finally {
      await b.stop();
    }
  }, 60_000);

  it('refuses a CASPAXOS_ variable the command does not read, with exit code 2', async () => {
    const stale = await runCli(['acceptor', '--data', '/nonexistent-caspaxos'], { CASPAXOS_ACCEPTORS: 'http://127.0.0.1:1' });
    expect(stale.code).toBe(2);
    expect(stale.stderr).toMatch(/CASPAXOS_ACCEPTORS is set, but 'caspaxos acceptor' reads no such variable/);
    const misspelt = await runCli(['node', '--data', '/nonexistent-caspaxos'], { CASPAXOS_TIMEOUT: '5' });
    expect(misspelt.code).toBe(2);
    expect(misspelt.stderr).toMatch(/CASPAXOS_TIMEOUT is set/);
  });

  it('prints the version of package.json for --version and version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const args of [['--version'], ['version']]) {
      const result = await runCli(args);
      expect(result.code).toBe(0);
      expect(result.stdout.trim()).toBe(version);
    }
  });
});
