/**
 * Issue 11 over HTTP, in one process: three acceptor servers, a node (`createNodeServer`, its
 * key-value store and proposer over `HttpAcceptor`s). A hostile prepare at 2^48 - 1, sent straight
 * to the acceptors as any authenticated client could, makes that key's writes answer 409
 * `ERR_BALLOTS_EXHAUSTED` (after its one remaining write; its reads still answer) and no other key's; the peer API's
 * `fast-forward-increment` answers 409 too for a ballot far ahead (it would raise every
 * acceptor's tombstone floor through a collection), and changes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HttpAcceptor } from '../../src/http/acceptor-client.js';
import { type NodeServer, createNodeServer } from '../../src/http/proposer-server.js';
import { PATHS } from '../../src/http/wire.js';
import { MAX_BALLOT_COUNTER } from '../../src/core/ballot.js';
import { MAX_BALLOT_JUMP } from '../../src/core/key-ballots.js';
import { KeyValueStore, MemoryAcceptor, MemoryProposer } from '../../src/index.js';
import { type Hosted, host, post } from './support.js';

const hosted: Hosted[] = [];
let node: NodeServer | undefined;
let store: KeyValueStore<unknown> | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
  await store?.close();
  store = undefined;
  for (const h of hosted.splice(0)) await h.server.close();
});

const send = (base: string, method: string, path: string, body?: unknown) =>
  fetch(`${base}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

describe('hostile ballots over HTTP', () => {
  it('a prepare at 2^48 - 1 on one key: that key answers 409 ERR_BALLOTS_EXHAUSTED, every other key works', async () => {
    for (let i = 0; i < 3; i++) hosted.push(await host(new MemoryAcceptor(`a${i}`)));
    const proposer = new MemoryProposer('node1', hosted.map((h) => new HttpAcceptor(h.url)));
    store = new KeyValueStore({ proposer });
    node = createNodeServer({
      proposer,
      kv: store,
      acceptorAt: () => new MemoryAcceptor('x'),
      operations: { grow: async () => {}, shrink: async () => {}, collect: async () => {} },
    });
    const { url: base } = await node.listen();
    expect((await send(base, 'PUT', '/v1/kv/good', { value: 1 })).status).toBe(200);

    for (const h of hosted) {
      const reply = await post(h.url, PATHS.prepare, { key: 'bad', age: { counter: 0, id: 'evil' }, ballot: { counter: MAX_BALLOT_COUNTER - 1, id: 'evil' } });
      expect(reply.status).toBe(200);
    }
    expect((await send(base, 'PUT', '/v1/kv/bad', { value: 'last' })).status).toBe(200);
    const refused = await send(base, 'PUT', '/v1/kv/bad', { value: 'more' });
    expect(refused).toMatchObject({ status: 409, body: { code: 'ERR_BALLOTS_EXHAUSTED', retryable: false } });
    // Reads need no ballot when the acceptors agree (a peek): the key's last value still reads.
    expect(await send(base, 'GET', '/v1/kv/bad')).toMatchObject({ status: 200, body: { value: 'last' } });

    expect((await send(base, 'PUT', '/v1/kv/good', { value: 2 })).status).toBe(200);
    expect(await send(base, 'GET', '/v1/kv/good')).toMatchObject({ status: 200, body: { value: 2 } });
    expect((await send(base, 'PUT', '/v1/kv/new', { value: 3 })).status).toBe(200);
    expect(proposer.inspect().counter).toBeLessThan(2 * MAX_BALLOT_JUMP);

    // The peer API: a far fast-forward is refused and changes nothing; a near one works.
    const far = await send(base, 'POST', '/v1/proposer/fast-forward-increment', { key: 'k', ballot: { counter: MAX_BALLOT_COUNTER - 1, id: 'evil' } });
    expect(far).toMatchObject({ status: 409, body: { code: 'ERR_BALLOTS_EXHAUSTED' } });
    expect(proposer.age.counter).toBe(0);
    const near = await send(base, 'POST', '/v1/proposer/fast-forward-increment', { key: 'k', ballot: { counter: 1000, id: 'q' } });
    expect(near).toMatchObject({ status: 200, body: { age: { counter: 1 } } });
  });
});
