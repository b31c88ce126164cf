/**
 * Progress of the node's long operator operations (grow, shrink, gc, sweep): visible from another
 * client while they run (`GET /v1/admin/operations`), in rate-limited log lines, in the answer of
 * the request that started them; cancellable; not bound by the request timeout.
 */
import { describe, expect, it } from 'vitest';
import { type NodeServerOptions, createNodeServer } from '../../src/http/proposer-server.js';
import { AdminOperations } from '../../src/http/admin-operations.js';
import { KeyValueStore } from '../../src/kv/key-value-store.js';
import {
  type AcceptOptions,
  type AcceptReply,
  type Age,
  type Ballot,
  type OperationProgress,
  type State,
  MemoryAcceptor,
  MemoryProposer,
  garbageCollect,
  growCluster,
  shrinkCluster,
} from '../../src/index.js';
import { cleanupsAfterEach, gate } from './support.js';

const cleanups = cleanupsAfterEach();

/**
 * An acceptor whose accepts stop at `held` once `holdAfter` went through. The accept quorum of four
 * acceptors is three, so holding the identity pass takes two of them.
 */
class HeldAcceptor extends MemoryAcceptor {
  accepts = 0;
  holdAfter = Infinity;

  constructor(
    address: string,
    readonly held: { readonly promise: Promise<void>; open(): void },
  ) {
    super(address);
  }

  override async accept(key: string, age: Age, ballot: Ballot, state: State, opts?: AcceptOptions): Promise<AcceptReply> {
    if (++this.accepts > this.holdAfter) await this.held.promise;
    return super.accept(key, age, ballot, state, opts);
  }
}

