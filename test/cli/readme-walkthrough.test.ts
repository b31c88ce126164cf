/**
 * The README's "Run a cluster on one machine" block, run as written: extracted from README.md,
 * its ports swapped for free ones, executed by bash in a scratch project where `npx caspaxos`
 * resolves to this package (node_modules/caspaxos links here; npm runs offline). It checks what
 * the README promises: the replies shown, the increment still working while a1 is dead, a1
 * back from its data directory (the dead process's lock taken over), and every process stopped
 * at the end through its pid file. Needs bash, curl and openssl (skipped loudly without them) and
 * the built CLI.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/processes.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const missing = ['bash', 'curl', 'openssl', 'npx'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
if (missing.length > 0) console.warn(`\n*** SKIPPING the README walkthrough test: ${missing.join(', ')} not installed ***\n`);

/** The first ```sh block of the README's "Run a cluster on one machine" section. */
function walkthrough(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Run a cluster on one machine'));
  const match = /```sh\n([\s\S]*?)```/.exec(section);
  if (match === null) throw new Error('no sh block in the README section');
  return match[1] as string;
}

/** Every top-level JSON object in `text`, in order (curl prints replies without newlines; logs interleave). */
function jsonObjects(text: string): Array<Record<string, unknown>> {
  const found: Array<Record<string, unknown>> = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"' && depth > 0) inString = true;
    else if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' && depth > 0) {
      depth--;
      if (depth === 0) found.push(JSON.parse(text.slice(start, i + 1)) as Record<string, unknown>);
    }
  }
  return found;
}

describe.skipIf(missing.length > 0)('the README walkthrough, through npx', () => {
  const project = mkdtempSync(join(tmpdir(), 'caspaxos-readme-'));
  const pids = new Set<number>();
  afterAll(() => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone, as it should be.
      }
    }
    rmSync(project, { recursive: true, force: true });
  });

  it('runs as written: replies as shown, a1 killed and back, everything stopped at the end', async () => {
    writeFileSync(join(project, 'package.json'), '{ "name": "readme-walkthrough", "private": true }\n');
    mkdirSync(join(project, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(ROOT, join(project, 'node_modules', 'caspaxos'));
    symlinkSync('../caspaxos/bin/caspaxos.mjs', join(project, 'node_modules', '.bin', 'caspaxos'));
    let script = walkthrough();
    for (const port of ['7001', '7002', '7003', '8080']) script = script.replaceAll(port, String(await freePort()));
    const child = spawn('bash', ['-c', script], {
      cwd: project,
      env: { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false', CASPAXOS_SECRET: '', CASPAXOS_CLUSTER_ID: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (c: string) => {
      out += c;
      // Pids as they start, so that afterAll can kill what a failed run left behind.
      for (const m of c.matchAll(/"pid":(\d+)/g)) pids.add(Number(m[1]));
    });
    child.stderr.on('data', (c: string) => (err += c));
    // 'close' comes once every process holding the script's output has exited: the last line of the
    // block SIGTERMs them all, so this also waits for each to stop.
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code, err).toBe(0);
    const dataDirs = readdirSync(join(project, 'data'));
    expect(dataDirs.sort()).toEqual(['a1', 'a2', 'a3', 'n1']);

    const objects = jsonObjects(out);
    const logs = objects.filter((o) => 'level' in o);
    for (const d of dataDirs) expect(existsSync(join(project, 'data', d, 'caspaxos.pid')), `${d} still running`).toBe(false);
    expect(logs.filter((l) => l.msg === 'initialised')).toHaveLength(3);
    // Four acceptor starts (a1 twice) and the node; every one stopped.
    expect(logs.filter((l) => l.msg === 'listening')).toHaveLength(5);
    expect(logs.filter((l) => l.msg === 'stopped')).toHaveLength(4);

    const replies = objects.filter((o) => !('level' in o));
    expect(replies[0]).toEqual({ key: 'greeting', version: '4294967297' });
    expect(replies[1]).toEqual({ key: 'greeting', value: { text: 'hello' }, version: '4294967297' });
    expect(replies[2]).toMatchObject({ key: 'greeting' });
    expect(replies[3]).toMatchObject({ key: 'hits', value: 1 });
    expect(replies[4]).toMatchObject({ key: 'hits', value: 2 });
    expect(replies[5]).toEqual({ key: 'greeting', deleted: true });
    const members = replies[6] as { preparers: string[]; accepters: string[] };
    expect(members.preparers).toHaveLength(3);
    expect(members.preparers.every((m) => /^http:\/\/127\.0\.0\.1:\d+#[A-Za-z0-9_-]{16}$/.test(m))).toBe(true);
    expect(replies).toHaveLength(7);
  }, 180_000);
});
