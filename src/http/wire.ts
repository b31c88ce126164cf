/**
 * The HTTP wire format of the `Acceptor` interface, version 1: one JSON request and reply per
 * method, shared by the server (`createAcceptorServer`) and the client (`HttpAcceptor`).
 *
 * Every method is a `POST` of a JSON object (`Content-Type: application/json`) to `/v1/<method>`;
 * `GET /v1/health` is the one exception. Replies are JSON objects; `watch` streams NDJSON (one JSON
 * object per line). Failures are `{ code, message, retryable }` with a 4xx or 5xx status.
 *
 * Choices, and why:
 * - **JSON with states in base64** (canonical, padded; see `base64.ts`), not a binary framing.
 *   States are arbitrary bytes, so they cannot travel as JSON strings; base64 costs a third more
 *   bytes and a linear pass, which is small beside a round trip and a durable write, and keeps the
 *   whole protocol readable and testable with `curl`. `null` is the empty state.
 * - **Strict decoding.** Every field is typed and range-checked with the same assertions the
 *   acceptors use (`validate.ts`), and **unknown fields are rejected**, not ignored: a field this
 *   version does not know is a request from a different version, and silently dropping it could
 *   drop a promise the sender relies on (as `next` would be). New fields mean a new path version.
 *   Replies are decoded just as strictly by the client: it never resolves with a reply it had to
 *   guess at.
 * - **Conflict.accepted is optional** on the wire, as in the type's documentation: an acceptor that
 *   does not report it must not be made to look as if it did, since a proposer reads it as proof.
 *
 * ## Version 2: batches (`POST /v2/batch`)
 *
 * Everything a proposer sends one acceptor in one event-loop turn travels as one request (see
 * `HttpAcceptor`): `{ "items": [item, ...] }`, each item a v1 request body with an `op` field
 * naming its kind (`"prepare"`, `"accept"`). The reply is `{ "items": [reply, ...] }`, one per
 * item, in order: the v1 reply body of that item, or `{ "error": { code, message, retryable } }`
 * when the acceptor (or the server, e.g. for a key over its limit) refused that item alone. Each
 * item is answered on its own; the server replies once every item's durable write is done, so
 * persist-before-reply holds per item.
 * - **Malformed is all or nothing.** A batch that is not an object with an `items` array of 1 to
 *   `MAX_BATCH_ITEMS` objects, or any item of a known kind that does not decode strictly, gets a
 *   4xx for the whole batch and reaches the acceptor not at all: the fuzz tests rely on it.
 * - **New kinds are additive.** An item whose `op` is a string this server does not know gets the
 *   item error `ERR_UNSUPPORTED_OP` and the other items run: a newer client learns, per item,
 *   that this acceptor needs the older way, without losing the rest of the batch. (A new kind is
 *   a new `op`, with its own encoder and decoder pair below; nothing else changes.)
 * - The v1 endpoints keep working, and a server answers both; a client that finds no `/v2/batch`
 *   (404 `ERR_NO_ROUTE`: nothing was run) sends the items one by one over v1.
 *
 * ## Peeks (`POST /v1/peek`, batch and frame items of `op` `"peek"`)
 *
 * `{ key }` -> `{ type: "peeked", accepted, state }`: what the acceptor accepted, without a
 * promise (see `proposer/fast-read`). Added after v1 and v2 shipped, as the protocol's rules for
 * new kinds intend: an older server answers `/v1/peek` with 404 `ERR_NO_ROUTE` and a peek item
 * with `ERR_UNSUPPORTED_OP`, having run nothing; so does a server whose hosted acceptor has no
 * `peek`. `HttpAcceptor` turns both into `UnsupportedError`, which a proposer reads as "no fast
 * read here" and answers through the full round.
 *
 * ## Version 2: the stream (`GET /v2/stream`, HTTP Upgrade)
 *
 * The same batches over one persistent connection, without HTTP per request: the client sends
 * `GET /v2/stream` with `Connection: Upgrade`, `Upgrade: caspaxos-frames/2` and its bearer token;
 * the server answers `101 Switching Protocols` (or an ordinary JSON error reply: 401, 404 from a
 * server without streams, ...), and from then on both sides write frames, `[u32 length][u32 id]
 * [payload]` (big-endian; see `frames.ts`). A request frame's payload is a batch body, exactly as
 * `POST /v2/batch` takes it; the reply frame, under the same id, is the batch reply, or
 * `{ "error": { code, message, retryable } }` when the frame was refused whole (malformed, over
 * the size limit, the server shutting down: then nothing of it ran). Requests are pipelined: the
 * client sends frames without waiting, and the server answers each as soon as all its items are
 * done, in any order. `bench/framed-experiment.mjs` measured this 2.9x to 3.5x the throughput of
 * batched HTTP/1.1 requests, at a third of the CPU per proposal, which is why clients prefer it.
 *
 * ## Identity
 *
 * An acceptor served with an identity (every `caspaxos acceptor`: its data directory records one,
 * see `lmdb/data-directory.ts`) belongs to a cluster and is one *incarnation* of the acceptor at its
 * address: a directory initialised again gets a new one. Every request but `/v1/health` and
 * `/v1/identity` must carry `Caspaxos-Cluster: <cluster id>`, and may carry `Caspaxos-Incarnation:
 * <incarnation>`; a request naming another cluster, none, or another incarnation gets 421
 * (`ERR_WRONG_CLUSTER`, `ERR_WRONG_INCARNATION`) and changes nothing. Every reply carries the
 * acceptor's own two headers, which a client that knows its cluster checks too (so an acceptor
 * that does not check, such as one of an earlier release, is still not counted). `GET
 * /v1/identity` (authenticated) answers the identity and the server's limits, which is how a
 * proposer learns the incarnation of a member it adds, and the body size its requests must fit.
 *
 * ## Ballot limit
 *
 * Every ballot a request carries (prepare, accept, `next`, the ancestry, a tombstone) has a
 * counter of at most `MAX_BALLOT_COUNTER` (2^48); a higher one is refused (400): one request must
 * not push a key's promise to where counters cannot grow.
 */
