/**
 * `MemoryAcceptor`'s in-process path (src/acceptor/in-process.ts): who is offered it, that it
 * answers and stores exactly what the public methods do, and that skipping the re-validation is
 * confined to it: `prepare` and `accept`, which a user or a server calls, still validate.
 *
 * The equivalence is a property over random sequences of valid requests (fast-check prints the
 * seed and path of a failure; FC_SEED / FC_PATH / FC_RUNS replay it, see
 * test/support/property-harness.ts), with a negative control: a deliberately broken trusted path
 * must be caught.
 */
import { fc } from '@fast-check/vitest';
import { describe, expect, test, vi } from 'vitest';
import { type Age, type Ballot, InvalidArgumentError, MemoryAcceptor, type State } from '../../src/index.js';
import { NO_ANCESTRY } from '../../src/core/ancestry.js';
import { SharedAccept, SharedPrepare, type TrustedAcceptor, inProcess, trustedAcceptorOf } from '../../src/acceptor/in-process.js';
import { InvariantViolation, controlParameters, parameters, violated } from '../support/property-harness.js';

const b = (counter: number, id = 'p1'): Ballot => ({ counter, id });
const age = (counter = 0, id = 'p1'): Age => ({ counter, id });

describe('who is offered the in-process path', () => {
  test('a MemoryAcceptor, and a subclass that leaves prepare and accept alone', () => {
    class Named extends MemoryAcceptor {
      label = 'named';
    }
    expect(trustedAcceptorOf(new MemoryAcceptor('a1'))).toBeDefined();
    expect(trustedAcceptorOf(new Named('a1'))).toBeDefined();
  });

  test('not an acceptor whose prepare or accept is overridden: it must see every request', () => {
    class CountingPrepares extends MemoryAcceptor {
      override prepare(...args: Parameters<MemoryAcceptor['prepare']>) {
        return super.prepare(...args);
      }
    }
    class CountingAccepts extends MemoryAcceptor {
      override accept(...args: Parameters<MemoryAcceptor['accept']>) {
        return super.accept(...args);
      }
    }
    expect(trustedAcceptorOf(new CountingPrepares('a1'))).toBeUndefined();
    expect(trustedAcceptorOf(new CountingAccepts('a1'))).toBeUndefined();
  });

  test('not once a method is replaced on the object (a spy, a monkeypatch), and again once restored', () => {
    const a = new MemoryAcceptor('a1');
    const spy = vi.spyOn(a, 'accept');
    expect(trustedAcceptorOf(a)).toBeUndefined();
    spy.mockRestore();
    expect(trustedAcceptorOf(a)).toBeDefined();
    const patched = new MemoryAcceptor('a2');
    const original = patched.prepare.bind(patched);
    patched.prepare = (...args) => original(...args);
    expect(trustedAcceptorOf(patched)).toBeUndefined();
  });

  test('not a wrapper made with Object.create, whose methods or records are not its own', () => {
    const inner = new MemoryAcceptor('a1');
    const wrapped = Object.create(inner) as MemoryAcceptor;
    // Inherits prepare and accept unchanged, but has no records of its own: no path, no crash.
    expect(trustedAcceptorOf(wrapped)).toBeUndefined();
    wrapped.prepare = async (...args) => inner.prepare(...args);
    expect(trustedAcceptorOf(wrapped)).toBeUndefined();
  });

  test('not other objects: a plain acceptor-like object has no such method', () => {
    expect(trustedAcceptorOf({ address: 'x', prepare: async () => ({}), accept: async () => ({}) })).toBeUndefined();
    expect(typeof (new MemoryAcceptor('a1') as unknown as Record<symbol, unknown>)[inProcess]).toBe('function');
  });
});

// ---- Equivalence: the trusted path answers and stores what the public methods do. ----

/** One valid request, as a validating caller (an in-process proposer) sends it. */
type Request =
  | { readonly kind: 'prepare'; readonly key: string; readonly ballot: Ballot; readonly age: Age }
  | {
      readonly kind: 'accept';
      readonly key: string;
      readonly ballot: Ballot;
      readonly age: Age;
      readonly state: State;
      readonly next: Ballot | undefined;
      readonly ancestry: readonly Ballot[] | undefined;
    }
  | { readonly kind: 'fence'; readonly ages: readonly Age[] };

