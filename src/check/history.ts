/**
 * Histories of client operations, as the checkers read them and as Porcupine-style tools do.
 *
 * One operation per client call: when it was invoked and when it returned (virtual or real time,
 * any monotonic clock), its key, kind, input and output. Values are strings or `null` (`null` is
 * the absent/empty value, so a delete is a write of `null`). Outcomes:
 *  - completed: `return` is a time; `ok` is true for a read, a write or an add, and is the
 *    comparison result of a compare-and-set;
 *  - `fail: true`: the operation definitely had no effect (it failed before any accept was sent);
 *    checkers drop it;
 *  - `unknown: true` with `return: null`: the outcome is unknown; the operation may take effect at
 *    any time after its call, or never.
 * Fault events (partitions, crashes, ...) go to a separate annotations array.
 */

/**
 * A register value in a history: a string, or `null` for absent. In register workloads a delete
 * is a write of `null`; chain workloads write versioned tombstones instead (see `check/versioned`).
 */
export type Value = string | null;

/** The kinds of operation the models understand. `add` adds the integer in `arg` to a counter. */
export type OpKind = 'read' | 'write' | 'cas' | 'add';

/** One operation, in the JSON shape histories are exported in. */
export interface Operation {
  /** Position in the history (0-based); stable across export and import. */
  readonly id: number;
  /** The client that invoked it (shown in reports; checkers order operations by time alone). */
  readonly clientId: number;
  /** The key (register) it acts on. */
  readonly key: string;
  /** What it does. */
  readonly op: OpKind;
  /** write: the value written; cas: the value to set; add: the delta, as a decimal string. */
  readonly arg?: Value;
  /** cas: the value compared with. */
  readonly expected?: Value;
  /**
   * read: the value read (`null` for absent); add: the counter after the add (when known); write
   * in a chain workload: the versioned value it wrote (its `arg` is unknown at invocation).
   */
  readonly output?: Value;
  /** Completed read/write/add: true. Completed cas: whether the comparison held. */
  readonly ok?: boolean;
  /** When it was invoked. */
  readonly call: number;
  /** When it returned; `null` when the outcome is unknown. */
  readonly return: number | null;
  /** The operation definitely had no effect. */
  readonly fail?: true;
  /** The outcome is unknown (`return` is `null`). */
  readonly unknown?: true;
}

/**
 * Whether the operation's outcome is unknown: marked `unknown`, or never returned. It may take
 * effect at any time after its call, or never.
 */
export function outcomeUnknown(op: Operation): boolean {
  return op.unknown === true || op.return === null;
}

/** Something that happened to the system while the history was recorded. */
export interface Annotation {
  /** When it happened, on the history's clock. */
  readonly time: number;
  /** e.g. `partition`, `heal`, `crash`, `restart`, `skew`. */
  readonly kind: string;
  /** Which nodes, links or amounts, for humans. */
  readonly detail: string;
}

/**
 * A recorded history: the operations, and the faults injected while they ran. `historyToJSON` and
 * `historyFromJSON` convert it to and from its JSON shape.
 */
export interface History {
  /** Every operation, in `id` order. */
  readonly operations: readonly Operation[];
  /** The faults, in time order. */
  readonly annotations: readonly Annotation[];
}

/** What an operation's caller reports when it returns. */
export interface Completion {
  /** read: the value read (required; `null` for absent); add: the counter after; chain write: the value written. */
  readonly output?: Value;
  /** cas: whether the comparison held (required for a cas). */
  readonly ok?: boolean;
}

/** An invoked operation, waiting for its outcome. Exactly one of its methods may be called. */
export interface PendingOperation {
  /** The operation's id in the history. */
  readonly id: number;
  /** It returned normally. */
  complete(completion?: Completion): void;
  /** It definitely had no effect. */
  fail(): void;
  /** Its outcome is unknown (it may still take effect later). */
  unknown(): void;
}

/** The description of an operation at invocation. */
export interface Invocation {
  /** The invoking client. */
  readonly clientId: number;
  /** The key it acts on. */
  readonly key: string;
  /** What it does. */
  readonly op: OpKind;
  /** write: the value written; cas: the value to set; add: the delta, as a decimal string. */
  readonly arg?: Value;
  /** cas: the value compared with. */
  readonly expected?: Value;
}

