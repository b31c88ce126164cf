/**
 * `KeyBallots`: per-key ballot counters (src/core/key-ballots.ts). The properties are the module's
 * claims: (1) the counters handed out for one key strictly increase and never pass
 * `MAX_BALLOT_COUNTER`; (2) after seeing X on a key, its next ballot is above X (unless refused or
 * out of counters); (3) seeing a ballot on one key moves another key's counter by at most
 * `MAX_BALLOT_JUMP`, not at all once the key has a floor, and a refusal moves nothing. The
 * negative controls must see them fail: property 3 on the one global counter of `BallotGenerator`
 * (what the proposer used before); properties 1 and 2 on a source that ignores far ballots (no
 * floors: the key never gets above them) and on one that forgets a floor once used (the key is
 * handed a counter it used before).
 *
 * Replaying a failure: FC_SEED=... npx vitest run test/core/key-ballots.test.ts
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { type Ballot, MAX_BALLOT_COUNTER } from '../../src/core/ballot.js';
import { BallotGenerator } from '../../src/core/ballot-generator.js';
import { KeyBallots, MAX_BALLOT_JUMP, type Observation } from '../../src/core/key-ballots.js';

const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4'] as const;

/** Counters from everywhere that matters: small, around the jump, anywhere, at and near the limit. */
const counterArb = fc.oneof(
  fc.integer({ min: 1, max: 50 }),
  fc.integer({ min: MAX_BALLOT_JUMP - 3, max: MAX_BALLOT_JUMP + 3 }),
  fc.integer({ min: 1, max: MAX_BALLOT_COUNTER }),
  fc.integer({ min: MAX_BALLOT_COUNTER - 3, max: MAX_BALLOT_COUNTER }),
);

type Op = { readonly op: 'next'; readonly key: string } | { readonly op: 'observe'; readonly key: string; readonly counter: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('next' as const), key: fc.constantFrom(...KEYS) }),
  fc.record({ op: fc.constant('observe' as const), key: fc.constantFrom(...KEYS), counter: counterArb }),
);

/** The two operations of a proposer's ballot source, as the properties see it. */
interface Source {
  next(key: string): Ballot | undefined;
  observe(key: string, seen: Ballot): Observation;
  counterOf(key: string): number;
}

/**
 * BROKEN, for the negative control: the proposer's ballot source before per-key counters, one
 * counter for every key, fast-forwarded to any ballot seen (`BallotGenerator`). Its counters pass
 * the limit, where acceptors refuse them: `next` answers `undefined` there, as an exhausted key.
 */
function globalSource(id: string): Source {
  const generator = new BallotGenerator(id);
  return {
    next: () => (generator.counter >= MAX_BALLOT_COUNTER ? undefined : generator.next()),
    observe: (_key, seen) => (generator.fastForward(seen) ? 'global' : 'none'),
    counterOf: () => generator.counter,
  };
}

/** BROKEN: follows near ballots only and ignores far ones (no floors): claim 2 fails. */
function ignoringFarSource(id: string): Source {
  let global = 0;
  return {
    next: () => (global >= MAX_BALLOT_COUNTER ? undefined : { counter: ++global, id }),
    observe: (_key, seen) => {
      if (seen.counter <= global || seen.counter - global > MAX_BALLOT_JUMP) return 'none';
      global = seen.counter;
      return 'global';
    },
    counterOf: () => global,
  };
}

/** BROKEN: a key's floor serves one ballot and is forgotten (as an evicting cache would): claim 1 fails. */
function forgetfulSource(id: string): Source {
  const ballots = new KeyBallots(id);
  const floors = new Set<string>();
  return {
    next: (key) => {
      if (!floors.has(key)) return ballots.next(key);
      const counter = ballots.counterOf(key) + 1;
      if (counter > MAX_BALLOT_COUNTER) return undefined;
      // Forget the floor: hand out the one above it, then let the key fall back to the global counter.
      floors.delete(key);
      return { counter, id };
    },
    observe: (key, seen) => {
      const observation = ballots.observe(key, seen);
      if (observation === 'floor') floors.add(key);
      return observation;
    },
    counterOf: (key) => (floors.has(key) ? ballots.counterOf(key) : ballots.counter),
  };
}

