/**
 * What the commands share: argument parsing, numbers and lists, the secret and the cluster id,
 * the logger, and the server-hardening flags both servers take.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { checkSecret, isClusterId } from '../http/wire.js';

/** A command-line mistake: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

/** Flags every server command takes. */
export const common = {
  port: { type: 'string' },
  host: { type: 'string', default: '127.0.0.1' },
  'secret-file': { type: 'string' },
  'cluster-id': { type: 'string' },
  'log-level': { type: 'string', default: 'info' },
  'headers-timeout-ms': { type: 'string' },
  'receive-timeout-ms': { type: 'string' },
  'keep-alive-timeout-ms': { type: 'string' },
  'max-connections': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The usage lines of the `common` flags, for both commands' help. */
export const COMMON_USAGE = `  --cluster-id <id>       The cluster's id (else CASPAXOS_CLUSTER_ID): 1 to 64 letters, digits, '.', '_', '-'.
  --secret-file <file>    File holding the cluster's shared secret (else CASPAXOS_SECRET, else none).
  --headers-timeout-ms <n>   A client that has not sent its request headers after n ms is
                          disconnected (slow-header clients). Default 10000.
  --receive-timeout-ms <n>   A client that has not sent its whole request after n ms gets 408. Default 30000.
  --keep-alive-timeout-ms <n>  An idle keep-alive connection is closed after n ms. Default 5000.
  --max-connections <n>   Connections open at once; the server closes the ones beyond at once. Default 1024.
  --log-level <level>     pino level: fatal, error, warn, info, debug, trace, silent. Default info.
  -h, --help              Show this help.`;

type Options = Parameters<typeof parseArgs>[0] extends infer C ? (C extends { options?: infer O } ? O : never) : never;

/** What `parseArgs` returns for `options`. */
type Parsed<O extends NonNullable<Options>> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>>;

export function parse<O extends NonNullable<Options>>(args: readonly string[], options: O, usage: string): Parsed<O> {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${usage}`);
  }
}

export function integer(text: string, flag: string, usage: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new UsageError(`${flag} must be a non-negative integer, got ${JSON.stringify(text)}\n\n${usage}`);
  return n;
}

/** A positive integer flag, or `undefined` when absent. */
export function optionalPositive(text: string | undefined, flag: string, usage: string): number | undefined {
  if (text === undefined) return undefined;
  const n = integer(text, flag, usage);
  if (n < 1) throw new UsageError(`${flag} must be at least 1\n\n${usage}`);
  return n;
}

export function list(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function readSecret(file: string | undefined): string | undefined {
  const secret = file === undefined ? process.env.CASPAXOS_SECRET : readFileSync(file, 'utf8').trim();
  if (secret === undefined || secret === '') return undefined;
  try {
    return checkSecret(secret);
  } catch (error) {
    throw new UsageError(`${file === undefined ? 'CASPAXOS_SECRET' : `the secret in ${file}`}: ${(error as Error).message}`);
  }
}

/** The cluster id from `--cluster-id`, else `CASPAXOS_CLUSTER_ID`; `undefined` when neither is set. */
export function readClusterId(flag: string | undefined, usage: string): string | undefined {
  const value = flag ?? (process.env.CASPAXOS_CLUSTER_ID === '' ? undefined : process.env.CASPAXOS_CLUSTER_ID);
  if (value !== undefined && !isClusterId(value)) {
    throw new UsageError(`the cluster id must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit; got ${JSON.stringify(value)}\n\n${usage}`);
  }
  return value;
}

export function makeLogger(level: string | undefined, role: string, usage: string): pino.Logger {
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (level === undefined || !levels.includes(level)) throw new UsageError(`--log-level must be one of ${levels.join(', ')}\n\n${usage}`);
  return pino({ level, base: { role, pid: process.pid } });
}

/** The server options of the `common` hardening flags (absent flags keep the servers' defaults). */
export function serverLimits(values: { 'headers-timeout-ms'?: string | undefined; 'keep-alive-timeout-ms'?: string | undefined; 'max-connections'?: string | undefined }, usage: string) {
  const headersTimeoutMs = optionalPositive(values['headers-timeout-ms'], '--headers-timeout-ms', usage);
  const keepAliveTimeoutMs = optionalPositive(values['keep-alive-timeout-ms'], '--keep-alive-timeout-ms', usage);
  const maxConnections = optionalPositive(values['max-connections'], '--max-connections', usage);
  return {
    ...(headersTimeoutMs === undefined ? {} : { headersTimeoutMs }),
    ...(keepAliveTimeoutMs === undefined ? {} : { keepAliveTimeoutMs }),
    ...(maxConnections === undefined ? {} : { maxConnections }),
  };
}

/** A command that runs until stopped: `stop` shuts it down cleanly; `fatal` settles if it must stop on its own. */
export interface Running {
  stop(): Promise<void>;
  /** Resolves with the reason when the process must stop (its data directory's lock was lost). */
  readonly fatal?: Promise<Error> | undefined;
}

/** `listening`, with an address already in use said plainly (no stack trace). */
export async function listenOrExplain<T>(listening: Promise<T>, port: number, host: string | undefined): Promise<T> {
  try {
    return await listening;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`cannot listen on ${host ?? ''}:${port}: EADDRINUSE, another process listens there`, { cause: error });
    if (code === 'EACCES') throw new Error(`cannot listen on ${host ?? ''}:${port}: EACCES, not allowed`, { cause: error });
    throw error;
  }
}
