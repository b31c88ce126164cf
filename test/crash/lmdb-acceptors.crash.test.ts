/**
 * Crash test with real processes: three `caspaxos acceptor` processes (LMDB store, HTTP) on
 * loopback, a concurrent workload through three proposers, and acceptors killed with SIGKILL
 * mid-load and restarted from their data directories, again and again. The history must pass the
 * exact chain checker: no acknowledged write lost, no fork, no stale read. Needs the built CLI
 * (`npm test` builds first).
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { checkChain } from '../../src/check/chain.js';
import { HistoryRecorder } from '../../src/check/history.js';
import { nextVersioned } from '../../src/check/versioned.js';
import { HttpAcceptor } from '../../src/http/acceptor-client.js';
import { MemoryProposer } from '../../src/index.js';
import { type AcceptorProcess, acceptorProcessesPerSuite } from '../support/cli-process.js';
import { expectSafeUnderCrashes } from './crash-workload.js';

const SEED = Number(process.env.CRASH_SEED ?? 20261130);
const SECRET = 'crash-test-secret';

describe('three LMDB acceptor processes, killed and restarted under load', () => {
  const started = acceptorProcessesPerSuite({ CASPAXOS_SECRET: SECRET });

  it(`loses no acknowledged write and stays linearizable (seed ${SEED})`, async () => {
    const processes = started();
    const acceptors = processes.map((p) => new HttpAcceptor(p.url, { secret: SECRET, timeoutMs: 2000 }));
    const retry = { attempts: 60, baseDelayMs: 5, maxDelayMs: 100 };
    const proposers = ['p1', 'p2', 'p3'].map((id) => new MemoryProposer(id, acceptors, { retry }));
    await expectSafeUnderCrashes('lmdb crash test', SEED, { proposers, acceptors: processes });
  }, 180_000);

  it('negative control: an acceptor that comes back without its data loses a write, and the checker says so', async () => {
    const processes = started();
    const [a1, a2, a3] = processes as [AcceptorProcess, AcceptorProcess, AcceptorProcess];
    const acceptors = processes.map((p) => new HttpAcceptor(p.url, { secret: SECRET, timeoutMs: 2000 }));
    const proposer = new MemoryProposer('control', acceptors, { retry: { attempts: 20, baseDelayMs: 5, maxDelayMs: 50 } });
    const recorder = new HistoryRecorder(() => Math.round(performance.now() * 1000));
    const write = recorder.invoke({ clientId: 0, key: 'lost', op: 'write' });
    // The write lands on a2 and a3 only.
    await a1.kill();
    const { state } = await proposer.propose('lost', () => new TextEncoder().encode(nextVersioned(null, write.id)));
    write.complete({ output: new TextDecoder().decode(state as Uint8Array) });
    await a1.restart();
    // a2 loses its disk, a3 is down: the read quorum {a1, a2} has never seen the write.
    await a3.kill();
    await a2.kill();
    await a2.restart({ wiped: true });
    const read = recorder.invoke({ clientId: 1, key: 'lost', op: 'read' });
    const after = await new MemoryProposer('control-2', acceptors).propose('lost', (s) => s);
    read.complete({ output: after.state === null ? null : new TextDecoder().decode(after.state) });
    await a3.restart();
    const verdict = checkChain(recorder.history());
    expect(verdict.ok).toBe(false);
    expect(verdict.violations.map((v) => v.kind)).toContain('stale-read');
  }, 60_000);
});
