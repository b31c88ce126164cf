/** `Fifo`: a ring buffer that must behave exactly like an array used as a queue. */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { Fifo } from '../../src/internal/fifo.js';

/** A script of pushes (numbers) and shifts, long enough to wrap around and grow several times. */
const script = fc.array(fc.oneof(fc.nat({ max: 1000 }), fc.constant('shift' as const)), { maxLength: 300 });

interface Queue {
  push(item: number): void;
  shift(): number | undefined;
  readonly size: number;
}

/** Whether `queue` answers every step of `ops` as an array queue does. */
function sameAsArray(queue: Queue, ops: ReadonlyArray<number | 'shift'>): boolean {
  const model: number[] = [];
  for (const op of ops) {
    if (op === 'shift') {
      if (queue.shift() !== model.shift()) return false;
    } else {
      queue.push(op);
      model.push(op);
    }
    if (queue.size !== model.length) return false;
  }
  return true;
}

describe('Fifo', () => {
  test('first in, first out, across wrap-arounds and growth', () => {
    const q = new Fifo<number>();
    for (let i = 0; i < 10; i++) q.push(i);
    for (let i = 0; i < 8; i++) expect(q.shift()).toBe(i);
    // The ring has wrapped: 40 more make it grow twice while items 8 and 9 sit at its end.
    for (let i = 10; i < 50; i++) q.push(i);
    const out: number[] = [];
    while (q.size > 0) out.push(q.shift() as number);
    expect(out).toEqual(Array.from({ length: 42 }, (_, i) => i + 8));
    expect(q.shift()).toBeUndefined();
  });

  test.prop([script])('behaves like an array queue', (ops) => {
    expect(sameAsArray(new Fifo<number>(), ops)).toBe(true);
  });

  test('negative control: a queue that serves the newest first is told apart', () => {
    class Lifo implements Queue {
      readonly #items: number[] = [];
      get size(): number {
        return this.#items.length;
      }
      push(item: number): void {
        this.#items.push(item);
      }
      shift(): number | undefined {
        return this.#items.pop();
      }
    }
    const outcome = fc.check(fc.property(script, (ops) => sameAsArray(new Lifo(), ops)), { seed: 1 });
    expect(outcome.failed).toBe(true);
  });
});
