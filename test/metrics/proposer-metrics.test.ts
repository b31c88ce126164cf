/**
 * The proposer's figures come from its trace events: committed rounds and timed phases, rounds
 * that lost to a competitor, unknown outcomes, retries, rejected changes, and the steps of garbage
 * collection; and the store wrapper times writes without changing what the store does.
 */
import { describe, expect, it } from 'vitest';
import { MemoryAcceptor } from '../../src/acceptor/memory-acceptor.js';
import { MemoryStore } from '../../src/acceptor/memory-store.js';
import type { AcceptorStore } from '../../src/acceptor/acceptor-store.js';
import { StoreAcceptor } from '../../src/acceptor/store-acceptor.js';
import { MemoryProposer } from '../../src/proposer/memory-proposer.js';
import { garbageCollect } from '../../src/cluster/garbage-collect.js';
import { MetricsRegistry } from '../../src/metrics/registry.js';
import { proposerMetrics } from '../../src/metrics/proposer-metrics.js';
import { instrumentStore } from '../../src/metrics/store-metrics.js';
import type { TraceEvent } from '../../src/tracer.js';
import { parseExposition, sample } from '../support/exposition.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('proposerMetrics', () => {
  it('counts committed rounds and times both phases', async () => {
    const metrics = new MetricsRegistry();
    let clock = 0;
    const tracer = proposerMetrics(metrics, { now: () => (clock += 5) });
    const acceptors = ['a', 'b', 'c'].map((name) => new MemoryAcceptor(name));
    const proposer = new MemoryProposer('p1', acceptors, { tracer, oneRoundTrip: false });
    for (let i = 0; i < 3; i++) await proposer.propose(`k${i}`, () => bytes('v'));
    const page = parseExposition(metrics.render());
    expect(sample(page, 'caspaxos_proposer_rounds_total', { outcome: 'committed' })).toBe(3);
    expect(sample(page, 'caspaxos_proposer_phases_total', { phase: 'prepare', outcome: 'quorum' })).toBe(3);
    expect(sample(page, 'caspaxos_proposer_phase_duration_seconds_count', { phase: 'accept' })).toBe(3);
    expect(sample(page, 'caspaxos_proposer_messages_total', { phase: 'prepare' })).toBe(9);
    expect(sample(page, 'caspaxos_proposer_replies_total', { phase: 'accept', reply: 'ok' })).toBe(9);
    // Every phase took some ticks of the fake clock: 5 ms each, so no phase is 0 and none above 1 s.
    expect(sample(page, 'caspaxos_proposer_phase_duration_seconds_bucket', { phase: 'prepare', le: '0.0001' })).toBe(0);
    expect(sample(page, 'caspaxos_proposer_phase_duration_seconds_bucket', { phase: 'prepare', le: '1' })).toBe(3);
  });

  it('with one round trip, later rounds skip the prepare phase and are counted so', async () => {
    const metrics = new MetricsRegistry();
    const proposer = new MemoryProposer('p1', ['a', 'b', 'c'].map((name) => new MemoryAcceptor(name)), { tracer: proposerMetrics(metrics) });
    for (let i = 0; i < 4; i++) await proposer.propose('k', () => bytes(String(i)));
    const page = parseExposition(metrics.render());
    expect(sample(page, 'caspaxos_proposer_rounds_total', { outcome: 'committed' })).toBe(4);
    expect(sample(page, 'caspaxos_proposer_prepares_skipped_total')).toBe(3);
    expect(sample(page, 'caspaxos_proposer_phase_duration_seconds_count', { phase: 'accept' })).toBe(4);
  });

  it('classifies failed rounds: unknown (accept without quorum), failed (no prepare quorum); rejected changes apart', async () => {
    const metrics = new MetricsRegistry();
    const tracer = proposerMetrics(metrics);
    const acceptors = ['a', 'b', 'c'].map((name) => new MemoryAcceptor(name));
    const proposer = new MemoryProposer('p1', acceptors, { tracer, retry: { attempts: 2 }, stragglerTimeoutMs: 1 });
    await expect(proposer.propose('k', () => {
      throw new Error('not a number');
    })).rejects.toThrow('not a number');
    // Accepts fail at two of three: the accept phase has no quorum, the outcome is unknown.
    const failAccepts = (a: MemoryAcceptor) => {
      a.accept = () => Promise.reject(new Error('down'));
    };
    failAccepts(acceptors[1] as MemoryAcceptor);
    failAccepts(acceptors[2] as MemoryAcceptor);
    await expect(proposer.propose('k2', () => bytes('x'))).rejects.toMatchObject({ code: 'ERR_ACCEPT_FAILED' });
    const down = new MemoryProposer('p2', [new MemoryAcceptor('x')].map((a) => Object.assign(a, { prepare: () => Promise.reject(new Error('down')) })), { tracer, retry: { attempts: 2, maxDelayMs: 1 } });
    await expect(down.propose('k3', () => bytes('x'))).rejects.toMatchObject({ code: 'ERR_PREPARE_FAILED' });
    const page = parseExposition(metrics.render());
    expect(sample(page, 'caspaxos_proposer_changes_rejected_total')).toBe(1);
    expect(sample(page, 'caspaxos_proposer_rounds_total', { outcome: 'unknown' })).toBe(1);
    expect(sample(page, 'caspaxos_proposer_rounds_total', { outcome: 'failed' })).toBe(1);
    expect(sample(page, 'caspaxos_proposer_retries_total')).toBeGreaterThanOrEqual(1);
    expect(sample(page, 'caspaxos_proposer_replies_total', { phase: 'prepare', reply: 'unreachable' })).toBeGreaterThanOrEqual(2);
  });

  it('counts a round lost to a competitor as a conflict', () => {
    const metrics = new MetricsRegistry();
    const tracer = proposerMetrics(metrics);
    const ballot = { counter: 1, id: 'p1' };
    const base = { proposer: 'p1', key: 'k', ballot } as const;
    const events: TraceEvent[] = [
      { type: 'prepare-sent', acceptor: 'a', age: { counter: 0, id: 'p1' }, ...base },
      { type: 'prepare-conflict', acceptor: 'a', late: false, conflict: { counter: 9, id: 'p2' }, kind: 'promise', ...base },
      { type: 'failed', error: Object.assign(new Error('lost'), { code: 'ERR_PREPARE_FAILED' }), ...base },
    ];
    for (const event of events) tracer(event);
    const page = parseExposition(metrics.render());
    expect(sample(page, 'caspaxos_proposer_rounds_total', { outcome: 'conflict' })).toBe(1);
    expect(sample(page, 'caspaxos_proposer_conflicts_total', { phase: 'prepare' })).toBe(1);
    expect(sample(page, 'caspaxos_proposer_phases_total', { phase: 'prepare', outcome: 'lost' })).toBe(1);
  });

  it('counts the steps of garbage collection', async () => {
    const metrics = new MetricsRegistry();
    const tracer = proposerMetrics(metrics);
    const acceptors = ['a', 'b', 'c'].map((name) => new MemoryAcceptor(name));
    const proposer = new MemoryProposer('p1', acceptors, { tracer });
    await proposer.propose('gone', () => null);
    await garbageCollect('gone', [proposer], acceptors, { tracer });
    const page = parseExposition(metrics.render());
    for (const step of ['identity-read', 'fast-forward', 'reject-by-age', 'remove']) expect(sample(page, 'caspaxos_gc_steps_total', { step, outcome: 'completed' })).toBe(1);
  });
});

