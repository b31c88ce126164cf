/**
 * Every code block of README.md, the other root Markdown files and docs/** is what it says it is:
 * the TypeScript and JavaScript blocks type-check together against the built package and run to
 * completion (exit 0), each in a process of its own; JSON blocks parse; shell blocks are either run
 * by the test their marker names (which must exist and read that file) or listed here as not run,
 * with the reason their marker gives; display blocks say so by their language. Rules:
 * `code-blocks.ts`. Negative controls prove the checks fail on a block with an undefined name (in
 * the type check and in the run), on an untagged block and on an unmarked shell block.
 *
 * Needs dist/ (`npm test` builds first).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CodeBlock, extractBlocks, outputMismatch, outputsByProgram, planFor } from './code-blocks.js';
import { markdownFiles } from './markdown-files.js';
import { type ProgramFile, runProgram, typecheck, writePrograms } from './run-blocks.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Inside the repository, so that the package's own name resolves to it (see run-blocks.ts).
const scratch = join(root, '.tmp', 'doc-blocks');

const blocks: CodeBlock[] = markdownFiles(root).flatMap((file) => extractBlocks(readFileSync(join(root, file), 'utf8'), file));
const planned = blocks.map((block) => ({ block, plan: planFor(block) }));
const programs = planned.flatMap(({ block, plan }) => (plan.kind === 'program' ? [{ block, ext: plan.ext }] : []));
const { outputs, errors: outputErrors } = outputsByProgram(planned);
const where = (b: CodeBlock): string => `${b.file}:${b.line} (${b.lang})`;

describe('documentation code blocks', () => {
  let files: ProgramFile[] = [];
  let diagnostics = new Map<string, string[]>();
  beforeAll(() => {
    if (!existsSync(join(root, 'dist/index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
    rmSync(scratch, { recursive: true, force: true });
    files = writePrograms(scratch, programs);
    diagnostics = typecheck(files.filter((f) => f.path.endsWith('.ts')).map((f) => f.path));
  }, 60_000);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('finds the documentation and its programs', () => {
    expect(blocks.length).toBeGreaterThan(20);
    expect(programs.length).toBeGreaterThanOrEqual(8);
  });

  it('tags every block with a language it knows, and gives every marker what it needs', () => {
    expect([...planned.flatMap(({ plan }) => (plan.kind === 'error' ? [plan.message] : [])), ...outputErrors]).toEqual([]);
  });

  for (const { block, plan } of planned) {
    if (plan.kind === 'not-run') it.skip(`not run: ${where(block)}: ${plan.reason}`, () => {});
    if (plan.kind === 'run-by') {
      it(`${where(block)} is run by ${plan.test}`, () => {
        const test = join(root, plan.test);
        expect(existsSync(test), `${plan.test} does not exist`).toBe(true);
        // The test must read this very file (it extracts the block from it).
        expect(readFileSync(test, 'utf8')).toContain(`'${block.file}'`);
      });
    }
    if (plan.kind === 'json') it(`${where(block)} parses`, () => void JSON.parse(block.code));
  }

  describe.concurrent('programs', () => {
    for (const { block } of programs) {
      const shown = outputs.get(block);
      it(`${where(block)} type-checks and runs${shown === undefined ? '' : ', printing the output shown'}`, async () => {
        const file = files.find((f) => f.block === block) as ProgramFile;
        if (file.path.endsWith('.ts')) expect(diagnostics.get(file.path), relative(root, file.path)).toEqual([]);
        const { code, output, stdout } = await runProgram(root, file.path, scratch);
        expect(code, `${relative(root, file.path)}:\n${output}`).toBe(0);
        if (shown !== undefined) expect(outputMismatch(shown, stdout), `${relative(root, file.path)} printed:\n${stdout}`).toBeUndefined();
      }, 90_000);
    }
  });
});

describe('the block rules (negative controls)', () => {
  const md = (fence: string, code: string, before = ''): CodeBlock[] => extractBlocks(`# t\n\n${before}\n\`\`\`${fence}\n${code}\`\`\`\n`, 'CONTROL.md');
  const dir = join(scratch, 'controls');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('extracts indented blocks, their lines, languages and markers', () => {
    const found = extractBlocks('a\n\n- item\n\n  <!-- not-run: needs a disk -->\n  ```sh\n  rm -rf x\n    indented\n  ```\n\n````ts\n```\nnested\n````\n', 'X.md');
    expect(found).toEqual([
      { file: 'X.md', line: 6, lang: 'sh', code: 'rm -rf x\n  indented\n', marker: { kind: 'not-run', reason: 'needs a disk' } },
      { file: 'X.md', line: 11, lang: 'ts', code: '```\nnested\n', marker: undefined },
    ]);
  });

  it('refuses an untagged block, an unmarked shell block and a reasonless not-run', () => {
    expect(planFor(md('', 'x\n')[0] as CodeBlock)).toMatchObject({ kind: 'error', message: expect.stringContaining('without a language') });
    expect(planFor(md('sh', 'ls\n')[0] as CodeBlock)).toMatchObject({ kind: 'error', message: expect.stringContaining('needs <!-- run-by') });
    expect(planFor(md('ts', 'x\n', '<!-- not-run: -->')[0] as CodeBlock)).toMatchObject({ kind: 'error' });
    expect(planFor(md('ts', 'x\n', '<!-- not-run: a sketch -->')[0] as CodeBlock)).toEqual({ kind: 'not-run', reason: 'a sketch' });
    expect(planFor(md('yaml', 'a: 1\n')[0] as CodeBlock)).toEqual({ kind: 'display' });
  });

  it('pairs an output block with the program above it, and reports a difference', () => {
    const blocks = extractBlocks("```ts\nconsole.log('a');\n```\n\n<!-- output -->\n```text\na\n```\n\n<!-- output -->\n```text\nb\n```\n", 'O.md');
    const { outputs, errors } = outputsByProgram(blocks.map((block) => ({ block, plan: planFor(block) })));
    expect(outputs.get(blocks[0] as CodeBlock)).toBe('a\n');
    expect(errors).toEqual(['O.md:11: a second output block for O.md:1']);
    expect(outputMismatch('a\n', 'a\n\n')).toBeUndefined();
    expect(outputMismatch('a\nb\n', 'a\nc\n')).toBe('line 2: shown "b", printed "c"');
    expect(outputMismatch('a\n', 'a\nmore\n')).toBe('line 2: shown "(nothing)", printed "more"');
    expect(planFor(md('ts', 'x\n', '<!-- output -->')[0] as CodeBlock)).toMatchObject({ kind: 'error' });
  });

  it('fails a block that uses an undefined name: in the type check and in the run', async () => {
    const good = md('ts', "import { MemoryAcceptor } from 'caspaxos';\nconsole.log(new MemoryAcceptor('a1').address);\n")[0] as CodeBlock;
    const bad = md('ts', "import { MemoryProposer } from 'caspaxos';\nconst p = new MemoryProposer('p1', acceptors);\nconsole.log(p.id);\n")[0] as CodeBlock;
    const [goodFile, badFile] = writePrograms(dir, [
      { block: good, ext: '.ts' },
      { block: { ...bad, line: bad.line + 1 }, ext: '.ts' },
    ]) as [ProgramFile, ProgramFile];
    const found = typecheck([goodFile.path, badFile.path]);
    expect(found.get(goodFile.path)).toEqual([]);
    expect(found.get(badFile.path)).toEqual([expect.stringContaining("Cannot find name 'acceptors'")]);
    const [ran, failed] = await Promise.all([runProgram(root, goodFile.path, dir), runProgram(root, badFile.path, dir)]);
    expect(ran).toEqual({ code: 0, output: 'a1\n', stdout: 'a1\n' });
    expect(failed.code).not.toBe(0);
    expect(failed.output).toContain('ReferenceError: acceptors is not defined');
  }, 60_000);
});
