/**
 * `GET /v1/kv/{key}/watch`: a key's changes as server-sent events (`event-stream.ts`), as the
 * seed's HTTP API streams them. The seed's `StateWatcher` "watches a key, yielding states"; here the
 * states are the key-value store's entries (`KeyValueStore.watch`: the current one first, from a
 * linearizable read, then each chosen change; a slow client skips intermediate versions).
 *
 *     id: 4294967298
 *     event: value
 *     data: {"key":"greeting","value":"hello","version":"4294967298"}
 *
 *     id: 4294967298-deleted
 *     event: deleted
 *     data: {"key":"greeting","deleted":true}
 *
 * Event ids are resume points. A value's id is its version (decimal). A deletion's is
 * `<v>-deleted`, where v is the highest version this stream (or the client, resuming) knew of:
 * the key is absent after version v. Versions strictly increase over the key's whole history,
 * deletes and re-creations included (`key-value-store.ts`, "Versions"), so "newer than what the
 * client saw" is a comparison of numbers:
 *  - no id (a new watch): the current state at once, value or `deleted`;
 *  - `v` (the client saw a value at v): a value only if its version is above v; `deleted` if the
 *    key is absent now (absent after having held v means it was deleted since);
 *  - `v-deleted` (the client saw the key absent after v): a value only if its version is above v;
 *    nothing while it stays absent.
 * The client sends its last id back as `Last-Event-ID` (what `EventSource` does by itself) or
 * `?since=`; the header wins (it is the newer of the two when `EventSource` reconnects to a URL
 * that carries `since`). So the server never sends a state older than one the client already saw.
 *
 * Heartbeats are comments (`: heartbeat`), every `heartbeatMs`, so that proxies and load balancers
 * do not close a quiet stream. The stream ends on client disconnect (every watcher and timer is
 * released), when the server closes (the client reconnects elsewhere or later), or with an
 * `event: error` carrying `{ code, message, retryable }` when the watch fails (too few acceptors
 * answer, a value the store cannot read).
 */
import type { ServerResponse } from 'node:http';
import type { Entry, KeyValueStore } from '../kv/key-value-store.js';
import { formatVersion } from '../kv/record-format.js';
import type { Logger } from '../logger.js';
import { formatComment, formatEvent } from './event-stream.js';
import { drained } from './json.js';

/** Where a client's view of a key stands: the highest version it knows, and whether it saw the key absent after it. */
export interface WatchCursor {
  readonly version: bigint;
  readonly deleted: boolean;
}

const ID = /^(0|[1-9][0-9]{0,39})(-deleted)?$/;

/** The event id of `cursor` (see the module comment). */
export function formatWatchId(cursor: WatchCursor): string {
  return `${formatVersion(cursor.version)}${cursor.deleted ? '-deleted' : ''}`;
}

/** The cursor an event id names; `undefined` when it is not one. */
export function parseWatchId(text: string): WatchCursor | undefined {
  const match = ID.exec(text);
  if (match === null) return undefined;
  return { version: BigInt(match[1] as string), deleted: match[2] !== undefined };
}

/**
 * What to send for `entry` (the key's state now; `undefined`: absent) to a client at `seen`:
 * the event and the client's cursor after it, or `undefined` when it already knows as much.
 */
export function nextWatchEvent(key: string, entry: Entry<unknown> | undefined, seen: WatchCursor | undefined): { readonly text: string; readonly cursor: WatchCursor } | undefined {
  if (entry !== undefined) {
    if (seen !== undefined && entry.version <= seen.version) return undefined;
    const cursor = { version: entry.version, deleted: false };
    const data = JSON.stringify({ key, value: entry.value, version: formatVersion(entry.version) });
    return { text: formatEvent({ id: formatWatchId(cursor), event: 'value', data }), cursor };
  }
  if (seen?.deleted === true) return undefined;
  const cursor = { version: seen?.version ?? 0n, deleted: true };
  return { text: formatEvent({ id: formatWatchId(cursor), event: 'deleted', data: JSON.stringify({ key, deleted: true }) }), cursor };
}

/** What `serveKeyWatch` needs beyond the request. */
export interface KeyWatchContext {
  readonly kv: KeyValueStore<unknown>;
  readonly key: string;
  /** The client's resume point (`Last-Event-ID` or `since`), if any. */
  readonly since: WatchCursor | undefined;
  readonly heartbeatMs: number;
  /** Aborts when the server closes. */
  readonly closing: AbortSignal;
  /** The error body of a failed watch (the same as the node's JSON errors). */
  readonly describe: (error: unknown) => { readonly code: string; readonly message: string; readonly retryable: boolean };
  readonly logger?: Logger | undefined;
}

/**
 * Serves one watch stream on `res` until the client goes, the server closes, or the watch fails.
 * Resolves once every resource it took (the store's watch, the heartbeat timer) is released.
 */
export async function serveKeyWatch(res: ServerResponse, context: KeyWatchContext): Promise<void> {
  const { kv, key, heartbeatMs, closing } = context;
  const stop = new AbortController();
  const onClose = (): void => stop.abort();
  res.once('close', onClose);
  const onClosing = (): void => stop.abort();
  closing.addEventListener('abort', onClosing, { once: true });
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    // nginx buffers responses unless told not to; an event held in a buffer is an event late.
    'x-accel-buffering': 'no',
  });
  // The reconnection delay EventSource uses, and a first line so that curl shows the stream is open.
  res.write(`retry: 1000\n${formatComment(`watching ${JSON.stringify(key)}`)}`);
  const heartbeat = setInterval(() => res.write(formatComment('heartbeat')), heartbeatMs);
  let seen = context.since;
  try {
    for await (const entry of kv.watch(key, { signal: stop.signal })) {
      const next = nextWatchEvent(key, entry, seen);
      if (next === undefined) continue;
      seen = next.cursor;
      if (!res.write(next.text)) await drained(res);
      if (res.destroyed) break;
    }
    if (!res.destroyed) res.end();
  } catch (error) {
    if (res.destroyed || stop.signal.aborted) {
      if (!res.destroyed) res.end();
      return;
    }
    const failure = context.describe(error);
    if (failure.code === 'ERR_INTERNAL') context.logger?.error({ err: error, key }, 'caspaxos node: a watch failed');
    res.end(formatEvent({ event: 'error', data: JSON.stringify(failure) }));
  } finally {
    clearInterval(heartbeat);
    res.off('close', onClose);
    closing.removeEventListener('abort', onClosing);
    stop.abort();
  }
}
