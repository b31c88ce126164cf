/**
 * The playground's dynamic parts, each rebuilt from the cluster after every action: messages in
 * flight (with when each is due, and their buttons), nodes (with theirs), the acceptor table and
 * the values it adds up to, the operations, the explanations and the delivery diagram. Every
 * element carries a `data-testid` (and `data-*` facts) so tests and assistive tools can find it
 * without depending on layout.
 */
import type { AcceptedValueView, AcceptorView, Explanation, MessageView, OperationHandle, TourRun } from '../../src/teach/index.js';
import { displayName } from '../../src/trace/index.js';
import { button, h, svgElement } from './dom.js';

/** What the message buttons do. */
export interface MessageActions {
  deliver(id: number): void;
  drop(id: number): void;
  delay(id: number): void;
}

/** What the node buttons do. */
export interface NodeActions {
  crash(node: string): void;
  restart(node: string): void;
  isolate(node: string): void;
}

/** One node as the node list shows it. */
export interface NodeView {
  readonly name: string;
  readonly role: 'proposer' | 'acceptor';
  readonly up: boolean;
  readonly isolated: boolean;
  /** Acceptors only: `member`, `accepts only`, ... (see `AcceptorView.membership`). */
  readonly membership?: AcceptorView['membership'];
}

/** One message in flight, with why it may not arrive. */
export interface MessageRow {
  readonly message: MessageView;
  /** A partition cuts its link: delivering it is refused, stepping loses it. */
  readonly blocked: boolean;
  /** Its receiver is down: it will be lost when it arrives. */
  readonly toDownNode: boolean;
}

/** A virtual time (µs) as `0.389 ms`. */
export const ms = (us: number): string => `${(us / 1000).toFixed(3)} ms`;

export function renderMessages(list: HTMLOListElement, rows: readonly MessageRow[], actions: MessageActions): void {
  if (rows.length === 0) {
    list.replaceChildren(h('li', { class: 'empty', 'data-testid': 'no-messages' }, 'Nothing in flight.'));
    return;
  }
  list.replaceChildren(
    ...rows.map(({ message: m, blocked, toDownNode }) =>
      h(
        'li',
        { 'data-testid': `message-${m.id}`, 'data-id': m.id, 'data-from': m.from, 'data-to': m.to, 'data-method': m.method, 'data-kind': m.kind, class: m.kind },
        h('span', { class: 'line', 'data-field': 'line' }, m.line),
        m.arrival !== undefined && h('span', { class: 'due', 'data-field': 'due' }, `due ${ms(m.arrival)}`),
        blocked && h('span', { class: 'hint' }, 'blocked by a partition'),
        toDownNode && h('span', { class: 'hint' }, `${m.to} is down`),
        h(
          'span',
          { class: 'buttons' },
          button('Deliver', `deliver-${m.id}`, () => actions.deliver(m.id), { 'aria-label': `Deliver ${m.line}`, disabled: blocked }),
          button('Drop', `drop-${m.id}`, () => actions.drop(m.id), { 'aria-label': `Drop ${m.line}` }),
          button('Delay', `delay-${m.id}`, () => actions.delay(m.id), { 'aria-label': `Delay ${m.line}` }),
        ),
      ),
    ),
  );
}

export function renderNodes(list: HTMLUListElement, nodes: readonly NodeView[], actions: NodeActions): void {
  list.replaceChildren(
    ...nodes.map((node) => {
      const status = [node.up ? 'up' : 'down', node.isolated ? 'isolated' : '', node.membership !== undefined && node.membership !== 'member' ? node.membership : '']
        .filter((part) => part !== '')
        .join(', ');
      return h(
        'li',
        { 'data-testid': `node-${node.name}`, 'data-role': node.role, 'data-up': String(node.up), class: node.up ? 'up' : 'down' },
        h('span', { class: 'name' }, `${node.name} (${node.role})`),
        h('span', { class: 'status', 'data-testid': `node-status-${node.name}` }, status),
        h(
          'span',
          { class: 'buttons' },
          button('Crash', `crash-${node.name}`, () => actions.crash(node.name), { 'aria-label': `Crash ${node.name}`, disabled: !node.up }),
          button('Restart', `restart-${node.name}`, () => actions.restart(node.name), { 'aria-label': `Restart ${node.name}`, disabled: node.up }),
          button('Isolate', `isolate-${node.name}`, () => actions.isolate(node.name), { 'aria-label': `Cut ${node.name} off from every other node`, disabled: node.isolated }),
        ),
      );
    }),
  );
}

