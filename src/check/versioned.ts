/**
 * Versioned values for the "chain" workload, as JSON strings (the `Value` of a history).
 *
 * Every write in a chain workload is a read-modify-write change function that replaces the current
 * value with the next one in the chain:
 *
 *     { "version": v + 1, "writer": <this operation's id>, "predecessor": <writer of the current value>, ...payload }
 *
 * where `v` is the current value's version. The absent value (`null`, the key was never written)
 * has version 0 and writer `null`, so the first value has version 1 and predecessor `null`. The
 * client invokes the history recorder first, gets the operation id, and bakes it into its change
 * function (`nextVersioned(current, op.id, payload)`); because every value names the operation that
 * wrote it and the one it replaced, the values a key ever held form one chain that `checkChain`
 * verifies exactly.
 *
 * Deletes: a delete must not write `null` (that would restart the chain at version 0). It writes a
 * versioned *tombstone* instead, `nextVersioned(current, op.id, { deleted: true })`, which a reader
 * treats as absent and the chain continues through. The next write after a tombstone simply has no
 * `deleted` field. (A chain workload therefore never garbage-collects its keys.)
 *
 * Encoding is canonical: `version`, `writer`, `predecessor`, then `deleted` when set, then the
 * payload's fields in sorted order (nested objects sorted too), so two encodings of equal values are
 * equal strings.
 */

/** A decoded versioned value. Payload fields sit next to the four reserved ones. */
export interface VersionedValue {
  /** 1 for the first value of a key; the replaced value's version + 1 after that. */
  readonly version: number;
  /** The id of the history operation whose change function wrote this value. */
  readonly writer: number;
  /** The writer of the value this one replaced; `null` when it replaced the absent value. */
  readonly predecessor: number | null;
  /** A tombstone: the key reads as absent, but the chain goes on. */
  readonly deleted?: true;
  readonly [field: string]: unknown;
}

const RESERVED: ReadonlySet<string> = new Set(['version', 'writer', 'predecessor']);

/**
 * The canonical JSON string of a versioned value. Throws `TypeError` naming the first bad field:
 * `version` must be an integer ≥ 1, `writer` an integer, `predecessor` an integer or `null`,
 * `deleted` absent or `true`, and every payload field a JSON value (no `undefined`, functions,
 * `NaN`, …).
 */
export function encodeVersioned(value: VersionedValue): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError('a versioned value must be an object');
  }
  checkHeader(value as Readonly<Record<string, unknown>>);
  const { version, writer, predecessor, deleted, ...payload } = value;
  let text = `{"version":${version},"writer":${writer},"predecessor":${predecessor === null ? 'null' : predecessor}`;
  if (deleted !== undefined) text += ',"deleted":true';
  for (const field of Object.keys(payload).sort()) {
    text += `,${JSON.stringify(field)}:${canonicalJSON(payload[field], field)}`;
  }
  return `${text}}`;
}

/**
 * Parses a versioned value from a history: `null` (the absent value) gives `null`; anything else
 * must be a JSON object that `encodeVersioned` accepts. Throws `TypeError` explaining what is wrong.
 */
export function decodeVersioned(text: string | null): VersionedValue | null {
  if (text === null) return null;
  if (typeof text !== 'string') throw new TypeError('a versioned value is a string or null');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TypeError(`not JSON: ${abbreviate(text)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TypeError(`not a JSON object: ${abbreviate(text)}`);
  }
  const value = parsed as VersionedValue;
  encodeVersioned(value); // validates the payload too (e.g. 1e999 parses as Infinity)
  return value;
}

/**
 * The value a chain workload's change function writes: the successor of `current` (a versioned
 * value's string, or `null` for absent), written by operation `writerOpId`, carrying `payload`.
 * Pass `{ deleted: true }` to write a tombstone. Throws `TypeError` if `current` is malformed, or if
 * the payload uses a reserved field (`version`, `writer`, `predecessor`) or is not JSON.
 */
export function nextVersioned(current: string | null, writerOpId: number, payload: Readonly<Record<string, unknown>> = {}): string {
  const previous = decodeVersioned(current);
  for (const field of Object.keys(payload)) {
    if (RESERVED.has(field)) throw new TypeError(`payload field "${field}" is reserved`);
  }
  return encodeVersioned({
    ...payload,
    version: (previous?.version ?? 0) + 1,
    writer: writerOpId,
    predecessor: previous?.writer ?? null,
  });
}

/** Validates the reserved fields; throws `TypeError` naming the first bad one. */
function checkHeader(v: Readonly<Record<string, unknown>>): void {
  const { version, writer, predecessor, deleted } = v;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new TypeError(`"version" must be an integer ≥ 1, not ${describe(version)}`);
  }
  if (typeof writer !== 'number' || !Number.isSafeInteger(writer)) {
    throw new TypeError(`"writer" must be an operation id (an integer), not ${describe(writer)}`);
  }
  if (predecessor !== null && (typeof predecessor !== 'number' || !Number.isSafeInteger(predecessor))) {
    throw new TypeError(`"predecessor" must be an operation id (an integer) or null, not ${describe(predecessor)}`);
  }
  if (deleted !== undefined && deleted !== true) {
    throw new TypeError(`"deleted" must be true when present, not ${describe(deleted)}`);
  }
}

/** JSON text with object keys sorted at every depth; throws on anything JSON cannot represent exactly. */
function canonicalJSON(value: unknown, path: string): string {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`payload field ${path} is not a finite number`);
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map((item, i) => canonicalJSON(item, `${path}[${i}]`)).join(',')}]`;
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new TypeError(`payload field ${path} is not a plain object`);
      const record = value as Record<string, unknown>;
      const fields = Object.keys(record)
        .sort()
        .map((field) => `${JSON.stringify(field)}:${canonicalJSON(record[field], `${path}.${field}`)}`);
      return `{${fields.join(',')}}`;
    }
    default:
      throw new TypeError(`payload field ${path} is ${typeof value}, not a JSON value`);
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (typeof value === 'string') return JSON.stringify(abbreviate(value));
  try {
    return abbreviate(JSON.stringify(value) ?? String(value));
  } catch {
    return String(value);
  }
}

function abbreviate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
