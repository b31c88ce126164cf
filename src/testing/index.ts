/**
 * caspaxos/testing: test your code on a CASPaxos cluster that fails on purpose.
 *
 * - A deterministic simulator: acceptor and proposer nodes on a simulated network with loss,
 *   duplication, reordering, partitions, crashes and clock skew, on virtual time, from a seed.
 *   Drive it step by step or run workloads on it.
 * - History recording, and checkers users can run on their own histories: WGL linearizability
 *   (register, CAS register, counter and delete-aware models) and the exact chain checker for
 *   versioned values.
 * - The acceptor monitor and `verifySimulation`, which runs every check of a finished run.
 *
 * Browser-safe like the core: no Node built-ins.
 *
 * @module caspaxos/testing
 */

// Simulation.
export { Simulation, type AcceptorCrashes, type SimulationOptions } from '../sim/simulation.js';
export { SeededRandom, hashString } from '../sim/random.js';
export { VirtualTime, formatTime, settle, type AgendaItem } from '../sim/virtual-time.js';
export { EventQueue } from '../sim/event-queue.js';
export type { ActionEvent, AgendaEvent, DeliveryEvent, DeliveryOutcome, ScheduledEvent, SimStep, TimeoutEvent, UpcomingEvent, WakeEvent } from '../sim/events.js';
export { CALM_LINK, CALM_NETWORK, SimNetwork, describe as describeMessage, type LinkProfile, type MessageKind, type NetworkProfile, type Receiver, type SimMessage } from '../sim/network.js';
export { AcceptorNode, type CrashPoint } from '../sim/acceptor-node.js';
export {
  ProposerCrashedError,
  ProposerDownError,
  ProposerNode,
  memoryProposerFactory,
  type ProposerFactory,
  type ProposerFactoryOptions,
  type ProposerNodeOptions,
} from '../sim/proposer-node.js';
export { AcceptorProxy, Endpoint, preview as previewState, type EndpointContext, type EndpointOptions, type ReplyBody } from '../sim/endpoint.js';
export { AcceptorMonitor, type InspectableAcceptor, type MonitorViolation } from '../sim/monitor.js';
export {
  ChangeFunctionFailure,
  hadNoEffect,
  runWorkload,
  type RegisterMix,
  type WorkloadKind,
  type WorkloadOptions,
  type WorkloadReport,
} from '../sim/workload.js';
export { verifySimulation, type SimulationVerdict, type VerifyOptions } from '../sim/verify.js';

// Histories and checkers.
export {
  HistoryRecorder,
  annotationsToJSON,
  historyFromJSON,
  historyToJSON,
  type Annotation,
  type Completion,
  type History,
  type Invocation,
  type OpKind,
  type Operation,
  type PendingOperation,
  type Value,
} from '../check/history.js';
export type { CheckResult, Violation } from '../check/result.js';
export {
  casRegisterModel,
  counterModel,
  deleteAwareRegisterModel,
  registerModel,
  type DeleteAwareState,
  type Model,
  type OpEffect,
} from '../check/models.js';
export { checkLinearizability, type KeyCheck, type LinearizabilityOptions, type LinearizabilityResult } from '../check/linearizability.js';
export type { Counterexample, CounterexampleStep, StuckOperation } from '../check/counterexample.js';
export { renderCounterexample, type RenderCounterexampleOptions } from '../check/wgl-report.js';
export { describeOperation, formatAction, formatValue } from '../check/operation-text.js';
export { checkChain, type ChainCheckResult, type ChainResolution } from '../check/chain.js';
export { decodeVersioned, encodeVersioned, nextVersioned, type VersionedValue } from '../check/versioned.js';

// The acceptor conformance suite, for every acceptor implementation (yours included).
export {
  ConformanceError,
  describeAcceptorConformance,
  type ConformanceOptions,
  type StorageControl,
  type ConformanceSubject,
  type DescribeFn,
  type ItFn,
} from './acceptor-conformance.js';
