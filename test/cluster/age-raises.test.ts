/**
 * `AgeRaises`: step c of garbage collection shared by the collections of one window (see
 * `src/cluster/age-raises.ts` for why that is safe). What the safety argument needs of it: each
 * caller resolves only after every acceptor acknowledged a raise at least as high as its own ages
 * (the per-proposer maximum of the window); a failure reaches every caller of the window; an abort
 * releases its own caller only.
 */
import { describe, expect, test } from 'vitest';
import type { Age } from '../../src/core/age.js';
import { AgeRaises } from '../../src/cluster/age-raises.js';
import { InvalidArgumentError, MemoryAcceptor } from '../../src/index.js';

/** A MemoryAcceptor that records every `rejectByAge` and answers it only when released. */
class GatedAcceptor extends MemoryAcceptor {
  readonly raises: Age[][] = [];
  readonly #gates: Array<{ open: () => void; fail: (error: unknown) => void }> = [];

  override rejectByAge(ages: readonly Age[]): Promise<void> {
    this.raises.push([...ages]);
    return new Promise<void>((resolve, reject) => {
      this.#gates.push({ open: () => void super.rejectByAge(ages).then(resolve, reject), fail: reject });
    });
  }

  release(): void {
    for (const gate of this.#gates.splice(0)) gate.open();
  }

  failAll(error: unknown): void {
    for (const gate of this.#gates.splice(0)) gate.fail(error);
  }
}

/** A sleep the test ends by hand: the window closes when the test says so. */
function manualWindow(): { sleep: (ms: number) => Promise<void>; close: () => void; waits: number[] } {
  const waits: number[] = [];
  let closers: Array<() => void> = [];
  return {
    waits,
    sleep: (ms) => {
      waits.push(ms);
      return new Promise<void>((resolve) => closers.push(resolve));
    },
    close: () => {
      const now = closers;
      closers = [];
      for (const close of now) close();
    },
  };
}

const settled = async (promise: Promise<unknown>): Promise<string> => {
  let state = 'pending';
  promise.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  for (let i = 0; i < 10; i++) await Promise.resolve();
  return state;
};

describe('AgeRaises', () => {
  test('the raises of one window go out as one rejectByAge per acceptor, with the highest age per proposer', async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((address) => new GatedAcceptor(address));
    const window = manualWindow();
    const raises = new AgeRaises(acceptors, 20, window.sleep);
    const first = raises.raise([{ id: 'p1', counter: 3 }, { id: 'p2', counter: 7 }]);
    const second = raises.raise([{ id: 'p1', counter: 5 }, { id: 'p2', counter: 6 }]);
    const third = raises.raise([{ id: 'p3', counter: 1 }]);
    expect(window.waits).toEqual([20]); // one window for the three
    expect(acceptors.map((a) => a.raises.length)).toEqual([0, 0, 0]);
    window.close();
    await settled(first);
    const expected = [{ id: 'p1', counter: 5 }, { id: 'p2', counter: 7 }, { id: 'p3', counter: 1 }];
    for (const a of acceptors) expect(a.raises).toEqual([expected]);
    // Nobody goes on to step d before every acceptor acknowledged.
    acceptors[0]!.release();
    acceptors[1]!.release();
    expect(await settled(first)).toBe('pending');
    acceptors[2]!.release();
    expect([await settled(first), await settled(second), await settled(third)]).toEqual(['resolved', 'resolved', 'resolved']);
  });

  test('a raise after the window closed opens the next one', async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((address) => new GatedAcceptor(address));
    const window = manualWindow();
    const raises = new AgeRaises(acceptors, 0, window.sleep);
    const first = raises.raise([{ id: 'p1', counter: 1 }]);
    window.close();
    await settled(first);
    const second = raises.raise([{ id: 'p1', counter: 2 }]);
    window.close();
    await settled(second);
    for (const a of acceptors) a.release();
    await Promise.all([first, second]);
    for (const a of acceptors) expect(a.raises).toEqual([[{ id: 'p1', counter: 1 }], [{ id: 'p1', counter: 2 }]]);
  });

  test('a failed request fails every caller of its window', async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((address) => new GatedAcceptor(address));
    const window = manualWindow();
    const raises = new AgeRaises(acceptors, 5, window.sleep);
    const calls = [raises.raise([{ id: 'p1', counter: 1 }]), raises.raise([{ id: 'p2', counter: 1 }])];
    window.close();
    await settled(calls[0]!);
    acceptors[0]!.release();
    acceptors[1]!.failAll(new Error('unreachable'));
    acceptors[2]!.release();
    for (const call of calls) await expect(call).rejects.toThrow('unreachable');
  });

  test("an abort releases its own caller; the window's request still goes out for the others", async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((address) => new GatedAcceptor(address));
    const window = manualWindow();
    const raises = new AgeRaises(acceptors, 5, window.sleep);
    const controller = new AbortController();
    const aborted = raises.raise([{ id: 'p1', counter: 4 }], { signal: controller.signal });
    const other = raises.raise([{ id: 'p2', counter: 2 }]);
    controller.abort(new Error('store closed'));
    await expect(aborted).rejects.toThrow('store closed');
    window.close();
    await settled(other);
    for (const a of acceptors) a.release();
    await other;
    for (const a of acceptors) expect(a.raises).toEqual([[{ id: 'p1', counter: 4 }, { id: 'p2', counter: 2 }]]);
  });

  test('refuses a window that is not a finite number >= 0', () => {
    for (const bad of [-1, Number.NaN, Infinity, '5' as unknown as number]) {
      expect(() => new AgeRaises([new MemoryAcceptor('a1')], bad)).toThrow(InvalidArgumentError);
    }
  });
});
