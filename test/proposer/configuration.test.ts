/** A MemoryProposer's acceptor configuration: validation, the prepare and accept sets, changes, listKeys. */
import { describe, expect, test } from 'vitest';
import {
  AcceptFailedError,
  DuplicateError,
  InvalidArgumentError,
  MemoryAcceptor,
  MemoryProposer,
  NotFoundError,
  UnavailableError,
  acceptorRules,
} from '../../src/index.js';
import { flush } from '../support/cluster.js';
import { FaultyAcceptor } from '../support/faulty-acceptor.js';
import { dec, write } from '../support/text.js';
import { cluster, held, ofType, unblock } from './support.js';

describe('MemoryProposer configuration', () => {
  test('constructor validates its arguments', () => {
    const a = new MemoryAcceptor('a1');
    expect(() => new MemoryProposer('', [a])).toThrow(InvalidArgumentError);
    expect(() => new MemoryProposer('p1', [])).toThrow(InvalidArgumentError);
    expect(() => new MemoryProposer('p1', [a, new MemoryAcceptor('a1')])).toThrow(DuplicateError);
    expect(() => new MemoryProposer('p1', [a], { retry: { attempts: 0 } })).toThrow(InvalidArgumentError);
    // The ancestry's floor entry uses this id: no proposer may.
    expect(() => new MemoryProposer(acceptorRules.ANCESTRY_FLOOR_ID, [a])).toThrow(InvalidArgumentError);
    for (const maxBatch of [0, -1, 1.5, Number.NaN]) expect(() => new MemoryProposer('p1', [a], { maxBatch })).toThrow(InvalidArgumentError);
    for (const oneRoundTripKeys of [0, 2.5, Infinity]) expect(() => new MemoryProposer('p1', [a], { oneRoundTripKeys })).toThrow(InvalidArgumentError);
    expect(() => new MemoryProposer('p1', [a], { maxBatch: 1, oneRoundTripKeys: 1, oneRoundTrip: false })).not.toThrow();
  });

  test('adding a duplicate or removing a missing acceptor is a typed error that changes nothing', async () => {
    const { proposer, acceptors } = cluster();
    await expect(proposer.addAccepter(acceptors[0])).rejects.toBeInstanceOf(DuplicateError);
    await expect(proposer.addPreparer(acceptors[0])).rejects.toBeInstanceOf(DuplicateError);
    await expect(proposer.removeAccepter({ address: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(proposer.removePreparer({ address: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await proposer.listAccepters()).toEqual(['a1', 'a2', 'a3']);
    expect(await proposer.listPreparers()).toEqual(['a1', 'a2', 'a3']);
  });

  test('an empty prepare or accept set is refused, never treated as a quorum', async () => {
    const a = new MemoryAcceptor('a1');
    const p = new MemoryProposer('p1', [a]);
    await expect(p.removePreparer(a)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(p.removeAccepter(a)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await p.listPreparers()).toEqual(['a1']);
  });

  test('the accept quorum is a majority of the accept set, which may differ from the prepare set', async () => {
    // No retry: a retry would find the state on a2 and a3 and commit it again with a1's help.
    const { proposer, acceptors, events } = cluster(3, { retry: { attempts: 1 } });
    const a4 = new FaultyAcceptor(new MemoryAcceptor('a4'));
    await proposer.addAccepter(a4);
    // The accept set a1..a4 needs 3 accepts: with a1's accept lost and a4 down, 2 are not enough,
    // although they are a majority of the prepare set a1..a3.
    const a1 = acceptors[0];
    a1.addRule({ method: 'accept', when: 'request', action: 'hold', times: 1 });
    a4.down = true;
    const pending = proposer.propose('k', write('v'));
    await held([a1]);
    a1.dropAll();
    await expect(pending).rejects.toBeInstanceOf(AcceptFailedError);
    expect(ofType(events, 'accepted').map((e) => e.acceptor)).toEqual(['a2', 'a3']);
    a4.down = false;
    expect(dec((await proposer.propose('k', (s) => s)).state)).toBe('v');
  });

  test('a configuration change resolves only when no attempt runs under the old configuration', async () => {
    const { proposer, acceptors } = cluster();
    for (const a of acceptors) a.addRule({ when: 'request', action: 'hold' });
    const inFlight = proposer.propose('k', write('v'));
    await held(acceptors);
    let changed = false;
    const change = proposer.addAccepter(new FaultyAcceptor(new MemoryAcceptor('a4'))).then(() => (changed = true));
    await flush();
    // The change is in place for new attempts at once...
    expect(await proposer.listAccepters()).toEqual(['a1', 'a2', 'a3', 'a4']);
    // ...but waits for the attempt that started before it.
    expect(changed).toBe(false);
    await unblock(acceptors);
    await inFlight;
    await change;
    expect(changed).toBe(true);
  });

  test('listKeys is the union over the accepters, and needs a majority of them', async () => {
    const { proposer, acceptors } = cluster();
    const [a1, a2, a3] = acceptors;
    await a1.accept('only-on-a1', { counter: 0, id: 'x' }, { counter: 1, id: 'x' }, null);
    await proposer.propose('everywhere', write('v'));
    const keys = async (): Promise<string[]> => {
      const out: string[] = [];
      for await (const k of proposer.listKeys()) out.push(k);
      return out;
    };
    expect(await keys()).toEqual(['everywhere', 'only-on-a1']);
    a2.addRule({ method: 'listKeys', when: 'request', action: 'drop' });
    expect(await keys()).toEqual(['everywhere', 'only-on-a1']);
    a3.addRule({ method: 'listKeys', when: 'request', action: 'drop' });
    await expect(keys()).rejects.toBeInstanceOf(UnavailableError);
  });
});
