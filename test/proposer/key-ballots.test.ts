/**
 * The proposer's per-key ballots (src/proposer/key-ballots.ts over src/core/key-ballots.ts), end to
 * end through `MemoryProposer`: issue 11's hostile prepare at 2^48 - 1 makes its own key run out
 * of ballots (`BallotsExhaustedError`, not retryable) and no other; the cap on far keys; and a
 * garbage collection of a far key, refused at step b before it could raise every acceptor's
 * tombstone floor (shown by doing step d by hand).
 */
import { describe, expect, test } from 'vitest';
import {
  type Age,
  BallotsExhaustedError,
  type Logger,
  MemoryAcceptor,
  MemoryProposer,
  StepFailedError,
  type TraceEvent,
  garbageCollect,
  isRetryable,
} from '../../src/index.js';
import { MAX_BALLOT_COUNTER } from '../../src/core/ballot.js';
import { MAX_BALLOT_JUMP } from '../../src/core/key-ballots.js';
import { noSleep } from '../support/cluster.js';
import { dec, enc } from '../support/text.js';

const evil: Age = { counter: 0, id: 'evil' };

function cluster(options: { maxFarKeys?: number; oneRoundTrip?: boolean } = {}) {
  const acceptors = ['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address));
  const events: TraceEvent[] = [];
  const warnings: Array<Record<string, unknown>> = [];
  const ignore = (): void => {};
  const logger: Logger = { debug: ignore, info: ignore, warn: (record: unknown) => void warnings.push(record as Record<string, unknown>), error: ignore };
  const proposer = new MemoryProposer('p1', acceptors, { sleep: noSleep, tracer: (e) => events.push(e), logger, ...options });
  const hostilePrepare = (key: string, counter: number) => Promise.all(acceptors.map((a) => a.prepare(key, evil, { counter, id: 'evil' })));
  return { acceptors, proposer, events, warnings, hostilePrepare };
}

async function writeAndRead(proposer: MemoryProposer, key: string, value: string): Promise<string | null> {
  await proposer.propose(key, () => enc(value));
  return dec((await proposer.identityRead(key)).state);
}

describe('per-key ballots through MemoryProposer', () => {
  for (const oneRoundTrip of [true, false]) {
    test(`a prepare at 2^48 - 1 on one key uses up that key only (issue 11; oneRoundTrip: ${oneRoundTrip})`, async () => {
      const { proposer, events, warnings, hostilePrepare } = cluster({ oneRoundTrip });
      expect(await writeAndRead(proposer, 'good', 'v1')).toBe('v1');
      await hostilePrepare('bad', MAX_BALLOT_COUNTER - 1);
      // The last ballot of the key, 2^48, still writes; after it, nothing.
      const last = await proposer.propose('bad', () => enc('x'));
      expect(last.ballot.counter).toBe(MAX_BALLOT_COUNTER);
      const error = await proposer.propose('bad', () => enc('y')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BallotsExhaustedError);
      expect(error).toMatchObject({ code: 'ERR_BALLOTS_EXHAUSTED', key: 'bad', reason: 'exhausted', retryable: false });
      expect(isRetryable(error)).toBe(false);
      // Every other key, old and new, keeps working, under counters far below the limit.
      expect(await writeAndRead(proposer, 'good', 'v2')).toBe('v2');
      expect(await writeAndRead(proposer, 'new', 'n')).toBe('n');
      expect(proposer.inspect().counter).toBeLessThan(2 * MAX_BALLOT_JUMP);
      // The trace shows the key's own counter moving to the hostile one.
      expect(events).toContainEqual(expect.objectContaining({ type: 'fast-forwarded', key: 'bad', to: MAX_BALLOT_COUNTER - 1 }));
      // And the operator is told, once.
      expect(warnings).toEqual([{ proposer: 'p1', key: 'bad', from: expect.any(Number), to: MAX_BALLOT_COUNTER - 1 }]);
    });
  }

  test('a hostile ballot near 2^32 moves the global counter as a conflict always did', async () => {
    const { proposer, hostilePrepare } = cluster();
    await hostilePrepare('k', MAX_BALLOT_JUMP - 5);
    const { ballot } = await proposer.propose('k', () => enc('v'));
    expect(ballot.counter).toBe(MAX_BALLOT_JUMP - 4);
    expect((await proposer.propose('other', () => enc('w'))).ballot.counter).toBeGreaterThan(MAX_BALLOT_JUMP - 4);
  });

  test('beyond maxFarKeys, a further far key fails with BallotsExhaustedError (far-keys), and the others keep working', async () => {
    const { proposer, hostilePrepare } = cluster({ maxFarKeys: 1 });
    await hostilePrepare('bad1', MAX_BALLOT_COUNTER - 100);
    await hostilePrepare('bad2', MAX_BALLOT_COUNTER - 100);
    expect((await proposer.propose('bad1', () => enc('x'))).ballot.counter).toBe(MAX_BALLOT_COUNTER - 99);
    const counter = proposer.inspect().counter;
    const error = await proposer.propose('bad2', () => enc('x')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_BALLOTS_EXHAUSTED', key: 'bad2', reason: 'far-keys', counter: MAX_BALLOT_COUNTER - 100 });
    // The refusal moved nothing, and repeating it moves nothing either: each refused proposal
    // used one ballot (its prepare, which met the far promise), no jump.
    await proposer.propose('bad2', () => enc('x')).catch(() => {});
    expect(proposer.inspect().counter).toBe(counter + 2);
    expect(await writeAndRead(proposer, 'good', 'v')).toBe('v');
    // Its own counter goes on: the promise its first write reserved (one round trip).
    expect((await proposer.propose('bad1', () => enc('y'))).ballot.counter).toBe(MAX_BALLOT_COUNTER - 98);
  });

  test("fast-forwarding (GC step b) to a ballot far ahead is refused, nothing changes; a near one moves the counter and the age", async () => {
    const { proposer } = cluster();
    const error = await proposer.fastForwardIncrement('k', { counter: MAX_BALLOT_JUMP + 10, id: 'q' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_BALLOTS_EXHAUSTED', key: 'k', reason: 'far-ahead', retryable: false });
    expect(proposer.inspect().counter).toBe(0);
    expect(proposer.age.counter).toBe(0);
    expect((await proposer.fastForwardIncrement('k', { counter: MAX_BALLOT_JUMP, id: 'q' })).counter).toBe(1);
    expect(proposer.inspect().counter).toBe(MAX_BALLOT_JUMP);
  });

  test('collecting a deleted key with a far ballot stops at step b, before removing anything; removing it would have broken every new key', async () => {
    const { acceptors, proposer, hostilePrepare } = cluster();
    await hostilePrepare('bad', MAX_BALLOT_COUNTER - 10);
    await proposer.propose('bad', () => null);
    const error = await garbageCollect('bad', [proposer], acceptors).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error).toMatchObject({ step: 'b (fast-forward proposers)', retryable: false });
    expect((error as StepFailedError).cause).toMatchObject({ code: 'ERR_BALLOTS_EXHAUSTED', reason: 'far-ahead' });
    for (const acceptor of acceptors) expect(acceptor.inspect('bad')?.state).toBeNull();
    expect(await writeAndRead(proposer, 'fresh1', 'v')).toBe('v');

    // What step b prevents: step d by hand makes the far promise every acceptor's floor for absent
    // keys, so each new key meets it, and after the handful of counters left there, runs out.
    const tombstone = { ballot: acceptors[0]?.inspect('bad')?.accepted ?? { counter: 0, id: '' }, state: null };
    for (const acceptor of acceptors) expect((await acceptor.removeIfEqual('bad', tombstone)).type).toBe('removed');
    const outcomes = [];
    for (let i = 0; i < 12; i++) outcomes.push(await proposer.propose('fresh2', () => enc(`v${i}`)).then(() => 'ok', (e: unknown) => (e as BallotsExhaustedError).reason));
    expect(outcomes.at(-1)).toBe('exhausted');
  });
});
