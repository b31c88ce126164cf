/**
 * `LmdbStore`: an `AcceptorStore` on disk, in an LMDB environment (the `lmdb` package), for
 * `StoreAcceptor`. Node only: import it from `caspaxos/lmdb`.
 *
 * ## Durability
 *
 * Paper §2.2: an acceptor "persists the ballot number as a promise" before it "returns a
 * confirmation". So `put`, `remove` and `raiseAges` resolve only once their transaction is synced
 * to disk. The lmdb README says of `put`: "The promise will resolve once the transaction has finished
 * committing. [...] Once the promise resolves, the transaction will have been fully written to the
 * physical storage medium (durable commit [...])". That holds only with `overlappingSync` off. The
 * same README, "Overlapping Sync Options": "When this is enabled, there are two events of potential
 * interest: when the transaction is committed and the data is visible [...], and when the
 * transaction is flushed and durable. The write actions return a promise for when they are
 * committed." `overlappingSync` is on by default on Linux and macOS, and lmdb's `write.js` (3.x)
 * agrees: write promises resolve when the commit becomes visible; only `db.flushed` waits for the
 * sync. So a write must wait for more than its promise. Two modes (`syncMode`):
 *
 * - `'commit'` (the default) opens the environment with `overlappingSync: false` (and without
 *   `noSync`): LMDB's own commit syncs the data and the meta page before it returns, and every
 *   write promise resolves after that; the promise means durable by itself.
 * - `'overlapping'` keeps lmdb's `overlappingSync` and opens with `separateFlushed`, which the
 *   README describes as: "the returned promise will still resolve when the transaction is
 *   committed and the promise will also have a `flushed` property that holds a second promise
 *   that is resolved when the OS reports that the transaction writes has been fully flushed to
 *   disk". `put` awaits that `flushed` promise. `remove` and `raiseAges` (transaction callbacks,
 *   whose promise has no `flushed`) await `db.flushed`, which "resolves when all previous writes
 *   have been committed and fully flushed/synced to disk/storage". The sync then runs outside
 *   LMDB's write lock, so the next batch commits while the last one syncs. Measured with
 *   bench/store-durability.mjs (2-core VM, shared disk): 0.95x to 1.6x the throughput of
 *   `'commit'` with 64 concurrent writers, run to run; no gain with one writer.
 *
 * Durability stays affordable because lmdb batches: every write issued in one event turn (and
 * everything queued while a commit is in flight) goes into one transaction, one sync. Many
 * concurrent acceptor requests share a sync; a lone writer pays one sync per write.
 *
 * `durable: false` opens with `noSync`: writes resolve before they reach the disk, and a machine
 * crash can lose or corrupt the database. Unsafe for an acceptor; for measuring only.
 *
 * ## Atomicity
 *
 * A `put` is one LMDB write, in one transaction: after a crash the key holds the old record or the
 * new one. `remove` and `raiseAges` read-modify-write the meta entry (floor and ages only rise), so
 * each runs as an lmdb `transaction` callback: the callback runs inside the write transaction,
 * holding LMDB's single write lock, and reads the meta as that transaction sees it, so two
 * concurrent calls cannot both read the old value and the lower write win (the lost update a
 * read-then-`put` would allow). lmdb runs queued callbacks in call order, each seeing the writes of
 * the ones before; the callback and its writes commit together, in one commit, synced as above.
 *
 * lmdb runs queued transaction callbacks after the plain writes queued in the same batch, so a
 * `put` and a `remove` of one key issued concurrently may apply in either order. The store
 * contract allows it: `StoreAcceptor` runs one operation per key at a time.
 *
 * ## Layout
 *
 * One unnamed LMDB database, binary keys and values. A record lives under `encodeKey(key)` (first
 * byte 1 or 2, see `record-codec`), its value `encodeRecord(record)`; the meta (floor and ages)
 * lives under the one-byte key `[0]`, its value `encodeMeta`; a data directory's identity entry
 * (`data-directory.ts`) under `[3]`. Values carry a format version and a
 * CRC-32: a damaged value is reported (`CorruptRecordError`), never returned. `scan` pages in LMDB
 * key order (bytewise over the encoded keys).
 *
 * ## A full or failing disk
 *
 * A write that fails (the disk is full: ENOSPC, EDQUOT; read-only: EROFS; an I/O error: EIO, which
 * LMDB also reports for a short write on a full disk) rejects with `StorageFullError` or
 * `StorageFailedError`, and the process carries on: LMDB's commit is atomic, so the failed
 * transaction left nothing behind and the committed data is intact. lmdb reports an asynchronous
 * commit's failure twice: the write's promise rejects with "Commit failed (see commitError for
 * details)", and its `commitError` promise rejects with the cause. Every write here awaits both
 * (an unhandled `commitError` used to end the process). lmdb's event-turn batching is off
 * (`eventTurnBatching: false`): it queues a write of its own whose promise nobody holds, and a
 * failed commit rejects that promise unhandled too. Writes queued in one turn still share one
 * commit (lmdb then starts the commit with `setImmediate`).
 *
 * LMDB is not asked to write what the disk would refuse: lmdb-js (3.5.6, the latest release when
 * this was written) overflows a 100-byte heap buffer when it formats the message of a page write
 * that failed with an errno (`mdb_page_flush` in its mdb.c: `last_error = malloc(100);
 * sprintf(last_error, "Attempting to write page at position %u, size %u, ...")`, 100 characters
 * before the numbers are long). The heap is then corrupt, and the process aborts a few writes
 * later (seen here after ENOSPC: "free(): invalid size", SIGABRT), which no handler can catch.
 * So each write transaction is tried only when the disk would take it (`#preflight`): the data
 * file is writable (`access(W_OK)`: EROFS on a read-only filesystem, EPERM on an immutable file),
 * a one-byte write to the file `write-probe` beside it succeeds (EROFS once ext4 turned itself
 * read-only after an error, which `access` does not see), and the filesystem has room for every
 * page the transaction may add; otherwise it is refused here, with that errno. What remains
 * exposed: an I/O error of the device itself, and a disk that another program fills between the
 * check and the write (a short write is safe: LMDB reports it as EIO without the message).
 *
 * Once a write failed for want of room, the store reports itself full (`capacity()`) until the
 * filesystem has 1 MiB more free than then: near the edge, small writes that fit and larger ones
 * that do not would otherwise flip the state (and the log) with every request.
 *
 * A quota below the disk (`maxDataBytes`) keeps room for the writes that free space: past it,
 * `capacity()` reports the store full and `StoreAcceptor` refuses new values and longer ones
 * (reads, deletes and garbage collection still go through; LMDB reuses the pages they free).
 *
 * ## Ownership
 *
 * One acceptor process owns a data directory, and within it one `StoreAcceptor` at a time. LMDB
 * itself allows several processes on one environment, but the acceptor does not: it serializes
 * the operations on a key in memory and caches the floor and ages, so a second acceptor over the
 * same directory could promise one ballot twice. `LmdbStore` alone does not enforce it;
 * `openDataDirectory` (what `caspaxos acceptor` serves through, see `data-directory.ts`) holds a
 * lock on the directory for the process's lifetime.
 *
 * ## Opening a damaged file
 *
 * `open` reads `data.mdb`'s meta pages before lmdb maps the file and refuses
 * (`CorruptRecordError`) a file shorter than the pages they say are in use: mapped, such a file
 * reads as a shorter or empty database, or ends the process with SIGBUS (`lmdb-file.ts`).
 */
