/**
 * Durable membership with real processes: two `caspaxos node`s (peers) over `caspaxos acceptor`s,
 * clients reading and read-modify-writing through both nodes' HTTP APIs the whole time, while the
 * cluster grows (a4), every node is killed and restarted with its original, now stale, command line
 * (--acceptors a1,a2,a3), the cluster shrinks (a1), every node is restarted again, and a1 is stopped
 * for good. The history must pass the exact chain checker; after each restart every node runs with
 * the current members (from its membership.json, not its command line); and a new node started
 * with the stale list is refused (exit 8) by its peers check. Needs the built CLI.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkChain } from '../../src/check/chain.js';
import { SeededRandom } from '../../src/sim/random.js';
import { runCrashWorkload } from '../crash/crash-workload.js';
import { type AcceptorProcess, type NodeProcess, runCli, startAcceptorProcess, startNodeProcess } from '../support/cli-process.js';
import { httpProposer } from '../support/node-http-proposer.js';

const SEED = Number(process.env.CRASH_SEED ?? 20261211);
const SECRET = 'membership-secret';
const env = { CASPAXOS_SECRET: SECRET };

async function admin(base: string, method: string, action: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}/v1/admin/${action}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('membership survives node restarts (grow, restart every node, shrink, restart again, under load)', () => {
  let acceptors: AcceptorProcess[] = [];
  const nodes: NodeProcess[] = [];
  let stale = '';

  beforeAll(async () => {
    acceptors = await Promise.all([0, 1, 2, 3].map(() => startAcceptorProcess([], env)));
    stale = acceptors
      .slice(0, 3)
      .map((a) => a.url)
      .join(',');
    const n1 = await startNodeProcess(['--id', 'n1', '--acceptors', stale, '--sweep-interval-ms', '0', '--timeout-ms', '1000'], env);
    const n2 = await startNodeProcess(['--id', 'n2', '--acceptors', stale, '--peers', n1.url, '--sweep-interval-ms', '0', '--timeout-ms', '1000'], env);
    await n1.kill();
    // Every later restart of n1 uses this command line, whose --acceptors becomes stale.
    await n1.restart(['--id', 'n1', '--acceptors', stale, '--peers', n2.url, '--sweep-interval-ms', '0', '--timeout-ms', '1000']);
    nodes.push(n1, n2);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await Promise.all(acceptors.map((a) => a.stop()));
  });

  /** Kills and restarts every node, one at a time (the other keeps serving), with its first command line. */
  async function restartEveryNode(): Promise<void> {
    for (const node of nodes) {
      await node.kill();
      await node.restart();
    }
  }

  async function membersOf(node: NodeProcess): Promise<{ preparers: string[]; accepters: string[] }> {
    return (await admin(node.url, 'GET', 'acceptors')).body as { preparers: string[]; accepters: string[] };
  }

  it(`keeps the history linearizable, and every restarted node runs with the current members (seed ${SEED})`, async () => {
    const [a1, a2, a3, a4] = acceptors as [AcceptorProcess, AcceptorProcess, AcceptorProcess, AcceptorProcess];
    const random = new SeededRandom(SEED);
    const steps = [
      async () => {
        const grown = await admin(nodes[0]!.url, 'POST', 'grow', { acceptor: a4.url });
        expect(grown.status, JSON.stringify(grown.body)).toBe(200);
        await restartEveryNode();
        for (const node of nodes) expect((await membersOf(node)).preparers.sort()).toEqual([a1, a2, a3, a4].map((a) => a.address).sort());
      },
      async () => {
        const shrunk = await admin(nodes[1]!.url, 'POST', 'shrink', { acceptor: a1.url });
        expect(shrunk.status, JSON.stringify(shrunk.body)).toBe(200);
        await restartEveryNode();
        for (const node of nodes) {
          const members = await membersOf(node);
          expect(members.preparers.sort()).toEqual([a2, a3, a4].map((a) => a.address).sort());
          expect(members.accepters.sort()).toEqual([a2, a3, a4].map((a) => a.address).sort());
        }
      },
      // a1 is no member any more: stopped for good, it is not missed.
      () => a1.kill(),
    ];
    let step = 0;
    const report = await runCrashWorkload({
      proposers: nodes.flatMap((n) => [httpProposer(n.url, SECRET), httpProposer(n.url, SECRET)]),
      acceptors: [{ kill: () => (steps[step++] as () => Promise<void>)(), restart: async () => {} }],
      keys: ['k1', 'k2', 'k3', 'k4'],
      clientsPerProposer: 2,
      crashes: steps.length,
      downMs: 100,
      operationsPerClient: 15,
      random: () => random.next(),
    });
    const verdict = checkChain(report.history);
    const { completed, failed, unknown, duringOutage } = report;
    console.log(`durable membership (seed ${SEED}): ${JSON.stringify({ completed, failed, unknown, duringOutage, errors: report.errors })}`);
    for (const v of verdict.violations.slice(0, 3)) console.log(`durable membership: ${v.kind}: ${v.message}`);
    expect(step).toBe(steps.length);
    expect(verdict.violations).toEqual([]);
    expect(verdict.ok).toBe(true);
    // While a node restarts its clients fail fast (connection refused), so many operations end
    // unknown; what matters is that both nodes served before, between and after the changes, and
    // that the final reads through every client (after the last step) all completed.
    expect(completed).toBeGreaterThan(100);
    const clients = nodes.length * 2 * 2;
    const finalReads = report.history.operations.filter((o) => o.clientId >= clients);
    expect(finalReads).toHaveLength(4 * nodes.length * 2);
    expect(finalReads.every((o) => o.return !== null && o.ok === true)).toBe(true);
  }, 300_000);

  it('a new node started with the stale list is refused by its peers check (exit 8)', async () => {
    // a1 runs again (no member, but it answers, so the bootstrap can identify all three).
    await (acceptors[0] as AcceptorProcess).restart();
    const dir = mkdtempSync(join(tmpdir(), 'caspaxos-node-'));
    try {
      const refused = await runCli(['node', '--data', dir, '--port', '0', '--cluster-id', 'test-cluster', '--acceptors', stale, '--peers', (nodes[0] as NodeProcess).url], env);
      expect(refused.code).toBe(8);
      expect(refused.stderr).toMatch(/runs with preparers .* this node would run with/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
