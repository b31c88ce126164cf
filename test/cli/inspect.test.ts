/**
 * `caspaxos inspect`: reads an acceptor's data directory without changing it, beside a running
 * acceptor and without one; lists and exports its records; refuses what the acceptor refuses, with
 * the same messages and exit codes. Needs the build (`npm test` does).
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpAcceptor } from '../../src/http/acceptor-client.js';
import { decodeBase64 } from '../../src/internal/base64.js';
import { KeyValueStore } from '../../src/kv/key-value-store.js';
import { parseState } from '../../src/kv/record-format.js';
import { MemoryProposer } from '../../src/index.js';
import { type AcceptorProcess, TEST_CLUSTER, runCli, startAcceptorProcess } from '../support/cli-process.js';

/** Every entry of `dir` with a hash of its bytes (the lock's socket as such: it has no bytes to read). */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((name) => {
        const path = join(dir, name);
        const stat = lstatSync(path);
        return [name, stat.isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex') : `${stat.isSocket() ? 'socket' : 'other'} ${stat.ino}`];
      }),
  );
}

const inspect = (...args: string[]) => runCli(['inspect', ...args], { CASPAXOS_CLUSTER_ID: '' });

describe('caspaxos inspect', () => {
  let acceptor: AcceptorProcess;
  const scratch = mkdtempSync(join(tmpdir(), 'caspaxos-inspect-test-'));
  const values = new Map<string, unknown>([
    ['greeting', { text: 'hello' }],
    ['counter', 42],
    ['línea\nnueva', 'a key with a newline'],
  ]);

  beforeAll(async () => {
    acceptor = await startAcceptorProcess();
    const proposer = new MemoryProposer('writer', [new HttpAcceptor(acceptor.url, { clusterId: TEST_CLUSTER })]);
    const kv = new KeyValueStore<unknown>({ proposer });
    for (const [key, value] of values) await kv.set(key, value);
    await kv.close();
  }, 60_000);

  afterAll(async () => {
    await acceptor.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** The keys written (the store's read of the previous release's epoch key wrote nothing). */
  const expectedKeys = () => [...values.keys()].sort();

  it('reads beside the running acceptor: summary, keys and export, and data.mdb and identity.json stay byte-identical', async () => {
    const before = snapshot(acceptor.dir);
    const summary = await inspect(acceptor.dir, '--json');
    expect(summary.code, summary.stderr).toBe(0);
    const report = JSON.parse(summary.stdout) as Record<string, unknown>;
    const pid = Number(readFileSync(join(acceptor.dir, 'caspaxos.pid'), 'utf8'));
    expect(report).toMatchObject({ cluster: TEST_CLUSTER, incarnation: acceptor.incarnation, identityFormat: 'caspaxos-acceptor-identity/1', recordFormat: 1, keys: values.size, servedBy: pid });
    expect(report.dataBytes as number).toBeGreaterThan(0);

    const keys = await inspect(acceptor.dir, '--keys');
    expect(keys.code).toBe(0);
    expect(keys.stdout.trim().split('\n').map((line) => JSON.parse(line) as string)).toEqual(expectedKeys());

    const file = join(scratch, 'running.jsonl');
    const exported = await inspect(acceptor.dir, '--export', file);
    expect(exported.code, exported.stderr).toBe(0);
    const [header, ...records] = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
    expect(header).toMatchObject({ format: 'caspaxos-acceptor-export/1', cluster: TEST_CLUSTER, incarnation: acceptor.incarnation });
    expect(records.map((r) => r.key)).toEqual(expectedKeys());
    // The export holds what was written: each state decodes back to its value.
    for (const [key, value] of values) {
      const record = records.find((r) => r.key === key) as Record<string, any>;
      expect(record.accepted.counter).toBeGreaterThan(0);
      const stored = parseState(key, decodeBase64(record.state as string) as Uint8Array);
      expect(stored.kind).toBe('value');
      if (stored.kind === 'value') expect(JSON.parse(new TextDecoder().decode(stored.payload))).toEqual(value);
    }
    const after = snapshot(acceptor.dir);
    // LMDB's reader table (lock.mdb) records readers while they read; the data and identity do not change.
    for (const name of ['data.mdb', 'identity.json', 'caspaxos.pid']) expect(after[name], name).toBe(before[name]);
    expect(Object.keys(after)).toEqual(Object.keys(before));
  });

  it('reads a stopped acceptor without changing one byte of its directory, and the acceptor starts again after', async () => {
    await acceptor.kill();
    const before = snapshot(acceptor.dir);
    const summary = await inspect(acceptor.dir);
    expect(summary.code, summary.stderr).toBe(0);
    expect(summary.stdout).toMatch(new RegExp(`^cluster +${TEST_CLUSTER}$`, 'm'));
    expect(summary.stdout).toMatch(/^keys +3$/m);
    expect(summary.stdout).toMatch(/^served by +no acceptor/m);
    const exported = await inspect(acceptor.dir, '--export', '-');
    expect(exported.code).toBe(0);
    expect(exported.stdout.trim().split('\n')).toHaveLength(values.size + 1);
    expect(exported.stderr).toMatch(/^keys +3$/m);
    expect(snapshot(acceptor.dir)).toEqual(before);
    await acceptor.restart();
  });

  it('refuses an export into the data directory, writing nothing', async () => {
    const before = snapshot(acceptor.dir);
    const refused = await inspect(acceptor.dir, '--export', join(acceptor.dir, 'backup.jsonl'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/inside .*inspect never writes into the data directory/);
    expect(existsSync(join(acceptor.dir, 'backup.jsonl'))).toBe(false);
    expect(Object.keys(snapshot(acceptor.dir))).toEqual(Object.keys(before));
  });
});

describe('caspaxos inspect refuses what the acceptor refuses, with the same message and exit code', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'caspaxos-inspect-refusals-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  async function initialised(name: string): Promise<string> {
    const dir = join(scratch, name);
    const init = await runCli(['acceptor', '--init', '--cluster-id', TEST_CLUSTER, '--data', dir]);
    expect(init.code).toBe(0);
    return dir;
  }

  it.each([
    ['missing', async () => join(scratch, 'nothing-here'), [], 3],
    [
      'empty',
      async () => {
        const dir = join(scratch, 'empty');
        mkdirSync(dir);
        return dir;
      },
      [],
      3,
    ],
    ['foreign', (): Promise<string> => initialised('foreign'), ['--cluster-id', 'another-cluster'], 5],
    [
      'truncated data.mdb',
      async () => {
        const dir = await initialised('truncated');
        truncateSync(join(dir, 'data.mdb'), 4096);
        return dir;
      },
      [],
      6,
    ],
    [
      'a damaged identity.json',
      async () => {
        const dir = await initialised('identity');
        writeFileSync(join(dir, 'identity.json'), '{"format":"caspaxos-acceptor-identity/1", "cluster": "x"');
        return dir;
      },
      [],
      6,
    ],
  ] as const)('%s', async (_name, make, flags, code) => {
    const dir = await make();
    const inspected = await inspect(dir, ...flags);
    const served = await runCli(['acceptor', '--data', dir, '--port', '0', ...flags]);
    expect(served.listening).toBe(false);
    expect(inspected.code).toBe(code);
    expect(served.code).toBe(code);
    const refusal = (stderr: string) => stderr.split('\n').find((line) => line.startsWith('caspaxos: refused:'));
    expect(refusal(inspected.stderr)).toBeDefined();
    expect(refusal(inspected.stderr)).toBe(refusal(served.stderr));
  });
});
