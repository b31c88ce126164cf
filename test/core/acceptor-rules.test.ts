import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  type KeyRecord,
  absentRecord,
  accept,
  checkAge,
  prepare,
  raiseAges,
  remove,
} from '../../src/core/acceptor-rules.js';
import type { Age } from '../../src/core/age.js';
import { type Ballot, ZERO_BALLOT, compareBallots } from '../../src/core/ballot.js';
import type { State } from '../../src/core/messages.js';
import { NO_ANCESTRY, ancestryOf, recoveryDecision } from '../../src/core/ancestry.js';
import { smallBallot, tupleCompare } from './arbitraries.js';

const B = (counter: number, id: string): Ballot => ({ counter, id });
const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);
const rec = (promise: Ballot, accepted: Ballot, state: State, ancestry: readonly Ballot[] = NO_ANCESTRY): KeyRecord => ({ promise, accepted, state, ancestry });
/** What an accept without `ancestry` stores: ancestry unknown, not "none" (see `KeyRecord.ancestry`). */
const acceptedWithoutAncestry = (promise: Ballot, accepted: Ballot, state: State): KeyRecord => ({ promise, accepted, state, ancestry: undefined });

/** A record holding value [7] accepted at 3/b, with a promise at 5/a (promise > accepted). */
const PROMISED_ABOVE = rec(B(5, 'a'), B(3, 'b'), bytes(7));
/** A record whose promise equals its accepted ballot (after an accept). */
const SETTLED = rec(B(4, 'b'), B(4, 'b'), bytes(4));

function deepFreeze<T>(record: T): T {
  if (typeof record === 'object' && record !== null && !ArrayBuffer.isView(record)) {
    for (const value of Object.values(record)) deepFreeze(value);
    Object.freeze(record);
  }
  return record;
}

function snapshot(r: KeyRecord): unknown {
  return {
    promise: { ...r.promise },
    accepted: { ...r.accepted },
    state: r.state === null ? null : Array.from(r.state),
    ancestry: r.ancestry?.map((b) => ({ ...b })),
  };
}

describe('prepare (phase 1b: "returns a conflict if it already saw a greater ballot number")', () => {
  test('a ballot equal to the promise is a conflict (one ballot is never promised twice)', () => {
    const r = prepare(PROMISED_ABOVE, B(5, 'a'));
    expect(r.reply).toEqual({ type: 'conflict', ballot: B(5, 'a'), kind: 'promise', accepted: B(3, 'b') });
    expect(r.next).toBeUndefined();
  });

  test('a ballot below the promise is a conflict', () => {
    const r = prepare(PROMISED_ABOVE, B(4, 'z'));
    expect(r.reply).toEqual({ type: 'conflict', ballot: B(5, 'a'), kind: 'promise', accepted: B(3, 'b') });
    expect(r.next).toBeUndefined();
  });

  test('a ballot equal to the accepted ballot is a conflict', () => {
    const r = prepare(SETTLED, B(4, 'b'));
    expect(r.reply).toEqual({ type: 'conflict', ballot: B(4, 'b'), kind: 'accepted', accepted: B(4, 'b') });
    expect(r.next).toBeUndefined();
  });

  test('a ballot equal to the accepted ballot conflicts even when the promise is lower (a record breaking the invariant)', () => {
    const r = prepare(rec(B(1, 'a'), B(4, 'b'), bytes(4)), B(4, 'b'));
    expect(r.reply.type).toBe('conflict');
    expect(r.next).toBeUndefined();
  });

  test('a ballot above both is promised, reporting the accepted ballot and state', () => {
    const r = prepare(PROMISED_ABOVE, B(6, 'a'));
    expect(r.reply).toEqual({ type: 'promised', accepted: B(3, 'b'), state: bytes(7), ancestry: [] });
  });

  test("the next record's promise is the ballot; accepted ballot and state are kept", () => {
    const r = prepare(PROMISED_ABOVE, B(6, 'a'));
    expect(r.next).toEqual(rec(B(6, 'a'), B(3, 'b'), bytes(7)));
  });

  test('a ballot above by id only is promised', () => {
    const r = prepare(PROMISED_ABOVE, B(5, 'b'));
    expect(r.reply.type).toBe('promised');
    expect(r.next?.promise).toEqual(B(5, 'b'));
  });

  test('an absent key promises with the zero ballot and an empty state', () => {
    const r = prepare(absentRecord(ZERO_BALLOT), B(1, 'a'));
    expect(r.reply).toEqual({ type: 'promised', accepted: ZERO_BALLOT, state: null, ancestry: [] });
    expect(r.next).toEqual(rec(B(1, 'a'), ZERO_BALLOT, null));
  });

  test('the zero ballot is never promised, not even on an absent key', () => {
    expect(prepare(absentRecord(ZERO_BALLOT), ZERO_BALLOT).reply.type).toBe('conflict');
  });
});

