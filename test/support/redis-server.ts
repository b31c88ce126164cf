/**
 * Real `redis-server` processes for tests: each on a free loopback port, with its own temporary
 * directory and the settings that make an acceptor durable (the AOF, fsynced on every write; no
 * RDB snapshots). `kill()` is a `kill -9`; `restart()` starts the server again on the same port
 * and directory, so it loads exactly what its AOF held.
 *
 * Machines without `redis-server` get `redisUnavailableReason()`, for tests to skip loudly.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killHard, relaunchOnSamePort } from './processes.js';

const BINARY = process.env.REDIS_SERVER ?? 'redis-server';

let availability: string | undefined | null = null;

/**
 * Why Redis tests cannot run here (no `redis-server` on the PATH, or it does not start), or
 * `undefined` when they can. Checked once per process.
 */
export function redisUnavailableReason(): string | undefined {
  if (availability !== null) return availability;
  const probe = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined) availability = `${BINARY} cannot be run (${probe.error.message}); install Redis (apt-get install redis-server) or set REDIS_SERVER`;
  else if (probe.status !== 0) availability = `${BINARY} --version exited with ${probe.status}: ${probe.stderr}`;
  else availability = undefined;
  return availability;
}

/** Skips the caller's Redis tests loudly when there is no Redis: returns true when they must be skipped. */
export function skipWithoutRedis(what: string): boolean {
  const reason = redisUnavailableReason();
  if (reason === undefined) return false;
  console.warn(`\n*** SKIPPING ${what}: ${reason} ***\n`);
  return true;
}

export interface RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly url: string;
  /** `kill -9`, then waits for the process to be gone. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and directory (after `kill`). */
  restart(): Promise<void>;
  /** Kills the server and deletes its directory. */
  stop(): Promise<void>;
}

/** Starts a durable `redis-server` on a free loopback port, in a fresh temporary directory. */
export async function startRedisServer(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'caspaxos-redis-'));
  // Another process may take the free port before the server binds it: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      let child = await launch(port, dir);
      const server: RedisServer = {
        port,
        dir,
        url: `redis://127.0.0.1:${port}`,
        kill: async () => {
          await killHard(child);
        },
        restart: async () => {
          if (child.exitCode === null && child.signalCode === null) throw new Error('restart: the server is still running; kill it first');
          child = await relaunchOnSamePort(() => launch(port, dir));
        },
        stop: async () => {
          await killHard(child);
          rmSync(dir, { recursive: true, force: true });
        },
      };
      return server;
    } catch (err) {
      lastError = err;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError;
}


/** Spawns the server and resolves once it logs that it accepts connections (the AOF is loaded by then). */
function launch(port: number, dir: string): Promise<ChildProcess> {
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--appendonly', 'yes',
    '--appendfsync', 'always',
    '--save', '',
    '--daemonize', 'no',
    '--logfile', '',
    '--loglevel', 'notice',
  ];
  const child = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server on port ${port} not ready within 10 s:\n${output}`));
    }, 10_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        // Keep draining the pipes so the server never blocks on a full one.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server on port ${port} exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
}

