/**
 * A fixed-size set of small integers, one bit each, with a 64-bit Zobrist fingerprint kept up to
 * date as bits are set and cleared (so hashing a set costs nothing per search step).
 *
 * Used by the linearizability search to remember which operations are linearized.
 */

/** Deterministic 32-bit generator (mulberry32): the fingerprints must not depend on `Math.random`. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

export class Bitset {
  readonly size: number;
  readonly words: Uint32Array;
  /** Low and high 32 bits of the fingerprint: the XOR of the random tags of the members. */
  hashLow = 0;
  hashHigh = 0;
  readonly #tagsLow: Uint32Array;
  readonly #tagsHigh: Uint32Array;

  constructor(size: number, seed = 0x5eed) {
    this.size = size;
    this.words = new Uint32Array(Math.max(1, Math.ceil(size / 32)));
    this.#tagsLow = new Uint32Array(size);
    this.#tagsHigh = new Uint32Array(size);
    const random = mulberry32(seed);
    for (let i = 0; i < size; i++) {
      this.#tagsLow[i] = random();
      this.#tagsHigh[i] = random();
    }
  }

  has(i: number): boolean {
    return ((this.words[i >>> 5] as number) & (1 << (i & 31))) !== 0;
  }

  /** Adds `i` (which must not be a member). */
  add(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] as number) | (1 << (i & 31));
    this.hashLow = (this.hashLow ^ (this.#tagsLow[i] as number)) >>> 0;
    this.hashHigh = (this.hashHigh ^ (this.#tagsHigh[i] as number)) >>> 0;
  }

  /** Removes `i` (which must be a member). */
  delete(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] as number) & ~(1 << (i & 31));
    this.hashLow = (this.hashLow ^ (this.#tagsLow[i] as number)) >>> 0;
    this.hashHigh = (this.hashHigh ^ (this.#tagsHigh[i] as number)) >>> 0;
  }

  /** A copy of the member words (for storing in a cache). */
  snapshot(): Uint32Array {
    return this.words.slice();
  }

  /** Whether every member of a `snapshot()` is a member. */
  includes(words: Uint32Array): boolean {
    const own = this.words;
    for (let i = 0; i < own.length; i++) if (((words[i] as number) & ~(own[i] as number)) !== 0) return false;
    return true;
  }

  /** Whether the members equal those of a `snapshot()`. */
  equals(words: Uint32Array): boolean {
    const own = this.words;
    for (let i = 0; i < own.length; i++) if (own[i] !== words[i]) return false;
    return true;
  }
}
