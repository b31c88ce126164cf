/**
 * The `caspaxos` command: `caspaxos acceptor` creates and runs a durable acceptor (an LMDB data
 * directory behind the HTTP acceptor server); `caspaxos node` runs a proposer with the HTTP user
 * and operator API of `createNodeServer`; `caspaxos inspect` reads an acceptor's data directory
 * without changing it. Logs are pino's JSON lines on stdout; the first
 * `listening` record carries the URL. SIGINT and SIGTERM shut down gracefully (and so does the
 * loss of the npx process that started it: `launcher.ts`); a refusal to run
 * (a data directory that must not be served, another process on it) exits with a code that says
 * which (see `refusal.ts`). A rejection nobody handled is logged and the process keeps serving,
 * unless the store can no longer be trusted (`process-guard.ts`).
 */
import { runAcceptor } from './acceptor-command.js';
import { type Running, UsageError } from './flags.js';
import { runNode } from './node-command.js';
import { runInspect } from './inspect-command.js';
import { whenLauncherGone } from './launcher.js';
import { EXIT, Refusal } from './refusal.js';
import { MissingPackageError } from '../internal/optional-package.js';
import { packageVersion } from './version.js';

const USAGE = `Usage: caspaxos <command> [flags]

Commands:
  acceptor   Create (--init) or run a durable acceptor: records in an LMDB data directory, served over HTTP.
  node       Run a proposer node: the HTTP key-value API over a set of acceptors.
  inspect    Read an acceptor's data directory without changing it: summary, keys, or an export.
  version    Print the version of caspaxos (also: caspaxos --version).

Run 'caspaxos <command> --help' for the flags of a command.

Secrets: set CASPAXOS_SECRET, or pass --secret-file; every acceptor and node of a cluster must
share it. Without one, nothing is authenticated (loopback only). The cluster id: set
CASPAXOS_CLUSTER_ID, or pass --cluster-id.

Exit codes: 0 stopped cleanly, 1 failed, 2 usage, 3 data directory missing or empty, 4 written by an
earlier release (--adopt it), 5 of another cluster, 6 damaged, 7 in use by another process,
8 membership refused (see the command's help).`;


/** Runs the command line `argv` (without node and the script). Resolves with what runs, if anything. */
export async function main(argv: readonly string[]): Promise<Running | undefined> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    console.log(USAGE);
    return undefined;
  }
  if (command === 'version' || command === '--version' || command === '-v') {
    console.log(packageVersion());
    return undefined;
  }
  if (command === 'acceptor') return runAcceptor(rest);
  if (command === 'node') return runNode(rest);
  if (command === 'inspect') return runInspect(rest);
  throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
}

/**
 * The process entry: runs `main`, prints usage errors and refusals with their exit codes, and stops
 * gracefully on SIGINT or SIGTERM (a second signal does not interrupt the shutdown), or when the
 * running command must stop on its own (its directory's lock was lost).
 */
export async function run(argv: readonly string[]): Promise<void> {
  let running: Running | undefined;
  let stopping = false;
  const shutdown = (code: number): void => {
    if (stopping) return;
    stopping = true;
    // A signal while starting: nothing is served yet, and nothing was acknowledged; just go.
    if (running === undefined) process.exit(code);
    running.stop().then(
      () => process.exit(code),
      (error: unknown) => {
        console.error(`caspaxos: shutdown failed: ${String(error)}`);
        process.exit(EXIT.failed);
      },
    );
  };
  // Before anything starts: a signal that arrived before Node had a listener would kill the
  // process with the default action instead of stopping it.
  const onSignal = (): void => shutdown(EXIT.ok);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    running = await main(argv);
  } catch (error) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (error instanceof UsageError) {
      console.error(`caspaxos: ${error.message}`);
      process.exitCode = EXIT.usage;
      return;
    }
    if (error instanceof Refusal) {
      console.error(`caspaxos: refused: ${error.message}`);
      process.exitCode = error.exitCode;
      return;
    }
    if (error instanceof MissingPackageError) {
      console.error(error.message);
      process.exitCode = EXIT.usage;
      return;
    }
    console.error(`caspaxos: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = EXIT.failed;
    return;
  }
  if (running === undefined) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    return;
  }
  whenLauncherGone(() => {
    console.error('caspaxos: the npx (npm) process that started this one is gone, and npm forwards no signal: stopping');
    shutdown(EXIT.ok);
  });
  void running.fatal?.then((reason) => {
    console.error(`caspaxos: ${reason.message}`);
    shutdown(reason instanceof Refusal ? reason.exitCode : EXIT.failed);
  });
}
