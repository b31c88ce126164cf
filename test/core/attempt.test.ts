/**
 * The proposer's decisions (`core/attempt`), stepped by hand: no acceptors, no promises. Each test
 * feeds an `Attempt` what a driver would (a cached entry, a ballot, decided rounds) and checks
 * the decision.
 */
import { describe, expect, test } from 'vitest';
import { ANCESTRY_FLOOR_ID, NO_ANCESTRY, ancestryOf } from '../../src/core/ancestry.js';
import {
  Attempt,
  type BatchChange,
  type CachedRound,
  type ChangeFailure,
  type CollectionHistory,
  DOUBT_AFTER_MISS,
  type PendingEntry,
  type QuorumMode,
} from '../../src/core/attempt.js';
import { type Ballot, ZERO_BALLOT } from '../../src/core/ballot.js';
import type { AcceptReply, Conflict, PrepareReply, State } from '../../src/core/messages.js';
import { AcceptRound, PrepareRound } from '../../src/core/rounds.js';

const B = (counter: number, id = 'p'): Ballot => ({ counter, id });
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** A promise; `ancestry` undefined is an acceptor that reports none. */
const promised = (accepted: Ballot, state: State, ...ancestry: [readonly Ballot[] | undefined] | []): PrepareReply => ({
  type: 'promised',
  accepted,
  state,
  ancestry: ancestry.length === 0 ? NO_ANCESTRY : ancestry[0],
});
/** A conflict that proves the acceptor never accepted the round's ballot (it accepted nothing). */
const provenConflict = (ballot: Ballot): Conflict => ({ type: 'conflict', ballot, kind: 'promise', accepted: ZERO_BALLOT });
const ageRejection = (counter: number): PrepareReply => ({ type: 'age', required: { counter, id: 'p' } });

/** A prepare round of 3 preparers under `ballot`, fed `replies`. */
function prepared(ballot: Ballot, ...replies: PrepareReply[]): PrepareRound {
  const round = new PrepareRound(ballot, 3, 2);
  for (const reply of replies) round.onReply(reply);
  return round;
}

/** An accept round of 3 accepters under `ballot` (asking for `next`), fed `replies`; `unreachable` calls failed. */
function accepted(ballot: Ballot, next: Ballot | undefined, replies: AcceptReply[], unreachable = 0): AcceptRound {
  const round = new AcceptRound(ballot, 3, 2, next);
  for (const reply of replies) round.onReply(reply);
  for (let i = 0; i < unreachable; i++) round.onUnreachable();
  return round;
}

const ok = (next?: Ballot): AcceptReply => (next === undefined ? { type: 'accepted' } : { type: 'accepted', promised: next });

/** Collections that never touched any key, and ones that record what they were asked. */
const NO_COLLECTIONS: CollectionHistory = { collectedSince: () => false };
function collectionsSince(collectedAge: number): CollectionHistory & { asked: Array<[string, number]> } {
  const asked: Array<[string, number]> = [];
  return {
    asked,
    collectedSince(key, age) {
      asked.push([key, age]);
      return collectedAge > age;
    },
  };
}

function change(fn: BatchChange['change'], settled = false): BatchChange {
  return { settled, change: fn };
}
const append = (byte: number) => change((s) => bytes(...(s ?? []), byte));

function cachedRound(fields: Partial<CachedRound> = {}): CachedRound {
  return { next: B(5), state: bytes(4), ancestry: [B(2, 'q')], accepted: B(4), doubt: 0, ...fields };
}

function attempt(mode: QuorumMode = 'majority', oneRoundTrip = true): Attempt {
  return new Attempt('k', mode, oneRoundTrip);
}

/** An attempt whose earlier accepts (under `ballots`, sent at age 0) have unknown outcomes. */
function withPending(...ballots: Ballot[]): Attempt {
  const a = attempt();
  a.pending = ballots.map((ballot, i): PendingEntry => ({ ballot, results: [bytes(i)], age: 0 }));
  return a;
}

