/**
 * The simulated network. Every acceptor call travels as a request message and a reply message;
 * each message independently may be dropped, duplicated and delayed (delays drawn per message, so
 * messages overtake each other: reordering), all decided by the seeded random source when it is
 * sent. Partitions block directed links and are checked when a message would be delivered, so a
 * partition also swallows messages already in flight.
 */
import type { DeliveryEvent, UpcomingEvent } from './events.js';
import type { SimMessage } from './message.js';
import type { SeededRandom } from './random.js';
import type { AgendaItem, VirtualTime } from './virtual-time.js';

/** Fault rates and delays of one direction of traffic. */
export interface LinkProfile {
  /** Probability that a message is lost. */
  readonly dropRate: number;
  /** Probability that a message is delivered twice (the copy with its own delay). */
  readonly duplicateRate: number;
  /** Delivery delay in milliseconds, uniform in [minDelayMs, maxDelayMs]. */
  readonly minDelayMs: number;
  /** The longest delivery delay, in milliseconds. */
  readonly maxDelayMs: number;
  /**
   * Extra delay of a duplicate, uniform in [0, replayDelayMs]: a stale replay of a message that
   * may arrive long after the original did its work.
   * @default 0
   */
  readonly replayDelayMs?: number;
}

/** Requests (proposer to acceptor) and replies (acceptor to proposer) fail independently. */
export interface NetworkProfile {
  /** Requests: proposer (or operator) to acceptor. */
  readonly request: LinkProfile;
  /** Replies and watch events: acceptor to proposer. */
  readonly reply: LinkProfile;
}

/** No loss, no duplicates, 0.1-1 ms delays (still enough to reorder). */
export const CALM_LINK: LinkProfile = Object.freeze({ dropRate: 0, duplicateRate: 0, minDelayMs: 0.1, maxDelayMs: 1 });
/** The default network: `CALM_LINK` both ways. */
export const CALM_NETWORK: NetworkProfile = Object.freeze({ request: CALM_LINK, reply: CALM_LINK });

export type { MessageKind, SimMessage } from './message.js';

/** What a node does with a message delivered to it. Returns false if it could not take it (down). */
export type Receiver = (message: SimMessage) => boolean;

/**
 * The simulated network: each message may be dropped, duplicated and delayed (delays drawn per
 * message, so messages overtake each other), as decided by the seeded random source when it is
 * sent. Partitions block directed links and are checked at delivery, so they also swallow messages
 * already in flight.
 */
export class SimNetwork {
  /**
   * Loss, duplication and delays, both ways; change it at any time (it applies to messages sent
   * after).
   */
  profile: NetworkProfile = CALM_NETWORK;
  readonly #time: VirtualTime;
  readonly #random: SeededRandom;
  readonly #trace: (line: string) => void;
  readonly #receivers = new Map<string, Receiver>();
  readonly #blocked = new Set<string>();
  /** Messages scheduled for delivery, by id (a duplicate shares its original's id). */
  readonly #inFlight = new Map<number, SimMessage[]>();
  #nextId = 1;
  /** Counters, for coverage assertions. */
  readonly stats = {
    /** Messages sent. */
    sent: 0,
    /** Messages lost (`dropRate`). */
    dropped: 0,
    /** Duplicate copies scheduled (`duplicateRate`, `replay`). */
    duplicated: 0,
    /** Deliveries a partition blocked. */
    blocked: 0,
    /** Deliveries a node took. */
    delivered: 0,
    /** Deliveries to a node that was down or absent. */
    undeliverable: 0,
    /** Replies that were conflicts (counted by the acceptor nodes). */
    conflicts: 0,
  };

  constructor(time: VirtualTime, random: SeededRandom, trace: (line: string) => void) {
    this.#time = time;
    this.#random = random;
    this.#trace = trace;
  }

  /** Registers the node that receives messages addressed to `address`. */
  attach(address: string, receiver: Receiver): void {
    this.#receivers.set(address, receiver);
  }

