/**
 * What both HTTP servers count of their requests: requests by route, method and status, and their
 * latency by route. Routes are the servers' own names for their endpoints (`prepare`, `kv`,
 * `admin_grow`, ...), never the path a client sent: a path holds keys, and client input must not
 * make series (see `registry.ts`).
 */
import { LATENCY_BUCKETS, type MetricsRegistry } from './registry.js';

/** Records one finished request of a server. */
export interface RequestMetrics {
  /** Counts a request to `route` answered with `status` after `seconds`. */
  observe(route: string, method: string, status: number, seconds: number): void;
}

/** The HTTP methods counted by name; any other is `other` (a client picks the method). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE']);

/**
 * Registers `<prefix>_requests_total{route,method,status}` and
 * `<prefix>_request_duration_seconds{route}` (e.g. prefix `caspaxos_acceptor_http`).
 */
export function requestMetrics(registry: MetricsRegistry, prefix: string, server: string): RequestMetrics {
  const requests = registry.counter(`${prefix}_requests_total`, `Requests the ${server} answered, by route, method and status code.`, ['route', 'method', 'status']);
  const seconds = registry.histogram(`${prefix}_request_duration_seconds`, `Time from a request's arrival to its reply, by route (the ${server}).`, ['route'], LATENCY_BUCKETS);
  return {
    observe(route, method, status, elapsed) {
      requests.inc({ route, method: METHODS.has(method) ? method : 'other', status: String(status) });
      seconds.observe(elapsed, { route });
    },
  };
}

/** The package's version as a gauge set to 1, the usual way to join it to other series. */
export function buildInfo(registry: MetricsRegistry, version: string, role: string): void {
  registry.gauge('caspaxos_build_info', 'The caspaxos version and role of this process (always 1).', ['version', 'role']).set(1, { version, role });
}