import { accessSync, closeSync, constants as fsConstants, existsSync, openSync, realpathSync, statSync, statfsSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import type { RootDatabase } from 'lmdb';
import type { Closeable } from '../internal/async-dispose.js';
import * as rules from '../core/acceptor-rules.js';
import type { Age } from '../core/age.js';
import { type Ballot, ZERO_BALLOT, compareBallots } from '../core/ballot.js';
import { InvalidArgumentError, StorageFailedError, StorageFullError, UnavailableError } from '../errors.js';
import type { AcceptorStore, ScanOptions, StoreMeta, StoreWrite } from '../acceptor/acceptor-store.js';
import type { StoreCapacity } from '../acceptor/storage.js';
import type { KeyRecord } from '../core/acceptor-rules.js';
import { CorruptRecordError, decodeKey, decodeMeta, decodeRecord, encodeKey, encodeMeta, encodeRecord } from './record-codec.js';
import { checkAges } from '../acceptor/request-checks.js';
import { assertBallot, assertKey } from '../internal/validate.js';
import { importOptional } from '../internal/optional-package.js';
import { canCheckLmdbFiles, checkLmdbFile } from './lmdb-file.js';

export { CorruptRecordError } from './record-codec.js';

/** Options of `LmdbStore.open`. */
export interface LmdbStoreOptions {
  /**
   * The data directory, created if missing. One acceptor process owns it (see the module doc).
   * @example '/var/lib/caspaxos/acceptor-1'
   */
  readonly path: string;
  /**
   * Sync every write to disk before it resolves. `false` opens LMDB with `noSync`: writes resolve
   * before they are on disk and a machine crash may lose or corrupt the data. An acceptor that
   * forgets a promise breaks consensus; use `false` only to measure what durability costs.
   * @default true
   */
  readonly durable?: boolean | undefined;
  /**
   * How a durable write waits for the disk (ignored when `durable` is false). `'commit'`: LMDB
   * syncs inside each commit, under its write lock, and the write resolves after it. `'overlapping'`:
   * lmdb's `overlappingSync`: the sync runs after the commit, outside the write lock, and the write
   * resolves once lmdb reports it flushed; it can carry more writes with many concurrent writers
   * (measure on your disk). Both resolve only once the write is on disk (see the module doc).
   * @default 'commit'
   */
  readonly syncMode?: 'commit' | 'overlapping' | undefined;
  /**
   * A quota below the disk: past it the store reports itself full (`capacity()`), and an acceptor
   * over it refuses writes that grow the data (values for new keys, longer values) with
   * `StorageFullError`, while reads, deletes and garbage collection still go through. A number is bytes of data (LMDB pages
   * in use); a percentage is of the filesystem holding `path`, counting everything on it (refuse
   * growth once the filesystem is that full). `'100%'` leaves only the disk's own limit.
   * @default '90%'
   */
  readonly maxDataBytes?: number | `${number}%` | undefined;
}

/** A parsed `maxDataBytes`: bytes of data, or a share of the filesystem. */
type Quota = { readonly bytes: number } | { readonly percent: number };

/**
 * LMDB's largest key, in bytes, with the default 4 KiB page. lmdb README: "By default, the maximum
 * key size is 1978 bytes." The environment reports its own at runtime; this is the fallback.
 */
const DEFAULT_MAX_KEY_BYTES = 1978;

/** The key of the meta entry; record keys start with byte 1 or 2 (`encodeKey`). */
export const META_KEY = new Uint8Array([0]);
/** Bounds of the record keys in LMDB's bytewise order: [1, 3). */
export const RECORDS_START = new Uint8Array([1]);
export const RECORDS_END = new Uint8Array([3]);

const EMPTY_META: StoreMeta = Object.freeze({ floor: ZERO_BALLOT, ages: Object.freeze([]) });

type Db = RootDatabase<Uint8Array, Uint8Array>;

/** The LMDB environments this process has open, by canonical path: their settings, and handles. */
const openEnvironments = new Map<string, { readonly settings: string; handles: number }>();

/**
 * The key of the data directory's identity entry (see `data-directory.ts`), outside the records'
 * range [1, 3) and apart from the meta entry: `scan` never sees it.
 */
export const IDENTITY_KEY = new Uint8Array([3]);

/** Each store's database, for the identity entry's functions below (not part of the class's API). */
const databases = new WeakMap<LmdbStore, Db>();

/** The identity entry's bytes, if the directory has one. */
export function readIdentityEntry(store: LmdbStore): Uint8Array | undefined {
  const db = databases.get(store);
  if (db === undefined) throw new UnavailableError('the LMDB store is closed');
  const bytes = db.get(IDENTITY_KEY);
  return bytes === undefined ? undefined : new Uint8Array(bytes);
}

/** Writes the identity entry; resolves once it is durable (as every write of the store). */
export async function writeIdentityEntry(store: LmdbStore, bytes: Uint8Array): Promise<void> {
  const db = databases.get(store);
  if (db === undefined) throw new UnavailableError('the LMDB store is closed');
  const written = db.put(IDENTITY_KEY, bytes);
  await written;
  if (store.syncMode === 'overlapping') await flushedOf(written);
}

/**
 * Refuses, before lmdb maps it, a `data.mdb` whose meta pages claim more than the file holds (see
 * `lmdb-file.ts`): mapping it would end in a SIGBUS, or in an empty database served in place of
 * the real one. A missing file is lmdb's to create.
 */
function checkDataFile(path: string): void {
  const file = join(path, 'data.mdb');
  if (!canCheckLmdbFiles() || !existsSync(file) || !statSync(file).isFile()) return;
  try {
    checkLmdbFile(file);
  } catch (error) {
    throw new CorruptRecordError(`LMDB file ${file}`, error instanceof Error ? error.message : String(error));
  }
}

/** The directory's real path when it exists (symlinks resolved), else its absolute path. */
function canonicalPath(path: string): string {
  const absolute = resolve(path);
  return existsSync(absolute) ? realpathSync(absolute) : absolute;
}

/**
 * An `AcceptorStore` on disk, in an LMDB environment (the `lmdb` package), for `StoreAcceptor`.
 * Every write resolves only once it is synced to disk (paper §2.2: an acceptor "persists the ballot
 * number as a promise" before it "returns a confirmation"); lmdb batches concurrent writes into one
 * transaction and one sync. Values carry a format version and a CRC-32, so a damaged one is
 * reported (`CorruptRecordError`), never returned. One acceptor process owns a data directory. Node
 * only.
 * @example
 * ```ts
 * import { StoreAcceptor } from 'caspaxos';
 * import { LmdbStore } from 'caspaxos/lmdb';
 *
 * const store = await LmdbStore.open({ path: '/var/lib/caspaxos/a1' });
 * const acceptor = await StoreAcceptor.open('a1', store);
 * // ... serve it (see createAcceptorServer in caspaxos/http) ...
 * await acceptor.close(); // closes the store too
 * ```
 */
export class LmdbStore implements AcceptorStore, Closeable {
  /** The data directory. */
  readonly path: string;
  /** Whether writes are synced before they resolve (`LmdbStoreOptions.durable`). */
  readonly durable: boolean;
  /** How durable writes wait for the disk (`LmdbStoreOptions.syncMode`; `'commit'` when not durable). */
  readonly syncMode: 'commit' | 'overlapping';
  /** The longest encoded key this environment stores, in bytes. */
  readonly maxKeyBytes: number;
  readonly #db: Db;
  #quota: Quota;
  /** The last `capacity()` measurement and when it was taken. */
  #measured: { readonly at: number; readonly capacity: StoreCapacity } | undefined;
  /** Bytes of records written since that measurement (it is stale once they eat into the headroom). */
  #writtenSince = 0;
  /** Whether the last write failed (measure often until one succeeds: room may come back). */
  #failing = false;
  /** Free bytes on the filesystem when a write last failed for want of room (see the module doc). */
  #outOfRoom: number | undefined;
  /** The open `write-probe` file (see `#preflight`), opened at the first write. */
  #probe: number | undefined;
  /** The depth of the records' tree and the page size at the last measurement (for `#preflight`). */
  #depth = 4;
  #pageSize = 4096;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** The canonical path this store counts against in `openEnvironments`. */
  #where = '';

  /**
   * Opens (or creates) the store in `options.path`.
   * @throws InvalidArgumentError when the options are malformed.
   * @throws MissingPackageError (code `ERR_MODULE_NOT_FOUND`) when the optional package `lmdb` is not installed.
   */
  static async open(options: LmdbStoreOptions): Promise<LmdbStore> {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('LmdbStore.open needs an options object { path }');
    const { path, durable = true, syncMode = 'commit', maxDataBytes = '90%' } = options;
    if (typeof path !== 'string' || path === '') throw new InvalidArgumentError('options.path must be a non-empty string');
    if (typeof durable !== 'boolean') throw new InvalidArgumentError('options.durable must be a boolean');
    if (syncMode !== 'commit' && syncMode !== 'overlapping') throw new InvalidArgumentError(`options.syncMode must be 'commit' or 'overlapping', got ${String(syncMode)}`);
    const quota = parseQuota(maxDataBytes);
    // Loaded here, not imported: `lmdb` is an optional peer dependency (caspaxos/lmdb loads without
    // it). Awaited before the check below, which must run in the same turn as the registration.
    const lmdb = await importOptional('lmdb', 'caspaxos/lmdb', () => import('lmdb'));
    const overlapping = durable && syncMode === 'overlapping';
    const settings = `durable: ${durable}, syncMode: ${overlapping ? 'overlapping' : 'commit'}`;
    const where = canonicalPath(path);
    // lmdb keeps one environment per directory per process, and a second open silently gets the
    // first one's flags: a durable store opened after a `durable: false` one (or a 'commit' one
    // after an 'overlapping' one) would acknowledge writes that are not on disk yet.
    const already = openEnvironments.get(where);
    if (already !== undefined && already.settings !== settings) {
      throw new InvalidArgumentError(`${path} is already open in this process with ${already.settings}; lmdb would share that environment (one acceptor per directory)`);
    }
    if (already === undefined) checkDataFile(path);
    const db = lmdb.open<Uint8Array, Uint8Array>({
      path,
      // Always a directory, even for a path with an extension (lmdb would make that a file).
      noSubdir: false,
      keyEncoding: 'binary',
      encoding: 'binary',
      // Without overlapping sync, write promises resolve after the sync; with it, at the (earlier)
      // visible commit, and `flushed` says when the write is synced. See the module doc.
      overlappingSync: overlapping,
      separateFlushed: overlapping,
      noSync: !durable,
      // Off: its batch-start write's promise is held by nobody, and rejects unhandled when a
      // commit fails (see "A full or failing disk" in the module doc).
      eventTurnBatching: false,
    });
    const store = new LmdbStore(path, durable, overlapping ? 'overlapping' : 'commit', db, quota);
    // Reject a directory whose meta this codec cannot read now, not at the first request.
    try {
      store.#readMeta();
    } catch (err) {
      await db.close();
      throw err;
    }
    // Counted until closed; a store dropped without closing (a simulated crash) keeps its count,
    // as lmdb keeps its environment.
    openEnvironments.set(where, { settings, handles: (already?.handles ?? 0) + 1 });
    store.#where = where;
    return store;
  }

  private constructor(path: string, durable: boolean, syncMode: 'commit' | 'overlapping', db: Db, quota: Quota) {
    this.path = path;
    this.durable = durable;
    this.syncMode = syncMode;
    this.#db = db;
    databases.set(this, db);
    this.#quota = quota;
    const reported = (db as unknown as { maxKeySize?: unknown }).maxKeySize;
    this.maxKeyBytes = typeof reported === 'number' && reported > 0 ? reported : DEFAULT_MAX_KEY_BYTES;
  }

  async loadMeta(): Promise<StoreMeta> {
    this.#checkOpen();
    return this.#readMeta();
  }

  async get(key: string): Promise<KeyRecord | undefined> {
    this.#checkOpen();
    const k = this.#encodeKey(key);
    const bytes = this.#db.get(k);
    return bytes === undefined ? undefined : this.#decodeRecord(key, bytes);
  }

  async put(key: string, record: KeyRecord): Promise<void> {
    this.#checkOpen();
    const k = this.#encodeKey(key);
    // Encoding validates the record and copies it: the caller may reuse its buffers at once.
    const value = encodeRecord(record);
    this.#preflight(1, k.byteLength + value.byteLength);
    try {
      const written = this.#db.put(k, value);
      await committed(written);
      // Overlapping sync: committed is not yet synced; `separateFlushed` gives the write's flush.
      if (this.syncMode === 'overlapping') await flushedOf(written);
    } catch (error) {
      throw this.#writeFailure(error, value.byteLength);
    }
    this.#wrote(k.byteLength + value.byteLength);
  }

  /** `writeMany` of the records alone. */
  async putMany(entries: ReadonlyArray<readonly [string, KeyRecord]>): Promise<void> {
    await this.writeMany(entries.map(([key, record]) => ({ kind: 'put', key, record }) as const));
  }

  /**
   * Applies `writes` (records, removals, age raises) in one LMDB transaction, one sync
   * (`StoreAcceptor`'s group commit): the garbage collector's removals and age raises share the
   * commit of the turn's promises and accepts instead of paying a sync each, and the main thread's
   * commit no longer waits on lmdb's write thread for the write lock while that thread syncs one of
   * them. In the default `'commit'` sync mode the transaction runs synchronously on this thread
   * (`transactionSync`): it is durable when it returns, and skips the hop to lmdb's write thread
   * and back, which cost about a quarter of a lone proposal's time (see bench/README.md). The event
   * loop waits for that one commit and sync per group, then serves everything that arrived
   * meanwhile as the next group. With `'overlapping'` it is one asynchronous transaction whose
   * flush is awaited.
   *
   * Atomic as a whole: every write is validated and encoded, and the meta read, before anything
   * is written, so a bad write, a damaged meta or a failed commit leaves the store as it was. The
   * meta (floor and ages, each only rising, as `remove` and `raiseAges` keep them) is read and
   * rewritten once, inside the transaction (LMDB's single write lock: no lost update).
   */
  async writeMany(writes: readonly StoreWrite[]): Promise<void> {
    this.#checkOpen();
    const puts: Array<readonly [Uint8Array, Uint8Array]> = [];
    const removals: Uint8Array[] = [];
    const metaChanges: Array<(meta: StoreMeta) => StoreMeta | undefined> = [];
    let bytes = 0;
    for (const write of writes) {
      if (write.kind === 'put') {
        const k = this.#encodeKey(write.key);
        // Encoding validates the record and copies it: the caller may reuse its buffers at once.
        const v = encodeRecord(write.record);
        puts.push([k, v]);
        bytes += k.byteLength + v.byteLength;
      } else if (write.kind === 'remove') {
        removals.push(this.#encodeKey(write.key));
        assertBallot(write.floor, 'floor');
        const floor = write.floor;
        metaChanges.push((meta) => raisedFloor(meta, floor));
      } else if (write.kind === 'raiseAges') {
        checkAges(write.ages);
        const ages = write.ages;
        metaChanges.push((meta) => raisedAges(meta, ages));
      } else {
        throw new InvalidArgumentError(`unknown store write ${JSON.stringify((write as { kind?: unknown }).kind)}`);
      }
    }
    if (writes.length === 0) return;
    // The meta, when it changes, is one more record of a few ages at most.
    const meta = metaChanges.length > 0;
    this.#preflight(puts.length + removals.length + (meta ? 1 : 0), bytes + (meta ? 4096 : 0));
    const db = this.#db;
    await this.#transact(this.syncMode === 'commit', bytes, () => {
      // Read first: a meta that cannot be read fails the group before anything is written.
      let next = meta ? this.#readMeta() : undefined;
      for (const [k, v] of puts) db.putSync(k, v);
      for (const k of removals) db.removeSync(k);
      if (next !== undefined) {
        let changed = false;
        for (const change of metaChanges) {
          const after = change(next);
          if (after !== undefined) [next, changed] = [after, true];
        }
        if (changed) db.putSync(META_KEY, encodeMeta(next));
      }
    });
  }

  async remove(key: string, floor: Ballot): Promise<void> {
    this.#checkOpen();
    const k = this.#encodeKey(key);
    assertBallot(floor, 'floor');
    await this.#update((meta) => {
      this.#db.remove(k);
      return raisedFloor(meta, floor);
    });
  }

  async raiseAges(ages: readonly Age[]): Promise<void> {
    this.#checkOpen();
    checkAges(ages);
    await this.#update((meta) => raisedAges(meta, ages));
  }

  async scan({ after, limit }: ScanOptions): Promise<ReadonlyArray<readonly [string, KeyRecord]>> {
    this.#checkOpen();
    if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidArgumentError(`scan limit must be an integer >= 1, got ${String(limit)}`);
    const start = after === undefined ? RECORDS_START : this.#encodeKey(after);
    const page: Array<readonly [string, KeyRecord]> = [];
    // One read snapshot for the page; entries decoded (and so copied) as they are read.
    for (const { key, value } of this.#db.getRange({ start, end: RECORDS_END, exclusiveStart: after !== undefined, limit })) {
      const name = decodeKey(key);
      page.push([name, this.#decodeRecord(name, value)]);
    }
    return page;
  }

  /**
   * How many keys hold a record now: LMDB's own entry count (constant time), less the entries
   * outside the records' range (the meta and identity entries, and any other; a handful, counted),
   * so cheap enough for every metrics scrape, unlike a scan.
   */
  recordCount(): number {
    this.#checkOpen();
    const { entryCount } = this.#db.getStats() as unknown as { entryCount: number };
    return entryCount - this.#db.getKeysCount({ end: RECORDS_START }) - this.#db.getKeysCount({ start: RECORDS_END });
  }

  /** Waits for pending writes, then closes the environment. Idempotent; other calls reject after it. */
  close(): Promise<void> {
    // Every call returns the same promise: a second `close` resolves only once the store is closed.
    this.#closing ??= (async () => {
      this.#closed = true;
      databases.delete(this);
      await this.#db.close();
      if (this.#probe !== undefined) closeSync(this.#probe);
      const entry = openEnvironments.get(this.#where);
      if (entry !== undefined && --entry.handles <= 0) openEnvironments.delete(this.#where);
    })();
    return this.#closing;
  }

  /** `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Runs `change` on the current meta inside one LMDB write transaction (lmdb's write thread, which
   * batches concurrent calls), writing the meta it returns (if any) in the same transaction;
   * resolves once that transaction is durable. `change` may add its own writes (`remove` deletes
   * the record).
   */
  async #update(change: (meta: StoreMeta) => StoreMeta | undefined): Promise<void> {
    // A record removed, and the meta (a few ages at most) rewritten.
    this.#preflight(2, 4096);
    await this.#transact(false, 0, () => {
      const next = change(this.#readMeta());
      if (next !== undefined) this.#db.put(META_KEY, encodeMeta(next));
    });
  }

  /**
   * Runs `apply` in one LMDB write transaction, on this thread (`synchronous`, LMDB's commit and
   * sync included) or lmdb's write thread, and resolves once it is durable (see the module doc). A
   * failed commit becomes `StorageFullError` / `StorageFailedError`; `bytes` (of the records
   * written) sizes the room check of an EIO. What `apply` throws is rethrown as it is: on this
   * thread the transaction is aborted (nothing written); an lmdb `transaction` callback cannot be
   * rolled back, so there `apply` must throw only before it wrote (as every caller here does: they
   * validate, encode and read the meta first).
   */
  async #transact(synchronous: boolean, bytes: number, apply: () => void): Promise<void> {
    let thrown: { readonly err: unknown } | undefined;
    const run = (): void => {
      try {
        apply();
      } catch (err) {
        thrown = { err };
        if (synchronous) throw err;
      }
    };
    try {
      if (synchronous) this.#db.transactionSync(run);
      else {
        await committed(this.#db.transaction(run));
        // A transaction's promise has no `flushed`; the database's covers every write before it.
        if (thrown === undefined && this.syncMode === 'overlapping') await this.#db.flushed;
      }
    } catch (error) {
      if (thrown !== undefined) throw thrown.err;
      throw this.#writeFailure(error, bytes);
    }
    if (thrown !== undefined) throw thrown.err;
    this.#wrote(bytes);
  }

  /**
   * Changes the quota (`LmdbStoreOptions.maxDataBytes`) of the open store; the next write that
   * grows the data sees it.
   * @throws InvalidArgumentError when it is neither a byte count nor a percentage in (0%, 100%].
   */
  setMaxDataBytes(maxDataBytes: number | `${number}%`): void {
    this.#quota = parseQuota(maxDataBytes);
    this.#measured = undefined;
  }

  /**
   * The store's room (see `AcceptorStore.capacity` and `maxDataBytes`): the data's bytes (LMDB
   * pages in use, the free list's included; pages freed by deletes count as free), the filesystem's
   * free bytes, and whether the quota is reached. Two cheap calls (`mdb_stat`, `statfs`), made
   * again once the last measurement is a second old, or 100 ms while full or failing (so room that
   * comes back is seen soon), or once the writes since could have taken the headroom it left
   * (their records' bytes times four, for pages and copies), so a fast writer cannot run past the
   * quota on a stale figure.
   */
  capacity(): StoreCapacity {
    const now = Date.now();
    const last = this.#measured;
    if (last !== undefined) {
      const { full, quotaBytes, usedBytes } = last.capacity;
      const headroom = quotaBytes !== undefined && usedBytes !== undefined ? quotaBytes - usedBytes : Infinity;
      const fresh = now - last.at < (full || this.#failing || this.#outOfRoom !== undefined ? 100 : 1000) && this.#writtenSince * 4 < headroom;
      if (fresh) return last.capacity;
    }
    const capacity = this.#closed ? { full: false } : this.#measure();
    this.#measured = { at: now, capacity };
    this.#writtenSince = 0;
    return capacity;
  }

  /** After a durable write of `bytes` bytes of records. */
  #wrote(bytes: number): void {
    this.#writtenSince += bytes;
    this.#failing = false;
  }

  #measure(): StoreCapacity {
    const stats = this.#db.getStats() as unknown as LmdbStats;
    this.#depth = Math.max(1, (stats.root ?? stats).treeDepth ?? this.#depth);
    this.#pageSize = stats.pageSize;
    const usedBytes = bytesInUse(stats);
    // Unknown (statfs failed): only a byte quota applies.
    const filesystem = filesystemOf(this.path);
    const availableBytes = filesystem?.available;
    const stopped = this.#outOfRoom;
    if (stopped !== undefined && availableBytes !== undefined) {
      if (availableBytes < stopped + RESUME_MARGIN_BYTES) {
        const reason = `the filesystem holding ${this.path} has ${availableBytes} bytes free; writes stopped for want of room at ${stopped} free, and resume once ${stopped + RESUME_MARGIN_BYTES} are`;
        return { full: true, reason, usedBytes, availableBytes };
      }
      this.#outOfRoom = undefined;
    }
    const quota = this.#quota;
    if ('bytes' in quota) {
      const full = usedBytes >= quota.bytes;
      return { full, reason: full ? `the data takes ${usedBytes} bytes, the quota (maxDataBytes) is ${quota.bytes}` : undefined, usedBytes, quotaBytes: quota.bytes, availableBytes };
    }
    if (filesystem === undefined || filesystem.total === 0) return { full: false, usedBytes, availableBytes };
    // The data may grow until the filesystem is `percent` full. Pages the data file holds but no
    // longer uses (freed by deletes and garbage collection) count as free: LMDB reuses them before
    // it grows the file, which never shrinks. So deleting through the API makes room here too.
    const reusable = Math.max(0, ((stats.lastPageNumber ?? 0) + 1) * stats.pageSize - usedBytes);
    const free = filesystem.available + reusable;
    const headroom = filesystem.total * (1 - quota.percent / 100);
    const quotaBytes = usedBytes + Math.max(0, Math.floor(free - headroom));
    const usedPercent = (100 * (filesystem.total - free)) / filesystem.total;
    const full = usedPercent >= quota.percent;
    const reason = full
      ? `the filesystem holding ${this.path} is ${usedPercent.toFixed(1)}% used (${filesystem.available} bytes free, ${reusable} more in pages the data file can reuse), the quota (maxDataBytes) is ${quota.percent}%`
      : undefined;
    return { full, reason, usedBytes, quotaBytes, availableBytes };
  }

  /**
   * Refuses a write transaction of `records` records (`bytes` bytes, keys included) that LMDB would
   * fail, before LMDB tries it (see "A full or failing disk" in the module doc): the data file must
   * be writable, and the filesystem must have room for every page the transaction may add: each
   * record may copy a page per level of the tree, the records themselves take their bytes twice
   * over (leaf pages are never full), and LMDB's free list takes some more (256 KiB).
   */
  #preflight(records: number, bytes: number): void {
    try {
      accessSync(join(this.path, 'data.mdb'), fsConstants.W_OK);
      this.#probe ??= openSync(join(this.path, WRITE_PROBE_FILE), 'w');
      writeSync(this.#probe, PROBE_BYTE, 0, 1, 0);
    } catch (error) {
      throw this.#writeFailure(error, bytes);
    }
    const pageSize = this.#pageSize;
    const needed = pageSize * (records * (this.#depth + 1) + 2 * Math.ceil(bytes / pageSize)) + PREFLIGHT_SLACK_BYTES;
    const available = filesystemOf(this.path)?.available;
    if (available !== undefined && available < needed) {
      this.#stoppedForRoom(available);
      throw new StorageFullError(
        `the LMDB store at ${this.path} refused a write before trying it: the filesystem has ${available} bytes free, the write may take ${needed} (ENOSPC)`,
      );
    }
  }

  /** A write failed for want of room with `available` bytes free: full until clearly more are. */
  #stoppedForRoom(available: number | undefined): void {
    this.#measured = undefined;
    this.#failing = true;
    if (available !== undefined) this.#outOfRoom = Math.min(available, this.#outOfRoom ?? Infinity);
  }

  /**
   * A failed write of about `bytes` bytes of records as `StorageFullError` / `StorageFailedError`,
   * by its errno. LMDB reports a short write as EIO ("TODO: Use which error code?" in its
   * `mdb_page_flush`), which is what a write that ran out of room midway gets: an EIO while the
   * filesystem has less free than the transaction needed (its pages, twice over for the tree's
   * copies, and 64 KiB) counts as full.
   */
  #writeFailure(error: unknown, bytes: number): unknown {
    if (error instanceof InvalidArgumentError || error instanceof UnavailableError) return error;
    const code = errnoName(error);
    const message = `the LMDB store at ${this.path} could not write: ${error instanceof Error ? error.message : String(error)}${code === undefined ? '' : ` (${code})`}`;
    // A fresh measurement next time: the disk just said something about its room.
    this.#measured = undefined;
    this.#failing = true;
    const available = filesystemOf(this.path)?.available;
    if (code !== undefined && FULL_CODES.has(code)) {
      this.#stoppedForRoom(available);
      return new StorageFullError(message, { cause: error });
    }
    if (code === 'EIO' && available !== undefined && available < 2 * bytes + SHORT_WRITE_MARGIN_BYTES) {
      this.#stoppedForRoom(available);
      return new StorageFullError(`${message}: a short write, with ${available} bytes free on the filesystem`, { cause: error });
    }
    return new StorageFailedError(message, { cause: error, untrusted: code !== undefined && UNTRUSTED_CODES.has(code) });
  }


  #readMeta(): StoreMeta {
    const bytes = this.#db.get(META_KEY);
    if (bytes === undefined) return EMPTY_META;
    try {
      return decodeMeta(bytes);
    } catch (err) {
      throw new CorruptRecordError(`meta in ${this.path}`, reasonOf(err));
    }
  }

  #decodeRecord(key: string, bytes: Uint8Array): KeyRecord {
    try {
      return decodeRecord(bytes);
    } catch (err) {
      throw new CorruptRecordError(`record of key ${JSON.stringify(key)} in ${this.path}`, reasonOf(err));
    }
  }

  /** The LMDB key of `key`; rejects what LMDB cannot store before anything is written. */
  #encodeKey(key: string): Uint8Array {
    assertKey(key);
    const k = encodeKey(key);
    if (k.length > this.maxKeyBytes) {
      throw new InvalidArgumentError(`key too long for LMDB: ${k.length - 1} bytes encoded, at most ${this.maxKeyBytes - 1} (UTF-8, or 2 per UTF-16 unit)`);
    }
    return k;
  }

  #checkOpen(): void {
    if (this.#closed) throw new UnavailableError(`the LMDB store at ${this.path} is closed`);
  }
}

