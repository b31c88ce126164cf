/**
 * The relative links of the project's Markdown, and whether each resolves: to a file or folder of
 * the repository, and, with a `#fragment`, to a heading of that Markdown file (GitHub's anchors).
 * Absolute links (`https:`, `mailto:`) are not followed: the test must not need the network.
 * Pure functions over strings; the test reads the files.
 */

/** A link as written: where it is, and its target. */
export interface Link {
  readonly file: string;
  readonly line: number;
  readonly target: string;
}

/**
 * Every inline link and image target of `markdown` (`[text](target)`), outside code blocks and
 * code spans, with its line.
 */
export function extractLinks(markdown: string, file: string): Link[] {
  const links: Link[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((text, index) => {
    const trimmed = text.trim();
    const marker = /^(`{3,}|~{3,})/.exec(trimmed)?.[1];
    if (marker !== undefined) {
      if (fence === undefined) fence = marker;
      else if (marker[0] === fence[0] && marker.length >= fence.length && trimmed === marker) fence = undefined;
      return;
    }
    if (fence !== undefined) return;
    const prose = text.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/\]\(([^()\s]*(?:\([^()\s]*\)[^()\s]*)*)(?:\s+"[^"]*")?\)/g)) {
      links.push({ file, line: index + 1, target: m[1] as string });
    }
  });
  return links;
}

/** True for a link this check does not follow (another site, mail). */
export function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target);
}

/**
 * The anchors GitHub gives the headings of `markdown`: the heading's text, lower-cased, without
 * markup and punctuation, spaces as hyphens; a repeated anchor gets `-1`, `-2`, ...
 */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | undefined;
  for (const text of markdown.split('\n')) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(text)?.[1];
    if (marker !== undefined) {
      fence = fence === undefined ? marker : undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text)?.[1];
    if (heading === undefined) continue;
    const base = heading
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** What is wrong with `link`, or undefined when it resolves. `read` gives a repository file's text. */
export function problemOf(
  link: Link,
  resolve: (from: string, path: string) => string,
  exists: (path: string) => boolean,
  read: (path: string) => string,
): string | undefined {
  if (isExternal(link.target)) return undefined;
  const [path = '', fragment] = link.target.split('#', 2) as [string, string | undefined];
  const target = path === '' ? link.file : resolve(link.file, decodeURI(path));
  if (!exists(target)) return `${link.file}:${link.line}: ${link.target}: no such file`;
  if (fragment === undefined || fragment === '' || !target.endsWith('.md')) return undefined;
  if (!anchorsOf(read(target)).has(decodeURIComponent(fragment))) return `${link.file}:${link.line}: ${link.target}: no heading #${fragment} in ${target}`;
  return undefined;
}
