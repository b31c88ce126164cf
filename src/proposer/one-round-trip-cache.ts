/**
 * The one-round-trip cache (paper §2.2.1): per key, the ballot a quorum of accepters promised
 * when they accepted this proposer's last change, and the state they accepted. The next change to
 * the key can be accepted under that ballot without a prepare phase.
 *
 * The rules are strict, because a lax cache loses acknowledged writes (gryadka's did): an entry is
 * put only after a full accept quorum acknowledged the state AND promised the ballot; an attempt
 * takes (removes) the entry when it starts, whether or not it uses it, so a failure leaves the key
 * uncached; the cached ballot came from the proposer's generator, so no later attempt reuses it;
 * garbage collection of the key, any membership change and a restart (a new proposer) clear it.
 * Bounded: when full, the key cached longest ago goes first, unless it was cached again since
 * (`KeyTable`, whose slots the entries live in, next to the key's queue of proposals).
 *
 * A key other proposers write is doubted (`DOUBT_AFTER_MISS`): its entry then holds no promise,
 * only the ballot this proposer last committed, so that its prepares can tell when promises would
 * hold again. What to put, and when to skip a prepare, `core/attempt` decides; this is the store.
 */
import type { CachedRound } from '../core/attempt.js';
import { type CompactState, fromCompactStateReusing, toCompactState } from '../acceptor/compact-state.js';
import { type KeySlot, KeyTable } from './key-table.js';

/**
 * A taken entry: the key's slot itself, `state` a copy of the state kept for the key, `kept` the
 * kept form.
 */
export interface TakenRound extends CachedRound {
  /** The state, as kept: immutable, the source of a cheap copy of the same bytes (see `put`). */
  readonly kept: CompactState;
}

/** A key, or its slot (what a round holds: no lookup). */
type KeyOrSlot = string | KeySlot;

export class OneRoundTripCache {
  readonly #table: KeyTable;

  /**
   * @param capacity the most keys cached, or the table of slots to keep the entries in (shared
   *   with the proposer's `ProposalQueue`; its capacity bounds the cache).
   */
  constructor(capacity: number | KeyTable) {
    this.#table = typeof capacity === 'number' ? new KeyTable(capacity) : capacity;
  }

  /** The most keys cached. */
  get capacity(): number {
    return this.#table.capacity;
  }

  /** Keys with an entry (a promise, or a doubt). */
  get size(): number {
    return this.#table.live;
  }

  /**
   * Removes and returns the entry for `key`. The returned object is the key's slot itself,
   * refilled by the next `put` for the key: read it before then (the proposer reads it at once, and
   * only the round running on the key puts it again).
   */
  take(key: KeyOrSlot): TakenRound | undefined {
    const slot = this.#slot(key);
    if (slot === undefined || !slot.live) return undefined;
    this.#table.setLive(slot, false);
    // The copy goes to the change functions, which must neither modify nor keep it (`ChangeFunc`).
    // Reused from the key's last hand-out (while the proposer has few keys, `KeyTable.reusable`)
    // while its bytes are the kept ones, checked here, right before it is handed out: no change
    // function ever sees other bytes than the kept state's, even after one broke its contract and
    // wrote into its copy (that copy is then replaced). Only the bytes a caller gets back as its
    // result are its own to change: `KeySlot.resolved` retires a lent copy that became one, so no
    // two callers ever share a result through it.
    const state = fromCompactStateReusing(slot.kept, this.#table.reusable(slot));
    this.#table.lend(slot, state);
    slot.state = state;
    return slot;
  }

  /**
   * Caches `entry` for `key`. The cache keeps its own copy of the state, in compact form (like a
   * `MemoryAcceptor`, a fraction of a `Uint8Array`'s size): `kept` when given, the kept form of
   * exactly `entry.state` (the one the acceptors of the accept store), else a copy, which shares
   * the key's last kept state when the bytes are the same.
   */
  put(key: KeyOrSlot, entry: CachedRound, kept?: CompactState): void {
    const slot = typeof key === 'string' ? this.#table.slot(key) : key;
    // Cached again: a hot key, which eviction passes over once (see `KeyTable`).
    if (slot.cached) slot.used = true;
    slot.cached = true;
    slot.kept = kept !== undefined ? kept : toCompactState(entry.state, slot.kept);
    slot.state = null;
    slot.next = entry.next;
    slot.ancestry = entry.ancestry;
    slot.accepted = entry.accepted;
    slot.doubt = entry.doubt;
    this.#table.setLive(slot, true);
  }

  forget(key: KeyOrSlot): void {
    const slot = this.#slot(key);
    if (slot !== undefined) this.#table.setLive(slot, false);
  }

  clear(): void {
    this.#table.clearEntries();
  }

  #slot(key: KeyOrSlot): KeySlot | undefined {
    return typeof key === 'string' ? this.#table.get(key) : key;
  }
}
