import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from '../../src/internal/base64.js';
import * as wire from '../../src/http/wire.js';
import { MAX_BATCH_ITEMS, batchItemError, decodeBatchReply, decodeBatchRequest, encodeAcceptRequest, encodeBatchItem, encodeBatchReply, encodeBatchRequest, encodePrepareRequest } from '../../src/http/wire.js';
import { InvalidArgumentError } from '../../src/index.js';
import { MAX_BALLOT_COUNTER } from '../../src/core/ballot.js';

/** JSON as it travels: encode, stringify, parse. */
const travel = (value: object): unknown => JSON.parse(JSON.stringify(value));

const idArb = fc.string({ minLength: 1, maxLength: 8 });
const ballotArb = fc.oneof(
  fc.constant({ counter: 0, id: '' }),
  fc.record({ counter: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), id: idArb }),
);
/** Ballots a request may carry: counters up to `MAX_BALLOT_COUNTER`, the limit itself included. */
const requestBallotArb = fc.oneof(
  fc.constant({ counter: 0, id: '' }),
  fc.record({ counter: fc.integer({ min: 1, max: MAX_BALLOT_COUNTER }), id: idArb }),
  fc.record({ counter: fc.constant(MAX_BALLOT_COUNTER), id: idArb }),
);
const ageArb = fc.record({ counter: fc.nat(), id: idArb });
const stateArb = fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null });
// Keys are any JS strings, lone surrogates included: JSON.stringify escapes them, so they survive.
const keyArb = fc.string({ unit: 'binary', maxLength: 12 });

describe('base64', () => {
  it('round-trips any bytes, and matches Node', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = encodeBase64(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64'));
        expect(decodeBase64(text)).toEqual(bytes);
      }),
    );
  });

  it('encodes large inputs (chunked) exactly', () => {
    const bytes = new Uint8Array(100_003).map((_, i) => (i * 31) & 0xff);
    expect(encodeBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
  });

  it('rejects every non-canonical spelling', () => {
    for (const bad of ['A', 'AA', 'AAA', 'AA=', 'A===', '====', 'AB==', 'AAB=', 'A=AA', 'AA==AAAA', 'AA A', 'AAA\n', 'AA-_', 'ÿAAA', 'AAAA=']) {
      expect(decodeBase64(bad), bad).toBeUndefined();
    }
    // Negative control: the canonical forms of the same lengths decode.
    for (const good of ['', 'AA==', 'AAA=', 'AAAA', 'AQ==', 'AAE=']) expect(decodeBase64(good), good).toBeDefined();
  });

  it('decodes only what it encodes (canonical: one spelling per byte string)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'AQgw+/=='.split('')), maxLength: 12 }), (text) => {
        const bytes = decodeBase64(text);
        if (bytes !== undefined) expect(encodeBase64(bytes)).toBe(text);
      }),
    );
  });
});