export function renderAcceptors(body: HTMLTableSectionElement, acceptors: readonly AcceptorView[], isolated: ReadonlySet<string>): void {
  const rows: HTMLTableRowElement[] = [];
  for (const a of acceptors) {
    const status = [a.up ? 'up' : 'down', isolated.has(a.address) ? 'isolated' : '', a.membership === 'member' ? '' : a.membership].filter((s) => s !== '').join(', ');
    const cells = (record: AcceptorView['records'][number] | undefined, first: boolean): HTMLTableRowElement =>
      h(
        'tr',
        { 'data-testid': 'record', 'data-acceptor': a.address, 'data-key': record?.key, class: a.up ? undefined : 'down' },
        h('th', { scope: 'row' }, first ? a.address : ''),
        h('td', { 'data-field': 'status' }, first ? status : ''),
        h('td', { 'data-field': 'key' }, record === undefined ? '' : displayName(record.key)),
        h('td', { 'data-field': 'promise' }, record?.promise ?? ''),
        h('td', { 'data-field': 'accepted' }, record?.accepted ?? ''),
        h('td', { 'data-field': 'value' }, record?.preview ?? ''),
      );
    if (a.records.length === 0) rows.push(cells(undefined, true));
    a.records.forEach((record, i) => rows.push(cells(record, i === 0)));
  }
  body.replaceChildren(...rows);
}

/** What the records add up to: each value accepted somewhere, chosen (a majority holds it) or held by a minority only. */
export function renderValues(list: HTMLUListElement, values: readonly AcceptedValueView[]): void {
  list.replaceChildren(
    ...values.map((v) =>
      h('li', { 'data-testid': 'accepted-value', 'data-key': v.key, 'data-ballot': v.ballot, 'data-chosen': String(v.chosen), class: v.chosen ? 'chosen' : 'minority' }, v.toString()),
    ),
  );
}

/**
 * What garbage collection left on each acceptor (paper §3.1): the minimum proposer ages it now
 * requires, and the promise every absent key behaves as having. Nothing before the first collection.
 */
export function renderFences(list: HTMLUListElement, acceptors: readonly AcceptorView[]): void {
  const items: HTMLLIElement[] = [];
  for (const a of acceptors) {
    const ages = Object.entries(a.minimumAges).map(([id, age]) => `${displayName(id)} ≥ ${age}`);
    if (ages.length === 0 && a.tombstoneFloor === 'ø') continue;
    items.push(h('li', { 'data-testid': `fence-${a.address}` }, `${a.address} requires ages ${ages.join(', ') || '-'}; absent keys act as promised ${a.tombstoneFloor}`));
  }
  list.replaceChildren(...items);
}

export function renderOperations(body: HTMLTableSectionElement, operations: readonly OperationHandle[]): void {
  body.replaceChildren(
    ...operations.map((op) =>
      h(
        'tr',
        { 'data-testid': `op-${op.id}`, 'data-status': op.status, class: op.status },
        h('th', { scope: 'row' }, String(op.id)),
        h('td', { 'data-field': 'label' }, op.label),
        h('td', { 'data-field': 'status' }, op.status),
        h('td', { 'data-field': 'value' }, op.value === undefined ? '' : op.value === null ? '∅' : JSON.stringify(op.value)),
        h('td', { 'data-field': 'ballot' }, op.ballot ?? ''),
        h('td', { 'data-field': 'error' }, op.status === 'failed' ? errorMessage(op.error) : ''),
      ),
    ),
  );
}

/** The most explanations the panel keeps (the story itself keeps every one). */
const EXPLANATIONS_SHOWN = 300;

