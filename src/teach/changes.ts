/**
 * Change functions for teaching, on text values. A register holds bytes; a lesson is easier to
 * follow when it holds short strings, so these helpers encode and decode UTF-8 around a change
 * written on `string | null` (`null` is the empty register, and writing it deletes the key).
 *
 * Each helper carries a label, which names the operation in `state()` and in narration:
 * `set "hello"`, `increment`, `read`, `delete`.
 */
import type { State } from '../core/messages.js';
import { InvalidArgumentError } from '../errors.js';
import type { ChangeFunc } from '../roles.js';
import { previewState } from '../trace/text.js';

/** A change on a text register: `current` is `null` when the register is empty. */
export type TextChange = (current: string | null) => string | null;

/** A labelled change: what `propose` runs, and how the lesson names it. */
export interface Change {
  /**
   * `read` runs an identity read (`Proposer.identityRead`): it still runs both phases and writes
   * the state it read back, which is what makes a read linearizable. `write` runs `apply`.
   */
  readonly kind: 'read' | 'write';
  /** A short name: `set "hello"`, `increment`, `read`, `delete`. */
  readonly label: string;
  /** The change itself, on text. */
  readonly apply: TextChange;
  /**
   * Set by `set` and `remove`: the change ignores the current value and writes this one (a blind
   * write, as the history checkers call it; see `TeachingCluster.check`).
   */
  readonly writes?:
    | {
        /** The value written (`null`: the empty state, a delete). */
        readonly value: string | null;
      }
    | undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The register's bytes as text (`null` stays `null`). Throws on bytes that are not UTF-8. */
export function decodeText(state: State): string | null {
  if (state === null) return null;
  try {
    return decoder.decode(state);
  } catch (error) {
    throw new InvalidArgumentError('the register does not hold UTF-8 text', { cause: error });
  }
}

/**
 * The register's bytes as text, or, when they are not UTF-8 (the library allows any bytes), their
 * preview as the diagrams show it.
 */
export function textOrPreview(state: State): string | null {
  try {
    return decodeText(state);
  } catch {
    return previewState(state);
  }
}

/** Text as the register's bytes (`null` stays `null`). */
export function encodeText(text: string | null): State {
  return text === null ? null : encoder.encode(text);
}

/**
 * The library's `ChangeFunc` for a text change; `ran` (if given) learns what each run read and
 * produced.
 */
export function toChangeFunc(change: Change, ran?: (input: State, output: State) => void): ChangeFunc {
  return (current) => {
    const output = encodeText(change.apply(decodeText(current)));
    // A copy: the proposer may reuse the buffer it passed in.
    ran?.(current === null ? null : current.slice(), output);
    return output;
  };
}

/** Writes `value`, whatever the register held. */
export function set(value: string): Change {
  if (typeof value !== 'string') throw new InvalidArgumentError(`set(value): value must be a string, got ${typeof value}`);
  return Object.freeze({ kind: 'write', label: `set ${JSON.stringify(value)}`, apply: () => value, writes: Object.freeze({ value }) });
}

/** Appends `suffix` to the text held (to the empty string when the register is empty). */
export function append(suffix: string): Change {
  if (typeof suffix !== 'string') throw new InvalidArgumentError(`append(suffix): suffix must be a string, got ${typeof suffix}`);
  return Object.freeze({ kind: 'write', label: `append ${JSON.stringify(suffix)}`, apply: (current: string | null) => (current ?? '') + suffix });
}

/**
 * Adds one to a decimal counter (an empty register counts as 0). Not safe to apply twice: after
 * an unknown outcome, read before you retry it (lesson 3).
 */
export const increment: Change = Object.freeze({
  kind: 'write',
  label: 'increment',
  apply: (current: string | null) => {
    const n = current === null ? 0 : Number(current);
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`increment: the register holds ${JSON.stringify(current)}, not a whole number`);
    return String(n + 1);
  },
});

/** An identity read: both phases, writing back the state it found. */
export const read: Change = Object.freeze({ kind: 'read', label: 'read', apply: (current: string | null) => current });

/** Writes the empty state (`null`): a tombstone, which `gc(key)` can then collect (paper §3.1). */
export const remove: Change = Object.freeze({ kind: 'write', label: 'delete', apply: () => null, writes: Object.freeze({ value: null }) });

/** A change of your own, with the label it shows under. */
export function change(label: string, apply: TextChange): Change {
  if (typeof label !== 'string' || label === '') throw new InvalidArgumentError('change(label, apply): label must be a non-empty string');
  if (typeof apply !== 'function') throw new InvalidArgumentError('change(label, apply): apply must be a function');
  return Object.freeze({ kind: 'write', label, apply });
}

/** A `Change`, or a bare text change function (labelled `change`). Throws on anything else. */
export function toChange(value: unknown): Change {
  if (typeof value === 'function') return change('change', value as TextChange);
  if (typeof value === 'object' && value !== null) {
    const { kind, label, apply } = value as Partial<Change>;
    if ((kind === 'read' || kind === 'write') && typeof label === 'string' && typeof apply === 'function') return value as Change;
  }
  throw new InvalidArgumentError('a change must be set(...), append(...), increment, read, remove, change(label, fn) or a function (current: string | null) => string | null');
}
