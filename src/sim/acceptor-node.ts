/**
 * An acceptor on the simulated network: receives request messages, applies them to its acceptor
 * (a `MemoryAcceptor` unless a test supplies another, such as a deliberately broken one), and sends
 * the replies. It can crash at any delivery: before applying a request (the request is lost) or
 * after (the state changed, the reply is lost). It restarts with exactly what its store persisted;
 * a `MemoryAcceptor` persists every write before it replies, so that is its whole state. An
 * amnesiac restart (a fresh, empty acceptor) exists only as a negative control.
 */
import type { Age } from '../core/age.js';
import { type Ballot, formatBallot } from '../core/ballot.js';
import type { AcceptReply, AcceptedState, PeekReply, PrepareReply, RemoveReply, State, Tombstone } from '../core/messages.js';
import type { Acceptor } from '../roles.js';
import type { ReplyBody } from './endpoint.js';
import type { SimMessage, SimNetwork } from './network.js';

/** Where in handling a request a crash strikes. */
export type CrashPoint = 'before-apply' | 'after-apply';

/**
 * An acceptor on the simulated network: receives requests, applies them to its acceptor (a
 * `MemoryAcceptor` unless the simulation was given another factory), sends the replies. It can
 * crash at any delivery, before applying a request or after, and restarts with exactly what its
 * acceptor persisted.
 */
export class AcceptorNode {
  #up = true;
  #acceptor: Acceptor;
  /** Incremented by every crash: replies computed before a crash are never sent after it. */
  #incarnation = 0;
  readonly #watches = new Map<number, AsyncIterator<AcceptedState>>();
  /** Observers of every applied request (the monitor): called with the key the request touched. */
  onApplied: ((node: AcceptorNode, key: string | undefined) => void) | undefined;
  /** Decides, per delivered request, whether the node crashes while handling it. */
  crashPolicy: ((message: SimMessage) => CrashPoint | undefined) | undefined;
  /** Called when the crash policy crashed the node (the simulation schedules the restart). */
  onCrash: ((node: AcceptorNode, point: CrashPoint) => void) | undefined;

  constructor(
    /** The acceptor's address on the network. */
    readonly address: string,
    acceptor: Acceptor,
    /** The network it is attached to. */
    readonly network: SimNetwork,
    private readonly factory: (address: string) => Acceptor,
  ) {
    this.#acceptor = acceptor;
    network.attach(address, (message) => this.#receive(message));
  }

  /** False while crashed. */
  get up(): boolean {
    return this.#up;
  }

  /** The acceptor behind this node (its state survives crashes; see `restart`). */
  get acceptor(): Acceptor {
    return this.#acceptor;
  }

  /** Stops the node: requests are no longer received, replies under way are not sent. */
  crash(): void {
    if (!this.#up) return;
    this.#up = false;
    this.#incarnation++;
    for (const iterator of this.#watches.values()) void iterator.return?.();
    this.#watches.clear();
  }

  /**
   * Starts the node again with what its store persisted. `amnesia` (a negative control only)
   * starts it empty instead, as if its disk were lost, which CASPaxos does not tolerate.
   */
  restart(options: { amnesia?: boolean } = {}): void {
    if (options.amnesia === true) this.#acceptor = this.factory(this.address);
    this.#up = true;
  }

  #receive(message: SimMessage): boolean {
    if (!this.#up) return false;
    if (message.kind !== 'request') return true;
    const crash = this.crashPolicy?.(message);
    if (crash === 'before-apply') {
      this.crash();
      this.onCrash?.(this, crash);
      return true;
    }
    const incarnation = this.#incarnation;
    const key = (message.body as { key?: string }).key;
    const applied = this.#apply(message);
    if (applied === undefined) return true;
    applied.then(
      (value) => this.#reply(message, incarnation, key, { ok: true, value }),
      (error: unknown) => this.#reply(message, incarnation, key, { ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
    );
    if (crash === 'after-apply') {
      // The request is applied (synchronously, by the acceptor) and then the node dies: its reply
      // is lost, its state is what it persisted.
      this.crash();
      this.onCrash?.(this, crash);
    }
    return true;
  }

  #apply(message: SimMessage): Promise<unknown> | undefined {
    const a = this.#acceptor;
    const body = message.body as {
      key: string;
      age: Age;
      ballot: Ballot;
      state: State;
      next?: Ballot;
      ancestry?: readonly Ballot[];
      ages: readonly Age[];
      tombstone: Tombstone;
    };
    switch (message.method) {
      case 'prepare':
        return a.prepare(body.key, body.age, body.ballot);
      case 'peek':
        // An acceptor without `peek` answers like an older version would: it does not know the request.
        return a.peek === undefined ? Promise.reject(new Error('unknown method peek')) : a.peek(body.key);
      case 'accept':
        return a.accept(body.key, body.age, body.ballot, body.state, { next: body.next, ancestry: body.ancestry });
      case 'rejectByAge':
        return a.rejectByAge(body.ages);
      case 'removeIfEqual':
        return a.removeIfEqual(body.key, body.tombstone);
      case 'listKeys':
        return collect(a.listKeys());
      case 'watch':
        this.#startWatch(message, body.key);
        return undefined;
      case 'unwatch':
        void this.#watches.get(message.call)?.return?.();
        this.#watches.delete(message.call);
        return undefined;
      default:
        return Promise.reject(new Error(`unknown method ${message.method}`));
    }
  }

  #reply(request: SimMessage, incarnation: number, key: string | undefined, body: ReplyBody): void {
    this.onApplied?.(this, key);
    if (body.ok && (body.value as { type?: string } | undefined)?.type === 'conflict') this.network.stats.conflicts++;
    if (!this.#up || incarnation !== this.#incarnation) return;
    this.network.send({ kind: 'reply', from: this.address, to: request.from, method: request.method, call: request.call, body }, () => `${request.method} ${summarize(body)}`);
  }

  #startWatch(request: SimMessage, key: string): void {
    if (this.#watches.has(request.call)) return; // a duplicated watch request
    const iterator = this.#acceptor.watch(key)[Symbol.asyncIterator]();
    this.#watches.set(request.call, iterator);
    const incarnation = this.#incarnation;
    const pump = async (): Promise<void> => {
      for (;;) {
        const next = await iterator.next();
        if (next.done === true || !this.#up || incarnation !== this.#incarnation) return;
        this.network.send({ kind: 'event', from: this.address, to: request.from, method: 'watch-event', call: request.call, body: next.value }, () => `watch-event ${key}`);
      }
    };
    void pump().catch(() => {});
  }
}

function summarize(body: ReplyBody): string {
  if (!body.ok) return `error ${body.error}`;
  const reply = body.value as PrepareReply | AcceptReply | RemoveReply | PeekReply | undefined;
  if (reply === undefined) return 'ok';
  switch (reply.type) {
    case 'promised':
      return `promised (accepted ${formatBallot(reply.accepted)})`;
    case 'peeked':
      return `peeked (accepted ${formatBallot(reply.accepted)})`;
    case 'accepted':
      return reply.promised === undefined ? 'accepted' : `accepted (+promise ${formatBallot(reply.promised)})`;
    case 'conflict':
      return `conflict (${reply.kind} ${formatBallot(reply.ballot)})`;
    case 'age':
      return `age (requires ${reply.required.counter})`;
    case 'not-equal':
      return `not-equal (accepted ${formatBallot(reply.accepted)})`;
    default:
      return reply.type;
  }
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
