/**
 * Where an acceptor keeps its records. `StoreAcceptor` runs the acceptor rules of
 * `core/acceptor-rules` (the same rules `MemoryAcceptor` runs) over any `AcceptorStore`: memory,
 * an embedded database on disk (`caspaxos/lmdb`), or one of your own.
 *
 * The contract, which `describeAcceptorConformance` (in `caspaxos/testing`) checks:
 *
 * - **Durable before it resolves.** `put`, `remove` and `raiseAges` resolve only once the write
 *   survives a crash of the process (and, for a disk store, of the machine, as far as the engine's
 *   sync mode promises). The acceptor replies only after the write its reply depends on resolved:
 *   an acceptor that promised a ballot and then forgot the promise in a crash could let two
 *   proposers both think they won (paper §2.2: the acceptor "persists the ballot number as a
 *   promise" before it "returns a confirmation").
 * - **Atomic.** Each call is all or nothing; after a crash a key holds either the old record or the
 *   new one, never a mix. A store need not serialize calls on one key: `StoreAcceptor` runs at
 *   most one operation per key at a time (and one `raiseAges` at a time).
 * - **Owned copies.** A store keeps no reference to a record or state it was given, and gives out
 *   records nobody else holds: callers may reuse or mutate their buffers.
 * - **Its own order.** `scan` pages through keys in an order the store chooses, stable while no
 *   key is added or removed, resuming strictly after the key it is given.
 * - **Failures are answers.** A write that fails rejects (never throws past its promise, never
 *   crashes the process) and leaves nothing behind: the data is exactly what it was. Reject with
 *   `StorageFullError` / `StorageFailedError`, or with the underlying error: `StoreAcceptor` turns
 *   an error whose `code` says no room (`ENOSPC`, `EDQUOT`, `EFBIG`, `MDB_MAP_FULL`) into
 *   `StorageFullError` (HTTP 507) and any other into `StorageFailedError` (503). A store with a
 *   limit of its own (a quota below the disk) reports it through `capacity`.
 */
import type { Age } from '../core/age.js';
import type { Ballot } from '../core/ballot.js';
import type { KeyRecord } from '../core/acceptor-rules.js';
import type { StoreCapacity } from './storage.js';

/**
 * What a store keeps for one key: the acceptor rules' `KeyRecord`, with the state as bytes.
 * @deprecated Use `KeyRecord`: one name for the per-key record everywhere.
 */
export type StoreRecord = KeyRecord;

/** The acceptor-wide facts a store keeps besides records; loaded once when an acceptor opens. */
export interface StoreMeta {
  /** The highest promise of any record removed by garbage collection (`ZERO_BALLOT` if none). */
  readonly floor: Ballot;
  /** The minimum age recorded per proposer id (absent ids: 0). */
  readonly ages: readonly Age[];
}

/**
 * One write of `AcceptorStore.writeMany`: what `put(key, record)`, `remove(key, floor)` or
 * `raiseAges(ages)` would write.
 */
export type StoreWrite =
  | {
      /** `put`: replace the record of `key`. */
      readonly kind: 'put';
      /** The key whose record is replaced. */
      readonly key: string;
      /** The new record. */
      readonly record: KeyRecord;
    }
  | {
      /** `remove`: delete the record of `key` and raise the floor to `floor` if that is higher. */
      readonly kind: 'remove';
      /** The key whose record is deleted. */
      readonly key: string;
      /** The floor to raise to (never lowered). */
      readonly floor: Ballot;
    }
  | {
      /** `raiseAges`: raise each listed proposer's minimum age (never lowered). */
      readonly kind: 'raiseAges';
      /** Proposer ids and the minimum age each must now have. */
      readonly ages: readonly Age[];
    };

/** One page of `scan`. */
export interface ScanOptions {
  /** Resume strictly after this key (as returned in an earlier page); from the start when absent. */
  readonly after?: string | undefined;
  /** The most entries to return (at least 1). */
  readonly limit: number;
}

/**
 * Where a `StoreAcceptor` keeps its records: durable before each write resolves, atomic per call,
 * owning its copies (the contract above, checked by `describeAcceptorConformance`). Implement it to
 * put acceptors on a database of your own; `MemoryStore` and `LmdbStore` (`caspaxos/lmdb`) are two.
 */
export interface AcceptorStore {
  /** The floor and the age table, as last written. */
  loadMeta(): Promise<StoreMeta>;
  /** The record of `key`, or `undefined` if there is none. */
  get(key: string): Promise<KeyRecord | undefined>;
  /** Replaces the record of `key`; durable before it resolves. */
  put(key: string, record: KeyRecord): Promise<void>;
  /**
   * Optional: replaces the records of several keys (each at most once) in one durable write (one
   * transaction, one sync), atomic as a whole or at least per record; durable before it resolves,
   * and if it rejects, each record holds its old value or its new one. `StoreAcceptor` gathers
   * the writes of one event-loop turn into one call (group commit); without it, it calls `put`
   * per record.
   */
  putMany?(entries: ReadonlyArray<readonly [string, KeyRecord]>): Promise<void>;
  /**
   * Optional: applies several writes (`put`, `remove`, `raiseAges`, each as its own method would)
   * in one durable write (one transaction, one sync), atomic as a whole; durable before it
   * resolves, and if it rejects, nothing of it was written. A key appears at most once among the
   * writes. `StoreAcceptor` gathers every write of one event-loop turn into one call (group
   * commit: the garbage collector's removals and age raises share the sync of the turn's promises
   * and accepts); without it, it uses `putMany` for the records and the single methods for the rest.
   */
  writeMany?(writes: readonly StoreWrite[]): Promise<void>;
  /**
   * Deletes the record of `key` and raises the floor to `floor` if that is higher (never lowers
   * it), in one atomic write; durable before it resolves.
   */
  remove(key: string, floor: Ballot): Promise<void>;
  /** Raises each listed proposer's minimum age to the given counter (never lowers one); durable. */
  raiseAges(ages: readonly Age[]): Promise<void>;
  /**
   * Optional: the store's room. While it reports `full`, `StoreAcceptor` refuses every write that
   * would grow the data (a longer state than the key held, a value for a new key included) with
   * `StorageFullError`, before trying it, and lets through the writes that do not (promises,
   * tombstones, removals: reads work, and space can be freed through the API). Called before
   * such writes and by readiness checks: keep it cheap (measure at most every so often).
   */
  capacity?(): StoreCapacity;
  /** Up to `limit` entries after `after`, in the store's order; fewer (or none) at the end. */
  scan(opts: ScanOptions): Promise<ReadonlyArray<readonly [string, KeyRecord]>>;
  /** Releases what the store holds open. Calls after `close` reject. */
  close(): Promise<void>;
}