  /** When false, no trace text is built: messages carry an empty summary. */
  tracing = true;
  /** Sees every message sent (before its fate is decided): for scripts that capture and replay. */
  onSend: ((message: SimMessage) => void) | undefined;

  /**
   * Sends a message; its fate is decided now, its delivery happens later on the agenda. `summary`
   * describes it for the trace (called only when tracing).
   */
  send(message: Omit<SimMessage, 'id' | 'copy' | 'summary'>, summary: () => string): SimMessage {
    const sent: SimMessage = { ...message, summary: this.tracing ? summary() : '', id: this.#nextId++, copy: 0 };
    this.stats.sent++;
    this.onSend?.(sent);
    const link = message.kind === 'request' ? this.profile.request : this.profile.reply;
    if (this.#random.chance(link.dropRate)) {
      this.stats.dropped++;
      if (this.tracing) this.#trace(`lose #${sent.id} ${describe(sent)}`);
      return sent;
    }
    this.#schedule(sent, link, 0);
    if (this.#random.chance(link.duplicateRate)) {
      this.stats.duplicated++;
      this.#schedule({ ...sent, copy: 1 }, link, this.#random.next() * (link.replayDelayMs ?? 0));
    }
    return sent;
  }

  /** Delivers a copy of an earlier message again after `delayMs`: a stale replay. */
  replay(message: SimMessage, delayMs: number): void {
    this.stats.duplicated++;
    const link = message.kind === 'request' ? this.profile.request : this.profile.reply;
    this.#schedule({ ...message, copy: message.copy + 1 }, { ...link, minDelayMs: delayMs, maxDelayMs: delayMs }, 0);
    if (this.tracing) this.#trace(`replay #${message.id} ${describe(message)} in ${delayMs} ms`);
  }

  /** Blocks messages from `from` to `to` (one direction) until unblocked or healed. */
  block(from: string, to: string): void {
    this.#blocked.add(`${from}>${to}`);
  }

  /** Unblocks messages from `from` to `to`. */
  unblock(from: string, to: string): void {
    this.#blocked.delete(`${from}>${to}`);
  }

  /** True when messages from `from` to `to` are blocked. */
  isBlocked(from: string, to: string): boolean {
    return this.#blocked.has(`${from}>${to}`);
  }

  /** Removes every partition. */
  heal(): void {
    this.#blocked.clear();
  }

  /** The blocked links, as `from>to`. */
  get blockedLinks(): readonly string[] {
    return [...this.#blocked].sort();
  }

  /** Messages scheduled and not yet delivered, in id order. */
  inFlight(): SimMessage[] {
    return [...this.#inFlight.values()].flat().sort((a, b) => a.id - b.id || a.copy - b.copy);
  }

  /** Delivers message `id` (every copy in flight) now, out of its scheduled turn. */
  deliverNow(id: number): boolean {
    return this.deliverByHand(id).length > 0;
  }

  /**
   * Delivers message `id` (every copy in flight) now, out of its scheduled turn and past any
   * partition; returns what became of each copy (none when it is not in flight).
   */
  deliverByHand(id: number): DeliveryEvent[] {
    const copies = this.#inFlight.get(id);
    if (copies === undefined) return [];
    this.#unschedule(id);
    this.#inFlight.delete(id);
    return copies.map((message) => {
      const event: DeliveryEvent = { kind: 'deliver', message, outcome: this.#deliver(message) ? 'delivered' : 'undeliverable' };
      this.#trace(`${deliveryText(event)} (by hand)`);
      return event;
    });
  }

  /** Drops message `id` (every copy in flight). */
  drop(id: number): boolean {
    const copies = this.#inFlight.get(id);
    if (copies === undefined) return false;
    this.#unschedule(id);
    this.#inFlight.delete(id);
    this.stats.dropped += copies.length;
    for (const message of copies) this.#trace(`lose #${id} ${describe(message)} (by hand)`);
    return true;
  }

  /**
   * Holds message `id` back: every copy in flight arrives `delayMs` from now instead of when it was
   * due (partitions and crashes still apply then). Returns false when it is not in flight.
   */
  postpone(id: number, delayMs: number): boolean {
    const copies = this.#inFlight.get(id);
    if (copies === undefined) return false;
    this.#unschedule(id);
    // In copy order, so copies due at the same time arrive original first, as `inFlight` lists them.
    for (const message of [...copies].sort((a, b) => a.copy - b.copy)) this.#time.schedule(delayMs * 1000, new Delivery(message, this.#arrive));
    return true;
  }

  /** Takes message `id`'s deliveries off the agenda. */
  #unschedule(id: number): void {
    this.#time.agenda.remove((item) => item instanceof Delivery && item.message.id === id);
  }

  #schedule(message: SimMessage, link: LinkProfile, extraMs: number): void {
    const delayMs = link.minDelayMs + this.#random.next() * (link.maxDelayMs - link.minDelayMs) + extraMs;
    const copies = this.#inFlight.get(message.id);
    if (copies === undefined) this.#inFlight.set(message.id, [message]);
    else copies.push(message);
    this.#time.schedule(delayMs * 1000, new Delivery(message, this.#arrive));
  }

  /**
   * What a delivery on the agenda does when it is due, for a caller that schedules its own (prefer
   * `postpone`): the copy leaves the wire and arrives, partitions and crashes applying. Returns the
   * trace line ('' when not tracing).
   */
  arrive(message: SimMessage): string {
    const event = this.#arrive(message);
    return this.tracing ? deliveryText(event) : '';
  }

  /** A copy's delivery is due: it leaves the wire, then a partition or its node decides its fate. */
  readonly #arrive = (message: SimMessage): DeliveryEvent => {
    const copies = this.#inFlight.get(message.id);
    if (copies !== undefined) {
      const i = copies.indexOf(message);
      if (i >= 0) copies.splice(i, 1);
      if (copies.length === 0) this.#inFlight.delete(message.id);
    }
    if (this.isBlocked(message.from, message.to)) {
      this.stats.blocked++;
      return { kind: 'deliver', message, outcome: 'blocked' };
    }
    return { kind: 'deliver', message, outcome: this.#deliver(message) ? 'delivered' : 'undeliverable' };
  };

  #deliver(message: SimMessage): boolean {
    const receiver = this.#receivers.get(message.to);
    const taken = receiver !== undefined && receiver(message);
    if (taken) this.stats.delivered++;
    else this.stats.undeliverable++;
    return taken;
  }
}

/** An agenda item delivering one copy of a message. */
class Delivery implements AgendaItem {
  #event: DeliveryEvent | undefined;

  constructor(
    readonly message: SimMessage,
    readonly arrive: (message: SimMessage) => DeliveryEvent,
  ) {}

  run(): boolean {
    this.#event = this.arrive(this.message);
    return true;
  }

  describe(): string {
    return deliveryText(this.event());
  }

  upcoming(): UpcomingEvent {
    return { kind: 'deliver', message: this.message };
  }

  event(): DeliveryEvent {
    if (this.#event === undefined) throw new Error('a delivery describes itself only after it ran');
    return this.#event;
  }
}

const OUTCOME_VERB = { delivered: 'deliver', blocked: 'block', undeliverable: 'undeliverable' } as const;

/** The trace's text for a delivery: `deliver #4 p1 -> a2 request prepare ...`. */
function deliveryText(event: DeliveryEvent): string {
  return `${OUTCOME_VERB[event.outcome]} #${event.message.id} ${describe(event.message)}`;
}

/** `p1 -> a2 request prepare ...` (with `dup` for a duplicate). */
export function describe(message: SimMessage): string {
  return `${message.from} -> ${message.to} ${message.kind} ${message.summary}${message.copy > 0 ? ' (dup)' : ''}`;
}
