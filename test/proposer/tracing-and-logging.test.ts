/** A MemoryProposer's tracer (one that throws) and logger. */
import { describe, expect, test } from 'vitest';
import { MemoryAcceptor, MemoryProposer } from '../../src/index.js';
import { flush } from '../support/cluster.js';
import { dec, write } from '../support/text.js';

describe('a tracer that throws', () => {
  test('fails the proposal with its error instead of hanging it, and the key stays usable', async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    let armed = true;
    const boom = new Error('tracer bug');
    const proposer = new MemoryProposer('p1', acceptors, {
      tracer: (event) => {
        if (armed && event.type === 'promised') throw boom;
      },
    });
    await expect(proposer.propose('k', write('v'))).rejects.toBe(boom);
    armed = false;
    expect(dec((await proposer.propose('k', write('w'))).state)).toBe('w');
  });

  // Regression (batching): a tracer that throws on the `failed` event used to escape `#round` before
  // the batch was settled, leaving the callers waiting forever; now they get the tracer's error.
  test("a tracer that throws on the 'failed' event does not leave the caller waiting forever", async () => {
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
    const boom = new Error('tracer bug');
    const proposer = new MemoryProposer('p1', acceptors, {
      retry: { attempts: 1 },
      tracer: (event) => {
        if (event.type === 'failed') throw boom;
      },
    });
    for (const a of acceptors) await a.rejectByAge([{ counter: 5, id: 'p1' }]);
    // Swallow the unhandled rejection this produces today, so only the assertion reports it.
    const swallow = (): void => {};
    process.on('unhandledRejection', swallow);
    try {
      const outcome = await Promise.race([
        proposer.propose('k', write('v')).then(
          () => 'resolved',
          () => 'rejected',
        ),
        new Promise((resolve) => setTimeout(() => resolve('still waiting'), 200)),
      ]);
      expect(outcome).toBe('rejected');
    } finally {
      await flush();
      process.off('unhandledRejection', swallow);
    }
  });
});

describe('logging', () => {
  const recorder = (enabled: boolean) => {
    const records: Array<Record<string, unknown>> = [];
    const log = (obj: Record<string, unknown>): void => {
      records.push(obj);
    };
    return { records, logger: { debug: log, info: log, warn: log, error: log, isLevelEnabled: () => enabled } };
  };

  test('one debug record per phase, naming the key, ballot and result', async () => {
    const { records, logger } = recorder(true);
    const p = new MemoryProposer('p1', [new MemoryAcceptor('a1'), new MemoryAcceptor('a2'), new MemoryAcceptor('a3')], { logger });
    await p.propose('k', write('v'));
    expect(records).toEqual([
      expect.objectContaining({ proposer: 'p1', key: 'k', B: '1/p1', phase: 'prepare', result: 'success' }),
      expect.objectContaining({ proposer: 'p1', key: 'k', B: '1/p1', phase: 'accept', result: 'success' }),
    ]);
  });

  test('nothing is built or written when debug is disabled', async () => {
    const { records, logger } = recorder(false);
    const p = new MemoryProposer('p1', [new MemoryAcceptor('a1', { logger })], { logger });
    await p.propose('k', write('v'));
    expect(records).toEqual([]);
  });
});
