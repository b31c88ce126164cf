/** MemoryProposer.watch: the current state, then every state a majority accepted. */
import { describe, expect, test } from 'vitest';
import { AcceptFailedError, AgeError, MemoryProposer, UnavailableError, formatBallot } from '../../src/index.js';
import { flush } from '../support/cluster.js';
import { dec, write } from '../support/text.js';
import { cluster, ofType } from './support.js';

describe('MemoryProposer.watch', () => {
  test('yields the current state, then each committed change, and ends on abort', async () => {
    const { proposer, acceptors } = cluster();
    const other = new MemoryProposer('p2', acceptors);
    await other.propose('k', write('v0'));
    const controller = new AbortController();
    const seen: Array<string | null> = [];
    const done = (async () => {
      for await (const s of proposer.watch('k', { signal: controller.signal })) seen.push(dec(s));
    })();
    await flush();
    await other.propose('k', write('v1'));
    await other.propose('k', (s) => s); // a read re-commits the same bytes: not a change
    await other.propose('k', () => null);
    await flush();
    controller.abort();
    await done;
    expect(seen).toEqual(['v0', 'v1', null]);
  });

  test('retries its first read while it fails retryably, then yields the state it read', async () => {
    const { proposer, acceptors, events } = cluster(3, { retry: { attempts: 2 } });
    await proposer.propose('k', write('v0'));
    // The first identity read loses two of its three accepts in both of its attempts: an unknown
    // outcome (AcceptFailedError, retryable) once its retries are used up.
    for (const a of acceptors.slice(0, 2)) a.addRule({ method: 'accept', when: 'request', action: 'drop', times: 2 });
    const controller = new AbortController();
    const iterator = proposer.watch('k', { signal: controller.signal })[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    expect(dec(first.value as Uint8Array)).toBe('v0');
    expect(ofType(events, 'failed').map((e) => e.error)).toEqual([expect.any(AcceptFailedError)]);
    // 1/p1 (promising 2/p1); the read's attempts: 2/p1 (no prepare, promising 3/p1), lost, so the
    // key is doubted, and 4/p1 (prepared, asking for no promise); the watch's second read: 5/p1.
    expect(ofType(events, 'committed').map((e) => formatBallot(e.ballot))).toEqual(['1/p1', '5/p1']);
    controller.abort();
  });

  test('gives up on the first read after retry.attempts reads, failing with the last error', async () => {
    const { proposer, acceptors, events } = cluster(3, { retry: { attempts: 2 } });
    for (const a of acceptors.slice(0, 2)) a.addRule({ method: 'accept', when: 'request', action: 'drop' });
    const iterator = proposer.watch('k')[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toBeInstanceOf(AcceptFailedError);
    expect(ofType(events, 'failed')).toHaveLength(2);
  });

  test('does not retry a first read that failed for good', async () => {
    const { proposer, acceptors, events } = cluster();
    for (const a of acceptors) await a.rejectByAge([{ counter: 1, id: 'p1' }]);
    const iterator = proposer.watch('k')[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toBeInstanceOf(AgeError);
    expect(ofType(events, 'failed')).toHaveLength(1);
  });

  test('fails when too few accepters can be watched', async () => {
    const { proposer, acceptors } = cluster();
    for (const a of acceptors.slice(0, 2)) {
      a.watch = () => ({
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('unreachable')) }),
      });
    }
    const iterator = proposer.watch('k')[Symbol.asyncIterator]();
    await expect(
      (async () => {
        for (;;) if ((await iterator.next()).done === true) return;
      })(),
    ).rejects.toBeInstanceOf(UnavailableError);
  });
});