/** The bytes of the pages in use: two meta pages, the records' tree, the free list's tree. */
export function bytesInUse(stats: LmdbStats): number {
  const pages = (tree: LmdbTreeStats | undefined): number => (tree === undefined ? 0 : tree.treeBranchPageCount + tree.treeLeafPageCount + tree.overflowPages);
  return (2 + pages(stats.root ?? stats) + pages(stats.free)) * stats.pageSize;
}

/** What `getStats()` reports (lmdb 3.x), as far as `capacity` reads it. */
interface LmdbTreeStats {
  readonly treeDepth?: number;
  readonly treeBranchPageCount: number;
  readonly treeLeafPageCount: number;
  readonly overflowPages: number;
}
export interface LmdbStats extends LmdbTreeStats {
  readonly pageSize: number;
  /** The last page of the data file (its size is the page after it). */
  readonly lastPageNumber?: number;
  readonly root?: LmdbTreeStats;
  readonly free?: LmdbTreeStats;
}

/** The size and free bytes (for unprivileged users) of the filesystem holding `path`, if it can be asked. */
function filesystemOf(path: string): { readonly total: number; readonly available: number } | undefined {
  try {
    const fs = statfsSync(path);
    return { total: fs.blocks * fs.bsize, available: fs.bavail * fs.bsize };
  } catch {
    return undefined;
  }
}

