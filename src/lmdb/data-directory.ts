/**
 * An acceptor's data directory, as `caspaxos acceptor` keeps it: an LMDB environment that knows
 * whose it is, and refuses to be served when it is not what it should be.
 *
 * Why (issue 11): an acceptor that comes back without its data, or with part of it, is an acceptor
 * that forgot its promises, and CASPaxos' safety rests on acceptors never forgetting (paper §2.2:
 * an acceptor "persists the ballot number as a promise" before it confirms). Restarted blank, it
 * joins a quorum with an acceptor that missed the last write and together they elect a stale value:
 * every acknowledged write since is lost, with only one acceptor down at a time. So a directory is
 * created explicitly, records who it is, and every start checks it:
 *
 *     <dir>/identity.json   { format, cluster, incarnation, created, adopted, checksum }
 *     <dir>/data.mdb        LMDB; its identity entry (key [3]) repeats cluster and incarnation
 *     <dir>/lock.mdb        LMDB's reader table
 *     <dir>/caspaxos.lock   the process lock (`directory-lock.ts`)
 *     <dir>/caspaxos.pid    the serving process's pid, for operators (`kill -9 $(cat ...)`)
 *
 * - `initDataDirectory` creates a new acceptor in a new or empty directory, with a fresh random
 *   *incarnation*. Proposers know a member by (address, incarnation): a directory wiped and
 *   initialised again at the same address is a new acceptor with no promises, which no proposer
 *   counts until it is added through the membership procedure (shrink the old, grow the new: the
 *   grow's identity pass copies every key onto it).
 * - `openDataDirectory` refuses, with a `DataDirectoryError` naming the problem, a directory that
 *   is missing or empty (`missing`, `empty`: lost, or never initialised), that was written by a
 *   release without identities (`unadopted`: see `adoptDataDirectory`), that belongs to another
 *   cluster (`foreign`), that another process serves (`locked`), or that is damaged (`damaged`):
 *   `identity.json` unreadable or failing its checksum, `data.mdb` missing, truncated below what
 *   its meta pages say is in use (checked before lmdb maps it: `lmdb-file.ts`), holding another
 *   directory's identity entry, or holding a record or meta entry that fails its CRC (every
 *   record is read and checked at open). Nothing is served from a refused directory.
 * - `adoptDataDirectory` gives a directory written by an earlier release (records, no identity)
 *   its identity, after the same checks, on an operator's explicit command.
 *
 * Node-only.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { JsonFileError, readJsonFile, writeJsonFile } from './atomic-file.js';
import { DirectoryLockedError, LOCK_FILE, type DirectoryLock, lockDirectory } from './directory-lock.js';
import { canCheckLmdbFiles, checkLmdbFile } from './lmdb-file.js';
import { LmdbStore, type LmdbStoreOptions, WRITE_PROBE_FILE, readIdentityEntry, writeIdentityEntry } from './lmdb-store.js';
import { type AcceptorIdentity, isClusterId, isIncarnation } from '../http/wire.js';

export type { AcceptorIdentity } from '../http/wire.js';


/** What is wrong with a data directory (see the module comment). */
export type DataDirectoryProblem = 'missing' | 'empty' | 'not-empty' | 'unadopted' | 'foreign' | 'damaged' | 'locked';

/** A data directory that cannot be used as asked; `problem` says why, the message what to do. */
export class DataDirectoryError extends Error {
  constructor(
    readonly problem: DataDirectoryProblem,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DataDirectoryError';
  }
}

/** The identity file's name and format tag. */
export const IDENTITY_FILE = 'identity.json';
const IDENTITY_FORMAT = 'caspaxos-acceptor-identity/1';
/** The pid file's name. */
export const PID_FILE = 'caspaxos.pid';

/** Files that are not the acceptor's data (a stale lock socket, a pid file). */
const NOT_DATA = new Set([LOCK_FILE, PID_FILE, WRITE_PROBE_FILE]);

