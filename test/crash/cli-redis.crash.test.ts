/**
 * `caspaxos node --acceptors redis://...` under crashes: three `redis-server`s (AOF, fsync always)
 * behind one node process started from the built CLI, a concurrent workload through the node's
 * HTTP key-value API (read-modify-writes as GET then compare-and-set, and reads), and the Redis
 * servers killed with `kill -9` mid-load and restarted from their AOF, one at a time. The history
 * must pass the exact chain checker. Skipped loudly without redis-server. Needs the built CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrepareFailedError, type ProposeResult, type State, UnavailableError, ZERO_BALLOT } from '../../src/index.js';
import { type NodeProcess, startNodeProcess } from '../support/cli-process.js';
import { type RedisServer, skipWithoutRedis, startRedisServer } from '../support/redis-server.js';
import { expectSafeUnderCrashes, type Proposing } from './crash-workload.js';

const SEED = Number(process.env.CRASH_SEED ?? 20261202);
const skip = skipWithoutRedis('the CLI-over-Redis crash test');
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The workload's `propose` over a node's HTTP API. An identity change is a read (GET); any other is
 * a read-modify-write: GET, then compare-and-set on the version read, so the change applies to
 * exactly the state it was given. A 409 (the version moved on) had no effect; any failure other
 * than a clean 4xx is an unknown outcome.
 */
function httpProposer(base: string): Proposing {
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(10_000) });
    } catch (error) {
      throw new UnavailableError(`node unreachable: ${String(error)}`);
    }
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  return {
    async propose(key, change): Promise<ProposeResult> {
      const got = await call('GET', `/v1/kv/${encodeURIComponent(key)}`);
      if (got.status !== 200 && got.status !== 404) throw new UnavailableError(`GET ${key}: HTTP ${got.status} ${JSON.stringify(got.json)}`);
      const current: State = got.status === 404 ? null : encoder.encode(got.json.value as string);
      const next = change(current);
      if (next === current) return { state: current, ballot: ZERO_BALLOT };
      const cas = await call('POST', `/v1/kv/${encodeURIComponent(key)}/cas`, { version: got.status === 404 ? null : got.json.version, value: decoder.decode(next as Uint8Array) });
      if (cas.status === 200) return { state: next, ballot: ZERO_BALLOT };
      if (cas.status === 409) throw new PrepareFailedError(key, ZERO_BALLOT, 1);
      throw new UnavailableError(`CAS ${key}: HTTP ${cas.status} ${JSON.stringify(cas.json)}`);
    },
  };
}

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
