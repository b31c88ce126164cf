/**
 * BROKEN, for negative controls: gives every `MemoryProposer` of the test file the ballot source
 * it had before per-key counters (issue 11), until the returned function restores it: one
 * `BallotGenerator` for all keys, fast-forwarded to every ballot seen on any key, with no limit
 * (the acceptors' wire refuses counters above `MAX_BALLOT_COUNTER`, see `WireLimitedAcceptor`).
 */
import type { Ballot } from '../../src/core/ballot.js';
import { BallotGenerator } from '../../src/core/ballot-generator.js';
import { type CounterMove, ProposerBallots } from '../../src/proposer/key-ballots.js';

export function withGlobalBallotCounter(): () => void {
  const prototype = ProposerBallots.prototype;
  const originals = {
    take: prototype.take,
    skip: prototype.skip,
    reserve: prototype.reserve,
    observe: prototype.observe,
    forward: prototype.forward,
  };
  const generators = new WeakMap<ProposerBallots, BallotGenerator>();
  const generatorOf = (ballots: ProposerBallots): BallotGenerator => {
    let generator = generators.get(ballots);
    if (generator === undefined) generators.set(ballots, (generator = new BallotGenerator(ballots.id)));
    return generator;
  };
  const fastForward = (ballots: ProposerBallots, seen: Ballot): CounterMove | undefined => {
    const generator = generatorOf(ballots);
    const from = generator.counter;
    return generator.fastForward(seen) ? { from, to: generator.counter, far: false } : undefined;
  };
  prototype.take = function (this: ProposerBallots) {
    return generatorOf(this).next();
  };
  prototype.skip = function (this: ProposerBallots) {
    generatorOf(this).next();
  };
  prototype.reserve = function (this: ProposerBallots) {
    return generatorOf(this).next();
  };
  prototype.observe = function (this: ProposerBallots, _key: string, seen: Ballot) {
    return fastForward(this, seen);
  };
  prototype.forward = function (this: ProposerBallots, _key: string, seen: Ballot) {
    return fastForward(this, seen);
  };
  return () => Object.assign(prototype, originals);
}
