/**
 * Every relative link of README.md, the other root Markdown files and docs/** resolves: the file
 * exists in the repository, and a `#fragment` names a heading of the Markdown file it points to.
 * The guides were carved out of one README, so an anchor that moved with its section is the
 * likeliest break. A negative control proves a missing file and a missing heading are reported.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { anchorsOf, extractLinks, problemOf } from './links.js';
import { markdownFiles } from './markdown-files.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Repository paths, relative to the root, with `/` separators. */
const resolve = (from: string, path: string): string => relative(root, normalize(join(root, dirname(from), path))).split('\\').join('/');
const exists = (path: string): boolean => existsSync(join(root, path));
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

describe('documentation links', () => {
  it('every relative link resolves to a file, and every fragment to a heading', () => {
    const links = markdownFiles(root).flatMap((file) => extractLinks(read(file), file));
    expect(links.length).toBeGreaterThan(50);
    expect(links.flatMap((link) => problemOf(link, resolve, exists, read) ?? [])).toEqual([]);
  });

  it('negative control: a missing file and a missing heading are reported; code is not read as links', () => {
    const md = '# Title\n\n## On disk: `caspaxos/lmdb` (Node)\n\n[a](#on-disk-caspaxoslmdb-node) [b](#nowhere) [c](no-such.md) [d](https://example.com/x)\n\n`[e](f.md)`\n\n```ts\n[g](h.md)\n```\n';
    const links = extractLinks(md, 'docs/x.md');
    expect(links.map((l) => l.target)).toEqual(['#on-disk-caspaxoslmdb-node', '#nowhere', 'no-such.md', 'https://example.com/x']);
    const problems = links.map((l) => problemOf(l, resolve, (p) => p === 'docs/x.md', () => md));
    expect(problems).toEqual([undefined, 'docs/x.md:5: #nowhere: no heading #nowhere in docs/x.md', 'docs/x.md:5: no-such.md: no such file', undefined]);
    expect([...anchorsOf('# A\n## A\n### `new X(a, { b? })`\n')]).toEqual(['a', 'a-1', 'new-xa--b-']);
  });
});