import { ANCESTRY_LIMIT } from '../core/ancestry.js';
import type { Age } from '../core/age.js';
import type { Ballot } from '../core/ballot.js';
import type { AcceptReply, AcceptedState, Conflict, PeekReply, PrepareReply, RemoveReply, State, Tombstone } from '../core/messages.js';
import { InvalidArgumentError } from '../errors.js';
import { assertAge, assertBallot, assertKey, assertRequestBallot } from '../internal/validate.js';
import { decodeBase64, encodeBase64 } from '../internal/base64.js';

/** The path of each endpoint. */
export const PATHS = {
  health: '/v1/health',
  identity: '/v1/identity',
  prepare: '/v1/prepare',
  peek: '/v1/peek',
  accept: '/v1/accept',
  rejectByAge: '/v1/reject-by-age',
  removeIfEqual: '/v1/remove-if-equal',
  listKeys: '/v1/list-keys',
  listKeysClose: '/v1/list-keys/close',
  watch: '/v1/watch',
  batch: '/v2/batch',
  stream: '/v2/stream',
} as const;

/**
 * The request header naming the cluster the sender belongs to, and the reply header naming the
 * acceptor's (see "Identity" in the module comment).
 */
export const CLUSTER_HEADER = 'caspaxos-cluster';
/** The request header naming the acceptor incarnation the sender expects; the reply header naming the acceptor's own. */
export const INCARNATION_HEADER = 'caspaxos-incarnation';

/** Who an acceptor is: its cluster and its incarnation (see "Identity" in the module comment). */
export interface AcceptorIdentity {
  /** The cluster the acceptor belongs to, chosen by the operator, shared by every member. */
  readonly clusterId: string;
  /** Random and fresh at every initialisation of its data directory: tells it from any earlier acceptor at its address. */
  readonly incarnation: string;
}

/** What `GET /v1/identity` answers: the identity (null for an acceptor without one) and the server's limits. */
export interface IdentityReply {
  /** The acceptor's identity; null for one served without (a library `createAcceptorServer` call without `identity`). */
  readonly identity: AcceptorIdentity | null;
  /** The largest request body (a v1 request, a batch, a stream frame's payload) the server reads. */
  readonly maxBodyBytes: number;
  /** The longest key it accepts, in UTF-8 bytes. */
  readonly maxKeyBytes: number;
}

/**
 * Checks a shared secret, for servers and clients alike: a non-empty string of visible ASCII
 * (`!` to `~`). It travels as `Authorization: Bearer <secret>` (RFC 6750), where whitespace ends
 * the token and characters beyond Latin-1 cannot be sent at all: a secret with either was accepted
 * by the server and then refused every request, so it is refused when given.
 */
