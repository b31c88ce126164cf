/**
 * Packaging: the tarball `npm pack` produces, installed with npm into fresh projects as a user
 * would (an ES module project type-checked with nodenext, a CommonJS one with node16 and with a
 * TypeScript 5.0 notebook kernel, a bundler one, the command line), then run; and the tarball
 * checked by attw and publint. (That the browser-safe entries import no Node built-in is
 * test/browser/browser-safety.test.ts.) `npm test` builds first; everything here works offline.
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { publint } from 'publint';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const execFileAsync = promisify(execFile);
let scratch = '';
let tarball = '';
let packedFiles: string[] = [];

/** Runs `file` with `args` in `cwd`; resolves with its exit code and output whatever the code. */
async function exec(file: string, args: readonly string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}

const node = (cwd: string, ...args: string[]) => exec(process.execPath, args, cwd);

/** Runs `file` with Node in `cwd`: what it printed, once it is known to have printed no warning. */
async function output(cwd: string, file: string): Promise<string> {
  const { stdout, stderr } = await node(cwd, file);
  expect(stderr).toBe('');
  return stdout.trim();
}
const tsc = (version: 'typescript' | 'typescript-5.0', cwd: string, ...args: string[]) => node(cwd, join(root, 'node_modules', version, 'bin', 'tsc'), ...args);

/** A fresh project `name` with `files`, and the tarball installed into it by npm (offline). */
async function project(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  // A tarball without dependencies needs no registry; its own cache keeps the user's untouched.
  const installed = await exec('npm', ['install', '--offline', '--no-audit', '--no-fund', '--cache', join(scratch, 'npm-cache'), tarball], dir);
  if (installed.code !== 0) throw new Error(`npm install in ${name} failed: ${installed.stderr}`);
  return dir;
}

/** One proposal over three in-memory acceptors: prints `packed 1/p1`. */
const proposal = `const acceptors = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
const proposer = new MemoryProposer('p1', acceptors);
proposer.propose('k', () => new TextEncoder().encode('packed')).then(({ state, ballot }) => {
  console.log(new TextDecoder().decode(state), formatBallot(ballot));
});
`;

/**
 * One process loads the package both ways: an error thrown by code reached through `require`
 * (a simulated proposal whose acceptors are all down) is `instanceof` the class reached through
 * `import`, and the other way round. Prints `rejected true true`.
 */
const oneCopy = `async function check(required, requiredTesting, imported) {
  const sim = new requiredTesting.Simulation({ seed: 1, proposers: ['p1'], retry: { attempts: 2 } });
  for (const a of ['a1', 'a2', 'a3']) sim.crashAcceptor(a);
  const outcome = await sim.runUntilSettled(sim.proposer('p1').propose('k', () => null));
  let thrown;
  try {
    new imported.MemoryProposer('', []);
  } catch (error) {
    thrown = error;
  }
  console.log(outcome.status, outcome.reason instanceof imported.PrepareFailedError, thrown instanceof required.InvalidArgumentError);
}
`;

/** Types from both conditions are real: a typo'd call is an error where `@ts-expect-error` says. */
const typed = `const acceptor: Acceptor = new MemoryAcceptor('a1');
const proposer = new MemoryProposer('p1', [acceptor]);
export const result: Promise<ProposeResult> = proposer.propose('k', (s) => s);
// @ts-expect-error the types are real: a proposer needs acceptors
new MemoryProposer('p1', ['not an acceptor']);
export const verdictOk: Promise<boolean | 'unknown'> = (async () => {
  const sim = new Simulation({ seed: 1 });
  const report = await runWorkload(sim, { kind: 'register', clients: 2, keys: ['k'], operationsPerClient: 2 });
  return verifySimulation(sim, { kind: 'register', report }).ok;
})();
export const store: Promise<LmdbStore> = LmdbStore.open({ path: 'data' });
`;
const typedImports = `import { MemoryAcceptor, MemoryProposer, type Acceptor, type ProposeResult } from 'caspaxos';
import { Simulation, runWorkload, verifySimulation } from 'caspaxos/testing';
import { LmdbStore } from 'caspaxos/lmdb';
`;
const tsconfig = (options: Record<string, unknown>): string =>
  JSON.stringify({ compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, target: 'es2022', lib: ['es2022', 'esnext.disposable', 'dom'], types: [], ...options } });

