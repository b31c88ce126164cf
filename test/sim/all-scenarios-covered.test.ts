import { expect, test } from 'vitest';
import { MUTANTS } from './mutants.js';
import { SCENARIOS } from './scenarios.js';
import { readFileSync } from 'node:fs';

test('every scenario is run by one of the two suite files, and names are unique', () => {
  const listed = ['scenarios-1.test.ts', 'scenarios-2.test.ts']
    .map((file) => readFileSync(new URL(file, import.meta.url), 'utf8'))
    .join('\n');
  for (const scenario of SCENARIOS) expect(listed, scenario.name).toContain(`'${scenario.name}'`);
  const names = [...SCENARIOS, ...MUTANTS].map((s) => s.name);
  expect(new Set(names).size).toBe(names.length);
  for (const mutant of MUTANTS) expect(mutant.name.startsWith('mutant-')).toBe(true);
  expect(MUTANTS.length).toBeGreaterThanOrEqual(10);
});