export function checkSecret(secret: unknown): string {
  if (typeof secret !== 'string' || secret === '') throw new InvalidArgumentError('secret must be a non-empty string');
  if (!/^[\x21-\x7e]+$/.test(secret)) throw new InvalidArgumentError('secret must be visible ASCII characters (no spaces, no control characters): it is sent as an HTTP bearer token');
  return secret;
}

/** True for a valid cluster id: 1 to 64 letters, digits, `.`, `_` or `-`, starting with a letter or digit. */
export function isClusterId(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(value);
}

/** True for a valid incarnation: 8 to 64 characters of base64url. */
export function isIncarnation(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{8,64}$/.test(value);
}

export function encodeIdentityReply(r: IdentityReply): object {
  return {
    cluster: r.identity?.clusterId ?? null,
    incarnation: r.identity?.incarnation ?? null,
    maxBodyBytes: r.maxBodyBytes,
    maxKeyBytes: r.maxKeyBytes,
  };
}

export function decodeIdentityReply(json: unknown): IdentityReply {
  const f = fields(json, 'identity reply', ['cluster', 'incarnation', 'maxBodyBytes', 'maxKeyBytes']);
  const maxBodyBytes = integer(f.maxBodyBytes, 'maxBodyBytes', 1, Number.MAX_SAFE_INTEGER);
  const maxKeyBytes = integer(f.maxKeyBytes, 'maxKeyBytes', 1, Number.MAX_SAFE_INTEGER);
  if (f.cluster === null && f.incarnation === null) return { identity: null, maxBodyBytes, maxKeyBytes };
  if (!isClusterId(f.cluster) || !isIncarnation(f.incarnation)) throw new InvalidArgumentError('identity reply holds a malformed cluster id or incarnation');
  return { identity: { clusterId: f.cluster, incarnation: f.incarnation }, maxBodyBytes, maxKeyBytes };
}

/** The `Upgrade` token of the acceptor stream. */
export const STREAM_PROTOCOL = 'caspaxos-frames/2';

/** The most items one batch may carry. */
export const MAX_BATCH_ITEMS = 1024;

/** What `GET /v1/health` answers. */
export const HEALTH_REPLY = Object.freeze({ status: 'ok', protocol: 'caspaxos-http/1' });

/** The media type of request and reply bodies. */
export const JSON_TYPE = 'application/json';
/** The media type of a watch stream: newline-delimited JSON. */
export const NDJSON_TYPE = 'application/x-ndjson';

/** The most keys one `listKeys` page may ask for. */
export const MAX_LIST_LIMIT = 10_000;
/** The page size a client asks for unless told otherwise. */
export const DEFAULT_LIST_LIMIT = 256;
/** The longest list cursor a server may hand out (they are opaque tokens). */
export const MAX_CURSOR_LENGTH = 128;
/** The largest watch `bufferSize` a request may ask for. */
export const MAX_WATCH_BUFFER = 65_536;

// ---------------------------------------------------------------------------------------------
// Requests

export interface PrepareRequest {
  readonly key: string;
  readonly age: Age;
  readonly ballot: Ballot;
}

export interface PeekRequest {
  readonly key: string;
}

export interface AcceptRequest {
  readonly key: string;
  readonly age: Age;
  readonly ballot: Ballot;
  readonly state: State;
  readonly next?: Ballot | undefined;
  readonly ancestry?: readonly Ballot[] | undefined;
}

export interface RejectByAgeRequest {
  readonly ages: readonly Age[];
}

export interface RemoveIfEqualRequest {
  readonly key: string;
  readonly tombstone: Tombstone;
}

/**
 * One page of a listing. The first page has no cursor; each later one names the cursor the
 * previous page returned and its own number (`page`, counting from 0), which makes a page request
 * idempotent: asking for the page just served again gets the same keys (see the server).
 */
export interface ListKeysRequest {
  readonly cursor?: string | undefined;
  readonly page: number;
  readonly limit: number;
}

export interface ListKeysCloseRequest {
  readonly cursor: string;
}

export interface WatchRequest {
  readonly key: string;
  readonly bufferSize?: number | undefined;
}

/** A page of keys; `cursor` is `null` after the last page. */
export interface ListKeysPage {
  readonly keys: readonly string[];
  readonly cursor: string | null;
}

/** One line of a watch stream. The stream ends with an `end` or `error` line; anything else is a cut. */
export type WatchLine =
  | { readonly type: 'state'; readonly ballot: Ballot; readonly state: State }
  | { readonly type: 'end' }
  | ({ readonly type: 'error' } & WireError);

