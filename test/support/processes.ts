/**
 * What the tests that run server processes share: a free loopback port, a hard kill, and a
 * restart on the same port that waits out a port taken meanwhile.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A port that was free a moment ago on 127.0.0.1 (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** SIGKILL, then waits for the process to be gone. */
export function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/**
 * Runs `launch` (a start on a fixed port) again while it fails because the port is in use: while
 * a server was down, a client socket elsewhere on the machine may have been given its port (ports
 * come from the ephemeral range), and it is free again once that socket closes.
 */
export async function relaunchOnSamePort<T>(launch: () => Promise<T>, attempts = 50): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch();
    } catch (error) {
      if (attempt >= attempts || !/EADDRINUSE|Address already in use/i.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
