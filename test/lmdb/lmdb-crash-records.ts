/**
 * The records the crash child writes (lmdb-crash-child.ts) and the parent checks: a pure function
 * of the write's index, so the parent knows exactly what each acknowledged write stored. They vary
 * every field the codec distinguishes: null and empty states, unknown and empty ancestries,
 * non-ASCII ids and keys.
 */
import type { Ballot } from '../../src/core/ballot.js';
import type { KeyRecord } from '../../src/core/acceptor-rules.js';

export function crashKey(i: number): string {
  return i % 5 === 0 ? `ключ-${i}` : `k${i}`;
}

export function crashRecord(i: number): KeyRecord {
  const id = i % 3 === 0 ? 'p1' : 'プ';
  const state = i % 7 === 0 ? null : i % 7 === 1 ? new Uint8Array(0) : Uint8Array.from({ length: (i % 50) + 1 }, (_, j) => (i + j) & 0xff);
  const ancestry: readonly Ballot[] | undefined = i % 4 === 0 ? undefined : i % 4 === 1 ? [] : [{ counter: i, id: 'q' }];
  return { promise: { counter: i + 2, id }, accepted: { counter: i + 1, id }, state, ancestry };
}