/** The body of every 4xx and 5xx reply. */
export interface WireError {
  /** A `CASPaxosError` code when the acceptor threw one, else one of `HttpErrorCode`. */
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

/** Codes of failures the transport itself reports (the acceptor was not asked). */
export type HttpErrorCode =
  | 'ERR_UNAUTHORIZED'
  | 'ERR_NO_ROUTE'
  | 'ERR_METHOD_NOT_ALLOWED'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_BODY_TOO_LARGE'
  | 'ERR_CURSOR_UNKNOWN'
  | 'ERR_CURSOR_BUSY'
  | 'ERR_TOO_MANY_CURSORS'
  | 'ERR_SHUTTING_DOWN'
  | 'ERR_TIMEOUT'
  | 'ERR_UNSUPPORTED_OP'
  | 'ERR_UPGRADE_REQUIRED'
  | 'ERR_WRONG_CLUSTER'
  | 'ERR_WRONG_INCARNATION'
  | 'ERR_INTERNAL';

/** Parses a JSON body; `InvalidArgumentError` when it is not JSON. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidArgumentError(`${what} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function encodePrepareRequest(r: PrepareRequest): object {
  return { key: r.key, age: age(r.age), ballot: ballot(r.ballot) };
}

export function decodePrepareRequest(json: unknown): PrepareRequest {
  const f = fields(json, 'prepare request', ['key', 'age', 'ballot']);
  assertKey(f.key);
  assertAge(f.age);
  assertRequestBallot(f.ballot);
  return { key: f.key, age: age(f.age), ballot: ballot(f.ballot) };
}

export function encodePeekRequest(r: PeekRequest): object {
  return { key: r.key };
}

export function decodePeekRequest(json: unknown): PeekRequest {
  const f = fields(json, 'peek request', ['key']);
  assertKey(f.key);
  return { key: f.key };
}

export function encodeAcceptRequest(r: AcceptRequest): object {
  return {
    key: r.key,
    age: age(r.age),
    ballot: ballot(r.ballot),
    state: encodeState(r.state),
    ...(r.next === undefined ? {} : { next: ballot(r.next) }),
    ...(r.ancestry === undefined ? {} : { ancestry: r.ancestry.map(ballot) }),
  };
}

export function decodeAcceptRequest(json: unknown): AcceptRequest {
  const f = fields(json, 'accept request', ['key', 'age', 'ballot', 'state'], ['next', 'ancestry']);
  assertKey(f.key);
  assertAge(f.age);
  assertRequestBallot(f.ballot);
  const request: { -readonly [K in keyof AcceptRequest]: AcceptRequest[K] } = {
    key: f.key,
    age: age(f.age),
    ballot: ballot(f.ballot),
    state: decodeState(f.state, 'state'),
  };
  if ('next' in f) {
    assertRequestBallot(f.next, 'next');
    request.next = ballot(f.next);
  }
  if ('ancestry' in f) request.ancestry = decodeBallots(f.ancestry, 'ancestry', ANCESTRY_LIMIT + 1, assertRequestBallot);
  return request;
}

export function encodeRejectByAgeRequest(r: RejectByAgeRequest): object {
  return { ages: r.ages.map(age) };
}

export function decodeRejectByAgeRequest(json: unknown): RejectByAgeRequest {
  const f = fields(json, 'reject-by-age request', ['ages']);
  if (!Array.isArray(f.ages)) throw new InvalidArgumentError('ages must be an array');
  return {
    ages: f.ages.map((a: unknown, i) => {
      assertAge(a, `ages[${i}]`);
      return age(a);
    }),
  };
}

export function encodeRemoveIfEqualRequest(r: RemoveIfEqualRequest): object {
  return { key: r.key, tombstone: { ballot: ballot(r.tombstone.ballot), state: encodeState(r.tombstone.state) } };
}

export function decodeRemoveIfEqualRequest(json: unknown): RemoveIfEqualRequest {
  const f = fields(json, 'remove-if-equal request', ['key', 'tombstone']);
  assertKey(f.key);
  const t = fields(f.tombstone, 'tombstone', ['ballot', 'state']);
  assertRequestBallot(t.ballot, 'tombstone.ballot');
  return { key: f.key, tombstone: { ballot: ballot(t.ballot), state: decodeState(t.state, 'tombstone.state') } };
}

export function encodeListKeysRequest(r: ListKeysRequest): object {
  return { ...(r.cursor === undefined ? {} : { cursor: r.cursor }), page: r.page, limit: r.limit };
}

export function decodeListKeysRequest(json: unknown): ListKeysRequest {
  const f = fields(json, 'list-keys request', ['page', 'limit'], ['cursor']);
  const page = integer(f.page, 'page', 0, Number.MAX_SAFE_INTEGER);
  const limit = integer(f.limit, 'limit', 1, MAX_LIST_LIMIT);
  if (!('cursor' in f)) {
    if (page !== 0) throw new InvalidArgumentError('a listing without a cursor starts at page 0');
    return { page, limit };
  }
  if (page === 0) throw new InvalidArgumentError('page 0 is requested without a cursor');
  return { cursor: cursor(f.cursor), page, limit };
}

export function encodeListKeysCloseRequest(r: ListKeysCloseRequest): object {
  return { cursor: r.cursor };
}

export function decodeListKeysCloseRequest(json: unknown): ListKeysCloseRequest {
  const f = fields(json, 'list-keys close request', ['cursor']);
  return { cursor: cursor(f.cursor) };
}

export function encodeWatchRequest(r: WatchRequest): object {
  return { key: r.key, ...(r.bufferSize === undefined ? {} : { bufferSize: r.bufferSize }) };
}

export function decodeWatchRequest(json: unknown): WatchRequest {
  const f = fields(json, 'watch request', ['key'], ['bufferSize']);
  assertKey(f.key);
  if (!('bufferSize' in f)) return { key: f.key };
  return { key: f.key, bufferSize: integer(f.bufferSize, 'bufferSize', 1, MAX_WATCH_BUFFER) };
}

// ---------------------------------------------------------------------------------------------
// Batches (v2)

/** The kinds of request a batch carries. */
export type BatchOp = 'prepare' | 'accept' | 'peek';

/** One item of a batch, decoded. */
export type BatchItem = ({ readonly op: 'prepare' } & PrepareRequest) | ({ readonly op: 'accept' } & AcceptRequest) | ({ readonly op: 'peek' } & PeekRequest);

/** An item of a kind this server does not know: answered with `ERR_UNSUPPORTED_OP`, not run. */
export interface UnsupportedItem {
  readonly op: string;
  readonly unsupported: true;
}

/** One item of a batch reply: the v1 reply body, or the item's own failure. */
export type BatchItemReply = { readonly ok: object } | { readonly error: WireError };

/** One item's JSON text: the encoded request (`encodePrepareRequest`'s or `encodeAcceptRequest`'s object) with its kind. */
export function encodeBatchItem(op: BatchOp, encoded: object): string {
  return JSON.stringify({ op, ...encoded });
}

/** A batch body from its items' JSON texts (`encodeBatchItem`). */
export function encodeBatchRequest(items: readonly string[]): string {
  return `{"items":[${items.join(',')}]}`;
}

/** Decodes a batch strictly (see the module comment); `InvalidArgumentError` for the whole batch. */
export function decodeBatchRequest(json: unknown): Array<BatchItem | UnsupportedItem> {
  const f = fields(json, 'batch', ['items']);
  if (!Array.isArray(f.items) || f.items.length === 0 || f.items.length > MAX_BATCH_ITEMS) {
    throw new InvalidArgumentError(`batch items must be an array of 1 to ${MAX_BATCH_ITEMS} requests`);
  }
  return f.items.map((item: unknown, i): BatchItem | UnsupportedItem => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new InvalidArgumentError(`batch item ${i} must be a JSON object`);
    const { op, ...request } = item as Record<string, unknown>;
    if (typeof op !== 'string') throw new InvalidArgumentError(`batch item ${i} lacks its op`);
    try {
      if (op === 'prepare') return { op, ...decodePrepareRequest(request) };
      if (op === 'accept') return { op, ...decodeAcceptRequest(request) };
      if (op === 'peek') return { op, ...decodePeekRequest(request) };
    } catch (error) {
      throw new InvalidArgumentError(`batch item ${i} (${op}): ${error instanceof Error ? error.message : String(error)}`);
    }
    if (op.length > 64) throw new InvalidArgumentError(`batch item ${i}: op is longer than 64 characters`);
    return { op, unsupported: true };
  });
}

