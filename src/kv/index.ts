/**
 * The typed key-value store: `KeyValueStore` over any `Proposer`, its codecs and version helpers.
 */
export {
  DEFAULT_EPOCH_KEY,
  KeyValueStore,
  type CompareAndSetResult,
  type Entry,
  type KeyValueStoreOptions,
  type SweepOptions,
  type SweepReport,
} from './key-value-store.js';
export { bytesCodec, jsonCodec, textCodec, type Codec } from './codec.js';
export { formatVersion, parseVersion, versionParts } from './record-format.js';
export {
  DEFAULT_COLLECTION_RETRY,
  type CollectionOutcome,
  type CollectionRetryPolicy,
  type CollectionStats,
  type GarbageCollectionOptions,
} from './background-collector.js';
