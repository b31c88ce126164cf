/**
 * Codecs: how a key-value store turns its values into the bytes a register holds, and back.
 *
 * A codec only sees the payload; the store adds its own header (format, version, writer) around it
 * (see `record-format`). `decode` may throw on bytes it cannot read: the store reports that as a
 * `StateFormatError` naming the key, with the codec's error as `cause`. `encode` may throw on a
 * value it cannot represent: the store reports that as an `InvalidArgumentError`, and nothing is
 * written.
 */

/** Turns values of type `T` into bytes and back. `decode(encode(v))` must give a value equal to `v`. */
export interface Codec<T> {
  /** A short name for errors and logs, e.g. `json`. */
  readonly name: string;
  /** The bytes of `value`. Throws when `value` cannot be represented. Must not keep `value`. */
  encode(value: T): Uint8Array;
  /** The value of `bytes`. Throws when they are not a valid encoding. Must not keep `bytes`. */
  decode(bytes: Uint8Array): T;
}

const utf8Encoder = new TextEncoder();
/** `fatal`: invalid UTF-8 is an error, never silently replaced by U+FFFD. */
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON in UTF-8, the default codec. Values go through `JSON.stringify`, so what JSON cannot
 * represent changes the way it always does (`Date` becomes a string, `NaN` becomes `null`, object
 * fields that are `undefined` vanish); a value with no JSON text at all (`undefined`, a function, a
 * symbol) and a value `JSON.stringify` refuses (a `bigint`, a cycle) throw `TypeError`.
 *
 * @example
 * const store = new KeyValueStore<{ name: string }>({ proposer, codec: jsonCodec() });
 */
export function jsonCodec<T = unknown>(): Codec<T> {
  return {
    name: 'json',
    encode(value) {
      const text: unknown = JSON.stringify(value);
      if (typeof text !== 'string') throw new TypeError(`JSON cannot represent a value of type ${typeof value}`);
      return utf8Encoder.encode(text);
    },
    decode(bytes) {
      return JSON.parse(utf8Decoder.decode(bytes)) as T;
    },
  };
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** UTF-8 text. Strings with lone surrogates cannot be encoded exactly, so they throw `TypeError`. */
export function textCodec(): Codec<string> {
  return {
    name: 'text',
    encode(value) {
      if (typeof value !== 'string') throw new TypeError(`text codec: expected a string, got ${typeof value}`);
      if (LONE_SURROGATE.test(value)) throw new TypeError('text codec: the string has a lone surrogate, which UTF-8 cannot hold');
      return utf8Encoder.encode(value);
    },
    decode(bytes) {
      return utf8Decoder.decode(bytes);
    },
  };
}

/** Raw bytes, copied both ways (the store never shares a buffer with its caller). */
export function bytesCodec(): Codec<Uint8Array> {
  return {
    name: 'bytes',
    encode(value) {
      if (!(value instanceof Uint8Array)) throw new TypeError(`bytes codec: expected a Uint8Array, got ${typeof value}`);
      return new Uint8Array(value);
    },
    decode(bytes) {
      return new Uint8Array(bytes);
    },
  };
}

/** True when `value` has the shape of a `Codec`. */
export function isCodec(value: unknown): value is Codec<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Partial<Codec<unknown>>;
  return typeof c.name === 'string' && typeof c.encode === 'function' && typeof c.decode === 'function';
}
