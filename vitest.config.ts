import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

/**
 * `lmdb` is an optional peer dependency of the package (a devDependency here; prebuilt binaries
 * shipped in npm packages). Where it did not install, the tests that need it (the store, the CLI's
 * acceptor processes, the LMDB crash test) are left out with a loud warning, and everything else runs.
 */
const NEEDS_LMDB = ['test/lmdb/**', 'test/cli/**', 'test/crash/lmdb-*.test.ts'];
function lmdbMissing(): string | undefined {
  try {
    createRequire(import.meta.url)('lmdb');
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  }
}
const missing = lmdbMissing();
if (missing !== undefined) console.warn(`\n*** SKIPPING ${NEEDS_LMDB.join(', ')}: lmdb cannot be loaded (${missing}) ***\n`);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...(missing === undefined ? [] : NEEDS_LMDB)],
    testTimeout: 30_000,
    // Hooks start servers (redis-server, acceptor processes, Chromium): slow on a loaded machine.
    hookTimeout: 30_000,
  },
});
