/**
 * The acceptor conformance suite: what every acceptor must do, whatever it stores records in and
 * however it is reached (in memory, over a store on disk, in Redis, over HTTP). It uses only the
 * `Acceptor` interface, so it runs against remote acceptors too, and it registers its cases with
 * the test framework you pass (vitest, jest, mocha, `node:test`: anything with `describe`/`it`).
 *
 * ```ts
 * import { describe, it } from 'vitest';
 * import { describeAcceptorConformance } from 'caspaxos/testing';
 * describeAcceptorConformance('my acceptor', async () => ({ acceptor: await openMine(), close: () => closeMine() }), { describe, it });
 * ```
 *
 * A subject that can crash and restart over the same storage (`crashAndRestart`) also gets the
 * durability cases: every reply it sent must survive the crash (paper §2.2: the acceptor persists
 * a promise or an accepted value before it confirms). A subject whose storage can be filled
 * (`storage`, with the option `fullStorage`) also gets the storage-full cases: a full store
 * refuses values for new keys with `ERR_STORAGE_FULL`, keeps nothing of them, and takes writes
 * again by itself once there is room.
 *
 * Browser-safe: no Node built-ins, no dependency on a test framework.
 */
import { type Ballot, ZERO_BALLOT, compareBallots, formatBallot } from '../core/ballot.js';
import type { Age } from '../core/age.js';
import type { AcceptReply, AcceptedState, PeekReply, PrepareReply, RemoveReply, State } from '../core/messages.js';
import type { Acceptor } from '../roles.js';

/** One acceptor under test, made fresh (empty) for each case. */
export interface ConformanceSubject {
  /** A fresh acceptor with no records, no recorded ages and no tombstone floor. */
  readonly acceptor: Acceptor;
  /**
   * Stops the acceptor abruptly (a `kill -9`, or dropping it without closing anything) and starts
   * it again over the same storage; resolves with the acceptor to use from then on. Required
   * unless the suite runs with `durable: false`.
   */
  crashAndRestart?(): Promise<Acceptor>;
  /**
   * Fills and frees the subject's storage, for the storage-full cases. Required when the suite runs
   * with `fullStorage` set (see `ConformanceOptions.fullStorage`).
   */
  readonly storage?: StorageControl | undefined;
  /** Releases everything the subject holds (servers, files, processes). */
  close(): Promise<void>;
}

/** How the storage-full cases fill a subject's storage and give it room again. */
export interface StorageControl {
  /**
   * Makes the storage full: until `free`, every write that would store a value for a new key (or
   * a longer value) must be refused with an error whose `code` is `ERR_STORAGE_FULL` (a store's
   * byte limit set to what it holds, a Redis `maxmemory` below what it uses, ...).
   */
  fill(): Promise<void>;
  /** Gives the storage room again; the acceptor must take writes again without a restart. */
  free(): Promise<void>;
}

/** The `describe` of the test framework in use. */
export type DescribeFn = (name: string, body: () => void) => void;
/** The `it` (or `test`) of the test framework in use; `skip` is used for inapplicable cases. */
export type ItFn = ((name: string, body: () => Promise<void>, timeout?: number) => void) & {
  /**
   * The framework's `it.skip`, to register the durability cases as skipped when `durable` is false;
   * without it they are left out.
   */
  readonly skip?: (name: string, body: () => Promise<void>) => void;
};

/** Options of `describeAcceptorConformance`. */
export interface ConformanceOptions {
  /**
   * The framework's `describe`.
   * @default globalThis.describe
   */
  readonly describe?: DescribeFn | undefined;
  /**
   * The framework's `it`.
   * @default globalThis.it
   */
  readonly it?: ItFn | undefined;
  /**
   * Timeout per case in milliseconds, passed as `it`'s third argument.
   * @default 30000
   */
  readonly timeoutMs?: number | undefined;
  /**
   * Whether the acceptor is durable. When false, the durability cases are registered as skipped
   * (with `it.skip`, where the framework has it) and subjects need no `crashAndRestart`.
   * @default true
   */
  readonly durable?: boolean | undefined;
  /**
   * What the acceptor does once its storage is full, for the storage-full cases (subjects then
   * need `storage`). `'refuses-growth'`: it refuses writes that grow the data (a value for a new
   * key, a longer state) and takes the others (promises, tombstones, removals), so reads work and
   * space can be freed through it (a quota below the disk, a `MemoryStore` byte limit): every case
   * runs. `'refuses-writes'`: it refuses every write that may take
   * room (Redis under `maxmemory` with `noeviction`): the case of shrinking writes is skipped.
   * Absent: every storage-full case is registered as skipped (with `it.skip`), saying why.
   * @default undefined (no storage-full cases)
   */
  readonly fullStorage?: 'refuses-growth' | 'refuses-writes' | undefined;
}

/** A failed conformance expectation. */
export class ConformanceError extends Error {
  /** Always `ConformanceError`. */
  override readonly name = 'ConformanceError';
}

/**
 * Makes a fresh subject; called once per case.
 * @inline
 */
type Factory = () => Promise<ConformanceSubject>;

/**
 * Registers the conformance cases for the acceptor that `factory` makes, under `describe(name)`.
 * The factory is called once per case and the subject closed after it, pass or fail. The cases
 * check the acceptor rules (paper §2.2: strict ballot order for prepare and accept, the reply
 * contents), garbage collection (§3.1: ages only rise, removal only under the tombstone's ballot),
 * watching and listing keys, input validation (bad input rejects and changes nothing), and, unless
 * `durable` is false, that every reply survives `crashAndRestart` (the acceptor "persists the
 * ballot number as a promise" before it "returns a confirmation").
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { MemoryStore, StoreAcceptor } from 'caspaxos';
 * import { describeAcceptorConformance } from 'caspaxos/testing';
 *
 * describeAcceptorConformance('StoreAcceptor over MemoryStore', async () => {
 *   const store = new MemoryStore();
 *   let acceptor = await StoreAcceptor.open('a1', store);
 *   return {
 *     acceptor,
 *     async crashAndRestart() {
 *       acceptor = await StoreAcceptor.open('a1', store); // the old one is dropped, not closed
 *       return acceptor;
 *     },
 *     close: () => acceptor.close(),
 *   };
 * }, { describe, it });
 * ```
 */