/** Claims 1 and 2, per key: a violation, or undefined. */
function claimsViolation(source: Source, ops: readonly Op[]): string | undefined {
  const last = new Map<string, number>();
  const seen = new Map<string, number>();
  for (const op of ops) {
    if (op.op === 'observe') {
      if (source.observe(op.key, { counter: op.counter, id: 'x' }) !== 'refused') seen.set(op.key, Math.max(seen.get(op.key) ?? 0, op.counter));
      continue;
    }
    const ballot = source.next(op.key);
    if (ballot === undefined) {
      if (source.counterOf(op.key) < MAX_BALLOT_COUNTER) return `no ballot for ${op.key} below the limit`;
      continue;
    }
    if (ballot.counter > MAX_BALLOT_COUNTER) return `${op.key} got ${ballot.counter}, above the limit`;
    if (ballot.counter <= (last.get(op.key) ?? 0)) return `${op.key} got ${ballot.counter} after ${last.get(op.key)}`;
    if (ballot.counter <= (seen.get(op.key) ?? 0)) return `${op.key} got ${ballot.counter}, not above ${seen.get(op.key)} seen on it`;
    last.set(op.key, ballot.counter);
  }
  return undefined;
}

/** Claim 3: what a ballot seen on one key does to the others. Returns a violation, or undefined. */
function containmentViolation(source: Source, ops: readonly Op[]): string | undefined {
  for (const op of ops) {
    if (op.op === 'next') {
      source.next(op.key);
      continue;
    }
    const before = new Map(KEYS.map((key) => [key, source.counterOf(key)]));
    const observation = source.observe(op.key, { counter: op.counter, id: 'x' });
    for (const key of KEYS) {
      if (key === op.key) continue;
      const moved = source.counterOf(key) - (before.get(key) as number);
      if (moved > MAX_BALLOT_JUMP) return `seeing ${op.counter} on ${op.key} moved ${key} by ${moved}`;
      if (observation === 'refused' && moved !== 0) return `a refusal on ${op.key} moved ${key}`;
    }
  }
  return undefined;
}

