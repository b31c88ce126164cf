/**
 * Packaging: the tarball `npm pack` produces, installed into a scratch project, works through its
 * `exports` map as ESM and as CommonJS, with types for both. (That the browser-safe entries import
 * no Node built-in is test/browser/browser-safety.test.ts.) `npm test` builds first.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
let scratch = '';
let packedFiles: string[] = [];

const program = (load: string): string => `${load}
const acceptors = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
const proposer = new MemoryProposer('p1', acceptors);
proposer.propose('k', () => new TextEncoder().encode('packed')).then(({ state, ballot }) => {
  console.log(new TextDecoder().decode(state), formatBallot(ballot));
});
`;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'caspaxos-pack-'));
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: root, encoding: 'utf8' })) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  if (packed === undefined) throw new Error('npm pack printed nothing');
  packedFiles = packed.files.map((f) => f.path).sort();
  const app = join(scratch, 'app');
  const installed = join(app, 'node_modules', 'caspaxos');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(scratch, packed.filename), '-C', installed, '--strip-components=1']);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  writeFileSync(join(app, 'esm.mjs'), program("import { MemoryAcceptor, MemoryProposer, formatBallot } from 'caspaxos';"));
  writeFileSync(join(app, 'cjs.cjs'), program("const { MemoryAcceptor, MemoryProposer, formatBallot } = require('caspaxos');"));
  // caspaxos/testing: a simulated proposal whose acceptors are all down fails with the very
  // PrepareFailedError class that `caspaxos` exports (the two entries share their classes).
  const testing = (load: string): string => `${load}
const sim = new Simulation({ seed: 1, proposers: ['p1'], retry: { attempts: 2 } });
for (const a of ['a1', 'a2', 'a3']) sim.crashAcceptor(a);
sim.runUntilSettled(sim.proposer('p1').propose('k', () => null)).then((outcome) => {
  console.log(outcome.status, outcome.reason instanceof PrepareFailedError, sim.trace.length > 0);
});
`;
  writeFileSync(join(app, 'testing-esm.mjs'), testing("import { Simulation } from 'caspaxos/testing';\nimport { PrepareFailedError } from 'caspaxos';"));
  writeFileSync(join(app, 'testing-cjs.cjs'), testing("const { Simulation } = require('caspaxos/testing');\nconst { PrepareFailedError } = require('caspaxos');"));
  const typed = (load: string): string => `${load}
const acceptor: Acceptor = new MemoryAcceptor('a1');
const proposer = new MemoryProposer('p1', [acceptor]);
export const result: Promise<ProposeResult> = proposer.propose('k', (s) => s);
// @ts-expect-error the types are real: a proposer needs acceptors
new MemoryProposer('p1', ['not an acceptor']);
`;
  const typedTesting = `
export const verdictOk: Promise<boolean | 'unknown'> = (async () => {
  const sim = new Simulation({ seed: 1 });
  const report = await runWorkload(sim, { kind: 'register', clients: 2, keys: ['k'], operationsPerClient: 2 });
  return verifySimulation(sim, { kind: 'register', report }).ok;
})();
`;
  const testingImport = "import { Simulation, runWorkload, verifySimulation } from 'caspaxos/testing';";
  writeFileSync(join(app, 'types-esm.mts'), `${typed("import { MemoryAcceptor, MemoryProposer, type Acceptor, type ProposeResult } from 'caspaxos';")}\n${testingImport}\n${typedTesting}`);
  writeFileSync(join(app, 'types-cjs.cts'), `${typed("import { MemoryAcceptor, MemoryProposer, type Acceptor, type ProposeResult } from 'caspaxos';")}\n${testingImport}\n${typedTesting}`);
  // A notebook kernel like tslab: TypeScript 5.0 (no `esnext.disposable` lib), CommonJS, and the
  // node10 resolution that ignores `exports` (subpath types come from `typesVersions`).
  writeFileSync(
    join(app, 'notebook.ts'),
    `import { formatBallot } from 'caspaxos';
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
`,
  );
}, 60_000);

afterAll(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

describe('the packed package', () => {
  test('ships the builds, their types, README and LICENSE, and no sources or tests', () => {
    expect(packedFiles).toEqual(
      expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts', 'dist/testing.js', 'dist/testing.cjs', 'dist/testing.d.ts', 'dist/testing.d.cts']),
    );
    expect(packedFiles.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('examples/'))).toEqual([]);
  });

  test('imports as ESM through the exports map', () => {
    expect(execFileSync(process.execPath, ['esm.mjs'], { cwd: join(scratch, 'app'), encoding: 'utf8' }).trim()).toBe('packed 1/p1');
  });

  test('requires as CommonJS through the exports map', () => {
    expect(execFileSync(process.execPath, ['cjs.cjs'], { cwd: join(scratch, 'app'), encoding: 'utf8' }).trim()).toBe('packed 1/p1');
  });

  test('caspaxos/testing imports as ESM and CommonJS and shares its classes with caspaxos', () => {
    for (const file of ['testing-esm.mjs', 'testing-cjs.cjs']) {
      expect(execFileSync(process.execPath, [file], { cwd: join(scratch, 'app'), encoding: 'utf8' }).trim(), file).toBe('rejected true true');
    }
  });

  test('resolves types for both conditions (TypeScript, module node16)', () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = [tsc, '--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--skipLibCheck', 'false', 'types-esm.mts', 'types-cjs.cts'];
    let diagnostics = '';
    try {
      execFileSync(process.execPath, args, { cwd: join(scratch, 'app'), encoding: 'utf8' });
    } catch (error) {
      diagnostics = String((error as { stdout?: unknown }).stdout ?? error);
    }
    expect(diagnostics).toBe('');
  }, 60_000);

  test('loads in a tslab-like notebook kernel: TypeScript 5.0, CommonJS, node10 resolution', () => {
    const app = join(scratch, 'app');
    const tsc = join(root, 'node_modules', 'typescript-5.0', 'bin', 'tsc');
    const args = [tsc, '--strict', '--module', 'commonjs', '--moduleResolution', 'node', '--target', 'es2020', '--skipLibCheck', 'false', '--outDir', 'notebook-out', 'notebook.ts'];
    let diagnostics = '';
    try {
      execFileSync(process.execPath, args, { cwd: app, encoding: 'utf8' });
    } catch (error) {
      diagnostics = String((error as { stdout?: unknown }).stdout ?? error);
    }
    expect(diagnostics).toBe('');
    const out = execFileSync(process.execPath, ['notebook-out/notebook.js'], { cwd: app, encoding: 'utf8' }).trim();
    expect(out).toBe('done 1/p1 ø image/svg+xml,text/html,text/markdown,text/plain function 0');
  }, 60_000);
});
