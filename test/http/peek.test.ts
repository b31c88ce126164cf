/**
 * Peeks over HTTP: `/v1/peek`, batch items and stream frames; an older acceptor (which does not
 * know the request) answers `UnsupportedError`, and a proposer over it reads through the full round.
 */
import { describe, expect, it } from 'vitest';
import { HttpAcceptor } from '../../src/http/acceptor-client.js';
import { nodeFetch } from '../../src/http/node-fetch.js';
import { PATHS } from '../../src/http/wire.js';
import { type Acceptor, KeyValueStore, MemoryAcceptor, MemoryProposer, type TraceEvent, UnsupportedError, ZERO_BALLOT } from '../../src/index.js';
import { RemoteProposer } from '../../src/http/proposer-client.js';
import { createNodeServer } from '../../src/http/proposer-server.js';
import { b, bytes, cleanupsAfterEach, fakeServer, host, post } from './support.js';
import { CountingAcceptor, withoutPeek } from '../support/peek-acceptors.js';

const cleanups = cleanupsAfterEach();

async function hosted(acceptor: Acceptor) {
  const h = await host(acceptor);
  const paths: string[] = [];
  h.server.server.on('request', (req: { url?: string }) => paths.push(req.url ?? ''));
  cleanups.push(() => h.server.terminate());
  return { ...h, paths };
}

for (const [name, options, lone, together] of [
  ['v1 (batch: false)', { batch: false }, PATHS.peek, PATHS.peek],
  ['batches', { stream: false }, PATHS.peek, PATHS.batch],
  ['the stream', { fetch: nodeFetch() }, PATHS.stream, PATHS.stream],
] as const) {
  describe(`peeks over ${name}`, () => {
    it('report what was accepted, write nothing, and serve a read that sends no prepare or accept', async () => {
      const inner = ['a1', 'a2', 'a3'].map((a) => new CountingAcceptor(a));
      const servers = await Promise.all(inner.map((a) => hosted(a)));
      const remotes = servers.map((h) => new HttpAcceptor(h.url, options));
      const p = new MemoryProposer('p1', remotes);
      const written = await p.propose('k', () => bytes(7));
      await new Promise((resolve) => setTimeout(resolve, 50)); // the last accept lands
      const before = inner.map((a) => ({ ...a.counts }));
      for (const h of servers) h.paths.length = 0;
      expect(await p.identityRead('k')).toEqual({ state: bytes(7), ballot: written.ballot });
      expect(await p.identityRead('never')).toEqual({ state: null, ballot: ZERO_BALLOT });
      await new Promise((resolve) => setTimeout(resolve, 50)); // stragglers' peeks land too
      for (const [i, a] of inner.entries()) expect(a.counts).toEqual({ ...before[i], peek: 2 });
      // Over HTTP requests (not the stream, opened once), each peek went alone.
      if (lone !== PATHS.stream) for (const h of servers) expect(h.paths).toEqual([lone, lone]);
      expect(inner.map((a) => a.size)).toEqual([1, 1, 1]);
      // Peeks of one turn travel together.
      const remote = remotes[0] as HttpAcceptor;
      (servers[0] as { paths: string[] }).paths.length = 0;
      const replies = await Promise.all(['k', 'x', 'y'].map((k) => remote.peek(k)));
      expect(replies.map((r) => r.accepted)).toEqual([written.ballot, ZERO_BALLOT, ZERO_BALLOT]);
      if (together === PATHS.peek) expect(servers[0]?.paths).toEqual([together, together, together]);
      else if (together === PATHS.batch) expect(servers[0]?.paths).toEqual([together]);
      else expect(servers[0]?.paths).toEqual([]);
      expect(inner[0]?.counts.peek).toBe(5);
    });
  });
}

