/**
 * The architecture's rules as checked facts, read from the import graph of `src/`:
 *  - `src/core/` is the pure, synchronous protocol: it imports only `src/core/`, no package or
 *    built-in, and uses no clock, randomness, timers, promises, console or process (so a seed
 *    replays a run, and the core runs in browsers and notebooks);
 *  - `src/check/` judges histories without trusting the protocol: it imports only `src/check/`;
 *  - the browser-safe entries reach nothing under `src/http/`, `src/lmdb/`, `src/cli/`, and no
 *    `node:` built-in or Node-only package;
 *  - `src/` has no import cycle, its root holds only the public vocabulary (at most 8 files), and
 *    no folder is named after a runtime.
 * A negative control runs the same rules over a small tree that breaks each of them.
 */
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { browserEntries } from '../tsup.config.js';
import { type ModuleInfo, buildGraph, findCycle, readModules, reachableFrom } from './support/import-graph.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** What the pure core must not touch: each pattern with the reason it is banned. */
const CORE_BANNED: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bDate\b/, 'a clock (Date)'],
  [/\bperformance\s*\./, 'a clock (performance)'],
  [/\bMath\.random\b/, 'randomness (Math.random)'],
  [/\bcrypto\b/, 'randomness (crypto)'],
  [/\b(setTimeout|setInterval|setImmediate|queueMicrotask)\b/, 'timers'],
  [/\b(async|await|Promise)\b/, 'asynchrony (the core is synchronous)'],
  [/\bconsole\b/, 'console'],
  [/\bprocess\b/, 'process'],
  [/\b(fetch|XMLHttpRequest|WebSocket)\b/, 'I/O'],
  [/\bBuffer\b/, 'Buffer (a Node built-in)'],
];

/** Packages that only Node runs (or that only Node entries may load). */
const NODE_ONLY = /^(node:|lmdb$|pino$)/;
const NODE_FOLDERS = ['src/http/', 'src/lmdb/', 'src/cli/'];
const RUNTIME_NAMES = new Set(['node', 'browser', 'deno', 'bun', 'web']);

/** Code without comments and string contents, so prose and messages cannot trip the checks. */
function codeOf(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
    .replace(/(['"`])(?:\\.|(?!\1)[^\\\n])*\1/g, '""');
}

/** Every rule the layout must keep, applied to `modules`; each broken rule is one line. */
function violations(modules: ReadonlyMap<string, ModuleInfo>, entries: readonly string[], rootFiles: readonly string[], folders: readonly string[]): string[] {
  const found: string[] = [];
  for (const m of modules.values()) {
    if (m.path.startsWith('src/core/')) {
      for (const target of m.local) if (!target.startsWith('src/core/')) found.push(`${m.path} (core) imports ${target}`);
      for (const spec of m.bare) found.push(`${m.path} (core) imports the package ${spec}`);
      const code = codeOf(m.text);
      for (const [pattern, what] of CORE_BANNED) if (pattern.test(code)) found.push(`${m.path} (core) uses ${what}`);
    }
    if (m.path.startsWith('src/check/')) {
      for (const target of m.local) if (!target.startsWith('src/check/')) found.push(`${m.path} (check) imports ${target}`);
    }
  }
  for (const entry of entries) {
    for (const path of reachableFrom(modules, entry)) {
      const folder = NODE_FOLDERS.find((f) => path.startsWith(f));
      if (folder !== undefined) found.push(`browser entry ${entry} reaches ${path}`);
      for (const spec of modules.get(path)?.bare ?? []) if (NODE_ONLY.test(spec)) found.push(`browser entry ${entry} reaches ${spec} (from ${path})`);
    }
  }
  const cycle = findCycle(modules);
  if (cycle !== undefined) found.push(`import cycle: ${cycle.join(' -> ')}`);
  if (rootFiles.length > 8) found.push(`src/ holds ${rootFiles.length} files (at most 8: the public vocabulary): ${rootFiles.join(', ')}`);
  for (const folder of folders) if (RUNTIME_NAMES.has(folder)) found.push(`src/${folder}/ is named after a runtime`);
  return found;
}

describe('the layering of src/', () => {
  const modules = readModules(root, 'src');
  const entries = Object.values(browserEntries);
  const listing = readdirSync(join(root, 'src'));
  const rootFiles = listing.filter((name) => !statSync(join(root, 'src', name)).isDirectory());
  const folders = listing.filter((name) => statSync(join(root, 'src', name)).isDirectory());

  it('reads a real graph (the core, its entries and every folder are there)', () => {
    expect(modules.size).toBeGreaterThan(80);
    for (const entry of entries) expect(modules.has(entry), entry).toBe(true);
    expect([...modules.keys()].filter((p) => p.startsWith('src/core/')).length).toBeGreaterThan(5);
    expect(modules.get('src/index.ts')?.local).toContain('src/core/ballot.ts');
  });

  it('keeps every rule', () => {
    expect(violations(modules, entries, rootFiles, folders)).toEqual([]);
  });

  it('negative control: a tree that breaks each rule is caught, rule by rule', () => {
    const bad = buildGraph(
      new Map([
        ['src/core/a.ts', "import { b } from '../proposer/b.js';\nimport { readFileSync } from 'node:fs';\nexport const t = Date.now() + Math.random();\n"],
        ['src/core/c.ts', "// Date, Math.random and setTimeout in a comment are fine\nexport const s = 'a Promise in a string is fine';\nexport async function f() { await 1; }\n"],
        ['src/check/x.ts', "import { a } from '../core/a.js';\n"],
        ['src/index.ts', "export * from './kv/y.js';\n"],
        ['src/kv/y.ts', "import { z } from '../http/z.js';\nexport { pino } from 'pino';\n"],
        ['src/http/z.ts', "import '../kv/y.js';\n"],
        ['src/proposer/b.ts', 'export const b = 1;\n'],
      ]),
    );
    const found = violations(bad, ['src/index.ts'], ['1', '2', '3', '4', '5', '6', '7', '8', '9'], ['core', 'node']);
    expect(found).toEqual(
      expect.arrayContaining([
        'src/core/a.ts (core) imports src/proposer/b.ts',
        'src/core/a.ts (core) imports the package node:fs',
        'src/core/a.ts (core) uses a clock (Date)',
        'src/core/a.ts (core) uses randomness (Math.random)',
        'src/core/c.ts (core) uses asynchrony (the core is synchronous)',
        'src/check/x.ts (check) imports src/core/a.ts',
        'browser entry src/index.ts reaches src/http/z.ts',
        'browser entry src/index.ts reaches pino (from src/kv/y.ts)',
        'import cycle: src/kv/y.ts -> src/http/z.ts -> src/kv/y.ts',
        'src/ holds 9 files (at most 8: the public vocabulary): 1, 2, 3, 4, 5, 6, 7, 8, 9',
        'src/node/ is named after a runtime',
      ]),
    );
    // Prose and strings never count: c.ts mentions a clock, randomness and a timer only there.
    expect(found.filter((line) => line.startsWith('src/core/c.ts'))).toEqual(['src/core/c.ts (core) uses asynchrony (the core is synchronous)']);
  });
});
