/**
 * Acceptor identity over HTTP (wire.ts, "Identity"), the server's limits as the client learns
 * them, and the ballot limit, with servers on loopback:
 *  - a server with an identity answers only requests naming its cluster (and, if named, its
 *    incarnation): 421 otherwise, and the acceptor is unchanged; replies carry its identity;
 *  - a client with a cluster id refuses replies from another cluster, from an acceptor without an
 *    identity, or (pinned) from another incarnation, over v1, batches and the stream alike, so a
 *    proposer never counts such an acceptor;
 *  - `identify()` reports the identity and limits, and batches are cut to fit the server's limit;
 *  - requests with a ballot counter above MAX_BALLOT_COUNTER get 400 and change nothing, on the
 *    acceptor server and on the node's fast-forward-increment.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HttpAcceptor } from '../../src/http/acceptor-client.js';
import { nodeFetch } from '../../src/http/node-fetch.js';
import { type NodeServer, createNodeServer } from '../../src/http/proposer-server.js';
import { CLUSTER_HEADER, INCARNATION_HEADER, PATHS } from '../../src/http/wire.js';
import { MAX_BALLOT_COUNTER } from '../../src/core/ballot.js';
import { InvalidArgumentError, type KeyValueStore, MemoryAcceptor, MemoryProposer, PrepareFailedError, UnavailableError } from '../../src/index.js';
import { type Hosted, host, post, raw } from './support.js';

const C1 = { clusterId: 'c1', incarnation: 'incarnation-one' };
const age = { counter: 0, id: 'p' };
const ballot = (counter: number) => ({ counter, id: 'p' });
const enc = (s: string) => new TextEncoder().encode(s);

const hosted: Hosted[] = [];
let node: NodeServer | undefined;
afterEach(async () => {
  await Promise.all(hosted.splice(0).map((h) => h.server.terminate()));
  await node?.close();
  node = undefined;
});

async function serve(options: Parameters<typeof host>[1] = {}): Promise<Hosted & { acceptor: MemoryAcceptor }> {
  const acceptor = new MemoryAcceptor('a');
  const h = await host(acceptor, options);
  hosted.push(h);
  return { ...h, acceptor };
}

describe('a server with an identity', () => {
  it('answers 421 to requests of another cluster, of none, or for another incarnation, and changes nothing', async () => {
    const { url, acceptor } = await serve({ identity: C1 });
    const body = { key: 'k', age, ballot: ballot(1) };
    const cases: Array<[Record<string, string>, string]> = [
      [{}, 'ERR_WRONG_CLUSTER'],
      [{ [CLUSTER_HEADER]: 'c2' }, 'ERR_WRONG_CLUSTER'],
      [{ [CLUSTER_HEADER]: 'c1', [INCARNATION_HEADER]: 'incarnation-two' }, 'ERR_WRONG_INCARNATION'],
    ];
    for (const [headers, code] of cases) {
      const reply = await raw(url, { path: PATHS.prepare, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      expect(reply.status, JSON.stringify(headers)).toBe(421);
      expect(JSON.parse(reply.body)).toMatchObject({ code });
      expect(reply.headers[CLUSTER_HEADER]).toBe('c1');
      expect(reply.headers[INCARNATION_HEADER]).toBe('incarnation-one');
    }
    expect(acceptor.inspect('k')).toBeUndefined();
    // Negative control: the same request naming the cluster (and the incarnation) runs.
    const ok = await raw(url, { path: PATHS.prepare, headers: { 'content-type': 'application/json', [CLUSTER_HEADER]: 'c1', [INCARNATION_HEADER]: 'incarnation-one' }, body: JSON.stringify(body) });
    expect(ok.status).toBe(200);
    expect(acceptor.inspect('k')?.promise).toEqual(ballot(1));
  });

  it('refuses a stream of another cluster at the upgrade', async () => {
    const { url } = await serve({ identity: C1 });
    const reply = await raw(url, { method: 'GET', path: PATHS.stream, headers: { connection: 'Upgrade', upgrade: 'caspaxos-frames/2', [CLUSTER_HEADER]: 'c2' } });
    expect(reply.status).toBe(421);
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'ERR_WRONG_CLUSTER' });
  });

  it('GET /v1/identity answers the identity and the limits, to authenticated callers only', async () => {
    const { url } = await serve({ identity: C1, secret: 's', maxBodyBytes: 50_000, maxKeyBytes: 100 });
    expect((await raw(url, { method: 'GET', path: PATHS.identity })).status).toBe(401);
    const reply = await raw(url, { method: 'GET', path: PATHS.identity, headers: { authorization: 'Bearer s' } });
    expect(JSON.parse(reply.body)).toEqual({ cluster: 'c1', incarnation: 'incarnation-one', maxBodyBytes: 50_000, maxKeyBytes: 100 });
    const client = new HttpAcceptor(url, { secret: 's' });
    expect(await client.identify()).toEqual({ identity: C1, maxBodyBytes: 50_000, maxKeyBytes: 100 });
  });
});

describe('a client that knows its cluster (and its member)', () => {
  it('talks to its member over v1, batches and the stream; the address names the incarnation', async () => {
    const { url } = await serve({ identity: C1 });
    for (const [i, options] of [{ batch: false }, { stream: false }, { fetch: nodeFetch() }].entries()) {
      const client = new HttpAcceptor(`${url}#incarnation-one`, { clusterId: 'c1', ...options });
      expect(client.address).toBe(`${url}#incarnation-one`);
      expect(client.url).toBe(url);
      const replies = await Promise.all([client.prepare(`a${i}`, age, ballot(5)), client.prepare(`b${i}`, age, ballot(5))]);
      expect(replies.map((r) => r.type)).toEqual(['promised', 'promised']);
    }
  });

  it.each([
    ['over v1', { batch: false }],
    ['over batches', { stream: false }],
    ['over the stream', { fetch: nodeFetch() }],
  ])('refuses %s an acceptor of another cluster, one without identity, and another incarnation', async (_name, options) => {
    const other = await serve({ identity: { clusterId: 'c2', incarnation: 'incarnation-one' } });
    const plain = await serve();
    const reborn = await serve({ identity: { clusterId: 'c1', incarnation: 'incarnation-two' } });
    const cases: Array<[string, RegExp]> = [
      [other.url, /ERR_WRONG_CLUSTER|cluster "c2"/],
      [plain.url, /no acceptor identity/],
      [`${reborn.url}#incarnation-one`, /ERR_WRONG_INCARNATION|incarnation incarnation-two/],
    ];
    for (const [target, message] of cases) {
      const client = new HttpAcceptor(target, { clusterId: 'c1', ...options });
      const errors = await Promise.all([client.prepare('a', age, ballot(5)), client.prepare('b', age, ballot(5))].map((p) => p.catch((e: unknown) => e)));
      for (const error of errors) {
        expect(error, target).toBeInstanceOf(UnavailableError);
        expect((error as Error).message).toMatch(message);
      }
    }
    // The servers that check refused before running anything.
    expect(other.acceptor.inspect('a')).toBeUndefined();
    expect(reborn.acceptor.inspect('a')).toBeUndefined();
  });

  it('a proposer does not count an acceptor initialised anew at a member\'s address', async () => {
    const a1 = await serve({ identity: { clusterId: 'c1', incarnation: 'a1-incarnation' } });
    const a2 = await serve({ identity: { clusterId: 'c1', incarnation: 'a2-second-life' } });
    const clients = [`${a1.url}#a1-incarnation`, `${a2.url}#a2-first-life`, 'http://127.0.0.1:9'].map((u) => new HttpAcceptor(u, { clusterId: 'c1', timeoutMs: 500 }));
    const proposer = new MemoryProposer('p', clients, { retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 } });
    await expect(proposer.propose('k', () => enc('v'))).rejects.toBeInstanceOf(PrepareFailedError);
    expect(a2.acceptor.inspect('k')).toBeUndefined();
    // Negative control: a client that knows a2's current incarnation counts it.
    const current = [`${a1.url}#a1-incarnation`, `${a2.url}#a2-second-life`].map((u) => new HttpAcceptor(u, { clusterId: 'c1' }));
    expect((await new MemoryProposer('q', current).propose('k', () => enc('v'))).state).toEqual(enc('v'));
  });

  it('rejects an incarnation without a cluster id, and a malformed one', () => {
    expect(() => new HttpAcceptor('http://127.0.0.1:1#incarnation-one')).toThrow(InvalidArgumentError);
    expect(() => new HttpAcceptor('http://127.0.0.1:1#no', { clusterId: 'c1' })).toThrow(InvalidArgumentError);
    expect(() => new HttpAcceptor('http://127.0.0.1:1', { clusterId: 'not a cluster' })).toThrow(InvalidArgumentError);
  });
});

describe("the server's body limit, as the client learns it", () => {
  it('batches are cut to fit it, and a request that cannot fit is refused at once', async () => {
    const bodies: number[] = [];
    const { url, server } = await serve({ identity: C1, maxBodyBytes: 20_000 });
    server.server.on('request', (req) => bodies.push(Number(req.headers['content-length'] ?? 0)));
    const client = new HttpAcceptor(`${url}#incarnation-one`, { clusterId: 'c1', stream: false });
    await client.identify();
    // 24 accepts of ~4 KiB of base64 each in one turn: one batch would be ~100 KB.
    const state = new Uint8Array(3000).fill(7);
    const replies = await Promise.all(Array.from({ length: 24 }, (_, i) => client.accept(`k${i}`, age, ballot(1), state)));
    expect(replies.every((r) => r.type === 'accepted')).toBe(true);
    expect(bodies.length).toBeGreaterThan(4);
    expect(Math.max(...bodies)).toBeLessThanOrEqual(20_000);
    // Too large for the server even alone: refused without a request.
    const before = bodies.length;
    await expect(client.accept('big', age, ballot(1), new Uint8Array(16_000))).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(bodies.length).toBe(before);
  });

  it('negative control: without identify(), a batch over the limit is sent and refused (413)', async () => {
    const { url } = await serve({ identity: C1, maxBodyBytes: 20_000 });
    const client = new HttpAcceptor(`${url}#incarnation-one`, { clusterId: 'c1', stream: false });
    const state = new Uint8Array(3000).fill(7);
    const outcomes = await Promise.all(Array.from({ length: 24 }, (_, i) => client.accept(`k${i}`, age, ballot(1), state).then(() => 'ok', (e: unknown) => (e as Error).message)));
    expect(outcomes.some((o) => /HTTP 413|exceeds/.test(o))).toBe(true);
  });
});

describe('the ballot limit (MAX_BALLOT_COUNTER = 2^48)', () => {
  it('the acceptor server refuses a prepare, an accept, a batch item and a tombstone above it with 400, and changes nothing', async () => {
    const { url, acceptor } = await serve();
    const high = ballot(MAX_BALLOT_COUNTER + 1);
    const requests: Array<[string, object]> = [
      [PATHS.prepare, { key: 'k', age, ballot: high }],
      [PATHS.prepare, { key: 'k', age, ballot: ballot(Number.MAX_SAFE_INTEGER) }],
      [PATHS.accept, { key: 'k', age, ballot: high, state: null }],
      [PATHS.accept, { key: 'k', age, ballot: ballot(1), state: null, next: high }],
      [PATHS.batch, { items: [{ op: 'prepare', key: 'k', age, ballot: high }] }],
      [PATHS.removeIfEqual, { key: 'k', tombstone: { ballot: high, state: null } }],
    ];
    for (const [path, body] of requests) {
      const reply = await post(url, path, body);
      expect(reply.status, `${path} ${JSON.stringify(body)}`).toBe(400);
    }
    expect(acceptor.inspect('k')).toBeUndefined();
    // At the limit itself: accepted (negative control).
    expect((await post(url, PATHS.prepare, { key: 'k', age, ballot: ballot(MAX_BALLOT_COUNTER) })).status).toBe(200);
    expect(acceptor.inspect('k')?.promise).toEqual(ballot(MAX_BALLOT_COUNTER));
  });

  it("the node's fast-forward-increment refuses a ballot above it with 400, and its proposer's counter stays", async () => {
    const proposer = new MemoryProposer('p1', [new MemoryAcceptor('a1')]);
    node = createNodeServer({
      proposer,
      kv: {} as KeyValueStore<unknown>,
      acceptorAt: () => new MemoryAcceptor('x'),
      operations: { grow: async () => {}, shrink: async () => {}, collect: async () => {} },
    });
    const { url: base } = await node.listen();
    const send = (counter: number) =>
      fetch(`${base}/v1/proposer/fast-forward-increment`, { method: 'POST', body: JSON.stringify({ key: 'k', ballot: { counter, id: 'evil' } }) });
    expect((await send(MAX_BALLOT_COUNTER + 1)).status).toBe(400);
    expect((await send(Number.MAX_SAFE_INTEGER)).status).toBe(400);
    expect(proposer.inspect().counter).toBe(0);
    // Negative control: within the limit it fast-forwards.
    expect((await send(41)).status).toBe(200);
    expect(proposer.inspect().counter).toBeGreaterThanOrEqual(41);
  });
});
