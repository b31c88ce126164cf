/**
 * caspaxos/http: acceptors over HTTP. `createAcceptorServer` hosts any `Acceptor` (a
 * `StoreAcceptor` over a durable store, typically); `HttpAcceptor` is the client proposers use,
 * over any `fetch` (in Node, pass `{ fetch: nodeFetch() }`: several times cheaper per request
 * than the built-in one). Node only (the server uses node:http).
 *
 * @module caspaxos/http
 */
export { createAcceptorServer, type AcceptorServer, type AcceptorServerOptions, type ListenAddress, type ServerTlsOptions } from './acceptor-server.js';
export { HttpAcceptor, type HttpAcceptorOptions } from './acceptor-client.js';
export { nodeFetch, type NodeFetchOptions } from './node-fetch.js';
export { createNodeServer, type ClusterOperations, type NodeServer, type NodeServerContext, type NodeServerOptions, type Readiness, type ReadinessOfSet } from './proposer-server.js';
export type { AcceptorIdentity, IdentityReply } from './wire.js';
export { RemoteProposer, type RemoteProposerOptions, watchNodeKey, type NodeWatchEvent, type WatchNodeKeyOptions } from './proposer-client.js';
export { LATENCY_BUCKETS, METRICS_CONTENT_TYPE, MetricsRegistry, SIZE_BUCKETS, type Collect, type Counter, type Gauge, type Histogram, type Labels, type MetricInfo } from '../metrics/registry.js';
export { proposerMetrics, teeTracers, type ProposerMetricsOptions } from '../metrics/proposer-metrics.js';
export { instrumentStore, type StoreMetricsOptions } from '../metrics/store-metrics.js';