describe('KeyBallots', () => {
  test('keys without a floor share the global counter, as one BallotGenerator', () => {
    const ballots = new KeyBallots('p');
    expect(ballots.next('a')).toEqual({ counter: 1, id: 'p' });
    expect(ballots.next('b')).toEqual({ counter: 2, id: 'p' });
    expect(ballots.observe('a', { counter: 40, id: 'q' })).toBe('global');
    expect(ballots.next('b')).toEqual({ counter: 41, id: 'p' });
    expect(ballots.observe('b', { counter: 3, id: 'q' })).toBe('none');
    expect(ballots.counter).toBe(41);
    expect(ballots.farKeys).toBe(0);
  });

  test('a hostile ballot at the limit uses up its own key only, and moves the others by MAX_BALLOT_JUMP at most, once', () => {
    const ballots = new KeyBallots('p', { counter: 100 });
    expect(ballots.observe('bad', { counter: MAX_BALLOT_COUNTER - 1, id: 'evil' })).toBe('floor');
    expect(ballots.counter).toBe(100 + MAX_BALLOT_JUMP);
    expect(ballots.next('bad')).toEqual({ counter: MAX_BALLOT_COUNTER, id: 'p' });
    expect(ballots.next('bad')).toBeUndefined();
    expect(ballots.next('bad')).toBeUndefined();
    // Seen again, and higher: the key follows alone.
    expect(ballots.observe('bad', { counter: MAX_BALLOT_COUNTER, id: 'zz' })).toBe('none');
    expect(ballots.counter).toBe(100 + MAX_BALLOT_JUMP);
    expect(ballots.next('good')).toEqual({ counter: 101 + MAX_BALLOT_JUMP, id: 'p' });
    expect(ballots.farKeys).toBe(1);
  });

  test('a floor at or below the global counter is dropped, and the key shares the global counter again', () => {
    const ballots = new KeyBallots('p');
    expect(ballots.observe('k', { counter: MAX_BALLOT_JUMP + 10, id: 'q' })).toBe('floor');
    expect(ballots.counterOf('k')).toBe(MAX_BALLOT_JUMP + 10);
    expect(ballots.observe('other', { counter: MAX_BALLOT_JUMP + 20, id: 'q' })).toBe('global');
    expect(ballots.next('k')).toEqual({ counter: MAX_BALLOT_JUMP + 21, id: 'p' });
    expect(ballots.farKeys).toBe(0);
  });

  test('a new proposer catches up with a cluster far ahead by MAX_BALLOT_JUMP per key it meets there', () => {
    const cluster = 2 ** 36 + 5;
    const ballots = new KeyBallots('p#2');
    const outcomes: Observation[] = [];
    for (let i = 0; i < 20; i++) outcomes.push(ballots.observe(`key${i}`, { counter: cluster + i, id: 'q' }));
    // 16 steps of 2^32 reach 2^36: the 17th key is near.
    expect(outcomes.indexOf('global')).toBe(16);
    expect(outcomes.slice(17).every((o) => o === 'global')).toBe(true);
    for (let i = 0; i < 20; i++) expect(ballots.next(`key${i}`)?.counter).toBeGreaterThan(cluster + i);
    // Every catch-up floor was passed by the global counter and dropped as its key was used.
    expect(ballots.farKeys).toBe(0);
  });

  test('beyond maxFarKeys a new far key is refused and nothing changes; a floor the global counter passed makes room', () => {
    const ballots = new KeyBallots('p', { maxFarKeys: 1 });
    expect(ballots.observe('a', { counter: MAX_BALLOT_COUNTER - 5, id: 'q' })).toBe('floor');
    const counter = ballots.counter;
    expect(ballots.observe('b', { counter: MAX_BALLOT_COUNTER - 9, id: 'q' })).toBe('refused');
    expect(ballots.counter).toBe(counter);
    expect(ballots.counterOf('b')).toBe(counter);
    const zero = new KeyBallots('p', { maxFarKeys: 1 });
    expect(zero.observe('a', { counter: MAX_BALLOT_JUMP + 9, id: 'q' })).toBe('floor');
    expect(zero.observe('c', { counter: MAX_BALLOT_JUMP * 2, id: 'q' })).toBe('global');
    expect(zero.observe('b', { counter: MAX_BALLOT_JUMP * 4, id: 'q' })).toBe('floor');
  });

  test('the constructor checks its options', () => {
    expect(() => new KeyBallots('')).toThrow(RangeError);
    expect(() => new KeyBallots('p', { counter: MAX_BALLOT_COUNTER + 1 })).toThrow(RangeError);
    expect(() => new KeyBallots('p', { maxFarKeys: -1 })).toThrow(RangeError);
  });

  test.prop([fc.array(opArb, { maxLength: 80 }), fc.integer({ min: 0, max: 3 })])(
    'per key, counters strictly increase, stay within the limit, and pass every ballot seen on the key (claims 1 and 2)',
    (ops, maxFarKeys) => {
      const ballots = new KeyBallots('p', { maxFarKeys });
      expect(claimsViolation(ballots, ops)).toBeUndefined();
      expect(ballots.farKeys).toBeLessThanOrEqual(maxFarKeys);
    },
  );

  test.prop([fc.array(opArb, { maxLength: 80 }), fc.integer({ min: 0, max: 3 })])(
    'a ballot seen on one key moves another key by MAX_BALLOT_JUMP at most, and a refusal moves nothing (claim 3)',
    (ops, maxFarKeys) => {
      expect(containmentViolation(new KeyBallots('p', { maxFarKeys }), ops)).toBeUndefined();
    },
  );

  test.prop([fc.array(fc.tuple(fc.constantFrom(...KEYS), counterArb), { minLength: 1, maxLength: 30 })])(
    'once a key has a floor above the global counter, nothing seen on it moves the global counter',
    (seen) => {
      const ballots = new KeyBallots('p');
      ballots.observe('far', { counter: MAX_BALLOT_COUNTER - 2, id: 'x' });
      for (const [key, counter] of seen) {
        const before = ballots.counter;
        ballots.observe('far', { counter, id: 'y' });
        expect(ballots.counter).toBe(before);
        ballots.next(key);
      }
    },
  );

  test.each([
    ['the one global counter fails claim 3', globalSource, containmentViolation, /moved/],
    ['ignoring far ballots fails claim 2', ignoringFarSource, claimsViolation, /not above .* seen/],
    ['forgetting floors fails claim 1', forgetfulSource, claimsViolation, /after/],
  ] as const)('negative control: %s', (_, source, violation, expected) => {
    const details = fc.check(fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
      const found = violation(source('p'), ops);
      if (found !== undefined) throw new Error(found);
    }), { numRuns: 500, ...(process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) }) });
    expect(details.failed, `seed ${details.seed}`).toBe(true);
    expect(String(details.errorInstance)).toMatch(expected);
  });

  test('negative control, by hand: with the one global counter, one hostile prepare leaves every key out of counters', () => {
    const source = globalSource('p');
    source.observe('bad', { counter: MAX_BALLOT_COUNTER - 1, id: 'evil' });
    source.next('bad');
    expect(source.next('good')).toBeUndefined();
  });
});
