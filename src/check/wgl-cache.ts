/**
 * Lowe's cache for the WGL search (`wgl-search.ts`), with subsumption: every configuration reached,
 * as (completed operations placed, state, unknown operations placed), bucketed by a hash of the
 * first two. A configuration is skipped when the cache holds one with the same completed set and
 * state whose unknown set is a subset of its own: an unknown operation constrains nobody (it has
 * no return), so having placed more of them only removes options, and that configuration was, or
 * is being, explored with more options. (This subsumes Lowe's exact match, and the case of an
 * unknown operation overwritten later.)
 */
import { Bitset } from './bitset.js';

interface CacheEntry {
  /** The high half of the completed set's fingerprint (the low half is in the bucket's hash). */
  readonly high: number;
  readonly stateId: number;
  readonly completed: Uint32Array;
  readonly unknown: Uint32Array;
}

const NO_WORDS = new Uint32Array(1);

/** The operations placed so far (the configuration), and every configuration reached before. */
export class ConfigurationCache {
  readonly #unknown: Uint8Array;
  /** Each operation's index among the completed, or among the unknown operations. */
  readonly #slot: Int32Array;
  readonly #unknownCount: number;
  readonly #completedSet: Bitset;
  readonly #unknownSet: Bitset;
  /** Each state's key, numbered in order of first sight. */
  readonly #stateIds = new Map<string, number>();
  readonly #buckets = new Map<number, CacheEntry[]>();

  /** `unknown` is 1 where an operation's outcome is unknown (see `KeyOperations`). */
  constructor(unknown: Uint8Array) {
    const n = unknown.length;
    this.#unknown = unknown;
    this.#slot = new Int32Array(n);
    let unknownCount = 0;
    for (let i = 0; i < n; i++) this.#slot[i] = unknown[i] === 1 ? unknownCount++ : i - unknownCount;
    this.#unknownCount = unknownCount;
    this.#completedSet = new Bitset(n - unknownCount);
    this.#unknownSet = new Bitset(unknownCount);
  }

  /** Adds operation `i` to the configuration. */
  place(i: number): void {
    (this.#unknown[i] === 1 ? this.#unknownSet : this.#completedSet).add(this.#slot[i] as number);
  }

  /** Removes operation `i` from the configuration. */
  unplace(i: number): void {
    (this.#unknown[i] === 1 ? this.#unknownSet : this.#completedSet).delete(this.#slot[i] as number);
  }

  /**
   * Adds the configuration, in the state whose key is `stateKey`, to the cache; false if one there
   * subsumes it (it need not be explored).
   */
  remember(stateKey: string): boolean {
    const stateId = this.#intern(stateKey);
    const completedSet = this.#completedSet;
    const hash = (completedSet.hashLow ^ Math.imul(stateId + 1, 0x9e3779b1)) & 0x3fffffff;
    const high = completedSet.hashHigh;
    const bucket = this.#buckets.get(hash);
    if (bucket !== undefined) {
      for (const other of bucket) {
        if (other.high === high && other.stateId === stateId && completedSet.equals(other.completed) && this.#unknownSet.includes(other.unknown)) {
          return false;
        }
      }
    }
    const unknown = this.#unknownCount === 0 ? NO_WORDS : this.#unknownSet.snapshot();
    const entry: CacheEntry = { high, stateId, completed: completedSet.snapshot(), unknown };
    if (bucket === undefined) this.#buckets.set(hash, [entry]);
    else bucket.push(entry);
    return true;
  }

  #intern(stateKey: string): number {
    let id = this.#stateIds.get(stateKey);
    if (id === undefined) {
      id = this.#stateIds.size;
      this.#stateIds.set(stateKey, id);
    }
    return id;
  }
}
