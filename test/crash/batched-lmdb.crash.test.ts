/**
 * Crash test under batched load: three `caspaxos acceptor` processes (LMDB, HTTP) killed with
 * SIGKILL while `HttpAcceptor` batches are in flight (many clients over many keys, so each
 * event-loop turn sends each acceptor one `/v2/batch` request, or one frame of its `/v2/stream`,
 * of many prepares and accepts, and
 * each acceptor commits a batch's writes in one transaction). Every acknowledged write must read
 * back, and the history must pass the exact chain checker. A counter on the client's requests
 * proves that batches of several items were sent, before and after the crashes. Needs the built
 * CLI (`npm test` builds first).
 */
import { describe, expect, it } from 'vitest';
import { HttpAcceptor } from '../../src/http/acceptor-client.js';
import { nodeFetch } from '../../src/http/node-fetch.js';
import { POSTER, type Poster, STREAM_OPENER, type StreamOpener } from '../../src/http/poster.js';
import { PATHS } from '../../src/http/wire.js';
import { MemoryProposer } from '../../src/index.js';
import { TEST_CLUSTER, acceptorProcessesPerSuite } from '../support/cli-process.js';
import { expectSafeUnderCrashes } from './crash-workload.js';

const SEED = Number(process.env.CRASH_SEED ?? 20261201);
const SECRET = 'batched-crash-secret';

/**
 * `nodeFetch`, with its lean poster wrapped to count HTTP batch requests and their items, and,
 * with `stream`, its stream opener wrapped to count frames and their items instead (without it the
 * `fetch` carries no opener, so batches go over HTTP).
 */
function countingFetch(stream: boolean): { fetch: typeof fetch; batches: () => number; batchedItems: () => number } {
  const base = nodeFetch();
  const lean = (base as unknown as { [POSTER]: Poster })[POSTER];
  const open = (base as unknown as { [STREAM_OPENER]: StreamOpener })[STREAM_OPENER];
  let batches = 0;
  let items = 0;
  const count = (body: string): void => {
    batches++;
    items += (JSON.parse(body) as { items: unknown[] }).items.length;
  };
  const poster: Poster = (url, headers, body) => {
    if (url.endsWith(PATHS.batch)) count(body);
    return lean(url, headers, body);
  };
  const opener: StreamOpener = (url, headers) => {
    const opened = open(url, headers);
    return {
      send: (payload) => {
        count(payload);
        return opened.send(payload);
      },
      get closed() {
        return opened.closed;
      },
      close: () => opened.close(),
    };
  };
  const f = ((input: string | URL | Request, init?: RequestInit) => base(input, init)) as typeof fetch;
  Object.defineProperty(f, POSTER, { value: poster });
  if (stream) Object.defineProperty(f, STREAM_OPENER, { value: opener });
  return { fetch: f, batches: () => batches, batchedItems: () => items };
}

describe('three LMDB acceptor processes, killed while batches are in flight', () => {
  const started = acceptorProcessesPerSuite({ CASPAXOS_SECRET: SECRET });

  it.each([
    ['HTTP batches', false],
    ['the acceptor stream', true],
  ])(`over %s: loses no acknowledged write and stays linearizable (seed ${SEED})`, async (_name, stream) => {
    const processes = started();
    const counting = countingFetch(stream);
    const acceptors = processes.map((p) => new HttpAcceptor(p.address, { secret: SECRET, clusterId: TEST_CLUSTER, timeoutMs: 2000, fetch: counting.fetch }));
    const retry = { attempts: 60, baseDelayMs: 5, maxDelayMs: 100 };
    const proposers = ['p1', 'p2'].map((id) => new MemoryProposer(id, acceptors, { retry }));
    // Keys of this run only: the acceptors keep the other run's history, which this one did not record.
    const keys = Array.from({ length: 48 }, (_, i) => `${stream ? 'stream' : 'http'}-k${i}`);
    await expectSafeUnderCrashes('batched lmdb crash test', SEED, { proposers, acceptors: processes }, { keys, clientsPerProposer: 24, operationsPerClient: 12 });
    // The load was batched: many batch requests, several items each on average.
    expect(counting.batches()).toBeGreaterThan(50);
    expect(counting.batchedItems() / counting.batches()).toBeGreaterThan(2);
  }, 240_000);
});
