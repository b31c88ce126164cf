/**
 * `node --import tsx lock-holder-child.ts DIR`: takes the directory lock of DIR, prints `locked`,
 * and holds it until killed (the parent kills it with SIGKILL, stops it with SIGSTOP, ...), or
 * until it reads a line on stdin: then it releases the lock, prints `released` and exits.
 */
import { lockDirectory } from '../../src/lmdb/directory-lock.js';

const [dir] = process.argv.slice(2) as [string];
const lock = await lockDirectory(dir, { onLost: (reason) => console.log(`lost ${reason}`) });
console.log('locked');
process.stdin.once('data', () => {
  void lock.release().then(() => {
    // Exit once the line is written (process.exit would drop a pipe's pending output).
    process.stdout.write('released\n', () => process.exit(0));
  });
});
