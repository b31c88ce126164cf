/**
 * `caspaxos inspect <dir>`: an acceptor's data directory, read without changing it
 * (`lmdb/inspect.ts`): a summary, its keys, or every record as JSON lines (`--export`).
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dirname, relative, resolve, sep } from 'node:path';
import type { KeyRecord } from '../core/acceptor-rules.js';
import { encodeBase64 } from '../internal/base64.js';
import { importOptional } from '../internal/optional-package.js';
import { type Running, UsageError, readClusterId } from './flags.js';
import { asRefusal } from './refusal.js';

export const INSPECT_USAGE = `Usage: caspaxos inspect <dir> [--keys | --export <file|->] [--json] [--cluster-id <id>]

Reads an acceptor's data directory without writing to it, whether or not an acceptor serves it:
LMDB is opened read-only, and, when no acceptor runs there, through a private directory so that
not one byte of <dir> changes (with an acceptor running, LMDB's reader table, lock.mdb, records
this reader while it reads, as it records the acceptor's own). Every record's checksum is checked.
It refuses, with the acceptor's messages and exit codes, a directory the acceptor would refuse:
missing or empty (3), written by an earlier release (4), of another cluster (5, with --cluster-id),
damaged (6).

Prints a summary: cluster id, incarnation, formats, key count, data size, the tombstone floor.

Flags:
  --keys                  List the keys, one per line, JSON-quoted (with --json: a JSON line per key
                          with its promise, accepted ballot and state size).
  --export <file|->       Write every record as JSON lines: a header line (format, cluster,
                          incarnation, floor, ages), then { key, promise, accepted, state (base64,
                          or null), ancestry } per key. A file is written whole or not at all (it
                          must be outside <dir>); '-' is stdout (the summary then goes to stderr).
  --json                  The summary as one JSON object.
  --cluster-id <id>       Refuse (exit 5) unless the directory belongs to this cluster
                          (else CASPAXOS_CLUSTER_ID, if set).
  -h, --help              Show this help.

Examples:
  caspaxos inspect ./data/a1
  caspaxos inspect ./data/a1 --keys
  caspaxos inspect ./data/a1 --export /backup/a1-$(date +%F).jsonl`;

/** The export's first line names its format. */
export const EXPORT_FORMAT = 'caspaxos-acceptor-export/1';

