import { getEventListeners, setMaxListeners } from 'node:events';
import { describe, expect, test } from 'vitest';
import type { ChangeFunc, ProposeResult } from '../../src/index.js';
import type { QuorumMode } from '../../src/core/attempt.js';
import { type Proposal, ProposalQueue, newProposal } from '../../src/proposer/proposal-queue.js';
import { flush } from '../support/cluster.js';

const RESULT: ProposeResult = { state: null, ballot: { counter: 1, id: 'p1' } };

/** A queue whose rounds the test runs by hand: each started batch is recorded, and ends when the test says so. */
function harness(maxBatch = 64) {
  const rounds: Array<{ key: string; batch: readonly Proposal[] }> = [];
  const queue = new ProposalQueue((key, batch) => {
    rounds.push({ key, batch });
  }, maxBatch);
  let n = 0;
  const submit = (key: string, opts: { mode?: QuorumMode; signal?: AbortSignal } = {}) => {
    const id = `op${n++}`;
    const change: ChangeFunc & { id?: string } = (s) => s;
    change.id = id;
    const proposal = newProposal(change, opts.mode ?? 'majority', opts.signal);
    const { promise } = proposal;
    // Observed at once, so a rejection is never unhandled.
    const outcome = promise.then(
      (r) => ({ ok: true as const, value: r }),
      (e: unknown) => ({ ok: false as const, error: e }),
    );
    queue.submit(key, proposal);
    return { id, proposal, outcome };
  };
  /**
   * Settles every proposal of the latest round on `key`, tells the queue it is over, and lets the
   * next round start (the queue starts it a microtask later).
   */
  const finish = async (key: string) => {
    const round = [...rounds].reverse().find((r) => r.key === key);
    if (round === undefined) throw new Error(`no round on ${key}`);
    for (const p of round.batch) p.resolve(RESULT);
    queue.roundDone(key, round.batch.length);
    await flush();
  };
  const ids = (batch: readonly Proposal[]) => batch.map((p) => (p.change as { id?: string }).id);
  return { queue, rounds, submit, finish, ids };
}