describe('begin and start: skip the prepare phase under a promised ballot (paper §2.2.1)', () => {
  test('nothing cached: prepare, under a fresh ballot', () => {
    const a = attempt();
    expect(a.begin(undefined)).toBeUndefined();
    a.start(B(1));
    expect(a.skipsPrepare).toBe(false);
    expect(a.ballot).toEqual(B(1));
    expect(a.doubt).toBe(0);
  });

  test('a promised ballot is reused: the current state is the cached one, its ancestry built from it', () => {
    const a = attempt();
    const cached = cachedRound();
    expect(a.begin(cached)).toEqual(B(5));
    a.start(B(5));
    expect(a.skipsPrepare).toBe(true);
    expect(a.current).toEqual(bytes(4));
    expect(a.ancestry).toEqual(ancestryOf(B(5), cached.ancestry, cached.accepted));
  });

  test('a full identity read prepares even with a promise cached (it needs every accepter)', () => {
    const a = attempt('all');
    expect(a.begin(cachedRound({ doubt: 0 }))).toBeUndefined();
    expect(a.skipsPrepare).toBe(false);
  });

  test('after an unknown outcome the attempt prepares: only a prepare decides it', () => {
    const a = withPending(B(1));
    expect(a.begin(cachedRound())).toBeUndefined();
    expect(a.skipsPrepare).toBe(false);
  });

  test('a doubted key holds no promise: prepare; the attempt takes over the doubt', () => {
    const a = attempt();
    expect(a.begin(cachedRound({ next: undefined, doubt: 2 }))).toBeUndefined();
    expect(a.doubt).toBe(2);
  });

  test('rule G1 without a prepare: a promise whose counter is not above the cached state\'s accepted counter is not used', () => {
    const a = attempt();
    expect(a.begin(cachedRound({ next: B(4, 'z'), accepted: B(4) }))).toBeUndefined();
    expect(a.skipsPrepare).toBe(false);
    expect(a.begin(cachedRound({ next: B(5), accepted: B(4) }))).toEqual(B(5));
  });

  test('skipsCounter: only the first attempt of a round that prepares on a doubted key', () => {
    const a = attempt();
    a.begin(cachedRound({ next: undefined, doubt: 2 }));
    expect(a.skipsCounter).toBe(true);
    a.start(B(3));
    a.begin(undefined); // a retry of the same round
    expect(a.skipsCounter).toBe(false);
    const fresh = attempt();
    fresh.begin(undefined); // not doubted
    expect(fresh.skipsCounter).toBe(false);
    const promisedKey = attempt();
    promisedKey.begin(cachedRound()); // skips the prepare: the ballot is the promised one
    expect(promisedKey.skipsCounter).toBe(false);
  });

  test('each attempt starts without the results of the one before', () => {
    const a = attempt();
    a.begin(undefined);
    a.start(B(1));
    a.afterPrepare(prepared(B(1), promised(ZERO_BALLOT, null), promised(ZERO_BALLOT, null)), 0, NO_COLLECTIONS);
    a.apply([append(1)], () => {});
    expect(a.results).toBeDefined();
    a.begin(undefined);
    expect(a.results).toBeUndefined();
  });
});

