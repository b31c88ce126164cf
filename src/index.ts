/**
 * caspaxos: CASPaxos (Rystsov, 2018) for Node and the browser.
 *
 * The core (`core/`) is pure and synchronous; `MemoryAcceptor` and `MemoryProposer` are thin async
 * shells around it; `growCluster`, `shrinkCluster` and `garbageCollect` orchestrate proposers and
 * acceptors. Nothing here imports Node built-ins.
 *
 * @module caspaxos
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
  PeekReply,
  Peeked,
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
export { AcceptRound, PrepareRound } from './core/rounds.js';
export { PeekRound, type FastReadFallback, type PeekAgreement, type PeekFallback } from './core/peek-round.js';
export { type RecoveryDecision, recoveryDecision } from './core/ancestry.js';
export { QuorumTally, type QuorumStatus, majority } from './core/quorum.js';

// Roles.
export type {
  AcceptOptions,
  Accepter,
  Acceptor,
  AcceptorLister,
  Addresser,
  CallOptions,
  ChangeContext,
  ChangeFunc,
  ConfigurationChanger,
  FastForwarder,
  KeyLister,
  Peeker,
  Preparer,
  ProposeResult,
  Proposer,
  ReadOptions,
  RejectRemover,
  StateWatcher,
  WatchOptions,
} from './roles.js';

// In-memory implementations.
export { MemoryAcceptor, type AcceptorRecord, type MemoryAcceptorOptions } from './acceptor/memory-acceptor.js';
export { MemoryProposer, type MemoryProposerOptions, type ProposerSnapshot } from './proposer/memory-proposer.js';

// Acceptors over a store: the same rules over any `AcceptorStore` (durable ones in `caspaxos/lmdb`).
export type { AcceptorStore, ScanOptions, StoreMeta, StoreRecord, StoreWrite } from './acceptor/acceptor-store.js';
export { StoreAcceptor, type StoreAcceptorOptions } from './acceptor/store-acceptor.js';
export { MemoryStore, type MemoryStoreLimits } from './acceptor/memory-store.js';
export type { StorageState, StorageStatus, StoreCapacity } from './acceptor/storage.js';

// The typed key-value store over any proposer.
export {
  DEFAULT_COLLECTION_RETRY,
  DEFAULT_EPOCH_KEY,
  KeyValueStore,
  bytesCodec,
  formatVersion,
  jsonCodec,
  parseVersion,
  textCodec,
  versionParts,
  type Codec,
  type CollectionOutcome,
  type CollectionRetryPolicy,
  type CollectionStats,
  type CompareAndSetResult,
  type Entry,
  type GarbageCollectionOptions,
  type KeyValueStoreOptions,
  type SweepOptions,
  type SweepReport,
} from './kv/index.js';
export { DEFAULT_RETRY_POLICY, type Random, type RetryPolicy, type Sleep, retryDelay, timerSleep } from './retry.js';

// Orchestration.
export { growCluster } from './cluster/grow-cluster.js';
export { shrinkCluster } from './cluster/shrink-cluster.js';
export { garbageCollect } from './cluster/garbage-collect.js';
export type { MembershipOptions, OperationProgress, OrchestrationOptions, ProgressListener } from './cluster/options.js';

// Errors, logging, tracing.
export {
  AcceptFailedError,
  AgeError,
  BallotsExhaustedError,
  type BallotsExhaustedReason,
  CASPaxosError,
  ConflictError,
  DuplicateError,
  type ErrorCode,
  InvalidArgumentError,
  NotEqualError,
  NotFoundError,
  NotTombstoneError,
  PrepareFailedError,
  StateFormatError,
  StepFailedError,
  StorageFailedError,
  StorageFullError,
  UnavailableError,
  UnsupportedError,
  isErrorCode,
  isRetryable,
} from './errors.js';
export type { LogFn, Logger } from './logger.js';
export type { Closeable } from './internal/async-dispose.js';
export type { GarbageCollectStep, MembershipStep, StepOutcome, TraceEvent, TraceEventType, Tracer } from './tracer.js';