describe('ProposalQueue', () => {
  test('an idle key starts a round synchronously, before submit returns, with the proposal alone', () => {
    const { queue, rounds, submit, ids } = harness();
    expect(queue.activeKeys).toBe(0);
    submit('k');
    expect(rounds).toHaveLength(1);
    expect(rounds[0]?.key).toBe('k');
    expect(ids(rounds[0]?.batch ?? [])).toEqual(['op0']);
    expect(queue.activeKeys).toBe(1);
  });

  test('different keys run concurrently; one key runs one round at a time', () => {
    const { queue, rounds, submit } = harness();
    submit('x');
    submit('y');
    submit('x');
    expect(rounds.map((r) => r.key)).toEqual(['x', 'y']);
    expect(queue.activeKeys).toBe(2);
  });

  test('when a round ends, the waiting proposals run as one batch, in arrival order', async () => {
    const { rounds, submit, finish, ids } = harness();
    const first = submit('k');
    const waiting = [submit('k'), submit('k'), submit('k')];
    expect(rounds).toHaveLength(1);
    await finish('k');
    expect(rounds).toHaveLength(2);
    expect(ids(rounds[1]?.batch ?? [])).toEqual(waiting.map((w) => w.id));
    expect(await first.outcome).toEqual({ ok: true, value: RESULT });
  });

  test('the next batch starts a microtask after the round ends: a caller proposing again at once joins it', async () => {
    const { queue, rounds, submit, ids } = harness();
    submit('k');
    const waiting = submit('k');
    const round = rounds[0];
    for (const p of round?.batch ?? []) p.resolve(RESULT);
    queue.roundDone('k', 1);
    expect(rounds).toHaveLength(1); // not yet
    const again = submit('k'); // e.g. the caller just resolved, proposing its next change
    await flush();
    expect(rounds.map((r) => ids(r.batch))).toEqual([['op0'], [waiting.id, again.id]]);
  });

  test('a batch holds at most maxBatch proposals; the rest wait for the next round, in order', async () => {
    const { rounds, submit, finish, ids } = harness(3);
    submit('k');
    const waiting = Array.from({ length: 7 }, () => submit('k').id);
    await finish('k');
    await finish('k');
    await finish('k');
    expect(rounds.map((r) => ids(r.batch))).toEqual([['op0'], waiting.slice(0, 3), waiting.slice(3, 6), waiting.slice(6)]);
  });

  test('maxBatch 1: one proposal per round, in arrival order', async () => {
    const { rounds, submit, finish, ids } = harness(1);
    for (let i = 0; i < 4; i++) submit('k');
    for (let i = 0; i < 3; i++) await finish('k');
    expect(rounds.map((r) => ids(r.batch))).toEqual([['op0'], ['op1'], ['op2'], ['op3']]);
  });

  test('a batch never mixes quorum modes: it ends before the first proposal of another mode', async () => {
    const { rounds, submit, finish, ids } = harness();
    submit('k');
    submit('k'); // op1 majority
    submit('k'); // op2 majority
    submit('k', { mode: 'all' }); // op3
    submit('k', { mode: 'all' }); // op4
    submit('k'); // op5 majority
    for (let i = 0; i < 3; i++) await finish('k');
    expect(rounds.map((r) => ids(r.batch))).toEqual([['op0'], ['op1', 'op2'], ['op3', 'op4'], ['op5']]);
    expect(rounds.map((r) => r.batch.map((p) => p.mode))).toEqual([['majority'], ['majority', 'majority'], ['all', 'all'], ['majority']]);
  });

  test('a proposal aborted while waiting is rejected with the reason at once and never runs', async () => {
    const { rounds, submit, finish, ids } = harness();
    submit('k');
    const controller = new AbortController();
    const before = submit('k');
    const aborted = submit('k', { signal: controller.signal });
    const after = submit('k');
    const reason = new Error('changed my mind');
    controller.abort(reason);
    expect(await aborted.outcome).toEqual({ ok: false, error: reason });
    await finish('k');
    await finish('k');
    expect(rounds.map((r) => ids(r.batch))).toEqual([['op0'], [before.id, after.id]]);
    expect(rounds.flatMap((r) => r.batch)).not.toContain(aborted.proposal);
  });

  test('when every waiting proposal was aborted, the key goes idle', async () => {
    const { queue, rounds, submit, finish } = harness();
    submit('k');
    const controller = new AbortController();
    submit('k', { signal: controller.signal });
    submit('k', { signal: controller.signal });
    controller.abort();
    await finish('k');
    expect(rounds).toHaveLength(1);
    expect(queue.activeKeys).toBe(0);
    // ...and the next proposal starts at once again.
    submit('k');
    expect(rounds).toHaveLength(2);
  });

  test('a proposal aborted while its round runs is rejected at once; the round keeps it (its change may take effect)', async () => {
    const { rounds, submit, finish } = harness();
    submit('k');
    const controller = new AbortController();
    const mine = submit('k', { signal: controller.signal });
    const other = submit('k');
    await finish('k');
    expect(rounds[1]?.batch).toEqual([mine.proposal, other.proposal]);
    controller.abort(new Error('late'));
    expect(await mine.outcome).toMatchObject({ ok: false, error: { message: 'late' } });
    expect(mine.proposal.settled).toBe(true);
    // The round resolving it afterwards changes nothing for its caller.
    await finish('k');
    expect(await mine.outcome).toMatchObject({ ok: false });
    expect(await other.outcome).toEqual({ ok: true, value: RESULT });
  });

  test('an already aborted signal rejects at once: no round, nothing queued', async () => {
    const { queue, rounds, submit } = harness();
    const reason = new Error('too late');
    const { outcome } = submit('k', { signal: AbortSignal.abort(reason) });
    expect(await outcome).toEqual({ ok: false, error: reason });
    expect(rounds).toHaveLength(0);
    expect(queue.activeKeys).toBe(0);
  });

  test('settling removes the abort listener: one signal reused for 20 proposals leaks none', async () => {
    const { queue, submit, finish } = harness(4);
    const controller = new AbortController();
    const { signal } = controller;
    setMaxListeners(64, signal); // 20 listeners at once are expected here, not a leak warning
    const outcomes = [];
    for (let i = 0; i < 20; i++) outcomes.push(submit('k', { signal }).outcome);
    // Every proposal listens while it waits or runs.
    expect(getEventListeners(signal, 'abort')).toHaveLength(20);
    while (queue.activeKeys > 0) await finish('k');
    await Promise.all(outcomes);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    // A rejection (a change function that threw, say) removes it too.
    const failing = submit('k', { signal });
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    failing.proposal.reject(new Error('boom'));
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    // The signal still works for a new proposal, and an abort removes its listener as well.
    const waitingFor = submit('k', { signal });
    const aborted = submit('k', { signal });
    controller.abort();
    await aborted.outcome;
    await waitingFor.outcome;
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    await flush();
  });

  test('activeKeys counts the keys with a running round', async () => {
    const { queue, submit, finish } = harness();
    submit('a');
    submit('a');
    submit('b');
    expect(queue.activeKeys).toBe(2);
    await finish('b');
    expect(queue.activeKeys).toBe(1);
    await finish('a'); // the waiting one starts
    expect(queue.activeKeys).toBe(1);
    await finish('a');
    expect(queue.activeKeys).toBe(0);
    queue.roundDone('a', 1); // a stray call changes nothing
    expect(queue.activeKeys).toBe(0);
  });

  test('newProposal settles once: the first of resolve/reject wins', async () => {
    const proposal = newProposal((s) => s, 'majority', undefined);
    const { promise } = proposal;
    proposal.resolve(RESULT);
    proposal.reject(new Error('ignored'));
    proposal.resolve({ state: Uint8Array.of(1), ballot: RESULT.ballot });
    expect(proposal.settled).toBe(true);
    await expect(promise).resolves.toBe(RESULT);
  });
});
