/**
 * The checkers stand apart from the protocol they judge: every module under src/check imports only
 * modules under src/check (no src/core, src/proposer, src/acceptor, ...), so a bug in the protocol
 * cannot leak into the checker that should catch it, and the checkers run on any system's history.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const checkDir = fileURLToPath(new URL('../../src/check', import.meta.url));

/** The module specifiers a source file imports or re-exports (static and dynamic). */
function specifiers(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/\b(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/g)) found.push(m[1] as string);
  for (const m of source.matchAll(/\bimport\s*(?:\(\s*)?['"]([^'"]+)['"]/g)) found.push(m[1] as string);
  return found;
}

/** The specifiers of `file` (in `dir`) that leave src/check. */
function outside(dir: string, source: string): string[] {
  return specifiers(source).filter((s) => !s.startsWith('.') || relative(checkDir, resolve(dir, s)).startsWith('..'));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('src/check imports only src/check', () => {
  const files = sourceFiles(checkDir);

  test('every module', () => {
    expect(files.length).toBeGreaterThan(10);
    const leaks = files.flatMap((file) => outside(join(file, '..'), readFileSync(file, 'utf8')).map((s) => `${relative(checkDir, file)}: ${s}`));
    expect(leaks).toEqual([]);
  });

  test('the scan catches imports that leave (negative control)', () => {
    const source = [
      "import type { Ballot } from '../core/ballot.js';",
      "import {\n  Proposer,\n} from '../proposer/proposer.js';",
      "export { x } from 'node:fs';",
      "import './side-effect.js';",
      "const m = await import('../acceptor/memory.js');",
      "import { ok } from './result.js';",
    ].join('\n');
    expect(outside(checkDir, source)).toEqual(['../core/ballot.js', '../proposer/proposer.js', 'node:fs', '../acceptor/memory.js']);
  });
});
