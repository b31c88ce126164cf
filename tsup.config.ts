import { defineConfig } from 'tsup';

// One entry per subpath export; each has a matching block in package.json "exports". Shared code
// lands in chunks, so `caspaxos` and `caspaxos/testing` use the same classes (instanceof works).
export default defineConfig({
  entry: { index: 'src/index.ts', testing: 'src/testing/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'neutral',
  treeshake: true,
  splitting: true,
});
