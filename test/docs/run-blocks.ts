/**
 * Running the program blocks of the docs (see `code-blocks.ts`): writing them out where the
 * package's own name resolves to the built package (a directory inside the repository, so
 * `import ... from 'caspaxos'` is a self-reference through package.json "exports" to dist/),
 * type-checking them in one TypeScript program, and running each in a process of its own.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { type CodeBlock, programName, programText } from './code-blocks.js';

/** A block written out as a file. */
export interface ProgramFile {
  readonly block: CodeBlock;
  readonly path: string;
}

/** Writes each block into `dir` (created) as its own module; returns the files in order. */
export function writePrograms(dir: string, blocks: ReadonlyArray<{ block: CodeBlock; ext: '.ts' | '.mjs' }>): ProgramFile[] {
  mkdirSync(dir, { recursive: true });
  return blocks.map(({ block, ext }) => {
    const path = join(dir, programName(block, ext));
    writeFileSync(path, programText(block, ext));
    return { block, path };
  });
}

/**
 * Type-checks the TypeScript files together, as a user's strict ESM project would (module and
 * resolution `nodenext`, Node's types): a name a block uses but never defines or imports is an
 * error here even on a path the run never takes. Returns each file's diagnostics as text.
 */
export function typecheck(paths: readonly string[]): Map<string, string[]> {
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    isolatedModules: true,
  };
  const program = ts.createProgram({ rootNames: [...paths], options });
  const found = new Map<string, string[]>(paths.map((p) => [p, []]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file?.fileName;
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const at = d.file !== undefined && d.start !== undefined ? `:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '';
    const list = file === undefined ? undefined : found.get(file);
    // A problem outside the blocks (options, the package's types) belongs to every block.
    if (list === undefined) for (const l of found.values()) l.push(`${file ?? 'options'}${at}: ${text}`);
    else list.push(`line ${at.slice(1)}: ${text}`);
  }
  return found;
}

/** How a block's run ended. */
export interface RunResult {
  readonly code: number | null;
  /** Standard output and error, as they came. */
  readonly output: string;
  /** Standard output alone. */
  readonly stdout: string;
}

/** Runs one program (TypeScript through tsx, JavaScript through node) in `cwd`, to its end. */
export function runProgram(root: string, path: string, cwd: string, timeoutMs = 60_000): Promise<RunResult> {
  const [command, args] = path.endsWith('.ts') ? [join(root, 'node_modules/.bin/tsx'), [path]] : [process.execPath, [path]];
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let output = '';
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      output += c;
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.once('close', (code) => resolve({ code, output, stdout }));
  });
}
