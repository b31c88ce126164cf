/**
 * Issue 11's amnesia sequence, end to end with the CLI (three `caspaxos acceptor` processes, one
 * `caspaxos node`): put 20 keys = v1; kill -9 a3; put the keys = v2 (acknowledged by a1 + a2);
 * restart a3 (it holds v1); kill -9 a1, wipe its directory, restart it; kill -9 a2; restart the
 * node. Before acceptor identities, a1 came back blank and the quorum {a1, a3} read v1 for 20 of
 * 20 keys and re-committed it: every acknowledged v2 lost. Now:
 *  - a1 refuses to start on its wiped directory (exit 3), and on a data.mdb truncated to 0 bytes
 *    (exit 6);
 *  - initialised anew (a new incarnation) it starts, but the node does not count it: with a2 down,
 *    reads fail (503) rather than answer v1;
 *  - a2 back, the cluster answers v2 for every key from a2 and a3;
 *  - the membership procedure (shrink the old a1, grow the new) copies every key onto the new a1,
 *    and with a2 down again the cluster answers v2 from a1 and a3.
 * 0 acknowledged writes lost. The negative control (a proposer that counts any incarnation loses
 * the write) is in test/crash/lmdb-acceptors.crash.test.ts.
 */
import { truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AcceptorProcess, type NodeProcess, startAcceptorProcess, startNodeProcess } from '../support/cli-process.js';

const SECRET = 'amnesia-secret';
const env = { CASPAXOS_SECRET: SECRET };
const KEYS = Array.from({ length: 20 }, (_, i) => `k${i}`);

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Reads every key through the node: how many answered v1, v2, or failed (a status other than 200). */
async function readAll(node: string): Promise<{ v1: number; v2: number; failed: number; statuses: number[] }> {
  const replies = await Promise.all(KEYS.map((k) => call(node, 'GET', `/v1/kv/${k}`)));
  const values = replies.map((r) => (r.status === 200 ? (r.body.value as { v: number }).v : undefined));
  return { v1: values.filter((v) => v === 1).length, v2: values.filter((v) => v === 2).length, failed: values.filter((v) => v === undefined).length, statuses: replies.map((r) => r.status) };
}

describe('the amnesia sequence of issue 11, with the CLI', () => {
  let acceptors: AcceptorProcess[] = [];
  let node: NodeProcess | undefined;

  beforeAll(async () => {
    acceptors = await Promise.all([0, 1, 2].map(() => startAcceptorProcess([], env)));
    node = await startNodeProcess(['--id', 'n1', '--acceptors', acceptors.map((a) => a.url).join(','), '--sweep-interval-ms', '0', '--timeout-ms', '1000'], env);
  }, 90_000);

  afterAll(async () => {
    await node?.stop();
    await Promise.all(acceptors.map((a) => a.stop()));
  });

  it('ends with 0 acknowledged writes lost: the damaged acceptor refuses to start, the cluster answers from the other two', async () => {
    const [a1, a2, a3] = acceptors as [AcceptorProcess, AcceptorProcess, AcceptorProcess];
    const n = node as NodeProcess;
    for (const k of KEYS) expect((await call(n.url, 'PUT', `/v1/kv/${k}`, { value: { v: 1 } })).status).toBe(200);
    await a3.kill();
    const acknowledged = await Promise.all(KEYS.map((k) => call(n.url, 'PUT', `/v1/kv/${k}`, { value: { v: 2 } })));
    expect(acknowledged.every((r) => r.status === 200)).toBe(true);
    await a3.restart();

    await a1.kill();
    a1.wipe();
    const wiped = await a1.refusedStart();
    expect(wiped.code).toBe(3);
    expect(wiped.stderr).toMatch(/is empty: this acceptor has no data/);
    // The same for a data.mdb truncated to 0 bytes (damaged, not empty): initialise, truncate.
    await a1.init();
    truncateSync(join(a1.dir, 'data.mdb'), 0);
    const truncated = await a1.refusedStart();
    expect(truncated.code).toBe(6);
    expect(truncated.stderr).toMatch(/data\.mdb is empty \(0 bytes\)/);
    // The operator initialises it anew: it starts as a new incarnation.
    a1.wipe();
    await a1.init();
    await a1.restart();

    await a2.kill();
    await n.kill();
    await n.restart();

    // a1 is a new incarnation (not counted), a2 is down: no quorum, so no answer at all.
    const withoutQuorum = await readAll(n.url);
    console.log(`amnesia sequence, a2 down: ${JSON.stringify({ v1: withoutQuorum.v1, v2: withoutQuorum.v2, failed: withoutQuorum.failed })}`);
    expect(withoutQuorum.v1).toBe(0);
    expect(withoutQuorum.failed).toBe(KEYS.length);
    expect(new Set(withoutQuorum.statuses)).toEqual(new Set([503]));
    const ready = await fetch(`${n.url}/v1/ready`);
    expect(ready.status).toBe(503);

    await a2.restart();
    const fromTheOtherTwo = await readAll(n.url);
    console.log(`amnesia sequence, a2 back: ${JSON.stringify({ v1: fromTheOtherTwo.v1, v2: fromTheOtherTwo.v2, failed: fromTheOtherTwo.failed })}`);
    expect(fromTheOtherTwo).toMatchObject({ v1: 0, v2: KEYS.length, failed: 0 });

    // The membership procedure: shrink the old a1 (named by its URL), grow the new one.
    const shrunk = await call(n.url, 'POST', '/v1/admin/shrink', { acceptor: a1.url });
    expect(shrunk.status, JSON.stringify(shrunk.body)).toBe(200);
    const grown = await call(n.url, 'POST', '/v1/admin/grow', { acceptor: a1.url });
    expect(grown.status, JSON.stringify(grown.body)).toBe(200);
    expect(grown.body.accepters).toContain(a1.address);
    await a2.kill();
    const afterReplacement = await readAll(n.url);
    console.log(`amnesia sequence, a1 replaced, a2 down: ${JSON.stringify({ v1: afterReplacement.v1, v2: afterReplacement.v2, failed: afterReplacement.failed })}`);
    expect(afterReplacement).toMatchObject({ v1: 0, v2: KEYS.length, failed: 0 });
    await a2.restart();
  }, 240_000);
});