// A notebook kernel like tslab: TypeScript 5.0 (no `esnext.disposable` lib), CommonJS, and the
// node10 resolution that ignores `exports` (subpath types come from `typesVersions`).
const notebook = `import { formatBallot } from 'caspaxos';
import { JUPYTER_DISPLAY, createCluster, set } from 'caspaxos/teach';
import { TraceRecorder } from 'caspaxos/trace';
import { describeAcceptorConformance } from 'caspaxos/testing';

const recorder: TraceRecorder = new TraceRecorder();
const cluster = createCluster({ acceptors: 3, proposers: ['p1'], seed: 1 });
const write = cluster.propose('p1', 'x', set('hi'));
cluster.runUntilSettled().then(async () => {
  const bundle = cluster[JUPYTER_DISPLAY]();
  console.log(write.status, write.ballot, formatBallot({ counter: 0, id: '' }), Object.keys(bundle).sort().join(','), typeof describeAcceptorConformance, recorder.events.length);
  await cluster[Symbol.asyncDispose]();
});
`;

let esm = '';
let cjs = '';
let bundler = '';
let cli = '';

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'caspaxos-pack-'));
  // --ignore-scripts: `npm test` has just built dist/; prepack would rebuild it while other test
  // files read it.
  const packedJson = await exec('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], root);
  const [packed] = JSON.parse(packedJson.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (packed === undefined) throw new Error(`npm pack printed nothing: ${packedJson.stderr}`);
  tarball = join(scratch, packed.filename);
  packedFiles = packed.files.map((f) => f.path).sort();
  [esm, cjs, bundler, cli] = await Promise.all([
    project('esm', {
      'package.json': JSON.stringify({ name: 'esm-app', private: true, type: 'module' }),
      'proposal.js': `import { MemoryAcceptor, MemoryProposer, formatBallot } from 'caspaxos';\n${proposal}`,
      'one-copy.js': `import { createRequire } from 'node:module';\nimport * as imported from 'caspaxos';\nconst require = createRequire(import.meta.url);\n${oneCopy}await check(require('caspaxos'), require('caspaxos/testing'), imported);\n`,
      // Negative control: the same check against a second copy of the package must say false.
      'two-copies.js': `import { createRequire } from 'node:module';\nimport * as imported from 'caspaxos';\nconst require = createRequire(import.meta.url);\n${oneCopy}await check(require('caspaxos-copy'), require('caspaxos-copy/testing'), imported);\n`,
      'types.ts': `${typedImports}${typed}`,
      'tsconfig.json': tsconfig({ module: 'nodenext', moduleResolution: 'nodenext' }),
    }),
    project('cjs', {
      'package.json': JSON.stringify({ name: 'cjs-app', private: true, type: 'commonjs' }),
      'proposal.js': `const { MemoryAcceptor, MemoryProposer, formatBallot } = require('caspaxos');\n${proposal}`,
      'one-copy.js': `${oneCopy}import('caspaxos').then((imported) => check(require('caspaxos'), require('caspaxos/testing'), imported));\n`,
      'types.ts': `${typedImports}${typed}`,
      'tsconfig.json': tsconfig({ module: 'node16', moduleResolution: 'node16' }),
      'notebook.ts': notebook,
    }),
    project('bundler', {
      'package.json': JSON.stringify({ name: 'bundled-app', private: true, type: 'module' }),
      // import and require of the package in one bundle: still one copy of each class.
      'app.js': `import * as imported from 'caspaxos';\nimport { MemoryAcceptor, MemoryProposer, formatBallot } from 'caspaxos';\n${oneCopy}${proposal}check(require('caspaxos'), require('caspaxos/testing'), imported);\n`,
      'types.ts': `${typedImports}${typed}`,
      'tsconfig.json': tsconfig({ module: 'esnext', moduleResolution: 'bundler' }),
    }),
    project('cli', {
      'package.json': JSON.stringify({ name: 'cli-app', private: true, type: 'module' }),
      'open-store.js': "import { LmdbStore } from 'caspaxos/lmdb';\nLmdbStore.open({ path: 'data' }).catch((error) => console.log(error.code, error.message));\n",
      // A proposal through caspaxos/http to the acceptor the command serves (one acceptor: F = 0).
      'propose.js': `import { MemoryProposer } from 'caspaxos';
import { HttpAcceptor } from 'caspaxos/http';
const proposer = new MemoryProposer('p1', [new HttpAcceptor(process.argv[2], { clusterId: 'c1' })]);
const { state } = await proposer.propose('k', () => new TextEncoder().encode('over http'));
console.log(new TextDecoder().decode(state));
`,
    }),
  ]);
}, 120_000);

