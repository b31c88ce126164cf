/**
 * The process's own figures, under the names every Prometheus client library uses for them
 * (`process_*`, as the Go and Java clients' process collectors), so existing dashboards and alerts
 * apply; and `caspaxos_build_info`.
 */
import { type HeapSpaceInfo, getHeapSpaceStatistics } from 'node:v8';
import type { MetricsRegistry } from '../metrics/registry.js';
import { buildInfo } from '../metrics/server-metrics.js';
import { packageVersion } from './version.js';

export function processMetrics(registry: MetricsRegistry, role: 'acceptor' | 'node'): void {
  buildInfo(registry, packageVersion(), role);
  const started = Math.round(Date.now() / 1000 - process.uptime());
  registry.gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch, in seconds.', [], (set) => set(started));
  registry.counter('process_cpu_seconds_total', 'User and system CPU time spent, in seconds.', [], (set) => {
    const { user, system } = process.cpuUsage();
    set((user + system) / 1e6);
  });
  registry.gauge('process_resident_memory_bytes', 'Resident memory size, in bytes.', [], (set) => set(process.memoryUsage.rss()));
  // The JavaScript heap and memory outside it (buffers), as Node's Prometheus clients name them:
  // what resident memory is made of, so that a rise can be told from the garbage collector's cycle.
  registry.gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js, in bytes.', [], (set) => set(process.memoryUsage().heapTotal));
  registry.gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js, in bytes.', [], (set) => set(process.memoryUsage().heapUsed));
  registry.gauge('nodejs_external_memory_bytes', 'Node.js external memory size, in bytes.', [], (set) => set(process.memoryUsage().external));
  // Per space of the heap: the young generation (`new_space`) grows with the allocation rate up to
  // its cap, the old one (`old_space`) with what survives a scavenge until a full collection frees
  // it; a collector's cycle is told from a leak here.
  registry.gauge('nodejs_heap_space_size_total_bytes', 'Process heap space size total from Node.js, in bytes.', ['space'], (set) => {
    for (const space of getHeapSpaceStatistics()) set(space.space_size, spaceLabel(space));
  });
  registry.gauge('nodejs_heap_space_size_used_bytes', 'Process heap space size used from Node.js, in bytes.', ['space'], (set) => {
    for (const space of getHeapSpaceStatistics()) set(space.space_used_size, spaceLabel(space));
  });
}

/** V8's `new_space` as `space="new"`, as prom-client labels it. */
function spaceLabel(space: HeapSpaceInfo): { space: string } {
  return { space: space.space_name.replace(/_space$/, '') };
}
