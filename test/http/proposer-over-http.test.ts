/**
 * `MemoryProposer`s over three `HttpAcceptor`s on loopback: concurrent increments of one counter
 * lose no update, also when one acceptor's server dies half-way (a minority is allowed to fail).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HttpAcceptor } from '../../src/http/acceptor-client.js';
import { AcceptFailedError, type ChangeFunc, MemoryAcceptor, MemoryProposer, type State } from '../../src/index.js';
import { type Hosted, host } from './support.js';

const SECRET = 'cluster';

const read = (s: State): number => (s === null ? 0 : new DataView(s.buffer, s.byteOffset, s.byteLength).getUint32(0));
const write = (n: number): Uint8Array => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
};
const increment: ChangeFunc = (s) => write(read(s) + 1);

let servers: Hosted[] = [];
afterEach(async () => {
  await Promise.all(servers.map((h) => h.server.terminate()));
  servers = [];
});

async function cluster(): Promise<{ acceptors: HttpAcceptor[]; inner: MemoryAcceptor[] }> {
  const inner = [new MemoryAcceptor('a1'), new MemoryAcceptor('a2'), new MemoryAcceptor('a3')];
  servers = await Promise.all(inner.map((a) => host(a, { secret: SECRET })));
  return { acceptors: servers.map((h) => new HttpAcceptor(h.url, { secret: SECRET, timeoutMs: 2000 })), inner };
}

interface Outcome {
  readonly values: number[];
  readonly unknown: number;
  readonly failed: number;
}

/** `proposers` × `each` increments, all concurrent; the value each success produced. */
async function run(proposers: MemoryProposer[], each: number, midway?: () => Promise<void>): Promise<Outcome> {
  const values: number[] = [];
  let unknown = 0;
  let failed = 0;
  let done = 0;
  const total = proposers.length * each;
  await Promise.all(
    proposers.flatMap((p) =>
      Array.from({ length: each }, async () => {
        try {
          values.push(read((await p.propose('counter', increment)).state));
        } catch (error) {
          // An accept with an unknown outcome may or may not have taken effect; anything else had none.
          if (error instanceof AcceptFailedError) unknown++;
          else failed++;
        }
        if (++done === Math.floor(total / 2)) await midway?.();
      }),
    ),
  );
  return { values, unknown, failed };
}

/** No lost update: every success saw its own value, and the final value counts every success. */
function expectNoLostUpdate(outcome: Outcome, final: number): void {
  expect(new Set(outcome.values).size).toBe(outcome.values.length);
  for (const v of outcome.values) expect(v).toBeLessThanOrEqual(final);
  expect(final).toBeGreaterThanOrEqual(outcome.values.length);
  expect(final).toBeLessThanOrEqual(outcome.values.length + outcome.unknown);
}

describe('MemoryProposer over three HttpAcceptors', () => {
  it('concurrent increments from three proposers lose no update', async () => {
    const { acceptors } = await cluster();
    const proposers = ['p1', 'p2', 'p3'].map((id) => new MemoryProposer(id, acceptors, { retry: { attempts: 100 } }));
    const outcome = await run(proposers, 15);
    const final = read((await proposers[0]!.identityRead('counter')).state);
    expectNoLostUpdate(outcome, final);
    // Over a healthy loopback, with patient retries, every increment gets through.
    expect(outcome.values.length).toBe(45);
    expect(final).toBe(45);
  });

  it('keeps going, losing nothing, when one acceptor server dies half-way', async () => {
    const { acceptors, inner } = await cluster();
    const proposers = ['p1', 'p2'].map((id) => new MemoryProposer(id, acceptors, { retry: { attempts: 100 } }));
    const outcome = await run(proposers, 15, () => servers[2]!.server.terminate());
    const final = read((await proposers[1]!.identityRead('counter')).state);
    expectNoLostUpdate(outcome, final);
    // The two acceptors still up hold the final value.
    for (const a of inner.slice(0, 2)) expect(read(a.inspect('counter')?.state ?? null)).toBe(final);
    expect(outcome.values.length).toBe(30);
    expect(final).toBe(30);
  });

  it('negative control: the check catches a lost update', () => {
    expect(() => expectNoLostUpdate({ values: [1, 2, 2], unknown: 0, failed: 0 }, 2)).toThrow();
    expect(() => expectNoLostUpdate({ values: [1, 2, 3], unknown: 0, failed: 0 }, 2)).toThrow();
  });
});
