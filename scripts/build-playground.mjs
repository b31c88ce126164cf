#!/usr/bin/env node
/**
 * Builds the playground (playground/): bundles playground/src/main.ts for the browser with esbuild,
 * straight from the library's browser-safe sources (caspaxos/teach and caspaxos/trace), and writes
 * a static site: index.html, app.js (+ app.js.map) and style.css. No server is needed beyond one
 * that serves files.
 *
 *   node scripts/build-playground.mjs               # writes playground/dist/
 *   node scripts/build-playground.mjs --out <dir>   # writes <dir>/ instead
 *
 * The build fails if anything in the bundle comes from a Node built-in or from node_modules: the
 * page must run on the library alone.
 */
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const sourceDir = join(root, 'playground');

/** Where `buildPlayground()` writes by default. */
export const DEFAULT_OUT_DIR = join(sourceDir, 'dist');

/** Files copied as they are, next to the bundle. */
const STATIC_FILES = ['index.html', 'style.css'];

/**
 * Builds the playground into `outDir` (created if missing; files already there are overwritten).
 * Resolves with the files written and their sizes; rejects with esbuild's messages on a build
 * error, or when the bundle would need Node.
 * @param {{ outDir?: string }} [options] `outDir` @default playground/dist
 * @returns {Promise<{ outDir: string, files: Array<{ name: string, bytes: number }> }>}
 */
export async function buildPlayground(options = {}) {
  const outDir = resolve(options.outDir ?? DEFAULT_OUT_DIR);
  await mkdir(outDir, { recursive: true });
  let result;
  try {
    result = await build({
      absWorkingDir: root,
      entryPoints: [join(sourceDir, 'src', 'main.ts')],
      outfile: join(outDir, 'app.js'),
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      sourcemap: true,
      metafile: true,
      legalComments: 'none',
      logLevel: 'silent',
    });
  } catch (error) {
    const messages = error?.errors?.map((e) => `${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`);
    throw new Error(`the playground does not build:\n${messages?.join('\n') ?? String(error)}`, { cause: error });
  }
  const foreign = Object.keys(result.metafile.inputs).filter((input) => input.startsWith('node:') || /(^|\/)node_modules\//.test(input));
  if (foreign.length > 0) throw new Error(`the playground bundle must not need Node or dependencies, but it includes: ${foreign.join(', ')}`);
  for (const name of STATIC_FILES) await copyFile(join(sourceDir, name), join(outDir, name));

  const names = ['index.html', 'app.js', 'app.js.map', 'style.css'];
  const files = await Promise.all(names.map(async (name) => ({ name, bytes: (await stat(join(outDir, name))).size })));
  return { outDir, files };
}

function parseArgs(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && argv[i + 1] !== undefined) options.outDir = argv[++i];
    else throw new Error(`unknown argument ${JSON.stringify(argv[i])}; usage: node scripts/build-playground.mjs [--out <dir>]`);
  }
  return options;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  try {
    const { outDir, files } = await buildPlayground(parseArgs(process.argv.slice(2)));
    const where = relative(process.cwd(), outDir) || '.';
    for (const { name, bytes } of files) console.log(`${join(where, name)}  ${(bytes / 1024).toFixed(1)} KiB`);
    console.log(`\nserve it with: python3 -m http.server --directory ${where} 8000   (then open http://localhost:8000/)`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
