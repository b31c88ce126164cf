/**
 * The little `RedisAcceptor` needs from a Redis client: run a Lua script, by SHA-1 or by source,
 * with binary keys and arguments, and get bulk strings back as bytes. `fromIoredis` and
 * `fromNodeRedis` adapt the two common clients; both are typed structurally, so this subpath
 * imports neither package (and loads without either installed).
 *
 * The adapters hand the clients `Buffer`s, which both require for binary arguments; they find
 * `Buffer` on `globalThis` rather than importing `node:buffer`, so this entry still bundles for a
 * browser, and `Buffer` is there wherever those clients run.
 */

/** A key or an argument of a script: text, or raw bytes. */
export type RedisArgument = string | Uint8Array;

/**
 * A Redis client that can run Lua scripts. Bulk-string replies (nested in arrays too) must come
 * back as bytes (`Uint8Array`, `Buffer` included), never decoded as text, since states are binary;
 * a nil reply as `null`; an integer reply as a number.
 */
export interface RedisClientLike {
  /** `EVALSHA sha1 numkeys key... arg...`: rejects with an error whose message starts with `NOSCRIPT` when the server lacks the script. */
  evalsha(sha1: string, keys: readonly RedisArgument[], args: readonly RedisArgument[]): Promise<unknown>;
  /** `EVAL script numkeys key... arg...`. */
  eval(script: string, keys: readonly RedisArgument[], args: readonly RedisArgument[]): Promise<unknown>;
}

/** The part of an ioredis client (`new Redis(...)`, v5 or later) that `fromIoredis` uses. */
export interface IoredisLike {
  /** ioredis's generic command call whose bulk-string replies are `Buffer`s. */
  callBuffer(command: string, ...args: Array<string | Uint8Array | number>): Promise<unknown>;
}

/** The part of a node-redis client (`createClient(...)`, v5 or later) that `fromNodeRedis` uses. */
export interface NodeRedisLike {
  /**
   * node-redis's generic command call; `options.typeMapping` asks for bulk strings as `Buffer`s.
   */
  sendCommand(args: ReadonlyArray<string | Uint8Array>, options?: { readonly typeMapping?: Readonly<Record<number, unknown>> }): Promise<unknown>;
}

/**
 * Adapts an ioredis client. Replies come from `callBuffer`, so bulk strings arrive as `Buffer`s.
 *
 * @example
 * import Redis from 'ioredis';
 * const acceptor = new RedisAcceptor('redis://a1', fromIoredis(new Redis(6379, 'a1.internal')));
 */
export function fromIoredis(client: IoredisLike): RedisClientLike {
  return {
    evalsha: (sha1, keys, args) => client.callBuffer('EVALSHA', sha1, keys.length, ...keys.map(toBuffer), ...args.map(toBuffer)),
    eval: (script, keys, args) => client.callBuffer('EVAL', script, keys.length, ...keys.map(toBuffer), ...args.map(toBuffer)),
  };
}

/** node-redis's type number of bulk ("blob") strings, `RESP_TYPES.BLOB_STRING`: the `$` of RESP. */
const BLOB_STRING = 36;

/**
 * Adapts a node-redis client. Each command asks for bulk strings as `Buffer`s (a per-command type
 * mapping), so the client's own defaults are left alone.
 *
 * @example
 * import { createClient } from 'redis';
 * const client = await createClient({ url: 'redis://a1.internal:6379' }).connect();
 * const acceptor = new RedisAcceptor('redis://a1', fromNodeRedis(client));
 */
export function fromNodeRedis(client: NodeRedisLike): RedisClientLike {
  const typeMapping = { [BLOB_STRING]: bufferConstructor() };
  const send = (command: string, head: string, keys: readonly RedisArgument[], args: readonly RedisArgument[]): Promise<unknown> =>
    client.sendCommand([command, head, String(keys.length), ...keys.map(toBuffer), ...args.map(toBuffer)], { typeMapping });
  return {
    evalsha: (sha1, keys, args) => send('EVALSHA', sha1, keys, args),
    eval: (script, keys, args) => send('EVAL', script, keys, args),
  };
}

interface BufferConstructorLike {
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): Uint8Array;
  isBuffer(value: unknown): boolean;
}

function bufferConstructor(): BufferConstructorLike {
  const B = (globalThis as { Buffer?: BufferConstructorLike }).Buffer;
  if (B === undefined) throw new TypeError('the ioredis and node-redis adapters need the global Buffer (Node.js, Bun or Deno)');
  return B;
}

/** Strings as they are; bytes as a `Buffer` over the same memory (no copy), as both clients want. */
function toBuffer(arg: RedisArgument): string | Uint8Array {
  if (typeof arg === 'string') return arg;
  const B = bufferConstructor();
  return B.isBuffer(arg) ? arg : B.from(arg.buffer, arg.byteOffset, arg.byteLength);
}

/** True for the server's "no script with this SHA-1" error, after which EVAL is the fallback. */
export function isNoScriptError(err: unknown): boolean {
  const message = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
  return typeof message === 'string' && message.startsWith('NOSCRIPT');
}

/** A Lua script with its SHA-1, computed once (Web Crypto: global in browsers and Node 20+). */
export class LuaScript {
  #sha1: Promise<string | undefined> | undefined;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {}

  /** The script's SHA-1 in hex, or `undefined` where Web Crypto is missing (then EVAL is used). */
  sha1(): Promise<string | undefined> {
    this.#sha1 ??= sha1Hex(this.source);
    return this.#sha1;
  }

  /**
   * Runs the script: EVALSHA, then EVAL when the server does not know it (after a restart, a
   * `SCRIPT FLUSH`, or on first use). EVAL also caches it server-side for the next EVALSHA. A
   * NOSCRIPT reply means the script did not run, so running it again is safe.
   */
  async run(client: RedisClientLike, keys: readonly RedisArgument[], args: readonly RedisArgument[]): Promise<unknown> {
    const sha1 = await this.sha1();
    if (sha1 !== undefined) {
      try {
        return await client.evalsha(sha1, keys, args);
      } catch (err) {
        if (!isNoScriptError(err)) throw err;
      }
    }
    return client.eval(this.source, keys, args);
  }
}

async function sha1Hex(text: string): Promise<string | undefined> {
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  if (subtle === undefined) return undefined;
  const digest = new Uint8Array(await subtle.digest('SHA-1', new TextEncoder().encode(text)));
  return Array.from(digest, (x) => x.toString(16).padStart(2, '0')).join('');
}
