/**
 * `MemoryProposer` over in-process `MemoryAcceptor`s (the trusted path, see
 * src/acceptor/in-process.ts and `MemoryProposerOptions.inProcess`): when it is used, that it
 * changes no outcome, and clusters that mix in-process and remote acceptors.
 *
 * The outcomes are compared by a property: random sequential programs (several proposers, keys,
 * change functions that throw or return no bytes, empty states, garbage collections, bursts on one
 * key) run once over acceptors that offer the path and once with `inProcess: false`; every result,
 * every error and every acceptor's records must be the same. fast-check prints the seed and path
 * of a failure (FC_SEED / FC_PATH / FC_RUNS replay it, see test/support/property-harness.ts). The
 * negative control runs the same property with acceptors whose trusted path is broken.
 */
import { fc } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import {
  type ChangeFunc,
  MemoryAcceptor,
  MemoryProposer,
  type MemoryProposerOptions,
  type State,
  garbageCollect,
} from '../../src/index.js';
import { type TrustedAcceptor, inProcess } from '../../src/acceptor/in-process.js';
import { noSleep } from '../support/cluster.js';
import { FaultyAcceptor } from '../support/faulty-acceptor.js';
import { InvariantViolation, controlParameters, parameters, violated } from '../support/property-harness.js';
import { appendOp, opsOf } from '../support/text.js';

const KEYS = ['x', 'y', 'z'];
const IDS = ['p1', 'p2', 'p3'];

type Op =
  | { readonly kind: 'append' | 'identity' | 'empty' | 'throws' | 'not-bytes'; readonly proposer: number; readonly key: string }
  | { readonly kind: 'burst'; readonly proposer: number; readonly key: string; readonly size: number }
  | { readonly kind: 'gc'; readonly key: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constantFrom('append', 'identity', 'empty', 'throws', 'not-bytes'), proposer: fc.nat({ max: 2 }), key: fc.constantFrom(...KEYS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('burst' as const), proposer: fc.nat({ max: 2 }), key: fc.constantFrom(...KEYS), size: fc.integer({ min: 2, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('gc' as const), key: fc.constantFrom(...KEYS) }) },
);

function change(kind: Op['kind'], id: string): ChangeFunc {
  switch (kind) {
    case 'identity':
      return (s) => s;
    case 'empty':
      return () => null;
    case 'throws':
      return () => {
        throw new Error(`change ${id} refused`);
      };
    case 'not-bytes':
      return () => 'text' as unknown as State;
    default:
      return appendOp(id);
  }
}

/** What a call ended with, comparable across clusters. */
async function outcome(call: Promise<unknown>): Promise<unknown> {
  try {
    const result = (await call) as { state: State; ballot: unknown } | undefined;
    return result === undefined ? 'done' : { state: opsOf(result.state), ballot: result.ballot };
  } catch (error) {
    return { error: (error as { code?: string }).code ?? String(error) };
  }
}

interface Cluster {
  readonly acceptors: readonly MemoryAcceptor[];
  readonly proposers: readonly MemoryProposer[];
}

function build(acceptor: (address: string) => MemoryAcceptor, options: MemoryProposerOptions): Cluster {
  const acceptors = ['a1', 'a2', 'a3'].map(acceptor);
  return { acceptors, proposers: IDS.map((id) => new MemoryProposer(id, acceptors, { sleep: noSleep, random: () => 0.5, ...options })) };
}

/** Runs `op` (the n-th of its program) on `c`; a burst's proposals go in at once, through one proposer. */
async function run(c: Cluster, op: Op, n: number): Promise<unknown> {
  if (op.kind === 'gc') {
    const deleted = await outcome((c.proposers[0] as MemoryProposer).propose(op.key, () => null));
    return [deleted, await outcome(garbageCollect(op.key, c.proposers, c.acceptors, { random: () => 0 }))];
  }
  const proposer = c.proposers[op.proposer] as MemoryProposer;
  if (op.kind === 'burst') {
    const calls = Array.from({ length: op.size }, (_, i) => proposer.propose(op.key, appendOp(`${n}.${i}`)));
    return Promise.all(calls.map(outcome));
  }
  return outcome(proposer.propose(op.key, change(op.kind, `${n}`)));
}

function holdings(c: Cluster): string {
  return fc.stringify({
    records: c.acceptors.map((a) => KEYS.map((k) => a.inspect(k))),
    floors: c.acceptors.map((a) => a.tombstoneFloor),
    proposers: c.proposers.map((p) => p.inspect()),
  });
}

/**
 * The property: a program gives the same results, errors and acceptor records through the
 * in-process path as through the public methods. `acceptor` builds the in-process cluster's
 * acceptors.
 */
