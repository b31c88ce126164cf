/**
 * caspaxos/lmdb: the embedded durable store for acceptors, over LMDB (the `lmdb` package).
 *
 * ```ts
 * const store = await LmdbStore.open({ path: '../node/data/a1' });
 * const acceptor = await StoreAcceptor.open('a1', store); // from 'caspaxos'
 * ```
 * Node only.
 *
 * @module caspaxos/lmdb
 */
export { CorruptRecordError, LmdbStore, type LmdbStoreOptions } from './lmdb-store.js';
