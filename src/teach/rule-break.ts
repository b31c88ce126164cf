/**
 * What a counterexample switch is: a deliberately broken variant of the protocol, built beside
 * the real code (a proposer wrapped through the simulator's `ProposerFactory`, or a membership
 * change of its own), never a flag inside it. A teaching cluster built with `breaks` runs it; its
 * `check()` then finds the violation with the library's own checkers.
 */
import type { MembershipOptions } from '../cluster/options.js';
import type { Acceptor, ConfigurationChanger } from '../roles.js';
import type { ProposerFactory } from '../sim/proposer-node.js';

/** Adds `target` to the cluster served by `proposers` (what `growCluster` does, correctly). */
export type GrowFunction = (target: Acceptor, proposers: readonly ConfigurationChanger[], options: MembershipOptions) => Promise<void>;

/** A rule of CASPaxos, broken on purpose (see the module). */
export interface RuleBreak {
  /** A stable name: `read-without-write-back`, `grow-without-identity-pass`, ... */
  readonly id: string;
  /** A short title: `Reads that do not write back`. */
  readonly title: string;
  /** The rule it breaks, and where it comes from (the paper's section). */
  readonly rule: string;
  /** What goes wrong without the rule, and which checker finds it. */
  readonly consequence: string;
  /** Wraps the cluster's proposer factory: the proposers it builds are the broken ones. */
  readonly proposers?: ((factory: ProposerFactory) => ProposerFactory) | undefined;
  /** Replaces the membership change that adds an acceptor (`TeachingCluster.grow`). */
  readonly grow?: GrowFunction | undefined;
  /**
   * Acceptors restart empty (`TeachingCluster.restart`), as if they had answered before writing
   * to disk: the simulator's amnesiac restart.
   */
  readonly forgetsOnRestart?: boolean | undefined;
}