const KEYS = ['x', 'y'];
const ballotArb = fc.record({ counter: fc.integer({ min: 1, max: 6 }), id: fc.constantFrom('p1', 'p2') });
const ageArb = fc.record({ counter: fc.integer({ min: 0, max: 2 }), id: fc.constantFrom('p1', 'p2') });
const stateArb = fc.option(fc.uint8Array({ maxLength: 4 }), { nil: null });
const ancestryArb = fc.constantFrom<readonly Ballot[] | undefined>(undefined, NO_ANCESTRY, Object.freeze([b(1, 'p2')]));
const requestArb: fc.Arbitrary<Request> = fc.oneof(
  fc.record({ kind: fc.constant('prepare' as const), key: fc.constantFrom(...KEYS), ballot: ballotArb, age: ageArb }),
  fc
    .record({
      kind: fc.constant('accept' as const),
      key: fc.constantFrom(...KEYS),
      ballot: ballotArb,
      age: ageArb,
      state: stateArb,
      // A next ballot is always above the request's (the proposer takes it later; the public
      // method rejects any other).
      nextStep: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      ancestry: ancestryArb,
    })
    .map(({ nextStep, ...r }) => ({ ...r, next: nextStep === undefined ? undefined : b(r.ballot.counter + nextStep, r.ballot.id) })),
  fc.record({ kind: fc.constant('fence' as const), ages: fc.array(ageArb, { maxLength: 2 }) }),
);

/** What an acceptor holds, comparable across acceptors. */
function holdings(a: MemoryAcceptor): unknown {
  return { records: KEYS.map((k) => a.inspect(k)), floor: a.tombstoneFloor, ages: ['p1', 'p2'].map((id) => a.minimumAge(id)) };
}

/**
 * Applies a phase's requests to `group` through the trusted path, as a proposer does: one shared
 * object per phase, the same request to every acceptor of the group.
 */
function applyTrusted(group: readonly MemoryAcceptor[], r: Request, trusted: (a: MemoryAcceptor) => TrustedAcceptor): unknown[] {
  if (r.kind === 'fence') return group.map((a) => void a.rejectByAge(r.ages));
  if (r.kind === 'prepare') {
    const shared = new SharedPrepare();
    return group.map((a) => trusted(a).prepare(r.key, r.age, r.ballot, shared));
  }
  const shared = new SharedAccept(r.ballot, r.state, r.next, r.ancestry);
  return group.map((a) => trusted(a).accept(r.key, r.age, shared));
}

async function applyPublic(group: readonly MemoryAcceptor[], r: Request): Promise<unknown[]> {
  if (r.kind === 'fence') return Promise.all(group.map((a) => a.rejectByAge(r.ages)));
  if (r.kind === 'prepare') return Promise.all(group.map((a) => a.prepare(r.key, r.age, r.ballot)));
  return Promise.all(group.map((a) => a.accept(r.key, r.age, r.ballot, r.state, { next: r.next, ancestry: r.ancestry })));
}

/**
 * The property: three acceptors driven through the trusted path and three through the public
 * methods, each request to a random subset (so their records differ and the sharing is put to the
 * test), answer and hold the same after every request. `trusted` gets an acceptor's path.
 */
function equivalence(trusted: (a: MemoryAcceptor) => TrustedAcceptor) {
  return fc.asyncProperty(fc.array(fc.tuple(requestArb, fc.subarray([0, 1, 2], { minLength: 1 })), { minLength: 1, maxLength: 25 }), async (steps) => {
    const fast = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    const reference = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    for (const [request, members] of steps) {
      const got = applyTrusted(
        members.map((i) => fast[i] as MemoryAcceptor),
        request,
        trusted,
      );
      const want = await applyPublic(
        members.map((i) => reference[i] as MemoryAcceptor),
        request,
      );
      if (fc.stringify(got) !== fc.stringify(want)) {
        violated(`replies differ on ${fc.stringify(request)}: trusted ${fc.stringify(got)}, public ${fc.stringify(want)}`);
      }
      for (let i = 0; i < 3; i++) {
        const [f, r] = [fast[i] as MemoryAcceptor, reference[i] as MemoryAcceptor];
        if (fc.stringify(holdings(f)) !== fc.stringify(holdings(r))) {
          violated(`a${i + 1} holds ${fc.stringify(holdings(f))} through the trusted path, ${fc.stringify(holdings(r))} through the public one`);
        }
      }
    }
  });
}

const pathOf = (a: MemoryAcceptor): TrustedAcceptor => {
  const path = trustedAcceptorOf(a);
  if (path === undefined) throw new Error(`${a.address} offers no in-process path`);
  return path;
};

