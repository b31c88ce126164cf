/**
 * caspaxos/redis: an acceptor whose records live in a Redis server (one server, or one prefix of
 * it, per acceptor), with adapters for ioredis and node-redis. Neither client is imported: pass
 * your connected client through `fromIoredis` or `fromNodeRedis`, or implement `RedisClientLike`.
 *
 * @module caspaxos/redis
 */
export { RedisAcceptor, type RedisAcceptorOptions } from './redis-acceptor.js';
export { type IoredisLike, type NodeRedisLike, type RedisArgument, type RedisClientLike, fromIoredis, fromNodeRedis } from './client.js';
