/**
 * The watch streams of one acceptor, per key: every acceptor implementation (`MemoryAcceptor`,
 * `StoreAcceptor`) registers consumers here and pushes each stored change to them. Pushing never
 * waits for a consumer (see `WatchChannel`).
 */
import type { AcceptedState } from '../core/messages.js';
import type { WatchOptions } from '../roles.js';
import { DEFAULT_WATCH_BUFFER, WatchChannel, closeOnAbort } from '../internal/watch-channel.js';

export class AcceptorWatchers {
  #channels = new Map<string, Set<WatchChannel<AcceptedState>>>();

  /** True when someone watches some key (a cheap test before building a notification). */
  get active(): boolean {
    return this.#channels.size > 0;
  }

  /**
   * A stream for `key`. `attach` runs when iteration starts: it must push the current state into
   * the channel and then call `subscribe`, with no change to the key in between (so the consumer
   * sees the current state first and then every later change, in order). It may be asynchronous
   * (an acceptor that must read its store first does so under the key's lock).
   */
  watch(
    key: string,
    opts: WatchOptions,
    attach: (channel: WatchChannel<AcceptedState>, subscribe: () => void) => void | Promise<void>,
  ): AsyncIterable<AcceptedState> {
    const { signal, bufferSize = DEFAULT_WATCH_BUFFER } = opts;
    return {
      [Symbol.asyncIterator]: () => {
        let detach = (): void => {};
        const channel: WatchChannel<AcceptedState> = new WatchChannel<AcceptedState>(bufferSize, () => {
          detach();
          const set = this.#channels.get(key);
          set?.delete(channel);
          if (set?.size === 0) this.#channels.delete(key);
        });
        const subscribe = (): void => {
          if (channel.closed) return;
          let set = this.#channels.get(key);
          if (set === undefined) this.#channels.set(key, (set = new Set()));
          set.add(channel);
        };
        detach = closeOnAbort(channel, signal);
        const attached = attach(channel, subscribe);
        if (attached !== undefined) attached.catch((err: unknown) => channel.fail(err));
        return channel;
      },
    };
  }

  /** Hands a change of `key` to its watchers; `value` builds each one's own copy. */
  notify(key: string, value: () => AcceptedState): void {
    const set = this.#channels.get(key);
    if (set === undefined) return;
    for (const channel of set) channel.push(value());
  }

  /** Ends every stream (an acceptor that closes). */
  closeAll(): void {
    for (const set of [...this.#channels.values()]) for (const channel of [...set]) channel.close();
    this.#channels.clear();
  }
}
