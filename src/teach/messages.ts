/**
 * Messages in flight as a learner reads them: `#4 p1 → a2 prepare(x, 1/p1)`,
 * `#9 a2 → p1 promised(ø, ∅)`. The labels follow the sequence diagrams of `caspaxos/trace`, so a
 * message seen here is drawn the same way once its reply reaches the proposer.
 */
import type { Age } from '../core/age.js';
import type { Ballot } from '../core/ballot.js';
import type { AcceptReply, PrepareReply, RemoveReply, State, Tombstone } from '../core/messages.js';
import { InvalidArgumentError } from '../errors.js';
import type { ReplyBody } from '../sim/endpoint.js';
import type { MessageKind, SimMessage } from '../sim/network.js';
import { ageText, ballotText, displayName, errorText, previewState } from '../trace/text.js';

/** One message on the wire, described. */
export interface MessageView {
  /** The id to pass to `deliver`, `drop` or `delay`. */
  readonly id: number;
  /** `request` (to an acceptor), `reply` (from one) or `event` (a watch notification). */
  readonly kind: MessageKind;
  /** The sender: a proposer id (`p1`), an acceptor address (`a2`), or `operator` (membership changes, garbage collection). */
  readonly from: string;
  /** The receiver, named as `from` is. */
  readonly to: string;
  /** The acceptor method: `prepare`, `accept`, `rejectByAge`, `removeIfEqual`, `listKeys`, ... */
  readonly method: string;
  /** The key the call is about (replies inherit their request's), if any. */
  readonly key: string | undefined;
  /** What it says: `prepare(x, 1/p1)`, `promised(ø, ∅)`, `conflict(promise 2/p2)`. */
  readonly text: string;
  /** The whole line: `#4 p1 → a2 prepare(x, 1/p1)`. */
  readonly line: string;
  /** Copies on the wire (2 when the network duplicated it). */
  readonly copies: number;
  /**
   * When it is due to arrive, in microseconds of virtual time (its earliest copy's), unless it is
   * delivered, dropped or delayed first; `undefined` once it is off the wire.
   */
  readonly arrival: number | undefined;
  /** `line`. */
  toString(): string;
}

/**
 * Which messages an operation acts on: an id, a predicate over `MessageView`, or a pattern whose
 * every given field must match (`{ to: 'a3', method: 'accept' }`).
 */
export type MessageSelector = number | ((message: MessageView) => boolean) | MessagePattern;

/**
 * Selects messages by their fields: a message matches when every field given (not `undefined`)
 * equals the `MessageView` field of the same name; `{}` matches every message. An unknown field
 * or a value that is not a string throws `InvalidArgumentError`, so that a typo such as
 * `{ too: 'a3' }` fails loudly instead of matching everything.
 */
export interface MessagePattern {
  /** The sender: `p1`, `a2`, `operator`. */
  readonly from?: string | undefined;
  /** The receiver. */
  readonly to?: string | undefined;
  /** The acceptor method: `prepare`, `accept`, `rejectByAge`, ... (a reply carries its request's). */
  readonly method?: string | undefined;
  /** `request`, `reply` or `event`. */
  readonly kind?: MessageKind | undefined;
  /** The key the call is about (replies match their request's key). */
  readonly key?: string | undefined;
}

const PATTERN_FIELDS = new Set(['from', 'to', 'method', 'kind', 'key']);

/** The messages `selector` picks out of `messages`, checked: throws on a malformed selector. */
export function select(messages: readonly MessageView[], selector: MessageSelector): MessageView[] {
  if (typeof selector === 'number') {
    if (!Number.isSafeInteger(selector) || selector < 1) throw new InvalidArgumentError(`a message id is an integer >= 1, got ${selector}`);
    return messages.filter((m) => m.id === selector);
  }
  if (typeof selector === 'function') return messages.filter((m) => selector(m) === true);
  if (typeof selector !== 'object' || selector === null || Array.isArray(selector)) {
    throw new InvalidArgumentError('a message selector is an id, a predicate, or a pattern such as { to: "a3", method: "accept" }');
  }
  const entries = Object.entries(selector).filter(([, value]) => value !== undefined);
  for (const [field, value] of entries) {
    if (!PATTERN_FIELDS.has(field)) throw new InvalidArgumentError(`a message pattern has no field ${JSON.stringify(field)} (it takes from, to, method, kind, key)`);
    if (typeof value !== 'string') throw new InvalidArgumentError(`message pattern field ${field} must be a string`);
  }
  return messages.filter((m) => entries.every(([field, value]) => m[field as keyof MessagePattern] === value));
}

/**
 * Describes `message`; `keyOf(call)` names the key of a reply's request, `arrival` is when it is
 * due (µs) if it is on the wire.
 */