/** See `#preflight`: room kept for LMDB's free list and meta pages beyond a transaction's records. */
const PREFLIGHT_SLACK_BYTES = 256 * 1024;
/** See `#preflight`: what the probe writes. */
const PROBE_BYTE = new Uint8Array([0]);

/** The file beside `data.mdb` that each write transaction's preflight writes one byte to (no data). */
export const WRITE_PROBE_FILE = 'write-probe';
/** After a write failed for want of room, how much more must be free before writes resume. */
const RESUME_MARGIN_BYTES = 1024 * 1024;

/** See `#writeFailure`: the slack beyond a transaction's own pages for an EIO to count as full. */
const SHORT_WRITE_MARGIN_BYTES = 64 * 1024;

/** Codes of a write that failed for want of room. */
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'MDB_MAP_FULL']);
/** Codes after which LMDB's environment must be reopened: the store cannot be trusted until then. */
const UNTRUSTED_CODES = new Set(['MDB_PANIC', 'MDB_CORRUPTED']);
/** LMDB's own error numbers (lmdb.h) that a write may report. */
const LMDB_CODES = new Map([
  [-30792, 'MDB_MAP_FULL'],
  [-30795, 'MDB_PANIC'],
  [-30796, 'MDB_CORRUPTED'],
]);
/** errno numbers of this platform, by number: lmdb reports `code: 28`, not `ENOSPC`. */
const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** The name of the error's code: lmdb's numeric `code` as an errno or LMDB name. */
function errnoName(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string') return code;
  if (typeof code !== 'number') return undefined;
  return LMDB_CODES.get(code) ?? ERRNO_NAMES.get(code);
}

