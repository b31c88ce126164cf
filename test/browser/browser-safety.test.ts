/**
 * Browser safety: every browser-safe entry of the built package bundles for the browser platform
 * with no Node built-in anywhere in its import graph, and one proposal runs in a real browser
 * (headless Chromium) from that bundle. `npm test` builds first.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserEntries } from '../../tsup.config.js';
import { chromiumMissing, launchChromium } from '../support/chromium.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function bundle(entry: string): Promise<{ code: string; inputs: string[]; errors: string[] }> {
  try {
    const result = await build({ entryPoints: [entry], absWorkingDir: root, bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent' });
    return { code: result.outputFiles[0]?.text ?? '', inputs: Object.keys(result.metafile.inputs), errors: [] };
  } catch (error) {
    const errors = (error as { errors?: Array<{ text: string }> }).errors?.map((e) => e.text) ?? [String(error)];
    return { code: '', inputs: [], errors };
  }
}

describe('browser-safe entries', () => {
  for (const name of Object.keys(browserEntries)) {
    it(`dist/${name}.js bundles for the browser with no Node built-in`, async () => {
      const { inputs, errors } = await bundle(`dist/${name}.js`);
      expect(errors).toEqual([]);
      expect(inputs.filter((input) => input.startsWith('node:') || /(^|\/)node_modules\//.test(input))).toEqual([]);
    });
  }

  it('the check catches a Node built-in (negative control)', async () => {
    const { errors } = await bundle('test/browser/fixtures/uses-node.ts');
    expect(errors.join('\n')).toMatch(/node:fs/);
  });
});

const missing = chromiumMissing();
if (missing !== undefined) console.warn(`\n*** ${missing} ***\n`);

describe.skipIf(missing !== undefined)('in headless Chromium', () => {
  let url = '';
  let close = async (): Promise<void> => {};
  beforeAll(async () => {
    const { code, errors } = await bundle('test/browser/fixtures/one-proposal.ts');
    if (errors.length > 0) throw new Error(errors.join('\n'));
    const page = '<!doctype html><meta charset="utf-8"><title>caspaxos</title><script type="module" src="/app.js"></script>';
    const server = createServer((req, res) => {
      const body = req.url === '/app.js' ? code : page;
      res.writeHead(200, { 'content-type': req.url === '/app.js' ? 'text/javascript' : 'text/html' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    close = () => new Promise((resolve) => server.close(() => resolve()));
  });
  afterAll(() => close());

  it('runs a proposal, a conflict and a read in the page', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(url);
      await page.waitForFunction(() => (window as { caspaxosResult?: unknown }).caspaxosResult !== undefined, undefined, { timeout: 20_000 });
      const result = await page.evaluate(() => (window as { caspaxosResult?: unknown }).caspaxosResult);
      expect(errors).toEqual([]);
      // p2's prepare 1/p2 meets p1's piggybacked promise 2/p1 and retries as 3/p2 (promising 4/p2);
      // p1's read is then answered from the acceptors' agreeing peeks, writing nothing: the state
      // p2's increment committed, under its ballot 3/p2.
      expect(result).toEqual({ value: 2, ballot: '3/p2', hasNodeProcess: false });
    } finally {
      await browser.close();
    }
  }, 60_000);
});
