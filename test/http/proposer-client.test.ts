/**
 * `RemoteProposer`, the client of a node's proposer API that grow, shrink and garbage collection
 * use to reach every proposer of the cluster, over both `fetch`es it is given in practice: Node's
 * built-in one (the default) and `nodeFetch()` (what `caspaxos node` passes).
 */
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, KeyValueStore, MemoryAcceptor, MemoryProposer, UnavailableError } from '../../src/index.js';
import { HttpAcceptor } from '../../src/http/acceptor-client.js';
import { nodeFetch } from '../../src/http/node-fetch.js';
import { RemoteProposer, watchNodeKey } from '../../src/http/proposer-client.js';
import { type NodeServer, createNodeServer } from '../../src/http/proposer-server.js';

const SECRET = 'remote-secret';
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (s: Uint8Array | null): string | null => (s === null ? null : new TextDecoder().decode(s));

let server: NodeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(): Promise<{ url: string; proposer: MemoryProposer }> {
  const acceptors = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
  const proposer = new MemoryProposer('n1', acceptors);
  server = createNodeServer({
    proposer,
    kv: new KeyValueStore<unknown>({ proposer }),
    acceptorAt: (address) => new MemoryAcceptor(address),
    operations: { grow: async () => {}, shrink: async () => {}, collect: async () => {} },
  }, { secret: SECRET, clusterId: 'c1' });
  return { url: (await server.listen()).url, proposer };
}

describe.each([
  ['the built-in fetch', undefined],
  ['nodeFetch()', nodeFetch()],
])('RemoteProposer over %s', (_, fetch) => {
  it('reads, fast-forwards and lists keys like the proposer it reaches', async () => {
    const { url, proposer } = await serve();
    await proposer.propose('k1', () => enc('one'));
    await proposer.propose('k2', () => enc('two'));
    const remote = new RemoteProposer(url, { secret: SECRET, clusterId: 'c1', fetch });
    const read = await remote.identityRead('k1');
    expect(dec(read.state)).toBe('one');
    expect(dec((await remote.fullIdentityRead('k2')).state)).toBe('two');
    const age = await remote.fastForwardIncrement('k1', { counter: 40, id: 'x' });
    expect(age).toEqual(proposer.age);
    // The fast-forward reached the proposer: its next ballot on the key is above 40.
    expect((await proposer.propose('k1', (s) => s)).ballot.counter).toBeGreaterThan(40);
    const keys: string[] = [];
    for await (const key of remote.listKeys()) keys.push(key);
    expect(keys.filter((k) => !k.startsWith('\u0000')).sort()).toEqual(['k1', 'k2']);
  });

  it('the node\'s verdicts keep their codes; a wrong cluster or an unreachable node is a proposer not reached; a wrong secret is the caller\'s mistake', async () => {
    const { url } = await serve();
    // A verdict of the node comes back as its typed error: a ballot beyond the maximum counter.
    const remote = new RemoteProposer(url, { secret: SECRET, clusterId: 'c1', fetch });
    await expect(remote.fastForwardIncrement('k', { counter: 2 ** 50, id: 'x' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', retryable: false });
    const wrongCluster = new RemoteProposer(url, { secret: SECRET, clusterId: 'other', fetch });
    await expect(wrongCluster.identityRead('k')).rejects.toSatisfy((e) => e instanceof UnavailableError && /ERR_WRONG_CLUSTER, HTTP 421/.test(e.message));
    const wrongSecret = new RemoteProposer(url, { secret: 'nope', clusterId: 'c1', fetch });
    await expect(wrongSecret.identityRead('k')).rejects.toSatisfy((e) => e instanceof InvalidArgumentError && !e.retryable && /ERR_UNAUTHORIZED, HTTP 401/.test(e.message));
    await server?.close();
    server = undefined;
    await expect(new RemoteProposer(url, { secret: SECRET, clusterId: 'c1', fetch }).identityRead('k')).rejects.toBeInstanceOf(UnavailableError);
  });

  it('a node that does not answer within timeoutMs, or answers an error page, is a proposer not reached; the caller\'s abort rejects with its reason', async () => {
    // Holds every request unanswered, except /v1/proposer/full-identity-read: a proxy's 502 page.
    const silent = createHttpServer((req, res) => {
      if (req.url === '/v1/proposer/full-identity-read') res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad Gateway</h1>');
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const started = performance.now();
      await expect(new RemoteProposer(url, { timeoutMs: 80, fetch }).identityRead('k')).rejects.toSatisfy((e) => e instanceof UnavailableError && /timeout/i.test(e.message));
      expect(performance.now() - started).toBeGreaterThanOrEqual(75);
      await expect(new RemoteProposer(url, { fetch }).fullIdentityRead('k')).rejects.toSatisfy((e) => e instanceof UnavailableError && /HTTP 502/.test(e.message));
      const controller = new AbortController();
      const reason = new Error('the caller gave up');
      const call = new RemoteProposer(url, { fetch }).fastForwardIncrement('k', { counter: 1, id: 'x' }, { signal: controller.signal });
      setTimeout(() => controller.abort(reason), 20);
      await expect(call).rejects.toBe(reason);
      await expect(new RemoteProposer(url, { fetch }).identityRead('k', { signal: controller.signal })).rejects.toBe(reason);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('secrets', () => {
  it.each(['two words', 'tab\there', 'ünïcode', ''])('%j is refused by the server and by every client, before anything is sent', async (secret) => {
    const proposer = new MemoryProposer('n1', [new MemoryAcceptor('a1')]);
    const context = { proposer, kv: new KeyValueStore<unknown>({ proposer }), acceptorAt: (address: string) => new MemoryAcceptor(address), operations: { grow: async () => {}, shrink: async () => {}, collect: async () => {} } };
    expect(() => createNodeServer(context, { secret })).toThrow(InvalidArgumentError);
    expect(() => new RemoteProposer('http://127.0.0.1:1', { secret })).toThrow(InvalidArgumentError);
    expect(() => new HttpAcceptor('http://127.0.0.1:1', { secret })).toThrow(InvalidArgumentError);
    await expect(watchNodeKey('http://127.0.0.1:1', 'k', { secret })[Symbol.asyncIterator]().next()).rejects.toThrow(InvalidArgumentError);
  });

  it('visible ASCII beyond the base64 alphabet authenticates', async () => {
    const secret = 'p@ss!word#$%&*()[]{}<>?';
    const proposer = new MemoryProposer('n1', [new MemoryAcceptor('a1')]);
    server = createNodeServer({ proposer, kv: new KeyValueStore<unknown>({ proposer }), acceptorAt: (address) => new MemoryAcceptor(address), operations: { grow: async () => {}, shrink: async () => {}, collect: async () => {} } }, { secret });
    const { url } = await server.listen();
    expect((await new RemoteProposer(url, { secret }).identityRead('k')).state).toBeNull();
  });
});
