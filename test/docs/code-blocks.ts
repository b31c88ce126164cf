/**
 * The fenced code blocks of the project's Markdown (README.md, docs/**), and what the docs test
 * does with each, decided here from the block's language and an optional marker comment on the
 * line before its fence:
 *  - `ts`/`typescript` and `js`/`javascript`/`mjs` blocks are programs: type-checked together
 *    against the built package (TypeScript, `module: nodenext`, strict) and run one by one;
 *  - `json` blocks are parsed;
 *  - display-only languages (`text`, `yaml`, `ini`, ...) are shown and never run: the language
 *    says so;
 *  - `sh` blocks are commands with side effects (a cluster, a global install): each needs a
 *    marker, `<!-- run-by: test/some/file.test.ts -->` when another test runs it as printed, or
 *    `<!-- not-run: reason -->`;
 *  - any runnable block may carry `<!-- not-run: reason -->`; the docs test lists those as skipped
 *    with their reason, so nothing is left out silently;
 *  - a display block marked `<!-- output -->` is what the nearest program block above it in the
 *    same file prints: the docs test compares it with that program's standard output;
 *  - a block with no language, or one this file does not know, is an error: the reader (and this
 *    test) must know what it is.
 * Pure functions over strings: the test and its negative controls feed them Markdown directly.
 */

/** Languages whose blocks are programs the test runs: the extension each is written out with. */
export const PROGRAM_LANGUAGES: Readonly<Record<string, '.ts' | '.mjs'>> = {
  ts: '.ts',
  typescript: '.ts',
  js: '.mjs',
  javascript: '.mjs',
  mjs: '.mjs',
};

/** Shell: runnable in principle, but only with a marker (another test runs it, or a reason not to). */
export const SHELL_LANGUAGES: ReadonlySet<string> = new Set(['sh', 'bash', 'shell']);

/** Shown, never run: output, configuration files, diagrams. */
export const DISPLAY_LANGUAGES: ReadonlySet<string> = new Set([
  'text',
  'txt',
  'output',
  'yaml',
  'yml',
  'ini',
  'toml',
  'conf',
  'systemd',
  'dockerfile',
  'mermaid',
  'diff',
  'http',
  'ndjson',
  'promql',
  'xml',
  'html',
  'csv',
]);

/** A fenced block as found in a Markdown file. */
export interface CodeBlock {
  /** The Markdown file, as given to `extractBlocks`. */
  readonly file: string;
  /** The 1-based line of the opening fence. */
  readonly line: number;
  /** The info string's first word, lower-cased ('' when the fence has none). */
  readonly lang: string;
  /** The block's text, with the fence's indentation removed (blocks inside list items). */
  readonly code: string;
  /** The marker comment right before the fence, if any. */
  readonly marker?: Marker | undefined;
}

/** `<!-- not-run: reason -->`, `<!-- run-by: path -->` or `<!-- output -->`. */
export type Marker = { readonly kind: 'not-run'; readonly reason: string } | { readonly kind: 'run-by'; readonly test: string } | { readonly kind: 'output' };

/** What the docs test does with a block. */
export type Plan =
  | { readonly kind: 'program'; readonly ext: '.ts' | '.mjs' }
  | { readonly kind: 'json' }
  | { readonly kind: 'display' }
  | { readonly kind: 'not-run'; readonly reason: string }
  | { readonly kind: 'run-by'; readonly test: string }
  | { readonly kind: 'output' }
  | { readonly kind: 'error'; readonly message: string };

const FENCE = /^( *)(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/;
const MARKER = /^\s*<!--\s*(not-run|run-by)\s*:\s*(.*?)\s*-->\s*$/;
const OUTPUT_MARKER = /^\s*<!--\s*output\s*-->\s*$/;

/** Every fenced code block of `markdown`, in order, with the marker before it. */
export function extractBlocks(markdown: string, file: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] as string);
    if (open === null) continue;
    const indent = (open[1] as string).length;
    const fence = open[2] as string;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const text = lines[j] as string;
      const trimmed = text.trim();
      // A closing fence: the opening's character, at least as many times, nothing else.
      if (trimmed.length >= fence.length && trimmed === (fence[0] as string).repeat(trimmed.length)) break;
      body.push(text.slice(Math.min(indent, text.length - text.trimStart().length)));
    }
    blocks.push({ file, line: i + 1, lang: (open[3] as string).toLowerCase(), code: `${body.join('\n')}\n`, marker: markerBefore(lines, i) });
    i = j;
  }
  return blocks;
}

