/**
 * End to end: MemoryProposers over three RedisAcceptors (three redis-server processes, reached
 * through both clients) run concurrent compare-and-set appends on shared keys, and no update is
 * lost: every acknowledged operation is in the final state exactly once, every returned state is a
 * prefix of the final one (one chain of states), and nothing appears twice, also when one
 * redis-server is killed with SIGKILL and restarted from its AOF mid-run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcceptFailedError, type Acceptor, MemoryProposer, PrepareFailedError } from '../../src/index.js';
import { RedisAcceptor } from '../../src/redis/index.js';
import { type RedisServer, skipWithoutRedis, startRedisServer } from '../support/redis-server.js';
import { appendOp, opsOf } from '../support/text.js';
import { type ClientKind, type Connection, connect, freshPrefix } from './harness.js';

const skip = skipWithoutRedis('the proposer-over-RedisAcceptors tests');


interface Outcome {
  readonly op: string;
  readonly key: string;
  /** Acknowledged; unknown (AcceptFailedError: maybe applied); or failed with no effect (PrepareFailedError: contention outlasted the retries). */
  readonly result: 'acked' | 'unknown' | 'failed';
  readonly state?: string[];
}

describe.skipIf(skip)('MemoryProposer over three RedisAcceptors', () => {
  const servers: RedisServer[] = [];
  const connections: Connection[] = [];
  const KINDS: readonly ClientKind[] = ['ioredis', 'node-redis', 'ioredis'];

  beforeAll(async () => {
    for (const kind of KINDS) {
      const server = await startRedisServer();
      servers.push(server);
      connections.push(await connect(kind, server));
    }
  });
  afterAll(async () => {
    for (const c of connections) await c.close();
    for (const s of servers) await s.stop();
  });

  /** Fresh acceptors (a fresh prefix on each server), and `proposers` proposers over them. */
  function cluster(proposers: number): MemoryProposer[] {
    const prefix = freshPrefix('cas');
    const acceptors: Acceptor[] = connections.map((c, i) => new RedisAcceptor(`redis://a${i + 1}`, c.client, { prefix }));
    return Array.from({ length: proposers }, (_, i) => new MemoryProposer(`p${i + 1}`, acceptors));
  }

  /** Each client appends its ops, one after another, through its proposer; clients run concurrently. */
  async function runClients(proposers: readonly MemoryProposer[], opsPerClient: number, keys: readonly string[], during?: (done: number) => Promise<void>): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    let done = 0;
    await Promise.all(
      proposers.map(async (proposer, c) => {
        for (let i = 0; i < opsPerClient; i++) {
          const op = `c${c}-${i}`;
          const key = keys[(c + i) % keys.length] as string;
          try {
            const { state } = await proposer.propose(key, appendOp(op));
            outcomes.push({ op, key, result: 'acked', state: opsOf(state) });
          } catch (err) {
            // Anything but these two is a failure of the test.
            if (err instanceof AcceptFailedError) outcomes.push({ op, key, result: 'unknown' });
            else if (err instanceof PrepareFailedError) outcomes.push({ op, key, result: 'failed' });
            else throw err;
          }
          await during?.(++done);
        }
      }),
    );
    return outcomes;
  }

  async function expectNoLostUpdate(proposer: MemoryProposer, keys: readonly string[], outcomes: readonly Outcome[]): Promise<void> {
    for (const key of keys) {
      const final = opsOf((await proposer.identityRead(key)).state);
      expect(new Set(final).size, `no op twice in ${key}`).toBe(final.length);
      const mine = outcomes.filter((o) => o.key === key);
      for (const o of mine) {
        if (o.result !== 'acked') continue;
        expect(final, `acknowledged ${o.op} is in ${key}`).toContain(o.op);
        // The state it returned ends with it and is a prefix of the final state.
        expect(o.state?.[o.state.length - 1]).toBe(o.op);
        expect(final.slice(0, o.state?.length)).toEqual(o.state);
      }
      // Nothing else: only ops proposed on this key, none that failed without effect.
      const possible = mine.filter((o) => o.result !== 'failed').map((o) => o.op);
      for (const op of final) expect(possible, `${op} was proposed on ${key} and may have taken effect`).toContain(op);
    }
  }

  it('concurrent CAS appends from three proposers lose no update', async () => {
    const proposers = cluster(3);
    const keys = ['counter', 'другой'];
    const outcomes = await runClients(proposers, 25, keys);
    expect(outcomes.filter((o) => o.result === 'acked').length).toBeGreaterThan(0);
    await expectNoLostUpdate(proposers[0] as MemoryProposer, keys, outcomes);
  });

  it('lose no update when one redis-server is killed with SIGKILL and restarted from its AOF', async () => {
    const proposers = cluster(3);
    const keys = ['counter'];
    const victim = servers[1] as RedisServer;
    const outcomes = await runClients(proposers, 20, keys, async (done) => {
      if (done === 15) await victim.kill();
      if (done === 40) await victim.restart();
    });
    await expectNoLostUpdate(proposers[2] as MemoryProposer, keys, outcomes);
    // The restarted acceptor takes part again: a read that needs every accepter succeeds.
    const full = await (proposers[0] as MemoryProposer).fullIdentityRead('counter');
    expect(opsOf(full.state)).toEqual(opsOf((await (proposers[1] as MemoryProposer).identityRead('counter')).state));
  });
});
