/**
 * The crash workload's `propose` over a node's HTTP API (`caspaxos node`). An identity change is a
 * read (GET); any other is a read-modify-write: GET, then compare-and-set on the version read, so
 * the change applies to exactly the state it was given. A 409 (the version moved on) had no
 * effect; any failure other than a clean 4xx is an unknown outcome.
 */
import { PrepareFailedError, type ProposeResult, type State, UnavailableError, ZERO_BALLOT } from '../../src/index.js';
import type { Proposing } from '../crash/crash-workload.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function httpProposer(base: string, secret?: string): Proposing {
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...(secret === undefined ? {} : { authorization: `Bearer ${secret}` }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    } catch (error) {
      // A node that is down refuses at once: pause a moment so that clients do not spin.
      await new Promise((resolve) => setTimeout(resolve, 20));
      throw new UnavailableError(`node unreachable: ${String(error)}`);
    }
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