describe('afterPrepare (paper §2.2, §3.1)', () => {
  test('won: the current state is the quorum highest, its ancestry built from it', () => {
    const a = attempt();
    a.begin(undefined);
    a.start(B(7));
    const verdict = a.afterPrepare(prepared(B(7), promised(B(2, 'q'), bytes(2)), promised(B(3, 'r'), bytes(3), [B(2, 'q')])), 0, NO_COLLECTIONS);
    expect(verdict).toEqual({ kind: 'proceed', recovery: undefined });
    expect(a.current).toEqual(bytes(3));
    expect(a.ancestry).toEqual(ancestryOf(B(7), [B(2, 'q')], B(3, 'r')));
  });

  test('rule G1: a won prepare whose ballot counter is not above the highest accepted one is turned down (behind), nothing applied', () => {
    for (const highest of [B(7, 'a'), B(9, 'q')]) {
      const a = attempt();
      a.begin(undefined);
      a.start(B(7, 'p')); // 7/p > 7/a in ballot order, yet the counters are equal
      const verdict = a.afterPrepare(prepared(B(7, 'p'), promised(highest, bytes(2)), promised(ZERO_BALLOT, null)), 0, NO_COLLECTIONS);
      expect(verdict).toEqual({ kind: 'behind', highest });
      expect(a.current).toBeNull();
      expect(a.results).toBeUndefined();
    }
  });

  test('rule G1 comes before recovery: the unknown outcomes stay in play for the next prepare', () => {
    const a = withPending(B(1), B(3));
    a.begin(undefined);
    a.start(B(5));
    expect(a.afterPrepare(prepared(B(5), promised(B(5, 'a'), bytes(9), [B(3)]), promised(ZERO_BALLOT, null)), 0, NO_COLLECTIONS)).toEqual({
      kind: 'behind',
      highest: B(5, 'a'),
    });
    expect(a.pending?.map((e) => e.ballot)).toEqual([B(1), B(3)]);
    expect(a.results).toBeUndefined();
  });

  test('lost to conflicts: lost (retry)', () => {
    const a = attempt();
    a.begin(undefined);
    a.start(B(1));
    expect(a.afterPrepare(prepared(B(1), provenConflict(B(9, 'q')), provenConflict(B(9, 'q'))), 0, NO_COLLECTIONS)).toEqual({ kind: 'lost' });
  });

  test('lost to a required age above the proposer age: stale (paper §3.1 step 3), no retry', () => {
    const a = attempt();
    a.begin(undefined);
    a.start(B(1));
    expect(a.afterPrepare(prepared(B(1), ageRejection(2), ageRejection(1)), 1, NO_COLLECTIONS)).toEqual({
      kind: 'stale-age',
      required: { counter: 2, id: 'p' },
      unknown: undefined,
    });
  });

  test('a required age the proposer already has (a collection raised it meanwhile): lost, retry under the new age', () => {
    const a = attempt();
    a.begin(undefined);
    a.start(B(1));
    expect(a.afterPrepare(prepared(B(1), ageRejection(2), ageRejection(2)), 2, NO_COLLECTIONS)).toEqual({ kind: 'lost' });
  });

  test('stale after an unknown outcome: names the latest unknown accept (the change may have taken effect)', () => {
    const a = withPending(B(1), B(3));
    a.begin(undefined);
    a.start(B(5));
    const verdict = a.afterPrepare(prepared(B(5), ageRejection(4), ageRejection(4)), 0, NO_COLLECTIONS);
    expect(verdict).toMatchObject({ kind: 'stale-age', unknown: B(3) });
  });

  describe('the doubt in one-round-trip promises, judged by every prepare made with an entry cached', () => {
    const judge = (cached: CachedRound, highest: Ballot): number => {
      const a = attempt();
      a.begin(cached);
      a.start(B(9));
      a.afterPrepare(prepared(B(9), promised(highest, bytes(1)), promised(highest, bytes(1))), 0, NO_COLLECTIONS);
      return a.doubt;
    };

    test('the promise would have held (nobody wrote since): one less doubt, never below 0', () => {
      expect(judge(cachedRound({ next: undefined, doubt: 3, accepted: B(4) }), B(4))).toBe(2);
      expect(judge(cachedRound({ next: undefined, doubt: 1, accepted: B(4) }), B(4))).toBe(0);
      expect(judge(cachedRound({ doubt: 0, accepted: B(4) }), B(4))).toBe(0);
    });

    test('another proposer wrote since: doubt again, fully', () => {
      expect(judge(cachedRound({ next: undefined, doubt: 1, accepted: B(4) }), B(6, 'q'))).toBe(DOUBT_AFTER_MISS);
      expect(judge(cachedRound({ doubt: 0, accepted: B(4) }), B(6, 'q'))).toBe(DOUBT_AFTER_MISS);
    });

    test('nothing cached: the doubt carried from earlier attempts stays', () => {
      const a = attempt();
      a.doubt = 2;
      a.begin(undefined);
      a.start(B(9));
      a.afterPrepare(prepared(B(9), promised(B(6, 'q'), null), promised(B(6, 'q'), null)), 0, NO_COLLECTIONS);
      expect(a.doubt).toBe(2);
    });
  });

  describe('after an unknown outcome: recovery (see recoveryDecision)', () => {
    /** p's accepts 1/p (results [0]) and 3/p (results [1]) are unknown; the retry prepares 5/p. */
    function recover(highest: Ballot, ancestry: readonly Ballot[] | undefined, collections: CollectionHistory = NO_COLLECTIONS) {
      const a = withPending(B(1), B(3));
      a.begin(undefined);
      a.start(B(5));
      const verdict = a.afterPrepare(prepared(B(5), promised(highest, bytes(9), ancestry), promised(ZERO_BALLOT, null)), 0, collections);
      return { a, verdict };
    }

    test('current: the quorum state is one of ours: it is committed again as it is, with its results', () => {
      const { a, verdict } = recover(B(3), NO_ANCESTRY);
      expect(verdict).toEqual({ kind: 'proceed', recovery: 'current' });
      expect(a.results).toEqual([bytes(1)]);
      const failures: ChangeFailure[] = [];
      expect(a.apply([change(() => bytes(42))], (_, failure) => failures.push(failure))).toBe(true);
      expect(a.state).toEqual(bytes(9)); // the quorum's state, not the change applied again
      expect(failures).toEqual([]);
    });

    test('adopted: one of ours is an ancestor of the quorum state: committed again, with the ancestor results', () => {
      const { a, verdict } = recover(B(4, 'q'), [B(1)]);
      expect(verdict).toEqual({ kind: 'proceed', recovery: 'adopted' });
      expect(a.results).toEqual([bytes(0)]);
      a.apply([change(() => bytes(42))], () => {});
      expect(a.state).toEqual(bytes(9));
    });

    test('reapply: none of ours can have been chosen: the changes apply afresh; the unknown accepts stay in play', () => {
      const { a, verdict } = recover(B(4, 'q'), [B(6, 'r')]);
      expect(verdict).toEqual({ kind: 'proceed', recovery: 'reapply' });
      expect(a.results).toBeUndefined();
      a.apply([append(7)], () => {});
      expect(a.state).toEqual(bytes(9, 7));
      expect(a.pending?.map((e) => e.ballot)).toEqual([B(1), B(3)]);
    });

    test('undecidable: the ancestry cannot tell; names the latest unknown accept and the quorum ballot', () => {
      expect(recover(B(4, 'q'), undefined).verdict).toEqual({ kind: 'undecidable', unknown: B(3), highest: B(4, 'q') });
      expect(recover(B(4, 'q'), [{ counter: 3, id: ANCESTRY_FLOOR_ID }]).verdict).toMatchObject({ kind: 'undecidable' });
    });

    test("a garbage collection of the key since one of the unknown accepts: collected (the evidence may be gone), before any verdict", () => {
      const collections = collectionsSince(1);
      // The quorum's state is one of ours, but absent records could also read as "never chosen".
      expect(recover(B(3), NO_ANCESTRY, collections).verdict).toEqual({ kind: 'collected', unknown: B(3) });
      expect(collections.asked[0]).toEqual(['k', 0]);
    });

    test('no collection of the key since the unknown accepts: the prepare decides', () => {
      const collections = collectionsSince(0);
      expect(recover(B(3), NO_ANCESTRY, collections).verdict).toEqual({ kind: 'proceed', recovery: 'current' });
      expect(collections.asked).toEqual([
        ['k', 0],
        ['k', 0],
      ]);
    });
  });
});

