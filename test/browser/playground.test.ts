/**
 * The playground (playground/, built by scripts/build-playground.mjs) in headless Chromium, driven
 * only by clicks, the way a learner uses it: a round message by message, a lost accept, a conflict,
 * a crash. Deterministic: seed 1, and every click waits for the page to finish its action.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchChromium } from '../support/chromium.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const SCREENSHOT = join(root, 'test-artifacts', 'playground.png');
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
};

/** A static file server for `dir` on a free port; resolves with its URL and a closer. */
async function serve(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = resolve(dir, `.${path.endsWith('/') ? `${path}index.html` : path}`);
    const type = CONTENT_TYPES[extname(file)];
    if (!file.startsWith(dir + sep) || type === undefined) {
      res.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': type }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { url, close: () => new Promise((done) => server.close(() => done())) };
}

/** Opens the playground and collects every page error and console error. */
async function open(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
  });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 10_000 });
  return { page, errors };
}

/** Clicks the element with `data-testid="<testId>"` and waits until the page has finished the action it started. */
async function click(page: Page, testId: string): Promise<void> {
  const before = Number(await page.getAttribute('body', 'data-actions'));
  await page.getByTestId(testId).click();
  await page.waitForSelector(`body[data-actions="${before + 1}"]`, { state: 'attached', timeout: 10_000 });
  expect(await page.getByTestId('error').textContent()).toBe('');
}

/** The ids of the messages in flight that match `filter` (`[data-from="p1"]`-style attribute selectors). */
async function messageIds(page: Page, filter: string): Promise<string[]> {
  const items = page.locator(`[data-testid="messages"] li${filter}`);
  const ids: string[] = [];
  for (let i = 0; i < (await items.count()); i++) ids.push((await items.nth(i).getAttribute('data-id')) ?? '');
  return ids;
}

/** One row of the acceptor table: what `acceptor` holds for `key`. */
async function record(page: Page, acceptor: string, key: string): Promise<Record<'promise' | 'accepted' | 'value', string | null>> {
  const row = page.locator(`[data-testid="record"][data-acceptor="${acceptor}"][data-key="${key}"]`);
  const field = (name: string) => row.locator(`[data-field="${name}"]`).textContent();
  return { promise: await field('promise'), accepted: await field('accepted'), value: await field('value') };
}

/** One row of the operations table. */
async function operation(page: Page, id: number): Promise<Record<'status' | 'value' | 'ballot', string | null>> {
  const row = page.getByTestId(`op-${id}`);
  const field = (name: string) => row.locator(`[data-field="${name}"]`).textContent();
  return { status: await field('status'), value: await field('value'), ballot: await field('ballot') };
}

/** Every label drawn in the sequence diagram (optionally only those of one colour). */
function diagramTexts(page: Page, fill?: string): Promise<string[]> {
  return page.locator(`[data-testid="diagram-svg"] text${fill === undefined ? '' : `[fill="${fill}"]`}`).allTextContents();
}

async function propose(page: Page, proposer: string, key: string, change: string, value?: string): Promise<void> {
  await page.getByTestId('proposer').selectOption(proposer);
  await page.getByTestId('key').fill(key);
  await page.getByTestId('change').selectOption(change);
  if (value !== undefined) await page.getByTestId('value').fill(value);
  await click(page, 'propose');
}

const missing = chromiumMissing();
if (missing !== undefined) console.warn(`\n*** ${missing} ***\n`);