describe('accept (phase 2b: "returns a conflict if it already saw a greater ballot number")', () => {
  test('a ballot equal to the promise is accepted', () => {
    const r = accept(PROMISED_ABOVE, B(5, 'a'), bytes(9));
    expect(r.reply).toEqual({ type: 'accepted' });
  });

  test('a ballot above the promise is accepted (the promise "simply cannot be larger")', () => {
    const r = accept(PROMISED_ABOVE, B(8, 'c'), bytes(9));
    expect(r.reply).toEqual({ type: 'accepted' });
    expect(r.next).toEqual(acceptedWithoutAncestry(B(8, 'c'), B(8, 'c'), bytes(9)));
  });

  test('a ballot below the promise is a conflict', () => {
    const r = accept(PROMISED_ABOVE, B(4, 'z'), bytes(9));
    expect(r.reply).toEqual({ type: 'conflict', ballot: B(5, 'a'), kind: 'promise', accepted: B(3, 'b') });
    expect(r.next).toBeUndefined();
  });

  test('a ballot equal to the accepted ballot is a conflict (a duplicated accept)', () => {
    const r = accept(SETTLED, B(4, 'b'), bytes(9));
    // Naming the request's own ballot as accepted: the acceptor holds that ballot's state.
    expect(r.reply).toEqual({ type: 'conflict', ballot: B(4, 'b'), kind: 'accepted', accepted: B(4, 'b') });
    expect(r.next).toBeUndefined();
  });

  test('a ballot equal to the accepted ballot conflicts even when the promise is lower (a record breaking the invariant)', () => {
    const r = accept(rec(B(1, 'a'), B(4, 'b'), bytes(4)), B(4, 'b'), bytes(9));
    expect(r.reply.type).toBe('conflict');
    expect(r.next).toBeUndefined();
  });

  test('accepting sets promise = accepted = ballot and stores the state ("erases the promise")', () => {
    const r = accept(PROMISED_ABOVE, B(5, 'a'), bytes(9));
    expect(r.next).toEqual(acceptedWithoutAncestry(B(5, 'a'), B(5, 'a'), bytes(9)));
  });

  test('accepting the empty state stores a tombstone', () => {
    const r = accept(SETTLED, B(5, 'a'), null);
    expect(r.next).toEqual(acceptedWithoutAncestry(B(5, 'a'), B(5, 'a'), null));
  });

  test('an absent key accepts without a prepare', () => {
    const r = accept(absentRecord(ZERO_BALLOT), B(1, 'a'), bytes(1));
    expect(r.reply).toEqual({ type: 'accepted' });
  });
});

describe('conflicts report the acceptor highest ballot', () => {
  test("kind 'promise' when the promise is above the accepted ballot", () => {
    const expected = { type: 'conflict', ballot: B(5, 'a'), kind: 'promise', accepted: B(3, 'b') };
    expect(prepare(PROMISED_ABOVE, B(1, 'a')).reply).toEqual(expected);
    expect(accept(PROMISED_ABOVE, B(1, 'a'), null).reply).toEqual(expected);
  });

  test("kind 'accepted' when the promise equals the accepted ballot", () => {
    const expected = { type: 'conflict', ballot: B(4, 'b'), kind: 'accepted', accepted: B(4, 'b') };
    expect(prepare(SETTLED, B(1, 'a')).reply).toEqual(expected);
    expect(accept(SETTLED, B(1, 'a'), null).reply).toEqual(expected);
  });

  test("kind 'accepted' with the accepted ballot when a record has accepted above its promise", () => {
    const odd = rec(B(2, 'a'), B(6, 'a'), bytes(6));
    expect(prepare(odd, B(3, 'a')).reply).toEqual({ type: 'conflict', ballot: B(6, 'a'), kind: 'accepted', accepted: B(6, 'a') });
  });
});

