/**
 * `HttpAcceptor` passes the acceptor conformance suite: hosting a `MemoryAcceptor` (not durable),
 * and hosting a `StoreAcceptor` over a `MemoryStore`, whose crash destroys the server's
 * connections at once (no reply in flight gets out) and starts a new server and a new
 * `StoreAcceptor` over the same store; the last again through `nodeFetch`.
 */
import { describe, it } from 'vitest';
import { HttpAcceptor } from '../../src/http/acceptor-client.js';
import { MemoryAcceptor } from '../../src/index.js';
import { MemoryStore } from '../../src/acceptor/memory-store.js';
import { StoreAcceptor } from '../../src/acceptor/store-acceptor.js';
import { describeAcceptorConformance } from '../../src/testing/acceptor-conformance.js';
import { nodeFetch } from '../../src/http/node-fetch.js';
import { host } from './support.js';
import type { StorageControl } from '../../src/testing/acceptor-conformance.js';

/** Fills a `MemoryStore` by setting its byte limit to what it holds; frees it by lifting it. */
function memoryStoreControl(store: MemoryStore): StorageControl {
  return {
    fill: async () => store.setLimits({ maxBytes: store.capacity().usedBytes }),
    free: async () => store.setLimits({}),
  };
}

const SECRET = 'conformance';

describeAcceptorConformance(
  'HttpAcceptor hosting a MemoryAcceptor',
  async () => {
    const h = await host(new MemoryAcceptor('a'), { secret: SECRET });
    return { acceptor: new HttpAcceptor(h.url, { secret: SECRET }), close: () => h.server.close() };
  },
  { describe, it, durable: false },
);

describeAcceptorConformance(
  'HttpAcceptor hosting a StoreAcceptor over a MemoryStore',
  async () => {
    const store = new MemoryStore();
    let h = await host(await StoreAcceptor.open('a', store), { secret: SECRET });
    return {
      acceptor: new HttpAcceptor(h.url, { secret: SECRET }),
      async crashAndRestart() {
        await h.server.terminate();
        // A new process: a new acceptor over what the store kept, on a new port.
        h = await host(await StoreAcceptor.open('a', store), { secret: SECRET });
        return new HttpAcceptor(h.url, { secret: SECRET });
      },
      storage: memoryStoreControl(store),
      close: () => h.server.close(),
    };
  },
  { describe, it, fullStorage: 'refuses-growth' },
);

// The same through `nodeFetch` (node:http keep-alive agents) instead of the built-in fetch.
const viaNode = nodeFetch();
describeAcceptorConformance(
  'HttpAcceptor over nodeFetch, hosting a StoreAcceptor over a MemoryStore',
  async () => {
    const store = new MemoryStore();
    let h = await host(await StoreAcceptor.open('a', store), { secret: SECRET });
    return {
      acceptor: new HttpAcceptor(h.url, { secret: SECRET, fetch: viaNode }),
      async crashAndRestart() {
        await h.server.terminate();
        h = await host(await StoreAcceptor.open('a', store), { secret: SECRET });
        return new HttpAcceptor(h.url, { secret: SECRET, fetch: viaNode });
      },
      storage: memoryStoreControl(store),
      close: () => h.server.close(),
    };
  },
  { describe, it, fullStorage: 'refuses-growth' },
);
