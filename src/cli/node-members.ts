/**
 * The acceptors a node knows: one client per member address, what each accepts, and whether it
 * answers now.
 *
 * A member address names an acceptor and, for a `caspaxos acceptor`, its incarnation
 * (`http://host:port#<incarnation>`, see `HttpAcceptor`): the client sends the incarnation with
 * every request and refuses a reply from any other, so a data directory initialised anew at the
 * same URL is a different member, never counted in place of the old one. A URL without an
 * incarnation (what an operator types to grow the cluster) is resolved by asking the acceptor
 * there who it is (`GET /v1/identity`), which must be a member of this node's cluster.
 */
import { HttpAcceptor } from '../http/acceptor-client.js';
import { utf8Length } from '../http/wire.js';
import { InvalidArgumentError, UnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Acceptor } from '../roles.js';
import { type RedisConnections, isRedisUrl } from './redis-acceptors.js';
import { urlOf } from './membership-state.js';

/**
 * Bytes of an accept request besides its key and its state: age, ballot, `next` and the longest
 * ancestry (33 ballots), with proposer ids of up to 100 characters. The node's value limit keeps
 * this much of the acceptors' body limit free.
 */
export const ACCEPT_OVERHEAD_BYTES = 8192;
/** Bytes the key-value store adds to a value (its record header, 23 bytes, rounded up). */
export const KV_RECORD_RESERVE = 64;
/** The acceptor server's default body limit, assumed for a member whose own is not known yet. */
export const DEFAULT_BODY_LIMIT = 1 << 20;

/**
 * The largest JSON value (in UTF-8 bytes) a node can write under `key` to acceptors that read
 * bodies of at most `bodyLimit` bytes: the accept request carries the key (JSON-escaped), the
 * state in base64 (4 bytes per 3), the store's header and the request's other fields.
 */
export function valueLimit(bodyLimit: number, key: string): number {
  const room = bodyLimit - ACCEPT_OVERHEAD_BYTES - utf8Length(JSON.stringify(key));
  return Math.max(0, Math.floor(room / 4) * 3 - KV_RECORD_RESERVE);
}

/** Options of `Members`. */
export interface MembersOptions {
  readonly clusterId: string;
  readonly secret: string | undefined;
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly fetch: typeof fetch;
  readonly redis: RedisConnections | undefined;
  /** Known body limits by member address (from the state file). */
  readonly limits: Readonly<Record<string, number>>;
}

export class Members {
  readonly #options: MembersOptions;
  readonly #clients = new Map<string, Acceptor>();
  /** Body limits of HTTP members, by address. */
  readonly limits: Map<string, number>;

  constructor(options: MembersOptions) {
    this.#options = options;
    this.limits = new Map(Object.entries(options.limits));
  }

  /** The client for a member address (or a bare URL: then a client that names no incarnation). */
  acceptorAt = (address: string): Acceptor => {
    const { redis, secret, timeoutMs, logger, fetch, clusterId } = this.#options;
    const key = isRedisUrl(address) ? address : new HttpAcceptor(address, { clusterId }).address;
    const known = this.#clients.get(key);
    if (known !== undefined) return known;
    let created: Acceptor;
    if (isRedisUrl(address)) {
      if (redis === undefined) throw new InvalidArgumentError(`${address}: redis:// acceptors can be added only to a node started with redis:// acceptors`);
      created = redis.acceptor(address);
    } else created = new HttpAcceptor(address, { clusterId, secret, timeoutMs, logger, fetch });
    this.#clients.set(created.address, created);
    return created;
  };

  /**
   * The member address of the acceptor at `url`: a `redis://` URL as it is; for an HTTP URL, the
   * URL and the incarnation the acceptor there reports, which must belong to this cluster
   * (`InvalidArgumentError` otherwise; `UnavailableError` when it does not answer). Remembers its
   * body limit. An address that already names an incarnation is checked against the
   * acceptor (it must still be that incarnation).
   */
  async resolve(url: string, signal?: AbortSignal): Promise<string> {
    if (isRedisUrl(url)) return url;
    const { secret, timeoutMs, fetch, clusterId } = this.#options;
    const bare = new HttpAcceptor(urlOf(url), { secret, timeoutMs, fetch });
    const { identity, maxBodyBytes } = await bare.identify(signal === undefined ? {} : { signal });
    // Verdicts (no identity, another cluster, another incarnation) are InvalidArgumentError: asking
    // again will not change them. An acceptor that does not answer is UnavailableError.
    if (identity === null) {
      throw new InvalidArgumentError(`${bare.url} has no acceptor identity (an earlier release? adopt its data directory with 'caspaxos acceptor --adopt')`);
    }
    if (identity.clusterId !== clusterId) throw new InvalidArgumentError(`${bare.url} belongs to cluster ${JSON.stringify(identity.clusterId)}, not ${JSON.stringify(clusterId)}`);
    const address = `${bare.url}#${identity.incarnation}`;
    if (url !== bare.url && new HttpAcceptor(url, { clusterId }).address !== address) {
      throw new InvalidArgumentError(`${url}: the acceptor there is now incarnation ${identity.incarnation}`);
    }
    this.limits.set(address, maxBodyBytes);
    return address;
  }

  /** Resolves when the member at `address` answers as itself now; rejects with why not. */
  probe = async (address: string, signal: AbortSignal): Promise<void> => {
    if (isRedisUrl(address)) {
      if (this.#options.redis?.isReady(address) !== true) throw new UnavailableError(`${address}: not connected`);
      return;
    }
    const client = this.acceptorAt(address);
    if (!(client instanceof HttpAcceptor)) return;
    const { maxBodyBytes } = await client.identify({ signal });
    this.limits.set(address, maxBodyBytes);
  };

  /** The largest value `key` may hold with these members: the smallest body limit among them, known or assumed. */
  maxValueBytes(members: Iterable<string>, key: string): number {
    let smallest = Number.POSITIVE_INFINITY;
    for (const address of members) {
      if (isRedisUrl(address)) continue;
      smallest = Math.min(smallest, this.limits.get(address) ?? DEFAULT_BODY_LIMIT);
    }
    return smallest === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : valueLimit(smallest, key);
  }

  /** The known limits of `members`, for the state file. */
  limitsOf(members: Iterable<string>): Record<string, number> {
    const table: Record<string, number> = {};
    for (const address of members) {
      const limit = this.limits.get(address);
      if (limit !== undefined) table[address] = limit;
    }
    return table;
  }
}
