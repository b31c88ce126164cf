/**
 * Child process of the crash test in lmdb-store.test.ts:
 * `node --import tsx lmdb-crash-child.ts DIR commit|overlapping` (the store's `syncMode`).
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
import { crashKey, crashRecord } from './lmdb-crash-records.js';

const IN_FLIGHT = 32;

const [dir, syncMode] = process.argv.slice(2);
if (dir === undefined || (syncMode !== 'commit' && syncMode !== 'overlapping')) throw new Error('usage: lmdb-crash-child.ts DIR commit|overlapping');
const store = await LmdbStore.open({ path: dir, syncMode });
process.stdout.write('ready\n');

let next = 0;
async function writer(): Promise<void> {
  for (;;) {
    const i = next++;
    if (i % 97 === 0) {
      await store.raiseAges([{ counter: i, id: 'gc' }]);
      process.stdout.write(`age ${i}\n`);
    } else if (i % 89 === 0) {
      await store.remove(`gone-${i}`, { counter: i, id: 'gc' });
      process.stdout.write(`floor ${i}\n`);
    } else {
      await store.put(crashKey(i), crashRecord(i));
      process.stdout.write(`put ${i}\n`);
    }
  }
}

await Promise.all(Array.from({ length: IN_FLIGHT }, writer));