export function describeAcceptorConformance(name: string, factory: Factory, options: ConformanceOptions = {}): void {
  const globals = globalThis as { describe?: DescribeFn; it?: ItFn };
  const describe = options.describe ?? globals.describe;
  const it = options.it ?? globals.it;
  if (typeof describe !== 'function' || typeof it !== 'function') {
    throw new TypeError('describeAcceptorConformance needs a test framework: pass { describe, it } (for example from vitest)');
  }
  const timeout = options.timeoutMs ?? 30_000;
  const run = (body: (s: Session) => Promise<void>) => async (): Promise<void> => {
    const subject = await factory();
    const session = new Session(subject);
    try {
      await body(session);
    } finally {
      await subject.close();
    }
  };
  const durable = (title: string, body: (s: Session) => Promise<void>): void => {
    if (options.durable === false) it.skip?.(`${title} (not durable)`, run(body));
    else it(title, run(body), timeout);
  };
  // Peeks are optional: an acceptor without `peek` is read through the full round.
  const peek = (title: string, body: (s: Session) => Promise<void>): void => {
    it(
      title,
      async () => {
        const subject = await factory();
        try {
          if (typeof subject.acceptor.peek !== 'function') return; // no peek: nothing to check
          await body(new Session(subject));
        } finally {
          await subject.close();
        }
      },
      timeout,
    );
  };
  const full = (title: string, body: (s: Session, storage: StorageControl) => Promise<void>, needsShrink = false): void => {
    const mode = options.fullStorage;
    if (mode === undefined) it.skip?.(`${title} (no fullStorage: the subject cannot fill its storage)`, async () => {});
    else if (needsShrink && mode !== 'refuses-growth') it.skip?.(`${title} (fullStorage '${mode}': it refuses every write while full)`, async () => {});
    else {
      it(
        title,
        async () => {
          const subject = await factory();
          try {
            const storage = subject.storage ?? fail('fullStorage is set, but the subject has no storage (ConformanceSubject.storage)');
            await body(new Session(subject), storage);
          } finally {
            // Never leave a shared server (one Redis for many subjects) full for the next case.
            await subject.storage?.free();
            await subject.close();
          }
        },
        timeout,
      );
    }
  };

  describe(`${name}: acceptor conformance`, () => {
    describe('prepare (paper §2.2, message 1b)', () => {
      it('promises a ballot on an empty key and reports nothing accepted', run(casePrepareEmpty), timeout);
      it('is strict: the same ballot twice is a conflict the second time', run(casePrepareStrict), timeout);
      it('rejects a lower ballot with a promise conflict naming the higher one', run(casePrepareLower), timeout);
      it('reports the accepted state, bytes exact, and its ballot', run(casePrepareReportsAccepted), timeout);
    });
    describe('accept (paper §2.2, message 2b)', () => {
      it('accepts at the promised ballot and above, without a prepare', run(caseAcceptAtOrAbovePromise), timeout);
      it('rejects below the promise, and a duplicate, naming what it accepted', run(caseAcceptConflicts), timeout);
      it('keeps the empty state and the empty tombstone apart', run(caseAcceptNullAndEmpty), timeout);
      it('promises the next ballot on request (one round trip, §2.2.1)', run(caseAcceptNext), timeout);
      it('stores the ancestry as given, and unknown as unknown', run(caseAncestry), timeout);
      it('keeps keys independent, whatever their characters', run(caseKeysIndependent), timeout);
      it('leaves the record consistent under concurrent requests on one key', run(caseConcurrentAccepts), timeout);
    });
    describe('bursts: many requests in one turn (a batching transport sends them as one request)', () => {
      it('answers each request of a burst over many keys on its own', run(caseBurstReplies), timeout);
      it('keeps the order of requests on one key within a burst', run(caseBurstOrder), timeout);
      it('a bad request in a burst rejects alone, and changes nothing', run(caseBurstBadItem), timeout);
      it('an aborted request in a burst rejects with its reason; the others are answered', run(caseBurstAbort), timeout);
    });
    describe('peek (optional: a read that writes nothing, see proposer/fast-read)', () => {
      peek('reports nothing accepted for a key never written, and creates no record', casePeekEmpty);
      peek('reports the accepted ballot and state, bytes exact, and not a bare promise', casePeekReportsAccepted);
      peek('writes nothing: no promise taken, no key listed, however many keys are peeked', casePeekWritesNothing);
      peek('reports nothing accepted once garbage collection removed the key', casePeekAfterRemoval);
      peek('is ordered with the requests on its key in one burst', casePeekBurstOrder);
      if (options.durable === false) it.skip?.('reports only acknowledged (durable) writes across a crash (not durable)', async () => {});
      else peek('reports across a crash exactly what was acknowledged', casePeekDurable);
    });
    describe('garbage collection (paper §3.1)', () => {
      it('rejects younger ages after rejectByAge, and never lowers a minimum', run(caseAges), timeout);
      it('removes only the tombstone it is given, and keeps its promise as a floor', run(caseRemove), timeout);
      it('refuses to remove a state that is not a tombstone', run(caseRemoveNotTombstone), timeout);
      it('keeps a tombstone whose promise is far above it, so that promise never becomes every absent key\'s floor', run(caseRemoveFarPromise), timeout);
    });
    describe('listing and watching', () => {
      it('lists every key with an accepted state, and only those', run(caseListKeys), timeout);
      it('watches a key: the current state first, then each change, until aborted', run(caseWatch), timeout);
    });
    describe('bad input', () => {
      it('rejects malformed requests with ERR_INVALID_ARGUMENT and changes nothing', run(caseBadInput), timeout);
    });
    describe('durability (persist before reply)', () => {
      durable('keeps promises, accepted states, ancestries and next-ballot promises across a crash', caseDurableRecords);
      durable('keeps raised ages and the tombstone floor across a crash', caseDurableGc);
      durable('keeps every acknowledged write of a concurrent burst across a crash', caseDurableBurst);
      durable('keeps every promise and accepted state of a mixed burst (prepares and accepts) across a crash', caseDurableMixedBurst);
    });
    describe('a full storage (optional: ConformanceSubject.storage)', () => {
      full('refuses values for new keys with ERR_STORAGE_FULL, and keeps nothing of them', caseFullRefusesNewKeys);
      full('refuses every request of a burst of new values, and keeps none of them', caseFullBurst);
      full('takes writes again by itself once there is room, without a restart', caseFullResumes);
      full('still takes the writes that read or free space: promises, tombstones, removal, raised ages, shorter states', caseFullShrinks, true);
    });
  });
}

// --- The session: the subject and what a case needs ---------------------------------------------

class Session {
  acceptor: Acceptor;
  constructor(readonly subject: ConformanceSubject) {
    this.acceptor = subject.acceptor;
  }
  async crash(): Promise<void> {
    const restart = this.subject.crashAndRestart;
    if (restart === undefined) throw new ConformanceError('the subject has no crashAndRestart (pass { durable: false } for an acceptor that is not durable)');
    this.acceptor = await restart.call(this.subject);
  }
  prepare(key: string, ballot: Ballot, age: Age = AGE): Promise<PrepareReply> {
    return this.acceptor.prepare(key, age, ballot);
  }
  accept(key: string, ballot: Ballot, state: State, extra: { next?: Ballot; ancestry?: readonly Ballot[]; age?: Age } = {}): Promise<AcceptReply> {
    const { age = AGE, ...opts } = extra;
    return this.acceptor.accept(key, age, ballot, state, opts);
  }
  peek(key: string): Promise<PeekReply> {
    const peek = this.acceptor.peek ?? fail('the acceptor has no peek');
    return peek.call(this.acceptor, key);
  }
  /** The record as the next prepare (at a ballot far above everything) reports it. */
  async probe(key: string): Promise<{ accepted: Ballot; state: State; ancestry: readonly Ballot[] | undefined }> {
    const reply = await this.prepare(key, b(PROBE_COUNTER + probes++, 'probe'));
    expectType(reply, 'promised', `a probe of ${key}`);
    return { accepted: reply.accepted, state: reply.state, ancestry: reply.ancestry };
  }
}

const AGE: Age = { counter: 0, id: 'p1' };
/** Probes use ballots far above any a case uses, each one higher than the last. */
const PROBE_COUNTER = 1_000_000;
let probes = 0;

