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
};
/** The command line's code, loaded only by bin/caspaxos.mjs: no types, no `require` entry. */
export const cliEntries = {
  cli: 'src/cli/index.ts',
};

/**
 * ES modules only. The package is still `require`-able: each public entry's "require" condition
 * is a one-line CommonJS file, `module.exports = require('./index.js')`, that loads the ES module
 * itself (`require(esm)`: unflagged from Node 20.19 and 22.12, the package's engines), written with its `.d.cts` types by
 * scripts/require-entries.mjs after this build. So there is ONE copy of every class, whether a
 * program (or two of its dependencies) reaches it by `import` or by `require`; a CommonJS build
 * beside the ES one would define each class twice, and an error thrown by one copy would not be
 * `instanceof` the other's class.
 */
export default defineConfig({
  entry: { ...browserEntries, ...nodeEntries, ...cliEntries },
  format: ['esm'],
  dts: { entry: { ...browserEntries, ...nodeEntries } },
  // No source maps. The output is not minified (names and structure as in src/), so a stack
  // trace's dist/ line reads as it is. Maps with embedded sources were 2.5 MB of the package's
  // 4.1 MB; maps without them (491 KB, more than the 470 KB of code they map) would point at src/
  // files the package does not ship.
  sourcemap: false,
  clean: true,
  target: 'es2022',
  // One build for every entry, so shared classes live in shared chunks (two builds would give
  // `caspaxos/http` its own copy of the error classes, and `instanceof` would fail across them).
  platform: 'neutral',
  // Node built-ins and runtime dependencies stay imports; only Node entries reach them. Built-ins
  // keep their `node:` prefix (tsup strips it by default): it names them unambiguously, and the
  // browser check above looks for it.
  external: [/^node:/, 'lmdb', 'pino', 'ioredis', 'redis'],
  removeNodeProtocol: false,
  treeshake: true,
  splitting: true,
});
