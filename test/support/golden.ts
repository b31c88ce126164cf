/**
 * Golden files: `expectGolden(dir, name, actual)` compares `actual` with `dir/name`, or rewrites it
 * when the run has `UPDATE_GOLDEN=1` (after an intended change; review the diff).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'vitest';

export const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1';

export function expectGolden(dir: string, name: string, actual: string): void {
  const path = join(dir, name);
  if (UPDATE_GOLDEN) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  const shown = relative(process.cwd(), path);
  if (!existsSync(path)) throw new Error(`missing golden file ${shown}: run with UPDATE_GOLDEN=1 to write it`);
  expect(actual, `${shown} differs (UPDATE_GOLDEN=1 rewrites it)`).toBe(readFileSync(path, 'utf8'));
}