describe("conflicts report the highest ballot the acceptor may have accepted ('accepted')", () => {
  test('without a floor (the default), the record\'s accepted ballot; the zero ballot when nothing was accepted', () => {
    expect(prepare(PROMISED_ABOVE, B(1, 'a')).reply).toMatchObject({ accepted: B(3, 'b') });
    expect(accept(rec(B(5, 'a'), ZERO_BALLOT, null), B(1, 'a'), null).reply).toMatchObject({ accepted: ZERO_BALLOT });
    expect(prepare(PROMISED_ABOVE, B(1, 'a'), ZERO_BALLOT).reply).toEqual(prepare(PROMISED_ABOVE, B(1, 'a')).reply);
  });

  test('raised to the tombstone floor when the floor is higher (a removed record may have been accepted up to it)', () => {
    const floor = B(4, 'z');
    expect(prepare(PROMISED_ABOVE, B(1, 'a'), floor).reply).toEqual({ type: 'conflict', ballot: B(5, 'a'), kind: 'promise', accepted: floor });
    expect(accept(PROMISED_ABOVE, B(1, 'a'), null, floor).reply).toEqual({ type: 'conflict', ballot: B(5, 'a'), kind: 'promise', accepted: floor });
    // On an absent key: nothing accepted in the record, the floor in the conflict.
    expect(accept(absentRecord(floor), B(2, 'a'), bytes(1), floor).reply).toEqual({ type: 'conflict', ballot: floor, kind: 'promise', accepted: floor });
  });

  test('a floor below the accepted ballot changes nothing', () => {
    expect(accept(SETTLED, B(1, 'a'), null, B(2, 'z')).reply).toEqual({ type: 'conflict', ballot: B(4, 'b'), kind: 'accepted', accepted: B(4, 'b') });
    expect(prepare(PROMISED_ABOVE, B(1, 'a'), B(3, 'a')).reply).toMatchObject({ accepted: B(3, 'b') });
  });

  test('the floor affects only conflicts: successes and the records they store ignore it', () => {
    const floor = B(9, 'z');
    expect(prepare(PROMISED_ABOVE, B(6, 'a'), floor)).toEqual(prepare(PROMISED_ABOVE, B(6, 'a')));
    expect(accept(PROMISED_ABOVE, B(6, 'a'), bytes(6), floor)).toEqual(accept(PROMISED_ABOVE, B(6, 'a'), bytes(6)));
  });
});