afterAll(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

/**
 * The specifiers a shipped file loads: `import`/`export ... from`, side-effect imports, dynamic
 * `import()` (also the type-level one in declarations) and `require()`.
 */
function specifiers(text: string): string[] {
  const load = /(?:^\s*(?:import|export)\b[^'";]*?\bfrom\s*|^\s*import\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)(['"])([^'"\n]+)\1/gm;
  return [...text.matchAll(load)].map((m) => m[2] ?? '');
}
const relativeSpecifiers = (text: string): string[] => specifiers(text).filter((s) => s.startsWith('./') || s.startsWith('../'));
const bareSpecifiers = (text: string): string[] => specifiers(text).filter((s) => !s.startsWith('.'));

describe('the packed package', () => {
  test('ships exactly what its entries and its command reach: no sources, maps or unused builds', () => {
    const installed = join(esm, 'node_modules', 'caspaxos');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
    const targets = (value: unknown): string[] => (typeof value === 'string' ? [value] : typeof value === 'object' && value !== null ? Object.values(value).flatMap(targets) : []);
    const start = [...targets(manifest.exports), ...targets(manifest.typesVersions), ...targets(manifest.bin), manifest.main, manifest.module, manifest.types].map((p) => posix.normalize(String(p)));
    const reached = new Set<string>();
    const queue = [...start];
    for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
      if (reached.has(file)) continue;
      reached.add(file);
      if (file.endsWith('.json')) continue;
      const declaration = /\.d\.c?ts$/.test(file);
      for (const spec of relativeSpecifiers(readFileSync(join(installed, file), 'utf8'))) {
        const target = posix.join(posix.dirname(file), spec);
        queue.push(declaration ? target.replace(/\.js$/, '.d.ts').replace(/\.cjs$/, '.d.cts') : target);
      }
    }
    const shipped = packedFiles.filter((f) => !['package.json', 'README.md', 'LICENSE'].includes(f));
    expect(shipped.filter((f) => !reached.has(f))).toEqual([]);
    expect([...reached].filter((f) => !packedFiles.includes(f)).sort()).toEqual([]);
    expect(packedFiles).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'bin/caspaxos.mjs', 'dist/cli.js', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']));
    expect(packedFiles.filter((f) => /\.map$|^src\/|^test\/|^dist\/cli\.(cjs|d\.c?ts)$/.test(f))).toEqual([]);
  });

  test('its code imports Node built-ins by their node: names, and no package but its optional peers', () => {
    const dist = join(esm, 'node_modules', 'caspaxos', 'dist');
    const specifiers = new Set(packedFiles.filter((f) => /^(dist|bin)\/.*\.(c|m)?js$/.test(f)).flatMap((f) => bareSpecifiers(readFileSync(join(dist, '..', f), 'utf8'))));
    expect([...specifiers].filter((s) => !s.startsWith('node:') && builtinModules.includes(s))).toEqual([]);
    expect([...specifiers].filter((s) => !s.startsWith('node:')).sort()).toEqual(['ioredis', 'lmdb', 'pino']);
  });

  test('declares no runtime dependency: lmdb, pino, ioredis and redis are optional peers with tested ranges', () => {
    const manifest = JSON.parse(readFileSync(join(esm, 'node_modules', 'caspaxos', 'package.json'), 'utf8')) as Record<string, Record<string, unknown> | undefined>;
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.optionalDependencies).toBeUndefined();
    const peers = Object.keys(manifest.peerDependencies ?? {}).sort();
    expect(peers).toEqual(['ioredis', 'lmdb', 'pino', 'redis']);
    for (const peer of peers) {
      expect(manifest.peerDependenciesMeta?.[peer], peer).toEqual({ optional: true });
      expect(String(manifest.peerDependencies?.[peer]), peer).toMatch(/^\^\d+\.\d+\.\d+( \|\| \^\d+\.\d+\.\d+)*$/);
    }
    // require(esm), which the "require" entries rely on, is unflagged from 20.19 and 22.12.
    expect(manifest.engines).toEqual({ node: '^20.19.0 || >=22.12.0' });
    expect(manifest.repository).toEqual({ type: 'git', url: 'git+https://github.com/caspaxos/caspaxos.git' });
    expect(typeof manifest.homepage).toBe('string');
    expect(manifest.bugs).toEqual({ url: 'https://github.com/caspaxos/caspaxos/issues' });
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.prepack).toBe('npm run build');
  });

  test('arethetypeswrong finds no problem, for node10, node16 from CJS and from ESM, and bundlers', async () => {
    const attw = join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
    const { stdout, stderr } = await node(scratch, attw, tarball, '--format', 'json');
    const report = JSON.parse(stdout) as { analysis?: { problems: unknown[]; entrypoints: Record<string, { resolutions: Record<string, unknown> }> } };
    expect(report.analysis, stderr).toBeDefined();
    expect(report.analysis?.problems).toEqual([]);
    const entrypoints = report.analysis?.entrypoints ?? {};
    expect(Object.keys(entrypoints).sort()).toEqual(['.', './http', './lmdb', './package.json', './redis', './teach', './testing', './trace']);
    for (const [entry, { resolutions }] of Object.entries(entrypoints)) expect(Object.keys(resolutions).sort(), entry).toEqual(['bundler', 'node10', 'node16-cjs', 'node16-esm']);
  }, 60_000);

  test('publint finds nothing, suggestions included', async () => {
    const bytes = readFileSync(tarball);
    const { messages } = await publint({ pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) }, level: 'suggestion', strict: true });
    expect(messages).toEqual([]);
  });
});

