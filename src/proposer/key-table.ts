/**
 * A proposer's per-key state, one `Map` entry per key: the proposals waiting behind the key's
 * running round (`ProposalQueue`) and the key's one-round-trip entry (`OneRoundTripCache`). One
 * lookup per proposal serves both: the round carries its key's slot from start to end.
 *
 * A key's slot stays while the key is idle, so a key proposed to again finds it (deleting and
 * re-inserting a `Map` entry per proposal cost about 100 ns, and churns the table). Bounded: at
 * `capacity` slots, adding one evicts an idle slot first (`#evictOne`), never one whose round is
 * running or has proposals waiting, so the table holds at most `capacity` slots plus the keys with
 * a round running.
 */
import { NO_ANCESTRY } from '../core/ancestry.js';
import { type Ballot, ZERO_BALLOT } from '../core/ballot.js';
import type { State } from '../core/messages.js';
import type { CompactState } from '../acceptor/compact-state.js';

/**
 * Lent copies are kept while the table holds at most this many slots (`KeyTable.reusable`): few
 * enough copies to stay in the CPU's caches.
 */
const LEND_KEYS = 256;

/** One key's slot. `W` is what waits in the queue (`Proposal`). */
export class KeySlot<W = unknown> {
  /**
   * The proposals waiting behind the key's running round (an empty array while none wait), or
   * `undefined` while no round runs: only `ProposalQueue` changes it.
   */
  waiting: W[] | undefined = undefined;
  /**
   * Whether a round of the proposer runs on the key: set when the round starts, cleared when it
   * ends (before the queue hands the key on), exactly as long as the round runs. Not the same as
   * `waiting !== undefined`, which also holds during the queue's hop between two rounds: a
   * collection's fast-forward arriving in that hop applies at once (nothing would run it later).
   * Only the proposer changes it; a slot whose round runs is never evicted (`waiting` is set then).
   */
  running = false;

  // The one-round-trip entry (see `OneRoundTripCache`, the only one that changes these).
  /** Whether the slot holds an entry. */
  live = false;
  /** Whether it ever held one. */
  cached = false;
  /** Cached again since eviction last passed it (see `KeyTable.#evictOne`). */
  used = false;
  next: Ballot | undefined = undefined;
  /**
   * A copy of `kept`, made when an attempt takes the entry: `lent` when it still holds the bytes
   * (see `OneRoundTripCache.take`), else a fresh one.
   */
  state: State = null;
  /**
   * The copy of the key's cached state last handed to a change function (`OneRoundTripCache.take`),
   * reused for the key's next change while it holds the bytes to hand out and no caller got it back
   * as a result (`resolved`). Kept while the proposer has few keys (`KeyTable.reusable`).
   */
  lent: Uint8Array | undefined = undefined;
  /** The state, as kept: immutable. */
  kept: CompactState = null;
  ancestry: readonly Ballot[] = NO_ANCESTRY;
  accepted: Ballot = ZERO_BALLOT;
  doubt = 0;

  constructor(readonly key: string) {}

  /**
   * The callers of a round on the key got `results`: a lent copy among them (a change that
   * returned its input) belongs to its caller now, and is never lent again.
   */
  resolved(results: ReadonlyArray<State | undefined> | undefined): void {
    const lent = this.lent;
    if (lent === undefined || results === undefined) return;
    for (let i = 0; i < results.length; i++) {
      if (results[i] === lent) {
        this.lent = undefined;
        return;
      }
    }
  }
}

export class KeyTable<W = unknown> {
  readonly #slots = new Map<string, KeySlot<W>>();
  #live = 0;

  /** @param capacity the most slots kept for idle keys (and so the most cached keys). */
  constructor(readonly capacity: number) {}

  /** Slots holding a one-round-trip entry. */
  get live(): number {
    return this.#live;
  }

  /** The slot of `key`, if it has one. */
  get(key: string): KeySlot<W> | undefined {
    return this.#slots.get(key);
  }

  /** The slot of `key`, added (and an idle one evicted, at capacity) if it has none. */
  slot(key: string): KeySlot<W> {
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      if (this.#slots.size >= this.capacity) this.#evictOne();
      slot = new KeySlot<W>(key);
      this.#slots.set(key, slot);
    }
    return slot;
  }

  /**
   * The copy to reuse for the next hand-out of the key's state (`KeySlot.lent`), if any; then
   * `lend` the copy handed out. Copies are kept only while the table holds at most `LEND_KEYS`
   * slots: so few copies stay in the CPU's caches, where checking one (three objects and the kept
   * bytes) costs less than a new one; a copy kept for each of thousands of keys would be read from
   * memory, and survive the young generation for nothing (measured: 10,000 keys round-robin, 3-5 %
   * slower with every key keeping one).
   */
  reusable(slot: KeySlot<W>): Uint8Array | undefined {
    if (this.#slots.size > LEND_KEYS && slot.lent !== undefined) slot.lent = undefined;
    return slot.lent;
  }

  /** `state` was handed to the key's change functions: lent again while the table is small (`reusable`). */
  lend(slot: KeySlot<W>, state: State): void {
    slot.lent = state !== null && this.#slots.size <= LEND_KEYS ? state : undefined;
  }

  /** Marks the slot's one-round-trip entry present or absent, keeping the count. */
  setLive(slot: KeySlot<W>, live: boolean): void {
    if (slot.live !== live) this.#live += live ? 1 : -1;
    slot.live = live;
  }

  /** Removes every one-round-trip entry (slots of running rounds stay, with their queues). */
  clearEntries(): void {
    for (const slot of this.#slots.values()) slot.live = false;
    this.#live = 0;
  }

  /**
   * Second chance (CLOCK): the idle slot added or cached longest ago goes, unless its entry was
   * cached again since it last came up (a hot key), in which case it moves to the back and loses
   * that mark. A Map keeps insertion order, so this costs nothing until the table is full, and one
   * move per re-cache at most after that: an LRU's recency without moving the key on every change.
   * Slots of running rounds are skipped: their rounds hold them.
   */
  #evictOne(): void {
    for (const [key, slot] of this.#slots) {
      if (slot.waiting !== undefined) continue;
      if (slot.live && slot.used) {
        slot.used = false;
        this.#slots.delete(key);
        this.#slots.set(key, slot);
        continue;
      }
      if (slot.live) this.#live--;
      this.#slots.delete(key);
      return;
    }
  }
}