describe('accept with `next`: one round trip (paper §2.2.1, the next prepare piggybacked on the accept)', () => {
  test('a successful accept also promises `next` and replies `promised: next`', () => {
    const r = accept(PROMISED_ABOVE, B(5, 'a'), bytes(9), ZERO_BALLOT, { next: B(6, 'a') });
    expect(r.reply).toStrictEqual({ type: 'accepted', promised: B(6, 'a') });
    expect(r.next).toEqual(acceptedWithoutAncestry(B(6, 'a'), B(5, 'a'), bytes(9)));
  });

  test('the installed promise works like a prepared one: the next accept needs no prepare, everything below it conflicts', () => {
    const after = accept(PROMISED_ABOVE, B(5, 'a'), bytes(9), ZERO_BALLOT, { next: B(6, 'a') }).next as KeyRecord;
    // A competitor's prepare at or below the promised ballot conflicts, naming it; the conflict
    // proves the acceptor accepted nothing above 5/a.
    const conflictAt6 = { type: 'conflict', ballot: B(6, 'a'), kind: 'promise', accepted: B(5, 'a') };
    expect(prepare(after, B(6, 'a')).reply).toEqual(conflictAt6);
    expect(prepare(after, B(5, 'z')).reply).toEqual(conflictAt6);
    // An accept between the two ballots (a competitor that never prepared) conflicts too.
    expect(accept(after, B(5, 'z'), bytes(1)).reply).toEqual(conflictAt6);
    // The proposer's next change, accepted under the promised ballot with no prepare phase.
    const second = accept(after, B(6, 'a'), bytes(10), ZERO_BALLOT, { next: B(7, 'a') });
    expect(second.reply).toStrictEqual({ type: 'accepted', promised: B(7, 'a') });
    expect(second.next).toEqual(acceptedWithoutAncestry(B(7, 'a'), B(6, 'a'), bytes(10)));
    // A prepare above the promise revokes it: the cached accept then conflicts.
    const revoked = prepare(after, B(7, 'z')).next as KeyRecord;
    expect(accept(revoked, B(6, 'a'), bytes(10)).reply).toEqual({ type: 'conflict', ballot: B(7, 'z'), kind: 'promise', accepted: B(5, 'a') });
  });

  test.each([
    ['equal to the ballot', B(5, 'a')],
    ['below the ballot', B(4, 'z')],
    ['the same counter, a lower id', B(5, '0')],
    ['the zero ballot', ZERO_BALLOT],
  ])('`next` %s is ignored: accepted without `promised`, the promise is the ballot', (_, next) => {
    const r = accept(PROMISED_ABOVE, B(5, 'a'), bytes(9), ZERO_BALLOT, { next });
    expect(r.reply).toStrictEqual({ type: 'accepted' });
    expect(r.next).toEqual(acceptedWithoutAncestry(B(5, 'a'), B(5, 'a'), bytes(9)));
  });

  test('a rejected accept installs no promise', () => {
    const r = accept(PROMISED_ABOVE, B(4, 'z'), bytes(9), ZERO_BALLOT, { next: B(9, 'z') });
    expect(r.reply).toEqual({ type: 'conflict', ballot: B(5, 'a'), kind: 'promise', accepted: B(3, 'b') });
    expect(r.next).toBeUndefined();
  });

  test('the floor affects only conflicts, with or without `next`', () => {
    const extras = { next: B(8, 'a'), ancestry: [B(6, 'a')] };
    expect(accept(PROMISED_ABOVE, B(6, 'a'), bytes(6), B(9, 'z'), extras)).toEqual(accept(PROMISED_ABOVE, B(6, 'a'), bytes(6), ZERO_BALLOT, extras));
  });
});

