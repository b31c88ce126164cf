/**
 * How the chain checker names operations and chain nodes in its messages.
 */
import type { ChainNode } from './chain-node.js';
import type { Operation } from './history.js';

/** e.g. `read #6`. */
export function opName(op: Operation): string {
  return `${op.op} #${op.id}`;
}

/** What the history shows of a node: `seen by read #6, read #7` or `never observed; #9's value names it as predecessor`. */
export function evidence(node: ChainNode): string {
  if (node.text === undefined) {
    const namers = node.children.slice(0, 3).map((c) => `#${c.writer}'s value`);
    if (node.children.length > 3) namers.push(`${node.children.length - 3} more`);
    return `never observed; ${namers.join(', ')} name${namers.length === 1 ? 's' : ''} it as predecessor`;
  }
  const shown = node.observers.slice(0, 3).map(opName);
  if (node.observers.length > 3) shown.push(`${node.observers.length - 3} more`);
  return `seen by ${shown.join(', ')}`;
}

/** e.g. `version 3 (seen by read #6)`. */
export function describeVersion(node: ChainNode): string {
  return `version ${node.version} (${evidence(node)})`;
}

/** e.g. `#4's value, version 3 (seen by read #6)`; `withText` adds the value itself. */
export function describeNode(node: ChainNode, withText = false): string {
  const text = withText && node.text !== undefined ? ` ${abbreviate(node.text)}` : '';
  return `#${node.writer}'s value${text}, ${describeVersion(node)}`;
}

/** e.g. ` (#3, #5)`: up to 8 ids, ascending; empty for none. */
export function listIds(ids: readonly number[]): string {
  if (ids.length === 0) return '';
  const sorted = [...ids].sort((a, b) => a - b);
  const shown = sorted.slice(0, 8).map((id) => `#${id}`);
  if (sorted.length > 8) shown.push('…');
  return ` (${shown.join(', ')})`;
}

function abbreviate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