describe('wire requests', () => {
  it('round-trip: prepare, accept (with and without next and ancestry), reject-by-age, remove-if-equal, list, watch', () => {
    fc.assert(
      fc.property(keyArb, ageArb, requestBallotArb, stateArb, fc.option(requestBallotArb, { nil: undefined }), fc.option(fc.array(requestBallotArb, { maxLength: 33 }), { nil: undefined }), (key, age, ballot, state, next, ancestry) => {
        expect(wire.decodePrepareRequest(travel(wire.encodePrepareRequest({ key, age, ballot })))).toEqual({ key, age, ballot });
        const accept = { key, age, ballot, state, ...(next === undefined ? {} : { next }), ...(ancestry === undefined ? {} : { ancestry }) };
        expect(wire.decodeAcceptRequest(travel(wire.encodeAcceptRequest(accept)))).toEqual(accept);
        expect(wire.decodeRejectByAgeRequest(travel(wire.encodeRejectByAgeRequest({ ages: [age, age] })))).toEqual({ ages: [age, age] });
        const remove = { key, tombstone: { ballot, state } };
        expect(wire.decodeRemoveIfEqualRequest(travel(wire.encodeRemoveIfEqualRequest(remove)))).toEqual(remove);
        expect(wire.decodeWatchRequest(travel(wire.encodeWatchRequest({ key })))).toEqual({ key });
        expect(wire.decodeWatchRequest(travel(wire.encodeWatchRequest({ key, bufferSize: 7 })))).toEqual({ key, bufferSize: 7 });
      }),
    );
    expect(wire.decodeListKeysRequest(travel(wire.encodeListKeysRequest({ page: 0, limit: 5 })))).toEqual({ page: 0, limit: 5 });
    expect(wire.decodeListKeysRequest(travel(wire.encodeListKeysRequest({ cursor: 'c', page: 3, limit: 5 })))).toEqual({ cursor: 'c', page: 3, limit: 5 });
    expect(wire.decodeListKeysCloseRequest(travel(wire.encodeListKeysCloseRequest({ cursor: 'c' })))).toEqual({ cursor: 'c' });
  });

  it('a decoded state is an exact, fresh copy of the bytes', () => {
    const state = new Uint8Array([0, 255, 128, 10, 13]);
    const decoded = wire.decodeAcceptRequest(travel(wire.encodeAcceptRequest({ key: 'k', age: { counter: 0, id: 'p' }, ballot: { counter: 1, id: 'p' }, state })));
    expect(decoded.state).toEqual(state);
    expect(decoded.state).not.toBe(state);
  });

  const good = {
    prepare: { key: 'k', age: { counter: 0, id: 'p' }, ballot: { counter: 1, id: 'p' } },
    accept: { key: 'k', age: { counter: 0, id: 'p' }, ballot: { counter: 1, id: 'p' }, state: 'AQI=' },
  };

  it('rejects, with InvalidArgumentError, every malformed request', () => {
    const cases: Array<[string, () => unknown]> = [
      ['not an object', () => wire.decodePrepareRequest([])],
      ['null', () => wire.decodePrepareRequest(null)],
      ['a string', () => wire.decodePrepareRequest('x')],
      ['missing key', () => wire.decodePrepareRequest({ ...good.prepare, key: undefined })],
      ['key not a string', () => wire.decodePrepareRequest({ ...good.prepare, key: 1 })],
      ['unknown field', () => wire.decodePrepareRequest({ ...good.prepare, extra: 1 })],
      ['__proto__ field', () => wire.decodePrepareRequest(JSON.parse('{"key":"k","age":{"counter":0,"id":"p"},"ballot":{"counter":1,"id":"p"},"__proto__":{}}'))],
      ['age with empty id', () => wire.decodePrepareRequest({ ...good.prepare, age: { counter: 0, id: '' } })],
      ['negative age', () => wire.decodePrepareRequest({ ...good.prepare, age: { counter: -1, id: 'p' } })],
      ['fractional ballot', () => wire.decodePrepareRequest({ ...good.prepare, ballot: { counter: 1.5, id: 'p' } })],
      ['unsafe ballot', () => wire.decodePrepareRequest({ ...good.prepare, ballot: { counter: 2 ** 53, id: 'p' } })],
      ['ballot counter 0 with an id', () => wire.decodePrepareRequest({ ...good.prepare, ballot: { counter: 0, id: 'p' } })],
      ['ballot counter as string', () => wire.decodePrepareRequest({ ...good.prepare, ballot: { counter: '1', id: 'p' } })],
      // Counters above MAX_BALLOT_COUNTER (2^48), in every ballot a request carries: a request could
      // otherwise push a key's promise where counters cannot grow (issue 11, item 3).
      ['prepare ballot above the limit', () => wire.decodePrepareRequest({ ...good.prepare, ballot: { counter: MAX_BALLOT_COUNTER + 1, id: 'p' } })],
      ['prepare ballot at 2^53 - 1', () => wire.decodePrepareRequest({ ...good.prepare, ballot: { counter: Number.MAX_SAFE_INTEGER, id: 'p' } })],
      ['accept ballot above the limit', () => wire.decodeAcceptRequest({ ...good.accept, ballot: { counter: MAX_BALLOT_COUNTER + 1, id: 'p' } })],
      ['next above the limit', () => wire.decodeAcceptRequest({ ...good.accept, next: { counter: MAX_BALLOT_COUNTER + 1, id: 'p' } })],
      ['ancestry entry above the limit', () => wire.decodeAcceptRequest({ ...good.accept, ancestry: [{ counter: MAX_BALLOT_COUNTER + 1, id: 'q' }] })],
      ['tombstone ballot above the limit', () => wire.decodeRemoveIfEqualRequest({ key: 'k', tombstone: { ballot: { counter: MAX_BALLOT_COUNTER + 1, id: 'p' }, state: null } })],
      ['state not base64', () => wire.decodeAcceptRequest({ ...good.accept, state: 'AQI' })],
      ['state a number', () => wire.decodeAcceptRequest({ ...good.accept, state: 5 })],
      ['state an array', () => wire.decodeAcceptRequest({ ...good.accept, state: [1, 2] })],
      ['missing state', () => wire.decodeAcceptRequest({ ...good.accept, state: undefined })],
      ['next malformed', () => wire.decodeAcceptRequest({ ...good.accept, next: { counter: -2, id: 'p' } })],
      ['next null', () => wire.decodeAcceptRequest({ ...good.accept, next: null })],
      ['ancestry not an array', () => wire.decodeAcceptRequest({ ...good.accept, ancestry: {} })],
      ['ancestry too long', () => wire.decodeAcceptRequest({ ...good.accept, ancestry: Array.from({ length: 34 }, (_, i) => ({ counter: i + 1, id: 'q' })) })],
      ['ancestry entry malformed', () => wire.decodeAcceptRequest({ ...good.accept, ancestry: [{ counter: 1 }] })],
      ['ages not an array', () => wire.decodeRejectByAgeRequest({ ages: { counter: 1, id: 'p' } })],
      ['ages entry malformed', () => wire.decodeRejectByAgeRequest({ ages: [{ counter: 1, id: '' }] })],
      ['tombstone missing', () => wire.decodeRemoveIfEqualRequest({ key: 'k' })],
      ['tombstone extra field', () => wire.decodeRemoveIfEqualRequest({ key: 'k', tombstone: { ballot: { counter: 1, id: 'p' }, state: null, x: 1 } })],
      ['list limit 0', () => wire.decodeListKeysRequest({ page: 0, limit: 0 })],
      ['list limit too big', () => wire.decodeListKeysRequest({ page: 0, limit: wire.MAX_LIST_LIMIT + 1 })],
      ['list page without cursor', () => wire.decodeListKeysRequest({ page: 1, limit: 1 })],
      ['list cursor with page 0', () => wire.decodeListKeysRequest({ cursor: 'c', page: 0, limit: 1 })],
      ['list cursor empty', () => wire.decodeListKeysRequest({ cursor: '', page: 1, limit: 1 })],
      ['list cursor too long', () => wire.decodeListKeysRequest({ cursor: 'c'.repeat(wire.MAX_CURSOR_LENGTH + 1), page: 1, limit: 1 })],
      ['list page negative', () => wire.decodeListKeysRequest({ cursor: 'c', page: -1, limit: 1 })],
      ['close without cursor', () => wire.decodeListKeysCloseRequest({})],
      ['watch buffer 0', () => wire.decodeWatchRequest({ key: 'k', bufferSize: 0 })],
      ['watch buffer too big', () => wire.decodeWatchRequest({ key: 'k', bufferSize: wire.MAX_WATCH_BUFFER + 1 })],
      ['watch buffer fractional', () => wire.decodeWatchRequest({ key: 'k', bufferSize: 1.5 })],
      ['invalid JSON', () => wire.parseJson('{"key":', 'the body')],
    ];
    for (const [name, decode] of cases) expect(decode, name).toThrow(InvalidArgumentError);
    // Negative control: the unmodified requests decode, and so do counters at the limit.
    expect(() => wire.decodePrepareRequest(good.prepare)).not.toThrow();
    expect(() => wire.decodePrepareRequest({ ...good.prepare, ballot: { counter: MAX_BALLOT_COUNTER, id: 'p' } })).not.toThrow();
    expect(() => wire.decodeAcceptRequest(good.accept)).not.toThrow();
  });
});

