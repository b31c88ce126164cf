/** Batching: queued proposals on one key run as one round. */
import { getEventListeners, setMaxListeners } from 'node:events';
import { describe, expect, test } from 'vitest';
import { InvalidArgumentError, ballotEquals, formatBallot } from '../../src/index.js';
import { flush } from '../support/cluster.js';
import { appendOp, dec, enc, opsOf, write } from '../support/text.js';
import { acceptRounds, cluster, held, ofType, unblock } from './support.js';

describe('batching', () => {
  test('20 concurrent proposals on one key run in far fewer rounds, resolve in arrival order with their own states', async () => {
    const { proposer, acceptors, events } = cluster();
    const letters = 'abcdefghijklmnopqrst';
    const results = await Promise.all(Array.from(letters, (l) => proposer.propose('k', (s) => enc(`${dec(s) ?? ''}${l}`))));
    expect(results.map((r) => dec(r.state))).toEqual(Array.from(letters, (_, i) => letters.slice(0, i + 1)));
    // The first runs alone (it started before the others arrived); the 19 others share one round.
    const rounds = acceptRounds(events);
    expect(rounds).toEqual(['1/p1', '2/p1']);
    expect(results.map((r) => formatBallot(r.ballot))).toEqual(['1/p1', ...Array<string>(19).fill('2/p1')]);
    expect(ofType(events, 'committed').map((e) => dec(e.state))).toEqual(['a', letters]);
    for (const a of acceptors) expect(dec(a.inner.inspect('k')?.state ?? null)).toBe(letters);
  });

  test('a throwing change in the middle of a batch rejects its caller alone; the others see the states without it', async () => {
    const { proposer, events } = cluster();
    const appendChar = (c: string) => (s: Uint8Array | null) => enc(`${dec(s) ?? ''}${c}`);
    const boom = new Error('boom');
    const settled = await Promise.allSettled([
      proposer.propose('k', appendChar('0')),
      proposer.propose('k', appendChar('a')),
      proposer.propose('k', appendChar('b')),
      proposer.propose('k', () => {
        throw boom;
      }),
      proposer.propose('k', () => 'not bytes' as unknown as Uint8Array),
      proposer.propose('k', appendChar('c')),
    ]);
    expect(settled.map((r) => (r.status === 'fulfilled' ? dec(r.value.state) : r.reason))).toEqual(['0', '0a', '0ab', boom, expect.any(InvalidArgumentError), '0abc']);
    expect(acceptRounds(events)).toHaveLength(2);
  });

  test('a batch whose every change throws sends no accept, and the key stays usable', async () => {
    const { proposer, acceptors, events } = cluster();
    for (const a of acceptors) a.addRule({ when: 'request', action: 'hold', times: 2 }); // the first round's prepare and accept
    const first = proposer.propose('k', write('first'));
    const failing = [1, 2, 3].map((i) =>
      proposer.propose('k', () => {
        throw new Error(`boom ${i}`);
      }),
    );
    await held(acceptors);
    await unblock(acceptors);
    await first;
    for (const [i, f] of failing.entries()) await expect(f).rejects.toThrow(`boom ${i + 1}`);
    expect(acceptRounds(events)).toEqual(['1/p1']);
    expect(dec((await proposer.propose('k', (s) => s)).state)).toBe('first');
  });

  test('maxBatch: 1 runs one round per proposal', async () => {
    const { proposer, events } = cluster(3, { maxBatch: 1 });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => proposer.propose('k', appendOp(`op${i}`))));
    expect(acceptRounds(events)).toHaveLength(20);
    expect(results.map((r) => opsOf(r.state).at(-1))).toEqual(Array.from({ length: 20 }, (_, i) => `op${i}`));
    expect(opsOf(results[19]?.state ?? null)).toHaveLength(20);
  });

  test('maxBatch bounds a batch: 21 proposals waiting behind one, maxBatch 8, give 8 + 8 + 5', async () => {
    const { proposer, acceptors, events } = cluster(3, { maxBatch: 8 });
    for (const a of acceptors) a.addRule({ when: 'request', action: 'hold', times: 2 });
    const first = proposer.propose('k', appendOp('first'));
    const rest = Array.from({ length: 21 }, (_, i) => proposer.propose('k', appendOp(`op${i}`)));
    await held(acceptors);
    await unblock(acceptors);
    await Promise.all([first, ...rest]);
    const byBallot = new Map<string, number>();
    for (const e of ofType(events, 'committed')) byBallot.set(formatBallot(e.ballot), opsOf(e.state).length);
    expect([...byBallot.values()]).toEqual([1, 9, 17, 22]);
  });

  test('a full identity read is never batched with majority proposals: batches end at a change of mode', async () => {
    const { proposer, acceptors, events } = cluster();
    for (const a of acceptors) a.addRule({ when: 'request', action: 'hold', times: 2 });
    const order: string[] = [];
    const track = <T,>(name: string, p: Promise<T>) => p.then((v) => (order.push(name), v));
    const first = track('first', proposer.propose('k', appendOp('first')));
    const a = track('a', proposer.propose('k', appendOp('a')));
    const b = track('b', proposer.propose('k', appendOp('b')));
    const full = track('full', proposer.fullIdentityRead('k'));
    const full2 = track('full2', proposer.fullIdentityRead('k'));
    const c = track('c', proposer.propose('k', appendOp('c')));
    await held(acceptors);
    await unblock(acceptors);
    const [, , rb, rfull, rfull2, rc] = await Promise.all([first, a, b, full, full2, c]);
    expect(order).toEqual(['first', 'a', 'b', 'full', 'full2', 'c']);
    expect(opsOf(rb.state)).toEqual(['first', 'a', 'b']);
    expect(opsOf(rfull.state)).toEqual(['first', 'a', 'b']);
    expect(opsOf(rfull2.state)).toEqual(['first', 'a', 'b']);
    expect(opsOf(rc.state)).toEqual(['first', 'a', 'b', 'c']);
    // Rounds: [first], [a, b], [full, full2] (its own prepare and an all-accepters accept), [c].
    const committed = ofType(events, 'committed');
    expect(committed.map((e) => opsOf(e.state).length)).toEqual([1, 3, 3, 4]);
    expect(rfull.ballot).toEqual(rfull2.ballot);
    expect(new Set([rb.ballot, rfull.ballot, rc.ballot].map(formatBallot)).size).toBe(3);
    // The full read prepared (two ballots' worth of prepares before c's: first's and full's).
    expect(new Set(ofType(events, 'prepare-sent').map((e) => formatBallot(e.ballot))).size).toBeGreaterThanOrEqual(2);
    expect(ofType(events, 'prepare-sent').some((e) => ballotEquals(e.ballot, rfull.ballot))).toBe(true);
  });

  test('a proposal aborted while its batch runs is rejected at once; the others resolve; its change may take effect', async () => {
    const { proposer, acceptors } = cluster();
    for (const a of acceptors) a.addRule({ method: 'accept', when: 'request', action: 'hold', times: 2 });
    const first = proposer.propose('k', appendOp('first'));
    const controller = new AbortController();
    const mine = proposer.propose('k', appendOp('mine'), { signal: controller.signal });
    const other = proposer.propose('k', appendOp('other'));
    await held(acceptors);
    // Release the first round's accepts only (the batch's are held as they come).
    const firstAccepts = acceptors.flatMap((a) => a.held);
    await Promise.all(firstAccepts.map((h) => h.release()));
    await first;
    await held(acceptors); // the batch [mine, other] is in its accept phase
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(mine).rejects.toBe(reason);
    await unblock(acceptors);
    expect(opsOf((await other).state)).toEqual(['first', 'mine', 'other']);
  });

  test('one signal reused for 20 proposals leaves no abort listener behind', async () => {
    const { proposer, acceptors } = cluster(3, { maxBatch: 4 });
    const { signal } = new AbortController();
    setMaxListeners(64, signal); // 20 listeners at once are expected here, not a leak warning
    for (const a of acceptors) a.addRule({ when: 'request', action: 'hold', times: 2 });
    const all = Array.from({ length: 20 }, (_, i) => proposer.propose('k', appendOp(`op${i}`), { signal }));
    expect(getEventListeners(signal, 'abort').length).toBeGreaterThanOrEqual(20);
    await held(acceptors);
    await unblock(acceptors);
    await Promise.all(all);
    await proposer.propose('k', appendOp('alone'), { signal }); // a lone proposal passes its signal down
    await flush();
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });
});
