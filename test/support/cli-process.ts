/**
 * `caspaxos` processes for tests, started from the built CLI (bin/caspaxos.mjs, so `npm run build`
 * first) on loopback. Acceptors get their own data directory; `kill()` is a SIGKILL and
 * `restart()` starts one again on the same port and directory. `launchCli` runs any command.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { killHard, relaunchOnSamePort } from './processes.js';

const CLI = fileURLToPath(new URL('../../bin/caspaxos.mjs', import.meta.url));

export interface AcceptorProcess {
  /** The acceptor's base URL (stable across restarts). */
  readonly url: string;
  readonly dir: string;
  /** SIGKILL, then waits for the process to be gone. */
  kill(): Promise<void>;
  /**
   * Starts it again on the same port and data directory (after `kill`). `{ wiped: true }` empties
   * the directory first: a machine that lost its disk (for negative controls).
   */
  restart(options?: { wiped?: boolean }): Promise<void>;
  /** Kills it and deletes its data directory. */
  stop(): Promise<void>;
}

/** Starts a durable acceptor process in a fresh data directory; extra CLI flags in `args`. */
export async function startAcceptorProcess(args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<AcceptorProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'caspaxos-acceptor-'));
  let { child, url } = await launch(['--port', '0', ...args], dir, env);
  const port = new URL(url).port;
  return {
    url,
    dir,
    kill: () => killHard(child),
    restart: async ({ wiped = false } = {}) => {
      if (child.exitCode === null && child.signalCode === null) throw new Error('restart: the acceptor is still running; kill it first');
      if (wiped) {
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir);
      }
      ({ child, url } = await relaunchOnSamePort(() => launch(['--port', port, ...args], dir, env)));
    },
    stop: async () => {
      await killHard(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function launch(args: readonly string[], dir: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  return launchCli(['acceptor', '--data', dir, ...args], env);
}

/** Runs the CLI with `args` and resolves once it logged `listening`, with its URL. */
export async function launchCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, ...args, '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`caspaxos ${args[0]} did not start within 15 s:\n${output}`)), 15_000);
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => (output += chunk));
    child.stdout?.on('data', (chunk: string) => {
      output += chunk;
      // Whole lines only: the last one may still be arriving.
      for (const line of output.split('\n').slice(0, -1)) {
        if (!line.includes('"listening"')) continue;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
        return;
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`caspaxos ${args[0]} exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
  // Keep draining its output so the pipe never fills up and blocks it.
  child.stdout?.resume();
  child.stderr?.resume();
  return { child, url };
}


/**
 * Three durable acceptor processes for the enclosing `describe`: started before its tests, stopped
 * (and their directories removed) after. Returns a getter for them.
 */
export function acceptorProcessesPerSuite(env: NodeJS.ProcessEnv = {}): () => AcceptorProcess[] {
  let processes: AcceptorProcess[] = [];
  beforeAll(async () => {
    processes = await Promise.all([0, 1, 2].map(() => startAcceptorProcess([], env)));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
  });
  return () => processes;
}
