/**
 * The display protocol: a Jupyter kernel (Deno's) calls `[Symbol.for('Jupyter.display')]()` and
 * renders the MIME bundle it returns; Node's `console.log` and REPL call
 * `[Symbol.for('nodejs.util.inspect.custom')]()`. Both are checked here by calling the methods as
 * those hosts do, and the SVG and HTML they carry are checked for well-formedness and escaping.
 */
import { inspect } from 'node:util';
import { expect, test } from 'vitest';
import { JUPYTER_DISPLAY, NODE_INSPECT, type MimeBundle, append, createCluster, set } from '../../src/teach/index.js';
import { codeSpan, tableMarkdown } from '../../src/teach/display.js';
import { checkWellFormedXml } from '../trace/xml-check.js';

const display = (value: unknown): MimeBundle => (value as Record<symbol, () => MimeBundle>)[Symbol.for('Jupyter.display')]?.() as MimeBundle;

async function busyCluster() {
  const cluster = createCluster({ seed: 5 });
  cluster.propose('p1', 'x', append('1'));
  cluster.propose('p2', 'x', append('2'));
  await cluster.runUntilSettled();
  cluster.propose('p1', 'x', set('pending'));
  return cluster;
}

test('the symbols are the registered ones hosts look up', () => {
  expect(JUPYTER_DISPLAY).toBe(Symbol.for('Jupyter.display'));
  expect(NODE_INSPECT).toBe(Symbol.for('nodejs.util.inspect.custom'));
});

test('the cluster displays as HTML (diagram and table), Markdown, SVG and plain text', async () => {
  const cluster = await busyCluster();
  const bundle = display(cluster);
  expect(Object.keys(bundle).sort()).toEqual(['image/svg+xml', 'text/html', 'text/markdown', 'text/plain']);
  expect(checkWellFormedXml(bundle['image/svg+xml'] as string)).toEqual({ ok: true });
  // The HTML embeds the same SVG as a data URI, then the acceptor table.
  const html = bundle['text/html'] as string;
  const src = /<img alt="delivery diagram" src="data:image\/svg\+xml;charset=utf-8,([^"]*)">/.exec(html)?.[1];
  expect(decodeURIComponent(src as string)).toBe(bundle['image/svg+xml']);
  expect(html).toContain('<table><thead><tr><th>acceptor</th>');
  expect(checkWellFormedXml(html.replace(/<img [^>]*>/, ''))).toEqual({ ok: true });
  expect(bundle['text/markdown']).toContain('```mermaid\nsequenceDiagram\n');
  expect(bundle['text/markdown']).toContain('| acceptor | status | key | promise | accepted | value |');
  expect(bundle['text/plain']).toBe(String(cluster));
  expect(bundle['text/plain']).toContain('#3 p1 set "pending" on x: pending');
});

test('an empty cluster displays without a diagram', () => {
  const bundle = display(createCluster());
  expect(bundle['text/html']).not.toContain('<img');
  expect(bundle['text/markdown']).not.toContain('mermaid');
  expect(bundle['image/svg+xml']).toBeUndefined();
});

test('state() displays as tables (HTML, Markdown) and as its text, with the values chosen and what happens next', async () => {
  const cluster = await busyCluster();
  const state = cluster.state();
  const bundle = display(state);
  expect(Object.keys(bundle).sort()).toEqual(['text/html', 'text/markdown', 'text/plain']);
  expect(bundle['text/plain']).toBe(state.text);
  expect(inspect(state)).toBe(state.text.trimEnd());
  expect(`${state}`).toBe(state.text);
  const html = bundle['text/html'] as string;
  expect(html).toContain('<table><thead><tr><th>acceptor</th>');
  expect(html).toContain('values:');
  expect(html).toContain('next: ');
  expect(checkWellFormedXml(html)).toEqual({ ok: true });
  expect(state.values.some((v) => v.key === 'x' && v.chosen)).toBe(true);
});

test('a diagram displays as SVG, Mermaid in Markdown, and ASCII', async () => {
  const cluster = await busyCluster();
  const diagram = cluster.diagram();
  const bundle = display(diagram);
  expect(Object.keys(bundle).sort()).toEqual(['image/svg+xml', 'text/markdown', 'text/plain']);
  expect(checkWellFormedXml(bundle['image/svg+xml'] as string)).toEqual({ ok: true });
  expect(bundle['text/markdown']).toBe(`\`\`\`mermaid\n${diagram.mermaid}\`\`\``);
  expect(bundle['text/plain']).toBe(diagram.text);
  expect(String(diagram)).toBe(diagram.text);
  expect(diagram.length).toBe(diagram.model.rows.length);
});

test('Node shows the cluster, diagrams and operations as their text, not as objects', async () => {
  const cluster = await busyCluster();
  const diagram = cluster.diagram();
  const [op] = cluster.operations();
  expect(inspect(diagram)).toBe(diagram.text.trimEnd());
  expect(inspect(cluster)).toBe(String(cluster).trimEnd());
  expect(inspect(op)).toMatch(/^#1 p1 append "1" on x: done, "\d+" at \d+\/p\d$/);
  expect(cluster[NODE_INSPECT]()).toContain('acceptor  status  key  promise  accepted  value');
});

test('keys and values that look like markup stay text in every format', async () => {
  const cluster = createCluster();
  cluster.propose('p1', '<b>|`k`', set('</svg><script>&'));
  await cluster.runUntilSettled();
  const bundle = display(cluster);
  expect(checkWellFormedXml(bundle['image/svg+xml'] as string)).toEqual({ ok: true });
  const html = bundle['text/html'] as string;
  expect(html).not.toContain('<script>');
  expect(html).not.toContain('<b>');
  expect(checkWellFormedXml(html.replace(/<img [^>]*>/, ''))).toEqual({ ok: true });
  // The Markdown table keeps one cell per column: the pipe in the key is escaped.
  const row = (bundle['text/markdown'] as string).split('\n').find((line) => line.startsWith('| `a1'));
  expect(row?.split(/(?<!\\)\|/).length).toBe(8);
});

test('codeSpan fences around backticks and escapes pipes; tableMarkdown has a separator row', () => {
  expect(codeSpan('a')).toBe('`a`');
  expect(codeSpan('a`b')).toBe('``a`b``');
  expect(codeSpan('`a')).toBe('`` `a ``');
  expect(codeSpan('a|b')).toBe('`a\\|b`');
  expect(tableMarkdown({ header: ['h1', 'h2'], rows: [['x', '']] })).toBe('| h1 | h2 |\n| --- | --- |\n| `x` |  |');
});

test('a closed cluster still displays, as a one-liner', () => {
  const cluster = createCluster();
  cluster.close();
  expect(display(cluster)).toEqual({ 'text/plain': 'TeachingCluster (closed)' });
});