// The same program in both kinds of Node project: `import` in one, `require` in the other.
for (const [name, dir] of [
  ['an ES module project (import; types with module nodenext)', () => esm],
  ['a CommonJS project (require; types with module node16, the .d.cts files)', () => cjs],
] as const) {
  describe(name, () => {
    test('runs a proposal, with no warning', async () => {
      expect(await output(dir(), 'proposal.js')).toBe('packed 1/p1');
    });

    test('require and import in one process share every class', async () => {
      expect(await output(dir(), 'one-copy.js')).toBe('rejected true true');
    });

    test('type-checks', async () => {
      expect((await tsc('typescript', dir(), '-p', '.')).stdout).toBe('');
    }, 60_000);
  });
}

test('negative control: the one-copy check tells two copies of the package apart', async () => {
  cpSync(join(esm, 'node_modules', 'caspaxos'), join(esm, 'node_modules', 'caspaxos-copy'), { recursive: true });
  expect(await output(esm, 'two-copies.js')).toBe('rejected false false');
});

describe('a TypeScript 5.0 notebook kernel in the CommonJS project', () => {
  test('loads in a tslab-like notebook kernel: TypeScript 5.0, CommonJS, node10 resolution', async () => {
    const args = ['--strict', '--module', 'commonjs', '--moduleResolution', 'node', '--target', 'es2020', '--skipLibCheck', 'false', '--outDir', 'notebook-out', 'notebook.ts'];
    expect((await tsc('typescript-5.0', cjs, ...args)).stdout).toBe('');
    expect(await output(cjs, 'notebook-out/notebook.js')).toBe('done 1/p1 ø image/svg+xml,text/html,text/markdown,text/plain function 0');
  }, 60_000);
});

