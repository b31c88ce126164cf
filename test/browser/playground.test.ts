/**
 * The playground (playground/, built by scripts/build-playground.mjs) in headless Chromium, driven
 * only by clicks, the way a learner uses it: a round message by message, a lost accept, a conflict,
 * a crash; a guided lesson and the counterexamples, step by step, at a laptop's size (1280x800)
 * and a phone's (390x844), reading the explanations on screen. Deterministic: fixed seeds, and
 * every click waits for the page to finish its action. Screenshots go to test-artifacts/ (not
 * committed).
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
const ARTIFACTS = join(root, 'test-artifacts');
const SCREENSHOT = join(ARTIFACTS, 'playground.png');
const SIZES = [
  { name: 'laptop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
] as const;
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
async function open(browser: Browser, url: string, viewport: { width: number; height: number } = { width: 1280, height: 900 }): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport });
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

/** How many of `texts` contain `part`. */
const containing = (texts: readonly string[], part: string): number => texts.filter((t) => t.includes(part)).length;

/** Every line of the explanations panel (the summaries and the why lines). */
function explanationTexts(page: Page): Promise<string[]> {
  return page.locator('[data-testid="explanations"] [data-testid="why"]').allTextContents();
}

/** The page scrolls sideways: its content is wider than the window. */
function sidewaysScroll(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
}

