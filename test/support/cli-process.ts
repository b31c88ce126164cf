/**
 * `caspaxos` processes for tests, started from the built CLI (bin/caspaxos.mjs, so `npm run build`
 * first) on loopback. Acceptors get their own data directory, created with `--init` in the test
 * cluster (`TEST_CLUSTER`); `kill()` is a SIGKILL and `restart()` starts one again on the same port
 * and directory. Nodes get their own data directory too (their membership). `launchCli` runs any
 * command until it listens; `runCli` runs one that exits (`--init`, or a start that is refused).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { killHard, relaunchOnSamePort } from './processes.js';

const CLI = fileURLToPath(new URL('../../bin/caspaxos.mjs', import.meta.url));

/** The cluster id of every acceptor and node the tests start (clients name it: `clusterId`). */
export const TEST_CLUSTER = 'test-cluster';

export interface AcceptorProcess {
  /** The acceptor's base URL (stable across restarts). */
  readonly url: string;
  readonly dir: string;
  /** The incarnation of its data directory (changes with `init`). */
  readonly incarnation: string;
  /** The member address proposers know it by: `url#incarnation`. */
  readonly address: string;
  /** SIGKILL, then waits for the process to be gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory (after `kill`). */
  restart(): Promise<void>;
  /** Empties its data directory (after `kill`): a machine that lost its disk. */
  wipe(): void;
  /** Runs `--init` in its (empty) data directory: a new incarnation. */
  init(): Promise<void>;
  /** Starts it on the same port and expects a refusal: resolves with the exit code and stderr. */
  refusedStart(): Promise<{ code: number | null; stderr: string }>;
  /** Kills it and deletes its data directory. */
  stop(): Promise<void>;
}

/** Starts a durable acceptor process in a fresh data directory; extra CLI flags in `args`. */
export async function startAcceptorProcess(args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<AcceptorProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'caspaxos-acceptor-'));
  let incarnation = await initAcceptor(dir, env);
  let { child, url } = await launch(['--port', '0', ...args], dir, env);
  const port = new URL(url).port;
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    url,
    dir,
    get incarnation() {
      return incarnation;
    },
    get address() {
      return `${url}#${incarnation}`;
    },
    kill: () => killHard(child),
    restart: async () => {
      if (running()) throw new Error('restart: the acceptor is still running; kill it first');
      ({ child, url } = await relaunchOnSamePort(() => launch(['--port', port, ...args], dir, env)));
    },
    wipe: () => {
      if (running()) throw new Error('wipe: the acceptor is still running; kill it first');
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
    },
    init: async () => {
      incarnation = await initAcceptor(dir, env);
    },
    refusedStart: async () => {
      const result = await runCli(['acceptor', '--data', dir, '--port', port, ...args], env);
      if (result.listening) throw new Error(`the acceptor started on ${dir} instead of refusing`);
      return { code: result.code, stderr: result.stderr };
    },
    stop: async () => {
      await killHard(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function initAcceptor(dir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const result = await runCli(['acceptor', '--init', '--cluster-id', TEST_CLUSTER, '--data', dir], env);
  if (result.code !== 0) throw new Error(`caspaxos acceptor --init failed (${result.code}): ${result.stderr}`);
  return (JSON.parse(result.stdout.trim().split('\n').pop() as string) as { incarnation: string }).incarnation;
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
 * Runs the CLI with `args` until it exits (or, if it starts listening, kills it and says so), and
 * resolves with its exit code and output. For one-shot commands and for starts that must be refused.
 */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string; listening: boolean }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  let listening = false;
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    if (!listening && stdout.includes('"listening"')) {
      listening = true;
      child.kill('SIGKILL');
    }
  });
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, listening });
    });
  });
}

export interface NodeProcess {
  /** The node's base URL (stable across restarts). */
  readonly url: string;
  /** Its data directory (its membership). */
  readonly dir: string;
  readonly child: ChildProcess;
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory, with `args` (default: the first start's). */
  restart(args?: readonly string[]): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a `caspaxos node` in a fresh data directory (or `dir`), with `args` after its `--data` and `--port`. */
export async function startNodeProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}, dir = mkdtempSync(join(tmpdir(), 'caspaxos-node-'))): Promise<NodeProcess> {
  const first = args;
  let { child, url } = await launchCli(['node', '--data', dir, '--port', '0', '--cluster-id', TEST_CLUSTER, ...args], env);
  const port = new URL(url).port;
  return {
    url,
    dir,
    get child() {
      return child;
    },
    kill: () => killHard(child),
    restart: async (again = first) => {
      if (child.exitCode === null && child.signalCode === null) throw new Error('restart: the node is still running; kill it first');
      ({ child, url } = await relaunchOnSamePort(() => launchCli(['node', '--data', dir, '--port', port, ...again], env)));
    },
    stop: async () => {
      await killHard(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
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