describe('an older acceptor (no peek)', () => {
  it('a server that does not know /v1/peek nor the batch item: UnsupportedError, then no more requests for a while', async () => {
    let peeks = 0;
    const fake = await fakeServer((req, res) => {
      req.resume();
      res.setHeader('content-type', 'application/json');
      if (req.url === PATHS.batch) {
        peeks++;
        res.end('{"items":[{"error":{"code":"ERR_UNSUPPORTED_OP","message":"no","retryable":false}},{"error":{"code":"ERR_UNSUPPORTED_OP","message":"no","retryable":false}}]}');
        return;
      }
      if (req.url === PATHS.peek) peeks++;
      res.statusCode = 404;
      res.end('{"code":"ERR_NO_ROUTE","message":"no endpoint","retryable":false}');
    });
    cleanups.push(fake.close);
    const remote = new HttpAcceptor(fake.url);
    const outcomes = await Promise.allSettled([remote.peek('a'), remote.peek('b')]);
    for (const o of outcomes) expect(o.status === 'rejected' && o.reason).toBeInstanceOf(UnsupportedError);
    const sent = peeks;
    await expect(remote.peek('c')).rejects.toBeInstanceOf(UnsupportedError);
    expect(peeks).toBe(sent);
  });

  it('a hosted acceptor without peek: 404 on /v1/peek, ERR_UNSUPPORTED_OP in a batch; reads take the full round and are right', async () => {
    const inner = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    const servers = await Promise.all(inner.map((a) => hosted(withoutPeek(a))));
    const direct = await post(servers[0]?.url as string, PATHS.peek, { key: 'k' });
    expect(direct.status).toBe(404);
    expect(JSON.parse(direct.body)).toMatchObject({ code: 'ERR_NO_ROUTE' });
    const batch = await post(servers[0]?.url as string, PATHS.batch, { items: [{ op: 'peek', key: 'k' }] });
    expect(JSON.parse(batch.body)).toMatchObject({ items: [{ error: { code: 'ERR_UNSUPPORTED_OP' } }] });
    const events: TraceEvent[] = [];
    const p = new MemoryProposer('p1', servers.map((h) => new HttpAcceptor(h.url)), { tracer: (e) => events.push(e) });
    await p.propose('k', () => bytes(1));
    expect((await p.identityRead('k')).state).toEqual(bytes(1));
    expect(events.filter((e) => e.type === 'fast-read').map((e) => e.type === 'fast-read' && e.reason)).toEqual(['unsupported']);
    expect(events.some((e) => e.type === 'accept-sent')).toBe(true);
    // The next read skips the peeks at once (the clients remember), and is still right.
    events.length = 0;
    expect((await p.identityRead('k')).state).toEqual(bytes(1));
    expect(events.find((e) => e.type === 'fast-read')).toMatchObject({ outcome: 'fallback', reason: 'unsupported' });
  });

  it('a peek request with an unknown field is refused whole (400), as every strict request is', async () => {
    const h = await hosted(new MemoryAcceptor('a'));
    const reply = await post(h.url, PATHS.peek, { key: 'k', ballot: b(1) });
    expect(reply.status).toBe(400);
    const ok = await post(h.url, PATHS.peek, { key: 'k' });
    expect(JSON.parse(ok.body)).toEqual({ type: 'peeked', accepted: { counter: 0, id: '' }, state: null });
  });
});

describe("a node's peer route identity-read (RemoteProposer)", () => {
  it('reads without writing, unless writeBack asks for the full round', async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new CountingAcceptor(a));
    const proposer = new MemoryProposer('p1', acceptors);
    const node = createNodeServer({ proposer, kv: new KeyValueStore({ proposer }), acceptorAt: () => new MemoryAcceptor('x'), operations: { grow: async () => {}, shrink: async () => {}, collect: async () => {} } });
    const { url: base } = await node.listen();
    cleanups.push(() => node.close());
    const written = await proposer.propose('k', () => bytes(3));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const accepts = (): number => acceptors.reduce((n, a) => n + a.counts.accept, 0);
    const before = accepts();
    const remote = new RemoteProposer(base);
    expect(await remote.identityRead('k')).toEqual({ state: bytes(3), ballot: written.ballot });
    expect(accepts()).toBe(before);
    const full = await remote.identityRead('k', { writeBack: true });
    expect(full.state).toEqual(bytes(3));
    expect(full.ballot).not.toEqual(written.ballot);
    expect(accepts()).toBeGreaterThanOrEqual(before + 2);
  });
});
