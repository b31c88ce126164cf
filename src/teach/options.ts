/**
 * The options of a teaching cluster (`createCluster`) and of its `run*` methods, and their
 * checks: a bad option throws `InvalidArgumentError` naming it, before anything is built.
 */
import { InvalidArgumentError } from '../errors.js';
import { integerOption } from '../internal/validate.js';
import type { RetryPolicy } from '../retry.js';
import type { NetworkProfile } from '../sim/network.js';
import type { RuleBreak } from './rule-break.js';

/** Options of `createCluster`: the cluster's shape, its seed, and how it behaves when it runs by itself. */
export interface ClusterOptions {
  /**
   * The acceptors: how many (named `a1`, `a2`, ...), or their addresses. 2F+1 acceptors tolerate
   * F failures.
   * @default 3
   */
  readonly acceptors?: number | readonly string[] | undefined;
  /**
   * The proposers: how many (named `p1`, `p2`, ...), or their ids.
   * @default ['p1', 'p2']
   */
  readonly proposers?: number | readonly string[] | undefined;
  /**
   * The seed of every random decision (message delays, retry jitter, which proposer an operator
   * step uses). Same seed, same calls: same run.
   * @default 1
   */
  readonly seed?: number | undefined;
  /**
   * Message loss, duplication and delays when the cluster runs by itself.
   * @default no loss, no duplicates, 0.1 to 1 ms per message
   */
  readonly network?: NetworkProfile | undefined;
  /**
   * One round trip (paper §2.2.1): an accept also asks for a promise on the next ballot, so the
   * proposer's next change to the key skips the prepare phase. Off by default so that every
   * proposal shows the paper's two phases; turn it on to watch the optimisation.
   * @default false
   */
  readonly oneRoundTrip?: boolean | undefined;
  /**
   * The proposers' retry policy after a lost round (see `RetryPolicy`): the first retry is
   * immediate, later ones wait a random delay under a growing cap.
   * @default 10 attempts, delays capped at 1, 2, 4, ... up to 100 ms
   */
  readonly retry?: Partial<RetryPolicy> | undefined;
  /**
   * How long a proposer waits for an acceptor's reply before it counts the acceptor as
   * unreachable, in virtual milliseconds.
   * @default 20
   */
  readonly timeoutMs?: number | undefined;
  /**
   * Rules of CASPaxos to break on purpose, to watch what goes wrong (see `counterexamples` and
   * `TeachingCluster.check()`): each is a broken variant built beside the real protocol, which
   * stays as it is.
   * @default [] (the real protocol)
   */
  readonly breaks?: readonly RuleBreak[] | undefined;
}

/** Options of the `run*` methods. */
export interface RunOptions {
  /** The most events to run; a run that reaches it stops there (check `operations()`). @default 10000 */
  readonly maxSteps?: number | undefined;
}

const DEFAULT_MAX_STEPS = 10_000;

/** `ClusterOptions`, checked, with their defaults filled in. */
export interface ResolvedClusterOptions {
  readonly acceptors: readonly string[];
  readonly proposers: readonly string[];
  readonly seed: number;
  readonly timeoutMs: number;
  readonly oneRoundTrip: boolean;
  readonly network: NetworkProfile | undefined;
  readonly retry: Partial<RetryPolicy> | undefined;
  readonly breaks: readonly RuleBreak[];
}

/** Checks `options` and fills in the defaults. Throws `InvalidArgumentError` on a bad option. */
export function resolveClusterOptions(options: ClusterOptions): ResolvedClusterOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('createCluster(options): options must be an object');
  const acceptors = names(options.acceptors ?? 3, 'a', 'acceptors');
  const proposers = names(options.proposers ?? ['p1', 'p2'], 'p', 'proposers');
  const all = [...acceptors, ...proposers];
  const clash = all.find((name, i) => all.indexOf(name) !== i || name === 'operator');
  if (clash !== undefined) throw new InvalidArgumentError(`node names must be unique and not "operator"; ${JSON.stringify(clash)} is not`);
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw new InvalidArgumentError(`seed must be an integer in [0, 2^32), got ${String(seed)}`);
  const timeoutMs = options.timeoutMs ?? 20;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new InvalidArgumentError(`timeoutMs must be a number > 0, got ${String(timeoutMs)}`);
  if (options.oneRoundTrip !== undefined && typeof options.oneRoundTrip !== 'boolean') throw new InvalidArgumentError('oneRoundTrip must be a boolean');
  const breaks = options.breaks ?? [];
  if (!Array.isArray(breaks) || breaks.some((b: unknown) => typeof b !== 'object' || b === null || typeof (b as RuleBreak).id !== 'string')) {
    throw new InvalidArgumentError('breaks must be an array of rule breaks (see counterexamples)');
  }
  if (breaks.filter((b) => b.grow !== undefined).length > 1) throw new InvalidArgumentError('breaks: at most one may replace grow');
  return { acceptors, proposers, seed, timeoutMs, oneRoundTrip: options.oneRoundTrip ?? false, network: options.network, retry: options.retry, breaks: [...breaks] };
}

/** Node names: `value` of them (`a1`, `a2`, ... for prefix `a`), or the names `value` gives, checked. */
function names(value: number | readonly string[], prefix: string, what: string): string[] {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 1 || value > 99) throw new InvalidArgumentError(`${what} must be a count from 1 to 99 or an array of names, got ${value}`);
    return Array.from({ length: value }, (_, i) => `${prefix}${i + 1}`);
  }
  if (!Array.isArray(value) || value.length === 0) throw new InvalidArgumentError(`${what} must be a count from 1 to 99 or a non-empty array of names`);
  for (const name of value) if (typeof name !== 'string' || name === '') throw new InvalidArgumentError(`${what}: every name must be a non-empty string`);
  return [...(value as readonly string[])];
}

/** `RunOptions.maxSteps`, checked. */
export function maxSteps(options: RunOptions): number {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('run options must be an object');
  return integerOption(options.maxSteps, 'maxSteps', 1, DEFAULT_MAX_STEPS);
}
