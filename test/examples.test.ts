/**
 * Every example runs with one command and prints what its header promises. The examples import
 * the built package by name (`caspaxos`), so this also checks the ESM build and its exports map;
 * `npm test` builds first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = `${root}node_modules/.bin/tsx`;

function run(path: string): string {
  if (!existsSync(`${root}dist/index.js`)) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  return execFileSync(tsx, [path], { cwd: root, encoding: 'utf8', timeout: 60_000 });
}

describe('examples', () => {
  test('counter: 300 concurrent increments through 3 proposers are each applied once', () => {
    const out = run('examples/counter.ts');
    expect(out.match(/reads visits = (\d+)/g)).toEqual(['reads visits = 300', 'reads visits = 300', 'reads visits = 300']);
  });

  test('kv-store: put, get, compare-and-set on versions, delete', () => {
    const out = run('examples/kv-store.ts');
    expect(out).toContain("cas v1->blue  (alice): true");
    expect(out).toContain('cas v1->green (bob):   false');
    expect(out).toContain("get       { version: 2, value: 'blue' }");
    expect(out).toContain('after delete: null');
  });

  test('typed-kv: versions rise across delete, garbage collection and re-creation', () => {
    const out = run('examples/typed-kv.ts');
    expect(out).toContain('stale cas      ok: false');
    expect(out).toContain('records: absent absent absent');
    expect(out).toContain('above the deposit: true');
  });

  test('membership: 3 -> 4 -> 5 -> 4 -> 3 with reads in between', () => {
    const lines = run('examples/membership.ts').trim().split('\n');
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(line).toContain('read v1');
    expect(lines.at(-1)).toMatch(/acceptors a3,a4,a5 +read v1, now on a3,a4,a5/);
  });

  test('delete-and-gc: a live key is refused, a tombstone is removed everywhere', () => {
    const out = run('examples/delete-and-gc.ts');
    expect(out).toContain('retryable: false');
    expect(out).toContain('records after:  a1=absent a2=absent a3=absent');
    expect(out).toContain('rewritten:      bob');
  });

  test('logging: pino debug records per phase and a trace event per message', () => {
    const out = run('examples/logging.ts');
    const records = out
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.filter((r) => r.proposer === 'p1').map((r) => r.phase)).toEqual(['prepare', 'accept']);
    expect(out.match(/^trace: p1 -> a\d {2}prepare 1\/p1$/gm)).toHaveLength(3);
    expect(out).toContain('trace: p1 committed greeting under 1/p1');
  });
});

test('the README quick start runs as written', () => {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const snippet = /## Quick start[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (snippet === undefined) throw new Error('no ts block under "## Quick start" in README.md');
  // Inside the package directory, so `import ... from 'caspaxos'` resolves to this package.
  mkdirSync(`${root}.tmp`, { recursive: true });
  writeFileSync(`${root}.tmp/readme-quick-start.ts`, `${snippet}\nconsole.log(state?.[0], ballot.id);\n`);
  expect(run('.tmp/readme-quick-start.ts').trim()).toMatch(/^2 p2$/);
});
