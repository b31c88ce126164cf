/**
 * Reading an acceptor's data directory without changing it (`caspaxos inspect`): its identity, its
 * size, and every record, each checked as `openDataDirectory` checks them (the same refusals, the
 * same messages), with LMDB opened read-only (`MDB_RDONLY`: the data file is mapped read-only, no
 * write transaction can even start).
 *
 * LMDB readers register in the environment's reader table, `lock.mdb`, so that a writer does not
 * reuse the pages of a snapshot someone still reads. That is a write to the directory, if not to
 * its data. So, two ways to read, chosen by whether an acceptor serves the directory (its lock,
 * `directory-lock.ts`, which is probed by connecting to it, a read):
 *  - no acceptor: the database is opened through a private directory that links to `data.mdb`, so
 *    LMDB keeps its reader table there and not one byte in the data directory changes. Nobody
 *    writes meanwhile; to be sure of it, the last committed transaction's id is read from the
 *    meta pages before and after, and a change (an acceptor that started during the read) is
 *    reported as such rather than returned as a consistent view;
 *  - an acceptor serves it: the database is opened in place, read-only, as one more LMDB reader
 *    (LMDB's multi-process design): the reader table records it while it reads (as every read of the
 *    acceptor's own does), `data.mdb` and the identity are not written, and what is read is a
 *    consistent snapshot per page of 1024 records (each record on its own is a state the key had).
 * The acceptor's lock is never taken: inspecting does not stop an acceptor from starting.
 */
import { mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RootDatabase } from 'lmdb';
import type { StoreMeta } from '../acceptor/acceptor-store.js';
import type { KeyRecord } from '../core/acceptor-rules.js';
import { importOptional } from '../internal/optional-package.js';
import type { AcceptorIdentity } from '../http/wire.js';
import { readJsonFile } from './atomic-file.js';
import { IDENTITY_FILE, checkDirectoryFiles, checkExists, checkIdentityEntry, damaged } from './data-directory.js';
import { lockHolder } from './directory-lock.js';
import { canCheckLmdbFiles, checkLmdbFile } from './lmdb-file.js';
import { IDENTITY_KEY, type LmdbStats, META_KEY, RECORDS_END, RECORDS_START, bytesInUse } from './lmdb-store.js';
import { CorruptRecordError, RECORD_FORMAT_VERSION, decodeKey, decodeMeta, decodeRecord } from './record-codec.js';

/** What `inspectDataDirectory` found. */
export interface InspectedDirectory {
  /** The directory, absolute. */
  readonly path: string;
  readonly identity: AcceptorIdentity;
  /** `identity.json`'s format tag, and when the acceptor was created (or adopted). */
  readonly identityFormat: string;
  readonly created: string | undefined;
  readonly adopted: boolean;
  /** The version of the record format the records were read with. */
  readonly recordFormat: number;
  /** How many records (keys) the acceptor holds. */
  readonly keys: number;
  /** Bytes of LMDB pages in use (records, free list, meta pages), and the size of `data.mdb`. */
  readonly dataBytes: number;
  readonly fileBytes: number;
  /** The tombstone floor and the proposers' minimum ages (garbage collection, paper §3.1). */
  readonly meta: StoreMeta;
  /** The pid of the acceptor serving the directory while it was read, if one did. */
  readonly servedBy: number | 'unknown' | undefined;
}

/** Options of `inspectDataDirectory`. */
export interface InspectOptions {
  /** When given, the directory must belong to this cluster (else `foreign`, as the acceptor refuses it). */
  readonly clusterId?: string | undefined;
  /** Called once the identity and the meta are read and checked, before the first record (awaited). */
  readonly onStart?: ((identity: AcceptorIdentity, meta: StoreMeta) => Promise<void> | void) | undefined;
  /** Receives every record, in key order, a page at a time (awaited: an export writes them). */
  readonly onRecords?: ((records: ReadonlyArray<readonly [string, KeyRecord]>) => Promise<void> | void) | undefined;
}

const PAGE = 1024;

type Db = RootDatabase<Uint8Array, Uint8Array>;

