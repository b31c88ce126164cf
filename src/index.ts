/**
 * caspaxos: CASPaxos (Rystsov, 2018) for Node and the browser.
 *
 * The core (`core/`) is pure and synchronous; `MemoryAcceptor` and `MemoryProposer` are thin async
 * shells around it; `growCluster`, `shrinkCluster` and `garbageCollect` orchestrate proposers and
 * acceptors. Nothing here imports Node built-ins.
 */

// Ballots, ages and messages.
export { type Ballot, ZERO_BALLOT, ballotEquals, ballotGreaterThan, compareBallots, formatBallot, isBallot, isZeroBallot, maxBallot } from './core/ballot.js';
export { BallotGenerator } from './core/ballot-generator.js';
export { type Age, formatAge, isAge, isYounger } from './core/age.js';
export type {
  AcceptReply,
  Accepted,
  AcceptedState,
  AgeRejection,
  Conflict,
  ConflictKind,
  PrepareReply,
  Promised,
  RemoveReply,
  State,
  Tombstone,
} from './core/messages.js';
export { copyState, isState, statesEqual } from './core/state.js';

// The pure core, for step-by-step use and custom shells.
export * as acceptorRules from './core/acceptor-rules.js';
export type { KeyRecord, RemoveResult, RuleResult } from './core/acceptor-rules.js';
export { AcceptRound, PrepareRound, type RecoveryDecision, recoveryDecision } from './core/proposal.js';
export { QuorumTally, type QuorumStatus, majority } from './core/quorum.js';

// Roles.
export type {
  AcceptOptions,
  Accepter,
  Acceptor,
  AcceptorLister,
  Addresser,
  CallOptions,
  ChangeFunc,
  ConfigurationChanger,
  FastForwarder,
  KeyLister,
  Preparer,
  ProposeResult,
  Proposer,
  RejectRemover,
  StateWatcher,
  WatchOptions,
} from './roles.js';

// In-memory implementations.
export { MemoryAcceptor, type AcceptorRecord, type MemoryAcceptorOptions } from './memory-acceptor.js';
export { MemoryProposer, type MemoryProposerOptions, type ProposerSnapshot } from './memory-proposer.js';
export { DEFAULT_RETRY_POLICY, type Random, type RetryPolicy, type Sleep, retryDelay, timerSleep } from './retry.js';

// Orchestration.
export { growCluster } from './cluster/grow-cluster.js';
export { shrinkCluster } from './cluster/shrink-cluster.js';
export { garbageCollect } from './cluster/garbage-collect.js';
export type { MembershipOptions, OrchestrationOptions } from './cluster/options.js';

// Errors, logging, tracing.
export {
  AcceptFailedError,
  AgeError,
  CASPaxosError,
  ConflictError,
  DuplicateError,
  type ErrorCode,
  InvalidArgumentError,
  NotEqualError,
  NotFoundError,
  NotTombstoneError,
  PrepareFailedError,
  StepFailedError,
  UnavailableError,
  isRetryable,
} from './errors.js';
export type { LogFn, Logger } from './logger.js';
export type { GarbageCollectStep, MembershipStep, StepOutcome, TraceEvent, TraceEventType, Tracer } from './tracer.js';