describe('a bundler project (esbuild)', () => {
  test('bundles import and require of the package with one copy of each class, and runs', async () => {
    const result = await build({ entryPoints: ['app.js'], absWorkingDir: bundler, bundle: true, platform: 'node', format: 'cjs', outfile: 'out/app.cjs', logLevel: 'silent', metafile: true });
    expect(Object.keys(result.metafile.inputs).filter((i) => i.includes('node_modules/caspaxos/dist/index.cjs')).length).toBe(1);
    const code = readFileSync(join(bundler, 'out', 'app.cjs'), 'utf8');
    expect(code.match(/\bclass PrepareFailedError\b|\bPrepareFailedError = class\b/g)?.length).toBe(1);
    expect((await output(bundler, 'out/app.cjs')).split('\n').sort()).toEqual(['packed 1/p1', 'rejected true true']);
  });

  test('bundles for the browser through the exports map with no Node built-in', async () => {
    writeFileSync(join(bundler, 'browser.js'), `import { MemoryAcceptor, MemoryProposer, formatBallot } from 'caspaxos';\nimport { Simulation } from 'caspaxos/testing';\n${proposal}console.log(typeof Simulation);\n`);
    const result = await build({ entryPoints: ['browser.js'], absWorkingDir: bundler, bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent', metafile: true });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((i) => i.startsWith('node:'))).toEqual([]);
    expect(inputs.filter((i) => i.includes('node_modules/caspaxos/dist/')).length).toBeGreaterThan(3);
  });

  test('type-checks with moduleResolution bundler', async () => {
    expect((await tsc('typescript', bundler, '-p', '.')).stdout).toBe('');
  }, 60_000);
});

describe('the command line and caspaxos/lmdb, whose packages are optional', () => {
  const caspaxos = (...args: string[]) => node(cli, join('node_modules', '.bin', 'caspaxos'), ...args);
  /** Makes `name` installed in the project: the repository's own copy, linked. */
  const provide = (name: string): void => symlinkSync(join(root, 'node_modules', name), join(cli, 'node_modules', name), 'dir');

  test('name the package to install, in one line, and run once it is there', async () => {
    expect(await caspaxos('--help')).toEqual({ code: 2, stdout: '', stderr: 'caspaxos needs the optional package pino: npm install pino\n' });
    provide('pino');
    const help = await caspaxos('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: caspaxos <command>/);
    expect(await caspaxos('acceptor', '--port', '0', '--data', 'data')).toEqual({ code: 2, stdout: '', stderr: 'caspaxos acceptor needs the optional package lmdb: npm install lmdb\n' });
    expect((await node(cli, 'open-store.js')).stdout).toBe('ERR_MODULE_NOT_FOUND caspaxos/lmdb needs the optional package lmdb: npm install lmdb\n');
    expect(await caspaxos('node', '--port', '0', '--data', 'node-data', '--cluster-id', 'c1', '--acceptors', 'redis://127.0.0.1:1,redis://127.0.0.1:2,redis://127.0.0.1:3')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'caspaxos node --acceptors redis://... needs the optional package ioredis: npm install ioredis\n',
    });

    provide('lmdb');
    expect((await caspaxos('acceptor', '--init', '--cluster-id', 'c1', '--data', 'data')).code).toBe(0);
    const acceptor = spawn(process.execPath, [join('node_modules', '.bin', 'caspaxos'), 'acceptor', '--port', '0', '--data', 'data'], { cwd: cli, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => acceptor.once('exit', resolve));
    let stderr = '';
    acceptor.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const listening = await new Promise<{ msg?: string; url?: string }>((resolve, reject) => {
      let out = '';
      acceptor.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split('\n').find((l) => l.includes('"listening"'));
        if (line !== undefined) resolve(JSON.parse(line) as { msg?: string; url?: string });
      });
      void exited.then((code) => reject(new Error(`the acceptor exited (${code}) before listening: ${stderr}`)));
    });
    expect(listening.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await node(cli, 'propose.js', listening.url ?? '')).stdout).toBe('over http\n');
    acceptor.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  }, 60_000);
});