function b(counter: number, id = 'p1'): Ballot {
  return counter === 0 ? ZERO_BALLOT : { counter, id };
}

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

// --- Expectations -------------------------------------------------------------------------------

function fail(message: string): never {
  throw new ConformanceError(message);
}

function expectType<T extends { type: string }, K extends T['type']>(reply: T, type: K, what: string): asserts reply is Extract<T, { type: K }> {
  if (reply?.type !== type) fail(`${what}: expected a '${type}' reply, got ${show(reply)}`);
}

function expectBallot(actual: Ballot, expected: Ballot, what: string): void {
  if (actual === undefined || compareBallots(actual, expected) !== 0) fail(`${what}: expected ballot ${formatBallot(expected)}, got ${show(actual)}`);
}

function expectState(actual: State, expected: State, what: string): void {
  if (expected === null) {
    if (actual !== null) fail(`${what}: expected the empty state (null), got ${show(actual)}`);
    return;
  }
  if (!(actual instanceof Uint8Array)) fail(`${what}: expected ${expected.length} bytes, got ${show(actual)}`);
  if (actual.length !== expected.length || actual.some((v, i) => v !== expected[i])) {
    fail(`${what}: expected bytes ${preview(expected)}, got ${preview(actual)}`);
  }
}

function expectAncestry(actual: readonly Ballot[] | undefined, expected: readonly Ballot[] | undefined, what: string): void {
  if (expected === undefined) {
    if (actual !== undefined) fail(`${what}: an ancestry stored as unknown must be reported as unknown (undefined), got ${show(actual)}`);
    return;
  }
  // An acceptor may keep no ancestries at all (it then reports none), never a different one.
  if (actual === undefined) return;
  if (actual.length !== expected.length || actual.some((x, i) => compareBallots(x, expected[i] as Ballot) !== 0)) {
    fail(`${what}: expected ancestry ${show(expected)}, got ${show(actual)}`);
  }
}

/** Expects `call` to reject with an error whose `code` is one of `codes`. */
async function expectRejection(call: () => Promise<unknown>, codes: readonly string[], what: string): Promise<void> {
  let result: unknown;
  try {
    result = await call();
  } catch (err) {
    const code = (err as { code?: unknown })?.code;
    if (typeof code !== 'string' || !codes.includes(code)) fail(`${what}: expected ${codes[0]}, got ${show(err)}`);
    return;
  }
  fail(`${what}: expected a rejection with ${codes[0]}, got ${show(result)}`);
}

function expectStorageFull(call: () => Promise<unknown>, what: string): Promise<void> {
  return expectRejection(call, ['ERR_STORAGE_FULL'], `${what} while the storage is full`);
}

/** Expects `key` to hold nothing and no promise above `below`: a prepare at `below` is promised, with nothing accepted. */
async function expectUntouched(s: Session, key: string, below: Ballot, what: string): Promise<void> {
  const reply = await s.prepare(key, below);
  expectType(reply, 'promised', `${what}: a prepare at ${formatBallot(below)} after room came back (a refused write must leave no promise)`);
  expectBallot(reply.accepted, ZERO_BALLOT, `${what}: the accepted ballot (a refused write must leave nothing accepted)`);
  expectState(reply.state, null, `${what}: the state`);
}

function expectInvalid(call: () => Promise<unknown>, what: string): Promise<void> {
  return expectRejection(call, ['ERR_INVALID_ARGUMENT', 'ERR_NOT_TOMBSTONE'], what);
}

function show(value: unknown): string {
  if (value instanceof Error) return `${value.name} (${(value as { code?: string }).code ?? 'no code'}): ${value.message}`;
  if (value instanceof Uint8Array) return `bytes ${preview(value)}`;
  try {
    return JSON.stringify(value, (_, v: unknown) => (v instanceof Uint8Array ? `bytes ${preview(v)}` : v)) ?? String(value);
  } catch {
    return String(value);
  }
}

function preview(state: Uint8Array): string {
  const hex = Array.from(state.subarray(0, 16), (v) => v.toString(16).padStart(2, '0')).join('');
  return `[${state.length}] ${hex}${state.length > 16 ? '…' : ''}`;
}

// --- Cases --------------------------------------------------------------------------------------

async function casePrepareEmpty(s: Session): Promise<void> {
  const reply = await s.prepare('k', b(1));
  expectType(reply, 'promised', 'prepare 1/p1 on an empty key');
  expectBallot(reply.accepted, ZERO_BALLOT, 'the accepted ballot of an empty key');
  expectState(reply.state, null, 'the state of an empty key');
  expectAncestry(reply.ancestry, [], 'the ancestry of an empty key');
}

async function casePrepareStrict(s: Session): Promise<void> {
  expectType(await s.prepare('k', b(3)), 'promised', 'prepare 3/p1');
  const again = await s.prepare('k', b(3));
  expectType(again, 'conflict', 'prepare 3/p1 again');
  expectBallot(again.ballot, b(3), 'the conflict of a repeated prepare');
}

async function casePrepareLower(s: Session): Promise<void> {
  expectType(await s.prepare('k', b(5, 'p2')), 'promised', 'prepare 5/p2');
  for (const lower of [b(4, 'p9'), b(5, 'p1'), b(1)]) {
    const reply = await s.prepare('k', lower);
    expectType(reply, 'conflict', `prepare ${formatBallot(lower)} after 5/p2`);
    expectBallot(reply.ballot, b(5, 'p2'), `the conflict of ${formatBallot(lower)}`);
    if (reply.kind !== 'promise') fail(`the conflict of ${formatBallot(lower)}: expected kind 'promise', got ${show(reply.kind)}`);
    expectBallot(reply.accepted, ZERO_BALLOT, `what the conflict of ${formatBallot(lower)} says was accepted`);
  }
  // Ids break counter ties: 5/p3 is above 5/p2.
  expectType(await s.prepare('k', b(5, 'p3')), 'promised', 'prepare 5/p3 after 5/p2');
}

async function casePrepareReportsAccepted(s: Session): Promise<void> {
  const big = new Uint8Array(70_000).map((_, i) => (i * 31 + 7) & 0xff);
  const states: Array<[string, Uint8Array]> = [
    ['binary', bytes(0, 255, 128, 0x80, 0x9f, 10, 13, 0)],
    ['large', big],
    ['utf-8 text', new TextEncoder().encode('héllo, мир, 世界 🎉')],
  ];
  for (const [label, state] of states) {
    const key = `k-${label}`;
    expectType(await s.prepare(key, b(1)), 'promised', `prepare ${key}`);
    expectType(await s.accept(key, b(1), state), 'accepted', `accept ${label} state`);
    const seen = await s.probe(key);
    expectBallot(seen.accepted, b(1), `the accepted ballot of ${key}`);
    expectState(seen.state, state, `the ${label} state of ${key}`);
  }
  // The acceptor keeps its own copy: changing the caller's buffer afterwards changes nothing.
  const mine = bytes(1, 2, 3);
  expectType(await s.accept('own', b(1), mine), 'accepted', 'accept own');
  mine[0] = 99;
  const reply = await s.probe('own');
  expectState(reply.state, bytes(1, 2, 3), 'a state whose caller later changed its buffer');
  if (reply.state !== null) reply.state[1] = 77;
  expectState((await s.probe('own')).state, bytes(1, 2, 3), 'a state after a reply was changed');
}

