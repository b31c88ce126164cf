/**
 * Operations and values as short, readable text for reports and counterexamples.
 */
import { outcomeUnknown, type Operation, type Value } from './history.js';

/** A value as text: `null`, or the string in JSON quotes. */
export function formatValue(value: Value | undefined): string {
  return value === undefined || value === null ? 'null' : JSON.stringify(value);
}

/**
 * What the operation did: `read → "a"`, `write "b"`, `cas(expected "a", new "b") → ok` (or
 * `→ not equal`), `add "1" → "5"`, with `(outcome unknown)` or `(failed: no effect)` when so.
 */
export function formatAction(op: Operation): string {
  const unknown = outcomeUnknown(op);
  const suffix = op.fail === true ? ' (failed: no effect)' : unknown ? ' (outcome unknown)' : '';
  switch (op.op) {
    case 'read':
      return unknown || op.fail === true ? `read${suffix}` : `read → ${formatValue(op.output)}`;
    case 'write':
      return `write ${formatValue(op.arg)}${suffix}`;
    case 'cas': {
      const base = `cas(expected ${formatValue(op.expected)}, new ${formatValue(op.arg)})`;
      return unknown || op.fail === true ? `${base}${suffix}` : `${base} → ${op.ok === false ? 'not equal' : 'ok'}`;
    }
    case 'add': {
      const base = `add ${formatValue(op.arg)}`;
      if (unknown || op.fail === true) return `${base}${suffix}`;
      return op.output === undefined ? base : `${base} → ${formatValue(op.output)}`;
    }
    default:
      return String((op as { op: unknown }).op);
  }
}

/** The operation in one line: id, client, `[call, return]` (`[call, ∞)` when unknown) and action. */
export function describeOperation(op: Operation): string {
  const interval = op.return === null ? `[${op.call}, ∞)` : `[${op.call}, ${op.return}]`;
  return `#${op.id} client ${op.clientId} ${interval} ${formatAction(op)}`;
}
