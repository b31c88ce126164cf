/**
 * Child process of the crash test in lmdb-store.test.ts:
 * `node --import tsx lmdb-crash-child.ts DIR commit|overlapping [grouped]` (the store's `syncMode`;
 * `grouped`: every write goes through `StoreAcceptor`'s group commit, the writes of one turn as one
 * `writeMany`, instead of one store call each).
 * Opens an `LmdbStore` in DIR and writes as fast as it can, `IN_FLIGHT` writes at a time, until it
 * is killed. After each write resolves it prints one line on stdout:
 *
 *     put <i>      the record `crashRecord(i)` is durable under key `crashKey(i)`
 *     age <i>      the minimum age of proposer `gc` is at least i
 *     floor <i>    the tombstone floor is at least (i, 'gc')
 *
 * Prints `ready` once the store is open. The parent SIGKILLs it mid-stream, reopens the store and
 * checks every line it read.
 */
import { LmdbStore } from '../../src/lmdb/lmdb-store.js';
import { GroupCommit } from '../../src/acceptor/group-commit.js';
import type { StoreWrite } from '../../src/acceptor/acceptor-store.js';
import { crashKey, crashRecord } from './lmdb-crash-records.js';

const IN_FLIGHT = 32;

const [dir, syncMode, how] = process.argv.slice(2);
if (dir === undefined || (syncMode !== 'commit' && syncMode !== 'overlapping') || (how !== undefined && how !== 'grouped')) {
  throw new Error('usage: lmdb-crash-child.ts DIR commit|overlapping [grouped]');
}
const store = await LmdbStore.open({ path: dir, syncMode });
const group = how === 'grouped' ? new GroupCommit<StoreWrite>((writes) => store.writeMany(writes)) : undefined;
process.stdout.write('ready\n');

let next = 0;
async function writer(): Promise<void> {
  for (;;) {
    const i = next++;
    if (i % 97 === 0) {
      const ages = [{ counter: i, id: 'gc' }];
      await (group?.write({ kind: 'raiseAges', ages }) ?? store.raiseAges(ages));
      process.stdout.write(`age ${i}\n`);
    } else if (i % 89 === 0) {
      const [key, floor] = [`gone-${i}`, { counter: i, id: 'gc' }];
      await (group?.write({ kind: 'remove', key, floor }) ?? store.remove(key, floor));
      process.stdout.write(`floor ${i}\n`);
    } else {
      const [key, record] = [crashKey(i), crashRecord(i)];
      await (group?.write({ kind: 'put', key, record }) ?? store.put(key, record));
      process.stdout.write(`put ${i}\n`);
    }
  }
}

await Promise.all(Array.from({ length: IN_FLIGHT }, writer));