describe('instrumentStore', () => {
  it('times every durable write and keeps the store optional methods as they were', async () => {
    const metrics = new MetricsRegistry();
    const store = new MemoryStore();
    const timed = instrumentStore(store, metrics, { records: () => 42 });
    expect(typeof timed.putMany).toBe(typeof (store as AcceptorStore).putMany);
    expect(typeof timed.capacity).toBe(typeof (store as AcceptorStore).capacity);
    const acceptor = await StoreAcceptor.open('s', timed);
    const proposer = new MemoryProposer('p1', [acceptor]);
    await proposer.propose('k', () => bytes('v'));
    await acceptor.rejectByAge([{ counter: 1, id: 'p9' }]);
    expect((await store.get('k'))?.state).toBeDefined();
    const page = parseExposition(metrics.render());
    const writes = ['put', 'put_many'].reduce((n, op) => n + (sample(page, 'caspaxos_store_write_duration_seconds_count', { op }) ?? 0), 0);
    expect(writes).toBeGreaterThanOrEqual(2); // the promise, then the accepted state
    expect(sample(page, 'caspaxos_store_write_duration_seconds_count', { op: 'raise_ages' })).toBe(1);
    expect(sample(page, 'caspaxos_store_records')).toBe(42);
    await acceptor.close();
  });

  it('reports the store\'s bytes, quota and fullness where the store measures them', async () => {
    const metrics = new MetricsRegistry();
    const store = new MemoryStore({ maxBytes: 1000 });
    const acceptor = await StoreAcceptor.open('s', instrumentStore(store, metrics));
    const proposer = new MemoryProposer('p1', [acceptor]);
    await proposer.propose('k', () => bytes('v'.repeat(100)));
    let page = parseExposition(metrics.render());
    expect(sample(page, 'caspaxos_store_used_bytes')).toBe(store.capacity().usedBytes);
    expect(sample(page, 'caspaxos_store_used_bytes')).toBeGreaterThanOrEqual(100);
    expect(sample(page, 'caspaxos_store_quota_bytes')).toBe(1000);
    expect(sample(page, 'caspaxos_store_full')).toBe(0);
    store.setLimits({ maxBytes: 10 });
    page = parseExposition(metrics.render());
    expect(sample(page, 'caspaxos_store_full')).toBe(1);
    await acceptor.close();
    // A store that does not measure itself has none of the three.
    const plain = new MetricsRegistry();
    const measureless = new MemoryStore() as AcceptorStore & { capacity?: unknown };
    Object.defineProperty(measureless, 'capacity', { value: undefined });
    instrumentStore(measureless, plain);
    expect(plain.get('caspaxos_store_full')).toBeUndefined();
    expect(plain.get('caspaxos_store_used_bytes')).toBeUndefined();
  });
});