/** How long to wait for lmdb's `commitError` to say why a commit failed. */
const COMMIT_ERROR_WAIT_MS = 1000;

/**
 * Awaits an lmdb write; when its commit failed, rejects with the cause lmdb gives separately in
 * the error's `commitError` promise (handled here in every case, so it never rejects unhandled),
 * or with the write's own error if that promise says nothing within a second.
 * (Exported for its tests; not part of `caspaxos/lmdb`.)
 */
export async function committed<T>(written: Promise<T>): Promise<T> {
  try {
    return await written;
  } catch (error) {
    const detail = (error as { commitError?: unknown }).commitError;
    if (typeof detail !== 'object' || detail === null || typeof (detail as PromiseLike<unknown>).then !== 'function') throw error;
    const cause = await new Promise<unknown>((resolve) => {
      const timer = setTimeout(() => resolve(error), COMMIT_ERROR_WAIT_MS);
      (detail as PromiseLike<unknown>).then(
        () => {
          clearTimeout(timer);
          resolve(error);
        },
        (reason: unknown) => {
          clearTimeout(timer);
          resolve(reason);
        },
      );
    });
    throw cause;
  }
}

/** A `maxDataBytes` option, checked. */
function parseQuota(value: unknown): Quota {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return { bytes: value };
  const percent = typeof value === 'string' && /^\d+(\.\d+)?%$/.test(value) ? Number(value.slice(0, -1)) : NaN;
  if (percent > 0 && percent <= 100) return { percent };
  throw new InvalidArgumentError(`options.maxDataBytes must be a byte count (an integer >= 0) or a percentage of the filesystem in (0%, 100%], got ${JSON.stringify(value)}`);
}

