/**
 * The one storage failure that stops a running `caspaxos acceptor`: a store that can no longer be
 * trusted. A record damaged on disk while the acceptor runs (its checksum no longer matches) is
 * found by a read; answering from such a store could forget a promise, so the process logs one
 * fatal line and exits with code 1 (the process guard, src/cli/process-guard.ts) instead of serving
 * on. (Damage present when it starts is refused at open: test/lmdb/data-directory.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpAcceptor } from '../../src/http/acceptor-client.js';
import { encodeKey } from '../../src/lmdb/record-codec.js';
import { TEST_CLUSTER, launchCli, runCli } from '../support/cli-process.js';

const AGE = { counter: 0, id: 'p' };

describe('caspaxos acceptor over a damaged data directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caspaxos-untrusted-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stops with one fatal line and exit code 1 when a read finds a damaged record; a healthy key is served until then', async () => {
    expect((await runCli(['acceptor', '--init', '--cluster-id', TEST_CLUSTER, '--data', dir])).code).toBe(0);
    const second = await launchCli(['acceptor', '--data', dir, '--port', '0']);
    let output = '';
    second.child.stdout?.on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => second.child.once('exit', (code) => resolve(code)));
    const again = new HttpAcceptor(second.url, { clusterId: TEST_CLUSTER });
    expect((await again.accept('k', AGE, { counter: 1, id: 'p' }, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).type).toBe('accepted');
    expect((await again.accept('healthy', AGE, { counter: 1, id: 'p' }, new Uint8Array([9]))).type).toBe('accepted');

    // While it runs, flip a bit of the state of `k` on disk, as a failing disk might (LMDB lets a
    // second process write the environment; the acceptor's lock keeps out only acceptors).
    const raw = open<Uint8Array, Uint8Array>({ path: dir, keyEncoding: 'binary', encoding: 'binary', overlappingSync: false });
    const value = raw.get(encodeKey('k'));
    if (value === undefined) throw new Error('the record is not under its encoded key');
    const damaged = new Uint8Array(value);
    damaged[damaged.length - 6] = (damaged[damaged.length - 6] as number) ^ 1;
    await raw.put(encodeKey('k'), damaged);
    await raw.close();

    // Keys that read fine are served.
    expect((await again.prepare('healthy', AGE, { counter: 2, id: 'p' })).type).toBe('promised');
    // The damaged one stops the process: the request gets no answer.
    await expect(again.prepare('k', AGE, { counter: 2, id: 'p' })).rejects.toMatchObject({ code: expect.stringMatching(/ERR_UNAVAILABLE|ERR_STORAGE_FAILED/) });
    expect(await exited).toBe(1);
    const fatal = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string; err?: { message?: string } })
      .filter((record) => record.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]?.msg).toMatch(/the store can no longer be trusted: stopping/);
    expect(fatal[0]?.err?.message).toMatch(/checksum mismatch/);
  }, 60_000);
});
