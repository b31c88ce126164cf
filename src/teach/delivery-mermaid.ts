/**
 * The delivery diagram as Mermaid `sequenceDiagram` text. Mermaid draws arrows level, so each
 * message is drawn where it arrived (the row that sent it says so: `sends #4 #5`); a dropped or
 * lost message ends in a cross (`-x`), a refusal is dotted (`--x`), a message still in flight is a
 * note. Notes carry quorums, commits, retries and faults. Times lead each line, in brackets.
 */
import { escapeMermaid } from '../trace/mermaid.js';
import { ordinal } from './delivery-ascii.js';
import type { DeliveryModel } from './delivery-model.js';

/** Renders `model` (see the module). */
export function deliveryMermaid(model: DeliveryModel): string {
  const { participants, rows, times, sends, inFlight } = model;
  const counts = { proposer: 0, acceptor: 0, operator: 0 };
  const prefix = { proposer: 'P', acceptor: 'A', operator: 'OP' };
  const ids = participants.map((p) => `${prefix[p.kind]}${++counts[p.kind]}`);
  const lines = ['sequenceDiagram'];
  participants.forEach((p, i) => lines.push(`    participant ${ids[i]} as ${escapeMermaid(p.label, true)}`));
  const span = ids.length > 1 ? `${ids[0]},${ids.at(-1)}` : (ids[0] ?? '');
  rows.forEach((row, r) => {
    const sent = sends[r] ?? [];
    const sends_ = sent.length === 0 ? '' : ` → sends ${sent.map((id) => `#${id}`).join(' ')}`;
    const time = `[${times[r]}] `;
    if (row.kind === 'arrival') {
      const parts: string[] = [];
      if (row.order !== undefined && row.style === 'request') parts.push(`${ordinal(row.order)} at ${participants[row.to]?.label ?? ''}`);
      if (row.role === 'quorum') parts.push('quorum');
      if (row.delayed) parts.push('held back');
      if (row.fate !== 'delivered') parts.push(row.fate);
      const arrow = row.fate !== 'delivered' ? '-x' : row.style === 'rejection' ? '--x' : row.style === 'request' ? '->>' : '-->>';
      const text = `${time}${row.label}${parts.length === 0 ? '' : ` [${parts.join(', ')}]`}${sends_}`;
      lines.push(`    ${ids[row.from]}${arrow}${ids[row.to]}: ${escapeMermaid(text)}`);
    } else {
      const over = row.over === 'all' ? span : ids[row.over];
      lines.push(`    Note over ${over}: ${escapeMermaid(`${time}${row.text}${sends_}`)}`);
    }
  });
  for (const m of inFlight) {
    const pair = m.from === m.to ? ids[m.from] : `${ids[Math.min(m.from, m.to)]},${ids[Math.max(m.from, m.to)]}`;
    lines.push(`    Note over ${pair}: ${escapeMermaid(`[${m.due}] ${m.label} in flight${m.delayed ? ', held back' : ''}`)}`);
  }
  return `${lines.join('\n')}\n`;
}