/** A batch reply body from one reply per item. */
export function encodeBatchReply(items: readonly BatchItemReply[]): string {
  return `{"items":[${items.map((item) => JSON.stringify('ok' in item ? item.ok : { error: item.error })).join(',')}]}`;
}

/**
 * Splits a batch reply into one JSON value per item (checked against the number of items sent);
 * each is decoded by its item's own decoder, or is `{ error }`. `InvalidArgumentError` when the
 * reply is not a batch reply of `count` items.
 */
export function decodeBatchReply(json: unknown, count: number): unknown[] {
  const f = fields(json, 'batch reply', ['items']);
  if (!Array.isArray(f.items) || f.items.length !== count) throw new InvalidArgumentError(`batch reply must hold ${count} items`);
  return f.items as unknown[];
}

/** A stream reply frame refused whole: `{ error }`, nothing of it ran. */
export function encodeFrameError(error: WireError): string {
  return JSON.stringify({ error });
}

/** The item's failure when `json` is `{ error: {...} }`, else `undefined` (a reply to decode). */
export function batchItemError(json: unknown): WireError | undefined {
  if (typeof json !== 'object' || json === null || !Object.hasOwn(json, 'error')) return undefined;
  return decodeWireError(fields(json, 'batch item error', ['error']).error);
}

