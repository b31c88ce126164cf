/**
 * Helpers for the HTTP transport tests: servers on loopback (ephemeral ports), raw requests that
 * bypass the client, and an acceptor whose calls wait for the test to let them go.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach } from 'vitest';
import type { Acceptor, Age, Ballot } from '../../src/index.js';
import { type AcceptorServer, type AcceptorServerOptions, createAcceptorServer } from '../../src/http/acceptor-server.js';

export interface Hosted {
  readonly server: AcceptorServer;
  readonly url: string;
  /** Counts the TCP connections the server accepted. */
  readonly connections: () => number;
}

/** Hosts `acceptor` on 127.0.0.1, an ephemeral port. */
export async function host(acceptor: Acceptor, options: AcceptorServerOptions = {}): Promise<Hosted> {
  const server = createAcceptorServer(acceptor, options);
  let connections = 0;
  server.server.on('connection', () => connections++);
  const { url } = await server.listen(0, '127.0.0.1');
  return { server, url, connections: () => connections };
}

export interface RawReply {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** One request with `node:http` (no keep-alive), for bodies and headers the client would never send. */
export function raw(url: string, init: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(init.path, url), { method: init.method ?? 'POST', headers: init.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** A raw JSON POST with the bearer token. */
export function post(url: string, path: string, body: unknown, secret?: string): Promise<RawReply> {
  return raw(url, {
    path,
    headers: { 'content-type': 'application/json', ...(secret === undefined ? {} : { authorization: `Bearer ${secret}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** A plain HTTP server with a handler of the test's choosing (a server that never answers, a flaky one). */
export async function fakeServer(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<{ url: string; requests: () => number; close: () => Promise<void>; server: Server }> {
  let n = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => handler(req, res, n++));
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => n,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A promise with its resolve function outside: a gate a test opens. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** A port nothing listens on (bound once, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The age, ballots and states the transport tests use. */
export const age: Age = { counter: 0, id: 'p' };
export const b = (counter: number, id = 'p'): Ballot => ({ counter, id });
export const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

/** A list of cleanups run (last first) after each test of the calling file. */
export function cleanupsAfterEach(): Array<() => Promise<void>> {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}
