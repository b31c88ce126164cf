/**
 * The operations guides cannot drift from the code: docs/operations/configuration.md's flag tables
 * are what scripts/configuration-doc.ts generates from the commands' own option tables and help;
 * docs/operations/metrics.md names every metric the servers register, and no other; and the
 * TypeScript block of docs/operations/tls.md runs as printed (against the build, with openssl).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MemoryAcceptor } from '../../src/acceptor/memory-acceptor.js';
import { MemoryStore } from '../../src/acceptor/memory-store.js';
import { processMetrics } from '../../src/cli/process-metrics.js';
import { createAcceptorServer } from '../../src/http/acceptor-server.js';
import { type NodeServerContext, createNodeServer } from '../../src/http/proposer-server.js';
import { MetricsRegistry } from '../../src/metrics/registry.js';
import { proposerMetrics } from '../../src/metrics/proposer-metrics.js';
import { instrumentStore } from '../../src/metrics/store-metrics.js';
import { CONFIGURATION_PAGE, withSection } from '../../scripts/configuration-doc.js';
import { HAS_OPENSSL } from '../support/tls.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const page = (name: string): string => readFileSync(join(root, 'docs/operations', name), 'utf8');

/** The metric names a page registers: from its `# TYPE` lines. */
function registered(metrics: MetricsRegistry): string[] {
  return [...metrics.render().matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string);
}

describe('docs/operations', () => {
  it('configuration.md: the flag tables are the generated ones (npx tsx scripts/configuration-doc.ts --write)', () => {
    const current = readFileSync(CONFIGURATION_PAGE, 'utf8');
    expect(current).toBe(withSection(current));
    // Negative control: a page whose table lost a row is caught.
    const damaged = current.replace(/^\| `--tls-ca <file>`.*\n/m, '');
    expect(damaged).not.toBe(current);
    expect(withSection(damaged)).not.toBe(damaged);
  });

  it('metrics.md documents every metric the acceptor and the node serve, and no other', () => {
    const acceptor = new MetricsRegistry();
    processMetrics(acceptor, 'acceptor');
    createAcceptorServer(new MemoryAcceptor('a'), { metrics: acceptor });
    instrumentStore(new MemoryStore(), acceptor, { records: () => 0 });
    const node = new MetricsRegistry();
    processMetrics(node, 'node');
    proposerMetrics(node);
    createNodeServer({} as NodeServerContext, { metrics: node });
    const served = new Set([...registered(acceptor), ...registered(node)]);
    const documented = new Set([...page('metrics.md').matchAll(/^\| `([a-z_:]+)` \| (counter|gauge|histogram) \|/gm)].map((m) => m[1] as string));
    expect([...served].filter((name) => !documented.has(name))).toEqual([]);
    expect([...documented].filter((name) => !served.has(name))).toEqual([]);
    expect(served.size).toBeGreaterThanOrEqual(30);
  });

  it.skipIf(!HAS_OPENSSL)('tls.md: the TypeScript example runs as printed', () => {
    if (!existsSync(join(root, 'dist/http.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
    const blocks = [...page('tls.md').matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);
    expect(blocks).toHaveLength(1);
    // Inside the package, so `import 'caspaxos'` resolves to the build (self-reference).
    const dir = join(root, '.tmp', 'operations-docs');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'tls-example.ts');
    writeFileSync(file, blocks[0] as string);
    try {
      const out = execFileSync(join(root, 'node_modules/.bin/tsx'), [file], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect(out.trim().split('\n')).toEqual(['true', '1024']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