// ---------------------------------------------------------------------------------------------
// Replies. Encoders copy the fields they know (a hosted acceptor's extra properties never leak)
// and throw on a reply that breaks the types, which the server answers with a 500.

export function encodePrepareReply(r: PrepareReply): object {
  switch (r.type) {
    case 'promised':
      return {
        type: 'promised',
        accepted: checkedBallot(r.accepted, 'promised.accepted'),
        state: encodeState(r.state),
        ...(r.ancestry === undefined ? {} : { ancestry: r.ancestry.map((b) => checkedBallot(b, 'promised.ancestry')) }),
      };
    case 'conflict':
      return encodeConflict(r);
    case 'age':
      return encodeAgeRejection(r.required);
    default:
      throw new TypeError(`the acceptor answered prepare with an unknown reply type ${JSON.stringify((r as { type?: unknown }).type)}`);
  }
}

export function decodePrepareReply(json: unknown): PrepareReply {
  const type = replyType(json, 'prepare reply');
  switch (type) {
    case 'promised': {
      const f = fields(json, 'promised reply', ['type', 'accepted', 'state'], ['ancestry']);
      assertBallot(f.accepted, 'promised.accepted');
      const state = decodeState(f.state, 'promised.state');
      if (!('ancestry' in f)) return { type: 'promised', accepted: ballot(f.accepted), state };
      return { type: 'promised', accepted: ballot(f.accepted), state, ancestry: decodeBallots(f.ancestry, 'promised.ancestry', ANCESTRY_LIMIT + 1) };
    }
    case 'conflict':
      return decodeConflict(json);
    case 'age':
      return decodeAgeRejection(json);
    default:
      throw new InvalidArgumentError(`prepare reply has an unknown type ${JSON.stringify(type)}`);
  }
}

export function encodePeekReply(r: PeekReply): object {
  if (r.type !== 'peeked') throw new TypeError(`the acceptor answered peek with an unknown reply type ${JSON.stringify((r as { type?: unknown }).type)}`);
  return { type: 'peeked', accepted: checkedBallot(r.accepted, 'peeked.accepted'), state: encodeState(r.state) };
}

export function decodePeekReply(json: unknown): PeekReply {
  const type = replyType(json, 'peek reply');
  if (type !== 'peeked') throw new InvalidArgumentError(`peek reply has an unknown type ${JSON.stringify(type)}`);
  const f = fields(json, 'peeked reply', ['type', 'accepted', 'state']);
  assertBallot(f.accepted, 'peeked.accepted');
  return { type: 'peeked', accepted: ballot(f.accepted), state: decodeState(f.state, 'peeked.state') };
}

export function encodeAcceptReply(r: AcceptReply): object {
  switch (r.type) {
    case 'accepted':
      return r.promised === undefined ? { type: 'accepted' } : { type: 'accepted', promised: checkedBallot(r.promised, 'accepted.promised') };
    case 'conflict':
      return encodeConflict(r);
    case 'age':
      return encodeAgeRejection(r.required);
    default:
      throw new TypeError(`the acceptor answered accept with an unknown reply type ${JSON.stringify((r as { type?: unknown }).type)}`);
  }
}

