/**
 * Paged `listKeys` over HTTP. The `Acceptor` interface lists keys as one `AsyncIterable` in an
 * order of the acceptor's choosing, with no way to resume from a key, so a page cannot be found
 * again from a key alone (the key may be gone, or the order may have changed). Instead, the server
 * keeps the listing's iterator open between pages under an opaque, random cursor, and drops it
 * when the listing ends, when the client closes it, when it sits idle for `ttlMs`, or when the
 * server closes. At most `max` listings are open at once.
 *
 * Each page request names its page number, which makes it idempotent: asking again for the page
 * just served (a client that lost the reply) gets the same keys, not the next ones, so a client may
 * resend a page request whose reply was lost without skipping keys.
 */
import { randomUUID } from 'node:crypto';
import type { Acceptor } from '../roles.js';
import type { ListKeysPage } from './wire.js';

/** Why a page request was refused. */
export class ListCursorError extends Error {
  constructor(
    readonly code: 'ERR_CURSOR_UNKNOWN' | 'ERR_CURSOR_BUSY' | 'ERR_TOO_MANY_CURSORS' | 'ERR_INVALID_ARGUMENT',
    message: string,
  ) {
    super(message);
    this.name = 'ListCursorError';
  }
}

interface Listing {
  readonly iterator: AsyncIterator<string>;
  readonly controller: AbortController;
  /** The number of the page last served, and its keys (to serve it again). */
  page: number;
  keys: readonly string[];
  done: boolean;
  busy: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class ListCursors {
  readonly #listings = new Map<string, Listing>();
  #closed = false;

  constructor(
    private readonly acceptor: Acceptor,
    private readonly max: number,
    private readonly ttlMs: number,
  ) {}

  /** Listings still iterating (finished ones wait for their expiry without counting). */
  get open(): number {
    let n = 0;
    for (const listing of this.#listings.values()) if (!listing.done) n++;
    return n;
  }

  /** The first page of a new listing. */
  async start(limit: number, signal: AbortSignal): Promise<ListKeysPage> {
    if (this.#closed) throw new ListCursorError('ERR_CURSOR_UNKNOWN', 'the server is closing');
    if (this.open >= this.max) throw new ListCursorError('ERR_TOO_MANY_CURSORS', `too many open listings (at most ${this.max}); retry later`);
    const controller = new AbortController();
    const iterator = this.acceptor.listKeys({ signal: controller.signal })[Symbol.asyncIterator]();
    const listing: Listing = { iterator, controller, page: 0, keys: [], done: false, busy: true, timer: undefined };
    const id = randomUUID();
    this.#listings.set(id, listing);
    return this.#pull(id, listing, 0, limit, signal);
  }

  /** Page `page` of the listing `id`: the next one, or the last one served again. */
  async next(id: string, page: number, limit: number, signal: AbortSignal): Promise<ListKeysPage> {
    const listing = this.#listings.get(id);
    if (listing === undefined) throw new ListCursorError('ERR_CURSOR_UNKNOWN', 'unknown or expired list cursor: start the listing again');
    if (listing.busy) throw new ListCursorError('ERR_CURSOR_BUSY', 'this listing is already serving a page');
    if (page === listing.page) {
      this.#touch(id, listing);
      return { keys: listing.keys, cursor: listing.done ? null : id };
    }
    if (page !== listing.page + 1 || listing.done) {
      throw new ListCursorError('ERR_INVALID_ARGUMENT', `page ${page} does not follow page ${listing.page}${listing.done ? ', the last one' : ''}`);
    }
    listing.busy = true;
    return this.#pull(id, listing, page, limit, signal);
  }

  /** Ends a listing early (the client stopped iterating). Unknown ids are ignored: closing is idempotent. */
  close(id: string): void {
    const listing = this.#listings.get(id);
    if (listing !== undefined) this.#drop(id, listing);
  }

  /** Ends every listing; later `start` calls are refused. */
  closeAll(): void {
    this.#closed = true;
    for (const [id, listing] of this.#listings) this.#drop(id, listing);
  }

  async #pull(id: string, listing: Listing, page: number, limit: number, signal: AbortSignal): Promise<ListKeysPage> {
    const keys: string[] = [];
    const onAbort = (): void => listing.controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (keys.length < limit) {
        const r = await listing.iterator.next();
        if (r.done === true) {
          listing.done = true;
          break;
        }
        keys.push(r.value);
      }
    } catch (error) {
      // A listing that failed (or whose request was abandoned half-way) cannot resume: the keys
      // pulled so far would be lost. Drop it; the client starts again.
      this.#drop(id, listing);
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    listing.page = page;
    listing.keys = keys;
    listing.busy = false;
    if (this.#closed) {
      this.#drop(id, listing);
      return { keys, cursor: null };
    }
    // A finished listing stays (without its iterator) until it expires, so that its last page too
    // can be asked for again.
    if (listing.done) quietReturn(listing.iterator);
    this.#touch(id, listing);
    return { keys, cursor: listing.done ? null : id };
  }

  #touch(id: string, listing: Listing): void {
    if (listing.timer !== undefined) clearTimeout(listing.timer);
    listing.timer = setTimeout(() => this.#drop(id, listing), this.ttlMs);
    listing.timer.unref();
  }

  #drop(id: string, listing: Listing): void {
    if (this.#listings.get(id) === listing) this.#listings.delete(id);
    if (listing.timer !== undefined) clearTimeout(listing.timer);
    listing.timer = undefined;
    if (!listing.done) {
      listing.done = true;
      listing.controller.abort();
      quietReturn(listing.iterator);
    }
  }
}

/** Ends an iterator; `return` may throw or reject (an iterator that failed) and nobody waits for it. */
function quietReturn(iterator: AsyncIterator<string>): void {
  try {
    void Promise.resolve(iterator.return?.()).catch(() => {});
  } catch {
    // Nothing to do: the listing is dropped either way.
  }
}
