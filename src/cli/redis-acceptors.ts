/**
 * `caspaxos node --acceptors redis://...`: acceptors in Redis servers, reached through ioredis,
 * which is an optional peer dependency of this package and so loaded only when a `redis://` or
 * `rediss://` acceptor is configured (a clear error when it is not installed).
 *
 * Each URL gets its own ioredis connection, set to fail fast while its server is down
 * (`enableOfflineQueue: false`, no per-command retries, a `commandTimeout`): the proposer counts
 * such an acceptor as unreachable and carries on with the others, and ioredis reconnects in the
 * background. The Redis servers must run with `appendonly yes` and `appendfsync always`, or an
 * acknowledged promise can be lost in a crash (see `RedisAcceptor`).
 */
import type { Logger } from '../logger.js';
import { RedisAcceptor } from '../redis/redis-acceptor.js';
import { type IoredisLike, fromIoredis } from '../redis/client.js';
import { importOptional } from '../internal/optional-package.js';

/** True for the URLs this module serves. */
export function isRedisUrl(url: string): boolean {
  return /^rediss?:\/\//i.test(url);
}

/** The connection an acceptor holds: what `RedisConnections.close` needs. */
interface Connection extends IoredisLike {
  disconnect(): void;
  on(event: 'error' | 'ready', listener: (error?: Error) => void): unknown;
  once(event: 'ready', listener: () => void): unknown;
  readonly status: string;
}

type IoredisConstructor = new (url: string, options: Record<string, unknown>) => Connection;

/** Opens RedisAcceptors for `redis://` URLs, one connection each, and closes them all. */
export class RedisConnections {
  readonly #Redis: IoredisConstructor;
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  readonly #connections: Connection[] = [];
  /** Each acceptor's connection, by its URL. */
  readonly #byUrl = new Map<string, Connection>();

  /** Loads ioredis; a `MissingPackageError` naming it when it is not installed. */
  static async load(timeoutMs: number, logger: Logger): Promise<RedisConnections> {
    const module = (await importOptional('ioredis', 'caspaxos node --acceptors redis://...', () => import('ioredis'))) as { Redis?: unknown; default?: unknown };
    const Redis = (module.Redis ?? module.default) as IoredisConstructor;
    return new RedisConnections(Redis, timeoutMs, logger);
  }

  private constructor(Redis: IoredisConstructor, timeoutMs: number, logger: Logger) {
    this.#Redis = Redis;
    this.#timeoutMs = timeoutMs;
    this.#logger = logger;
  }

  /** An acceptor in the Redis server at `url` (its address is the URL as given). */
  acceptor(url: string): RedisAcceptor {
    const client = new this.#Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.#timeoutMs,
      connectTimeout: this.#timeoutMs,
      // Reconnect forever, quickly at first: a restarted acceptor should be back within moments.
      retryStrategy: (times: number) => Math.min(50 * times, 1000),
    });
    let down = false;
    client.on('error', (error) => {
      // One record per outage, not one per reconnection attempt.
      if (down) return;
      down = true;
      this.#logger.warn({ acceptor: redacted(url), err: error?.message }, 'redis acceptor unreachable');
    });
    client.on('ready', () => {
      if (down) this.#logger.info({ acceptor: redacted(url) }, 'redis acceptor reachable again');
      down = false;
    });
    this.#connections.push(client);
    this.#byUrl.set(url, client);
    return new RedisAcceptor(url, fromIoredis(client));
  }

  /** True when the acceptor at `url` has a connection ready now. */
  isReady(url: string): boolean {
    return this.#byUrl.get(url)?.status === 'ready';
  }

  /** Waits up to the timeout for every connection to be ready (a server that is down does not hold the start up). */
  async ready(): Promise<void> {
    await Promise.all(
      this.#connections.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.status === 'ready') return resolve();
            const timer = setTimeout(resolve, this.#timeoutMs);
            c.once('ready', () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
  }

  close(): void {
    for (const c of this.#connections) c.disconnect();
  }
}

/** The URL without its password, for logs. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable url)';
  }
}
