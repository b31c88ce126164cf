/**
 * `Deadlines`, the node server's request timeouts with one timer: each request's signal aborts
 * with a `TimeoutError` once its limit has passed (never before), unless the request ended first;
 * requests that end, start or end others from an abort listener keep the rest on time.
 */
import { describe, expect, it } from 'vitest';
import { type Deadline, Deadlines } from '../../src/http/deadlines.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** When `deadline`'s signal aborted (`performance.now()`), recorded by a listener. */
const abortedAt = (deadline: Deadline): { at?: number; reason?: unknown } => {
  const seen: { at?: number; reason?: unknown } = {};
  deadline.signal.addEventListener('abort', () => {
    seen.at = performance.now();
    seen.reason = deadline.signal.reason;
  });
  return seen;
};

describe('Deadlines', () => {
  it('aborts each request at its limit with a TimeoutError, and not the ones that ended', async () => {
    const deadlines = new Deadlines(40);
    const t0 = performance.now();
    const first = deadlines.start();
    const ended = deadlines.start();
    const firstSeen = abortedAt(first);
    const endedSeen = abortedAt(ended);
    await sleep(15);
    const t1 = performance.now();
    const later = deadlines.start();
    const laterSeen = abortedAt(later);
    ended.end();
    ended.end(); // idempotent
    await sleep(120);
    expect(firstSeen.at).toBeGreaterThanOrEqual(t0 + 40);
    expect(laterSeen.at).toBeGreaterThanOrEqual(t1 + 40);
    expect(laterSeen.at).toBeGreaterThan(firstSeen.at as number);
    expect(endedSeen.at).toBeUndefined();
    expect(firstSeen.reason).toBeInstanceOf(DOMException);
    expect((firstSeen.reason as DOMException).name).toBe('TimeoutError');
    // Ending an aborted request is harmless.
    first.end();
  });

  it('keeps time when abort listeners end and start requests', async () => {
    const deadlines = new Deadlines(30);
    const a = deadlines.start();
    const b = deadlines.start();
    let started: Deadline | undefined;
    // a's listener ends b (due at the same time) and starts a request of its own.
    a.signal.addEventListener('abort', () => {
      b.end();
      started = deadlines.start();
    });
    const startedAt = performance.now() + 30;
    await sleep(60);
    expect(a.signal.aborted).toBe(true);
    expect(b.signal.aborted).toBe(false);
    expect(started?.signal.aborted).toBe(false);
    await sleep(60);
    expect(started?.signal.aborted).toBe(true);
    expect(performance.now()).toBeGreaterThan(startedAt);
  });

  it('starts again after every request ended', async () => {
    const deadlines = new Deadlines(20);
    deadlines.start().end();
    await sleep(40);
    const next = deadlines.start();
    await sleep(60);
    expect(next.signal.aborted).toBe(true);
  });
});
