/**
 * `caspaxos/teach`: CASPaxos step by step, for learning and teaching. A simulated cluster you
 * drive one message at a time (`createCluster`), every event explained (`explanations()`: the rule
 * each receiver applied and its comparison), drawn from what was delivered (`diagram()`), with
 * what happens next (`next()`); text-valued change helpers (`set`, `increment`, `read`, `remove`,
 * ...); the six lessons as guided tours (`lessons`); rules broken on purpose and caught by the
 * library's checkers (`counterexamples`, `check()`); and objects that display themselves in Jupyter
 * notebooks (Deno's kernel; `show` for tslab), Node's REPL and `console.log`. Deterministic (a seed,
 * virtual time) and pure: no `node:` imports; the simulation never reads a real clock or timer (only
 * `show`, in a notebook, waits a moment for the kernel); runs in browsers and notebooks.
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
export { TeachingCluster, createCluster, type ExplanationOptions } from './teaching-cluster.js';
export { type ClusterOptions, type RunOptions } from './options.js';
export { type AcceptorRecordView, type AcceptorView } from './acceptor-view.js';
export { ClusterState, type ClusterSnapshot, type NextEvent, formatVirtualTime } from './state-view.js';
export { type AcceptedValueView } from './values-view.js';
export { type Explanation, type ExplanationKind, type MessageFate } from './journal.js';
export { type UpcomingView } from './narration.js';
export { type CheckReport } from './check.js';
export { DeliveryDiagram, type DeliveryDiagramOptions } from './delivery-diagram.js';
export { type DeliverySvgOptions } from './delivery-svg.js';
export { type ArrivalRow, type DeliveryModel, type DeliveryRow, type InFlightArrow, type MessageArrow, type MessageStyle, type NoteRow } from './delivery-model.js';
export { type NoteTone, type ReplyRole } from './explain-proposer.js';
export { type GrowFunction, type RuleBreak } from './rule-break.js';
export {
  type Checkpoint,
  type Tour,
  type TourContext,
  type TourRun,
  type TourStartOptions,
  type TourStep,
  basicRound,
  conflictAndFastForward,
  defineTour,
  deleteAndGc,
  duelingProposers,
  growTheCluster,
  lessons,
  lostAcceptAndReadsWrite,
  printTour,
  step,
} from './tours/index.js';
export {
  type Counterexample,
  counterexamples,
  forgetfulAcceptorScenario,
  forgetfulAcceptors,
  growWithoutTheIdentityPass,
  readWithoutWriteBack,
} from './counterexamples.js';
export { type Change, type TextChange, append, change, decodeText, encodeText, increment, read, remove, set } from './changes.js';
export { type MessagePattern, type MessageSelector, type MessageView } from './messages.js';
export { OperationHandle, type OperationKind, type OperationStatus } from './operation-handle.js';
export { type ClusterDiagramOptions, SequenceDiagram } from './sequence-diagram.js';
export { DisplayableDiagram, JUPYTER_DISPLAY, NODE_INSPECT, type Displayable, type MimeBundle } from './display.js';
export { type Showable, type TslabDisplay, show } from './notebook.js';

import { OperationHandle } from './operation-handle.js';

/**
 * The handle `TeachingCluster.propose`, `read`, `grow`, `shrink` and `gc` return.
 * @deprecated Renamed `OperationHandle` (`Operation` is the checker's name for an operation in a
 * history, in `caspaxos/testing`); this alias will be removed in a future major version.
 */
export const Operation = OperationHandle;
/** @deprecated Renamed `OperationHandle`; see the `Operation` value. */
export type Operation = OperationHandle;
