/**
 * What the Redis tests share: one durable `redis-server` per test file (each acceptor in it under
 * its own prefix), connections through either client, and conformance subjects whose
 * `crashAndRestart` is a `kill -9` of the server and a restart from its AOF.
 */
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { RedisAcceptor, type RedisAcceptorOptions, type RedisClientLike, fromIoredis, fromNodeRedis } from '../../src/redis/index.js';
import type { ConformanceSubject } from '../../src/testing/acceptor-conformance.js';
import { afterAll, beforeAll } from 'vitest';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';

export type ClientKind = 'ioredis' | 'node-redis';

/** A connected client, adapted, and how to let go of it. */
export interface Connection {
  readonly client: RedisClientLike;
  /** Raw commands, for tests that look under the hood (`call('HGETALL', key)`). */
  call(...args: Array<string | Uint8Array>): Promise<unknown>;
  close(): Promise<void>;
}

export async function connect(kind: ClientKind, server: RedisServer): Promise<Connection> {
  if (kind === 'ioredis') {
    const redis = new Redis(server.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 3 });
    // A killed server makes the client emit errors while it reconnects; requests still reject.
    redis.on('error', () => {});
    await redis.connect();
    return {
      client: fromIoredis(redis),
      call: (command, ...args) => redis.callBuffer(command as string, ...args.map((a) => (typeof a === 'string' ? a : Buffer.from(a)))),
      close: async () => {
        redis.disconnect();
      },
    };
  }
  const client = createClient({ url: server.url, socket: { reconnectStrategy: (retries: number) => Math.min(retries * 20, 200) } });
  client.on('error', () => {});
  await client.connect();
  return {
    client: fromNodeRedis(client),
    call: (...args) => client.sendCommand(args.map((a) => (typeof a === 'string' ? a : Buffer.from(a))), { typeMapping: { 36: Buffer } }),
    close: async () => {
      client.destroy();
    },
  };
}

/**
 * One durable `redis-server` and one connection to it through `kind`, for the enclosing
 * `describe`: started before its first test, stopped after its last. Read `.connection` inside
 * tests (it is set once the suite starts).
 */
export function suiteConnection(kind: ClientKind): { readonly connection: Connection } {
  let server: RedisServer | undefined;
  let connection: Connection | undefined;
  beforeAll(async () => {
    server = await startRedisServer();
    connection = await connect(kind, server);
  });
  afterAll(async () => {
    await connection?.close();
    await server?.stop();
  });
  return {
    get connection(): Connection {
      if (connection === undefined) throw new Error('suiteConnection: read inside a test, after the suite started');
      return connection;
    },
  };
}

let prefixes = 0;

/** A prefix no other acceptor of this process uses. */
export function freshPrefix(label = 'acc'): string {
  return `${label}-${process.pid}-${++prefixes}`;
}

/**
 * A conformance subject: a fresh prefix on `server`, through `kind`. `crashAndRestart` kills the
 * server with SIGKILL, restarts it on its AOF, and reconnects; every other subject on the same
 * server is idle meanwhile (conformance cases run one at a time).
 */
export async function conformanceSubject(kind: ClientKind, server: RedisServer, options: RedisAcceptorOptions = {}): Promise<ConformanceSubject> {
  const prefix = freshPrefix(kind);
  let connection = await connect(kind, server);
  const open = (c: Connection): RedisAcceptor => new RedisAcceptor(`redis://127.0.0.1:${server.port}/${prefix}`, c.client, { prefix, watchIntervalMs: 20, ...options });
  return {
    acceptor: open(connection),
    async crashAndRestart() {
      await server.kill();
      await connection.close();
      await server.restart();
      connection = await connect(kind, server);
      return open(connection);
    },
    // Full: maxmemory far below what the server uses (the tests' servers evict nothing:
    // noeviction is Redis's default policy); room: no limit.
    storage: {
      fill: async () => void (await connection.call('CONFIG', 'SET', 'maxmemory-policy', 'noeviction', 'maxmemory', '1')),
      free: async () => void (await connection.call('CONFIG', 'SET', 'maxmemory', '0')),
    },
    async close() {
      await connection.close();
    },
  };
}
