/**
 * The example notebooks (examples/notebooks) executed by real Jupyter kernels: Deno's and tslab
 * (TypeScript on Node), under `jupyter nbconvert --execute` (Debian's jupyter-nbconvert). Their
 * text outputs are compared with test/notebooks/golden/<kernel>.txt, and the rich outputs must be
 * there: HTML tables and SVG diagrams. `UPDATE_GOLDEN=1` rewrites the goldens and the notebooks'
 * committed outputs, so the notebooks in the repository are the executed ones.
 *
 * The kernels come from the npm registry, installed apart from the project's dependencies:
 *   npm install --prefix .tmp/notebook-kernels tslab@1.0.22 deno@2.9.6
 * (`.ci/run` does it, with Debian's jupyter-nbconvert). Where either is missing, the tests say so
 * loudly and skip; `test/teach/notebook.test.ts` still checks the display helpers.
 *
 * Each notebook runs in a scratch folder that has the package installed as a user's would be
 * (`node_modules/caspaxos`, a link to this repository and its build), so `caspaxos/teach`
 * resolves there as it does for a user.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { UPDATE_GOLDEN, expectGolden } from '../support/golden.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const GOLDEN = join(root, 'test/notebooks/golden');
const KERNELS = process.env.NOTEBOOK_KERNELS ?? join(root, '.tmp/notebook-kernels');
const BIN = join(KERNELS, 'node_modules/.bin');

interface Output {
  readonly output_type: string;
  readonly data?: Record<string, string | string[]>;
  readonly text?: string | string[];
  readonly ename?: string;
  readonly evalue?: string;
}
interface Cell {
  readonly cell_type: string;
  readonly source: string | string[];
  outputs?: Output[];
  execution_count?: number | null;
  metadata: Record<string, unknown>;
}
interface Notebook {
  readonly cells: Cell[];
}

const KERNEL_SPECS = {
  deno: { display_name: 'Deno', language: 'typescript', argv: [join(BIN, 'deno'), 'jupyter', '--kernel', '--conn', '{connection_file}'] },
  tslab: { display_name: 'TypeScript', language: 'typescript', argv: [join(BIN, 'tslab'), 'kernel', '--config-path', '{connection_file}'] },
} as const;
type Kernel = keyof typeof KERNEL_SPECS;

function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir !== '' && existsSync(join(dir, command))) return join(dir, command);
  return undefined;
}

/** Why the notebooks cannot run here, or `undefined` when they can. */
function toolsMissing(): string | undefined {
  const missing: string[] = [];
  if (which('jupyter-nbconvert') === undefined) missing.push("jupyter-nbconvert (Debian's jupyter-nbconvert)");
  for (const k of ['deno', 'tslab']) if (!existsSync(join(BIN, k))) missing.push(`${k} in ${BIN} (npm install --prefix .tmp/notebook-kernels tslab@1.0.22 deno@2.9.6)`);
  return missing.length === 0 ? undefined : `SKIPPING the notebook tests: missing ${missing.join(', ')}`;
}