describe('wire replies', () => {
  const conflictArb = fc.record({ type: fc.constant('conflict' as const), ballot: ballotArb, kind: fc.constantFrom('promise' as const, 'accepted' as const), accepted: ballotArb });

  it('round-trip: every reply type', () => {
    fc.assert(
      fc.property(ballotArb, stateArb, fc.option(fc.array(ballotArb, { maxLength: 3 }), { nil: undefined }), conflictArb, ageArb, (ballot, state, ancestry, conflict, age) => {
        const promised = { type: 'promised' as const, accepted: ballot, state, ...(ancestry === undefined ? {} : { ancestry }) };
        for (const reply of [promised, conflict, { type: 'age' as const, required: age }]) {
          expect(wire.decodePrepareReply(travel(wire.encodePrepareReply(reply)))).toEqual(reply);
        }
        for (const reply of [{ type: 'accepted' as const }, { type: 'accepted' as const, promised: ballot }, conflict]) {
          expect(wire.decodeAcceptReply(travel(wire.encodeAcceptReply(reply)))).toEqual(reply);
        }
        for (const reply of [{ type: 'removed' as const }, { type: 'absent' as const }, { type: 'not-equal' as const, accepted: ballot }]) {
          expect(wire.decodeRemoveReply(travel(wire.encodeRemoveReply(reply)))).toEqual(reply);
        }
        const line = { type: 'state' as const, ballot, state };
        expect(wire.decodeWatchLine(JSON.parse(wire.encodeWatchLine(line)))).toEqual(line);
      }),
    );
    expect(wire.decodeWatchLine(JSON.parse(wire.encodeWatchLine({ type: 'end' })))).toEqual({ type: 'end' });
    const error = { type: 'error' as const, code: 'ERR_UNAVAILABLE', message: 'm', retryable: true };
    expect(wire.decodeWatchLine(JSON.parse(wire.encodeWatchLine(error)))).toEqual(error);
    expect(wire.decodeListKeysPage(travel(wire.encodeListKeysPage({ keys: ['a', 'b'], cursor: 'c' })), 2)).toEqual({ keys: ['a', 'b'], cursor: 'c' });
    expect(wire.decodeListKeysPage(travel(wire.encodeListKeysPage({ keys: [], cursor: null })), 2)).toEqual({ keys: [], cursor: null });
  });

  it('keeps a conflict without `accepted` without one (absence is not proof)', () => {
    const reply = { type: 'conflict', ballot: { counter: 2, id: 'q' }, kind: 'promise' } as const;
    const decoded = wire.decodePrepareReply(travel(wire.encodePrepareReply(reply as never)));
    expect(decoded).toEqual(reply);
    expect('accepted' in decoded).toBe(false);
  });

  it('encoders copy known fields only, and refuse replies that break the types', () => {
    const leaky = { type: 'accepted', secret: 'x' } as never;
    expect(wire.encodeAcceptReply(leaky)).toEqual({ type: 'accepted' });
    expect(() => wire.encodePrepareReply({ type: 'bogus' } as never)).toThrow(TypeError);
    expect(() => wire.encodeAcceptReply({ type: 'conflict', ballot: { counter: 1, id: 'p' }, kind: 'neither' } as never)).toThrow(TypeError);
    expect(() => wire.encodePrepareReply({ type: 'promised', accepted: { counter: -1, id: 'p' }, state: null } as never)).toThrow(InvalidArgumentError);
    expect(() => wire.encodePrepareReply({ type: 'promised', accepted: { counter: 0, id: '' }, state: 'text' } as never)).toThrow(TypeError);
  });

  it('rejects every malformed reply', () => {
    const b = { counter: 1, id: 'p' };
    const cases: Array<[string, () => unknown]> = [
      ['unknown prepare type', () => wire.decodePrepareReply({ type: 'yes' })],
      ['promised lacks state', () => wire.decodePrepareReply({ type: 'promised', accepted: b })],
      ['promised extra field', () => wire.decodePrepareReply({ type: 'promised', accepted: b, state: null, x: 1 })],
      ['conflict bad kind', () => wire.decodePrepareReply({ type: 'conflict', ballot: b, kind: 'other' })],
      ['conflict bad accepted', () => wire.decodeAcceptReply({ type: 'conflict', ballot: b, kind: 'promise', accepted: 3 })],
      ['age lacks required', () => wire.decodeAcceptReply({ type: 'age' })],
      ['accepted with bad promised', () => wire.decodeAcceptReply({ type: 'accepted', promised: {} })],
      ['removed with extra field', () => wire.decodeRemoveReply({ type: 'removed', x: 1 })],
      ['not-equal lacks accepted', () => wire.decodeRemoveReply({ type: 'not-equal' })],
      ['reply an array', () => wire.decodeRemoveReply([])],
      ['empty reply with fields', () => wire.decodeEmptyReply({ ok: true }, 'r')],
      ['page too long', () => wire.decodeListKeysPage({ keys: ['a', 'b', 'c'], cursor: null }, 2)],
      ['page key not a string', () => wire.decodeListKeysPage({ keys: [1], cursor: null }, 2)],
      ['page cursor a number', () => wire.decodeListKeysPage({ keys: [], cursor: 5 }, 2)],
      ['watch line unknown type', () => wire.decodeWatchLine({ type: 'more' })],
      ['watch state bad base64', () => wire.decodeWatchLine({ type: 'state', ballot: b, state: '!' })],
      ['error code lowercase', () => wire.decodeWireError({ code: 'oops', message: 'm', retryable: false })],
      ['error retryable missing', () => wire.decodeWireError({ code: 'ERR_X', message: 'm' })],
    ];
    for (const [name, decode] of cases) expect(decode, name).toThrow(InvalidArgumentError);
  });

  it('counts UTF-8 bytes as TextEncoder does, lone surrogates as U+FFFD', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 20 }), (s) => {
        expect(wire.utf8Length(s)).toBe(new TextEncoder().encode(s).length);
      }),
    );
  });
});

