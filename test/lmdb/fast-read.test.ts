/**
 * Reads that write nothing over LMDB: 10,000 reads of never-written keys through
 * `KeyValueStore.get` leave every LMDB store empty (no record, no promise), and a written key is
 * read without a write.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { StoreAcceptor } from '../../src/acceptor/store-acceptor.js';
import { KeyValueStore, MemoryProposer } from '../../src/index.js';
import { LmdbStore } from '../../src/lmdb/lmdb-store.js';

it('10,000 reads of never-written keys through KeyValueStore.get leave every LMDB store empty', async () => {
  const dirs = ['a1', 'a2', 'a3'].map(() => mkdtempSync(join(tmpdir(), 'caspaxos-fast-read-')));
  const stores = await Promise.all(dirs.map((path) => LmdbStore.open({ path, durable: true })));
  const acceptors = await Promise.all(stores.map((s, i) => StoreAcceptor.open(`a${i + 1}`, s)));
  try {
    const kv = new KeyValueStore<string>({ proposer: new MemoryProposer('p1', acceptors) });
    for (let i = 0; i < 10_000; i += 100) {
      const reads = await Promise.all(Array.from({ length: 100 }, (_, j) => kv.get(`never-${i + j}`)));
      expect(reads.every((r) => r === undefined)).toBe(true);
    }
    for (const s of stores) expect(await s.scan({ limit: 10 })).toEqual([]);
    // A written key: the reads after it change no record either.
    await kv.set('k', 'v');
    await new Promise((resolve) => setTimeout(resolve, 50)); // the last accepter's write lands
    const records = await Promise.all(stores.map((s) => s.get('k')));
    for (let i = 0; i < 100; i++) expect((await kv.get('k'))?.value).toBe('v');
    expect(await Promise.all(stores.map((s) => s.get('k')))).toEqual(records);
    await kv.close();
  } finally {
    await Promise.all(acceptors.map((a) => a.close()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
