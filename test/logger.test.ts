import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryAcceptor, MemoryProposer } from '../src/index.js';
import { DebugGate, type Logger } from '../src/logger.js';

/** A pino logger at `level` whose records land in `lines`. */
function pinoInto(lines: Array<Record<string, unknown>>, level = 'info') {
  return pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
}

describe('DebugGate', () => {
  afterEach(() => vi.restoreAllMocks());

  it('gives no logger without one', () => {
    expect(new DebugGate(undefined).get()).toBeUndefined();
  });

  it('follows a pino logger level change at once, without asking pino on every call', () => {
    const logger = pinoInto([]);
    const gate = new DebugGate(logger);
    const asked = vi.spyOn(logger, 'isLevelEnabled');
    for (let i = 0; i < 100; i++) expect(gate.get()).toBeUndefined();
    expect(asked).not.toHaveBeenCalled();
    logger.level = 'debug';
    expect(gate.get()).toBe(logger);
    logger.level = 'warn';
    expect(gate.get()).toBeUndefined();
  });

  it('follows a child logger, and is not fooled by its parent or siblings changing level', () => {
    const root = pinoInto([]);
    const child = root.child({ component: 'caspaxos' });
    const gate = new DebugGate(child);
    root.level = 'debug';
    root.child({ other: true }).level = 'trace';
    expect(gate.get()).toBeUndefined(); // the child keeps its own level, as pino does
    child.level = 'debug';
    expect(gate.get()).toBe(child);
  });

  it('asks a logger without level events every time', () => {
    let enabled = false;
    const log = (): void => {};
    const logger: Logger = { debug: log, info: log, warn: log, error: log, isLevelEnabled: () => enabled };
    const gate = new DebugGate(logger);
    expect(gate.get()).toBeUndefined();
    enabled = true;
    expect(gate.get()).toBe(logger);
    const plain: Logger = { debug: log, info: log, warn: log, error: log };
    expect(new DebugGate(plain).get()).toBe(plain); // no level test: debug counts as enabled
  });

  it('adds one listener per logger object, and none past the limit (falling back to asking)', () => {
    const warnings = vi.spyOn(process, 'emitWarning');
    const root = pinoInto([]);
    const before = root.listenerCount('level-change');
    for (let i = 0; i < 5; i++) new DebugGate(root);
    expect(root.listenerCount('level-change')).toBe(before + 1);
    const children = Array.from({ length: 20 }, (_, i) => root.child({ i }));
    const gates = children.map((c) => new DebugGate(c));
    expect(root.listenerCount('level-change')).toBeLessThanOrEqual(root.getMaxListeners());
    // Every gate follows its own logger, with or without a listener of its own.
    (children[19] as pino.Logger).level = 'debug';
    (children[0] as pino.Logger).level = 'debug';
    expect(gates.map((g) => g.get() !== undefined)).toEqual(children.map((_, i) => i === 0 || i === 19));
    expect(warnings).not.toHaveBeenCalled();
  });
});

describe('logging through pino', () => {
  it('writes no record at info and one per phase and request once debug is switched on', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pinoInto(lines);
    const acceptors = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a, { logger }));
    const proposer = new MemoryProposer('p1', acceptors, { logger, oneRoundTrip: false });
    await proposer.propose('k', () => Uint8Array.of(1));
    expect(lines).toEqual([]);
    logger.level = 'debug';
    await proposer.propose('k', () => Uint8Array.of(2));
    const phases = lines.filter((l) => l.proposer === 'p1').map((l) => l.phase);
    expect(phases).toEqual(['prepare', 'accept']);
    expect(lines.filter((l) => l.acceptor !== undefined && l.method === 'accept')).toHaveLength(3);
  });
});