describe('ancestry: stored with the state, reported by prepare', () => {
  test('an accept stores the ancestry it carries; a prepare reports it and keeps it', () => {
    const ancestry = [B(2, 'b'), B(5, 'a')];
    const accepted = accept(PROMISED_ABOVE, B(5, 'a'), bytes(9), ZERO_BALLOT, { ancestry }).next as KeyRecord;
    expect(accepted.ancestry).toEqual(ancestry);
    const promised = prepare(accepted, B(6, 'c'));
    expect(promised.reply).toEqual({ type: 'promised', accepted: B(5, 'a'), state: bytes(9), ancestry });
    expect(promised.next?.ancestry).toEqual(ancestry);
  });

  test('a later accept replaces the ancestry with its own; a conflict reports none', () => {
    const first = accept(SETTLED, B(5, 'a'), bytes(5), ZERO_BALLOT, { ancestry: [B(5, 'a')] }).next as KeyRecord;
    const second = accept(first, B(6, 'b'), bytes(6), ZERO_BALLOT, { ancestry: [B(5, 'a'), B(6, 'b')] }).next as KeyRecord;
    expect(second.ancestry).toEqual([B(5, 'a'), B(6, 'b')]);
    const conflict = prepare(second, B(6, 'b')).reply;
    expect(conflict.type).toBe('conflict');
    expect(conflict).not.toHaveProperty('ancestry');
  });

  test('an absent record has the empty ancestry (nothing accepted, no ancestors)', () => {
    expect(absentRecord(B(3, 'a')).ancestry).toEqual([]);
    expect(prepare(absentRecord(ZERO_BALLOT), B(1, 'a')).reply).toMatchObject({ ancestry: [] });
  });

  // Regression: an accept carrying no ancestry stored NO_ANCESTRY, and `prepare` then reported
  // `ancestry: []` ("no other proposer has a ballot among this state's ancestors") as a fact, which
  // `recoveryDecision` read as proof: p's accept 1/p (unknown to p) reaches a1 only; q prepares 2/q
  // at a1, adopts p's state and gets its child accepted under 2/q without an ancestry; p's next
  // prepare saw `ancestry: []`, decided 'reapply', and applied its change twice. Absent now means
  // unknown, and recovery calls that undecidable.
  test('a state accepted without an ancestry must not be reported as proof that it has no ancestors', () => {
    const p1 = B(1, 'p');
    const pState = accept(absentRecord(ZERO_BALLOT), p1, bytes(1), ZERO_BALLOT, { ancestry: ancestryOf(p1, NO_ANCESTRY, ZERO_BALLOT) }).next as KeyRecord;
    const promisedToQ = prepare(pState, B(2, 'q'));
    if (promisedToQ.reply.type !== 'promised' || promisedToQ.next === undefined) throw new Error('expected a promise');
    expect(promisedToQ.reply.accepted).toEqual(p1); // q adopts p's state...
    const child = accept(promisedToQ.next, B(2, 'q'), bytes(1, 2)).next as KeyRecord; // ...and sends no ancestry
    const seenByP = prepare(child, B(3, 'p')).reply;
    if (seenByP.type !== 'promised') throw new Error('expected a promise');
    // p's change is in the child (its parent is p's state): p must not re-apply it.
    expect(recoveryDecision([p1], seenByP.accepted, seenByP.ancestry).decision).not.toBe('reapply');
  });
});

describe('rules never mutate their input record', () => {
  const records = [PROMISED_ABOVE, SETTLED, absentRecord(B(2, 'x')), rec(B(4, 'b'), B(3, 'b'), bytes(3), [B(1, 'a'), B(3, 'b')])];
  const ballots = [ZERO_BALLOT, B(1, 'a'), B(4, 'b'), B(5, 'a'), B(9, 'z')];

  test('prepare and accept leave the record as it was', () => {
    for (const record of records) {
      for (const ballot of ballots) {
        const before = snapshot(record);
        prepare(record, ballot);
        accept(record, ballot, bytes(1));
        accept(record, ballot, bytes(1), ZERO_BALLOT, { next: B(ballot.counter + 1, 'a'), ancestry: [B(7, 'q')] });
        remove(record, ballot, ZERO_BALLOT);
        expect(snapshot(record)).toEqual(before);
      }
    }
  });

  test('a successful rule returns a new record, not the input', () => {
    const record = rec(B(1, 'a'), B(1, 'a'), bytes(1));
    const p = prepare(record, B(2, 'a'));
    const a = accept(record, B(2, 'a'), bytes(2));
    expect(p.next).not.toBe(record);
    expect(a.next).not.toBe(record);
    expect(record).toEqual(rec(B(1, 'a'), B(1, 'a'), bytes(1)));
  });
});

describe('absentRecord (tombstone floor)', () => {
  test('a prepare at or below the floor conflicts; above it is promised', () => {
    const floor = B(7, 'm');
    // The acceptor's shell passes its floor to the rule too, so the conflict reports it as `accepted`.
    expect(prepare(absentRecord(floor), B(7, 'm'), floor).reply).toEqual({ type: 'conflict', ballot: floor, kind: 'promise', accepted: floor });
    expect(prepare(absentRecord(floor), B(6, 'z'), floor).reply).toEqual({ type: 'conflict', ballot: floor, kind: 'promise', accepted: floor });
    expect(prepare(absentRecord(floor), B(7, 'n'), floor).reply).toEqual({ type: 'promised', accepted: ZERO_BALLOT, state: null, ancestry: [] });
  });

  test('an accept below the floor conflicts', () => {
    expect(accept(absentRecord(B(7, 'm')), B(6, 'z'), bytes(1)).reply.type).toBe('conflict');
  });

  test('is empty: nothing accepted, no state', () => {
    expect(absentRecord(B(3, 'a'))).toEqual(rec(B(3, 'a'), ZERO_BALLOT, null));
  });
});