describe('apply: "applies the change function to the current state" (paper §2.2)', () => {
  function started(current: State): Attempt {
    const a = attempt();
    a.begin(undefined);
    a.start(B(1));
    a.afterPrepare(prepared(B(1), promised(B(0, 'q'), current), promised(ZERO_BALLOT, null)), 0, NO_COLLECTIONS);
    return a;
  }

  test('in arrival order, each change on the state the one before produced; results by position', () => {
    const a = started(bytes(1));
    expect(a.apply([append(2), append(3)], () => {})).toBe(true);
    expect(a.state).toEqual(bytes(1, 2, 3));
    expect(a.results).toEqual([bytes(1, 2), bytes(1, 2, 3)]);
  });

  test("each change is told the attempt's ballot and its step in the round (positions, settled ones included)", () => {
    const a = started(null);
    const seen: Array<[Ballot, number]> = [];
    const record = change((s, context?: { ballot: Ballot; step: number }) => {
      if (context !== undefined) seen.push([context.ballot, context.step]);
      return s;
    });
    a.apply([record, change(() => null, true), record], () => {});
    expect(seen).toEqual([
      [B(1), 0],
      [B(1), 2],
    ]);
  });

  test('a settled proposal (its caller aborted) takes no part', () => {
    const a = started(null);
    const skipped = change(() => {
      throw new Error('must not run');
    }, true);
    expect(a.apply([skipped, append(5)], () => {})).toBe(true);
    expect(a.results).toEqual([undefined, bytes(5)]);
  });

  test('a change that throws is reported, alone; the next one does not see it', () => {
    const a = started(bytes(1));
    const boom = new Error('boom');
    const thrower = change(() => {
      throw boom;
    });
    const failures: Array<[BatchChange, ChangeFailure]> = [];
    expect(a.apply([append(2), thrower, append(3)], (c, failure) => failures.push([c, failure]))).toBe(true);
    expect(failures).toEqual([[thrower, { kind: 'threw', error: boom }]]);
    expect(a.results).toEqual([bytes(1, 2), undefined, bytes(1, 2, 3)]);
  });

  test('a change returning something other than bytes or null is reported as not a state', () => {
    const a = started(null);
    const failures: ChangeFailure[] = [];
    const text = change(() => 'text' as unknown as State);
    const nothing = change(() => undefined as unknown as State);
    a.apply([text, nothing, change(() => null)], (_, failure) => failures.push(failure));
    expect(failures).toEqual([
      { kind: 'not-a-state', got: 'string' },
      { kind: 'not-a-state', got: 'undefined' },
    ]);
    expect(a.results).toEqual([undefined, undefined, null]);
  });

  test('no change applied: nothing to accept', () => {
    const a = started(null);
    const thrower = change(() => {
      throw new Error('boom');
    });
    expect(a.apply([thrower, change(() => bytes(1), true)], () => {})).toBe(false);
  });
});

