/**
 * The import graph of a tree of TypeScript modules, read from the source text: every static
 * `import`/`export ... from` and dynamic `import('...')` specifier. Relative specifiers are resolved
 * to files (`./x.js` names `./x.ts`); others (`node:fs`, `lmdb`) are kept as bare names. Used by the
 * layering test, which turns the architecture's rules into checked facts.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** One module: its path (relative to the root, `/`-separated), its text and what it imports. */
export interface ModuleInfo {
  readonly path: string;
  readonly text: string;
  /** Resolved relative imports, as paths relative to the root. */
  readonly local: readonly string[];
  /** Bare specifiers: packages and built-ins. */
  readonly bare: readonly string[];
}

const SPECIFIER = /(?:^|[\s;])(?:import|export)\s(?:[^'";]*?\sfrom\s)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The specifiers `text` imports, in order; type-only imports included (they shape the layering too). */
export function specifiersOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  for (const match of code.matchAll(SPECIFIER)) found.push((match[1] ?? match[2]) as string);
  return found;
}

/** Reads every `.ts` file under `dir` (relative to `root`) into a map keyed by path. */
export function readModules(root: string, dir: string): Map<string, ModuleInfo> {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(join(root, d))) {
      const path = `${d}/${name}`;
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) files.push(path);
    }
  };
  walk(dir);
  return buildGraph(new Map(files.map((f) => [f, readFileSync(join(root, f), 'utf8')])));
}

/** Builds the graph of in-memory modules (path -> text), as `readModules` does for files. */
export function buildGraph(texts: ReadonlyMap<string, string>): Map<string, ModuleInfo> {
  const modules = new Map<string, ModuleInfo>();
  for (const [path, text] of texts) {
    const local: string[] = [];
    const bare: string[] = [];
    for (const spec of specifiersOf(text)) {
      if (!spec.startsWith('.')) {
        bare.push(spec);
        continue;
      }
      const joined = relative('.', join(dirname(path), spec)).replace(/\\/g, '/');
      const candidates = [joined.replace(/\.js$/, '.ts'), `${joined}.ts`, `${joined}/index.ts`, joined];
      local.push(candidates.find((c) => texts.has(c)) ?? joined);
    }
    modules.set(path, { path, text, local, bare });
  }
  return modules;
}

/** Every module reachable from `entry` (itself included). */
export function reachableFrom(modules: ReadonlyMap<string, ModuleInfo>, entry: string): Set<string> {
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length > 0) {
    const path = stack.pop() as string;
    if (seen.has(path)) continue;
    seen.add(path);
    for (const next of modules.get(path)?.local ?? []) stack.push(next);
  }
  return seen;
}

/** One import cycle, as a list of paths (first = last), or `undefined` when the graph has none. */
export function findCycle(modules: ReadonlyMap<string, ModuleInfo>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    const s = state.get(node);
    if (s === 'done') return undefined;
    if (s === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of modules.get(node)?.local ?? []) {
      if (!modules.has(next)) continue;
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of modules.keys()) {
    const cycle = visit(node);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}