describe('checkAge (GC fence: reject proposers younger than the recorded age)', () => {
  test('a younger age is rejected with the required minimum', () => {
    expect(checkAge({ counter: 1, id: 'p' }, 3)).toEqual({ type: 'age', required: { counter: 3, id: 'p' } });
  });

  test('an age equal to the minimum passes', () => {
    expect(checkAge({ counter: 3, id: 'p' }, 3)).toBeUndefined();
  });

  test('an older age passes', () => {
    expect(checkAge({ counter: 4, id: 'p' }, 3)).toBeUndefined();
  });

  test('age 0 passes when nothing is recorded', () => {
    expect(checkAge({ counter: 0, id: 'p' }, 0)).toBeUndefined();
  });
});

describe('remove (GC step 4: remove the register if it holds the tombstone)', () => {
  const tombstone = B(5, 'a');

  test("an absent record replies 'absent' and leaves the floor", () => {
    const r = remove(undefined, tombstone, B(2, 'x'));
    expect(r.reply).toEqual({ type: 'absent' });
    expect(r.floor).toBeUndefined();
  });

  test("the tombstone itself is 'removed', the floor rising to the record's promise", () => {
    const r = remove(rec(B(8, 'c'), tombstone, null), tombstone, B(2, 'x'));
    expect(r.reply).toEqual({ type: 'removed' });
    expect(r.floor).toEqual(B(8, 'c'));
  });

  test("removing keeps a higher existing floor", () => {
    const r = remove(rec(tombstone, tombstone, null), tombstone, B(9, 'x'));
    expect(r.reply).toEqual({ type: 'removed' });
    expect(r.floor).toEqual(B(9, 'x'));
  });

  test('after removal, a prepare at the removed promise conflicts on the absent record', () => {
    const r = remove(rec(B(8, 'c'), tombstone, null), tombstone, ZERO_BALLOT);
    if (r.floor === undefined) throw new Error('expected a floor');
    expect(prepare(absentRecord(r.floor), B(8, 'c')).reply.type).toBe('conflict');
    expect(prepare(absentRecord(r.floor), B(6, 'a')).reply.type).toBe('conflict');
  });

  test("an older accepted ballot is 'not-equal' and reports it", () => {
    const r = remove(rec(B(6, 'a'), B(4, 'a'), null), tombstone, ZERO_BALLOT);
    expect(r.reply).toEqual({ type: 'not-equal', accepted: B(4, 'a') });
    expect(r.floor).toBeUndefined();
  });

  test("a newer accepted ballot (even an empty one) is 'not-equal' and reports it", () => {
    const r = remove(rec(B(6, 'b'), B(6, 'b'), null), tombstone, ZERO_BALLOT);
    expect(r.reply).toEqual({ type: 'not-equal', accepted: B(6, 'b') });
    expect(r.floor).toBeUndefined();
  });

  test("the same counter with another id is 'not-equal'", () => {
    const r = remove(rec(B(5, 'b'), B(5, 'b'), null), tombstone, ZERO_BALLOT);
    expect(r.reply).toEqual({ type: 'not-equal', accepted: B(5, 'b') });
  });

  test("the tombstone ballot with a non-null state is 'not-equal'", () => {
    const r = remove(rec(tombstone, tombstone, bytes(1)), tombstone, ZERO_BALLOT);
    expect(r.reply).toEqual({ type: 'not-equal', accepted: tombstone });
    expect(r.floor).toBeUndefined();
  });

  test("an empty (zero-length) state is not the empty state: 'not-equal'", () => {
    const r = remove(rec(tombstone, tombstone, bytes()), tombstone, ZERO_BALLOT);
    expect(r.reply.type).toBe('not-equal');
  });
});

