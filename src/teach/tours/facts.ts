/**
 * Small facts about a cluster that tour checkpoints state: what an acceptor holds, which value of
 * a key is chosen, how an operation ended.
 */
import type { AcceptorRecordView } from '../acceptor-view.js';
import type { OperationHandle } from '../operation-handle.js';
import type { TeachingCluster } from '../teaching-cluster.js';

/** What `acceptor` holds for `key`, if anything. */
export function recordOf(cluster: TeachingCluster, acceptor: string, key: string): AcceptorRecordView | undefined {
  return cluster.acceptors().find((a) => a.address === acceptor)?.records.find((r) => r.key === key);
}

/** True when every acceptor in `acceptors` has promised `ballot` for `key`. */
export function allPromised(cluster: TeachingCluster, acceptors: readonly string[], key: string, ballot: string): boolean {
  return acceptors.every((a) => recordOf(cluster, a, key)?.promise === ballot);
}

/** The chosen value of `key` (held by a majority under one ballot): its text, `null` for empty, `undefined` when none is. */
export function chosen(cluster: TeachingCluster, key: string): string | null | undefined {
  return cluster.state().values.find((v) => v.key === key && v.chosen)?.value;
}

/** True when `op` is done with `value` (and, if given, at `ballot`). */
export function doneWith(op: OperationHandle | undefined, value: string | null, ballot?: string): boolean {
  return op !== undefined && op.status === 'done' && op.value === value && (ballot === undefined || op.ballot === ballot);
}

/** The explanations of what happened since `mark`, as lines. */
export function story(cluster: TeachingCluster, mark: number): string[] {
  return cluster.explanations({ since: mark }).map(String);
}
