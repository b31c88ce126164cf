/**
 * Every lesson in examples/lessons runs with one command and prints exactly its golden output
 * (test/teach/golden/<lesson>.txt), so a change to the protocol, the simulator or the renderers
 * that alters a lesson shows up here, and the lesson's narration can be checked against it.
 * Rewrite the goldens after an intended change with `UPDATE_GOLDEN=1 npx vitest run test/teach`.
 *
 * The lessons import `caspaxos/teach` by name, like every example: this runs them against the
 * built package (`npm test` builds first), as a reader running them would.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { expectGolden } from '../support/golden.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = join(root, 'node_modules/.bin/tsx');
const GOLDEN = join(root, 'test/teach/golden');
const lessons = readdirSync(join(root, 'examples/lessons'))
  .filter((name) => /^\d\d-.*\.ts$/.test(name))
  .sort();

function run(lesson: string): string {
  if (!existsSync(join(root, 'dist/teach.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  return execFileSync(tsx, [`examples/lessons/${lesson}`], { cwd: root, encoding: 'utf8', timeout: 60_000 });
}

test('there are six lessons, numbered in order', () => {
  expect(lessons.map((name) => name.slice(0, 2))).toEqual(['01', '02', '03', '04', '05', '06']);
});

test('the README lists every lesson with its command', () => {
  const readme = readFileSync(join(root, 'examples/lessons/README.md'), 'utf8');
  for (const lesson of lessons) expect(readme).toContain(`npx tsx examples/lessons/${lesson}`);
});

describe.each(lessons)('%s', (lesson) => {
  test('prints its golden output', () => {
    const output = run(lesson);
    expectGolden(GOLDEN, lesson.replace(/\.ts$/, '.txt'), output);
    // No lesson may show a broken invariant, and every checkpoint holds.
    expect(output).not.toContain('VIOLATION');
    expect(output).not.toContain('✗ checkpoint');
    expect(output).toContain('✓ checkpoint');
  });
});
