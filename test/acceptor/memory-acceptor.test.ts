import { describe, expect, test } from 'vitest';
import {
  type AcceptedState,
  InvalidArgumentError,
  MemoryAcceptor,
  NotTombstoneError,
  ZERO_BALLOT,
  acceptorRules,
  type Age,
  type Ballot,
} from '../../src/index.js';

const b = (counter: number, id = 'p1'): Ballot => ({ counter, id });
const age = (counter = 0, id = 'p1'): Age => ({ counter, id });
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

async function collect<T>(iterable: AsyncIterable<T>, limit = Infinity): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) {
    out.push(item);
    if (out.length >= limit) break;
  }
  return out;
}

describe('MemoryAcceptor', () => {
  test('prepare then accept stores the state under the ballot', async () => {
    const a = new MemoryAcceptor('a1');
    expect(await a.prepare('k', age(), b(1))).toEqual({ type: 'promised', accepted: ZERO_BALLOT, state: null, ancestry: [] });
    expect(await a.accept('k', age(), b(1), bytes(7))).toStrictEqual({ type: 'accepted' });
    expect(a.inspect('k')).toEqual({ promise: b(1), accepted: b(1), state: bytes(7) });
    expect(await a.prepare('k', age(), b(2))).toEqual({ type: 'promised', accepted: b(1), state: bytes(7), ancestry: undefined }); // accepted without one: unknown
  });

  test('conflicts are reply values naming the winning ballot and its kind', async () => {
    const a = new MemoryAcceptor('a1');
    await a.prepare('k', age(), b(5));
    // `accepted`: the highest ballot the acceptor may have accepted for the key (nothing yet).
    expect(await a.prepare('k', age(), b(5))).toEqual({ type: 'conflict', ballot: b(5), kind: 'promise', accepted: ZERO_BALLOT });
    expect(await a.accept('k', age(), b(4), null)).toEqual({ type: 'conflict', ballot: b(5), kind: 'promise', accepted: ZERO_BALLOT });
    await a.accept('k', age(), b(5), null);
    // A duplicate of the accept it stored: the conflict names that very ballot as accepted.
    expect(await a.accept('k', age(), b(5), null)).toEqual({ type: 'conflict', ballot: b(5), kind: 'accepted', accepted: b(5) });
    await a.prepare('k', age(), b(6));
    expect(await a.accept('k', age(), b(5, 'p0'), null)).toEqual({ type: 'conflict', ballot: b(6), kind: 'promise', accepted: b(5) });
  });

  test('a caller mutating its buffers cannot change acceptor state', async () => {
    const a = new MemoryAcceptor('a1');
    const written = bytes(1, 2, 3);
    await a.accept('k', age(), b(1), written);
    written[0] = 99;
    const reply = await a.prepare('k', age(), b(2));
    if (reply.type !== 'promised' || reply.state === null) throw new Error('expected a promise with a state');
    reply.state[1] = 99;
    const inspected = a.inspect('k');
    if (inspected?.state == null) throw new Error('expected a record');
    inspected.state[2] = 99;
    expect(a.inspect('k')?.state).toEqual(bytes(1, 2, 3));
  });

  test.each([
    ['key', (a: MemoryAcceptor) => a.prepare(42 as unknown as string, age(), b(1))],
    ['ballot counter', (a: MemoryAcceptor) => a.prepare('k', age(), { counter: -1, id: 'p1' })],
    ['ballot id', (a: MemoryAcceptor) => a.prepare('k', age(), { counter: 1, id: '' })],
    ['age', (a: MemoryAcceptor) => a.prepare('k', { counter: 0, id: '' }, b(1))],
    ['state', (a: MemoryAcceptor) => a.accept('k', age(), b(1), 'text' as unknown as Uint8Array)],
    ['ages list', (a: MemoryAcceptor) => a.rejectByAge('x' as unknown as Age[])],
    ['tombstone', (a: MemoryAcceptor) => a.removeIfEqual('k', null as unknown as { ballot: Ballot; state: null })],
  ])('malformed %s is rejected with InvalidArgumentError and changes nothing', async (_, call) => {
    const a = new MemoryAcceptor('a1');
    await a.accept('k', age(), b(1), bytes(1));
    await expect(call(a)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(a.inspect('k')).toEqual({ promise: b(1), accepted: b(1), state: bytes(1) });
    expect(a.size).toBe(1);
  });

  test('an aborted signal rejects with its reason and changes nothing', async () => {
    const a = new MemoryAcceptor('a1');
    const reason = new Error('stop');
    await expect(a.prepare('k', age(), b(1), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(a.accept('k', age(), b(1), null, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(a.inspect('k')).toBeUndefined();
  });

  test('messages younger than the recorded minimum age are rejected; minimums never go down', async () => {
    const a = new MemoryAcceptor('a1');
    await a.rejectByAge([age(2, 'p1'), age(1, 'p2')]);
    expect(await a.prepare('k', age(1, 'p1'), b(1))).toEqual({ type: 'age', required: age(2, 'p1') });
    expect(await a.accept('k', age(1, 'p1'), b(1), null)).toEqual({ type: 'age', required: age(2, 'p1') });
    expect((await a.prepare('k', age(2, 'p1'), b(1))).type).toBe('promised');
    // A late or repeated collection step with lower ages must not re-admit old messages.
    await a.rejectByAge([age(1, 'p1'), age(0, 'p2')]);
    expect(a.minimumAge('p1')).toBe(2);
    expect(a.minimumAge('p2')).toBe(1);
    expect(a.minimumAge('p3')).toBe(0);
  });

  describe('removeIfEqual', () => {
    test('removes a record accepted under the tombstone ballot with the empty state', async () => {
      const a = new MemoryAcceptor('a1');
      await a.accept('k', age(), b(3), null);
      expect(await a.removeIfEqual('k', { ballot: b(3), state: null })).toEqual({ type: 'removed' });
      expect(a.inspect('k')).toBeUndefined();
      expect(a.size).toBe(0);
      expect(await a.removeIfEqual('k', { ballot: b(3), state: null })).toEqual({ type: 'absent' });
    });

    test('keeps a record accepted under any other ballot, older or newer', async () => {
      const a = new MemoryAcceptor('a1');
      await a.accept('k', age(), b(4), null);
      expect(await a.removeIfEqual('k', { ballot: b(3), state: null })).toEqual({ type: 'not-equal', accepted: b(4) });
      expect(await a.removeIfEqual('k', { ballot: b(5), state: null })).toEqual({ type: 'not-equal', accepted: b(4) });
      expect(a.inspect('k')?.accepted).toEqual(b(4));
    });

    test('refuses a tombstone that is not empty', async () => {
      const a = new MemoryAcceptor('a1');
      await a.accept('k', age(), b(3), null);
      await expect(a.removeIfEqual('k', { ballot: b(3), state: bytes(1) })).rejects.toBeInstanceOf(NotTombstoneError);
      expect(a.inspect('k')).toBeDefined();
    });

    test('the removed record’s promise survives as a floor for every absent key', async () => {
      const a = new MemoryAcceptor('a1');
      await a.accept('k', age(), b(3), null);
      await a.prepare('k', age(), b(7, 'p2')); // a newer promise on the tombstone
      await a.removeIfEqual('k', { ballot: b(3), state: null });
      expect(a.tombstoneFloor).toEqual(b(7, 'p2'));
      // A proposer that restarted with a reset counter cannot write below the removed promise...
      // The conflicts report the floor as `accepted`: the removed record may have been accepted
      // under any ballot up to it, so these rejections prove nothing about earlier accepts.
      expect(await a.prepare('k', age(0, 'p9'), b(2, 'p9'))).toEqual({ type: 'conflict', ballot: b(7, 'p2'), kind: 'promise', accepted: b(7, 'p2') });
      expect(await a.accept('other', age(0, 'p9'), b(2, 'p9'), null)).toEqual({ type: 'conflict', ballot: b(7, 'p2'), kind: 'promise', accepted: b(7, 'p2') });
      // ...and above it everything works as on a fresh acceptor.
      expect(await a.prepare('k', age(0, 'p9'), b(8, 'p9'))).toEqual({ type: 'promised', accepted: ZERO_BALLOT, state: null, ancestry: [] });
      // The new record knows nothing of the removed one, but its conflicts still report the floor:
      // a duplicate of the removed record's accept (3/p1) must not read as "never stored".
      expect(a.inspect('k')).toEqual({ promise: b(8, 'p9'), accepted: ZERO_BALLOT, state: null, ancestry: [] });
      expect(await a.accept('k', age(), b(3), null)).toEqual({ type: 'conflict', ballot: b(8, 'p9'), kind: 'promise', accepted: b(7, 'p2') });
      // Once the key accepts above the floor, its own accepted ballot is the higher one.
      await a.accept('k', age(0, 'p9'), b(9, 'p9'), bytes(1));
      expect(await a.accept('k', age(), b(3), null)).toEqual({ type: 'conflict', ballot: b(9, 'p9'), kind: 'accepted', accepted: b(9, 'p9') });
    });
  });

  describe('watch', () => {
    test('yields the current state first, then each accepted state with its ballot', async () => {
      const a = new MemoryAcceptor('a1');
      await a.accept('k', age(), b(1), bytes(1));
      const seen: AcceptedState[] = [];
      const done = (async () => {
        for await (const s of a.watch('k')) {
          seen.push(s);
          if (seen.length === 3) break;
        }
      })();
      await a.accept('k', age(), b(2), bytes(2));
      await a.accept('other', age(), b(3), bytes(9));
      await a.accept('k', age(), b(3), null);
      await done;
      expect(seen).toEqual([
        { ballot: b(1), state: bytes(1) },
        { ballot: b(2), state: bytes(2) },
        { ballot: b(3), state: null },
      ]);
    });

    test('a removal shows as the empty state under the zero ballot', async () => {
      const a = new MemoryAcceptor('a1');
      await a.accept('k', age(), b(1), null);
      const iterator = a.watch('k')[Symbol.asyncIterator]();
      await a.removeIfEqual('k', { ballot: b(1), state: null });
      expect((await iterator.next()).value).toEqual({ ballot: b(1), state: null });
      expect((await iterator.next()).value).toEqual({ ballot: ZERO_BALLOT, state: null });
      await iterator.return?.();
    });

    test('a slow consumer never blocks the acceptor and ends with the latest states', async () => {
      const a = new MemoryAcceptor('a1');
      const iterator = a.watch('k', { bufferSize: 2 })[Symbol.asyncIterator]();
      for (let i = 1; i <= 100; i++) await a.accept('k', age(), b(i), bytes(i));
      const first = await iterator.next();
      const second = await iterator.next();
      expect([first.value, second.value]).toEqual([
        { ballot: b(99), state: bytes(99) },
        { ballot: b(100), state: bytes(100) },
      ]);
      await iterator.return?.();
    });

    test('ends when its signal aborts', async () => {
      const a = new MemoryAcceptor('a1');
      const controller = new AbortController();
      const seen = collect(a.watch('k', { signal: controller.signal }));
      await a.accept('k', age(), b(1), bytes(1));
      controller.abort();
      expect(await seen).toEqual([
        { ballot: ZERO_BALLOT, state: null },
        { ballot: b(1), state: bytes(1) },
      ]);
    });

    test('each iteration is its own subscription; a stopped one receives nothing more', async () => {
      const a = new MemoryAcceptor('a1');
      const watch = a.watch('k');
      expect(await collect(watch, 1)).toEqual([{ ballot: ZERO_BALLOT, state: null }]);
      await a.accept('k', age(), b(1), bytes(1));
      expect(await collect(watch, 1)).toEqual([{ ballot: b(1), state: bytes(1) }]);
    });
  });

  describe('one round trip and ancestry (AcceptOptions)', () => {
    test('an accept with `next` also promises it: the reply says so, and the next accept needs no prepare', async () => {
      const a = new MemoryAcceptor('a1');
      expect(await a.accept('k', age(), b(1), bytes(1), { next: b(2) })).toStrictEqual({ type: 'accepted', promised: b(2) });
      expect(a.inspect('k')).toEqual({ promise: b(2), accepted: b(1), state: bytes(1) });
      // A competitor's prepare at the promised ballot conflicts; below it too.
      expect(await a.prepare('k', age(0, 'p0'), b(2, 'p0'))).toEqual({ type: 'conflict', ballot: b(2), kind: 'promise', accepted: b(1) });
      // The proposer's next change, straight to accept under 2/p1.
      expect(await a.accept('k', age(), b(2), bytes(2), { next: b(3) })).toStrictEqual({ type: 'accepted', promised: b(3) });
      expect(a.inspect('k')).toEqual({ promise: b(3), accepted: b(2), state: bytes(2) });
    });

    test('`next` not above the ballot, or malformed, is rejected with InvalidArgumentError and changes nothing', async () => {
      const a = new MemoryAcceptor('a1');
      await a.accept('k', age(), b(1), bytes(1));
      await expect(a.accept('k', age(), b(2), bytes(2), { next: b(2) })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(a.accept('k', age(), b(2), bytes(2), { next: b(1, 'p9') })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(a.accept('k', age(), b(2), bytes(2), { next: { counter: 3, id: '' } })).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(a.inspect('k')).toEqual({ promise: b(1), accepted: b(1), state: bytes(1) });
    });

    test('the ancestry an accept carries comes back with the promises of that state', async () => {
      const a = new MemoryAcceptor('a1');
      const ancestry = Object.freeze([b(1, 'p0'), b(2, 'p2')]);
      await a.accept('k', age(), b(3), bytes(3), { ancestry });
      expect(await a.prepare('k', age(), b(4))).toEqual({ type: 'promised', accepted: b(3), state: bytes(3), ancestry: [b(1, 'p0'), b(2, 'p2')] });
    });

    test('a caller changing its ancestry array afterwards cannot change what is stored', async () => {
      const a = new MemoryAcceptor('a1');
      const ancestry = [b(1, 'p0')];
      await a.accept('k', age(), b(3), bytes(3), { ancestry });
      ancestry.push(b(2, 'p2'));
      ancestry[0] = b(9, 'zz');
      const reply = await a.prepare('k', age(), b(4));
      expect(reply).toMatchObject({ type: 'promised', ancestry: [b(1, 'p0')] });
    });

    test.each([
      ['too long', Array.from({ length: acceptorRules.ANCESTRY_LIMIT + 2 }, (_, i) => b(i + 1, `q${i}`))],
      ['with a malformed ballot', [b(1, 'p0'), { counter: -1, id: 'x' }]],
      ['not an array', 'nope'],
    ])('an ancestry %s is rejected with InvalidArgumentError and changes nothing', async (_, ancestry) => {
      const a = new MemoryAcceptor('a1');
      await a.accept('k', age(), b(1), bytes(1));
      await expect(a.accept('k', age(), b(2), bytes(2), { ancestry: ancestry as unknown as Ballot[] })).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(a.inspect('k')).toEqual({ promise: b(1), accepted: b(1), state: bytes(1) });
    });

    // Regression: the ancestry was only validated when `ancestry.length > 0`, so a malformed value
    // without a length was stored and later broke the proposer's recovery.
    test('an ancestry that is not an array (and has no length) is rejected too', async () => {
      const a = new MemoryAcceptor('a1');
      await a.accept('k', age(), b(1), bytes(1));
      await expect(a.accept('k', age(), b(2), bytes(2), { ancestry: {} as unknown as Ballot[] })).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(a.inspect('k')).toEqual({ promise: b(1), accepted: b(1), state: bytes(1) });
    });

    test('a rejected accept installs no promise and stores no ancestry', async () => {
      const a = new MemoryAcceptor('a1');
      await a.prepare('k', age(), b(5));
      expect((await a.accept('k', age(), b(4), bytes(4), { next: b(9), ancestry: [b(1, 'p0')] })).type).toBe('conflict');
      expect(a.inspect('k')).toEqual({ promise: b(5), accepted: ZERO_BALLOT, state: null, ancestry: [] });
      expect(await a.prepare('k', age(), b(6))).toMatchObject({ ancestry: [] });
    });
  });

  test('listKeys lists keys with an accepted state, not bare promises', async () => {
    const a = new MemoryAcceptor('a1');
    await a.accept('x', age(), b(1), bytes(1));
    await a.accept('y', age(), b(2), null);
    await a.prepare('promised-only', age(), b(3));
    expect((await collect(a.listKeys())).sort()).toEqual(['x', 'y']);
    await expect(collect(a.listKeys({ signal: AbortSignal.abort() }))).rejects.toThrow();
  });

  test('rejects an empty address', () => {
    expect(() => new MemoryAcceptor('')).toThrow(InvalidArgumentError);
  });
});
