import { describe, expect, test } from 'vitest';
import { type Ballot, ZERO_BALLOT } from '../../src/core/ballot.js';
import { ChosenDetector } from '../../src/core/chosen.js';
import type { AcceptedState } from '../../src/core/messages.js';

const B = (counter: number, id = 'p'): Ballot => ({ counter, id });
const at = (counter: number, byte: number, id = 'p'): AcceptedState => ({ ballot: B(counter, id), state: Uint8Array.of(byte) });

describe('ChosenDetector: a state accepted by a majority of the accepters under one ballot is chosen', () => {
  test('before the baseline, reports are only collected', () => {
    const d = new ChosenDetector(3);
    expect(d.report(0, at(2, 2))).toBeUndefined();
    expect(d.report(1, at(2, 2))).toBeUndefined();
    expect(d.last).toBeUndefined();
  });

  test('the baseline returns the states a majority reported above it, in ballot order', () => {
    const d = new ChosenDetector(3);
    for (const voter of [0, 1]) d.report(voter, at(7, 7));
    for (const voter of [2, 0]) d.report(voter, at(5, 5));
    for (const voter of [0, 1, 2]) d.report(voter, at(2, 2)); // at or below the baseline: older
    d.report(1, at(9, 9)); // one accepter only: not chosen
    expect(d.start(at(3, 3))).toEqual([at(5, 5), at(7, 7)]);
    expect(d.last).toEqual(B(7));
  });

  test('after the baseline, the report that completes a majority returns the state, once', () => {
    const d = new ChosenDetector(3);
    expect(d.start(at(1, 1))).toEqual([]);
    expect(d.report(0, at(2, 2))).toBeUndefined();
    expect(d.report(1, at(2, 2))).toEqual(at(2, 2));
    expect(d.report(2, at(2, 2))).toBeUndefined(); // already chosen
    expect(d.last).toEqual(B(2));
  });

  test('an accepter that reports a ballot twice counts once', () => {
    const d = new ChosenDetector(3);
    d.start(at(1, 1));
    expect(d.report(0, at(2, 2))).toBeUndefined();
    expect(d.report(0, at(2, 2))).toBeUndefined();
    expect(d.report(1, at(2, 2))).toEqual(at(2, 2));
  });

  test('states at or below the last chosen ballot are ignored, and so is the empty ballot', () => {
    const d = new ChosenDetector(3);
    d.start(at(1, 1));
    d.report(0, at(4, 3, 'q'));
    for (const voter of [0, 1]) d.report(voter, at(5, 5));
    // 4/q had one vote when 5/p was chosen: a second vote comes too late, its state is older.
    expect(d.report(1, at(4, 3, 'q'))).toBeUndefined();
    for (const voter of [0, 1]) expect(d.report(voter, { ballot: ZERO_BALLOT, state: null })).toBeUndefined();
    expect(d.last).toEqual(B(5));
  });

  test('each ballot is counted on its own: votes for different ballots never add up', () => {
    const d = new ChosenDetector(5);
    d.start(at(1, 1));
    expect(d.report(0, at(2, 2))).toBeUndefined();
    expect(d.report(1, at(3, 3))).toBeUndefined();
    expect(d.report(2, at(2, 2))).toBeUndefined();
    expect(d.report(3, at(2, 2))).toEqual(at(2, 2)); // 3 of 5
  });

  test.each([
    [3, 1],
    [4, 1],
    [5, 2],
  ])('with %i accepters, a majority is still seen after %i stop, not after one more', (accepters, tolerated) => {
    const d = new ChosenDetector(accepters);
    for (let i = 0; i < tolerated; i++) expect(d.accepterStopped()).toBe(true);
    expect(d.accepterStopped()).toBe(false);
  });
});
