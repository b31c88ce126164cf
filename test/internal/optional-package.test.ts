/**
 * `importOptional`: an optional package that is not installed becomes one line naming it; any
 * other failure to load (the package is there but broken, or one of ITS packages is missing) stays
 * the error it was. The packages here are real files in a scratch directory, loaded by real
 * imports. (The built command and `caspaxos/lmdb` are checked from the packed tarball in
 * test/bundle/package.test.ts.)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MissingPackageError, importOptional, isNotInstalled } from '../../src/internal/optional-package.js';

let scratch = '';
/** Imports the module `file` of the scratch directory (which imports a package or not). */
const load = (file: string) => () => import(/* @vite-ignore */ pathToFileURL(join(scratch, file)).href) as Promise<Record<string, unknown>>;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'caspaxos-optional-'));
  const pkg = (name: string, index: string): void => {
    mkdirSync(join(scratch, 'node_modules', name), { recursive: true });
    writeFileSync(join(scratch, 'node_modules', name, 'package.json'), JSON.stringify({ name, type: 'module', exports: './index.js' }));
    writeFileSync(join(scratch, 'node_modules', name, 'index.js'), index);
  };
  pkg('present', 'export const answer = 42;\n');
  // Installed, but what it imports is not: its users must see that, not "install broken".
  pkg('broken', "export * from 'caspaxos-test-absent-dependency';\n");
  writeFileSync(join(scratch, 'uses-present.mjs'), "export * from 'present';\n");
  writeFileSync(join(scratch, 'uses-absent.mjs'), "export * from 'caspaxos-test-absent';\n");
  writeFileSync(join(scratch, 'uses-broken.mjs'), "export * from 'broken';\n");
  writeFileSync(join(scratch, 'uses-absent-longer-name.mjs'), "export * from 'caspaxos-test-absent-plugin';\n");
});

afterAll(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

describe('importOptional', () => {
  it('resolves with the module when the package is installed', async () => {
    expect((await importOptional('present', 'the test', load('uses-present.mjs'))).answer).toBe(42);
  });

  it('names the package to install, keeping Node\'s code and its error as the cause', async () => {
    const error = await importOptional('caspaxos-test-absent', 'caspaxos thing', load('uses-absent.mjs')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingPackageError);
    const missing = error as MissingPackageError;
    expect(missing.message).toBe('caspaxos thing needs the optional package caspaxos-test-absent: npm install caspaxos-test-absent');
    expect(missing.code).toBe('ERR_MODULE_NOT_FOUND');
    expect(missing.packageName).toBe('caspaxos-test-absent');
    expect((missing.cause as { code?: unknown }).code).toBe('ERR_MODULE_NOT_FOUND');
  });

  it('rethrows as is when the package is installed but a package it imports is not', async () => {
    const error = await importOptional('broken', 'the test', load('uses-broken.mjs')).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(MissingPackageError);
    expect((error as Error).message).toContain("'caspaxos-test-absent-dependency'");
  });

  it('tells a package from another whose name it begins (negative control of the match)', async () => {
    const error = await importOptional('caspaxos-test-absent', 'the test', load('uses-absent-longer-name.mjs')).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(MissingPackageError);
    expect(isNotInstalled(error, 'caspaxos-test-absent-plugin')).toBe(true);
  });

  it('rethrows any other failure, and nothing but an error object counts as "not installed"', async () => {
    const failure = new SyntaxError('Unexpected token');
    await expect(importOptional('present', 'the test', () => Promise.reject(failure))).rejects.toBe(failure);
    expect(isNotInstalled(undefined, 'present')).toBe(false);
    expect(isNotInstalled({ code: 'ERR_MODULE_NOT_FOUND', message: 42 }, 'present')).toBe(false);
  });
});