async function caseAcceptAtOrAbovePromise(s: Session): Promise<void> {
  expectType(await s.prepare('k', b(2)), 'promised', 'prepare 2/p1');
  expectType(await s.accept('k', b(2), bytes(1)), 'accepted', 'accept at the promise');
  // rystsov (quoted by the seed): "it's not necessary for the promise to be equal to the passed
  // ballot number. The promise simply cannot be larger."
  expectType(await s.accept('k', b(4, 'p2'), bytes(2)), 'accepted', 'accept above the promise, without a prepare');
  expectType(await s.accept('fresh', b(1), bytes(9)), 'accepted', 'accept on an empty key');
  const seen = await s.probe('k');
  expectBallot(seen.accepted, b(4, 'p2'), 'the accepted ballot');
  expectState(seen.state, bytes(2), 'the accepted state');
}

async function caseAcceptConflicts(s: Session): Promise<void> {
  expectType(await s.prepare('k', b(5)), 'promised', 'prepare 5/p1');
  const below = await s.accept('k', b(4), bytes(1));
  expectType(below, 'conflict', 'accept 4/p1 below the promise 5/p1');
  expectBallot(below.ballot, b(5), 'the conflict of accept 4/p1');
  if (below.kind !== 'promise') fail(`accept 4/p1: expected kind 'promise', got ${show(below.kind)}`);
  expectType(await s.accept('k', b(5), bytes(2)), 'accepted', 'accept 5/p1');
  const duplicate = await s.accept('k', b(5), bytes(2));
  expectType(duplicate, 'conflict', 'a duplicate accept 5/p1');
  expectBallot(duplicate.ballot, b(5), 'the conflict of the duplicate');
  if (duplicate.kind !== 'accepted') fail(`a duplicate accept: expected kind 'accepted', got ${show(duplicate.kind)}`);
  expectBallot(duplicate.accepted, b(5), 'what the duplicate conflict says was accepted');
  // A rejected accept changes nothing.
  const seen = await s.probe('k');
  expectBallot(seen.accepted, b(5), 'the accepted ballot after rejections');
  expectState(seen.state, bytes(2), 'the state after rejections');
}

async function caseAcceptNullAndEmpty(s: Session): Promise<void> {
  expectType(await s.accept('tomb', b(1), null), 'accepted', 'accept the empty state');
  expectType(await s.accept('zero', b(1), new Uint8Array(0)), 'accepted', 'accept zero bytes');
  const tomb = await s.probe('tomb');
  expectBallot(tomb.accepted, b(1), 'the tombstone ballot');
  expectState(tomb.state, null, 'an accepted empty state');
  expectState((await s.probe('zero')).state, new Uint8Array(0), 'an accepted zero-byte state');
}

async function caseAcceptNext(s: Session): Promise<void> {
  const reply = await s.accept('k', b(1), bytes(1), { next: b(2) });
  expectType(reply, 'accepted', 'accept 1/p1 with next 2/p1');
  // An acceptor that cannot honour `next` ignores it and says nothing; one that says it must keep it.
  if (reply.promised === undefined) return;
  expectBallot(reply.promised, b(2), 'the promised next ballot');
  const lower = await s.prepare('k', b(1, 'p2'));
  expectType(lower, 'conflict', 'prepare 1/p2 below the piggybacked promise');
  expectBallot(lower.ballot, b(2), 'the conflict of a prepare below the piggybacked promise');
  expectType(await s.accept('k', b(2), bytes(2)), 'accepted', 'accept under the promised next ballot, without a prepare');
  expectState((await s.probe('k')).state, bytes(2), 'the state accepted under the next ballot');
  await expectInvalid(() => s.accept('k', b(9), bytes(3), { next: b(9) }), 'a next ballot not above the ballot');
}

async function caseAncestry(s: Session): Promise<void> {
  const ancestry = [b(3, '…'), b(2, 'p2'), b(7, 'p3')];
  expectType(await s.accept('a', b(8), bytes(1), { ancestry }), 'accepted', 'accept with an ancestry');
  expectAncestry((await s.probe('a')).ancestry, ancestry, 'the stored ancestry');
  expectType(await s.accept('none', b(8), bytes(1), { ancestry: [] }), 'accepted', 'accept with an empty ancestry');
  expectAncestry((await s.probe('none')).ancestry, [], 'an empty ancestry');
  expectType(await s.accept('unknown', b(8), bytes(1)), 'accepted', 'accept without an ancestry');
  expectAncestry((await s.probe('unknown')).ancestry, undefined, 'an ancestry never given');
}

async function caseKeysIndependent(s: Session): Promise<void> {
  const keys = ['', 'a', 'A', 'a/b', 'a b', 'ключ', '键🔑', 'x'.repeat(200), '{"json":1}', 'new\nline', '\u0000nul'];
  for (const [i, key] of keys.entries()) expectType(await s.accept(key, b(i + 1), bytes(i)), 'accepted', `accept key ${JSON.stringify(key)}`);
  for (const [i, key] of keys.entries()) {
    const seen = await s.probe(key);
    expectBallot(seen.accepted, b(i + 1), `the ballot of key ${JSON.stringify(key)}`);
    expectState(seen.state, bytes(i), `the state of key ${JSON.stringify(key)}`);
  }
}

async function caseConcurrentAccepts(s: Session): Promise<void> {
  // 40 accepts with distinct ballots at once, no prepares: whatever the order, the key ends up with
  // the highest ballot any of them had acknowledged, and its state.
  const ballots = Array.from({ length: 40 }, (_, i) => b(((i * 17) % 40) + 1, `p${i % 3}`));
  const replies = await Promise.all(ballots.map((ballot) => s.accept('hot', ballot, bytes(ballot.counter))));
  const acknowledged = ballots.filter((_, i) => replies[i]?.type === 'accepted');
  if (acknowledged.length === 0) fail('no accept of a concurrent burst was acknowledged');
  const highest = acknowledged.reduce((x, y) => (compareBallots(x, y) >= 0 ? x : y));
  const seen = await s.probe('hot');
  expectBallot(seen.accepted, highest, 'the accepted ballot after a concurrent burst');
  expectState(seen.state, bytes(highest.counter), 'the state after a concurrent burst');
  // Concurrent prepares: exactly one of two equal ballots wins.
  const twins = await Promise.all([s.prepare('twin', b(9)), s.prepare('twin', b(9))]);
  if (twins.filter((r) => r.type === 'promised').length !== 1) fail(`two concurrent prepares of one ballot: expected exactly one promise, got ${show(twins)}`);
}

async function caseAges(s: Session): Promise<void> {
  await s.acceptor.rejectByAge([{ counter: 2, id: 'p1' }]);
  const young = await s.prepare('k', b(1), { counter: 1, id: 'p1' });
  expectType(young, 'age', 'prepare with age 1 after the minimum became 2');
  if (young.required.counter !== 2 || young.required.id !== 'p1') fail(`the required age: expected 2/p1, got ${show(young.required)}`);
  expectType(await s.accept('k', b(1), bytes(1), { age: { counter: 0, id: 'p1' } }), 'age', 'accept with age 0 after the minimum became 2');
  expectType(await s.prepare('k', b(1), { counter: 2, id: 'p1' }), 'promised', 'prepare with age 2');
  expectType(await s.prepare('k', b(2, 'p2'), { counter: 0, id: 'p2' }), 'promised', 'another proposer is not fenced');
  // Minimums only rise (the seed overwrote them, so a late step could re-admit fenced messages).
  await s.acceptor.rejectByAge([{ counter: 1, id: 'p1' }]);
  expectType(await s.prepare('k', b(3), { counter: 1, id: 'p1' }), 'age', 'prepare with age 1 after a lower rejectByAge');
  await s.acceptor.rejectByAge([]);
}