describe('what the accept asks for and needs', () => {
  test('asksNext: a promise of the next ballot (paper §2.2.1) only with one round trip on, a majority quorum and no doubt', () => {
    expect(attempt('majority', true).asksNext).toBe(true);
    expect(attempt('majority', false).asksNext).toBe(false);
    expect(attempt('all', true).asksNext).toBe(false);
    const doubted = attempt('majority', true);
    doubted.doubt = 1;
    expect(doubted.asksNext).toBe(false);
  });

  test('acceptQuorum: a majority, or every accepter for a full identity read (paper §3.1 step a)', () => {
    expect([3, 4, 5].map((n) => attempt('majority').acceptQuorum(n))).toEqual([2, 3, 3]);
    expect([3, 4, 5].map((n) => attempt('all').acceptQuorum(n))).toEqual([3, 4, 5]);
  });
});

describe('afterAccept: committed, lost (no effect) or unknown', () => {
  /** `a` after it prepared under 3/p (or skipped, with `cached`) and applied one change. */
  function applied(a: Attempt, cached?: CachedRound): Attempt {
    const promisedBallot = a.begin(cached);
    a.start(promisedBallot ?? B(3));
    if (promisedBallot === undefined) a.afterPrepare(prepared(B(3), promised(ZERO_BALLOT, null), promised(ZERO_BALLOT, null)), 0, NO_COLLECTIONS);
    a.apply([append(1)], () => {});
    return a;
  }

  /** Every accepter rejected `ballot` with proof it never stored it. */
  const rejectedByAll = (ballot: Ballot): AcceptRound => accepted(ballot, undefined, [1, 2, 3].map(() => provenConflict(B(8, 'q'))));

  test('won: committed; nothing pending', () => {
    const a = applied(attempt());
    expect(a.afterAccept(accepted(B(3), undefined, [ok(), ok()]), 0)).toBe('committed');
    expect(a.pending).toBeUndefined();
  });

  test('rejected by every accepter with proof: lost, the state is stored nowhere', () => {
    const a = applied(attempt());
    expect(a.afterAccept(rejectedByAll(B(3)), 0)).toBe('lost');
    expect(a.pending).toBeUndefined();
  });

  test('rejected by every accepter after an earlier unknown outcome: still unknown, nothing added', () => {
    const a = applied(withPending(B(1)));
    expect(a.afterAccept(rejectedByAll(B(3)), 0)).toBe('unknown');
    expect(a.pending?.map((e) => e.ballot)).toEqual([B(1)]);
  });

  test('lost without proof from every accepter: unknown; the accept joins the pending ones with its results and age', () => {
    const a = applied(withPending(B(1)));
    expect(a.afterAccept(accepted(B(3), undefined, [provenConflict(B(8, 'q'))], 2), 4)).toBe('unknown');
    expect(a.pending?.at(-1)).toEqual({ ballot: B(3), results: [bytes(1)], age: 4 });
    expect(a.pending).toHaveLength(2);
  });

  test('the first unknown outcome of a round starts the pending list', () => {
    const a = applied(attempt());
    expect(a.afterAccept(accepted(B(3), undefined, [], 2), 1)).toBe('unknown');
    expect(a.pending).toEqual([{ ballot: B(3), results: [bytes(1)], age: 1 }]);
  });

  test('a lost accept under a cached promise: the promise was revoked, doubt the key', () => {
    const a = applied(attempt(), cachedRound({ next: B(5) }));
    expect(a.skipsPrepare).toBe(true);
    a.afterAccept(rejectedByAll(B(5)), 0);
    expect(a.doubt).toBe(DOUBT_AFTER_MISS);
  });

  test('a lost accept after a prepare leaves the doubt alone', () => {
    const a = applied(attempt());
    a.afterAccept(rejectedByAll(B(3)), 0);
    expect(a.doubt).toBe(0);
  });
});