function sameOutcomes(acceptor: (address: string) => MemoryAcceptor) {
  return fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 20 }), fc.boolean(), async (program, oneRoundTrip) => {
    const fast = build(acceptor, { oneRoundTrip });
    const reference = build((a) => new MemoryAcceptor(a), { oneRoundTrip, inProcess: false });
    for (const [n, op] of program.entries()) {
      const got = fc.stringify(await run(fast, op, n));
      const want = fc.stringify(await run(reference, op, n));
      if (got !== want) violated(`op ${n} ${fc.stringify(op)}: ${got} in process, ${want} through the public methods`);
      if (holdings(fast) !== holdings(reference)) violated(`after op ${n} ${fc.stringify(op)}: ${holdings(fast)} in process, ${holdings(reference)} through the public methods`);
    }
  });
}

/** A MemoryAcceptor whose in-process path answers an accept without storing it. */
class ForgetfulAccepter extends MemoryAcceptor {
  override [inProcess](): TrustedAcceptor | undefined {
    const path = super[inProcess]();
    return path && { prepare: (...args) => path.prepare(...args), accept: (_key, _age, shared) => shared.reply, peek: (key) => path.peek(key) };
  }
}

describe('the in-process path changes no outcome', () => {
  test('any sequential program: the same results, errors, ballots and acceptor records as through the public methods', async () => {
    await fc.assert(sameOutcomes((a) => new MemoryAcceptor(a)), parameters(150));
  });

  test('negative control: acceptors whose trusted accept stores nothing are caught', async () => {
    const details = await fc.check(sameOutcomes((a) => new ForgetfulAccepter(a)), { ...controlParameters(150), endOnFailure: true });
    expect(details.failed).toBe(true);
    expect(details.errorInstance).toBeInstanceOf(InvariantViolation);
  });
});

describe('when the in-process path is used', () => {
  // Observable: through the path an attempt runs synchronously, inside `propose`, accept phase
  // included; through the public methods the accept phase waits for the prepare replies.
  const acceptedAtOnce = (proposer: MemoryProposer, acceptors: readonly MemoryAcceptor[]): boolean => {
    const pending = proposer.propose('k', appendOp('a'));
    const now = acceptors.map((a) => a.inspect('k')?.accepted.counter ?? 0);
    void pending;
    return now.every((c) => c > 0);
  };
  const acceptors = () => ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));

  test('by default, over MemoryAcceptors', async () => {
    const as = acceptors();
    const p = new MemoryProposer('p1', as, { oneRoundTrip: false });
    expect(acceptedAtOnce(p, as)).toBe(true);
    expect((await p.identityRead('k')).state).toEqual(appendOp('a')(null));
  });

  test('not with inProcess: false', () => {
    const as = acceptors();
    expect(acceptedAtOnce(new MemoryProposer('p1', as, { oneRoundTrip: false, inProcess: false }), as)).toBe(false);
  });

  test('not while a tracer is set: the trace shows every message as asynchronous acceptors deliver them', async () => {
    const as = acceptors();
    const events: unknown[] = [];
    const p = new MemoryProposer('p1', as, { oneRoundTrip: false, tracer: (e) => events.push(e) });
    expect(acceptedAtOnce(p, as)).toBe(false);
    await p.identityRead('k');
    expect(events.length).toBeGreaterThan(0);
  });

  test('not for an acceptor that overrides prepare or accept: it sees every request', async () => {
    const seen: string[] = [];
    class Counting extends MemoryAcceptor {
      override prepare(...args: Parameters<MemoryAcceptor['prepare']>) {
        seen.push(`prepare ${this.address}`);
        return super.prepare(...args);
      }
      override accept(...args: Parameters<MemoryAcceptor['accept']>) {
        seen.push(`accept ${this.address}`);
        return super.accept(...args);
      }
    }
    const as = [new Counting('a1'), new MemoryAcceptor('a2'), new MemoryAcceptor('a3')];
    const p = new MemoryProposer('p1', as, { oneRoundTrip: false });
    for (let i = 0; i < 3; i++) await p.propose('k', appendOp(`${i}`));
    expect(seen).toEqual(['prepare a1', 'accept a1', 'prepare a1', 'accept a1', 'prepare a1', 'accept a1']);
    for (const a of as) expect(opsOf(a.inspect('k')?.state ?? null)).toEqual(['0', '1', '2']);
  });
});

