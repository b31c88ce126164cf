/**
 * `npx caspaxos ...` runs the command as a grandchild of npm (npm, then `sh -c`, then node), and npm
 * forwards no signal to it: `kill %1` (SIGTERM to npm) or `kill -9 %1` leaves the acceptor running,
 * orphaned, still holding its data directory, so the next start on that directory is refused
 * (issue 11). Under npm (`npm_command=exec`, which npm sets for what it runs) the process watches
 * its launcher and stops cleanly when the launcher is gone: its parent changed, or, on Linux, its
 * parent's parent (npm, behind `sh -c`) did.
 */
import { readFileSync } from 'node:fs';

/** Calls `gone` once if this process was started by `npm exec`/`npx` and that launcher goes away. */
export function whenLauncherGone(gone: () => void, intervalMs = 500): void {
  if (process.env.npm_command !== 'exec') return;
  const parent = process.ppid;
  const grandparent = parentOf(parent);
  const timer = setInterval(() => {
    if (process.ppid === parent && (grandparent === undefined || parentOf(parent) === grandparent)) return;
    clearInterval(timer);
    gone();
  }, intervalMs);
  timer.unref();
}

/** The parent of `pid` from /proc (Linux); `undefined` elsewhere, or when `pid` is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ...; comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isSafeInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}
