import { defineConfig } from 'tsup';

// One entry today; later subpath exports (testing, trace, adapters) add entries here and
// matching blocks in package.json "exports".
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'neutral',
  treeshake: true,
});