describe('clusters mixing in-process and remote acceptors', () => {
  const mixed = (options: MemoryProposerOptions = {}) => {
    const local = [new MemoryAcceptor('a1'), new MemoryAcceptor('a2')];
    const remote = new FaultyAcceptor(new MemoryAcceptor('a3'));
    const proposer = new MemoryProposer('p1', [...local, remote], { sleep: noSleep, ...options });
    return { local, remote, proposer };
  };

  test('a quorum in process decides without waiting for the remote member, which still gets every message', async () => {
    const { local, remote, proposer } = mixed();
    remote.addRule({ when: 'request', action: 'hold' });
    for (let i = 0; i < 3; i++) expect(opsOf((await proposer.propose('k', appendOp(`${i}`))).state)).toEqual(['0', '1', '2'].slice(0, i + 1));
    // One prepare (the first change) and three accepts went to a3, and wait there.
    expect(remote.held.map((h) => h.message.method)).toEqual(['prepare', 'accept', 'accept', 'accept']);
    await remote.releaseAll();
    remote.clearRules();
    for (const a of [...local, remote.inner]) expect(opsOf(a.inspect('k')?.state ?? null)).toEqual(['0', '1', '2']);
  });

  test('when the in-process members cannot decide, the remote one does', async () => {
    const { local, remote, proposer } = mixed({ oneRoundTrip: false });
    // a1 promised a higher ballot to someone else: its replies are conflicts.
    await (local[0] as MemoryAcceptor).prepare('k', { counter: 0, id: 'q' }, { counter: 100, id: 'q' });
    remote.addRule({ when: 'reply', action: 'delay' });
    const result = await proposer.propose('k', appendOp('a'));
    expect(opsOf(result.state)).toEqual(['a']);
    // a1's conflict and a2's promise left the prepare open: a3's delayed promise decided it.
    expect(proposer.inspect().attempts).toBe(1);
    expect(remote.inner.inspect('k')?.state).toEqual(result.state);
    expect(local[1]?.inspect('k')?.state).toEqual(result.state);
    expect(local[0]?.inspect('k')).toMatchObject({ promise: { counter: 100, id: 'q' }, state: null });
  });
});

describe('ProposerSnapshot counts attempts', () => {
  test('every attempt, and those that skipped the prepare phase', async () => {
    const as = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    const p = new MemoryProposer('p1', as, { sleep: noSleep });
    for (let i = 0; i < 4; i++) await p.propose('k', appendOp(`${i}`));
    expect(p.inspect()).toMatchObject({ attempts: 4, preparesSkipped: 3 });
    // A competitor's prepare revokes the promise: the cached attempt loses, the retry prepares.
    await new MemoryProposer('q', as).identityRead('k', { writeBack: true });
    await p.propose('k', appendOp('4'));
    expect(p.inspect()).toMatchObject({ attempts: 6, preparesSkipped: 4 });
  });
});

describe('a round that commits synchronously (in process)', () => {
  const acceptors = () => ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));

  test('holds its key until a microtask later: a burst on one key runs as two rounds, in arrival order', async () => {
    const p = new MemoryProposer('p1', acceptors());
    const ids = Array.from({ length: 20 }, (_, i) => `${i}`);
    const results = await Promise.all(ids.map((id) => p.propose('k', appendOp(id))));
    // The first ran alone, inside `propose`; the 19 that arrived meanwhile share the next round.
    expect(p.inspect().attempts).toBe(2);
    expect(results.map((r) => opsOf(r.state))).toEqual(ids.map((_, i) => ids.slice(0, i + 1)));
    expect(opsOf((await p.identityRead('k')).state)).toEqual(ids);
  });

  test('thousands ending at once all end, in order: every key takes new rounds, and a fast-forward applies at once', async () => {
    const p = new MemoryProposer('p1', acceptors());
    const keys = Array.from({ length: 3000 }, (_, i) => `k${i}`);
    for (let round = 0; round < 2; round++) {
      const results = await Promise.all(keys.map((key) => p.propose(key, appendOp(`${round}`))));
      expect(results.every((r) => opsOf(r.state).length === round + 1)).toBe(true);
    }
    // One attempt per proposal: no round was left holding its key.
    expect(p.inspect().attempts).toBe(6000);
    const age = p.age.counter;
    // No round runs on k7 now: the fast-forward applies at once, not when some round ends.
    let applied = false;
    const forwarded = p.fastForwardIncrement('k7', { counter: 1, id: 'q' }).then(() => (applied = true));
    await Promise.resolve();
    expect(applied).toBe(true);
    await forwarded;
    expect(p.age.counter).toBe(age + 1);
  });

  test('a fast-forward of its key, asked for before the round ends, applies when it ends, before the next round', async () => {
    const p = new MemoryProposer('p1', acceptors());
    const first = p.propose('k', appendOp('a'));
    let applied = false;
    const forwarded = p.fastForwardIncrement('k', { counter: 50, id: 'q' }).then((age) => {
      applied = true;
      return age;
    });
    expect(applied).toBe(false);
    const second = p.propose('k', appendOp('b'));
    expect((await forwarded).counter).toBe(1);
    await first;
    const { ballot } = await second;
    // The next round took its ballot after the fast-forward: above the tombstone's.
    expect(ballot.counter).toBeGreaterThan(50);
  });
});