/**
 * Reads the acceptor data directory at `path` without writing to it (see the module comment).
 * Rejects with a `DataDirectoryError` for a directory the acceptor would refuse (missing, empty,
 * unadopted, foreign, damaged: the same checks and messages), and with an `Error` when the
 * directory changed under the read.
 */
export async function inspectDataDirectory(path: string, options: InspectOptions = {}): Promise<InspectedDirectory> {
  checkExists(path);
  const holder = await lockHolder(path);
  const identity = checkDirectoryFiles(path, options.clusterId);
  const lmdb = await importOptional('lmdb', 'caspaxos inspect', () => import('lmdb'));
  const file = join(path, 'data.mdb');
  const before = facts(file);
  // No acceptor: LMDB's reader table goes to a private directory that links to the data file.
  const privateDir = holder.live ? undefined : mkdtempSync(join(tmpdir(), 'caspaxos-inspect-'));
  if (privateDir !== undefined) symlinkSync(resolve(file), join(privateDir, 'data.mdb'));
  let db: Db;
  try {
    db = lmdb.open<Uint8Array, Uint8Array>({ path: privateDir ?? path, readOnly: true, noSubdir: false, keyEncoding: 'binary', encoding: 'binary' });
  } catch (error) {
    if (privateDir !== undefined) rmSync(privateDir, { recursive: true, force: true });
    throw damaged(path, `LMDB could not open it: ${(error as Error).message}`, error);
  }
  try {
    const entry = db.get(IDENTITY_KEY);
    checkIdentityEntry(path, identity, entry === undefined ? undefined : new Uint8Array(entry));
    const metaBytes = db.get(META_KEY);
    let meta: StoreMeta = { floor: { counter: 0, id: '' }, ages: [] };
    let keys = 0;
    try {
      if (metaBytes !== undefined) meta = decodeMeta(metaBytes);
    } catch (error) {
      throw damaged(path, `its meta entry failed its check: ${error instanceof CorruptRecordError ? error.message : String(error)}`, error);
    }
    await options.onStart?.(identity, meta);
    try {
      keys = await readRecords(db, options.onRecords);
    } catch (error) {
      const reason = error instanceof CorruptRecordError ? error.message : String(error);
      throw damaged(path, `a record failed its check: ${reason}`, error);
    }
    if (!holder.live && before !== undefined && facts(file)?.txnid !== before.txnid) {
      throw new Error(`${path} changed while it was read (an acceptor started on it?): run the inspection again`);
    }
    const raw = readJsonFile(join(path, IDENTITY_FILE)) ?? {};
    return {
      path: resolve(path),
      identity,
      identityFormat: String(raw.format),
      created: typeof raw.created === 'string' ? raw.created : undefined,
      adopted: raw.adopted === true,
      recordFormat: RECORD_FORMAT_VERSION,
      keys,
      dataBytes: bytesInUse(db.getStats() as unknown as LmdbStats),
      fileBytes: statSync(file).size,
      meta,
      servedBy: holder.live ? (holder.pid ?? 'unknown') : undefined,
    };
  } finally {
    await db.close();
    if (privateDir !== undefined) rmSync(privateDir, { recursive: true, force: true });
  }
}

/** Every record, a page at a time (each page one read snapshot), handed to `onRecords`; resolves with the count. */
async function readRecords(db: Db, onRecords: InspectOptions['onRecords']): Promise<number> {
  let count = 0;
  let after: Uint8Array | undefined;
  for (;;) {
    const page: Array<readonly [string, KeyRecord]> = [];
    let last: Uint8Array | undefined;
    for (const { key, value } of db.getRange({ start: after ?? RECORDS_START, end: RECORDS_END, exclusiveStart: after !== undefined, limit: PAGE })) {
      const name = decodeKey(key);
      try {
        page.push([name, decodeRecord(value)]);
      } catch (error) {
        throw new CorruptRecordError(`record of key ${JSON.stringify(name)}`, error instanceof CorruptRecordError ? error.reason : String(error));
      }
      last = new Uint8Array(key);
    }
    count += page.length;
    if (page.length > 0) await onRecords?.(page);
    if (page.length < PAGE || last === undefined) return count;
    after = last;
  }
}

function facts(file: string): { readonly txnid: bigint } | undefined {
  return canCheckLmdbFiles() ? checkLmdbFile(file) : undefined;
}