describe('batches (v2)', () => {
  const item = { key: 'k', age: { counter: 0, id: 'p' }, ballot: { counter: 1, id: 'p' } };
  const decode = (items: unknown) => decodeBatchRequest(JSON.parse(encodeBatchRequest((items as unknown[]).map((i) => JSON.stringify(i)))));

  it('round-trips prepare and accept items in order', () => {
    const texts = [encodeBatchItem('prepare', encodePrepareRequest(item)), encodeBatchItem('accept', encodeAcceptRequest({ ...item, state: new Uint8Array([1, 2]), next: { counter: 2, id: 'p' } }))];
    expect(decodeBatchRequest(JSON.parse(encodeBatchRequest(texts)))).toEqual([
      { op: 'prepare', ...item },
      { op: 'accept', ...item, state: new Uint8Array([1, 2]), next: { counter: 2, id: 'p' } },
    ]);
  });

  it('refuses a malformed batch whole, and marks unknown kinds unsupported', () => {
    for (const bad of [[], [null], [[]], [{ ...item }], [{ op: 1, ...item }], [{ op: 'prepare', ...item, extra: 1 }], [{ op: 'accept', ...item }], Array.from({ length: MAX_BATCH_ITEMS + 1 }, () => ({ op: 'prepare', ...item }))]) {
      expect(() => decode(bad), JSON.stringify(bad).slice(0, 80)).toThrow(InvalidArgumentError);
    }
    expect(() => decodeBatchRequest({ items: [{ op: 'prepare', ...item }], more: 1 })).toThrow(InvalidArgumentError);
    expect(decode([{ op: 'read', key: 'k' }, { op: 'prepare', ...item }])).toEqual([{ op: 'read', unsupported: true }, { op: 'prepare', ...item }]);
  });

  it('encodes one reply per item, errors apart, and checks the count on the way back', () => {
    const text = encodeBatchReply([{ ok: { type: 'accepted' } }, { error: { code: 'ERR_INVALID_ARGUMENT', message: 'no', retryable: false } }]);
    const items = decodeBatchReply(JSON.parse(text), 2);
    expect(batchItemError(items[0])).toBeUndefined();
    expect(batchItemError(items[1])).toEqual({ code: 'ERR_INVALID_ARGUMENT', message: 'no', retryable: false });
    expect(() => decodeBatchReply(JSON.parse(text), 3)).toThrow(InvalidArgumentError);
    expect(() => batchItemError({ error: { code: 'nope' } })).toThrow(InvalidArgumentError);
  });
});