interface LogLine {
  readonly level: string;
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

async function node(options: NodeServerOptions = {}) {
  const held = gate();
  const acceptors = ['a1', 'a2', 'a3'].map((a) => new HeldAcceptor(a, held));
  const proposer = new MemoryProposer('p1', acceptors);
  const newcomer = new HeldAcceptor('a4', held);
  /** Holds the identity pass after `n` accepts reached the newcomer. */
  const holdAfter = (n: number): void => {
    newcomer.holdAfter = n;
    (acceptors[0] as HeldAcceptor).holdAfter = (acceptors[0] as HeldAcceptor).accepts + n;
  };
  const all = [...acceptors, newcomer];
  const kv = new KeyValueStore<unknown>({ proposer, gc: { proposers: [proposer], acceptors } });
  const lines: LogLine[] = [];
  const log = (level: string) => (fields: object, message?: string) => lines.push({ level, fields: fields as Record<string, unknown>, message: message ?? '' });
  const logger = { info: log('info'), warn: log('warn'), error: log('error'), debug: () => {} };
  const server = createNodeServer(
    {
      proposer,
      kv,
      acceptorAt: (address) => all.find((a) => a.address === address) ?? newcomer,
      operations: {
        grow: (acceptor, signal, onProgress) => growCluster(acceptor, [proposer], { signal, onProgress, concurrency: 4 }),
        shrink: (acceptor, signal, onProgress) => shrinkCluster(acceptor, [proposer], { signal, onProgress, concurrency: 4 }),
        collect: (key, signal, onProgress) => garbageCollect(key, [proposer], acceptors, { signal, onProgress }),
      },
    },
    { logger, ...options },
  );
  const url = await server.listen(0, '127.0.0.1');
  cleanups.push(async () => {
    newcomer.held.open();
    await server.close();
    await kv.close();
  });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
  };
  return { url, kv, proposer, newcomer, holdAfter, lines, call };
}

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not within 5 s: ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the operator API reports the progress of long operations', () => {
  it("a grow's identity pass shows keys done / total to another client while it runs, and in its answer", async () => {
    const { kv, newcomer, holdAfter, call, lines } = await node({ progressLogMs: 60_000 });
    for (let i = 0; i < 40; i++) await kv.set(`key-${i}`, i);
    // Only these keys: the store's read of the previous release's epoch key wrote nothing.
    const total = 40;
    holdAfter(10);
    const growing = call('POST', '/v1/admin/grow', { acceptor: 'a4' });
    const running = await eventually(
      () => call('GET', '/v1/admin/operations'),
      (r) => r.body.operations[0]?.progress?.step === '2 (identity pass)' && r.body.operations[0].progress.done >= 6,
      'the identity pass under way',
    );
    const [operation] = running.body.operations;
    expect(operation).toMatchObject({ id: 'grow-1', operation: 'grow', target: 'a4', state: 'running', progress: { step: '2 (identity pass)', unit: 'keys', total } });
    expect(operation.progress.done).toBeLessThan(total);
    expect((await call('GET', `/v1/admin/operations/${operation.id}`)).body).toMatchObject({ id: 'grow-1', state: 'running' });
    newcomer.held.open();
    const done = await growing;
    expect(done.status).toBe(200);
    expect(done.body.preparers).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(done.body.operation).toMatchObject({ id: 'grow-1', state: 'completed', progress: { step: '3 (add preparer)', unit: 'proposers', done: 1, total: 1 } });
    // The log: the start, one line per step (the interval is long), the end.
    const messages = lines.filter((l) => l.fields.id === 'grow-1').map((l) => l.message);
    expect(messages).toEqual([
      'grow a4 started',
      'grow step 1 (add accepter): 0/1 proposers (0%)',
      `grow step 2 (identity pass): 0/${total} keys (0%)`,
      'grow step 3 (add preparer): 0/1 proposers (0%)',
      'grow completed',
    ]);
  });

  it('logs progress at most every progressLogMs within a step', async () => {
    const { kv, call, lines } = await node({ progressLogMs: 1 });
    for (let i = 0; i < 30; i++) await kv.set(`key-${i}`, i);
    expect((await call('POST', '/v1/admin/grow', { acceptor: 'a4' })).status).toBe(200);
    const pass = lines.filter((l) => l.fields.step === '2 (identity pass)');
    // With a 1 ms interval, more than the step's first line (negative control of the test above).
    expect(pass.length).toBeGreaterThan(1);
    expect(pass.at(-1)?.fields).toMatchObject({ total: 30 });
  });

  it('answers 202 with a Location under Prefer: respond-async; a cancelled grow is undone', async () => {
    const { kv, newcomer, holdAfter, call, proposer } = await node();
    for (let i = 0; i < 20; i++) await kv.set(`key-${i}`, i);
    holdAfter(5);
    const accepted = await call('POST', '/v1/admin/grow', { acceptor: 'a4' }, { prefer: 'respond-async' });
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('location')).toBe('/v1/admin/operations/grow-1');
    expect(accepted.body.operation).toMatchObject({ id: 'grow-1', state: 'running' });
    await eventually(() => call('GET', '/v1/admin/operations/grow-1'), (r) => r.body.progress?.step === '2 (identity pass)', 'the identity pass');
    expect((await call('DELETE', '/v1/admin/operations/grow-1')).status).toBe(200);
    newcomer.held.open();
    const ended = await eventually(() => call('GET', '/v1/admin/operations/grow-1'), (r) => r.body.state !== 'running', 'the end');
    expect(ended.body).toMatchObject({ state: 'cancelled' });
    expect(await proposer.listAccepters()).toEqual(['a1', 'a2', 'a3']);
    expect((await call('DELETE', '/v1/admin/operations/grow-1')).status).toBe(409);
    expect((await call('GET', '/v1/admin/operations/nope')).status).toBe(404);
  });

  it("a gc reports its four steps; a sweep its keys; neither is cut by the request timeout", async () => {
    const { kv, call } = await node({ requestTimeoutMs: 1 });
    await kv.set('gone', 1);
    await kv.delete('gone');
    await kv.idle();
    for (let i = 0; i < 10; i++) await kv.set(`key-${i}`, i);
    await kv.delete('key-3');
    const gc = await call('POST', '/v1/admin/gc', { key: 'key-3' });
    expect(gc.status).toBe(200);
    expect(gc.body.operation).toMatchObject({ operation: 'gc', target: 'key-3', state: 'completed', progress: { unit: 'steps', done: 4, total: 4 } });
    const sweep = await call('POST', '/v1/admin/sweep', {});
    expect(sweep.status).toBe(200);
    expect(sweep.body.operation).toMatchObject({ operation: 'sweep', state: 'completed', progress: { step: 'sweep', unit: 'keys' } });
    expect(sweep.body.operation.progress.done).toBe(sweep.body.operation.progress.total);
    expect(sweep.body.operation.progress.total).toBe(sweep.body.keys);
  });

  it('an operation that fails after the request timeout answers its own failure, not 503 ERR_TIMEOUT', async () => {
    const { kv, call, newcomer, holdAfter } = await node({ requestTimeoutMs: 20 });
    await kv.set('live', 1);
    // The gc's first step (an identity read of every accepter) waits at a1 past the request's
    // timeout, then finds the key alive: a verdict (409), which retrying cannot change.
    holdAfter(0);
    const gc = call('POST', '/v1/admin/gc', { key: 'live' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    newcomer.held.open();
    const answer = await gc;
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ code: 'ERR_STEP_FAILED', retryable: false, operation: { operation: 'gc', state: 'failed' } });
    expect(answer.body.message).toMatch(/not a tombstone|tombstone/i);
  });
});

describe('AdminOperations', () => {
  it('keeps the last finished operations only, running ones first', async () => {
    const operations = new AdminOperations({ keepFinished: 2 });
    const hold = gate();
    const progress: OperationProgress[] = [];
    const running = operations.start('grow', 'a9', async (_signal, report) => {
      report({ step: 's', unit: 'keys', done: 1, total: 2 });
      progress.push({ step: 's', unit: 'keys', done: 1, total: 2 });
      await hold.promise;
    });
    for (let i = 0; i < 3; i++) await operations.start('gc', `k${i}`, async () => {}).outcome;
    expect(operations.list().map((o) => [o.id, o.state])).toEqual([
      ['grow-1', 'running'],
      ['gc-4', 'completed'],
      ['gc-3', 'completed'],
    ]);
    expect(operations.list()[0]?.progress).toEqual(progress[0]);
    operations.close();
    hold.open();
    await running.outcome;
    // Finished without noticing the abort: completed.
    expect(operations.get('grow-1')?.state).toBe('completed');
    // New ones after close start cancelled.
    const late = operations.start('sweep', undefined, async (signal) => signal.throwIfAborted());
    await expect(late.outcome).rejects.toThrow(/shutting down/);
    expect(operations.get(late.id)?.state).toBe('cancelled');
  });
});