export function decodeAcceptReply(json: unknown): AcceptReply {
  const type = replyType(json, 'accept reply');
  switch (type) {
    case 'accepted': {
      const f = fields(json, 'accepted reply', ['type'], ['promised']);
      if (!('promised' in f)) return { type: 'accepted' };
      assertBallot(f.promised, 'accepted.promised');
      return { type: 'accepted', promised: ballot(f.promised) };
    }
    case 'conflict':
      return decodeConflict(json);
    case 'age':
      return decodeAgeRejection(json);
    default:
      throw new InvalidArgumentError(`accept reply has an unknown type ${JSON.stringify(type)}`);
  }
}

export function encodeRemoveReply(r: RemoveReply): object {
  switch (r.type) {
    case 'removed':
    case 'absent':
      return { type: r.type };
    case 'not-equal':
      return { type: 'not-equal', accepted: checkedBallot(r.accepted, 'not-equal.accepted') };
    default:
      throw new TypeError(`the acceptor answered removeIfEqual with an unknown reply type ${JSON.stringify((r as { type?: unknown }).type)}`);
  }
}

export function decodeRemoveReply(json: unknown): RemoveReply {
  const type = replyType(json, 'remove reply');
  switch (type) {
    case 'removed':
    case 'absent':
      fields(json, `${type} reply`, ['type']);
      return { type };
    case 'not-equal': {
      const f = fields(json, 'not-equal reply', ['type', 'accepted']);
      assertBallot(f.accepted, 'not-equal.accepted');
      return { type: 'not-equal', accepted: ballot(f.accepted) };
    }
    default:
      throw new InvalidArgumentError(`remove reply has an unknown type ${JSON.stringify(type)}`);
  }
}

/** `rejectByAge` resolves with nothing: its reply is an empty object. */
export function decodeEmptyReply(json: unknown, what: string): void {
  fields(json, what, []);
}

export function encodeListKeysPage(p: ListKeysPage): object {
  return { keys: [...p.keys], cursor: p.cursor };
}

export function decodeListKeysPage(json: unknown, limit: number): ListKeysPage {
  const f = fields(json, 'list-keys page', ['keys', 'cursor']);
  if (!Array.isArray(f.keys) || f.keys.length > limit) throw new InvalidArgumentError(`list-keys page must hold an array of at most ${limit} keys`);
  f.keys.forEach((k: unknown) => assertKey(k));
  return { keys: f.keys as string[], cursor: f.cursor === null ? null : cursor(f.cursor) };
}

export function encodeWatchLine(line: WatchLine): string {
  switch (line.type) {
    case 'state':
      return JSON.stringify({ type: 'state', ballot: checkedBallot(line.ballot, 'watch ballot'), state: encodeState(line.state) });
    case 'end':
      return JSON.stringify({ type: 'end' });
    case 'error':
      return JSON.stringify({ type: 'error', code: line.code, message: line.message, retryable: line.retryable });
  }
}

export function decodeWatchLine(json: unknown): WatchLine {
  const type = replyType(json, 'watch line');
  switch (type) {
    case 'state': {
      const f = fields(json, 'watch state line', ['type', 'ballot', 'state']);
      assertBallot(f.ballot, 'watch ballot');
      return { type: 'state', ballot: ballot(f.ballot), state: decodeState(f.state, 'watch state') };
    }
    case 'end':
      fields(json, 'watch end line', ['type']);
      return { type: 'end' };
    case 'error': {
      const f = fields(json, 'watch error line', ['type', 'code', 'message', 'retryable']);
      return { type: 'error', ...decodeWireError({ code: f.code, message: f.message, retryable: f.retryable }) };
    }
    default:
      throw new InvalidArgumentError(`watch line has an unknown type ${JSON.stringify(type)}`);
  }
}

/** A watch line's state, as an `AcceptedState`. */
export function acceptedState(line: Extract<WatchLine, { type: 'state' }>): AcceptedState {
  return { ballot: line.ballot, state: line.state };
}

export function decodeWireError(json: unknown): WireError {
  const f = fields(json, 'error reply', ['code', 'message', 'retryable']);
  if (typeof f.code !== 'string' || !/^ERR_[A-Z_]{1,60}$/.test(f.code)) throw new InvalidArgumentError('error code must be an ERR_ string');
  if (typeof f.message !== 'string') throw new InvalidArgumentError('error message must be a string');
  if (typeof f.retryable !== 'boolean') throw new InvalidArgumentError('error retryable must be a boolean');
  return { code: f.code, message: f.message, retryable: f.retryable };
}

// ---------------------------------------------------------------------------------------------
// Pieces

