/**
 * `caspaxos node --acceptors redis://...` under crashes: three `redis-server`s (AOF, fsync always)
 * behind one node process started from the built CLI, a concurrent workload through the node's
 * HTTP key-value API (read-modify-writes as GET then compare-and-set, and reads), and the Redis
 * servers killed with `kill -9` mid-load and restarted from their AOF, one at a time. The history
 * must pass the exact chain checker. Skipped loudly without redis-server. Needs the built CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NodeProcess, startNodeProcess } from '../support/cli-process.js';
import { type RedisServer, skipWithoutRedis, startRedisServer } from '../support/redis-server.js';
import { expectSafeUnderCrashes } from './crash-workload.js';
import { httpProposer } from '../support/node-http-proposer.js';

const SEED = Number(process.env.CRASH_SEED ?? 20261202);
const skip = skipWithoutRedis('the CLI-over-Redis crash test');

describe.skipIf(skip)('caspaxos node over three redis:// acceptors, killed and restarted under load', () => {
  let servers: RedisServer[] = [];
  let node: NodeProcess | undefined;
  let url = '';
  beforeAll(async () => {
    servers = await Promise.all([0, 1, 2].map(() => startRedisServer()));
    node = await startNodeProcess(['--id', 'crash', '--acceptors', servers.map((s) => s.url).join(','), '--timeout-ms', '1000', '--sweep-interval-ms', '0']);
    url = node.url;
  }, 60_000);
  afterAll(async () => {
    await node?.stop();
    await Promise.all(servers.map((s) => s.stop()));
  });

  it(`loses no acknowledged write and stays linearizable (seed ${SEED})`, async () => {
    const proposers = [httpProposer(url), httpProposer(url)];
    const crashable = servers.map((server) => ({
      kill: () => server.kill(),
      restart: async () => {
        await server.restart();
        // Give the node's connection a moment to come back, so the next crash never takes down two.
        await new Promise((resolve) => setTimeout(resolve, 300));
      },
    }));
    const report = await expectSafeUnderCrashes('cli redis crash test', SEED, { proposers, acceptors: crashable });
    expect(report.completed).toBeGreaterThan(0);
  }, 180_000);
});
