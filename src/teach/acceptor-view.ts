/**
 * What a teaching cluster's acceptors hold, as plain frozen records (`TeachingCluster.acceptors()`):
 * per key the promise, the accepted ballot and the value, and what garbage collection left behind
 * (minimum proposer ages, the tombstone floor). Tables, notebooks and the playground render these.
 */
import type { MemoryAcceptor } from '../acceptor/memory-acceptor.js';
import { formatBallot, isZeroBallot } from '../core/ballot.js';
import type { Simulation } from '../sim/simulation.js';
import { previewState } from '../trace/text.js';
import { textOrPreview } from './changes.js';

/** What `acceptors()` reports about one key on one acceptor. */
export interface AcceptorRecordView {
  /** The key, exactly as proposed (tables and diagrams show it through `displayName`). */
  readonly key: string;
  /** The highest ballot promised, `3/p1`; `ø` is the zero ballot. */
  readonly promise: string;
  /** The ballot of the accepted state, `ø` if none was accepted. */
  readonly accepted: string;
  /** The accepted state as text (`null`: empty), or its preview when it is not text. */
  readonly value: string | null;
  /** The accepted state as diagrams show it: `"hello"`, `∅`. */
  readonly preview: string;
}

/** What `acceptors()` reports about one acceptor. */
export interface AcceptorView {
  /** Its address: `a1`, `a2`, ... or a name given in `ClusterOptions.acceptors` or to `grow`. */
  readonly address: string;
  /** False while crashed. Its records survive the crash (it persisted every write before replying). */
  readonly up: boolean;
  /**
   * In the proposers' sets: `member` (prepares and accepts), `accepts only` or `prepares only`
   * (half way through a membership change), or `not a member`.
   */
  readonly membership: 'member' | 'accepts only' | 'prepares only' | 'not a member';
  /** Its records, by key (keys it never heard of are absent; so are garbage-collected ones). */
  readonly records: readonly AcceptorRecordView[];
  /** Minimum proposer ages garbage collection made it require (paper §3.1 step c), by proposer id. */
  readonly minimumAges: Readonly<Record<string, number>>;
  /** The promise every absent key behaves as having after garbage collection (`ø` before any). */
  readonly tombstoneFloor: string;
}

/**
 * Every acceptor of `sim` (its acceptors are `MemoryAcceptor`s), in the order they joined, with
 * its records of `keys` (sorted) and its fences against the proposers `proposerIds`.
 */
export function viewAcceptors(sim: Simulation, keys: Iterable<string>, proposerIds: readonly string[]): AcceptorView[] {
  const sorted = [...keys].sort();
  const proposers = sim.proposers;
  return sim.acceptors.map((node) => {
    const acceptor = node.acceptor as MemoryAcceptor;
    const records: AcceptorRecordView[] = [];
    for (const key of sorted) {
      const record = acceptor.inspect(key);
      if (record === undefined) continue;
      records.push(
        Object.freeze({ key, promise: formatBallot(record.promise), accepted: formatBallot(record.accepted), value: textOrPreview(record.state), preview: previewState(record.state) }),
      );
    }
    const prepares = proposers.some((p) => p.preparers.includes(node.address));
    const accepts = proposers.some((p) => p.accepters.includes(node.address));
    const membership = prepares && accepts ? 'member' : accepts ? 'accepts only' : prepares ? 'prepares only' : 'not a member';
    const minimumAges: Record<string, number> = {};
    for (const id of proposerIds) {
      // A restarted proposer's incarnations (`p1#2`) have ages of their own.
      for (const incarnation of [id, sim.proposer(id).incarnationId]) {
        const age = acceptor.minimumAge(incarnation);
        if (age > 0) minimumAges[incarnation] = age;
      }
    }
    const floor = acceptor.tombstoneFloor;
    return Object.freeze({
      address: node.address,
      up: node.up,
      membership,
      records: Object.freeze(records),
      minimumAges: Object.freeze(minimumAges),
      tombstoneFloor: isZeroBallot(floor) ? 'ø' : formatBallot(floor),
    });
  });
}