/** Runs the guided tour's current step and moves to the next; returns the checkpoint line. */
async function runStep(page: Page, last: boolean): Promise<string> {
  await click(page, 'tour-run');
  const checkpoint = (await page.getByTestId('tour-checkpoint').textContent()) ?? '';
  if (!last) await click(page, 'tour-next');
  return checkpoint;
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
    for (const part of ['prepare(x, 1/p1)', 'promised(ø, ∅)', 'accept(x, 1/p1, "hello")', 'accepted', 'committed x = "hello" at 1/p1']) expect(containing(round, part), part).toBeGreaterThan(0);
    expect(containing(round, 'prepare(x, 1/p1)  [')).toBe(3);
    // The dropped accept is drawn as dropped, not as delivered.
    expect(containing(round, `#${toA3[0]} p1 → a3 accept(x, 1/p1, "hello")  [dropped]`)).toBe(1);

    // A conflict: p1 writes again (ballot 2/p1), then p2's first ballot 1/p2 is too low.
    await propose(page, 'p1', 'x', 'append', ' world');
    await click(page, 'run-settled');
    expect(await operation(page, 2)).toEqual({ status: 'done', value: '"hello world"', ballot: '2/p1' });
    expect(await diagramTexts(page, '#c62828')).toEqual([]);
    await propose(page, 'p2', 'x', 'append', '!');
    await click(page, 'run-settled');
    const rejections = (await diagramTexts(page, '#c62828')).filter((text) => text.startsWith('#')); // the SVG draws rejections in red
    expect(rejections.length).toBeGreaterThan(0);
    expect(rejections.every((text) => text.includes('conflict(accepted 2/p1)'))).toBe(true);
    const texts = await diagramTexts(page);
    for (const part of ['prepare(x, 1/p2)', 'prepare(x, 3/p2)', 'committed x = "hello world!" at 3/p2']) expect(containing(texts, part), part).toBeGreaterThan(0);
    // Why each prepare of 1/p2 was refused, as the acceptor applied the rule.
    expect(await explanationTexts(page)).toContain('a1: prepare 1/p2 refused: promised 2/p1 > 1/p2');
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
    expect(containing(await diagramTexts(page), `accept(${JSON.stringify(key)}, 1/p1, "<b>bold</b>")`)).toBe(3);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it.each(SIZES)('a guided lesson, step by step, with its explanations on screen ($name, $width x $height)', async ({ name, width, height }) => {
    const { page, errors } = await open(browser as Browser, url, { width, height });
    await click(page, 'mode-lessons');
    expect(await page.getByTestId('guide').isVisible()).toBe(true);
    // Lesson 2, "Conflict and fast-forward".
    const before = Number(await page.getAttribute('body', 'data-actions'));
    await page.getByTestId('lesson').selectOption('1');
    await page.waitForSelector(`body[data-actions="${before + 1}"]`, { state: 'attached' });
    expect(await page.getByTestId('tour-title').textContent()).toBe('Step 1 of 8: Part A: p2 writes twice, so its counter is at 2');
    expect(await page.getByTestId('tour-checkpoint').textContent()).toBe('Checkpoint, after this step: every acceptor promised and accepted 2/p2, holding "ab"');

    expect(await runStep(page, false)).toBe('✓ checkpoint: every acceptor promised and accepted 2/p2, holding "ab"');
    // p1's first ballot is too low: the acceptors say why, and p1 fast-forwards past the ballot that beat it.
    expect(await runStep(page, false)).toBe('✓ checkpoint: p1 committed "abc" at 3/p1 after one lost attempt');
    let why = await explanationTexts(page);
    expect(why).toContain('a2: prepare 1/p1 refused: promised 2/p2 > 1/p1');
    expect(why).toContain('p1 fast-forwards its counter 1 → 2, past the highest ballot it was shown: its next ballot, 3/p1, beats it');
    expect(why.some((line) => line.includes('2 of 3 promises') && line.includes('quorum reached; adopts "ab"'))).toBe(true);
    // Part B, the race, on a fresh cluster: what happens next is shown before each step runs.
    expect(await runStep(page, false)).toBe('✓ checkpoint: six prepares in flight: 1/p1 and 1/p2 to each acceptor');
    expect(await page.getByTestId('next-event').textContent()).toMatch(/^Next, at 0\.\d{3} ms: deliver #\d+ p\d → a\d prepare\(x, 1\/p\d\)$/);
    expect(await page.locator('[data-testid="messages"] [data-field="due"]').first().textContent()).toMatch(/^due 0\.\d{3} ms$/);
    expect(await runStep(page, false)).toBe("✓ checkpoint: p1's three accepts of 1/p1 are in flight");
    expect(await runStep(page, false)).toBe('✓ checkpoint: all three acceptors promised 1/p2');
    expect(await runStep(page, false)).toBe("✓ checkpoint: p1's retry prepares 2/p1 are in flight");
    why = await explanationTexts(page);
    // The issue's own example, on screen: the rule the receiver applied, with its comparison.
    expect(why).toContain('a2: accept 1/p1 refused: promised 1/p2 > 1/p1');
    expect(why.some((line) => line.startsWith('p1: a2 refused 1/p1 (it promised 1/p2): 2 of 3 refused'))).toBe(true);
    // The refused accepts are drawn from where they were sent to where they were refused.
    expect(containing(await diagramTexts(page), 'p1 → a2 accept(x, 1/p1, "+p1")  [3rd at a2]')).toBe(1);
    expect(await runStep(page, false)).toBe('✓ checkpoint: p2 committed "+p2" at 1/p2');
    expect(await runStep(page, true)).toBe('✓ checkpoint: x = "+p2+p1" is chosen: both appends, once each');
    expect(await page.getByTestId('tour-progress').textContent()).toBe('end of the tour');
    expect(await page.locator('[data-testid="accepted-value"][data-chosen="true"]').first().textContent()).toContain('x = "+p2+p1" at 2/p1 on a1, a2, a3');

    // "Step says what it ran": a step of the free controls, on the tour's cluster.
    expect(await page.getByTestId('next-event').textContent()).toBe('Next: nothing left to happen.');
    expect(await sidewaysScroll(page)).toBe(false);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.getByTestId('guide').screenshot({ path: join(ARTIFACTS, `lesson-${name}-guide.png`) });
    await page.locator('section.story').screenshot({ path: join(ARTIFACTS, `lesson-${name}-diagram-and-why.png`) });
    await page.screenshot({ path: join(ARTIFACTS, `lesson-${name}.png`), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it.each(SIZES)('counterexamples: a rule broken is caught by the checkers and explained; intact, nothing is ($name)', async ({ name, width, height }) => {
    const { page, errors } = await open(browser as Browser, url, { width, height });
    await click(page, 'mode-counterexamples');
    const switches = page.locator('[data-testid="switches"] input[type="radio"]');
    expect(await switches.count()).toBeGreaterThanOrEqual(3);
    expect(await page.getByTestId('switch-read-without-write-back').isChecked()).toBe(true);
    expect(await page.getByTestId('broken').isChecked()).toBe(true);
    expect(await page.getByTestId('cluster-summary').textContent()).toContain('BROKEN: Reads that do not write back');

    /** Runs every step of the scenario; returns each checkpoint line. */
    const runAll = async (): Promise<string[]> => {
      const lines: string[] = [];
      for (;;) {
        const last = (await page.getByTestId('tour-title').textContent())?.match(/^Step (\d+) of (\d+)/);
        const done = last !== null && last !== undefined && last[1] === last[2];
        lines.push(await runStep(page, done));
        if (done) return lines;
      }
    };
    let checkpoints = await runAll();
    // The lesson's claim breaks: the second read goes back to "v0" ...
    expect(checkpoints).toContain('✗ checkpoint: the second read also returned "v1" (does NOT hold)');
    // ... the broken read says so in the why panel, and the library's checker finds the violation.
    expect((await explanationTexts(page)).some((line) => line.includes('returns "v1" without writing it back'))).toBe(true);
    expect(checkpoints.at(-1)).toBe('✓ checkpoint: the checkers find a violation');
    expect(await page.getByTestId('tour-output').textContent()).toContain('linearizability (check/linearizability, cas-register model): VIOLATED');
    expect(await page.getByTestId('tour-text').textContent()).toContain('Without the write-back, a read may return a value held by a minority');
    await mkdir(ARTIFACTS, { recursive: true });
    await page.getByTestId('guide').screenshot({ path: join(ARTIFACTS, `counterexample-${name}-broken.png`) });

    // The same scenario on the real protocol: every claim holds and the checkers find nothing.
    const before = Number(await page.getAttribute('body', 'data-actions'));
    await page.getByTestId('broken').uncheck();
    await page.waitForSelector(`body[data-actions="${before + 1}"]`, { state: 'attached' });
    checkpoints = await runAll();
    expect(checkpoints.every((line) => line.startsWith('✓'))).toBe(true);
    expect(checkpoints.at(-1)).toBe('✓ checkpoint: the checkers find nothing wrong');

    // Another switch: growing without the identity pass loses a committed write.
    const again = Number(await page.getAttribute('body', 'data-actions'));
    await page.getByTestId('broken').check();
    await page.waitForSelector(`body[data-actions="${again + 1}"]`, { state: 'attached' });
    const next = Number(await page.getAttribute('body', 'data-actions'));
    await page.getByTestId('switch-grow-without-identity-pass').check();
    await page.waitForSelector(`body[data-actions="${next + 1}"]`, { state: 'attached' });
    checkpoints = await runAll();
    expect(checkpoints).toContain('✗ checkpoint: the read through a3, a4, a5 returned "hello" (does NOT hold)');
    expect(checkpoints.at(-1)).toBe('✓ checkpoint: the checkers find a violation');
    expect(await sidewaysScroll(page)).toBe(false);
    await page.getByTestId('guide').screenshot({ path: join(ARTIFACTS, `counterexample-${name}-grow.png`) });
    await page.screenshot({ path: join(ARTIFACTS, `counterexample-${name}.png`), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('free play on a phone: no sideways scroll, and the diagram scrolls inside its box', async () => {
    const { page, errors } = await open(browser as Browser, url, { width: 390, height: 844 });
    for (let i = 0; i < 4; i++) await propose(page, i % 2 === 0 ? 'p1' : 'p2', 'x', 'append', String(i));
    await click(page, 'run-idle');
    expect(await sidewaysScroll(page)).toBe(false);
    const box = await page.getByTestId('diagram').evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth, height: el.scrollHeight, shown: el.clientHeight }));
    expect(box.scroll).toBeGreaterThan(box.client); // wider than the phone: it scrolls, it is not shrunk
    expect(box.height).toBeGreaterThan(box.shown);
    const width = Number(await page.getByTestId('diagram-svg').getAttribute('width'));
    await click(page, 'zoom-out');
    expect(Number(await page.getByTestId('diagram-svg').getAttribute('width'))).toBeLessThan(width);
    await click(page, 'zoom-reset');
    expect(Number(await page.getByTestId('diagram-svg').getAttribute('width'))).toBe(width);
    // Step says what it ran.
    await propose(page, 'p1', 'x', 'read');
    await click(page, 'step');
    expect(await page.getByTestId('last-step').textContent()).toMatch(/^Step ran:\n *\d+\.\d{3} ms {2}deliver #\d+ p1 → a\d prepare\(x, \d+\/p1\)\n +a\d: prepare/);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'free-play-phone.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