async function caseRemove(s: Session): Promise<void> {
  expectType(await s.prepare('k', b(3)), 'promised', 'prepare 3/p1');
  expectType(await s.accept('k', b(3), null, { next: b(6) }), 'accepted', 'accept the tombstone 3/p1');
  const other = await s.acceptor.removeIfEqual('k', { ballot: b(2), state: null });
  expectType(other, 'not-equal', 'remove with another ballot');
  expectBallot(other.accepted, b(3), 'what not-equal says is accepted');
  expectType(await s.acceptor.removeIfEqual('k', { ballot: b(3), state: null }), 'removed', 'remove the tombstone');
  expectType(await s.acceptor.removeIfEqual('k', { ballot: b(3), state: null }), 'absent', 'remove it again');
  await expectListed(s, [], 'keys after the removal');
  // Paper §3.1 keeps new ballots above the tombstone's; the floor keeps the removed record's
  // promise (6/p1 if the acceptor kept the piggybacked promise, else 3/p1) for absent keys.
  for (const key of ['k', 'other']) {
    const low = await s.prepare(key, b(3, 'p0'));
    expectType(low, 'conflict', `prepare 3/p0 on ${key} below the floor`);
    if (compareBallots(low.accepted, b(3)) < 0) fail(`a conflict under the floor must say a ballot up to it may have been accepted, got ${show(low.accepted)}`);
  }
  const high = await s.prepare('k', b(7, 'p2'));
  expectType(high, 'promised', 'prepare 7/p2 above the floor');
  expectBallot(high.accepted, ZERO_BALLOT, 'the accepted ballot of a removed key');
  expectState(high.state, null, 'the state of a removed key');
  expectType(await s.acceptor.removeIfEqual('never', { ballot: b(1), state: null }), 'absent', 'remove a key never written');
}

async function caseRemoveFarPromise(s: Session): Promise<void> {
  // A tombstone at 3/p1, then a prepare far above it (2^40: more than 2^32 counters ahead, as only
  // a hostile proposer gets; see core/key-ballots.ts). Removing the record would make that promise
  // the floor of every absent key, exhausting their ballots: the acceptor keeps it instead.
  expectType(await s.prepare('k', b(3)), 'promised', 'prepare 3/p1');
  expectType(await s.accept('k', b(3), null), 'accepted', 'accept the tombstone 3/p1');
  expectType(await s.prepare('k', b(2 ** 40, 'px')), 'promised', 'prepare 2^40/px over the tombstone');
  const kept = await s.acceptor.removeIfEqual('k', { ballot: b(3), state: null });
  expectType(kept, 'not-equal', 'remove a tombstone whose promise is far above it');
  expectBallot(kept.accepted, b(3), 'what not-equal says is accepted');
  expectType(await s.prepare('other', b(4)), 'promised', 'prepare 4/p1 on another key: no floor was raised');
  const still = await s.prepare('k', b(4));
  expectType(still, 'conflict', 'prepare 4/p1 on the kept key, under its promise');
  expectBallot(still.accepted, b(3), 'the kept key\'s accepted ballot: the tombstone');
  // A promise within 2^32 of the tombstone is removed as usual (the case above covers the floor).
  expectType(await s.prepare('near', b(5)), 'promised', 'prepare 5/p1');
  expectType(await s.accept('near', b(5), null), 'accepted', 'accept the tombstone 5/p1');
  expectType(await s.prepare('near', b(5 + 2 ** 32, 'py')), 'promised', 'prepare 2^32+5/py');
  expectType(await s.acceptor.removeIfEqual('near', { ballot: b(5), state: null }), 'removed', 'remove a tombstone whose promise is 2^32 above it');
}

async function expectPeeked(s: Session, key: string, accepted: Ballot, state: State, what: string): Promise<void> {
  const reply = await s.peek(key);
  expectType(reply, 'peeked', what);
  expectBallot(reply.accepted, accepted, `${what}: the accepted ballot`);
  expectState(reply.state, state, `${what}: the state`);
}

async function casePeekEmpty(s: Session): Promise<void> {
  await expectPeeked(s, 'k', ZERO_BALLOT, null, 'a peek of a key never written');
  await expectListed(s, [], 'keys after a peek');
  // No promise was taken: the lowest ballot is still promised.
  const first = await s.prepare('k', b(1));
  expectType(first, 'promised', 'prepare 1/p1 after a peek');
  expectBallot(first.accepted, ZERO_BALLOT, 'the accepted ballot after a peek');
}

async function casePeekReportsAccepted(s: Session): Promise<void> {
  const value = bytes(0, 1, 2, 255, 0);
  expectType(await s.prepare('k', b(2)), 'promised', 'prepare 2/p1');
  expectType(await s.accept('k', b(2), value), 'accepted', 'accept 2/p1');
  await expectPeeked(s, 'k', b(2), value, 'a peek after accept 2/p1');
  // A later promise is not an accepted state: the peek still reports 2/p1.
  expectType(await s.prepare('k', b(5)), 'promised', 'prepare 5/p1');
  await expectPeeked(s, 'k', b(2), value, 'a peek after prepare 5/p1');
  // A key holding only a promise holds nothing accepted; the empty tombstone reads as empty.
  expectType(await s.prepare('p', b(3)), 'promised', 'prepare 3/p1 on another key');
  await expectPeeked(s, 'p', ZERO_BALLOT, null, 'a peek of a key holding only a promise');
  expectType(await s.accept('t', b(4), null), 'accepted', 'accept the empty state 4/p1');
  await expectPeeked(s, 't', b(4), null, 'a peek of the empty state');
  expectType(await s.accept('e', b(4), bytes()), 'accepted', 'accept zero bytes 4/p1');
  await expectPeeked(s, 'e', b(4), bytes(), 'a peek of zero bytes (not the empty state)');
}

async function casePeekWritesNothing(s: Session): Promise<void> {
  const keys = Array.from({ length: 200 }, (_, i) => `peeked-${i}`);
  const replies = await Promise.all(keys.map((k) => s.peek(k)));
  for (const [i, reply] of replies.entries()) {
    expectType(reply, 'peeked', `peek ${keys[i]}`);
    expectBallot(reply.accepted, ZERO_BALLOT, `peek ${keys[i]}`);
  }
  await expectListed(s, [], 'keys after 200 peeks');
  expectType(await s.accept('w', b(3), bytes(3)), 'accepted', 'accept 3/p1');
  await Promise.all(Array.from({ length: 20 }, () => s.peek('w')));
  // Neither the peeks of a written key nor those of absent keys took a promise.
  expectType(await s.accept('w', b(4), bytes(4)), 'accepted', 'accept 4/p1 after peeks');
  expectType(await s.prepare(keys[0] as string, b(1)), 'promised', 'prepare 1/p1 of a peeked key');
  await expectListed(s, ['w'], 'keys after the peeks and one write');
}

