/**
 * Issue 18's soak, short: the key-value API of two `caspaxos node` processes over three LMDB
 * acceptors, 16 clients owning 150 keys each, 45 % put, 35 % get, 15 % compare-and-set, 5 %
 * delete, for 30 s, no faults. Before issue 18, 0.44 % of such requests failed (two nodes fighting
 * over the shared epoch register; writes racing their own key's collection). The run must end with
 * 0 failed requests, 0 lost writes (every key read back against what its client knows), and 0
 * anomalies (a read or compare-and-set that disagreed with the client's knowledge). It asserts no
 * speed: the figures are `node bench/soak.mjs`'s (next to etcd), not a test's.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

interface BackendResult {
  readonly ops: number;
  readonly failed_requests: number;
  readonly lost_writes: number;
  readonly anomalies: number;
  readonly unreadable_keys: number;
  readonly keys_checked: number;
  readonly errors_by_code: Record<string, number>;
}

it('the soak workload on the CLI deployment, 30 s: 0 failed requests, 0 lost writes, 0 anomalies', async () => {
  const child = spawn(process.execPath, [join(root, 'bench', 'soak.mjs'), '--smoke', '--only', 'caspaxos'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const last = stdout.trim().split('\n').at(-1) ?? '';
  let report: { caspaxos?: BackendResult };
  try {
    report = JSON.parse(last) as { caspaxos?: BackendResult };
  } catch {
    throw new Error(`the soak printed no JSON line (exit ${code}):\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`);
  }
  const result = report.caspaxos;
  if (result === undefined) throw new Error(`no caspaxos result:\n${last}`);
  expect({ failed: result.failed_requests, errors: result.errors_by_code, lost: result.lost_writes, anomalies: result.anomalies, unreadable: result.unreadable_keys }).toEqual({ failed: 0, errors: {}, lost: 0, anomalies: 0, unreadable: 0 });
  // The run did work and read every key back.
  expect(result.ops).toBeGreaterThan(1000);
  expect(result.keys_checked).toBe(16 * 150);
  expect(code, stderr.slice(-3000)).toBe(0);
}, 180_000);
