import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ConflictError, InvalidArgumentError, type TraceEvent } from '../../src/index.js';
import { type RecordedEvent, renderNdjson, toBase64, toHex } from '../../src/trace/index.js';
import { basicRound } from './scenarios.js';

const at = (event: TraceEvent, seq = 0): RecordedEvent => ({ seq, time: seq, event });
const parse = (text: string): Array<Record<string, unknown>> =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('renderNdjson', () => {
  test('one object per event: seq, time, type first; ballots and ages formatted; states base64', () => {
    const [line] = parse(
      renderNdjson([
        at({
          type: 'promised',
          proposer: 'p1',
          acceptor: 'a1',
          key: 'k',
          ballot: { counter: 3, id: 'p1' },
          late: false,
          accepted: { counter: 0, id: '' },
          state: new TextEncoder().encode('hi!'),
        }),
      ]),
    );
    expect(Object.keys(line as object).slice(0, 3)).toEqual(['seq', 'time', 'type']);
    expect(line).toEqual({ seq: 0, time: 0, type: 'promised', proposer: 'p1', acceptor: 'a1', key: 'k', ballot: '3/p1', accepted: 'ø', state: 'aGkh', late: false });
  });

  test('states as hex on request; the empty state is null', () => {
    const events = [at({ type: 'committed', proposer: 'p1', key: 'k', ballot: { counter: 1, id: 'p1' }, state: Uint8Array.of(0, 255) }), at({ type: 'committed', proposer: 'p1', key: 'k', ballot: { counter: 2, id: 'p1' }, state: null }, 1)];
    expect(parse(renderNdjson(events, { states: 'hex' })).map((l) => l.state)).toEqual(['00ff', null]);
    expect(() => renderNdjson(events, { states: 'utf8' as 'hex' })).toThrow(InvalidArgumentError);
  });

  test('errors as { name, message, code, cause }, no stack; other thrown values as { value }', () => {
    const error = new ConflictError({ counter: 1, id: 'p1' }, { counter: 2, id: 'p2' }, 'promise');
    const wrapped = new Error('outer', { cause: error });
    const lines = parse(
      renderNdjson([
        at({ type: 'failed', proposer: 'p1', key: 'k', ballot: { counter: 1, id: 'p1' }, error: wrapped }),
        at({ type: 'failed', proposer: 'p1', key: 'k', ballot: { counter: 1, id: 'p1' }, error: 42n }, 1),
        at({ type: 'failed', proposer: 'p1', key: 'k', ballot: { counter: 1, id: 'p1' }, error: undefined }, 2),
      ]),
    );
    expect(lines[0]?.error).toEqual({ name: 'Error', message: 'outer', cause: { name: 'ConflictError', message: error.message, code: 'ERR_CONFLICT' } });
    expect(lines[1]?.error).toEqual({ value: '42' });
    expect(lines[2]).not.toHaveProperty('error');
  });

  test('fields it does not know are written too: bigints as strings, undefined left out, cycles cut', () => {
    const cyclic: Record<string, unknown> = { n: 1 };
    cyclic.self = cyclic;
    const odd = { type: 'from-the-future', key: 'k', big: 10n ** 20n, nothing: undefined, list: [1, undefined, 2n, Number.NaN], cyclic, fn: () => 1 };
    const [line] = parse(renderNdjson([at(odd as unknown as TraceEvent)]));
    expect(line).toEqual({ seq: 0, time: 0, type: 'from-the-future', key: 'k', big: '100000000000000000000', list: [1, null, '2', 'NaN'], cyclic: { n: 1, self: '[…]' } });
  });

  test('the filter option, and empty input', async () => {
    const events = await basicRound();
    expect(parse(renderNdjson(events, { filter: (r) => r.event.type === 'committed' }))).toHaveLength(1);
    expect(renderNdjson([])).toBe('');
  });
});

describe('toBase64 and toHex', () => {
  test('agree with Buffer on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
        expect(toHex(bytes)).toBe(Buffer.from(bytes).toString('hex'));
      }),
    );
  });

  test('negative control: a base64 without padding would be caught', () => {
    const unpadded = (bytes: Uint8Array) => toBase64(bytes).replace(/=+$/, '');
    const result = fc.check(fc.property(fc.uint8Array({ maxLength: 8 }), (bytes) => unpadded(bytes) === Buffer.from(bytes).toString('base64')));
    expect(result.failed).toBe(true);
  });
});

describe('caspaxos/trace is pure', () => {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '../../src/trace');
  test.each(readdirSync(dir).filter((f) => f.endsWith('.ts')))('%s imports nothing from Node and uses no Buffer, DOM or clock', (file) => {
    const source = readFileSync(join(dir, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    expect(source).not.toMatch(/from ['"]node:|require\(|\bBuffer\b|\bdocument\.|\bwindow\.|globalThis|DOMParser|Date\.now|new Date|Math\.random|setTimeout|TextDecoder|btoa/);
    for (const [, spec] of source.matchAll(/from ['"]([^'"]+)['"]/g)) expect(spec?.startsWith('.'), `${file} imports ${spec}`).toBe(true);
  });
});
