import { defineConfig } from 'tsup';

/**
 * One entry per subpath export; each has a matching block in package.json "exports". Shared code
 * lands in chunks, so every entry uses the same classes (instanceof works across them).
 *
 * Browser-safe entries import no Node built-ins (test/browser checks it by bundling each one for
 * the browser); Node entries may.
 */
export const browserEntries = {
  index: 'src/index.ts',
  testing: 'src/testing/index.ts',
  trace: 'src/trace/index.ts',
  redis: 'src/redis/index.ts',
  teach: 'src/teach/index.ts',
};
export const nodeEntries = {
  lmdb: 'src/lmdb/index.ts',
  http: 'src/http/index.ts',
  cli: 'src/cli/index.ts',
};

export default defineConfig({
  entry: { ...browserEntries, ...nodeEntries },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // One build for every entry, so shared classes live in shared chunks (two builds would give
  // `caspaxos/http` its own copy of the error classes, and `instanceof` would fail across them).
  platform: 'neutral',
  // Node built-ins and runtime dependencies stay imports; only Node entries reach them.
  external: [/^node:/, 'lmdb', 'pino', 'ioredis', 'redis'],
  treeshake: true,
  splitting: true,
});