/** The marker on the nearest non-blank line above line `index`, if that line is one. */
function markerBefore(lines: readonly string[], index: number): Marker | undefined {
  let k = index - 1;
  while (k >= 0 && (lines[k] as string).trim() === '') k--;
  if (k >= 0 && OUTPUT_MARKER.test(lines[k] as string)) return { kind: 'output' };
  const m = k >= 0 ? MARKER.exec(lines[k] as string) : null;
  if (m === null) return undefined;
  return m[1] === 'not-run' ? { kind: 'not-run', reason: m[2] as string } : { kind: 'run-by', test: m[2] as string };
}

/** What to do with `block` (see the module comment). */
export function planFor(block: CodeBlock): Plan {
  const where = `${block.file}:${block.line}`;
  if (block.marker?.kind === 'not-run') {
    if (block.marker.reason === '') return { kind: 'error', message: `${where}: a not-run marker needs a reason` };
    return { kind: 'not-run', reason: block.marker.reason };
  }
  if (block.marker?.kind === 'output') {
    if (!DISPLAY_LANGUAGES.has(block.lang)) return { kind: 'error', message: `${where}: an output block is shown, not run: tag it text` };
    return { kind: 'output' };
  }
  if (block.marker?.kind === 'run-by') {
    if (!SHELL_LANGUAGES.has(block.lang)) return { kind: 'error', message: `${where}: run-by is for shell blocks; a ${block.lang || 'untagged'} block runs here` };
    return { kind: 'run-by', test: block.marker.test };
  }
  const ext = PROGRAM_LANGUAGES[block.lang];
  if (ext !== undefined) return { kind: 'program', ext };
  if (block.lang === 'json') return { kind: 'json' };
  if (DISPLAY_LANGUAGES.has(block.lang)) return { kind: 'display' };
  if (SHELL_LANGUAGES.has(block.lang)) {
    return { kind: 'error', message: `${where}: a ${block.lang} block needs <!-- run-by: test/... --> (a test runs it as printed) or <!-- not-run: reason -->` };
  }
  if (block.lang === '') return { kind: 'error', message: `${where}: a code block without a language: tag it (ts, sh, text, ...)` };
  return { kind: 'error', message: `${where}: unknown code block language ${JSON.stringify(block.lang)}` };
}

/**
 * A block as a file of its own: a TypeScript block becomes a module (`export {}` appended, so
 * blocks that import nothing do not share one global scope when type-checked together).
 */
export function programText(block: CodeBlock, ext: '.ts' | '.mjs'): string {
  return ext === '.ts' ? `${block.code}export {};\n` : block.code;
}

/** A file name for `block`, unique across the project: its Markdown path and line. */
export function programName(block: CodeBlock, ext: string): string {
  return `${block.file.replace(/\.md$/, '').replace(/[^A-Za-z0-9]+/g, '-')}-${block.line}${ext}`;
}

/**
 * Which program each `<!-- output -->` block belongs to: the nearest program block above it in
 * the same file. An output block with no program above it is an error.
 */
export function outputsByProgram(planned: ReadonlyArray<{ block: CodeBlock; plan: Plan }>): { outputs: Map<CodeBlock, string>; errors: string[] } {
  const outputs = new Map<CodeBlock, string>();
  const errors: string[] = [];
  let program: CodeBlock | undefined;
  for (const { block, plan } of planned) {
    if (program !== undefined && program.file !== block.file) program = undefined;
    if (plan.kind === 'program') program = block;
    if (plan.kind !== 'output') continue;
    if (program === undefined) errors.push(`${block.file}:${block.line}: an output block with no program block above it`);
    else if (outputs.has(program)) errors.push(`${block.file}:${block.line}: a second output block for ${program.file}:${program.line}`);
    else outputs.set(program, block.code);
  }
  return { outputs, errors };
}

/** What differs between a program's standard output and the output block shown for it, if anything. */
export function outputMismatch(shown: string, printed: string): string | undefined {
  const a = shown.trimEnd().split('\n').map((l) => l.trimEnd());
  const b = printed.trimEnd().split('\n').map((l) => l.trimEnd());
  const i = a.findIndex((line, n) => line !== b[n]);
  const at = i >= 0 ? i : a.length < b.length ? a.length : -1;
  if (at < 0) return undefined;
  return `line ${at + 1}: shown ${JSON.stringify(a[at] ?? '(nothing)')}, printed ${JSON.stringify(b[at] ?? '(nothing)')}`;
}
