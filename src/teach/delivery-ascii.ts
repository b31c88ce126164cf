/**
 * The delivery diagram as plain text: a time column, one lifeline per node, one line per row,
 * and on the right what the row was. A message is drawn on the row where it arrived (a terminal
 * cannot slant an arrow); the row that sent it lists it (`→ sends #4 #5 #6`), so nothing reads as
 * delivered before it was.
 *
 *     time   p1   p2   a1   a2   a3
 *    0.000   *    |    |    |    |     p1 set "hello" on x  → sends #1 #2 #3
 *    0.134   |-------->    |    |     #2 p1 → a1 prepare(x, 1/p1)  [1st at a1]
 *    0.351   |<========    |    |     #5 a1 → p1 promised(ø, ∅)  [quorum]
 *
 * `-->` a request or a reply, `~~>` a refusal, `==>` a reply that formed a quorum, `..>` a late
 * one, `x` where a dropped or lost message died, `…` a message still in flight. Lines carry no
 * trailing spaces.
 */
import { blank, finish, put, textWidth } from '../trace/layout.js';
import type { ArrivalRow, DeliveryModel } from './delivery-model.js';

/** The legend, as lines. */
export const ASCII_LEGEND: readonly string[] = [
  'legend: --> request or reply   ~~> refused   ==> reply that formed a quorum   ..> late reply',
  '        x dropped or lost   … still in flight   [1st at a1] order in which the acceptor processed it',
  '        ø no ballot   ∅ empty value   3/p1 ballot: counter 3 of proposer p1 (compared by counter, then id)',
];

/** Renders `model`; `legend` appends `ASCII_LEGEND`. */
export function deliveryAscii(model: DeliveryModel, options: { readonly legend?: boolean } = {}): string {
  const { participants, rows, times, sends, inFlight } = model;
  const dueTimes = inFlight.map((m) => m.due);
  const gutter = Math.max(4, ...times.map(textWidth), ...dueTimes.map(textWidth));
  const x: number[] = [];
  let at = gutter + 3;
  for (const p of participants) {
    x.push(at);
    at += Math.max(5, textWidth(p.label) + 2);
  }
  const labelsAt = (x.at(-1) ?? gutter) + 5;

  const lines: string[] = [];
  const header = blank(labelsAt);
  put(header, gutter - 4, 'time');
  participants.forEach((p, i) => put(header, x[i] as number, p.label));
  lines.push(finish(header));

  rows.forEach((row, r) => {
    const cells = lifelines(x, labelsAt);
    put(cells, gutter - textWidth(times[r] as string), times[r] as string);
    let text: string;
    if (row.kind === 'arrival') {
      arrow(cells, x[row.from] as number, x[row.to] as number, body(row), row.fate === 'delivered' ? 'head' : 'cross');
      text = `${row.label}${suffix(row, participants[row.to]?.label ?? '')}`;
    } else {
      if (row.over === 'all') for (let c = x[0] ?? 0; c <= (x.at(-1) ?? 0); c++) cells[c] = '=';
      else cells[x[row.over] as number] = '*';
      text = row.text;
    }
    const sent = sends[r] ?? [];
    if (sent.length > 0) text += `  → sends ${sent.map((id) => `#${id}`).join(' ')}`;
    put(cells, labelsAt, text);
    lines.push(finish(cells));
  });

  inFlight.forEach((m, i) => {
    const cells = lifelines(x, labelsAt);
    put(cells, gutter - textWidth(dueTimes[i] as string), dueTimes[i] as string);
    arrow(cells, x[m.from] as number, x[m.to] as number, '-', 'open');
    put(cells, labelsAt, `${m.label}  [in flight${m.delayed ? ', held back' : ''}, due ${m.due}]`);
    lines.push(finish(cells));
  });
  if (options.legend === true) lines.push(...ASCII_LEGEND);
  return `${lines.join('\n')}\n`;
}

/** The body of an arrow: how the message turned out. */
function body(row: ArrivalRow): string {
  if (row.role === 'quorum') return '=';
  if (row.role === 'late') return '.';
  if (row.style === 'rejection') return '~';
  return '-';
}

function suffix(row: ArrivalRow, to: string): string {
  const parts: string[] = [];
  if (row.order !== undefined && row.style === 'request') parts.push(`${ordinal(row.order)} at ${to}`);
  if (row.role === 'quorum') parts.push('quorum');
  if (row.delayed) parts.push('held back');
  if (row.fate === 'dropped') parts.push('dropped');
  else if (row.fate === 'lost') parts.push('lost by the network');
  else if (row.fate === 'blocked') parts.push('blocked by a partition');
  else if (row.fate === 'undeliverable') parts.push(`${to} is down: lost`);
  return parts.length === 0 ? '' : `  [${parts.join(', ')}]`;
}

/** `1st`, `2nd`, `3rd`, `4th`, ..., `11th`, `21st`. */
export function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  const last = n % 10;
  return `${n}${teen ? 'th' : last === 1 ? 'st' : last === 2 ? 'nd' : last === 3 ? 'rd' : 'th'}`;
}

/**
 * Draws an arrow from column `a` to column `b`: ending in a head (delivered), a cross half way
 * (dropped or lost), or an ellipsis half way (still in flight).
 */
function arrow(cells: string[], a: number, b: number, fill: string, end: 'head' | 'cross' | 'open'): void {
  if (a === b) return;
  const dir = b > a ? 1 : -1;
  const stop = end === 'head' ? b - dir : a + dir * Math.max(2, Math.floor(Math.abs(b - a) / 2));
  for (let c = a + dir; c !== stop; c += dir) cells[c] = fill;
  cells[stop] = end === 'head' ? (dir > 0 ? '>' : '<') : end === 'cross' ? 'x' : '…';
}

function lifelines(x: readonly number[], width: number): string[] {
  const cells = blank(width);
  for (const at of x) cells[at] = '|';
  return cells;
}