async function casePeekAfterRemoval(s: Session): Promise<void> {
  expectType(await s.accept('k', b(3), null), 'accepted', 'accept the tombstone 3/p1');
  await expectPeeked(s, 'k', b(3), null, 'a peek of the tombstone');
  expectType(await s.acceptor.removeIfEqual('k', { ballot: b(3), state: null }), 'removed', 'remove the tombstone');
  await expectPeeked(s, 'k', ZERO_BALLOT, null, 'a peek of a removed key');
}

async function casePeekBurstOrder(s: Session): Promise<void> {
  const [before, accepted, after, lower, last] = await Promise.all([
    s.peek('k'),
    s.accept('k', b(4), bytes(4)),
    s.peek('k'),
    s.accept('k', b(2), bytes(2)),
    s.peek('k'),
  ]);
  expectBallot(before.accepted, ZERO_BALLOT, 'a peek before the accept in a burst');
  expectType(accepted, 'accepted', 'accept 4/p1 in a burst');
  expectBallot(after.accepted, b(4), 'a peek after accept 4/p1 in the same burst');
  expectType(lower, 'conflict', 'accept 2/p1 after 4/p1');
  expectBallot(last.accepted, b(4), 'the last peek of the burst');
  expectState(last.state, bytes(4), 'the last peek of the burst');
}

async function casePeekDurable(s: Session): Promise<void> {
  expectType(await s.accept('k', b(2), bytes(2)), 'accepted', 'accept 2/p1');
  expectType(await s.prepare('j', b(5)), 'promised', 'prepare 5/p1 on j');
  await s.crash();
  await expectPeeked(s, 'k', b(2), bytes(2), 'a peek after a crash');
  await expectPeeked(s, 'j', ZERO_BALLOT, null, 'a peek of a promise-only key after a crash');
}

async function caseRemoveNotTombstone(s: Session): Promise<void> {
  expectType(await s.accept('k', b(1), bytes(5)), 'accepted', 'accept a value');
  const reply: RemoveReply = await s.acceptor.removeIfEqual('k', { ballot: b(1), state: null });
  expectType(reply, 'not-equal', 'remove a value with a tombstone of its ballot');
  await expectInvalid(() => s.acceptor.removeIfEqual('k', { ballot: b(1), state: bytes(5) }), 'a tombstone with a non-empty state');
  expectState((await s.probe('k')).state, bytes(5), 'the value after refused removals');
}

async function caseListKeys(s: Session): Promise<void> {
  expectType(await s.prepare('promised-only', b(1)), 'promised', 'prepare a key');
  const written = Array.from({ length: 600 }, (_, i) => `key-${String(i).padStart(4, '0')}`);
  for (let i = 0; i < written.length; i += 50) {
    const replies = await Promise.all(written.slice(i, i + 50).map((key) => s.accept(key, b(1), bytes(1))));
    replies.forEach((r) => expectType(r, 'accepted', 'accept a key to list'));
  }
  expectType(await s.accept('gone', b(1), null), 'accepted', 'accept a tombstone');
  expectType(await s.acceptor.removeIfEqual('gone', { ballot: b(1), state: null }), 'removed', 'remove the tombstone');
  await expectListed(s, written, 'the listed keys');
  const controller = new AbortController();
  let seen = 0;
  try {
    for await (const _ of s.acceptor.listKeys({ signal: controller.signal })) {
      if (++seen === 3) controller.abort(new ConformanceError('stop'));
    }
    fail('listKeys went on after its signal aborted');
  } catch (err) {
    if (!(err instanceof ConformanceError) || err.message !== 'stop') throw err;
  }
}

async function expectListed(s: Session, expected: readonly string[], what: string): Promise<void> {
  const listed: string[] = [];
  for await (const key of s.acceptor.listKeys()) listed.push(key);
  const sorted = [...listed].sort();
  const want = [...expected].sort();
  if (sorted.length !== want.length || sorted.some((k, i) => k !== want[i])) {
    fail(`${what}: expected ${want.length} keys, got ${listed.length} (first differences: ${show(sorted.filter((k) => !want.includes(k)).slice(0, 3))} extra, ${show(want.filter((k) => !sorted.includes(k)).slice(0, 3))} missing)`);
  }
}

async function caseWatch(s: Session): Promise<void> {
  expectType(await s.accept('w', b(1), bytes(1)), 'accepted', 'accept 1/p1');
  const controller = new AbortController();
  const iterator = s.acceptor.watch('w', { signal: controller.signal })[Symbol.asyncIterator]();
  const next = async (what: string): Promise<AcceptedState> => {
    const item = await withTimeout(iterator.next(), 10_000, what);
    if (item.done === true) fail(`${what}: the watch ended early`);
    return item.value;
  };
  const first = await next('the current state');
  expectBallot(first.ballot, b(1), 'the ballot a watch yields first');
  expectState(first.state, bytes(1), 'the state a watch yields first');
  expectType(await s.accept('w', b(2), bytes(2)), 'accepted', 'accept 2/p1');
  expectType(await s.accept('other', b(3), bytes(9)), 'accepted', 'accept another key');
  expectType(await s.accept('w', b(4), null), 'accepted', 'accept 4/p1 (tombstone)');
  const second = await next('the first change');
  expectBallot(second.ballot, b(2), 'the first change');
  expectState(second.state, bytes(2), 'the first change');
  const third = await next('the second change');
  expectBallot(third.ballot, b(4), 'the second change');
  expectState(third.state, null, 'the second change');
  controller.abort();
  const end = await withTimeout(iterator.next(), 10_000, 'the end of an aborted watch').catch(() => ({ done: true as const, value: undefined }));
  if (end.done !== true) fail(`an aborted watch yielded ${show(end.value)}`);
}

async function caseBadInput(s: Session): Promise<void> {
  expectType(await s.accept('k', b(2), bytes(7)), 'accepted', 'accept 2/p1');
  const a = s.acceptor as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const call = (method: string, ...args: unknown[]) => () => (a[method] as (...args: unknown[]) => Promise<unknown>).call(s.acceptor, ...args);
  const cases: Array<[string, () => Promise<unknown>]> = [
    ['a key that is a number', call('prepare', 7, AGE, b(9))],
    ['a ballot with a negative counter', call('prepare', 'k', AGE, { counter: -1, id: 'p1' })],
    ['a ballot with a fractional counter', call('accept', 'k', AGE, { counter: 9.5, id: 'p1' }, bytes(1))],
    ['a zero counter with an id', call('prepare', 'k', AGE, { counter: 0, id: 'p1' })],
    ['a ballot that is a string', call('prepare', 'k', AGE, '9/p1')],
    ['an age with an empty id', call('prepare', 'k', { counter: 0, id: '' }, b(9))],
    ['a state that is an array', call('accept', 'k', AGE, b(9), [1, 2, 3])],
    ['a state that is a string', call('accept', 'k', AGE, b(9), 'abc')],
    ['a malformed next ballot', call('accept', 'k', AGE, b(9), bytes(1), { next: { counter: 'x', id: 'p1' } })],
    ['a malformed ancestry', call('accept', 'k', AGE, b(9), bytes(1), { ancestry: [{ counter: 1 }] })],
    ['an ancestry that is not an array', call('accept', 'k', AGE, b(9), bytes(1), { ancestry: { length: 1 } })],
    ['ages that are not an array', call('rejectByAge', { counter: 5, id: 'p1' })],
    ['ages with a malformed entry', call('rejectByAge', [{ counter: 5, id: 'p1' }, { counter: -1, id: 'p1' }])],
    ['a tombstone without a ballot', call('removeIfEqual', 'k', { state: null })],
  ];
  for (const [what, bad] of cases) await expectInvalid(bad, what);
  // Nothing changed: not the record, not the promise, not the ages (5/p1 was in a refused batch).
  const seen = await s.probe('k');
  expectBallot(seen.accepted, b(2), 'the accepted ballot after bad requests');
  expectState(seen.state, bytes(7), 'the state after bad requests');
  expectType(await s.prepare('k2', b(1), AGE), 'promised', 'a prepare with age 0 after a refused rejectByAge');
}

