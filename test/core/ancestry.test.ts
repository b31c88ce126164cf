import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { ANCESTRY_FLOOR_ID, ANCESTRY_LIMIT, NO_ANCESTRY, type RecoveryDecision, ancestryOf, recoveryDecision } from '../../src/core/ancestry.js';
import { type Ballot, ZERO_BALLOT, ballotEquals, compareBallots } from '../../src/core/ballot.js';

const B = (counter: number, id: string): Ballot => ({ counter, id });

describe('ancestryOf: for each proposer but the state\'s own, its highest ballot among the ancestors', () => {
  const F = (counter: number): Ballot => ({ counter, id: ANCESTRY_FLOOR_ID });
  const sorted = (a: readonly Ballot[]): Ballot[] => [...a].sort(compareBallots);

  test("leaves out the state's own proposer (its ballot is its highest), keeps the others, adds the parent", () => {
    // The parent (3/q) was computed from states of p (2/p) and r (1/r).
    expect(sorted(ancestryOf(B(5, 'p'), [B(2, 'p'), B(1, 'r')], B(3, 'q')))).toEqual(sorted([B(1, 'r'), B(3, 'q')]));
  });

  test("the parent's entry is replaced by the parent's own ballot (its highest)", () => {
    expect(sorted(ancestryOf(B(9, 's'), [B(2, 'q'), B(4, 'r')], B(6, 'q')))).toEqual(sorted([B(4, 'r'), B(6, 'q')]));
  });

  test('one proposer writing a key: the empty ancestry, shared', () => {
    expect(ancestryOf(B(1, 'p'), NO_ANCESTRY, ZERO_BALLOT)).toBe(NO_ANCESTRY);
    expect(ancestryOf(B(2, 'p'), NO_ANCESTRY, B(1, 'p'))).toBe(NO_ANCESTRY);
    expect(ancestryOf(B(4, 's'), NO_ANCESTRY, B(3, 'q'))).toEqual([B(3, 'q')]);
  });

  test("an unknown parent ancestry becomes a floor entry at the parent's ballot", () => {
    expect(sorted(ancestryOf(B(7, 'p'), undefined, B(6, 'q')))).toEqual(sorted([F(6), B(6, 'q')]));
    expect(ancestryOf(B(7, 'p'), undefined, B(6, 'p'))).toEqual([F(6)]);
    // Nothing was accepted before: nothing to bound.
    expect(ancestryOf(B(1, 'p'), undefined, ZERO_BALLOT)).toEqual([]);
  });

  test('a floor entry of the parent is kept', () => {
    expect(sorted(ancestryOf(B(9, 'p'), [F(4), B(5, 'r')], B(6, 'q')))).toEqual(sorted([F(4), B(5, 'r'), B(6, 'q')]));
  });

  test(`holds at most ${ANCESTRY_LIMIT} proposers: the lowest is dropped into the floor entry`, () => {
    const parent = Array.from({ length: ANCESTRY_LIMIT }, (_, i) => B(10 + i, `q${i}`));
    const result = ancestryOf(B(100, 'p'), parent, B(50, 'z'));
    expect(result).toHaveLength(ANCESTRY_LIMIT + 1);
    expect(result.filter((b) => b.id === ANCESTRY_FLOOR_ID)).toEqual([F(10)]);
    expect(result.some((b) => b.id === 'q0')).toBe(false);
    expect(result).toContainEqual(B(50, 'z'));
    expect(result).toContainEqual(B(11, 'q1'));
  });

  test('the floor only rises: a dropped entry below the floor leaves it, one above raises it', () => {
    const full = (first: number): Ballot[] => Array.from({ length: ANCESTRY_LIMIT }, (_, i) => B(first + i, `q${i}`));
    const low = ancestryOf(B(200, 'p'), [F(50), ...full(10)], B(100, 'z'));
    expect(low.filter((b) => b.id === ANCESTRY_FLOOR_ID)).toEqual([F(50)]);
    const high = ancestryOf(B(200, 'p'), [F(5), ...full(10)], B(100, 'z'));
    expect(high.filter((b) => b.id === ANCESTRY_FLOOR_ID)).toEqual([F(10)]);
  });

  test('is frozen, and leaves its parent as it was', () => {
    const parent = Object.freeze([B(2, 'p'), B(3, 'r')]);
    const result = ancestryOf(B(5, 'p'), parent, B(4, 'q'));
    expect(Object.isFrozen(result)).toBe(true);
    expect(Object.isFrozen(ancestryOf(B(7, 'p'), undefined, B(6, 'q')))).toBe(true);
    expect(parent).toEqual([B(2, 'p'), B(3, 'r')]);
  });

  const ids = ['a', 'b', 'c', 'd', 'e'];
  test.prop([fc.array(fc.constantFrom(...ids), { minLength: 1, maxLength: 60 }), fc.boolean()])(
    'along any chain: one entry per other proposer, its highest ballot among the ancestors, or a floor above it',
    (authors, unknownRoot) => {
      // A chain of states, each accepted under a higher ballot by the given author; with
      // `unknownRoot` the first state's parent (1/z) reported no ancestry.
      let ancestry: readonly Ballot[] | undefined = unknownRoot ? undefined : NO_ANCESTRY;
      let parentBallot: Ballot = unknownRoot ? B(1, 'z') : ZERO_BALLOT;
      const ancestors: Ballot[] = unknownRoot ? [B(1, 'z')] : [];
      for (const [i, id] of authors.entries()) {
        const ballot = B(i + 2, id);
        ancestry = ancestryOf(ballot, ancestry, parentBallot);
        const entries = ancestry.filter((b) => b.id !== ANCESTRY_FLOOR_ID);
        const floors = ancestry.filter((b) => b.id === ANCESTRY_FLOOR_ID);
        expect(floors.length).toBeLessThanOrEqual(1);
        expect(entries.length).toBeLessThanOrEqual(ANCESTRY_LIMIT);
        expect(new Set(entries.map((b) => b.id)).size).toBe(entries.length);
        expect(entries.some((b) => b.id === id)).toBe(false);
        for (const other of new Set(ancestors.map((b) => b.id))) {
          if (other === id) continue;
          const highest = ancestors.filter((b) => b.id === other).reduce((x, y) => (compareBallots(x, y) > 0 ? x : y));
          const entry = entries.find((b) => b.id === other);
          if (entry !== undefined) expect(entry).toEqual(highest);
          else expect(floors[0]?.counter ?? -1).toBeGreaterThanOrEqual(highest.counter);
        }
        // Nothing listed that is not an ancestor.
        for (const entry of entries) expect(ancestors).toContainEqual(entry);
        ancestors.push(ballot);
        parentBallot = ballot;
      }
    },
  );

  test('with more proposers than the limit, the floor takes the lowest', () => {
    let ancestry: readonly Ballot[] = NO_ANCESTRY;
    let parent: Ballot = ZERO_BALLOT;
    for (let i = 1; i <= ANCESTRY_LIMIT + 6; i++) {
      const ballot = B(i, `p${i}`);
      ancestry = ancestryOf(ballot, ancestry, parent);
      parent = ballot;
    }
    // The last state's ancestors: p1 .. p37 (37 proposers); p1 .. p5 went into the floor.
    expect(ancestry).toHaveLength(ANCESTRY_LIMIT + 1);
    expect(ancestry.find((b) => b.id === ANCESTRY_FLOOR_ID)).toEqual(F(5));
    expect(ancestry.some((b) => b.id === 'p5')).toBe(false);
    expect(ancestry.some((b) => b.id === 'p6')).toBe(true);
  });
});