/** The number of bytes `key` takes in UTF-8 (a lone surrogate counts as the 3 bytes of U+FFFD). */
export function utf8Length(key: string): number {
  let n = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < key.length && (key.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** A state on the wire: canonical padded base64, `null` for the empty state. */
export function encodeState(state: State): string | null {
  if (state === null) return null;
  if (!(state instanceof Uint8Array)) throw new TypeError('a state must be a Uint8Array or null');
  return encodeBase64(state);
}

/** A state from the wire, strictly (see `encodeState`); `InvalidArgumentError` otherwise. */
export function decodeState(value: unknown, what: string): State {
  if (value === null) return null;
  if (typeof value !== 'string') throw new InvalidArgumentError(`${what} must be a base64 string or null`);
  const bytes = decodeBase64(value);
  if (bytes === undefined) throw new InvalidArgumentError(`${what} is not canonical base64 (RFC 4648, padded)`);
  return bytes;
}

function encodeConflict(c: Conflict): object {
  if (c.kind !== 'promise' && c.kind !== 'accepted') throw new TypeError(`conflict kind must be 'promise' or 'accepted'`);
  return {
    type: 'conflict',
    ballot: checkedBallot(c.ballot, 'conflict.ballot'),
    kind: c.kind,
    // Optional on purpose (see the module comment): absent stays absent.
    ...(c.accepted === undefined ? {} : { accepted: checkedBallot(c.accepted, 'conflict.accepted') }),
  };
}

function decodeConflict(json: unknown): Conflict {
  const f = fields(json, 'conflict reply', ['type', 'ballot', 'kind'], ['accepted']);
  assertBallot(f.ballot, 'conflict.ballot');
  if (f.kind !== 'promise' && f.kind !== 'accepted') throw new InvalidArgumentError(`conflict.kind must be 'promise' or 'accepted'`);
  if (!('accepted' in f)) return { type: 'conflict', ballot: ballot(f.ballot), kind: f.kind } as Conflict;
  assertBallot(f.accepted, 'conflict.accepted');
  return { type: 'conflict', ballot: ballot(f.ballot), kind: f.kind, accepted: ballot(f.accepted) };
}

function encodeAgeRejection(required: Age): object {
  assertAge(required, 'age.required');
  return { type: 'age', required: age(required) };
}

function decodeAgeRejection(json: unknown): { type: 'age'; required: Age } {
  const f = fields(json, 'age reply', ['type', 'required']);
  assertAge(f.required, 'age.required');
  return { type: 'age', required: age(f.required) };
}

function decodeBallots(value: unknown, what: string, max: number, check: typeof assertBallot = assertBallot): Ballot[] {
  if (!Array.isArray(value) || value.length > max) throw new InvalidArgumentError(`${what} must be an array of at most ${max} ballots`);
  return value.map((b: unknown, i) => {
    check(b, `${what}[${i}]`);
    return ballot(b);
  });
}

function checkedBallot(b: Ballot, what: string): Ballot {
  assertBallot(b, what);
  return ballot(b);
}

/** A copy with exactly the two fields (the input may be a parsed object with more). */
function ballot(b: Ballot): Ballot {
  return { counter: b.counter, id: b.id };
}

function age(a: Age): Age {
  return { counter: a.counter, id: a.id };
}

function cursor(value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.length > MAX_CURSOR_LENGTH) {
    throw new InvalidArgumentError(`cursor must be a non-empty string of at most ${MAX_CURSOR_LENGTH} characters`);
  }
  return value;
}

function integer(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}, got ${JSON.stringify(value) ?? typeof value}`);
  }
  return value;
}

function replyType(json: unknown, what: string): unknown {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InvalidArgumentError(`${what} must be a JSON object`);
  return (json as { type?: unknown }).type;
}

/**
 * The own fields of a JSON object that has every `required` field and nothing outside `required`
 * and `optional` (an unknown field is an error, see the module comment).
 */
function fields(value: unknown, what: string, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError(`${what} must be a JSON object`);
  const record = value as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    if (!required.includes(name) && !optional.includes(name)) throw new InvalidArgumentError(`${what} has an unknown field ${JSON.stringify(name)}`);
  }
  for (const name of required) {
    if (!Object.hasOwn(record, name) || record[name] === undefined) throw new InvalidArgumentError(`${what} lacks the field ${JSON.stringify(name)}`);
  }
  // `in` checks below must see own fields only.
  return Object.setPrototypeOf({ ...record }, null) as Record<string, unknown>;
}
