/**
 * An `AcceptorStore` in this process's memory. It outlives the acceptors opened over it, so a test
 * can "crash" an acceptor (drop it without closing) and open a new `StoreAcceptor` over the same
 * store, as a restarted process would over its data directory. Not durable across processes.
 */
import type { Age } from '../core/age.js';
import { type Ballot, ZERO_BALLOT, maxBallot } from '../core/ballot.js';
import { copyState } from '../core/state.js';
import { InvalidArgumentError, StorageFullError, UnavailableError } from '../errors.js';
import type { AcceptorStore, ScanOptions, StoreMeta } from './acceptor-store.js';
import type { KeyRecord } from '../core/acceptor-rules.js';
import { type StoreCapacity, growsData } from './storage.js';

/**
 * Limits of a `MemoryStore`, as a disk's size limits a store on disk: past them writes are
 * refused with `StorageFullError`, and the store reports itself full (`capacity`).
 */
export interface MemoryStoreLimits {
  /**
   * The most keys it holds: a write that would add one more (a promise or a tombstone included) is
   * refused.
   * @default unlimited
   */
  readonly maxKeys?: number | undefined;
  /**
   * The most bytes of state it holds, summed over its keys (keys and ballots are not counted): a
   * write that stores a longer state past it is refused; shorter states and tombstones are not.
   * @default unlimited
   */
  readonly maxBytes?: number | undefined;
}

/**
 * An `AcceptorStore` in this process's memory, not durable across processes. It outlives the
 * acceptors opened over it, so a test can "crash" an acceptor (drop it without closing) and open a
 * new `StoreAcceptor` over the same store, as a restarted process would over its data directory.
 * @example
 * ```ts
 * const store = new MemoryStore();
 * const before = await StoreAcceptor.open('a1', store);
 * // ... drop `before` without closing it: a crash ...
 * const after = await StoreAcceptor.open('a1', store); // every acknowledged write is still there
 * ```
 */
export class MemoryStore implements AcceptorStore {
  #records = new Map<string, KeyRecord>();
  #floor: Ballot = ZERO_BALLOT;
  #ages = new Map<string, number>();
  #closed = false;
  #limits: MemoryStoreLimits = {};
  /** Bytes of state held, summed over the records. */
  #bytes = 0;

  /** @param limits see `MemoryStoreLimits` (none by default). */
  constructor(limits: MemoryStoreLimits = {}) {
    this.setLimits(limits);
  }

  /** Changes the limits (a test's way to fill the store, or to give it room again). */
  setLimits(limits: MemoryStoreLimits): void {
    for (const name of ['maxKeys', 'maxBytes'] as const) {
      const value = limits[name];
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) throw new InvalidArgumentError(`${name} must be an integer >= 0, got ${String(value)}`);
    }
    this.#limits = { maxKeys: limits.maxKeys, maxBytes: limits.maxBytes };
  }

  /** The store's room under its limits (see `AcceptorStore.capacity`). */
  capacity(): StoreCapacity {
    const { maxKeys, maxBytes } = this.#limits;
    const reason =
      maxKeys !== undefined && this.#records.size >= maxKeys
        ? `${this.#records.size} keys, the limit is ${maxKeys}`
        : maxBytes !== undefined && this.#bytes >= maxBytes
          ? `${this.#bytes} bytes of state, the limit is ${maxBytes}`
          : undefined;
    return { full: reason !== undefined, reason, usedBytes: this.#bytes, quotaBytes: maxBytes };
  }

  async loadMeta(): Promise<StoreMeta> {
    this.#checkOpen();
    return { floor: this.#floor, ages: Array.from(this.#ages, ([id, counter]) => ({ counter, id })) };
  }

  async get(key: string): Promise<KeyRecord | undefined> {
    this.#checkOpen();
    const record = this.#records.get(key);
    return record === undefined ? undefined : copyRecord(record);
  }

  async put(key: string, record: KeyRecord): Promise<void> {
    this.#checkOpen();
    const previous = this.#records.get(key);
    const bytes = this.#bytes - stateBytes(previous) + stateBytes(record);
    const { maxKeys, maxBytes } = this.#limits;
    if (previous === undefined && maxKeys !== undefined && this.#records.size >= maxKeys) throw new StorageFullError(`memory store full: ${this.#records.size} keys, the limit is ${maxKeys}`);
    if (growsData(previous, record) && maxBytes !== undefined && bytes > maxBytes) {
      throw new StorageFullError(`memory store full: the write would hold ${bytes} bytes of state, the limit is ${maxBytes}`);
    }
    this.#records.set(key, copyRecord(record));
    this.#bytes = bytes;
  }

  async remove(key: string, floor: Ballot): Promise<void> {
    this.#checkOpen();
    this.#bytes -= stateBytes(this.#records.get(key));
    this.#records.delete(key);
    this.#floor = maxBallot(this.#floor, floor);
  }

  async raiseAges(ages: readonly Age[]): Promise<void> {
    this.#checkOpen();
    for (const { id, counter } of ages) if (counter > (this.#ages.get(id) ?? 0)) this.#ages.set(id, counter);
  }

  async scan({ after, limit }: ScanOptions): Promise<ReadonlyArray<readonly [string, KeyRecord]>> {
    this.#checkOpen();
    // Sorted each time: a test store, kept simple; order by UTF-16 code units.
    const keys = [...this.#records.keys()].filter((k) => after === undefined || k > after).sort();
    return keys.slice(0, limit).map((k) => [k, copyRecord(this.#records.get(k) as KeyRecord)] as const);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  /** Number of records (for tests). */
  get size(): number {
    return this.#records.size;
  }

  #checkOpen(): void {
    if (this.#closed) throw new UnavailableError('the store is closed');
  }
}

function stateBytes(record: KeyRecord | undefined): number {
  return record?.state?.byteLength ?? 0;
}

function copyRecord(r: KeyRecord): KeyRecord {
  return {
    promise: copyBallot(r.promise),
    accepted: copyBallot(r.accepted),
    state: copyState(r.state),
    ancestry: r.ancestry === undefined ? undefined : Object.freeze(r.ancestry.map(copyBallot)),
  };
}

function copyBallot(b: Ballot): Ballot {
  return { counter: b.counter, id: b.id };
}