describe('recoveryDecision: did an accept with an unknown outcome take effect?', () => {
  const P = (counter: number): Ballot => B(counter, 'p');
  const F = (counter: number): Ballot => B(counter, ANCESTRY_FLOOR_ID);

  // ours: this proposer's (p's) states that may hold the changes; highest: the prepare quorum's
  // highest accepted ballot; ancestry: that state's (for every proposer but its own, its highest
  // ballot among the ancestors).
  test.each<[string, Ballot[], Ballot, readonly Ballot[] | undefined, RecoveryDecision]>([
    ['current: the quorum state is one of ours', [P(3), P(5)], P(5), undefined, { decision: 'current', match: 1 }],
    ['current: the older one of ours', [P(3), P(5)], P(3), [B(2, 'q')], { decision: 'current', match: 0 }],
    ['adopted: mine (our entry in the ancestry) is one of ours', [P(3), P(5)], B(6, 'q'), [P(3), B(1, 'r')], { decision: 'adopted', match: 0 }],
    ['adopted: the newer one of ours', [P(3), P(5)], B(7, 'q'), [P(5), F(2)], { decision: 'adopted', match: 1 }],
    ['reapply: the highest is below the oldest of ours (none can ever be chosen)', [P(5), P(7)], B(4, 'q'), [P(3)], { decision: 'reapply' }],
    ['reapply: highest below the oldest, even with no ancestry', [P(5)], B(4, 'q'), undefined, { decision: 'reapply' }],
    ['reapply: highest below the oldest, even our own older state', [P(5)], P(2), undefined, { decision: 'reapply' }],
    ['reapply: mine is below the oldest of ours (from an earlier round)', [P(5)], B(7, 'q'), [P(2), B(6, 'r')], { decision: 'reapply' }],
    ['reapply: no entry of ours and no floor: we are nowhere in the chain', [P(5)], B(7, 'q'), [B(6, 'r')], { decision: 'reapply' }],
    ['reapply: no entry of ours and the floor below the oldest', [P(5)], B(7, 'q'), [F(4), B(6, 'r')], { decision: 'reapply' }],
    ['reapply: the empty ancestry (nobody else before)', [P(5)], B(7, 'q'), [], { decision: 'reapply' }],
    ['undecidable: no entry of ours and the floor at the oldest', [P(5)], B(7, 'q'), [F(5), B(6, 'r')], { decision: 'undecidable' }],
    ['undecidable: no entry of ours and the floor above the oldest', [P(5)], B(9, 'q'), [F(8)], { decision: 'undecidable' }],
    ['undecidable: the ancestry is unknown', [P(5)], B(7, 'q'), undefined, { decision: 'undecidable' }],
    ['undecidable: mine is above the oldest of ours, yet not ours', [P(5)], B(9, 'q'), [P(6)], { decision: 'undecidable' }],
    ["undecidable: the quorum state is ours (p's) above the oldest, yet not one of ours", [P(5)], P(7), [], { decision: 'undecidable' }],
    ['reapply: nothing of ours is pending', [], B(7, 'q'), undefined, { decision: 'reapply' }],
  ])('%s', (_, ours, highest, ancestry, expected) => {
    expect(recoveryDecision(ours, highest, ancestry)).toEqual(expected);
  });

  /**
   * The brute-force model: a chain of states, each computed from the one before and accepted under
   * a higher ballot, with ancestries built by `ancestryOf` exactly as proposers build them (a link
   * whose parent ancestry was not reported is unknown); p's accepts that went nowhere (off the
   * chain); and `ours`, a random set of p's ballots closed under the precondition (p runs one round
   * per key at a time, so every ballot of p in the chain at or above the oldest of ours is ours).
   * Whether one of ours is the tip or an ancestor is then a plain lookup.
   */
  interface World {
    readonly chain: readonly Ballot[];
    readonly ancestry: readonly Ballot[] | undefined;
    readonly ours: readonly Ballot[];
    readonly complete: boolean;
  }

  const many = Array.from({ length: 40 }, (_, i) => `q${i}`);
  const worldArb: fc.Arbitrary<World> = fc
    .record({
      wide: fc.boolean(),
      links: fc.array(
        fc.record({
          author: fc.oneof({ weight: 3, arbitrary: fc.constant('p') }, { weight: 6, arbitrary: fc.constantFrom('q', 'r', 's') }, { weight: 3, arbitrary: fc.constantFrom(...many) }),
          wideAuthor: fc.constantFrom(...many),
          gap: fc.integer({ min: 1, max: 3 }),
          unknown: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
        }),
        { minLength: 1, maxLength: 60 },
      ),
      tipUnreported: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      offChain: fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 4 }),
      mask: fc.array(fc.boolean(), { minLength: 80, maxLength: 80 }),
    })
    .map(({ wide, links, tipUnreported, offChain, mask }) => {
      const chain: Ballot[] = [];
      let ancestry: readonly Ballot[] | undefined = [];
      let parent: Ballot = ZERO_BALLOT;
      let counter = 0;
      let complete = !tipUnreported;
      for (const [i, link] of links.entries()) {
        counter += link.gap;
        // In a wide world most authors are distinct, so the ancestry overflows its limit.
        const author = wide && link.author !== 'p' ? (i % 2 === 0 ? link.wideAuthor : `w${i}`) : link.author;
        const ballot = B(counter, author);
        const unknown = link.unknown && i > 0;
        if (unknown) complete = false;
        ancestry = ancestryOf(ballot, unknown ? undefined : ancestry, parent);
        chain.push(ballot);
        parent = ballot;
      }
      const others = new Set(chain.slice(0, -1).map((b) => b.id));
      others.delete((chain.at(-1) as Ballot).id);
      if (others.size > ANCESTRY_LIMIT) complete = false;
      const chainP = chain.filter((b) => b.id === 'p');
      const offP = [...new Set(offChain)].filter((c) => !chainP.some((b) => b.counter === c)).map(P);
      const allP = [...chainP, ...offP];
      let ours = allP.filter((_, i) => mask[i] === true);
      if (ours.length === 0) ours = [allP[0] ?? P(999)];
      const oldest = ours.reduce((x, y) => (compareBallots(x, y) < 0 ? x : y));
      for (const b of chainP) if (compareBallots(b, oldest) >= 0 && !ours.some((o) => ballotEquals(o, b))) ours.push(b);
      ours.sort(compareBallots);
      return { chain, ancestry: tipUnreported ? undefined : ancestry, ours, complete };
    });

  test.prop([worldArb], { numRuns: 2000 })(
    "never reapplies when one of ours is (an ancestor of) the quorum's state, never claims one is when none is",
    ({ chain, ancestry, ours, complete }) => {
      const tip = chain.at(-1) as Ballot;
      const inChain = ours.filter((o) => chain.some((c) => ballotEquals(c, o)));
      const verdict = recoveryDecision(ours, tip, ancestry);
      if (verdict.decision === 'reapply') expect(inChain).toEqual([]);
      if (verdict.decision === 'current') expect(ours[verdict.match]).toEqual(tip);
      if (verdict.decision === 'adopted' || verdict.decision === 'current') {
        // The match is the newest of ours in the chain: the state holding the changes last.
        expect(inChain.length).toBeGreaterThan(0);
        expect(ours[verdict.match]).toEqual(inChain.at(-1));
      }
      // With every ancestry known and short enough, the answer is always definite.
      if (complete) expect(verdict.decision).not.toBe('undecidable');
    },
  );
});