describe('cacheEntry: what a committed accept leaves for the next change (paper §2.2.1)', () => {
  function committed(doubt = 0): Attempt {
    const a = attempt();
    a.doubt = doubt;
    a.begin(undefined);
    a.start(B(3));
    a.afterPrepare(prepared(B(3), promised(B(2, 'q'), bytes(2)), promised(ZERO_BALLOT, null)), 0, NO_COLLECTIONS);
    a.apply([append(3)], () => {});
    return a;
  }

  test('a full quorum acknowledged the state and promised the next ballot: cache the promise and the state', () => {
    const a = committed();
    const entry = a.cacheEntry(accepted(B(3), B(4), [ok(B(4)), ok(B(4))]), true);
    expect(entry).toEqual({ next: B(4), state: bytes(2, 3), ancestry: ancestryOf(B(3), NO_ANCESTRY, B(2, 'q')), accepted: B(3), doubt: 0 });
    // The state itself, which the callers get too: the cache keeps its own copy (OneRoundTripCache.put).
    expect(entry?.state).toBe(a.state);
  });

  test('one promise short of a quorum: nothing cached', () => {
    expect(committed().cacheEntry(accepted(B(3), B(4), [ok(B(4)), ok()]), true)).toBeUndefined();
  });

  test('a doubted key: no promise, only its doubt and the ballot just committed', () => {
    expect(committed(2).cacheEntry(accepted(B(3), undefined, [ok(), ok()]), true)).toEqual({
      next: undefined,
      state: null,
      ancestry: NO_ANCESTRY,
      accepted: B(3),
      doubt: 2,
    });
  });

  test('no promise asked and no doubt (one round trip off): nothing cached', () => {
    expect(committed().cacheEntry(accepted(B(3), undefined, [ok(), ok()]), true)).toBeUndefined();
  });

  test('the cache was cleared during the round (membership change, garbage collection): nothing cached', () => {
    expect(committed().cacheEntry(accepted(B(3), B(4), [ok(B(4)), ok(B(4))]), false)).toBeUndefined();
    expect(committed(2).cacheEntry(accepted(B(3), undefined, [ok(), ok()]), false)).toBeUndefined();
  });
});

describe('finalFailure: when the retry policy runs out', () => {
  test('nothing pending: no attempt had any effect, under the last attempt ballot', () => {
    const a = attempt();
    a.begin(undefined);
    a.start(B(4));
    expect(a.finalFailure()).toEqual({ kind: 'prepare-failed', ballot: B(4) });
  });

  // Regression: the AcceptFailedError named the last attempt's ballot (10/p1), one that never
  // passed its prepare phase, instead of the accept whose outcome is unknown (1/p1).
  test('an unknown outcome pending: unknown, under the latest pending accept, not the last attempt', () => {
    const a = withPending(B(1, 'p1'));
    a.begin(undefined);
    a.start(B(10, 'p1'));
    expect(a.afterPrepare(prepared(B(10, 'p1'), provenConflict(B(12, 'q')), provenConflict(B(12, 'q'))), 0, NO_COLLECTIONS)).toEqual({ kind: 'lost' });
    expect(a.finalFailure()).toEqual({ kind: 'accept-failed', ballot: B(1, 'p1') });
  });
});