export function viewMessage(message: SimMessage, copies: number, keyOf: (call: number) => string | undefined, arrival?: number): MessageView {
  const body = message.body as Record<string, unknown>;
  const key = message.kind === 'request' && typeof body.key === 'string' ? body.key : keyOf(message.call);
  const text = message.kind === 'request' ? requestText(message.method, body) : message.kind === 'reply' ? replyText(message.method, message.body as ReplyBody) : `${message.method}(${displayName(key ?? '')})`;
  const line = `#${message.id} ${message.from} → ${message.to} ${text}${copies > 1 ? ` (×${copies})` : ''}`;
  return Object.freeze({ id: message.id, kind: message.kind, from: message.from, to: message.to, method: message.method, key, text, line, copies, arrival, toString: () => line });
}

/**
 * The messages on the wire as views, one per message id (a duplicate counts as a copy of its
 * original), in id order; `arrivals` says when each is due (µs), by id.
 */
export function viewInFlight(inFlight: readonly SimMessage[], keyOf: (call: number) => string | undefined, arrivals?: ReadonlyMap<number, number>): MessageView[] {
  const copies = new Map<number, SimMessage[]>();
  for (const message of inFlight) {
    const list = copies.get(message.id);
    if (list === undefined) copies.set(message.id, [message]);
    else list.push(message);
  }
  return [...copies.values()].map((list) => viewMessage(list[0] as SimMessage, list.length, keyOf, arrivals?.get((list[0] as SimMessage).id)));
}

/** What a request said: its key, its acceptor and its text (`prepare(x, 1/p1)`). */
export interface CallRecord {
  /** The key it named, if any. */
  readonly key: string | undefined;
  /** The acceptor it went to. */
  readonly to: string;
  /** Its text, as `MessageView.text`. */
  readonly text: string;
}

/**
 * Every request sent, by call id: a reply then shows its request's key (a reply's body does not
 * carry it), and a timeout what its proposer waited for.
 */
export class CallLog {
  readonly #calls = new Map<number, CallRecord>();

  /** Records a request (other messages are ignored); returns the key it named, if any. */
  record(message: SimMessage): string | undefined {
    if (message.kind !== 'request') return undefined;
    const view = viewMessage(message, 1, () => undefined);
    this.#calls.set(message.call, { key: view.key, to: message.to, text: view.text });
    return view.key;
  }

  /** The request of call `call`, if it was recorded. */
  get(call: number): CallRecord | undefined {
    return this.#calls.get(call);
  }

  /** The key of call `call`'s request, if it named one. */
  readonly keyOf = (call: number): string | undefined => this.#calls.get(call)?.key;
}

function requestText(method: string, body: Record<string, unknown>): string {
  const key = typeof body.key === 'string' ? displayName(body.key) : '';
  const age = body.age as Age | undefined;
  const ageSuffix = age !== undefined && age.counter > 0 ? `, age ${age.counter}` : '';
  switch (method) {
    case 'prepare':
      return `prepare(${key}, ${ballotText(body.ballot as Ballot)}${ageSuffix})`;
    case 'accept': {
      const next = body.next as Ballot | undefined;
      return `accept(${key}, ${ballotText(body.ballot as Ballot)}, ${previewState(body.state as State)}${ageSuffix})${next === undefined ? '' : ` +promise ${ballotText(next)}`}`;
    }
    case 'rejectByAge':
      return `rejectByAge(${(body.ages as readonly Age[]).map((a) => `${displayName(a.id)} ≥ ${a.counter}`).join(', ')})`;
    case 'removeIfEqual':
      return `removeIfEqual(${key}, ${ballotText((body.tombstone as Tombstone).ballot)})`;
    case 'listKeys':
      return 'listKeys()';
    default:
      return `${method}(${key})`;
  }
}

function replyText(method: string, body: ReplyBody): string {
  if (!body.ok) return `error(${errorText(body.error, 50)})`;
  if (method === 'listKeys') return `keys(${(body.value as readonly string[]).map(displayName).join(', ')})`;
  const reply = body.value as PrepareReply | AcceptReply | RemoveReply | undefined;
  if (reply === undefined) return 'ok';
  switch (reply.type) {
    case 'promised':
      return `promised(${ballotText(reply.accepted)}, ${previewState(reply.state)})`;
    case 'accepted':
      return reply.promised === undefined ? 'accepted' : `accepted +promise ${ballotText(reply.promised)}`;
    case 'conflict':
      return `conflict(${reply.kind} ${ballotText(reply.ballot)})`;
    case 'age':
      return `age-rejected(needs ${ageText(reply.required)})`;
    case 'not-equal':
      return `not-equal(accepted ${ballotText(reply.accepted)})`;
    default:
      return (reply as { type: string }).type;
  }
}
