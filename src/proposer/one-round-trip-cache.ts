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
 * (`#evictOne`).
 *
 * A key other proposers write is doubted (`DOUBT_AFTER_MISS`): its entry then holds no promise,
 * only the ballot this proposer last committed, so that its prepares can tell when promises would
 * hold again. What to put, and when to skip a prepare, `core/attempt` decides; this is the store.
 */
import type { CachedRound } from '../core/attempt.js';
import type { Ballot } from '../core/ballot.js';
import type { State } from '../core/messages.js';

/** A slot of the cache; its content is replaced in place (no allocation per change). */
interface Slot {
  live: boolean;
  /** Cached again since eviction last passed it (see `#evictOne`). */
  used: boolean;
  next: Ballot | undefined;
  state: State;
  ancestry: readonly Ballot[];
  accepted: Ballot;
  doubt: number;
}

export class OneRoundTripCache {
  readonly #slots = new Map<string, Slot>();
  #live = 0;

  constructor(readonly capacity: number) {}

  /** Keys with an entry (a promise, or a doubt). */
  get size(): number {
    return this.#live;
  }

  /**
   * Removes and returns the entry for `key`. The returned object is the slot itself, refilled by
   * the next `put` for the key: read it before then (the proposer reads it at once, and only the
   * round running on the key puts it again).
   */
  take(key: string): CachedRound | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined || !slot.live) return undefined;
    slot.live = false;
    this.#live--;
    return slot;
  }

  put(key: string, entry: CachedRound): void {
    const slot = this.#slots.get(key);
    if (slot !== undefined) {
      if (!slot.live) this.#live++;
      slot.live = true;
      slot.used = true;
      slot.next = entry.next;
      slot.state = entry.state;
      slot.ancestry = entry.ancestry;
      slot.accepted = entry.accepted;
      slot.doubt = entry.doubt;
      return;
    }
    if (this.#slots.size >= this.capacity) this.#evictOne();
    this.#slots.set(key, {
      live: true,
      used: false,
      next: entry.next,
      state: entry.state,
      ancestry: entry.ancestry,
      accepted: entry.accepted,
      doubt: entry.doubt,
    });
    this.#live++;
  }

  /**
   * Second chance (CLOCK): the slot cached longest ago goes, unless it was cached again since it
   * last came up (a hot key), in which case it moves to the back and loses that mark. A Map keeps
   * insertion order, so this costs nothing until the cache is full, and one move per re-cache at
   * most after that: an LRU's recency without moving the key on every change.
   */
  #evictOne(): void {
    for (const [key, slot] of this.#slots) {
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

  forget(key: string): void {
    const slot = this.#slots.get(key);
    if (slot?.live === true) {
      slot.live = false;
      this.#live--;
    }
  }

  clear(): void {
    this.#slots.clear();
    this.#live = 0;
  }
}
