/**
 * Storage trouble as an acceptor answers it: a full or failing store refuses the request with a
 * typed error, and the acceptor keeps running, says why (its `StorageStatus`), and takes writes
 * again by itself once there is room.
 *
 * - `storageError` turns whatever a store's write rejected with into `StorageFullError` (no room:
 *   ENOSPC, EDQUOT, EFBIG, LMDB's MDB_MAP_FULL) or `StorageFailedError` (anything else: EROFS,
 *   EIO, ...). A failed write leaves no trace (the store contract: a write is all or nothing), so
 *   the refusal is exact: the request was not applied.
 * - `StorageMonitor` keeps the acceptor's storage state (`writable`, `full`, `failed`) from the
 *   outcomes of its writes and the store's `capacity()`, refuses writes that would grow the data
 *   while the store reports itself full (a quota below the disk, as etcd's
 *   `--quota-backend-bytes`), and logs each change of state once, not once per request.
 *
 * The store does the I/O; the clock (`Date.now`) only stamps the `since` of a state.
 */
import { CASPaxosError, StorageFailedError, StorageFullError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { KeyRecord } from '../core/acceptor-rules.js';

/** What a store reports of its room (`AcceptorStore.capacity`). */
export interface StoreCapacity {
  /**
   * True while the store takes no write that grows its data: one that stores a longer state than
   * the key held (a value for a new key included). The others still go through: promises, equal or
   * shorter states, tombstones, removals, raised ages. So space can always be freed through the API,
   * and reads work (a read, or a delete, of a key that does not exist leaves a promise or a
   * tombstone there: a record of a few dozen bytes).
   */
  readonly full: boolean;
  /** Why it is full, for humans: which limit, at what figure. */
  readonly reason?: string | undefined;
  /** What the store's data takes, in bytes, as the store measures it. */
  readonly usedBytes?: number | undefined;
  /** The byte figure past which the store refuses growth, when it has one. */
  readonly quotaBytes?: number | undefined;
  /** Bytes still free where the data lives (the filesystem, the server's memory), when known. */
  readonly availableBytes?: number | undefined;
}

/** `writable`: writes go through. `full`: writes that grow the data are refused (507). `failed`: the last write failed otherwise (503). */
export type StorageState = 'writable' | 'full' | 'failed';

/**
 * An acceptor's storage as it stands: what `/v1/ready` reports, and the figures metrics can show
 * (`StoreAcceptor.storageStatus()`).
 */
export interface StorageStatus {
  /** See `StorageState`. */
  readonly state: StorageState;
  /** The code requests are refused with while not writable. */
  readonly code?: 'ERR_STORAGE_FULL' | 'ERR_STORAGE_FAILED' | undefined;
  /** Why it is not writable, for humans. */
  readonly reason?: string | undefined;
  /** When the current state began (milliseconds since the epoch). */
  readonly since: number;
  /** The store's `StoreCapacity` figures, when it reports them. */
  readonly usedBytes?: number | undefined;
  /** See `StoreCapacity.quotaBytes`. */
  readonly quotaBytes?: number | undefined;
  /** See `StoreCapacity.availableBytes`. */
  readonly availableBytes?: number | undefined;
}

/** Error codes (Node's names; stores map numeric errnos to these) that mean "no room". */
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'MDB_MAP_FULL']);

/**
 * Free space must grow by this much past what was free when a write failed for want of room
 * before the monitor believes room is back without a write having succeeded (so a few bytes freed
 * by chance do not flap the state).
 */
const ROOM_MARGIN_BYTES = 64 * 1024;

/** The `code` of `error` or of an error in its cause chain: `ENOSPC`, `EROFS`, ... */
export function errorCodeOf(error: unknown): string | undefined {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
  }
  return undefined;
}

/**
 * The error a request gets when a store's write rejected with `error`: the package's own errors
 * as they are (a malformed key, a closed store, a storage error a store raised itself); a code
 * that means no room as `StorageFullError`; anything else as `StorageFailedError`.
 */
export function storageError(error: unknown, address: string): CASPaxosError {
  // A store's own storage error does not know which acceptor it serves: name it.
  if ((error instanceof StorageFullError || error instanceof StorageFailedError) && error.acceptors.length === 0) {
    const options = { cause: error, acceptors: [address] };
    const text = `acceptor ${address}: ${error.message}`;
    return error instanceof StorageFullError ? new StorageFullError(text, options) : new StorageFailedError(text, { ...options, untrusted: error.untrusted });
  }
  if (error instanceof CASPaxosError) return error;
  const code = errorCodeOf(error);
  const text = `acceptor ${address}: the write failed: ${describe(error)}${code !== undefined && !describe(error).includes(code) ? ` (${code})` : ''}`;
  return code !== undefined && FULL_CODES.has(code)
    ? new StorageFullError(text, { cause: error, acceptors: [address] })
    : new StorageFailedError(text, { cause: error, acceptors: [address] });
}

/**
 * The error a request gets when a store's read of committed data rejected with `error`: the
 * package's own errors as they are, except a damaged record (`CorruptRecordError`, matched by
 * name so this module need not load the LMDB one), which like any other read failure means the
 * store can no longer be trusted: `StorageFailedError` with `untrusted`.
 */
export function readError(error: unknown, address: string): CASPaxosError {
  if (error instanceof CASPaxosError && !(error instanceof Error && error.name === 'CorruptRecordError')) return error;
  return new StorageFailedError(`acceptor ${address}: reading committed data failed: ${describe(error)}`, { cause: error, acceptors: [address], untrusted: true });
}

