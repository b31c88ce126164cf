/**
 * Another node's proposer, reached over its proposer API (see `createNodeServer`): what membership
 * change and garbage collection need from every proposer of the cluster (paper §2.3 and §3.1 act
 * on all of them), so a node can run them across the whole cluster.
 */
import type { Age } from '../core/age.js';
import type { Ballot } from '../core/ballot.js';
import { CASPaxosError, UnavailableError, isErrorCode } from '../errors.js';
import { CLUSTER_HEADER, decodeState } from './wire.js';
import type { Acceptor, Addresser, CallOptions, ConfigurationChanger, FastForwarder, ProposeResult, ReadOptions } from '../roles.js';

/** Options of `RemoteProposer`. */
export interface RemoteProposerOptions {
  /**
   * The cluster's shared secret, sent as `Authorization: Bearer <secret>`.
   * @default undefined (no `Authorization` header)
   */
  readonly secret?: string | undefined;
  /**
   * How long one call may take.
   * @default 30000
   */
  readonly timeoutMs?: number | undefined;
  /**
   * The cluster this node belongs to, sent as `Caspaxos-Cluster` (a node started with a cluster
   * id refuses proposer calls that do not name it).
   * @default undefined (no header)
   */
  readonly clusterId?: string | undefined;
}

/**
 * Another node's proposer, reached over its proposer API (`createNodeServer`): what `growCluster`,
 * `shrinkCluster` and `garbageCollect` need from each proposer of the cluster, since they act on
 * all of them (paper §2.3 and §3.1). Calls that fail reject with the node's `CASPaxosError`
 * (rebuilt from its code) or an `UnavailableError`.
 */
export class RemoteProposer implements ConfigurationChanger, FastForwarder, Addresser {
  /** The node's base URL. */
  readonly address: string;
  readonly #secret: string | undefined;
  readonly #timeoutMs: number;
  readonly #clusterId: string | undefined;

  constructor(url: string, options: RemoteProposerOptions = {}) {
    this.address = url.replace(/\/+$/, '');
    this.#secret = options.secret;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#clusterId = options.clusterId;
  }

  /** The node's `identityRead`: a read that writes nothing when it can; always the full round with `opts.writeBack`. */
  async identityRead(key: string, opts?: ReadOptions): Promise<ProposeResult> {
    return decodeResult(await this.#post('identity-read', opts?.writeBack === true ? { key, writeBack: true } : { key }, opts));
  }

  async fullIdentityRead(key: string, opts?: CallOptions): Promise<ProposeResult> {
    return decodeResult(await this.#post('full-identity-read', { key }, opts));
  }

  async fastForwardIncrement(key: string, ballot: Ballot, opts?: CallOptions): Promise<Age> {
    return ((await this.#post('fast-forward-increment', { key, ballot }, opts)) as { age: Age }).age;
  }

  async addAccepter(target: Acceptor, opts?: CallOptions): Promise<void> {
    await this.#post('add-accepter', { address: target.address }, opts);
  }

  async addPreparer(target: Acceptor, opts?: CallOptions): Promise<void> {
    await this.#post('add-preparer', { address: target.address }, opts);
  }

  async removePreparer(target: Addresser, opts?: CallOptions): Promise<void> {
    await this.#post('remove-preparer', { address: target.address }, opts);
  }

  async removeAccepter(target: Addresser, opts?: CallOptions): Promise<void> {
    await this.#post('remove-accepter', { address: target.address }, opts);
  }

  async *listKeys(opts?: CallOptions): AsyncIterable<string> {
    const response = await this.#fetch('keys', undefined, opts);
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of response.body ?? []) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line !== '') yield JSON.parse(line) as string;
      }
    }
    if (buffered.trim() !== '') throw new UnavailableError(`${this.address}: the key listing ended mid-line`);
  }

  async #post(action: string, body: object, opts: CallOptions | undefined): Promise<unknown> {
    const response = await this.#fetch(action, body, opts);
    return response.json();
  }

  async #fetch(action: string, body: object | undefined, opts: CallOptions | undefined): Promise<Response> {
    const signals = [AbortSignal.timeout(this.#timeoutMs), ...(opts?.signal === undefined ? [] : [opts.signal])];
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#secret !== undefined) headers.authorization = `Bearer ${this.#secret}`;
    if (this.#clusterId !== undefined) headers[CLUSTER_HEADER] = this.#clusterId;
    let response: Response;
    try {
      response = await fetch(`${this.address}/v1/proposer/${action}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.any(signals),
      });
    } catch (error) {
      opts?.signal?.throwIfAborted();
      throw new UnavailableError(`proposer ${this.address} unreachable: ${(error as Error).message}`, { cause: error });
    }
    if (response.ok) return response;
    const failure = (await response.json().catch(() => ({}))) as { code?: unknown; message?: unknown; retryable?: unknown };
    const message = `proposer ${this.address}: ${typeof failure.message === 'string' ? failure.message : `HTTP ${response.status}`}`;
    if (isErrorCode(failure.code)) throw new CASPaxosError(failure.code, message, failure.retryable === true);
    throw new UnavailableError(message);
  }
}

function decodeResult(json: unknown): ProposeResult {
  const { state, ballot } = json as { state: unknown; ballot: Ballot };
  return { state: decodeState(state, 'the state'), ballot };
}
