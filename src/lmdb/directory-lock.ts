/**
 * One process per directory: a lock held for the process's lifetime and released when it dies,
 * however it dies (Node has no `flock`).
 *
 * The lock is a Unix domain socket, `caspaxos.lock`, bound inside the directory and listening. The
 * kernel lets one socket bind a path, and a listening socket answers `connect` only while its
 * process lives: after a crash (`kill -9`) the file stays but `connect` gets `ECONNREFUSED`.
 * So `lockDirectory`:
 *  1. binds the path: done, the lock is ours;
 *  2. on `EADDRINUSE`, connects to it: a connection means a live holder (it writes its pid, which
 *     the refusal names); `ECONNREFUSED` means a stale socket left by a dead process, which is
 *     removed and step 1 tried again;
 *  3. then connects to its own socket and checks that the token it reads is its own. Two processes
 *     that found the same stale socket at the same instant could otherwise both remove it and
 *     bind; the later bind wins the path, and the loser sees someone else's token and gives up.
 * While held, the path is checked every `checkIntervalMs`: if the socket file is gone or is no
 * longer ours (the directory was wiped, or the race above lost after all), `onLost` fires and the
 * owner must stop using the directory.
 *
 * A stopped (`SIGSTOP`) holder still owns its socket (the kernel queues the connection): the lock
 * is held, and the refusal says the holder did not answer. On Windows the socket is a named pipe
 * keyed by the directory's real path, which the system also frees when its process dies.
 * Node-only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, realpathSync, unlinkSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { join } from 'node:path';

/** The socket's name inside the locked directory. */
export const LOCK_FILE = 'caspaxos.lock';

/** The longest socket path every platform binds (Linux allows 107 bytes, macOS 103). */
const MAX_SOCKET_PATH = 103;

/** Another live process holds the lock. */
export class DirectoryLockedError extends Error {
  constructor(
    readonly dir: string,
    /** The holder's pid, when it answered. */
    readonly holder: number | undefined,
  ) {
    super(
      holder === undefined
        ? `${dir} is in use by another process (it holds ${LOCK_FILE} but did not say its pid: stopped?)`
        : `${dir} is in use by another process, pid ${holder} (one process per directory)`,
    );
    this.name = 'DirectoryLockedError';
  }
}

/** A held lock. */
export interface DirectoryLock {
  /** The socket path (or pipe name). */
  readonly path: string;
  /** Releases the lock: closes the socket and removes its file. Idempotent. */
  release(): Promise<void>;
}

/** Options of `lockDirectory`. */
export interface LockOptions {
  /** Called once if the lock is found lost while held (see the module comment). */
  readonly onLost?: ((reason: string) => void) | undefined;
  /** @default 2000 */
  readonly checkIntervalMs?: number | undefined;
}

/** Takes the lock of `dir`, which must exist; `DirectoryLockedError` when a live process holds it. */
export async function lockDirectory(dir: string, options: LockOptions = {}): Promise<DirectoryLock> {
  const path = socketPath(dir);
  const token = `${process.pid} ${randomBytes(16).toString('hex')}`;
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.end(`${token}\n`);
  });
  server.on('error', () => {});
  for (let attempt = 0; ; attempt++) {
    const bound = await bind(server, path);
    if (bound === undefined) break;
    if (bound.code !== 'EADDRINUSE' || attempt >= 3) throw bound;
    const holder = await probe(path);
    if (holder.live) throw new DirectoryLockedError(dir, holder.pid);
    // Stale: the process that bound it is gone. Remove the file (unless it is not a socket: then
    // it is not ours to remove) and bind again.
    if (process.platform !== 'win32') {
      try {
        if (!lstatSync(path).isSocket()) throw new Error(`${path} exists and is not a socket: remove it if nothing uses it`);
        unlinkSync(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }
  server.unref();
  const own = await probe(path);
  // Lost the race of step 3. The server is left open (unreferenced, unreachable): closing it would
  // make libuv unlink the path, which now holds the winner's socket.
  if (own.token !== token) throw new DirectoryLockedError(dir, own.pid);
  const inode = process.platform === 'win32' ? undefined : lstatSync(path).ino;
  let released = false;
  let timer: NodeJS.Timeout | undefined;
  if (inode !== undefined) {
    timer = setInterval(() => {
      if (isOurs(path, inode)) return;
      clearInterval(timer);
      options.onLost?.(`${path} is gone or is no longer this process's socket (the directory was removed or replaced, or another process took the lock)`);
    }, options.checkIntervalMs ?? 2000);
    timer.unref();
  }
  return {
    path,
    release: async () => {
      if (released) return;
      released = true;
      clearInterval(timer);
      // Closing a listening Unix socket makes libuv unlink its path: only while the path is still
      // our socket. A path that now holds another process's lock is left alone (and so is the
      // server, unreferenced: it goes with the process).
      if (inode !== undefined && !isOurs(path, inode)) return;
      await closeServer(server);
    },
  };
}

/**
 * Whether a live process holds the lock of `dir`, and its pid when it said: a connection to the
 * lock's socket, which writes nothing (for `caspaxos inspect`, which reads beside a running acceptor).
 */
export async function lockHolder(dir: string): Promise<{ readonly live: boolean; readonly pid?: number | undefined }> {
  const path = socketPath(dir);
  if (process.platform !== 'win32') {
    try {
      if (!lstatSync(path).isSocket()) return { live: false };
    } catch {
      return { live: false };
    }
  }
  const { live, pid } = await probe(path);
  return { live, pid };
}

/** The socket path for `dir`: inside it on Unix, a named pipe keyed by its real path on Windows. */
export function socketPath(dir: string): string {
  if (process.platform === 'win32') return `\\\\.\\pipe\\caspaxos-${createHash('sha256').update(realpathSync(dir).toLowerCase()).digest('hex').slice(0, 32)}`;
  const path = join(realpathSync(dir), LOCK_FILE);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new Error(`the lock socket path ${path} is ${Buffer.byteLength(path)} bytes, over the ${MAX_SOCKET_PATH} a Unix socket allows: use a shorter data directory path`);
  }
  return path;
}

function bind(server: Server, path: string): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      resolve(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve(undefined);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(path);
  });
}

/** Connects to the lock's socket: whether a live process holds it, and what it said. */
function probe(path: string): Promise<{ live: boolean; pid?: number; token?: string }> {
  return new Promise((resolve) => {
    const socket: Socket = connect(path);
    let text = '';
    let connected = false;
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const line = text.split('\n')[0] ?? '';
      const pid = Number(line.split(' ')[0]);
      resolve({ live: connected, ...(Number.isSafeInteger(pid) && pid > 0 ? { pid, token: line } : {}) });
    };
    // A live holder answers at once; a stopped one accepts (the kernel queues it) but says nothing.
    const timer = setTimeout(done, 1000);
    socket.setEncoding('utf8');
    socket.on('connect', () => (connected = true));
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) done();
    });
    socket.on('end', done);
    socket.on('error', done);
  });
}

function isOurs(path: string, inode: number): boolean {
  try {
    return lstatSync(path).ino === inode;
  } catch {
    return false;
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