async function caseDurableRecords(s: Session): Promise<void> {
  expectType(await s.prepare('promised', b(4)), 'promised', 'prepare 4/p1');
  expectType(await s.accept('value', b(2), bytes(1, 2, 3), { ancestry: [b(1, 'p2')] }), 'accepted', 'accept with an ancestry');
  expectType(await s.accept('unknown', b(2), bytes(4)), 'accepted', 'accept without an ancestry');
  expectType(await s.accept('tomb', b(2), null), 'accepted', 'accept a tombstone');
  const next = await s.accept('next', b(2), bytes(5), { next: b(3) });
  expectType(next, 'accepted', 'accept with a next ballot');
  await s.crash();
  const lower = await s.prepare('promised', b(4));
  expectType(lower, 'conflict', 'prepare 4/p1 again after the crash (the promise must survive)');
  expectBallot(lower.ballot, b(4), 'the promise after the crash');
  const value = await s.probe('value');
  expectBallot(value.accepted, b(2), 'the accepted ballot after the crash');
  expectState(value.state, bytes(1, 2, 3), 'the accepted state after the crash');
  expectAncestry(value.ancestry, [b(1, 'p2')], 'the ancestry after the crash');
  expectAncestry((await s.probe('unknown')).ancestry, undefined, 'an unknown ancestry after the crash');
  expectState((await s.probe('tomb')).state, null, 'a tombstone after the crash');
  if (next.promised !== undefined) {
    expectType(await s.prepare('next', b(3)), 'conflict', 'prepare at the piggybacked promise after the crash');
  }
  await expectListed(s, ['value', 'unknown', 'tomb', 'next'], 'the keys after the crash');
}

async function caseDurableGc(s: Session): Promise<void> {
  await s.acceptor.rejectByAge([{ counter: 3, id: 'p1' }, { counter: 1, id: 'p2' }]);
  expectType(await s.accept('k', b(5), null, { age: { counter: 3, id: 'p1' } }), 'accepted', 'accept a tombstone');
  expectType(await s.acceptor.removeIfEqual('k', { ballot: b(5), state: null }), 'removed', 'remove the tombstone');
  await s.crash();
  expectType(await s.prepare('j', b(9), { counter: 2, id: 'p1' }), 'age', 'a younger age after the crash');
  expectType(await s.prepare('j', b(9, 'p2'), { counter: 0, id: 'p2' }), 'age', 'another raised age after the crash');
  expectType(await s.prepare('k', b(5, 'p0'), { counter: 0, id: 'p0' }), 'conflict', 'a ballot below the floor after the crash');
  expectType(await s.prepare('k', b(6, 'p3'), { counter: 0, id: 'p3' }), 'promised', 'a ballot above the floor after the crash');
}

async function caseDurableBurst(s: Session): Promise<void> {
  const keys = Array.from({ length: 64 }, (_, i) => `burst-${i}`);
  const replies = await Promise.all(keys.map((key, i) => s.accept(key, b(i + 1), bytes(i, i >> 8))));
  replies.forEach((r, i) => expectType(r, 'accepted', `accept ${keys[i]}`));
  await s.crash();
  for (const [i, key] of keys.entries()) {
    const seen = await s.probe(key);
    expectBallot(seen.accepted, b(i + 1), `the ballot of ${key} after the crash`);
    expectState(seen.state, bytes(i, i >> 8), `the state of ${key} after the crash`);
  }
}

async function caseBurstReplies(s: Session): Promise<void> {
  // Half the keys hold a promise at 5/p2 first, so the burst gets conflicts and successes mixed.
  const keys = Array.from({ length: 100 }, (_, i) => `burst-${i}`);
  for (const key of keys.filter((_, i) => i % 2 === 1)) expectType(await s.prepare(key, b(5, 'p2')), 'promised', `prepare 5/p2 on ${key}`);
  // One turn: a prepare at 3/p1 on every key, then an accept at 6/p1 on every key.
  const prepares = keys.map((key) => s.prepare(key, b(3)));
  const accepts = keys.map((key, i) => s.accept(key, b(6), bytes(i)));
  const [prepared, accepted] = await Promise.all([Promise.all(prepares), Promise.all(accepts)]);
  keys.forEach((key, i) => {
    const p = prepared[i] as PrepareReply;
    if (i % 2 === 0) expectType(p, 'promised', `the prepare of ${key} in a burst`);
    else {
      expectType(p, 'conflict', `the prepare of ${key} (promised 5/p2) in a burst`);
      expectBallot(p.ballot, b(5, 'p2'), `the conflict of ${key} in a burst`);
    }
    expectType(accepted[i] as AcceptReply, 'accepted', `the accept 6/p1 of ${key} in a burst`);
  });
  for (const [i, key] of keys.entries()) {
    const seen = await s.probe(key);
    expectBallot(seen.accepted, b(6), `the ballot of ${key} after a burst`);
    expectState(seen.state, bytes(i), `the state of ${key} after a burst`);
  }
}

async function caseBurstOrder(s: Session): Promise<void> {
  // Requests on one key made in one turn take effect in the order they were made.
  const [promised, lower, accepted, duplicate, above] = await Promise.all([
    s.prepare('k', b(4)),
    s.prepare('k', b(2)),
    s.accept('k', b(4), bytes(4)),
    s.accept('k', b(4), bytes(5)),
    s.accept('k', b(7), bytes(7), { next: b(8) }),
  ]);
  expectType(promised, 'promised', 'the first prepare 4/p1 of a burst on one key');
  expectType(lower, 'conflict', 'prepare 2/p1 after 4/p1 in the same burst');
  expectType(accepted, 'accepted', 'accept 4/p1 after its prepare in the same burst');
  expectType(duplicate, 'conflict', 'a duplicate accept 4/p1 in the same burst');
  expectType(above, 'accepted', 'accept 7/p1 last in the burst');
  const seen = await s.probe('k');
  expectBallot(seen.accepted, b(7), 'the ballot after an ordered burst');
  expectState(seen.state, bytes(7), 'the state after an ordered burst');
}