/** Throws `TypeError` unless `clusterId` is a valid cluster id (`isClusterId`: it travels in a header). */
export function assertClusterId(clusterId: unknown): asserts clusterId is string {
  if (!isClusterId(clusterId)) {
    throw new TypeError(`a cluster id is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit; got ${JSON.stringify(clusterId)}`);
  }
}

/** Options shared by the three operations. */
export interface DataDirectoryOptions {
  /** Passed to `LmdbStore.open`. @default true */
  readonly durable?: boolean | undefined;
  /** Passed to `LmdbStore.open`. @default 'commit' */
  readonly syncMode?: 'commit' | 'overlapping' | undefined;
  /** Passed to `LmdbStore.open` (the quota below the disk). @default '90%' */
  readonly maxDataBytes?: LmdbStoreOptions['maxDataBytes'];
}

/** A directory opened for serving: its store, identity and lock. */
export interface OpenDataDirectory {
  readonly store: LmdbStore;
  readonly identity: AcceptorIdentity;
  /** How many records were read and checked at open. */
  readonly records: number;
  /** Releases the lock and removes the pid file; call after the store is closed. */
  release(): Promise<void>;
}

/**
 * Creates a new acceptor in `path` (created if missing; it must be empty otherwise), recording
 * `clusterId` and a fresh incarnation. Resolves with the identity.
 */
export async function initDataDirectory(path: string, clusterId: string, options: DataDirectoryOptions = {}): Promise<AcceptorIdentity> {
  assertClusterId(clusterId);
  await mkdir(path, { recursive: true });
  const lock = await takeLock(path);
  try {
    const present = dataEntries(path);
    if (present.length > 0) {
      throw new DataDirectoryError(
        'not-empty',
        path,
        `${path} is not empty (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', ...' : ''}): --init creates a new acceptor in a new or empty directory, and never over an existing one`,
      );
    }
    const identity = { clusterId, incarnation: newIncarnation() };
    const store = await LmdbStore.open({ path, ...options });
    try {
      await writeIdentityEntry(store, entryBytes(identity));
    } finally {
      await store.close();
    }
    // Last: a directory with data.mdb but no identity.json is an unfinished --init, refused at open.
    await writeIdentityFile(path, identity, false);
    return identity;
  } finally {
    await lock.release();
  }
}

/**
 * Gives a directory written by a release without identities (an LMDB environment with records, no
 * `identity.json`) the identity of an acceptor of `clusterId`, with a fresh incarnation, after
 * checking every record. Resolves with the identity.
 */
export async function adoptDataDirectory(path: string, clusterId: string, options: DataDirectoryOptions = {}): Promise<AcceptorIdentity> {
  assertClusterId(clusterId);
  checkExists(path);
  const lock = await takeLock(path);
  try {
    if (existsSync(join(path, IDENTITY_FILE))) throw new DataDirectoryError('not-empty', path, `${path} already has an identity (${IDENTITY_FILE}): nothing to adopt`);
    checkDataFile(path);
    const identity = { clusterId, incarnation: newIncarnation() };
    const store = await openStore(path, options);
    try {
      const entry = readIdentityEntry(store);
      if (entry !== undefined) throw damaged(path, `${IDENTITY_FILE} is missing, but the database records the identity ${describeEntry(entry)}: restore ${IDENTITY_FILE} rather than adopting`);
      await verifyRecords(path, store);
      await writeIdentityEntry(store, entryBytes(identity));
    } finally {
      await store.close();
    }
    await writeIdentityFile(path, identity, true);
    return identity;
  } finally {
    await lock.release();
  }
}

/**
 * Opens `path` for serving after every check of the module comment; with `clusterId`, the
 * directory must belong to that cluster. Holds the directory's lock until `release`.
 * `onLockLost` is called if the lock is found lost while held (stop serving then).
 */