/** The flush promise lmdb attaches to a write's promise under `separateFlushed`. */
function flushedOf(written: Promise<boolean>): PromiseLike<unknown> {
  const flushed = (written as Promise<boolean> & { flushed?: PromiseLike<unknown> }).flushed;
  // lmdb sets it on every write promise when `separateFlushed` is on; without it the write is not
  // known to be durable, so fail the write rather than acknowledge it.
  if (flushed === undefined || typeof flushed.then !== 'function') throw new Error('lmdb returned a write promise without `flushed` despite separateFlushed');
  return flushed;
}

function reasonOf(err: unknown): string {
  return err instanceof CorruptRecordError ? err.reason : err instanceof Error ? err.message : String(err);
}

/** `meta` with its floor raised to `floor`, or `undefined` if that is not higher. */
function raisedFloor(meta: StoreMeta, floor: Ballot): StoreMeta | undefined {
  // The floor only rises: a lower one would un-promise what the removed records promised.
  return compareBallots(floor, meta.floor) > 0 ? { floor: { counter: floor.counter, id: floor.id }, ages: meta.ages } : undefined;
}

/** `meta` with each listed proposer's minimum age raised to the given counter, or `undefined` if none rises. */
function raisedAges(meta: StoreMeta, ages: readonly Age[]): StoreMeta | undefined {
  const minimum = new Map(meta.ages.map((a) => [a.id, a.counter]));
  // Paper §3.1 step 3, and never lower a minimum (see `rules.raiseAges`).
  const raised = rules.raiseAges((id) => minimum.get(id) ?? 0, ages);
  if (raised.length === 0) return undefined;
  for (const a of raised) minimum.set(a.id, a.counter);
  return { floor: meta.floor, ages: Array.from(minimum, ([id, counter]) => ({ counter, id })) };
}
