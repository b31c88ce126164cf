/**
 * Differential property: for random sequences of requests (prepares, accepts with and without a
 * next ballot and an ancestry, removals, age raises, listings; malformed ones included), a
 * RedisAcceptor answers exactly what a MemoryAcceptor answers, reply by reply, error code by
 * error code. Ids and keys are drawn from pools that stress the encodings (UTF-16 vs code-point
 * order, lone surrogates, NUL, glob characters) and counters up to Number.MAX_SAFE_INTEGER.
 *
 * Negative controls: the same property against RedisAcceptors running deliberately broken Lua
 * (a strict accept, a forgotten tombstone floor, counters compared as strings) must fail.
 *
 * Replay: FC_SEED=<seed> FC_PATH=<path> npx vitest run test/redis/differential.property.test.ts
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Acceptor, type Age, type Ballot, MemoryAcceptor, type State, ZERO_BALLOT } from '../../src/index.js';
import { RedisAcceptor, type RedisClientLike } from '../../src/redis/index.js';
import { controlParameters, parameters } from '../support/property-harness.js';
import { skipWithoutRedis } from '../support/redis-server.js';
import { type ClientKind, freshPrefix, suiteConnection } from './harness.js';

const skip = skipWithoutRedis('the RedisAcceptor differential property tests');

const MAX = Number.MAX_SAFE_INTEGER;
const KEYS = ['k', '\ud800', '\udc00', 'κ', 'k*'];
// '\uffff' sorts above '\u{10000}' in UTF-16 (JS) order and below it in code-point (UTF-8) order.
const IDS = ['p1', 'p2', '\uffff', '\u{10000}', 'é', 'p\u0000'];

type Op =
  | { readonly op: 'prepare'; readonly key: string; readonly age: Age; readonly ballot: Ballot }
  | {
      readonly op: 'accept';
      readonly key: string;
      readonly age: Age;
      readonly ballot: Ballot;
      readonly state: State;
      readonly next: Ballot | undefined;
      readonly ancestry: readonly Ballot[] | undefined;
    }
  /** `ballot` undefined: the tombstone of the key's last accept, so removals do succeed. */
  | { readonly op: 'remove'; readonly key: string; readonly ballot: Ballot | undefined; readonly state: State }
  | { readonly op: 'rejectByAge'; readonly ages: readonly Age[] }
  | { readonly op: 'list' };

// Small counters collide often (so requests on one key interact); 9, 10, 11 order differently as
// strings; 0 with an id is malformed (both must refuse it alike); the largest safe integers lose
// digits in Lua's tostring.
const counter = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 1, max: 3 }) },
  { weight: 3, arbitrary: fc.constantFrom(9, 10, 11) },
  { weight: 1, arbitrary: fc.constantFrom(0, MAX - 1, MAX) },
);
const id = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('p1', 'p2') }, { weight: 2, arbitrary: fc.constantFrom(...IDS) });
const ballot: fc.Arbitrary<Ballot> = fc.oneof({ weight: 30, arbitrary: fc.record({ counter, id }) }, { weight: 1, arbitrary: fc.constant(ZERO_BALLOT) });
const age: fc.Arbitrary<Age> = fc.record({ counter: fc.integer({ min: 0, max: 3 }), id: fc.constantFrom('p1', 'p2', 'é') });
const key = fc.constantFrom(...KEYS);
const state: fc.Arbitrary<State> = fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 4 }));

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('prepare' as const), key, age, ballot }) },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('accept' as const),
      key,
      age,
      ballot,
      state,
      next: fc.option(ballot, { nil: undefined }),
      ancestry: fc.option(fc.array(ballot, { maxLength: 3 }), { nil: undefined }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), key, ballot: fc.option(ballot, { nil: undefined, freq: 1 }), state: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: state }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('rejectByAge' as const), ages: fc.array(age, { maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('list' as const) }) },
);

/** What a request came to, comparable across acceptors: the reply (bytes as arrays), or the error's code. */
async function outcome(call: () => Promise<unknown>): Promise<unknown> {
  try {
    return { reply: plain(await call()) };
  } catch (err) {
    return { error: (err as { code?: unknown }).code ?? String(err) };
  }
}

function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: Array.from(value) };
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

async function listed(acceptor: Acceptor): Promise<string[]> {
  const keys: string[] = [];
  for await (const k of acceptor.listKeys()) keys.push(k);
  return keys.sort();
}

