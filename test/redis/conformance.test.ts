/**
 * RedisAcceptor passes the acceptor conformance suite through both clients, crash cases included:
 * `crashAndRestart` is a `kill -9` of the redis-server and a restart from its AOF.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { describeAcceptorConformance } from '../../src/testing/acceptor-conformance.js';
import { type RedisServer, skipWithoutRedis, startRedisServer } from '../support/redis-server.js';
import { type ClientKind, conformanceSubject } from './harness.js';

const skip = skipWithoutRedis('the RedisAcceptor conformance tests');

for (const kind of ['ioredis', 'node-redis'] as const satisfies readonly ClientKind[]) {
  describe.skipIf(skip)(`RedisAcceptor via ${kind}`, () => {
    let server: RedisServer | undefined;
    beforeAll(async () => {
      server = await startRedisServer();
    });
    afterAll(async () => {
      await server?.stop();
    });
    describeAcceptorConformance(
      `RedisAcceptor via ${kind}`,
      () => {
        if (server === undefined) throw new Error('no redis-server');
        return conformanceSubject(kind, server);
      },
      { describe, it, fullStorage: 'refuses-writes' },
    );
  });
}
