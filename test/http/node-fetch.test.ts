/**
 * `nodeFetch`: what `HttpAcceptor` relies on, through node:http keep-alive agents: refused
 * connections reject with Node's error code (so a resend is known safe), aborts reject with the
 * signal's reason, watch streams arrive as they are written, and connections are reused.
 */
import { describe, expect, it } from 'vitest';
import { HttpAcceptor } from '../../src/http/acceptor-client.js';
import { InvalidArgumentError, MemoryAcceptor, MemoryProposer, UnavailableError } from '../../src/index.js';
import { nodeFetch } from '../../src/http/node-fetch.js';
import { closedPort, fakeServer, host } from './support.js';

describe('nodeFetch', () => {
  it('runs proposals through HttpAcceptors and reuses its connections', async () => {
    const hosts = await Promise.all(['a1', 'a2', 'a3'].map((a) => host(new MemoryAcceptor(a))));
    let connections = 0;
    for (const h of hosts) h.server.server.on('connection', () => connections++);
    try {
      const fetch = nodeFetch({ maxSockets: 2 });
      const proposer = new MemoryProposer('p1', hosts.map((h) => new HttpAcceptor(h.url, { fetch })));
      const increment = (s: Uint8Array | null) => Uint8Array.of((s?.[0] ?? 0) + 1);
      for (let i = 0; i < 30; i++) await proposer.propose('k', increment);
      expect((await proposer.identityRead('k')).state?.[0]).toBe(30);
      // At most two connections per acceptor, however many requests.
      expect(connections).toBeLessThanOrEqual(6);
    } finally {
      await Promise.all(hosts.map((h) => h.server.close()));
    }
  });

  it('rejects with the Node error code when nothing was sent, so HttpAcceptor resends safely', async () => {
    const port = await closedPort();
    await expect(nodeFetch()(`http://127.0.0.1:${port}/v1/health`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const acceptor = new HttpAcceptor(`http://127.0.0.1:${port}`, { fetch: nodeFetch(), timeoutMs: 500 });
    await expect(acceptor.prepare('k', { counter: 0, id: 'p1' }, { counter: 1, id: 'p1' })).rejects.toBeInstanceOf(UnavailableError);
  });

  it('rejects with the signal reason on abort, before or during a request', async () => {
    const silent = await fakeServer(() => {});
    try {
      const fetch = nodeFetch();
      const before = AbortSignal.abort(new Error('early'));
      await expect(fetch(silent.url, { signal: before })).rejects.toThrow('early');
      const controller = new AbortController();
      const pending = fetch(silent.url, { method: 'POST', body: '{}', signal: controller.signal });
      setTimeout(() => controller.abort(new Error('late')), 20);
      await expect(pending).rejects.toThrow('late');
    } finally {
      await silent.close();
    }
  });

  it('streams NDJSON replies as they are written', async () => {
    const streaming = await fakeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"n":1}\n');
      setTimeout(() => res.end('{"n":2}\n'), 50);
    });
    try {
      const response = await nodeFetch()(streaming.url);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toBe('{"n":1}\n');
      expect(response.status).toBe(200);
    } finally {
      await streaming.close();
    }
  });

  it('checks its options and its body type', async () => {
    expect(() => nodeFetch({ maxSockets: 0 })).toThrow(InvalidArgumentError);
    expect(() => nodeFetch({ idleTimeoutMs: -1 })).toThrow(InvalidArgumentError);
    await expect(nodeFetch()('http://127.0.0.1:9/', { method: 'POST', body: new Uint8Array(1) })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