/** Runs `caspaxos inspect`; always one-shot. */
export async function runInspect(args: readonly string[]): Promise<Running | undefined> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { data: { type: 'string' }, keys: { type: 'boolean' }, export: { type: 'string' }, json: { type: 'boolean' }, 'cluster-id': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${INSPECT_USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    console.log(INSPECT_USAGE);
    return undefined;
  }
  const dirs = [...positionals, ...(values.data === undefined ? [] : [values.data])];
  if (dirs.length !== 1) throw new UsageError(`name one data directory\n\n${INSPECT_USAGE}`);
  const dir = dirs[0] as string;
  if (values.keys === true && values.export !== undefined) throw new UsageError(`--keys and --export exclude each other\n\n${INSPECT_USAGE}`);
  const clusterId = readClusterId(values['cluster-id'], INSPECT_USAGE);
  const json = values.json === true;
  const target = values.export;
  if (target !== undefined && target !== '-' && isInside(resolve(target), resolve(dir))) {
    throw new UsageError(`--export ${target} is inside ${dir}: inspect never writes into the data directory\n\n${INSPECT_USAGE}`);
  }
  await importOptional('lmdb', 'caspaxos inspect', () => import('lmdb'));
  const { inspectDataDirectory } = await import('../lmdb/inspect.js');

  // A file export goes to a temporary file beside the target, renamed over it once complete.
  const temporary = target !== undefined && target !== '-' ? resolve(dirname(resolve(target)), `.${process.pid}.caspaxos-export.tmp`) : undefined;
  const fd = temporary === undefined ? undefined : openSync(temporary, 'wx');
  const out = async (text: string): Promise<void> => {
    if (text === '') return;
    if (fd !== undefined) writeAll(fd, text);
    else if (!process.stdout.write(text)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
  };
  const mode = target !== undefined ? 'export' : values.keys === true ? (json ? 'keys-json' : 'keys') : 'none';
  try {
    const inspected = await inspectDataDirectory(dir, {
      clusterId,
      onStart: (identity, meta) =>
        mode === 'export'
          ? out(`${JSON.stringify({ format: EXPORT_FORMAT, cluster: identity.clusterId, incarnation: identity.incarnation, exportedAt: new Date().toISOString(), floor: meta.floor, ages: meta.ages })}\n`)
          : undefined,
      onRecords: (page) => out(page.map(([key, record]) => line(key, record, mode)).join('')),
    }).catch((error: unknown) => {
      throw asRefusal(error);
    });
    if (temporary !== undefined && fd !== undefined) {
      closeSync(fd);
      renameSync(temporary, resolve(target as string));
    }
    const summary = {
      path: inspected.path,
      cluster: inspected.identity.clusterId,
      incarnation: inspected.identity.incarnation,
      identityFormat: inspected.identityFormat,
      created: inspected.created ?? null,
      adopted: inspected.adopted,
      recordFormat: inspected.recordFormat,
      keys: inspected.keys,
      dataBytes: inspected.dataBytes,
      fileBytes: inspected.fileBytes,
      floor: inspected.meta.floor,
      ages: inspected.meta.ages,
      servedBy: inspected.servedBy ?? null,
    };
    // The listing is the output of --keys; otherwise the summary (on stderr when stdout is the export).
    if (mode === 'keys' || mode === 'keys-json') return undefined;
    const report = json ? `${JSON.stringify(summary)}\n` : text(summary);
    if (target === '-') process.stderr.write(report);
    else process.stdout.write(report);
  } catch (error) {
    if (temporary !== undefined) {
      try {
        if (fd !== undefined) closeSync(fd);
      } catch {
        // already closed
      }
      rmSync(temporary, { force: true });
    }
    throw error;
  }
  return undefined;
}

function line(key: string, record: KeyRecord, mode: 'export' | 'keys' | 'keys-json' | 'none'): string {
  if (mode === 'none') return '';
  if (mode === 'keys') return `${JSON.stringify(key)}\n`;
  if (mode === 'keys-json') return `${JSON.stringify({ key, promise: record.promise, accepted: record.accepted, bytes: record.state === null ? null : record.state.length })}\n`;
  return `${JSON.stringify({ key, promise: record.promise, accepted: record.accepted, state: record.state === null ? null : encodeBase64(record.state), ...(record.ancestry === undefined ? {} : { ancestry: record.ancestry }) })}\n`;
}

function text(summary: Record<string, unknown> & { floor: { counter: number; id: string }; ages: readonly unknown[]; servedBy: unknown }): string {
  const rows: Array<[string, string]> = [
    ['data directory', String(summary.path)],
    ['cluster', String(summary.cluster)],
    ['incarnation', String(summary.incarnation)],
    ['identity', `${String(summary.identityFormat)}, created ${String(summary.created ?? 'unknown')}${summary.adopted === true ? ' (adopted)' : ''}`],
    ['record format', `v${String(summary.recordFormat)}`],
    ['keys', String(summary.keys)],
    ['data size', `${String(summary.dataBytes)} bytes in use (data.mdb is ${String(summary.fileBytes)} bytes)`],
    ['tombstone floor', summary.floor.counter === 0 ? 'none' : `${summary.floor.counter}:${summary.floor.id}`],
    ['proposer ages', `${summary.ages.length} recorded`],
    ['served by', summary.servedBy === null ? 'no acceptor (read without changing a byte of the directory)' : `pid ${String(summary.servedBy)} (read beside it, as one more LMDB reader)`],
  ];
  return rows.map(([name, value]) => `${name.padEnd(16)} ${value}\n`).join('');
}

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset);
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel));
}
