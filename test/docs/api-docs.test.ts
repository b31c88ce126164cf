/**
 * The API documentation builds without a single warning: every exported name of every public
 * entry (the subpaths of package.json "exports") has TSDoc, every `{@link}` resolves, nothing
 * public refers to an unexported type (typedoc.json: `validation`), and each entry becomes one
 * module page named like its import path. A negative control proves the check can fail: a fixture
 * entry with an undocumented export must produce exactly that warning.
 *
 * Runs typedoc through its Node API with typedoc.json, writing to a temporary directory.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as td from 'typedoc';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'caspaxos-api-docs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The module each public entry must produce: its import path, from package.json "exports". */
function publicModules(): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };
  return Object.keys(pkg.exports)
    .filter((subpath) => subpath !== './package.json')
    .map((subpath) => (subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`))
    .sort();
}

/** Keeps every message typedoc logs, so a test can assert on warnings by text. */
class CollectingLogger extends td.Logger {
  readonly messages: Array<{ readonly level: td.LogLevel; readonly text: string }> = [];
  override log(message: string, level: td.LogLevel): void {
    super.log(message, level);
    this.messages.push({ level, text: message });
  }
}

interface Run {
  readonly project: td.ProjectReflection | undefined;
  /** Warnings and errors, from bootstrapping (counted) and from converting, validating, rendering. */
  readonly problems: readonly string[];
}

/** typedoc.json, with `overrides` on top: convert, validate and, with `out`, render HTML. */
async function typedoc(overrides: Partial<td.TypeDocOptions>, out?: string): Promise<Run> {
  const app = await td.Application.bootstrapWithPlugins({ options: join(root, 'typedoc.json'), ...overrides }, [
    new td.TypeDocReader(),
    new td.PackageJsonReader(),
    new td.TSConfigReader(),
  ]);
  const problems: string[] = [];
  const early = app.logger.warningCount + app.logger.errorCount;
  if (early > 0) problems.push(`${early} warning(s) or error(s) while reading the options (printed above)`);
  const logger = new CollectingLogger();
  app.logger = logger;
  const project = await app.convert();
  if (project !== undefined) {
    app.validate(project);
    if (out !== undefined) await app.generateDocs(project, out);
  }
  problems.push(...logger.messages.filter((m) => m.level >= td.LogLevel.Warn).map((m) => m.text));
  return { project, problems };
}

describe('API documentation (typedoc)', () => {
  it('documents every public entry with zero warnings, one module page per entry', async () => {
    const out = join(scratch, 'api');
    const { project, problems } = await typedoc({}, out);
    expect(problems).toEqual([]);
    expect(project).toBeDefined();
    const modules = (project?.children ?? []).filter((c) => c.kindOf(td.ReflectionKind.Module)).map((c) => c.name);
    expect(modules.sort()).toEqual(publicModules());
    for (const name of modules) {
      // typedoc names a module's page after the module, `/` becoming `_`.
      expect(existsSync(join(out, 'modules', `${name.replaceAll('/', '_')}.html`)), `page of ${name}`).toBe(true);
    }
    expect(existsSync(join(out, 'index.html'))).toBe(true);
  }, 120_000);

  it('negative control: an undocumented export is reported, a documented one is not', async () => {
    const fixture = join(root, 'test/docs/fixtures/undocumented.ts');
    // A program of the fixture alone (the repository's compiler options, minus Node's types, which
    // a tsconfig outside the repository would not find): fast, and nothing else can warn.
    const tsconfig = join(scratch, 'tsconfig.fixture.json');
    writeFileSync(tsconfig, JSON.stringify({ extends: join(root, 'tsconfig.json'), compilerOptions: { types: [] }, include: [], files: [fixture] }));
    const { project, problems } = await typedoc({ entryPoints: [fixture], tsconfig, intentionallyNotDocumented: [] });
    expect(project?.name ?? '').not.toBe('');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/undocumentedExport.*does not have any documentation/);
  }, 60_000);
});