export async function openDataDirectory(
  path: string,
  options: DataDirectoryOptions & { readonly clusterId?: string | undefined; readonly onLockLost?: ((reason: string) => void) | undefined } = {},
): Promise<OpenDataDirectory> {
  if (options.clusterId !== undefined) assertClusterId(options.clusterId);
  checkExists(path);
  const lock = await takeLock(path, options.onLockLost);
  let store: LmdbStore | undefined;
  try {
    const identity = checkDirectoryFiles(path, options.clusterId);
    store = await openStore(path, options);
    checkIdentityEntry(path, identity, readIdentityEntry(store));
    const records = await verifyRecords(path, store);
    writeFileSync(join(path, PID_FILE), `${process.pid}\n`);
    const opened = store;
    return {
      store: opened,
      identity,
      records,
      release: async () => {
        rmSync(join(path, PID_FILE), { force: true });
        await lock.release();
      },
    };
  } catch (error) {
    await store?.close();
    await lock.release();
    throw error;
  }
}

/**
 * The checks of a directory before its database is opened (see the module comment): not empty,
 * `identity.json` sound and of `clusterId` (when given), `data.mdb` present and not truncated.
 * Resolves with the identity, `undefined` for a directory written before identities (the database
 * then decides between `unadopted` and `damaged`: `checkIdentityEntry`). Reads only.
 */
export function checkDirectoryFiles(path: string, clusterId: string | undefined): AcceptorIdentity | undefined {
  const present = dataEntries(path);
  if (present.length === 0) {
    throw new DataDirectoryError(
      'empty',
      path,
      `${path} is empty: this acceptor has no data (lost, wiped, or never initialised). If it served before, it has forgotten its promises and must not come back as itself: ` +
        `initialise it anew (--init) and replace the old member through the membership procedure (shrink the old, grow the new)`,
    );
  }
  const identity = readIdentityFile(path);
  if (identity !== undefined && clusterId !== undefined && identity.clusterId !== clusterId) {
    throw new DataDirectoryError('foreign', path, `${path} belongs to cluster ${JSON.stringify(identity.clusterId)}, not ${JSON.stringify(clusterId)}`);
  }
  if (!existsSync(join(path, 'data.mdb'))) {
    if (identity === undefined) throw damaged(path, `neither ${IDENTITY_FILE} nor data.mdb is here (${present.slice(0, 3).join(', ')}): not an acceptor's data directory`);
    throw damaged(path, `data.mdb is missing: this acceptor lost its database and with it its promises`);
  }
  checkDataFile(path);
  return identity;
}

/** The check of the database's identity entry (`entry`) against `identity.json`'s (`identity`). */
export function checkIdentityEntry(path: string, identity: AcceptorIdentity | undefined, entry: Uint8Array | undefined): asserts identity is AcceptorIdentity {
  if (identity === undefined) {
    if (entry !== undefined) throw damaged(path, `${IDENTITY_FILE} is missing, but the database records the identity ${describeEntry(entry)}`);
    throw new DataDirectoryError(
      'unadopted',
      path,
      `${path} was written by a release without acceptor identities (no ${IDENTITY_FILE}): adopt it once with 'caspaxos acceptor --adopt --cluster-id <id> --data ${path}'`,
    );
  }
  if (entry === undefined || !sameBytes(entry, entryBytes(identity))) {
    throw damaged(path, `data.mdb does not belong to this directory's identity (${identity.clusterId}/${identity.incarnation}): it records ${entry === undefined ? 'no identity' : describeEntry(entry)} (replaced, or recreated empty)`);
  }
}

/** A fresh incarnation: 96 random bits, base64url. */
export function newIncarnation(): string {
  return randomBytes(12).toString('base64url');
}

async function takeLock(path: string, onLost?: (reason: string) => void): Promise<DirectoryLock> {
  try {
    return await lockDirectory(path, { onLost });
  } catch (error) {
    if (error instanceof DirectoryLockedError) throw new DataDirectoryError('locked', path, error.message, { cause: error });
    throw error;
  }
}

