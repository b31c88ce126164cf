/**
 * An `AcceptorStore` that times its writes: every durable write (a put, a group commit, a removal,
 * an age raise) is what an acceptor waits for before it replies (paper §2.2: "persists ... and
 * returns a confirmation"), so its latency, the fsync of a disk store, bounds every prepare and
 * accept. Wrap the store before giving it to `StoreAcceptor.open`; reads pass straight through.
 */
import type { AcceptorStore } from '../acceptor/acceptor-store.js';
import { LATENCY_BUCKETS, type MetricsRegistry, SIZE_BUCKETS } from './registry.js';

/** Options of `instrumentStore`. */
export interface StoreMetricsOptions {
  /** How many keys hold a record now, read at each scrape (`LmdbStore.recordCount`). @default none: no key gauge */
  readonly records?: (() => number) | undefined;
  /** Milliseconds from an arbitrary origin. @default performance.now */
  readonly now?: (() => number) | undefined;
}

/**
 * `store` with its writes timed into `registry`: `caspaxos_store_write_duration_seconds{op}`,
 * `caspaxos_store_commit_records` (records per durable write), `caspaxos_store_write_errors_total{op}`
 * and, with `records`, the gauge `caspaxos_store_records`; when the store measures its capacity
 * (`AcceptorStore.capacity`, as `LmdbStore` does), the gauges `caspaxos_store_used_bytes`,
 * `caspaxos_store_quota_bytes` and `caspaxos_store_full` (issue 17: what a full disk looks like).
 */
export function instrumentStore(store: AcceptorStore, registry: MetricsRegistry, options: StoreMetricsOptions = {}): AcceptorStore {
  const now = options.now ?? (() => performance.now());
  const seconds = registry.histogram('caspaxos_store_write_duration_seconds', 'Time of each durable store write (commit and sync), by op: put, put_many (a group commit: the records, removals and age raises of one turn), remove, raise_ages.', ['op'], LATENCY_BUCKETS);
  const sizes = registry.histogram('caspaxos_store_commit_records', 'Records per durable write (group commit gathers the writes of one event-loop turn).', [], SIZE_BUCKETS);
  const errors = registry.counter('caspaxos_store_write_errors_total', 'Store writes that failed (nothing was written), by op.', ['op']);
  const records = options.records;
  if (records !== undefined) {
    registry.gauge('caspaxos_store_records', 'Keys holding a record in the store now.', [], (set) => set(records()));
  }
  if (store.capacity !== undefined) {
    // One measurement per scrape (the store caches it for a second), shared by the three gauges.
    const capacity = store.capacity.bind(store);
    registry.gauge('caspaxos_store_used_bytes', 'Bytes the store\'s data takes, as the store measures it.', [], (set) => {
      const used = capacity().usedBytes;
      if (used !== undefined) set(used);
    });
    registry.gauge('caspaxos_store_quota_bytes', 'The byte figure past which the store refuses writes that grow its data (the --max-data-bytes quota, or the disk).', [], (set) => {
      const quota = capacity().quotaBytes;
      if (quota !== undefined) set(quota);
    });
    registry.gauge('caspaxos_store_full', '1 while the store refuses writes that grow its data (full disk or quota), else 0.', [], (set) => set(capacity().full ? 1 : 0));
  }
  const timed = async <T>(op: string, count: number, write: () => Promise<T>): Promise<T> => {
    const started = now();
    try {
      const result = await write();
      seconds.observe((now() - started) / 1000, { op });
      sizes.observe(count);
      return result;
    } catch (error) {
      errors.inc({ op });
      throw error;
    }
  };
  const wrapped: AcceptorStore = {
    loadMeta: () => store.loadMeta(),
    get: (key) => store.get(key),
    put: (key, record) => timed('put', 1, () => store.put(key, record)),
    remove: (key, floor) => timed('remove', 1, () => store.remove(key, floor)),
    raiseAges: (ages) => timed('raise_ages', 1, () => store.raiseAges(ages)),
    scan: (opts) => store.scan(opts),
    close: () => store.close(),
  };
  // The optional methods stay optional: `StoreAcceptor` tells group commit and quotas by their presence.
  const putMany = store.putMany?.bind(store);
  if (putMany !== undefined) wrapped.putMany = (entries) => timed('put_many', entries.length, () => putMany(entries));
  const writeMany = store.writeMany?.bind(store);
  // Also a group commit: one label for both, so a dashboard over `put_many` keeps working.
  if (writeMany !== undefined) wrapped.writeMany = (writes) => timed('put_many', writes.length, () => writeMany(writes));
  const capacity = store.capacity?.bind(store);
  if (capacity !== undefined) wrapped.capacity = () => capacity();
  return wrapped;
}
