/**
 * BROKEN, for negative controls: turns rule G1 (`Attempt.afterPrepare`: a round commits under a
 * ballot counter strictly above its base state's) off in every `MemoryProposer` of this test file
 * until the returned function restores it. A won prepare whose counter only ties the highest
 * accepted one then proceeds to its accept, as before the rule.
 */
import { Attempt } from '../../src/core/attempt.js';

export function withoutRuleG1(): () => void {
  const original = Attempt.prototype.afterPrepare;
  Attempt.prototype.afterPrepare = function (this: Attempt, prepare, proposerAge, collections) {
    const ballot = this.ballot;
    if (prepare.status !== 'won' || prepare.highestAccepted.counter < ballot.counter) return original.call(this, prepare, proposerAge, collections);
    // The rule compares counters only: show it a counter above, for the length of the call.
    this.ballot = { counter: prepare.highestAccepted.counter + 1, id: ballot.id };
    try {
      return original.call(this, prepare, proposerAge, collections);
    } finally {
      this.ballot = ballot;
    }
  };
  return () => {
    Attempt.prototype.afterPrepare = original;
  };
}
