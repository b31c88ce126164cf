import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { type VersionedValue, decodeVersioned, encodeVersioned, nextVersioned } from '../../src/check/versioned.js';

describe('encodeVersioned', () => {
  test('writes the reserved fields first, then deleted, then the payload in sorted order', () => {
    expect(encodeVersioned({ version: 3, writer: 7, predecessor: 5, z: 1, a: { y: [1, 'x'], b: null } })).toBe(
      '{"version":3,"writer":7,"predecessor":5,"a":{"b":null,"y":[1,"x"]},"z":1}',
    );
    expect(encodeVersioned({ version: 1, writer: 0, predecessor: null, deleted: true })).toBe(
      '{"version":1,"writer":0,"predecessor":null,"deleted":true}',
    );
  });

  test('is canonical: equal values give equal strings whatever the field order', () => {
    const a = encodeVersioned({ version: 2, writer: 1, predecessor: 0, p: { x: 1, y: 2 } });
    const b = encodeVersioned({ p: { y: 2, x: 1 }, predecessor: 0, writer: 1, version: 2 });
    expect(a).toBe(b);
  });

  test.each([
    [{ version: 0, writer: 1, predecessor: null }, /"version" must be an integer ≥ 1/],
    [{ version: 1.5, writer: 1, predecessor: null }, /"version"/],
    [{ version: 1, writer: '1', predecessor: null }, /"writer" must be an operation id/],
    [{ version: 1, writer: 1 }, /"predecessor" must be an operation id \(an integer\) or null, not missing/],
    [{ version: 1, writer: 1, predecessor: 0.5 }, /"predecessor"/],
    [{ version: 1, writer: 1, predecessor: null, deleted: false }, /"deleted" must be true/],
    [{ version: 1, writer: 1, predecessor: null, x: undefined }, /payload field x is undefined/],
    [{ version: 1, writer: 1, predecessor: null, x: Number.NaN }, /payload field x is not a finite number/],
    [{ version: 1, writer: 1, predecessor: null, x: { y: [() => 1] } }, /payload field x.y\[0\] is function/],
    [{ version: 1, writer: 1, predecessor: null, x: new Date(0) }, /payload field x is not a plain object/],
  ])('rejects %j', (value, message) => {
    expect(() => encodeVersioned(value as unknown as VersionedValue)).toThrow(message);
  });
});

describe('decodeVersioned', () => {
  test('null is the absent value', () => {
    expect(decodeVersioned(null)).toBeNull();
  });

  test('reads what encodeVersioned wrote, in any field order', () => {
    expect(decodeVersioned('{"predecessor":4,"writer":9,"version":2,"deleted":true}')).toEqual({
      version: 2,
      writer: 9,
      predecessor: 4,
      deleted: true,
    });
  });

  test.each([
    ['not json', /not JSON/],
    ['[1,2]', /not a JSON object/],
    ['"x"', /not a JSON object/],
    ['null', /not a JSON object/],
    ['{"version":1,"writer":null,"predecessor":null}', /"writer"/],
    ['{"version":-1,"writer":1,"predecessor":null}', /"version"/],
    ['{"version":1,"writer":1,"predecessor":null,"deleted":1}', /"deleted"/],
    ['{"version":1,"writer":1,"predecessor":null,"x":[1e999]}', /payload field x\[0\] is not a finite number/],
  ])('rejects %s', (text, message) => {
    expect(() => decodeVersioned(text)).toThrow(TypeError);
    expect(() => decodeVersioned(text)).toThrow(message);
  });

  const json: fc.Arbitrary<unknown> = fc.jsonValue();
  const payloadArbitrary = fc.dictionary(
    fc.string().filter((k) => !['version', 'writer', 'predecessor', 'deleted', '__proto__'].includes(k)),
    json,
  );
  test.prop([fc.integer({ min: 1, max: 1e9 }), fc.nat(), fc.option(fc.nat(), { nil: null }), fc.boolean(), payloadArbitrary])(
    'decode(encode(value)) equals value and re-encodes to the same string',
    (version, writer, predecessor, deleted, payload) => {
      const value: VersionedValue = { ...payload, version, writer, predecessor, ...(deleted ? { deleted: true as const } : {}) };
      const text = encodeVersioned(value);
      const decoded = decodeVersioned(text);
      expect(decoded).toEqual(JSON.parse(JSON.stringify(value))); // JSON has no -0
      expect(encodeVersioned(decoded as VersionedValue)).toBe(text);
    },
  );
});

describe('nextVersioned', () => {
  test('starts a chain at version 1 with no predecessor, then links each value to the previous writer', () => {
    const first = nextVersioned(null, 4, { name: 'a' });
    expect(decodeVersioned(first)).toEqual({ version: 1, writer: 4, predecessor: null, name: 'a' });
    const second = nextVersioned(first, 9);
    expect(decodeVersioned(second)).toEqual({ version: 2, writer: 9, predecessor: 4 });
  });

  test('a delete writes a tombstone the chain continues through', () => {
    const value = nextVersioned(null, 0, { n: 1 });
    const tombstone = nextVersioned(value, 1, { deleted: true });
    expect(decodeVersioned(tombstone)).toEqual({ version: 2, writer: 1, predecessor: 0, deleted: true });
    const revived = nextVersioned(tombstone, 2, { n: 3 });
    expect(decodeVersioned(revived)).toEqual({ version: 3, writer: 2, predecessor: 1, n: 3 });
  });

  test.each([['version'], ['writer'], ['predecessor']])('rejects the reserved payload field %s', (field) => {
    expect(() => nextVersioned(null, 1, { [field]: 1 })).toThrow(/reserved/);
  });

  test('rejects a malformed current value', () => {
    expect(() => nextVersioned('{"v":1}', 1)).toThrow(TypeError);
  });
});
