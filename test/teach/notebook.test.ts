/**
 * `show`, the explicit notebook display: through tslab's display API (which ignores
 * `Symbol.for('Jupyter.display')`) and through Deno's `Deno.jupyter.display`. Both kernels are
 * stood in for by objects that record what they were given, exactly as the kernels' own APIs take
 * it; test/notebooks runs the real kernels when they are installed.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { type MimeBundle, createCluster, set, show } from '../../src/teach/index.js';

/** A stand-in for tslab's `display`: records each call as [method, content]. */
function tslabDisplay() {
  const calls: Array<[string, string]> = [];
  const record = (method: string) => (content: string) => void calls.push([method, content]);
  return { calls, display: { html: record('html'), svg: record('svg'), markdown: record('markdown'), text: record('text') } };
}

async function cluster() {
  const c = createCluster({ seed: 1 });
  c.propose('p1', 'x', set('hello'));
  await c.runUntilIdle();
  return c;
}

describe('show in tslab', () => {
  test('a cluster, its state and its diagram go to tslab as their richest format', async () => {
    const c = await cluster();
    const { calls, display } = tslabDisplay();
    // Synchronous: a cell that ends with show(x, tslab.display) shows nothing else.
    expect(show(c, display)).toBeUndefined();
    show(c.state(), display);
    show(c.diagram(), display);
    show(c.operations()[0] as NonNullable<ReturnType<typeof c.operations>[number]>, display);
    show('just text', display);
    expect(calls.map(([method]) => method)).toEqual(['html', 'html', 'svg', 'text', 'text']);
    expect(calls[0]?.[1]).toContain('<img alt="delivery diagram"');
    expect(calls[1]?.[1]).toContain('<table><thead><tr><th>acceptor</th>');
    expect(calls[2]?.[1]).toMatch(/^<svg /);
    expect(calls[3]?.[1]).toBe('#1 p1 set "hello" on x: done, "hello" at 1/p1');
  });

  test("something that is not tslab's display is refused", async () => {
    expect(() => show('x', {} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => show(42 as never, tslabDisplay().display)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});

describe('show in Deno', () => {
  const g = globalThis as { Deno?: unknown };
  afterEach(() => {
    delete g.Deno;
  });

  test('the whole MIME bundle goes to Deno.jupyter.display, raw, and show waits for it', async () => {
    const c = await cluster();
    const shown: Array<[MimeBundle, unknown]> = [];
    let settled = false;
    g.Deno = {
      jupyter: {
        display: (bundle: MimeBundle, options: unknown) =>
          new Promise<void>((resolve) =>
            setTimeout(() => {
              shown.push([bundle, options]);
              settled = true;
              resolve();
            }, 5),
          ),
      },
    };
    await show(c);
    expect(settled).toBe(true);
    expect(shown).toHaveLength(1);
    const [bundle, options] = shown[0] as [MimeBundle, unknown];
    expect(options).toEqual({ raw: true });
    expect(Object.keys(bundle).sort()).toEqual(['image/svg+xml', 'text/html', 'text/markdown', 'text/plain']);
    expect(bundle['text/plain']).toBe(String(c));
  });

  test('outside a notebook, show says how to show instead', async () => {
    await expect(show('x')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('tslab.display') });
  });
});