/**
 * True when writing `next` over `previous` (absent: a new key) grows the data: it stores a longer
 * state than the key held, a value for a new key included. A promise or a tombstone, even on a new
 * key, does not count: reads and deletes must work on a full store (see `StoreCapacity.full`).
 */
export function growsData(previous: KeyRecord | undefined, next: KeyRecord): boolean {
  return (next.state?.byteLength ?? 0) > (previous?.state?.byteLength ?? 0);
}

/** A write failure the monitor remembers until room comes back or a write succeeds. */
interface Failure {
  readonly error: StorageFullError | StorageFailedError;
  /** Free bytes when it failed (a full failure clears once clearly more are free). */
  readonly available: number | undefined;
  /** Whether the store reported itself full then (a full failure clears once it no longer does). */
  readonly reportedFull: boolean;
}

/**
 * An acceptor's storage state, kept from the outcomes of its writes and the store's capacity.
 * Each change of state is logged once: `warn` on becoming full, `error` on failing, `info` on
 * becoming writable again.
 */
export class StorageMonitor {
  readonly #address: string;
  readonly #capacity: (() => StoreCapacity) | undefined;
  readonly #logger: Logger | undefined;
  #failure: Failure | undefined;
  #state: StorageState = 'writable';
  #since = Date.now();

  /**
   * @param capacity the store's `capacity` (bound), when it has one.
   * @param logger receives one record per change of state.
   */
  constructor(address: string, capacity: (() => StoreCapacity) | undefined, logger: Logger | undefined) {
    this.#address = address;
    this.#capacity = capacity;
    this.#logger = logger;
  }

  /**
   * Throws `StorageFullError` when the store reports itself full: called before a write that grows
   * the data (`growsData`), which is then never attempted.
   */
  admitGrowth(): void {
    const capacity = this.#capacity?.();
    if (capacity?.full !== true) return;
    const error = new StorageFullError(`acceptor ${this.#address}: storage full, refusing writes that grow the data: ${capacity.reason ?? 'the store is at its limit'}`, {
      acceptors: [this.#address],
    });
    this.#update(capacity);
    throw error;
  }

  /**
   * Records that a write was durable. It ends a failure; a failure for want of room only if the
   * write grew the data (`grew`): a promise rewritten in place proves nothing about room for a new
   * key, and forgetting the failure on it would flap the state (and the log) with every request.
   */
  succeeded(grew: boolean): void {
    const failure = this.#failure;
    if (failure === undefined || (failure.error instanceof StorageFullError && !grew)) return;
    this.#failure = undefined;
    this.#update(this.#capacity?.());
  }

  /** Records a failed write; returns the error its requests are refused with (see `storageError`). */
  failed(error: unknown): CASPaxosError {
    const refusal = storageError(error, this.#address);
    if (refusal instanceof StorageFullError || refusal instanceof StorageFailedError) {
      const capacity = this.#capacity?.();
      this.#failure = { error: refusal, available: capacity?.availableBytes, reportedFull: capacity?.full === true };
      this.#update(capacity);
    }
    return refusal;
  }

  /** Whether the last known state is `writable` (no call to the store; `status` refreshes it). */
  get writable(): boolean {
    return this.#state === 'writable';
  }

  /** The state now, with the store's figures (asks the store's `capacity`, which stores keep cheap). */
  status(): StorageStatus {
    const capacity = this.#capacity?.();
    this.#update(capacity);
    const failure = this.#failure;
    const figures = { usedBytes: capacity?.usedBytes, quotaBytes: capacity?.quotaBytes, availableBytes: capacity?.availableBytes };
    if (this.#state === 'writable') return { state: 'writable', since: this.#since, ...figures };
    const code = this.#state === 'full' ? 'ERR_STORAGE_FULL' : 'ERR_STORAGE_FAILED';
    const reason = failure !== undefined ? failure.error.message : (capacity?.reason ?? 'the store is at its limit');
    return { state: this.#state, code, reason, since: this.#since, ...figures };
  }

  /** Recomputes the state from the remembered failure and `capacity`; logs a change. */
  #update(capacity: StoreCapacity | undefined): void {
    const failure = this.#failure;
    // Room came back without a write (the disk grew, space was freed): forget the failure once the
    // store, full by its own measure when it failed, is no longer, or once clearly more is free
    // than then. Otherwise only a write that grows the data and succeeds shows room (`succeeded`).
    if (failure?.error instanceof StorageFullError && capacity !== undefined && !capacity.full) {
      const before = failure.available;
      const after = capacity.availableBytes;
      if (failure.reportedFull || (before !== undefined && after !== undefined && after >= before + ROOM_MARGIN_BYTES)) this.#failure = undefined;
    }
    const next: StorageState =
      this.#failure !== undefined ? (this.#failure.error instanceof StorageFullError ? 'full' : 'failed') : capacity?.full === true ? 'full' : 'writable';
    if (next === this.#state) return;
    const previous = this.#state;
    this.#state = next;
    this.#since = Date.now();
    const logger = this.#logger;
    if (logger === undefined) return;
    const base = { acceptor: this.#address, from: previous, usedBytes: capacity?.usedBytes, quotaBytes: capacity?.quotaBytes, availableBytes: capacity?.availableBytes };
    if (next === 'writable') logger.info(base, 'storage writable again: taking every write');
    else if (next === 'full') {
      logger.warn({ ...base, reason: this.#failure?.error.message ?? capacity?.reason }, 'storage full: refusing writes that grow the data (507 ERR_STORAGE_FULL) until there is room');
    } else logger.error({ ...base, err: this.#failure?.error.cause, reason: this.#failure?.error.message }, 'storage failed: writes fail (503 ERR_STORAGE_FAILED); each one tries the store again');
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