async function caseBurstBadItem(s: Session): Promise<void> {
  const good = Array.from({ length: 10 }, (_, i) => s.accept(`good-${i}`, b(1), bytes(i)));
  const bad = s.acceptor.accept('bad', AGE, { counter: -1, id: 'p1' } as Ballot, bytes(1));
  const badNext = s.accept('bad', b(3), bytes(1), { next: b(2) });
  await expectInvalid(() => bad, 'a malformed ballot in a burst');
  await expectInvalid(() => badNext, 'a next ballot below the ballot in a burst');
  (await Promise.all(good)).forEach((r, i) => expectType(r, 'accepted', `accept good-${i} in a burst with bad requests`));
  expectBallot((await s.probe('bad')).accepted, ZERO_BALLOT, 'a key only bad requests of a burst named');
}

async function caseBurstAbort(s: Session): Promise<void> {
  const reason = new ConformanceError('caller gave up');
  const controller = new AbortController();
  const others = Array.from({ length: 10 }, (_, i) => s.accept(`other-${i}`, b(1), bytes(i)));
  const early = s.acceptor.accept('early', AGE, b(1), bytes(1), { signal: AbortSignal.abort(reason) });
  const late = s.acceptor.accept('late', AGE, b(1), bytes(1), { signal: controller.signal });
  controller.abort(reason);
  const outcome = await early.then(
    (r) => r,
    (e: unknown) => e,
  );
  if (outcome !== reason) fail(`a call whose signal was aborted before it was made: expected a rejection with signal.reason, got ${show(outcome)}`);
  // Aborted in the turn it was made: it may have been answered already (an acceptor in this
  // process may finish at once); if it rejects, it rejects with the reason.
  await late.then(
    (r) => expectType(r, 'accepted', 'an accept aborted after it was made, if answered'),
    (e: unknown) => {
      if (e !== reason) fail(`an accept aborted after it was made: expected signal.reason, got ${show(e)}`);
    },
  );
  (await Promise.all(others)).forEach((r, i) => expectType(r, 'accepted', `accept other-${i} next to aborted calls`));
  expectBallot((await s.probe('early')).accepted, ZERO_BALLOT, 'a key whose only accept was aborted before it was made');
}

async function caseDurableMixedBurst(s: Session): Promise<void> {
  const keys = Array.from({ length: 64 }, (_, i) => `mixed-${i}`);
  const replies = await Promise.all(keys.map((key, i) => (i % 2 === 0 ? s.prepare(key, b(i + 10)) : s.accept(key, b(i + 10), bytes(i), { next: b(i + 11) }))));
  replies.forEach((r, i) => expectType(r as { type: string }, i % 2 === 0 ? 'promised' : 'accepted', `request ${i} of a mixed burst`));
  await s.crash();
  for (const [i, key] of keys.entries()) {
    if (i % 2 === 0) {
      expectType(await s.prepare(key, b(i + 10)), 'conflict', `prepare ${key} again after the crash (the promise of a burst must survive)`);
      continue;
    }
    const seen = await s.probe(key);
    expectBallot(seen.accepted, b(i + 10), `the ballot of ${key} after the crash`);
    expectState(seen.state, bytes(i), `the state of ${key} after the crash`);
  }
}

// --- A full storage -----------------------------------------------------------------------------

async function caseFullRefusesNewKeys(s: Session, storage: StorageControl): Promise<void> {
  expectType(await s.accept('kept', b(1), bytes(1, 2, 3)), 'accepted', 'accept kept (before the storage fills)');
  await storage.fill();
  await expectStorageFull(() => s.accept('new-a', b(5), bytes(7)), 'an accept of a value for a new key');
  await expectStorageFull(() => s.accept('new-n', b(5), bytes(7), { next: b(6) }), 'an accept of a value for a new key that promises the next ballot');
  await storage.free();
  // Nothing of the refused writes was kept: their promises (5) do not hold, nothing was accepted.
  await expectUntouched(s, 'new-a', b(2), 'the key a refused accept would have created');
  await expectUntouched(s, 'new-n', b(2), 'the key a refused accept with next would have created');
  const kept = await s.probe('kept');
  expectBallot(kept.accepted, b(1), 'the write acknowledged before the storage filled');
  expectState(kept.state, bytes(1, 2, 3), 'the write acknowledged before the storage filled');
}

async function caseFullBurst(s: Session, storage: StorageControl): Promise<void> {
  await storage.fill();
  const keys = Array.from({ length: 16 }, (_, i) => `burst-${i}`);
  // One turn: a batching transport sends these as one request, a grouping store as one write.
  const outcomes = await Promise.allSettled(keys.map((key, i) => s.accept(key, b(3), bytes(i))));
  outcomes.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') fail(`burst item ${i} while the storage is full: expected a rejection with ERR_STORAGE_FULL, got ${show(outcome.value)}`);
    const code = (outcome.reason as { code?: unknown })?.code;
    if (code !== 'ERR_STORAGE_FULL') fail(`burst item ${i}: expected ERR_STORAGE_FULL, got ${show(outcome.reason)}`);
  });
  await storage.free();
  for (const key of keys) await expectUntouched(s, key, b(1), `burst key ${key}`);
}

async function caseFullResumes(s: Session, storage: StorageControl): Promise<void> {
  await storage.fill();
  await expectStorageFull(() => s.accept('later', b(1), bytes(4)), 'an accept of a value for a new key');
  await storage.free();
  // The same acceptor, not restarted.
  expectType(await s.accept('later', b(2), bytes(5)), 'accepted', 'the same accept once there is room');
  expectType(await s.prepare('other', b(1)), 'promised', 'a prepare creating another key once there is room');
  const seen = await s.probe('later');
  expectBallot(seen.accepted, b(2), 'the write taken once there was room');
  expectState(seen.state, bytes(5), 'the write taken once there was room');
}

async function caseFullShrinks(s: Session, storage: StorageControl): Promise<void> {
  expectType(await s.accept('tomb', b(1), null), 'accepted', 'accept the tombstone of tomb');
  expectType(await s.accept('value', b(1), bytes(9, 9, 9, 9)), 'accepted', 'accept a value');
  await storage.fill();
  // A read or a delete of a key that does not exist: a promise, a tombstone.
  const promised = await s.prepare('absent', b(1));
  expectType(promised, 'promised', 'a prepare of a key that does not exist, while full');
  expectState(promised.state, null, 'the state of a key that does not exist');
  expectType(await s.accept('absent', b(1), null), 'accepted', 'a tombstone for a key that does not exist, while full');
  const removed = await s.acceptor.removeIfEqual('tomb', { ballot: b(1), state: null });
  if (removed.type !== 'removed') fail(`removing the tombstone while full: expected 'removed', got ${show(removed)}`);
  await s.acceptor.rejectByAge([{ counter: 2, id: 'gone' }]);
  expectType(await s.prepare('value', b(2)), 'promised', 'a promise on an existing key while full');
  expectType(await s.accept('value', b(2), bytes(9)), 'accepted', 'a shorter state while full');
  expectType(await s.accept('value', b(3), bytes(9)), 'accepted', 'a state of the same length while full');
  await expectStorageFull(() => s.accept('value', b(4), bytes(9, 9, 9, 9, 9)), 'a longer state');
  await storage.free();
  const seen = await s.probe('value');
  expectState(seen.state, bytes(9), 'the state after the shrinking writes');
  const age = await s.acceptor.prepare('value', { counter: 1, id: 'gone' }, b(PROBE_COUNTER + probes++, 'probe'));
  expectType(age, 'age', 'a prepare by a proposer whose age was raised while full');
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new ConformanceError(`${what}: nothing within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
