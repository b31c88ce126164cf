/**
 * Issue 11 with real processes: three `caspaxos acceptor`s and a `caspaxos node`. One authenticated
 * prepare at counter 2^48 - 1, sent straight to the acceptors (as `curl` with the secret and the
 * cluster id header would), makes its key's writes answer 409 `ERR_BALLOTS_EXHAUSTED` once its last ballot
 * is used; writes to other keys succeed, and again after the node restarts (a new incarnation,
 * which meets the key again).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BALLOT_COUNTER } from '../../src/core/ballot.js';
import { CLUSTER_HEADER, PATHS } from '../../src/http/wire.js';
import { type AcceptorProcess, type NodeProcess, TEST_CLUSTER, startAcceptorProcess, startNodeProcess } from '../support/cli-process.js';

const SECRET = 'hostile-ballots-secret';
const env = { CASPAXOS_SECRET: SECRET };
const headers = { 'content-type': 'application/json', authorization: `Bearer ${SECRET}`, [CLUSTER_HEADER]: TEST_CLUSTER };

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('a hostile ballot against caspaxos processes', () => {
  let acceptors: AcceptorProcess[] = [];
  let node: NodeProcess | undefined;
  let args: string[] = [];

  beforeAll(async () => {
    acceptors = await Promise.all([0, 1, 2].map(() => startAcceptorProcess([], env)));
    args = ['--id', 'n1', '--acceptors', acceptors.map((a) => a.url).join(','), '--sweep-interval-ms', '0'];
    node = await startNodeProcess(args, env);
  }, 90_000);

  afterAll(async () => {
    await node?.stop();
    await Promise.all(acceptors.map((a) => a.stop()));
  });

  it('uses up its own key only, also after the node restarts', async () => {
    const base = (node as NodeProcess).url;
    expect((await call(base, 'PUT', '/v1/kv/good', { value: 1 })).status).toBe(200);
    for (const acceptor of acceptors) {
      const reply = await call(acceptor.url, 'POST', PATHS.prepare, { key: 'bad', age: { counter: 0, id: 'evil' }, ballot: { counter: MAX_BALLOT_COUNTER - 1, id: 'evil' } });
      expect(reply.status).toBe(200);
    }
    // Its last ballot (2^48) writes once; then the key is out of ballots.
    expect((await call(base, 'PUT', '/v1/kv/bad', { value: 'last' })).status).toBe(200);
    expect(await call(base, 'PUT', '/v1/kv/bad', { value: 'more' })).toMatchObject({ status: 409, body: { code: 'ERR_BALLOTS_EXHAUSTED', retryable: false } });
    for (let i = 0; i < 5; i++) expect((await call(base, 'PUT', `/v1/kv/other${i}`, { value: i })).status).toBe(200);
    expect(await call(base, 'GET', '/v1/kv/good')).toMatchObject({ status: 200, body: { value: 1 } });

    await (node as NodeProcess).kill();
    await (node as NodeProcess).restart(args);
    const again = (node as NodeProcess).url;
    // Its last value still reads (a read that writes nothing needs no ballot); writes get 409.
    expect(await call(again, 'GET', '/v1/kv/bad')).toMatchObject({ status: 200, body: { value: 'last' } });
    expect(await call(again, 'PUT', '/v1/kv/bad', { value: 'more' })).toMatchObject({ status: 409, body: { code: 'ERR_BALLOTS_EXHAUSTED' } });
    expect((await call(again, 'PUT', '/v1/kv/good', { value: 2 })).status).toBe(200);
    expect(await call(again, 'GET', '/v1/kv/good')).toMatchObject({ status: 200, body: { value: 2 } });
    expect((await call(again, 'PUT', '/v1/kv/new', { value: 3 })).status).toBe(200);
  }, 60_000);
});
