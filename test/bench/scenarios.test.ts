/**
 * The in-memory benchmark's scenarios (bench/scenarios.mjs) check what they measured: every
 * scenario reads its data back, and a and b count the ballots a run used (one per proposal, plus
 * one reserved per key with one round trip). A build that stops skipping the prepare phase, or
 * that stores the wrong bytes, fails the scenario instead of reporting a figure. Nothing else runs
 * those checks, so this runs every scenario briefly against the build (`npm test` builds first),
 * asserting no speed at all: the figures are `npm run bench`'s. The negative controls run the same
 * scripts over a wrapped build that breaks one promise each, and must fail.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const dist = join(root, 'dist');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runScenario(args: readonly string[], env: Record<string, string> = {}, nodeArgs: readonly string[] = []): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, join(root, 'bench', 'scenarios.mjs'), ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The scenario's JSON line, after checking that it exited cleanly. */
function resultOf(run: Run, scenario: string): Record<string, unknown> {
  expect(run.code, `${run.stderr.slice(-2000)}\n${run.stdout.slice(-2000)}`).toBe(0);
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;
  expect(result.scenario).toBe(scenario);
  return result;
}

describe('bench/scenarios.mjs checks its own results', () => {
  it.each([
    ['a', '1'],
    ['a', '2'],
    ['b', '1'],
    ['b', '2'],
  ])('scenario %s, %sRTT: data read back, one ballot per proposal', async (scenario, rtt) => {
    const result = resultOf(await runScenario([scenario, '--rtt', rtt, '--ms', '50']), scenario);
    expect((result[scenario] as { ops: number }).ops).toBeGreaterThan(0);
  }, 60_000);

  it('scenario b with 5 acceptors (g)', async () => {
    resultOf(await runScenario(['b', '--acceptors', '5', '--ms', '50']), 'b');
  }, 60_000);

  it('scenario c: three contending proposers, every final state one that was written, no errors', async () => {
    const result = resultOf(await runScenario(['c', '--ms', '200', '--seed', '7']), 'c');
    const c = result.c as { ok: number; errors: number };
    expect(c.ok).toBeGreaterThan(0);
    expect(c.errors).toBe(0);
  }, 60_000);

  it('scenarios d, e, f and h run to their checks', async () => {
    resultOf(await runScenario(['d', '--ms', '50']), 'd');
    resultOf(await runScenario(['e', '--keys', '5000'], {}, ['--expose-gc']), 'e');
    resultOf(await runScenario(['f', '--count', '2000']), 'f');
    resultOf(await runScenario(['h', '--ms', '20', '--rounds', '1', '--logger', 'all']), 'h');
  }, 120_000);
});

describe('negative controls: a broken build fails the scenarios', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caspaxos-bench-control-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A build that re-exports dist/ with MemoryProposer replaced by `body`'s subclass. */
  function wrappedBuild(name: string, body: string): Record<string, string> {
    const sub = join(dir, name);
    const real = pathToFileURL(join(dist, 'index.js')).href;
    const testing = pathToFileURL(join(dist, 'testing.js')).href;
    rmSync(sub, { recursive: true, force: true });
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, 'index.js'), `export * from '${real}';\nimport { MemoryProposer as Real } from '${real}';\nexport class MemoryProposer extends Real {\n${body}\n}\n`);
    writeFileSync(join(sub, 'testing.js'), `export * from '${testing}';\n`);
    return { BENCH_DIST: pathToFileURL(join(sub, 'index.js')).href };
  }

  it('a proposer that never skips the prepare fails the 1RTT ballot count', async () => {
    const env = wrappedBuild('always-prepares', '  constructor(id, acceptors, options) { super(id, acceptors, { ...options, oneRoundTrip: false }); }');
    const run = await runScenario(['a', '--rtt', '1', '--ms', '50'], env);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('bench check failed');
    expect(run.stderr).toContain('skip the prepare');
  }, 60_000);

  it('a proposer that stores other bytes fails the read-back', async () => {
    const env = wrappedBuild('wrong-bytes', '  propose(key, change, opts) { return super.propose(key, (state) => { const next = change(state); return next === undefined ? next : new Uint8Array(next.length); }, opts); }');
    const run = await runScenario(['b', '--rtt', '2', '--ms', '50'], env);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('bench check failed');
    expect(run.stderr).toContain('read back');
  }, 60_000);
});