export function checkExists(path: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new DataDirectoryError('missing', path, `${path} does not exist: create an acceptor with 'caspaxos acceptor --init --cluster-id <id> --data ${path}'`);
  }
  if (!isDirectory) throw damaged(path, `${path} is not a directory`);
}

/** The directory's entries that are data (not the lock socket, the pid file or a temporary file). */
function dataEntries(path: string): string[] {
  return readdirSync(path).filter((name) => !NOT_DATA.has(name) && !(name.startsWith('.') && name.endsWith('.tmp')));
}

function checkDataFile(path: string): void {
  const file = join(path, 'data.mdb');
  if (!existsSync(file)) throw new DataDirectoryError('empty', path, `${path} holds no data.mdb: nothing to adopt`);
  if (!canCheckLmdbFiles()) return;
  try {
    checkLmdbFile(file);
  } catch (error) {
    throw damaged(path, (error as Error).message, error);
  }
}

async function openStore(path: string, options: DataDirectoryOptions): Promise<LmdbStore> {
  try {
    return await LmdbStore.open({ path, durable: options.durable, syncMode: options.syncMode, maxDataBytes: options.maxDataBytes });
  } catch (error) {
    throw damaged(path, `LMDB could not open it: ${(error as Error).message}`, error);
  }
}

/** Reads every record (and the meta entry): each one's CRC is checked as it decodes. */
async function verifyRecords(path: string, store: LmdbStore): Promise<number> {
  let count = 0;
  try {
    await store.loadMeta();
    let after: string | undefined;
    for (;;) {
      const page = await store.scan({ after, limit: 1024 });
      count += page.length;
      if (page.length < 1024) return count;
      after = (page[page.length - 1] as readonly [string, unknown])[0];
    }
  } catch (error) {
    throw damaged(path, `a record failed its check after ${count} good ones: ${(error as Error).message}`, error);
  }
}

export function damaged(path: string, what: string, cause?: unknown): DataDirectoryError {
  return new DataDirectoryError('damaged', path, `${path} is damaged: ${what}. Do not serve it: if the data cannot be restored, replace this acceptor (--init in an empty directory, then shrink the old, grow the new)`, cause === undefined ? undefined : { cause });
}

async function writeIdentityFile(path: string, identity: AcceptorIdentity, adopted: boolean): Promise<void> {
  await writeJsonFile(join(path, IDENTITY_FILE), { format: IDENTITY_FORMAT, cluster: identity.clusterId, incarnation: identity.incarnation, created: new Date().toISOString(), adopted });
}

/** The identity recorded in `identity.json`, `undefined` when there is none; `damaged` when it cannot be trusted. */
export function readIdentityFile(path: string): AcceptorIdentity | undefined {
  let body: Record<string, unknown> | undefined;
  try {
    body = readJsonFile(join(path, IDENTITY_FILE));
  } catch (error) {
    if (error instanceof JsonFileError) throw damaged(path, `${IDENTITY_FILE} ${error.message}`, error);
    throw error;
  }
  if (body === undefined) return undefined;
  const { format, cluster, incarnation } = body;
  if (format !== IDENTITY_FORMAT) throw damaged(path, `${IDENTITY_FILE} has the format ${JSON.stringify(format)}, not ${IDENTITY_FORMAT}`);
  if (!isClusterId(cluster) || !isIncarnation(incarnation)) throw damaged(path, `${IDENTITY_FILE} holds a malformed cluster id or incarnation`);
  return { clusterId: cluster, incarnation };
}

function entryBytes(identity: AcceptorIdentity): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ cluster: identity.clusterId, incarnation: identity.incarnation }));
}

function describeEntry(entry: Uint8Array): string {
  try {
    const { cluster, incarnation } = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(entry)) as { cluster?: unknown; incarnation?: unknown };
    return `${String(cluster)}/${String(incarnation)}`;
  } catch {
    return '(unreadable)';
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
