/**
 * What the commands share: argument parsing (every flag also from an environment variable),
 * numbers and lists, the secret and the cluster id, the logger, TLS, and the server-hardening
 * flags both servers take.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
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
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
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
  --tls-cert <file>       Serve HTTPS with this certificate chain (PEM, the server's certificate
                          first); needs --tls-key. Default none: plain HTTP.
  --tls-key <file>        The private key (PEM) of --tls-cert.
  -h, --help              Show this help.`;

type Options = Parameters<typeof parseArgs>[0] extends infer C ? (C extends { options?: infer O } ? O : never) : never;

/** What `parseArgs` returns for `options`. */
type Parsed<O extends NonNullable<Options>> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>>;

/** Flags that are never read from the environment: they ask for output, they configure nothing. */
const NOT_FROM_ENVIRONMENT = new Set(['help', 'version']);
/** Variables read besides the flags': the secret itself (`--secret-file` names a file holding it). */
const OTHER_VARIABLES = new Set(['CASPAXOS_SECRET']);

/** The environment variable of `--flag`: `CASPAXOS_` and the name in capitals, dashes as underscores. */
export function variableOf(flag: string): string {
  return `CASPAXOS_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** The variables a command with `options` reads, by variable name, with their flag. */
export function variablesOf(options: NonNullable<Options>): Map<string, string> {
  return new Map(
    Object.keys(options)
      .filter((flag) => !NOT_FROM_ENVIRONMENT.has(flag))
      .map((flag) => [variableOf(flag), flag]),
  );
}

/** The help lines naming each flag's variable, for a command's `--help`. */
export function environmentHelp(options: NonNullable<Options>): string {
  const lines = [...variablesOf(options)].map(([variable, flag]) => `  --${flag.padEnd(24)}${variable}`);
  return `Environment: every flag can also be set by a variable, CASPAXOS_ and the flag's name in capitals,
dashes as underscores; a switch takes 1/true or 0/false. A flag on the command line wins. A
CASPAXOS_ variable this command does not read is refused (exit 2), so a stale or misspelt setting
is never silently ignored.
${lines.join('\n')}
  ${'(the secret itself)'.padEnd(26)}CASPAXOS_SECRET`;
}

/**
 * Parses `args` strictly; a flag absent from `args` is taken from its environment variable (see
 * `variableOf`), then from its default. An empty variable counts as unset. Throws `UsageError` for
 * a CASPAXOS_ variable the command does not read: an operator's stale or misspelt setting must not
 * be silently ignored (the process would run with a default they believe they changed).
 */
export function parse<O extends NonNullable<Options>>(args: readonly string[], options: O, usage: string, env: NodeJS.ProcessEnv = process.env): Parsed<O> {
  const variables = variablesOf(options);
  const unknown = Object.keys(env).filter((name) => name.startsWith('CASPAXOS_') && !variables.has(name) && !OTHER_VARIABLES.has(name) && env[name] !== '');
  if (unknown.length > 0) {
    const command = /^Usage: (caspaxos \S+)/.exec(usage)?.[1] ?? 'caspaxos';
    throw new UsageError(
      `${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} set, but '${command}' reads no such variable: unset ${unknown.length === 1 ? 'it' : 'them'} ` +
        `(the variables it reads are listed at the end of '${command} --help')\n\n${usage}`,
    );
  }
  // Defaults are applied after the environment: parseArgs would fill them in, hiding the variables.
  const bare = Object.fromEntries(Object.entries(options).map(([flag, { default: _default, ...rest }]) => [flag, rest]));
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: bare, strict: true, allowPositionals: false });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${usage}`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  for (const [variable, flag] of variables) {
    if (values[flag] !== undefined) continue;
    const text = env[variable];
    if (text === undefined || text === '') continue;
    if (options[flag]?.type === 'boolean') {
      const on = /^(1|true|yes)$/i.test(text);
      if (!on && !/^(0|false|no)$/i.test(text)) throw new UsageError(`${variable} must be 1/true or 0/false (it sets --${flag}), got ${JSON.stringify(text)}\n\n${usage}`);
      values[flag] = on;
    } else values[flag] = text;
  }
  for (const [flag, option] of Object.entries(options)) if (values[flag] === undefined && option.default !== undefined) values[flag] = option.default as string | boolean;
  return parsed as unknown as Parsed<O>;
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

/** The server certificate and key of `--tls-cert` and `--tls-key` (both or neither), checked to match. */
export function readTls(values: { 'tls-cert'?: string | undefined; 'tls-key'?: string | undefined }, usage: string): { cert: string; key: string } | undefined {
  const certFile = values['tls-cert'];
  const keyFile = values['tls-key'];
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) throw new UsageError(`--tls-cert and --tls-key go together (HTTPS needs both)\n\n${usage}`);
  const cert = readPem(certFile, '--tls-cert', usage);
  const key = readPem(keyFile, '--tls-key', usage);
  try {
    // Fails now, with OpenSSL's reason, rather than at the first client's handshake.
    createSecureContext({ cert, key });
  } catch (error) {
    throw new UsageError(`--tls-cert ${certFile} and --tls-key ${keyFile} cannot serve TLS: ${(error as Error).message}\n\n${usage}`);
  }
  return { cert, key };
}

/** A PEM file's text (`--tls-ca`, `--tls-cert`, `--tls-key`). */
export function readPem(file: string, flag: string, usage: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n\n${usage}`);
  }
  if (!text.includes('-----BEGIN ')) throw new UsageError(`${flag}: ${file} holds no PEM block (-----BEGIN ...)\n\n${usage}`);
  return text;
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
