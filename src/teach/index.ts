/**
 * `caspaxos/teach`: CASPaxos step by step, for learning and teaching. A simulated cluster you
 * drive one message at a time (`createCluster`), text-valued change helpers (`set`, `increment`,
 * `read`, `remove`, ...), and objects that display themselves in Jupyter notebooks (Deno's kernel),
 * Node's REPL and `console.log`. Deterministic (a seed, virtual time) and pure: no `node:` imports,
 * no real timers; runs in browsers and notebooks.
 *
 * @example
 * import { createCluster, set } from 'caspaxos/teach';
 * const cluster = createCluster({ acceptors: 3, proposers: ['p1', 'p2'], seed: 1 });
 * const write = cluster.propose('p1', 'x', set('hello'));
 * console.log(cluster.messages().map(String));  // three prepares in flight
 * await cluster.deliver({ to: 'a1' });
 * await cluster.runUntilSettled();
 * console.log(write.status, cluster.diagram(), cluster.state());
 *
 * @module caspaxos/teach
 */
export {
  TeachingCluster,
  createCluster,
  formatVirtualTime,
  type AcceptorRecordView,
  type AcceptorView,
  type ClusterDiagramOptions,
  type ClusterOptions,
  type RunOptions,
} from './teaching-cluster.js';
export { type Change, type TextChange, append, change, decodeText, encodeText, increment, read, remove, set } from './changes.js';
export { type MessagePattern, type MessageSelector, type MessageView } from './messages.js';
export { Operation, type OperationKind, type OperationStatus } from './operation.js';
export { SequenceDiagram } from './sequence-diagram.js';
export { JUPYTER_DISPLAY, NODE_INSPECT, type Displayable, type MimeBundle } from './display.js';