describe.skipIf(missing !== undefined)('the playground in headless Chromium', () => {
  let outDir = '';
  let url = '';
  let browser: Browser | undefined;
  let stop = async (): Promise<void> => {};

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'caspaxos-playground-'));
    // The real command (`npm run playground` runs it without --out).
    await promisify(execFile)(process.execPath, [join(root, 'scripts', 'build-playground.mjs'), '--out', outDir], { cwd: root });
    const server = await serve(outDir);
    url = server.url;
    browser = await launchChromium();
    stop = async () => {
      await browser?.close();
      await server.close();
      await rm(outDir, { recursive: true, force: true });
    };
  }, 30_000);
  afterAll(() => stop());

  it('teaches a round, a lost accept, a conflict and a crash, by clicking', async () => {
    const { page, errors } = await open(browser as Browser, url);

    // A 3-acceptor, 2-proposer cluster from seed 1.
    await page.getByTestId('acceptor-count').selectOption('3');
    await page.getByTestId('proposer-count').selectOption('2');
    await page.getByTestId('seed').fill('1');
    await click(page, 'build');
    expect(await page.getByTestId('cluster-summary').textContent()).toContain('seed 1 · 3 acceptors · proposers p1, p2');

    // p1 sets x to "hello": three prepares in flight.
    await propose(page, 'p1', 'x', 'set', 'hello');
    expect(await operation(page, 1)).toEqual({ status: 'pending', value: '', ballot: '' });
    const prepares = await messageIds(page, '[data-from="p1"][data-method="prepare"]');
    expect(prepares).toHaveLength(3);
    expect(await page.getByTestId(`message-${prepares[0]}`).locator('[data-field="line"]').textContent()).toBe(`#${prepares[0]} p1 → a1 prepare(x, 1/p1)`);
    for (const id of prepares) await click(page, `deliver-${id}`);
    // Each acceptor persisted its promise before replying.
    expect(await record(page, 'a2', 'x')).toEqual({ promise: '1/p1', accepted: 'ø', value: '∅' });

    const promises = await messageIds(page, '[data-to="p1"][data-kind="reply"]');
    expect(promises).toHaveLength(3);
    for (const id of promises) await click(page, `deliver-${id}`);

    // A majority promised, so p1 sent its accepts; the one to a3 is lost.
    const accepts = await messageIds(page, '[data-from="p1"][data-method="accept"]');
    expect(accepts).toHaveLength(3);
    const toA3 = await messageIds(page, '[data-from="p1"][data-method="accept"][data-to="a3"]');
    expect(toA3).toHaveLength(1);
    await click(page, `drop-${toA3[0]}`);
    await click(page, 'run-settled');

    expect(await operation(page, 1)).toEqual({ status: 'done', value: '"hello"', ballot: '1/p1' });
    expect(await record(page, 'a1', 'x')).toEqual({ promise: '1/p1', accepted: '1/p1', value: '"hello"' });
    expect(await record(page, 'a2', 'x')).toEqual({ promise: '1/p1', accepted: '1/p1', value: '"hello"' });
    expect(await record(page, 'a3', 'x')).toEqual({ promise: '1/p1', accepted: 'ø', value: '∅' });
    const round = await diagramTexts(page);
    expect(round).toEqual(expect.arrayContaining(['prepare(x, 1/p1)', 'promised(ø, ∅)', 'accept(x, 1/p1, "hello")', 'accepted', 'committed x = "hello" at 1/p1']));
    expect(round.filter((text) => text === 'prepare(x, 1/p1)')).toHaveLength(3);

    // A conflict: p1 writes again (ballot 2/p1), then p2's first ballot 1/p2 is too low.
    await propose(page, 'p1', 'x', 'append', ' world');
    await click(page, 'run-settled');
    expect(await operation(page, 2)).toEqual({ status: 'done', value: '"hello world"', ballot: '2/p1' });
    expect(await diagramTexts(page, '#c62828')).toEqual([]);
    await propose(page, 'p2', 'x', 'append', '!');
    await click(page, 'run-settled');
    const rejections = await diagramTexts(page, '#c62828'); // the SVG draws rejections in red
    expect(rejections.length).toBeGreaterThan(0);
    expect(rejections.every((text) => text.startsWith('conflict(accepted 2/p1)'))).toBe(true);
    expect(await diagramTexts(page)).toEqual(expect.arrayContaining(['prepare(x, 1/p2)', 'prepare(x, 3/p2)', 'committed x = "hello world!" at 3/p2']));
    expect(await operation(page, 3)).toEqual({ status: 'done', value: '"hello world!"', ballot: '3/p2' });

    // Crash a2: the page shows it down, its records survive, and a read still has a majority.
    await click(page, 'crash-a2');
    expect(await page.getByTestId('node-status-a2').textContent()).toBe('down');
    expect(await page.getByTestId('node-a2').getAttribute('data-up')).toBe('false');
    expect(await page.getByTestId('crash-a2').isDisabled()).toBe(true);
    expect(await page.getByTestId('restart-a2').isEnabled()).toBe(true);
    expect(await page.locator('[data-testid="record"][data-acceptor="a2"] [data-field="status"]').first().textContent()).toBe('down');
    expect(await record(page, 'a2', 'x')).toEqual({ promise: '3/p2', accepted: '3/p2', value: '"hello world!"' });
    await propose(page, 'p1', 'x', 'read');
    await click(page, 'run-settled');
    expect(await operation(page, 4)).toEqual({ status: 'done', value: '"hello world!"', ballot: '4/p1' });
    expect(await record(page, 'a2', 'x')).toEqual({ promise: '3/p2', accepted: '3/p2', value: '"hello world!"' });

    await mkdir(join(root, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('partitions, refuses what it cannot do with a message, and heals', async () => {
    const { page, errors } = await open(browser as Browser, url);
    await propose(page, 'p1', 'k', 'increment');
    await click(page, 'isolate-a1');
    expect(await page.getByTestId('node-status-a1').textContent()).toBe('up, isolated');

    // The prepare to a1 crosses the partition: its Deliver button is disabled, and delivering it
    // through the API would be refused; stepping the cluster loses it instead.
    const [toA1] = await messageIds(page, '[data-to="a1"]');
    expect(await page.getByTestId(`deliver-${toA1}`).isDisabled()).toBe(true);
    expect(await page.getByTestId(`message-${toA1}`).textContent()).toContain('blocked by a partition');

    // A bad request gets a clear message and changes nothing.
    const before = Number(await page.getAttribute('body', 'data-actions'));
    await page.getByTestId('seed').fill('-1');
    await page.getByTestId('build').click();
    await page.waitForSelector(`body[data-actions="${before + 1}"]`, { state: 'attached' });
    expect(await page.getByTestId('error').textContent()).toMatch(/seed must be an integer/);
    expect(await page.getByTestId(`message-${toA1}`).count()).toBe(1); // the old cluster is still there

    await click(page, 'run-settled');
    expect(await operation(page, 1)).toEqual({ status: 'done', value: '"1"', ballot: '1/p1' });
    expect(await page.locator('[data-testid="record"][data-acceptor="a1"][data-key="k"]').count()).toBe(0);
    await click(page, 'heal');
    expect(await page.getByTestId('node-status-a1').textContent()).toBe('up');
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('delays and steps, deletes and collects a key, grows and shrinks the cluster', async () => {
    const { page, errors } = await open(browser as Browser, url);
    await propose(page, 'p1', 'x', 'set', 'a');
    const [toA1] = await messageIds(page, '[data-to="a1"]');
    await page.getByTestId('delay-ms').fill('10');
    await click(page, `delay-${toA1}`);
    await click(page, 'step');
    expect(await page.locator('[data-testid="log"] li').last().textContent()).toBe('  0.140 ms  deliver #2 p1 → a2 prepare(x, 1/p1)');
    await click(page, 'run-settled');

    await propose(page, 'p2', 'x', 'delete');
    await click(page, 'run-settled');
    expect(await operation(page, 2)).toEqual({ status: 'done', value: '∅', ballot: '2/p2' }); // 1/p2 tied 1/p1's counter: rule G1
    await click(page, 'gc');
    await click(page, 'run-settled');
    expect(await operation(page, 3)).toEqual({ status: 'done', value: '', ballot: '' });
    expect(await page.locator('[data-testid="record"][data-key="x"]').count()).toBe(0);
    expect(await page.getByTestId('fence-a1').textContent()).toBe('a1 requires ages p1 ≥ 1, p2 ≥ 1; absent keys act as promised 3/p2');

    await click(page, 'grow');
    expect(await page.getByTestId('op-4').locator('[data-field="label"]').textContent()).toBe('grow a4');
    await click(page, 'run-settled');
    expect((await operation(page, 4)).status).toBe('done');
    expect(await page.getByTestId('node-status-a4').textContent()).toBe('up');
    await page.getByTestId('shrink-target').selectOption('a1');
    await click(page, 'shrink');
    await click(page, 'run-settled');
    expect((await operation(page, 5)).status).toBe('done');
    expect(await page.getByTestId('node-status-a1').textContent()).toBe('up, not a member');
    expect(await page.getByTestId('shrink-target').locator('option').allTextContents()).toEqual(['a2', 'a3', 'a4']);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows keys and values as text, never as markup', async () => {
    const { page, errors } = await open(browser as Browser, url);
    const key = '<img src=x onerror="window.pwned=1">';
    await propose(page, 'p1', key, 'set', '<b>bold</b>');
    await click(page, 'run-idle');
    expect(await page.locator('img, b').count()).toBe(0);
    expect(await page.evaluate('window.pwned')).toBeUndefined();
    const row = page.locator('[data-testid="record"][data-acceptor="a1"]');
    expect(await row.getAttribute('data-key')).toBe(key);
    expect(await row.locator('[data-field="key"]').textContent()).toBe(JSON.stringify(key));
    expect(await row.locator('[data-field="value"]').textContent()).toBe('"<b>bold</b>"');
    expect(await operation(page, 1)).toEqual({ status: 'done', value: '"<b>bold</b>"', ballot: '1/p1' });
    expect(await diagramTexts(page)).toContain(`accept(${JSON.stringify(key)}, 1/p1, "<b>bold</b>")`);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