const text = (value: string | string[] | undefined): string => (Array.isArray(value) ? value.join('') : (value ?? ''));
const stripAnsi = (s: string): string => s.replace(/\u001b\[[0-9;]*m/g, '');
/** Markup as its text: cells and rows kept apart, tags dropped, entities decoded. */
const markupText = (s: string): string =>
  s
    .replace(/<\/(td|th|text)>/g, ' ')
    .replace(/<\/(tr|p|pre|title)>|<br\s*\/?>/g, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
    .split('\n')
    .map((l) => l.replace(/[ \t]+/g, ' ').trim())
    .filter((l) => l !== '')
    .join('\n');

/** The notebook's outputs as text: per code cell, each output's kind, MIME types and text. */
function renderOutputs(notebook: Notebook): string {
  const lines: string[] = [];
  notebook.cells.forEach((cell, i) => {
    if (cell.cell_type !== 'code') return;
    lines.push(`## cell ${i}`);
    for (const o of cell.outputs ?? []) {
      if (o.output_type === 'stream') lines.push('[stream]', stripAnsi(text(o.text)).trimEnd());
      else if (o.output_type === 'error') lines.push(`[error] ${o.ename}: ${o.evalue}`);
      else {
        const data = o.data ?? {};
        lines.push(`[${o.output_type}: ${Object.keys(data).sort().join(', ')}]`);
        const plain = data['text/plain'];
        const rich = data['text/html'] ?? data['image/svg+xml'];
        lines.push(plain !== undefined ? stripAnsi(text(plain)).trimEnd() : markupText(text(rich)));
      }
    }
  });
  return `${lines.join('\n')}\n`;
}

/** Runs `kernel`'s example notebook in a scratch folder; resolves with the executed notebook. */
async function execute(kernel: Kernel): Promise<Notebook> {
  const scratch = mkdtempSync(join(tmpdir(), `caspaxos-notebook-${kernel}-`));
  try {
    // The package, installed as a user's would be.
    mkdirSync(join(scratch, 'node_modules'));
    symlinkSync(root, join(scratch, 'node_modules/caspaxos'), 'dir');
    // tslab type-checks each cell: Node's types (console, process), as a user's project has them.
    symlinkSync(join(root, 'node_modules/@types'), join(scratch, 'node_modules/@types'), 'dir');
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ private: true, type: 'module', dependencies: { caspaxos: '*' } }));
    const kernels = join(scratch, 'jupyter/kernels', kernel);
    mkdirSync(kernels, { recursive: true });
    writeFileSync(join(kernels, 'kernel.json'), JSON.stringify(KERNEL_SPECS[kernel]));
    const notebook = JSON.parse(readFileSync(join(root, 'examples/notebooks', `${kernel}.ipynb`), 'utf8')) as Notebook;
    for (const cell of notebook.cells) if (cell.cell_type === 'code') cell.outputs = [];
    writeFileSync(join(scratch, 'notebook.ipynb'), JSON.stringify(notebook));
    const env = {
      ...process.env,
      JUPYTER_PATH: join(scratch, 'jupyter'),
      JUPYTER_DATA_DIR: join(scratch, 'jupyter'),
      JUPYTER_RUNTIME_DIR: join(scratch, 'runtime'),
      JUPYTER_CONFIG_DIR: join(scratch, 'config'),
      DENO_DIR: join(scratch, 'deno'),
      DENO_NO_UPDATE_CHECK: '1',
      PATH: `${BIN}${delimiter}${process.env.PATH ?? ''}`,
      PYDEVD_DISABLE_FILE_VALIDATION: '1',
    };
    // nbconvert waits only 4 s by default for a cell's outputs after its reply, then drops the late
    // ones silently: on a loaded machine that loses outputs. Wait longer, and fail rather than lose.
    const args = ['--to', 'notebook', '--execute', '--ExecutePreprocessor.timeout=120', '--ExecutePreprocessor.iopub_timeout=120', '--ExecutePreprocessor.raise_on_iopub_timeout=True'];
    await promisify(execFile)('jupyter-nbconvert', [...args, '--output', 'executed.ipynb', 'notebook.ipynb'], { cwd: scratch, env, timeout: 300_000 });
    return JSON.parse(readFileSync(join(scratch, 'executed.ipynb'), 'utf8')) as Notebook;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Writes the executed outputs into the committed notebook (without run-specific metadata). */
function commitOutputs(kernel: Kernel, executed: Notebook): void {
  const path = join(root, 'examples/notebooks', `${kernel}.ipynb`);
  const committed = JSON.parse(readFileSync(path, 'utf8')) as Notebook & Record<string, unknown>;
  committed.cells.forEach((cell, i) => {
    if (cell.cell_type !== 'code') return;
    const ran = executed.cells[i] as Cell;
    cell.outputs = ran.outputs ?? [];
    cell.execution_count = ran.execution_count ?? null;
  });
  writeFileSync(path, `${JSON.stringify(committed, null, 1)}\n`);
}

const missing = toolsMissing();
if (missing !== undefined) console.warn(`\n*** ${missing} ***\n`);

describe.skipIf(missing !== undefined)('the example notebooks in real kernels', () => {
  test.each(['deno', 'tslab'] as const)('%s: executes, shows rich outputs, and prints what it printed before', async (kernel) => {
    if (!existsSync(join(root, 'dist/teach.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
    const executed = await execute(kernel);
    const outputs = executed.cells.flatMap((c) => c.outputs ?? []);
    expect(outputs.filter((o) => o.output_type === 'error')).toEqual([]);
    const types = outputs.flatMap((o) => Object.keys(o.data ?? {}));
    expect(types).toContain('text/html');
    expect(types).toContain('image/svg+xml');
    const rendered = renderOutputs(executed);
    // Every code cell shows something: no output was lost.
    for (const [i, cell] of executed.cells.entries()) {
      if (cell.cell_type === 'code' && text(cell.source).includes('show(')) expect(cell.outputs?.length, `cell ${i}`).toBeGreaterThan(0);
    }
    expectGolden(GOLDEN, `${kernel}.txt`, rendered);
    if (UPDATE_GOLDEN) commitOutputs(kernel, executed);
    // The committed notebook is the executed one.
    const committed = JSON.parse(readFileSync(join(root, 'examples/notebooks', `${kernel}.ipynb`), 'utf8')) as Notebook;
    expect(renderOutputs(committed)).toBe(rendered);
  }, 240_000);
});