describe('raiseAges (GC step 3: record the ages, never lowering them)', () => {
  const minimums = (m: Record<string, number>) => (id: string): number => m[id] ?? 0;

  test('raises an age above the recorded minimum', () => {
    expect(raiseAges(minimums({ p: 1 }), [{ counter: 2, id: 'p' }])).toEqual([{ counter: 2, id: 'p' }]);
  });

  test('never lowers a minimum', () => {
    expect(raiseAges(minimums({ p: 5 }), [{ counter: 2, id: 'p' }])).toEqual([]);
  });

  test('ignores an age equal to the minimum', () => {
    expect(raiseAges(minimums({ p: 5 }), [{ counter: 5, id: 'p' }])).toEqual([]);
  });

  test('an age 0 for an unknown proposer changes nothing', () => {
    expect(raiseAges(minimums({}), [{ counter: 0, id: 'q' }])).toEqual([]);
  });

  test('takes the highest of duplicates, in any order', () => {
    const ages: Age[] = [
      { counter: 3, id: 'p' },
      { counter: 7, id: 'p' },
      { counter: 4, id: 'p' },
    ];
    expect(raiseAges(minimums({ p: 1 }), ages)).toEqual([{ counter: 7, id: 'p' }]);
    expect(raiseAges(minimums({ p: 1 }), [...ages].reverse())).toEqual([{ counter: 7, id: 'p' }]);
  });

  test('returns only the entries that change', () => {
    const result = raiseAges(minimums({ a: 2, b: 9, c: 0 }), [
      { counter: 3, id: 'a' },
      { counter: 4, id: 'b' },
      { counter: 1, id: 'c' },
      { counter: 0, id: 'd' },
    ]);
    expect(result).toHaveLength(2);
    expect(result).toEqual(expect.arrayContaining([{ counter: 3, id: 'a' }, { counter: 1, id: 'c' }]));
  });

  const agesArb = fc.array(fc.record({ counter: fc.nat({ max: 6 }), id: fc.constantFrom('a', 'b', 'c') }), { maxLength: 10 });
  const minimumsArb = fc.record({ a: fc.nat({ max: 6 }), b: fc.nat({ max: 6 }), c: fc.nat({ max: 6 }) });

  test.prop([minimumsArb, agesArb])('agrees with a naive per-id maximum', (mins, ages) => {
    const result = raiseAges((id) => mins[id as 'a' | 'b' | 'c'], ages);
    const expected: Record<string, number> = {};
    for (const id of ['a', 'b', 'c'] as const) {
      const best = Math.max(...ages.filter((x) => x.id === id).map((x) => x.counter), -1);
      if (best > mins[id]) expected[id] = best;
    }
    expect(Object.fromEntries(result.map((x) => [x.id, x.counter]))).toEqual(expected);
    expect(new Set(result.map((x) => x.id)).size).toBe(result.length);
  });
});

// ---------------------------------------------------------------------------------------------
// Model-based test: an independent reference acceptor, written from the paper with plain tuple
// comparison, against the rules applied through prepare/accept with `next` stored.
// ---------------------------------------------------------------------------------------------

type Tuple = readonly [number, string];
type RefReply =
  | { type: 'promised'; accepted: Tuple; state: number | null; ancestry: readonly Tuple[] }
  | { type: 'conflict'; ballot: Tuple; kind: string; accepted: Tuple }
  | { type: 'accepted'; promised?: Tuple };

