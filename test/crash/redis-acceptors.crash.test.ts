/**
 * Crash test with real processes: three `redis-server`s (AOF, fsync always), one RedisAcceptor
 * each, a concurrent workload through three proposers, and servers killed with `kill -9` mid-load
 * and restarted from their AOF, again and again. The history must pass the exact chain checker:
 * no acknowledged write lost, no fork, no stale read. Skipped loudly without redis-server.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { MemoryProposer } from '../../src/index.js';
import { RedisAcceptor, fromIoredis } from '../../src/redis/index.js';
import { type RedisServer, skipWithoutRedis, startRedisServer } from '../support/redis-server.js';
import { expectSafeUnderCrashes } from './crash-workload.js';

const SEED = Number(process.env.CRASH_SEED ?? 20261130);
const skip = skipWithoutRedis('the Redis crash test');

describe.skipIf(skip)('three Redis acceptors, killed and restarted under load', () => {
  let servers: RedisServer[] = [];
  let clients: Redis[] = [];
  beforeAll(async () => {
    servers = await Promise.all([0, 1, 2].map(() => startRedisServer()));
    clients = servers.map((server) => {
      // Fail fast while the server is down (the proposer counts the acceptor as unreachable) and
      // reconnect in the background once it is back.
      const client = new Redis(server.port, '127.0.0.1', { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 20 });
      client.on('error', () => {});
      return client;
    });
    await Promise.all(clients.map((c) => new Promise((resolve) => c.once('ready', resolve))));
  }, 60_000);
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await Promise.all(servers.map((s) => s.stop()));
  });

  it(`loses no acknowledged write and stays linearizable (seed ${SEED})`, async () => {
    const acceptors = servers.map((server, i) => new RedisAcceptor(server.url, fromIoredis(clients[i] as Redis)));
    const retry = { attempts: 60, baseDelayMs: 5, maxDelayMs: 100 };
    const proposers = ['p1', 'p2', 'p3'].map((id) => new MemoryProposer(id, acceptors, { retry }));
    const crashable = servers.map((server, i) => ({
      kill: () => server.kill(),
      restart: async () => {
        await server.restart();
        // Wait for the client to reconnect, so the next crash never takes down two at once.
        const client = clients[i] as Redis;
        if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
      },
    }));
    await expectSafeUnderCrashes('redis crash test', SEED, { proposers, acceptors: crashable });
  }, 180_000);
});
