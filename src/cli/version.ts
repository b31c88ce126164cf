/**
 * The package's version, from its package.json: found by walking up from this module, so it reads
 * the same from src/ (tests), dist/ (the build, whose chunks sit in dist/) and an installed
 * tarball (node_modules/caspaxos/dist/). Read once, at `--version` or when metrics start.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The version in the nearest package.json named `caspaxos` above this module; throws if none. */
export function packageVersion(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    let manifest: { name?: unknown; version?: unknown } | undefined;
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
    } catch {
      manifest = undefined;
    }
    if (manifest?.name === 'caspaxos' && typeof manifest.version === 'string') return manifest.version;
    if (dirname(dir) === dir) throw new Error(`no package.json of caspaxos above ${from}`);
  }
}