/**
 * Records a history as operations are invoked and return. `now` reads the clock (virtual time in a
 * simulation). Operations never completed, failed or marked unknown are exported as unknown.
 *
 * Timestamps are strictly increasing in recording order: an event read at the same clock value as
 * the previous one is stamped one unit of the clock later (use an integer clock, such as the
 * simulation's microseconds, so the bump is negligible). A client that invokes its next operation in the
 * same instant its previous one returned did so after it, and checkers (like Porcupine) treat
 * equal times as overlapping, which would hide real-time order.
 */
export class HistoryRecorder {
  readonly #clock: () => number;
  #last = -Infinity;
  readonly #operations: Array<Operation | undefined> = [];
  readonly #invocations: Array<{ readonly invocation: Invocation; readonly call: number }> = [];
  readonly #annotations: Annotation[] = [];

  constructor(now: () => number) {
    this.#clock = now;
  }

  #now(): number {
    const time = this.#clock();
    this.#last = time > this.#last ? time : this.#last + 1;
    return this.#last;
  }

  /** Records the invocation of an operation, now; settle it through the returned handle. */
  invoke(invocation: Invocation): PendingOperation {
    const id = this.#invocations.length;
    this.#invocations.push({ invocation, call: this.#now() });
    this.#operations.push(undefined);
    let settled = false;
    const settle = (outcome: Partial<Operation>): void => {
      if (settled) throw new Error(`operation ${id} already has an outcome`);
      settled = true;
      this.#operations[id] = this.#build(id, outcome);
    };
    return {
      id,
      complete: (completion = {}) => {
        const { output, ok } = completion;
        // Refuse what would otherwise be recorded silently wrong: a read with no value, a cas with
        // no comparison result.
        if (invocation.op === 'read' && output === undefined) throw new TypeError(`operation ${id}: a read must report its output (null for absent)`);
        if (invocation.op === 'cas' && ok === undefined) throw new TypeError(`operation ${id}: a cas must report ok (whether the comparison held)`);
        settle({
          return: this.#now(),
          ok: invocation.op === 'cas' ? ok === true : true,
          ...(output === undefined ? {} : { output }),
        });
      },
      fail: () => settle({ return: this.#now(), fail: true }),
      unknown: () => settle({ return: null, unknown: true }),
    };
  }

  /** Records a fault or other event at the current time. */
  annotate(kind: string, detail: string): void {
    this.#annotations.push({ time: this.#now(), kind, detail });
  }

  /** The history so far; operations still pending are reported as unknown. */
  history(): History {
    const operations = this.#operations.map((op, id) => op ?? this.#build(id, { return: null, unknown: true }));
    return { operations, annotations: [...this.#annotations] };
  }

  #build(id: number, outcome: Partial<Operation>): Operation {
    const { invocation, call } = this.#invocations[id] as { invocation: Invocation; call: number };
    const { clientId, key, op, arg, expected } = invocation;
    return {
      id,
      clientId,
      key,
      op,
      ...(arg === undefined ? {} : { arg }),
      ...(expected === undefined ? {} : { expected }),
      call,
      return: null,
      ...outcome,
    };
  }
}

/**
 * The operations as a JSON array, one operation per line: the shape Porcupine-style tools read,
 * one array per history. Annotations are exported separately (`annotationsToJSON`).
 */
export function historyToJSON(history: History): string {
  return `[\n${history.operations.map((op) => `  ${JSON.stringify(op)}`).join(',\n')}\n]\n`;
}

/** The annotations (fault events) as a JSON array, one per line. */
export function annotationsToJSON(history: History): string {
  return `[\n${history.annotations.map((a) => `  ${JSON.stringify(a)}`).join(',\n')}\n]\n`;
}

/**
 * Reads a history: an array of operations as `historyToJSON` writes it, or an object
 * `{ operations, annotations }`; `annotationsText`, when given, is an array as `annotationsToJSON`
 * writes it. Validates every field; throws `TypeError` naming the first bad one.
 */
export function historyFromJSON(text: string, annotationsText?: string): History {
  const parsed: unknown = JSON.parse(text);
  if (annotationsText !== undefined) {
    const notes: unknown = JSON.parse(annotationsText);
    if (!Array.isArray(parsed) || !Array.isArray(notes)) throw new TypeError('expected two JSON arrays: operations and annotations');
    return historyFromJSON(JSON.stringify({ operations: parsed, annotations: notes }));
  }
  const raw = Array.isArray(parsed) ? { operations: parsed, annotations: [] } : parsed;
  if (typeof raw !== 'object' || raw === null) throw new TypeError('a history is an object or an array of operations');
  const { operations, annotations = [] } = raw as { operations?: unknown; annotations?: unknown };
  if (!Array.isArray(operations)) throw new TypeError('history.operations must be an array');
  if (!Array.isArray(annotations)) throw new TypeError('history.annotations must be an array');
  const ops = operations.map((op, i) => parseOperation(op, i));
  const ids = new Set<number>();
  for (const op of ops) {
    if (ids.has(op.id)) throw new TypeError(`two operations have id ${op.id}`);
    ids.add(op.id);
  }
  return { operations: ops, annotations: annotations.map((a, i) => parseAnnotation(a, i)) };
}

const OP_KINDS: readonly string[] = ['read', 'write', 'cas', 'add'];

function parseOperation(value: unknown, index: number): Operation {
  const where = `operations[${index}]`;
  if (typeof value !== 'object' || value === null) throw new TypeError(`${where} must be an object`);
  const o = value as Record<string, unknown>;
  const id = o.id ?? index;
  if (!Number.isSafeInteger(id)) throw new TypeError(`${where}.id must be an integer`);
  if (!Number.isSafeInteger(o.clientId)) throw new TypeError(`${where}.clientId must be an integer`);
  if (typeof o.key !== 'string') throw new TypeError(`${where}.key must be a string`);
  if (typeof o.op !== 'string' || !OP_KINDS.includes(o.op)) throw new TypeError(`${where}.op must be one of ${OP_KINDS.join(', ')}`);
  if (typeof o.call !== 'number' || !Number.isFinite(o.call)) throw new TypeError(`${where}.call must be a number`);
  const ret = o.return ?? null;
  if (ret !== null && (typeof ret !== 'number' || !Number.isFinite(ret) || ret < o.call)) {
    throw new TypeError(`${where}.return must be null or a number not before call`);
  }
  for (const field of ['arg', 'expected', 'output'] as const) {
    const v = o[field];
    if (v !== undefined && v !== null && typeof v !== 'string') throw new TypeError(`${where}.${field} must be a string or null`);
  }
  if (o.ok !== undefined && typeof o.ok !== 'boolean') throw new TypeError(`${where}.ok must be a boolean`);
  if (o.fail !== undefined && o.fail !== true) throw new TypeError(`${where}.fail must be true when present`);
  if (o.unknown !== undefined && o.unknown !== true) throw new TypeError(`${where}.unknown must be true when present`);
  if (o.unknown === true && ret !== null) throw new TypeError(`${where} is unknown, so its return must be null`);
  const unknown = ret === null;
  if (o.fail === true && unknown) throw new TypeError(`${where} cannot be both failed and unknown`);
  return {
    id: id as number,
    clientId: o.clientId as number,
    key: o.key,
    op: o.op as OpKind,
    ...(o.arg === undefined ? {} : { arg: o.arg as Value }),
    ...(o.expected === undefined ? {} : { expected: o.expected as Value }),
    ...(o.output === undefined ? {} : { output: o.output as Value }),
    ...(o.ok === undefined ? {} : { ok: o.ok }),
    call: o.call,
    return: unknown ? null : (ret as number),
    ...(o.fail === true ? { fail: true as const } : {}),
    ...(unknown ? { unknown: true as const } : {}),
  };
}

function parseAnnotation(value: unknown, index: number): Annotation {
  const where = `annotations[${index}]`;
  if (typeof value !== 'object' || value === null) throw new TypeError(`${where} must be an object`);
  const a = value as Record<string, unknown>;
  if (typeof a.time !== 'number' || typeof a.kind !== 'string' || typeof a.detail !== 'string') {
    throw new TypeError(`${where} must be { time: number, kind: string, detail: string }`);
  }
  return { time: a.time, kind: a.kind, detail: a.detail };
}
