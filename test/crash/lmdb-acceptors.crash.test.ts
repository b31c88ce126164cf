/**
 * Crash test with real processes: three `caspaxos acceptor` processes (LMDB store, HTTP) on
 * loopback, a concurrent workload through three proposers, and acceptors killed with SIGKILL
 * mid-load and restarted from their data directories, again and again. The history must pass the
 * exact chain checker: no acknowledged write lost, no fork, no stale read. Then amnesia: an
 * acceptor whose directory is wiped and initialised anew is a new incarnation, which proposers that
 * know their members by (address, incarnation) do not count, and the write survives; a negative
 * control shows the same sequence losing the write when the proposer counts any incarnation. Needs
 * the built CLI (`npm test` builds first).
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { checkChain } from '../../src/check/chain.js';
import { HistoryRecorder } from '../../src/check/history.js';
import { nextVersioned } from '../../src/check/versioned.js';
import { HttpAcceptor } from '../../src/http/acceptor-client.js';
import { MemoryProposer, PrepareFailedError, type TraceEvent } from '../../src/index.js';
import { type AcceptorProcess, TEST_CLUSTER, acceptorProcessesPerSuite } from '../support/cli-process.js';
import { expectSafeUnderCrashes } from './crash-workload.js';

const SEED = Number(process.env.CRASH_SEED ?? 20261130);
const SECRET = 'crash-test-secret';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

describe('three LMDB acceptor processes, killed and restarted under load', () => {
  const started = acceptorProcessesPerSuite({ CASPAXOS_SECRET: SECRET });

  it(`loses no acknowledged write and stays linearizable (seed ${SEED})`, async () => {
    const processes = started();
    const acceptors = processes.map((p) => new HttpAcceptor(p.address, { secret: SECRET, clusterId: TEST_CLUSTER, timeoutMs: 2000 }));
    const retry = { attempts: 60, baseDelayMs: 5, maxDelayMs: 100 };
    const proposers = ['p1', 'p2', 'p3'].map((id) => new MemoryProposer(id, acceptors, { retry }));
    await expectSafeUnderCrashes('lmdb crash test', SEED, { proposers, acceptors: processes });
  }, 180_000);

  it(`read-heavy (80 % reads, answered from peeks when a quorum agrees): the same guarantees (seed ${SEED})`, async () => {
    const processes = started();
    const acceptors = processes.map((p) => new HttpAcceptor(p.address, { secret: SECRET, clusterId: TEST_CLUSTER, timeoutMs: 2000 }));
    const retry = { attempts: 60, baseDelayMs: 5, maxDelayMs: 100 };
    let fast = 0;
    const tracer = (event: TraceEvent): void => {
      if (event.type === 'fast-read' && event.outcome === 'hit') fast++;
    };
    const proposers = ['p1', 'p2', 'p3'].map((id) => new MemoryProposer(id, acceptors, { retry, tracer }));
    // Keys of its own: the acceptor processes are the suite's, and hold the first test's chains.
    await expectSafeUnderCrashes('lmdb crash test, read-heavy', SEED + 1, { proposers, acceptors: processes }, { keys: ['r1', 'r2', 'r3'], readShare: 0.8, operationsPerClient: 40 });
    console.log(`lmdb crash test, read-heavy: ${fast} reads answered from peeks`);
    expect(fast).toBeGreaterThan(0);
  }, 180_000);

  /**
   * The write lands on a2 and a3 only (a1 is down); a1 comes back; a2 loses its disk and is
   * initialised anew (a new incarnation at the same URL); a3 is down. The read quorum {a1, a2} has
   * never seen the write.
   */
  async function amnesia(processes: AcceptorProcess[], key: string, pinned: boolean, writeId: number): Promise<{ written: string; read: () => Promise<string | null> }> {
    const [a1, a2, a3] = processes as [AcceptorProcess, AcceptorProcess, AcceptorProcess];
    // Pinned: each client stands for the member (url, incarnation) it was created with.
    const clients = () => processes.map((p) => new HttpAcceptor(pinned ? p.address : p.url, { secret: SECRET, clusterId: TEST_CLUSTER, timeoutMs: 2000 }));
    const acceptors = clients();
    const proposer = new MemoryProposer(`${key}-writer`, acceptors, { retry: { attempts: 20, baseDelayMs: 5, maxDelayMs: 50 } });
    await a1.kill();
    const written = decoder.decode((await proposer.propose(key, () => encoder.encode(nextVersioned(null, writeId)))).state as Uint8Array);
    await a1.restart();
    await a3.kill();
    await a2.kill();
    a2.wipe();
    await a2.init();
    await a2.restart();
    const reader = new MemoryProposer(`${key}-reader`, acceptors, { retry: { attempts: 5, baseDelayMs: 5, maxDelayMs: 20 } });
    return {
      written,
      read: async () => {
        const { state } = await reader.propose(key, (s) => s);
        return state === null ? null : decoder.decode(state);
      },
    };
  }

  it('amnesia: an acceptor initialised anew at the same URL is not counted, and the acknowledged write survives', async () => {
    const processes = started();
    const { written, read } = await amnesia(processes, 'kept', true, 1);
    // a2 is a new incarnation, a3 is down: no quorum, so no answer rather than a wrong one.
    await expect(read()).rejects.toBeInstanceOf(PrepareFailedError);
    await (processes[2] as AcceptorProcess).restart();
    expect(await read()).toBe(written);
  }, 60_000);

  it('negative control: a proposer that counts any incarnation loses the write, and the checker says so', async () => {
    const processes = started();
    const recorder = new HistoryRecorder(() => Math.round(performance.now() * 1000));
    const write = recorder.invoke({ clientId: 0, key: 'lost', op: 'write' });
    const { written, read } = await amnesia(processes, 'lost', false, write.id);
    write.complete({ output: written });
    const reading = recorder.invoke({ clientId: 1, key: 'lost', op: 'read' });
    reading.complete({ output: await read() });
    await (processes[2] as AcceptorProcess).restart();
    const verdict = checkChain(recorder.history());
    expect(verdict.ok).toBe(false);
    expect(verdict.violations.map((v) => v.kind)).toContain('stale-read');
  }, 60_000);
});
