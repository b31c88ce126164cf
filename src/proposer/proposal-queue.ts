/**
 * Per-key queue of proposals, with batching. A proposer runs one round per key at a time, so its
 * own proposals on one key never duel each other; proposals on different keys run concurrently.
 * (The seed held one mutex per proposer, which serialized every key.) Proposals that arrive while
 * a round runs wait; when it ends, up to `maxBatch` of them (in arrival order, and of the same
 * quorum mode) go into the next round together: their change functions are applied one after the
 * other and one accept carries the result, so a hot key costs one round per batch instead of one
 * per proposal. The linearization order is the arrival order.
 *
 * A proposal aborted while waiting leaves the queue and never runs. One aborted while its round
 * runs is rejected with `signal.reason` at once; its change may still take effect.
 */
import type { QuorumMode } from '../core/attempt.js';
import type { ChangeFunc, ProposeResult } from '../roles.js';
import { type KeySlot, KeyTable } from './key-table.js';
import { inNextMicrotask } from '../internal/microtask.js';

/** One caller's proposal. */
export interface Proposal {
  readonly change: ChangeFunc;
  readonly mode: QuorumMode;
  readonly signal: AbortSignal | undefined;
  /** Whether the caller has its answer (resolved, rejected, or aborted). */
  settled: boolean;
  /** The caller's promise, settled by the first of `resolve` and `reject`. */
  readonly promise: Promise<ProposeResult>;
  /** Runs once when the proposal settles (removes its abort listener). */
  cleanup: (() => void) | undefined;
  resolve(result: ProposeResult): void;
  reject(error: unknown): void;
}

/** Creates a proposal whose `resolve`/`reject` settle its `promise` once. */
export function newProposal(change: ChangeFunc, mode: QuorumMode, signal: AbortSignal | undefined): Proposal {
  return new PendingProposal(change, mode, signal);
}

/**
 * A class, not an object literal: its methods live on the prototype, not on every proposal. It
 * holds its own promise (no wrapper object per proposal).
 */
class PendingProposal implements Proposal {
  settled = false;
  cleanup: (() => void) | undefined = undefined;
  readonly promise: Promise<ProposeResult>;
  private onResolve!: (result: ProposeResult) => void;
  private onReject!: (error: unknown) => void;

  constructor(
    readonly change: ChangeFunc,
    readonly mode: QuorumMode,
    readonly signal: AbortSignal | undefined,
  ) {
    this.promise = new Promise<ProposeResult>((resolve, reject) => {
      this.onResolve = resolve;
      this.onReject = reject;
    });
  }

  resolve(result: ProposeResult): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanup?.();
    this.onResolve(result);
  }

  reject(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanup?.();
    this.onReject(error);
  }
}

/** The shared marker of "a round runs, nobody waits" (never mutated: a first waiter gets an array). */
const NONE: Proposal[] = [];

/** A key, or its slot (what a round holds: no lookup). */
type KeyOrSlot = string | KeySlot<Proposal>;

export class ProposalQueue {
  /**
   * The keys' slots: `waiting` is `undefined` while no round runs on the key, `NONE` while one
   * runs and nobody waits. Shared with the one-round-trip cache (see `KeyTable`).
   */
  readonly #table: KeyTable<Proposal>;
  #active = 0;

  /**
   * @param runRound runs one round for a batch, settles every proposal in it, and then calls
   *   `roundDone(slot, batch.length)`; it must never throw.
   * @param maxBatch the most proposals in one round (1 disables batching).
   * @param table the keys' slots (by default a table of its own, keeping up to 10,000 idle keys).
   */
  constructor(
    private readonly runRound: (key: string, batch: readonly Proposal[], slot: KeySlot<Proposal>) => void,
    private readonly maxBatch: number,
    table: KeyTable<Proposal> = new KeyTable<Proposal>(10_000),
  ) {
    this.#table = table;
  }

  /** Keys with a round running (for tests and introspection). */
  get activeKeys(): number {
    return this.#active;
  }

  /**
   * Starts a round for `proposal` now (synchronously, so its ballot is taken before `submit`
   * returns) if none runs for `key`, else queues it.
   */
  submit(key: string, proposal: Proposal): void {
    const signal = proposal.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        proposal.reject(signal.reason);
        return;
      }
      const onAbort = (): void => this.#abort(key, proposal);
      signal.addEventListener('abort', onAbort, { once: true });
      proposal.cleanup = () => signal.removeEventListener('abort', onAbort);
    }
    const slot = this.#table.slot(key);
    const waiting = slot.waiting;
    if (waiting === undefined) {
      slot.waiting = NONE;
      this.#active++;
      this.runRound(key, [proposal], slot);
    } else if (waiting === NONE) {
      slot.waiting = [proposal];
    } else {
      waiting.push(proposal);
    }
  }

  #abort(key: string, proposal: Proposal): void {
    const waiting = this.#table.get(key)?.waiting;
    const index = waiting === undefined || waiting === NONE ? -1 : waiting.indexOf(proposal);
    if (index >= 0) waiting?.splice(index, 1);
    proposal.reject(proposal.signal?.reason);
  }

  /**
   * The round on `key`, for a batch of `size` proposals, is over: start the next batch, if any
   * waits, one microtask later. The callers the round just resolved resume in the microtasks queued
   * before that one, so a caller that proposes again at once (a client loop, a handler awaiting its
   * previous write) joins the next batch instead of the one after. Without the hop, 64 such callers
   * on one key ran in batches alternating 1 and 63 (or k and 64 - k): 32 on average instead of 64.
   * A lone proposal with nobody waiting (a sequential caller) frees the key at once, hop-free.
   */
  roundDone(key: KeyOrSlot, size: number): void {
    const slot = typeof key === 'string' ? this.#table.get(key) : key;
    const waiting = slot?.waiting;
    if (slot === undefined || waiting === undefined) return;
    if (waiting.length === 0 && size <= 1) {
      this.#idle(slot);
      return;
    }
    inNextMicrotask(() => this.#startNext(slot));
  }

  /** No round runs on the key any more; its slot stays, for the key's next proposal. */
  #idle(slot: KeySlot<Proposal>): void {
    slot.waiting = undefined;
    this.#active--;
  }

  #startNext(slot: KeySlot<Proposal>): void {
    const waiting = slot.waiting;
    if (waiting === undefined) return;
    if (waiting.length === 0) {
      // Nobody came during the hop (or everyone who did aborted).
      this.#idle(slot);
      return;
    }
    // The longest run of waiting proposals with the first one's quorum mode, up to `maxBatch`.
    const mode = (waiting[0] as Proposal).mode;
    let size = 1;
    while (size < waiting.length && size < this.maxBatch && (waiting[size] as Proposal).mode === mode) size++;
    if (size === waiting.length) {
      // Everyone waiting: hand the array over instead of copying it.
      slot.waiting = NONE;
      this.runRound(slot.key, waiting, slot);
    } else {
      this.runRound(slot.key, waiting.splice(0, size), slot);
    }
  }
}