class ReferenceAcceptor {
  /** The tombstone floor: the promise of a removed record, so the highest it may have accepted. */
  readonly floor: Tuple;
  constructor(
    public promise: Tuple,
    public accepted: Tuple = [0, ''],
    public value: number | null = null,
    public ancestry: readonly Tuple[] = [],
  ) {
    this.floor = promise;
  }
  #lt = (x: Tuple, y: Tuple): boolean => x[0] < y[0] || (x[0] === y[0] && x[1] < y[1]);
  #mayHaveAccepted = (): Tuple => (this.#lt(this.accepted, this.floor) ? this.floor : this.accepted);
  #conflict = (): RefReply =>
    this.#lt(this.accepted, this.promise)
      ? { type: 'conflict', ballot: this.promise, kind: 'promise', accepted: this.#mayHaveAccepted() }
      : { type: 'conflict', ballot: this.accepted, kind: 'accepted', accepted: this.#mayHaveAccepted() };
  prepare(b: Tuple): RefReply {
    if (!this.#lt(this.promise, b) || !this.#lt(this.accepted, b)) return this.#conflict();
    this.promise = b;
    return { type: 'promised', accepted: this.accepted, state: this.value, ancestry: this.ancestry };
  }
  /** Paper §2.2.1: with `next` above `b`, the acceptor also promises `next` (one round trip). */
  accept(b: Tuple, v: number | null, next: Tuple | null, ancestry: readonly Tuple[]): RefReply {
    if (this.#lt(b, this.promise) || !this.#lt(this.accepted, b)) return this.#conflict();
    [this.promise, this.accepted, this.value, this.ancestry] = [b, b, v, ancestry];
    if (next !== null && this.#lt(b, next)) {
      this.promise = next;
      return { type: 'accepted', promised: next };
    }
    return { type: 'accepted' };
  }
}

const request = fc.oneof(
  fc.record({ op: fc.constant('prepare' as const), ballot: smallBallot }),
  fc.record({
    op: fc.constant('accept' as const),
    ballot: smallBallot,
    value: fc.option(fc.nat({ max: 255 })),
    // A piggybacked promise (one round trip), above the ballot or not, or none.
    next: fc.option(smallBallot),
    ancestry: fc.array(smallBallot, { maxLength: 3 }),
  }),
);

const toTuple = (b: Ballot): Tuple => [b.counter, b.id];
const toValue = (s: State): number | null => (s === null ? null : (s[0] ?? -1));

test.prop([fc.oneof(fc.constant(ZERO_BALLOT), smallBallot), fc.array(request, { minLength: 1, maxLength: 40 })], { numRuns: 300 })(
  'model: the rules reply exactly like a reference acceptor over random request sequences',
  (floor, requests) => {
    const model = new ReferenceAcceptor(toTuple(floor));
    let record: KeyRecord = deepFreeze(absentRecord(floor));
    for (const req of requests) {
      const result =
        req.op === 'prepare'
          ? prepare(record, req.ballot, floor)
          : accept(record, req.ballot, req.value === null ? null : bytes(req.value), floor, {
              next: req.next ?? undefined,
              ancestry: req.ancestry,
            });
      const expected =
        req.op === 'prepare'
          ? model.prepare(toTuple(req.ballot))
          : model.accept(toTuple(req.ballot), req.value, req.next === null ? null : toTuple(req.next), req.ancestry.map(toTuple));
      const reply = result.reply;
      const actual: RefReply =
        reply.type === 'promised'
          ? { type: 'promised', accepted: toTuple(reply.accepted), state: toValue(reply.state), ancestry: (reply.ancestry ?? []).map(toTuple) }
          : reply.type === 'conflict'
            ? { type: 'conflict', ballot: toTuple(reply.ballot), kind: reply.kind, accepted: toTuple(reply.accepted) }
            : reply.type === 'accepted'
              ? reply.promised === undefined
                ? { type: 'accepted' }
                : { type: 'accepted', promised: toTuple(reply.promised) }
              : (() => {
                  throw new Error(`unexpected reply ${reply.type}`);
                })();
      // Strict: an `accepted` reply says `promised` exactly when the acceptor promised `next`.
      expect(actual).toStrictEqual(expected);
      // A record changes exactly when the reply is a success.
      expect(result.next !== undefined).toBe(reply.type !== 'conflict');
      if (result.next !== undefined) record = deepFreeze(result.next);
      expect([toTuple(record.promise), toTuple(record.accepted), toValue(record.state)]).toEqual([model.promise, model.accepted, model.value]);
      expect(tupleCompare(record.promise, record.accepted)).toBeGreaterThanOrEqual(0);
      expect(compareBallots(record.promise, floor)).toBeGreaterThanOrEqual(0);
    }
  },
);