/** Each event and why, newest last; those since `latestFrom` are highlighted. The list scrolls to the newest. */
export function renderExplanations(list: HTMLOListElement, explanations: readonly Explanation[], latestFrom: number): void {
  if (explanations.length === 0) {
    list.replaceChildren(h('li', { class: 'empty' }, 'Nothing has happened yet.'));
    return;
  }
  const shown = explanations.slice(-EXPLANATIONS_SHOWN);
  list.replaceChildren(
    ...shown.map((e) =>
      h(
        'li',
        { 'data-testid': 'explanation', 'data-seq': e.seq, 'data-kind': e.kind, class: e.seq >= latestFrom ? 'latest' : undefined },
        h('div', { class: 'summary' }, `${ms(e.time)}  ${e.summary}`),
        e.why.length > 0 && h('ul', { class: 'why' }, ...e.why.map((line) => h('li', { 'data-testid': 'why' }, line))),
      ),
    ),
  );
  list.scrollTop = list.scrollHeight;
}

/** The guided tour's current step: its text, checkpoint, ideas and what it printed. */
export interface TourView {
  readonly run: TourRun;
  /** The step shown. */
  readonly index: number;
  /** Whether it ran. */
  readonly ran: boolean;
  /** What it printed. */
  readonly output: readonly string[];
  /** Whether its checkpoint held, once it ran. */
  readonly held: boolean | undefined;
}

export function renderTour(tour: TourView | undefined, byTestId: <T extends HTMLElement>(id: string) => T): void {
  const step = tour?.run.steps[tour.index];
  byTestId('tour-summary').textContent = tour === undefined ? '' : `${tour.run.tour.title}: ${tour.run.tour.summary}`;
  byTestId('tour-title').textContent = step === undefined || tour === undefined ? '' : `Step ${tour.index + 1} of ${tour.run.steps.length}: ${step.title}`;
  byTestId('tour-text').replaceChildren(...(step?.text.split(/\n\s*\n/).map((p) => h('p', {}, p)) ?? []));
  const checkpoint = byTestId('tour-checkpoint');
  if (step?.checkpoint === undefined || tour === undefined) {
    checkpoint.textContent = '';
    checkpoint.className = 'checkpoint';
  } else if (!tour.ran) {
    checkpoint.textContent = `Checkpoint, after this step: ${step.checkpoint.claim}`;
    checkpoint.className = 'checkpoint';
  } else {
    checkpoint.textContent = `${tour.held === true ? '✓' : '✗'} checkpoint: ${step.checkpoint.claim}${tour.held === true ? '' : ' (does NOT hold)'}`;
    checkpoint.className = `checkpoint ${tour.held === true ? 'held' : 'broken'}`;
  }
  byTestId('tour-try').replaceChildren(...(tour?.ran === true ? (step?.tryThis ?? []) : []).map((idea) => h('li', {}, `Try this: ${idea}`)));
  byTestId('tour-output').textContent = tour?.output.join('\n') ?? '';
  byTestId<HTMLDetailsElement>('tour-output-box').hidden = tour === undefined || !tour.ran;
  byTestId<HTMLButtonElement>('tour-run').disabled = tour === undefined || tour.ran;
  byTestId<HTMLButtonElement>('tour-next').disabled = tour === undefined || !tour.ran || tour.index + 1 >= tour.run.steps.length;
  byTestId('tour-progress').textContent = tour === undefined ? '' : tour.ran && tour.index + 1 >= tour.run.steps.length ? 'end of the tour' : '';
}

/**
 * The delivery diagram at `zoom`, its lifelines spread to fill `width`, scrolled to its newest row;
 * or a note while it is empty.
 */
export function renderDiagram(container: HTMLElement, rows: number, svg: (minWidth: number) => string, zoom: number): void {
  if (rows === 0) {
    container.replaceChildren(h('p', { class: 'empty' }, 'No messages yet: start a proposal.'));
    return;
  }
  const width = Math.max(0, container.clientWidth - 20);
  const image = svgElement(svg(width / zoom));
  image.setAttribute('role', 'img');
  image.setAttribute('data-testid', 'diagram-svg');
  const natural = Number(image.getAttribute('width'));
  const height = Number(image.getAttribute('height'));
  image.setAttribute('width', String(Math.round(natural * zoom)));
  image.setAttribute('height', String(Math.round(height * zoom)));
  container.replaceChildren(image);
  container.scrollTop = container.scrollHeight;
}

/** What went wrong, for a person: the message of an `Error`, else the value as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
