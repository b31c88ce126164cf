/**
 * An `AcceptorStore` in this process's memory. It outlives the acceptors opened over it, so a test
 * can "crash" an acceptor (drop it without closing) and open a new `StoreAcceptor` over the same
 * store, as a restarted process would over its data directory. Not durable across processes.
 *
 * Pure module: no I/O, safe in browsers and notebooks.
 */
import type { Age } from '../core/age.js';
import { type Ballot, ZERO_BALLOT, maxBallot } from '../core/ballot.js';
import { copyState } from '../core/state.js';
import { UnavailableError } from '../errors.js';
import type { AcceptorStore, ScanOptions, StoreMeta } from './acceptor-store.js';
import type { KeyRecord } from '../core/acceptor-rules.js';

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
    this.#records.set(key, copyRecord(record));
  }

  async remove(key: string, floor: Ballot): Promise<void> {
    this.#checkOpen();
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
