import { describe, expect, test } from 'vitest';
import { MemoryAcceptor, MemoryProposer, type TraceEvent } from '../../src/index.js';
import { DOUBT_AFTER_MISS } from '../../src/core/attempt.js';

/** A proposer that counts its attempts by kind: skipped prepare (one round trip) or prepared. */
function counting(id: string, acceptors: MemoryAcceptor[]) {
  const counts = { skipped: 0, prepared: 0, lostAccepts: 0 };
  let acceptConflicts = new Set<string>();
  const tracer = (e: TraceEvent): void => {
    if (e.type === 'skip-prepare') counts.skipped++;
    else if (e.type === 'prepare-sent' && e.acceptor === acceptors[0]?.address) counts.prepared++;
    else if (e.type === 'accept-conflict') acceptConflicts.add(`${e.ballot.counter}/${e.ballot.id}`);
    else if (e.type === 'retry' || e.type === 'committed') {
      counts.lostAccepts += acceptConflicts.size;
      acceptConflicts = new Set();
    }
  };
  return { proposer: new MemoryProposer(id, acceptors, { tracer }), counts };
}

const put = (n: number) => () => Uint8Array.of(n);

describe('one round trip: doubting the promises of a key other proposers write', () => {
  test('a single writer keeps skipping the prepare', async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    const { proposer, counts } = counting('p1', acceptors);
    for (let i = 0; i < 20; i++) await proposer.propose('k', put(i));
    expect(counts).toEqual({ skipped: 19, prepared: 1, lostAccepts: 0 });
  });

  test('after a revoked promise the key prepares instead, until prepares show promises would hold again', async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    const p = counting('p', acceptors);
    const q = counting('q', acceptors);
    await p.proposer.propose('k', put(1)); // prepares, caches a promise
    await q.proposer.propose('k', put(2)); // its prepare revokes p's promise
    await p.proposer.propose('k', put(3)); // the cached accept is rejected: one wasted accept, then a prepare
    expect(p.counts).toEqual({ skipped: 1, prepared: 2, lostAccepts: 1 });

    // While q keeps writing in between, neither wastes an accept on a revoked promise again, and
    // neither holds a promise that would fail the other's prepare: at most one prepare conflict
    // (a stale counter, once) on top of one prepare per proposal.
    for (let i = 0; i < 10; i++) {
      await q.proposer.propose('k', put(10 + i));
      await p.proposer.propose('k', put(20 + i));
    }
    expect(p.counts.skipped).toBe(1);
    expect(p.counts.lostAccepts).toBe(1);
    expect(p.counts.prepared - 2).toBeGreaterThanOrEqual(10);
    expect(p.counts.prepared - 2).toBeLessThanOrEqual(11);
    expect(q.counts.lostAccepts).toBeLessThanOrEqual(1);
    expect(q.counts.skipped).toBeLessThanOrEqual(1);

    // q stops: after DOUBT_AFTER_MISS prepares that show the promise would have held, p skips again.
    const before = { ...p.counts };
    for (let i = 0; i < DOUBT_AFTER_MISS + 5; i++) await p.proposer.propose('k', put(40 + i));
    expect(p.counts).toEqual({ skipped: before.skipped + 5, prepared: before.prepared + DOUBT_AFTER_MISS, lostAccepts: 1 });
    expect((await q.proposer.identityRead('k')).state).toEqual(Uint8Array.of(40 + DOUBT_AFTER_MISS + 4));
  });
});