function run(acceptor: Acceptor, op: Op, lastAccepted: ReadonlyMap<string, Ballot>): Promise<unknown> {
  switch (op.op) {
    case 'prepare':
      return outcome(() => acceptor.prepare(op.key, op.age, op.ballot));
    case 'accept':
      return outcome(() => acceptor.accept(op.key, op.age, op.ballot, op.state, { next: op.next, ancestry: op.ancestry }));
    case 'remove':
      return outcome(() => acceptor.removeIfEqual(op.key, { ballot: op.ballot ?? lastAccepted.get(op.key) ?? { counter: 1, id: 'p1' }, state: op.state }));
    case 'rejectByAge':
      return outcome(() => acceptor.rejectByAge(op.ages));
    case 'list':
      return outcome(() => listed(acceptor));
  }
}

/** A mismatch between the acceptors (as opposed to a crash of the test). */
class Divergence extends Error {
  override name = 'Divergence';
}

/** Runs `ops` against a fresh MemoryAcceptor and a fresh RedisAcceptor over `client`; throws `Divergence` at the first difference. */
async function compare(client: RedisClientLike, ops: readonly Op[]): Promise<void> {
  const memory = new MemoryAcceptor('memory');
  const redis = new RedisAcceptor('redis', client, { prefix: freshPrefix('diff') });
  const lastAccepted = new Map<string, Ballot>();
  for (const [i, op] of ops.entries()) {
    const expected = await run(memory, op, lastAccepted);
    const actual = await run(redis, op, lastAccepted);
    if (op.op === 'accept' && (expected as { reply?: { type?: string } }).reply?.type === 'accepted') lastAccepted.set(op.key, op.ballot);
    try {
      expect(actual).toEqual(expected);
    } catch (err) {
      throw new Divergence(`request ${i} (${op.op}) differs: ${(err as Error).message}`);
    }
  }
  const [m, r] = [await listed(memory), await listed(redis)];
  if (JSON.stringify(m) !== JSON.stringify(r)) throw new Divergence(`listKeys differs: memory ${JSON.stringify(m)}, redis ${JSON.stringify(r)}`);
}

/**
 * A client that runs a broken variant of the scripts: EVALSHA always misses (so the patched
 * source goes through EVAL), and each patch must apply, so a control can never test the
 * unbroken scripts by accident.
 */
function mutant(client: RedisClientLike, find: string, replace: string): RedisClientLike {
  return {
    evalsha: () => Promise.reject(new Error('NOSCRIPT the mutant always sends its source')),
    eval: (script, keys, args) => {
      if (script.includes('local function cmp(') && !script.includes(find)) throw new Error(`the mutation ${JSON.stringify(find)} does not apply`);
      return client.eval(script.split(find).join(replace), keys, args);
    },
  };
}

const MUTANTS: ReadonlyArray<readonly [string, string, string]> = [
  ['an accept that demands ballot > promise (paper: >=)', 'if cmp(bc, bi, pc, pi) < 0 or', 'if cmp(bc, bi, pc, pi) <= 0 or'],
  ['conflicts that forget the tombstone floor', 'if cmp(fc, fi, ac, ai) > 0 then xc, xi = fc, fi end', ''],
  ['counters compared as strings', 'local x, y = tonumber(ac), tonumber(bc)', 'local x, y = ac, bc'],
];

for (const kind of ['ioredis', 'node-redis'] as const satisfies readonly ClientKind[]) {
  describe.skipIf(skip)(`RedisAcceptor answers as MemoryAcceptor does (via ${kind})`, () => {
    const shared = suiteConnection(kind);

    it('reply for reply, on random request sequences', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArbitrary, { minLength: 1, maxLength: 30 }), (ops) => compare(shared.connection.client, ops)),
        parameters(kind === 'ioredis' ? 300 : 100),
      );
    });

    it.each(MUTANTS)('negative control: the property catches %s', async (_, find, replace) => {
      const result = await fc.check(
        fc.asyncProperty(fc.array(opArbitrary, { minLength: 1, maxLength: 30 }), (ops) => compare(mutant(shared.connection.client, find, replace), ops)),
        controlParameters(500),
      );
      expect(result.failed, 'the broken scripts went unnoticed').toBe(true);
      // Caught as a divergence, not as a crash of the harness.
      expect(result.errorInstance).toBeInstanceOf(Divergence);
    });
  });
}