describe('the trusted path answers and stores what prepare and accept do', () => {
  test('for any sequence of valid requests, to any subsets of three acceptors', async () => {
    await fc.assert(equivalence(pathOf), parameters(300));
  });

  test('negative control: a trusted path that answers an accept without storing it is caught', async () => {
    const forgetful = (a: MemoryAcceptor): TrustedAcceptor => {
      const path = pathOf(a);
      return { prepare: (...args) => path.prepare(...args), accept: (_key, _age, shared) => shared.reply, peek: (key) => path.peek(key) };
    };
    const details = await fc.check(equivalence(forgetful), { ...controlParameters(300), endOnFailure: true });
    expect(details.failed).toBe(true);
    expect(details.errorInstance).toBeInstanceOf(InvariantViolation);
  });

  test('acceptors of one phase holding the same record end up sharing the new one', () => {
    const group = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    const accept = new SharedAccept(b(1), Uint8Array.of(7), b(2), NO_ANCESTRY);
    for (const a of group) expect(pathOf(a).accept('k', age(), accept)).toEqual({ type: 'accepted', promised: b(2) });
    const prepare = new SharedPrepare();
    const replies = group.map((a) => pathOf(a).prepare('k', age(), b(3), prepare));
    // One reply (with one decoded copy of the state) for the three: they promised from one record.
    expect(replies[1]).toBe(replies[0]);
    expect(replies[2]).toBe(replies[0]);
    expect(replies[0]).toEqual({ type: 'promised', accepted: b(1), state: Uint8Array.of(7), ancestry: NO_ANCESTRY });
    expect(prepare.keptFormOf((replies[0] as { state: State }).state)).toBe(accept.record.state);
    // What each holds is still its own to read, and to change by later requests.
    for (const a of group) expect(a.inspect('k')).toEqual({ promise: b(3), accepted: b(1), state: Uint8Array.of(7), ancestry: NO_ANCESTRY });
    expect(pathOf(group[0] as MemoryAcceptor).prepare('k', age(), b(4), new SharedPrepare()).type).toBe('promised');
    expect(group[0]?.inspect('k')?.promise).toEqual(b(4));
    expect(group[1]?.inspect('k')?.promise).toEqual(b(3));
  });

  test('a shared state is never reachable by a caller: the accepted bytes are copied in, every reader gets a copy', () => {
    const a = new MemoryAcceptor('a1');
    const sent = Uint8Array.of(1, 2);
    pathOf(a).accept('k', age(), new SharedAccept(b(1), sent, undefined, NO_ANCESTRY));
    sent.fill(0);
    const reply = pathOf(a).prepare('k', age(), b(2), new SharedPrepare());
    if (reply.type !== 'promised' || reply.state === null) throw new Error('expected a promise with a state');
    reply.state.fill(9);
    a.inspect('k')?.state?.fill(9);
    expect(a.inspect('k')?.state).toEqual(Uint8Array.of(1, 2));
  });
});

// ---- The trust boundary: what a user or the network can call still validates. ----

const MALFORMED: ReadonlyArray<readonly [string, (a: MemoryAcceptor) => Promise<unknown>]> = [
  ['a ballot with a fractional counter', (a) => a.prepare('k', age(), { counter: 1.5, id: 'p1' })],
  ['a ballot without an id', (a) => a.accept('k', age(), { counter: 3 } as Ballot, null)],
  ['a zero counter with an id', (a) => a.prepare('k', age(), { counter: 0, id: 'p1' })],
  ['a key that is not a string', (a) => a.prepare(7 as unknown as string, age(), b(1))],
  ['an age without an id', (a) => a.prepare('k', { counter: 0 } as Age, b(1))],
  ['a state that is not bytes', (a) => a.accept('k', age(), b(1), 'text' as unknown as State)],
  ['a next ballot not above the ballot', (a) => a.accept('k', age(), b(4), null, { next: b(4) })],
  ['an ancestry that is not an array', (a) => a.accept('k', age(), b(1), null, { ancestry: 'x' as unknown as Ballot[] })],
];

describe('prepare and accept, the methods a user or a server calls, still validate', () => {
  test.each(MALFORMED)('%s: InvalidArgumentError, and nothing stored', async (_, call) => {
    const a = new MemoryAcceptor('a1');
    await a.accept('k', age(), b(2), Uint8Array.of(5));
    const before = holdings(a);
    await expect(call(a)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(holdings(a)).toEqual(before);
  });

  test('negative control: the trusted path takes the same malformed input without a check, so the rejections above are the boundary at work', () => {
    const a = new MemoryAcceptor('a1');
    // A ballot no validating caller would send: the trusted path compares and stores it as it is.
    const reply = pathOf(a).prepare('k', age(), { counter: 1.5, id: 'p1' }, new SharedPrepare());
    expect(reply.type).toBe('promised');
    expect(a.inspect('k')?.promise).toEqual({ counter: 1.5, id: 'p1' });
    // And a malformed accept (no id) is stored too.
    pathOf(a).accept('j', age(), new SharedAccept({ counter: 3 } as Ballot, null, undefined, undefined));
    expect(a.inspect('j')?.accepted).toEqual({ counter: 3 });
    expect(a.inspect('never')).toBeUndefined();
  });
});
