/**
 * What both servers share to listen: plain HTTP or, with `tls`, HTTPS (`node:https`, same
 * request, upgrade and connection events), and the address they report once listening.
 */
import { type IncomingMessage, type RequestListener, type Server, type ServerOptions, type ServerResponse, createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** A server's certificate and key (PEM), to serve HTTPS instead of HTTP. */
export interface ServerTlsOptions {
  /** The certificate chain in PEM: the server's certificate first, then any intermediates. */
  readonly cert: string | Uint8Array;
  /** The private key in PEM. */
  readonly key: string | Uint8Array;
}

/** Where a server listens. */
export interface ListenAddress {
  /** The address the server is bound to, as Node reports it (e.g. `127.0.0.1`, `::`). */
  readonly host: string;
  /** The port it listens on (the one picked when `listen` was given 0). */
  readonly port: number;
  /** The base URL, e.g. `http://127.0.0.1:7001` (`https://` when serving TLS). */
  readonly url: string;
  /** The base URL: a `ListenAddress` reads as its `url` in a template string or `String(...)`. */
  toString(): string;
}

/**
 * An HTTP server, or an HTTPS one with `tls`. Typed as `node:http`'s `Server`, whose events and
 * methods `node:https`'s server shares (it is a `tls.Server` with the same request handling).
 */
export function createServer(tls: ServerTlsOptions | undefined, options: ServerOptions, handler: RequestListener<typeof IncomingMessage, typeof ServerResponse>): Server {
  if (tls === undefined) return createHttpServer(options, handler);
  return createHttpsServer({ ...options, cert: toPem(tls.cert), key: toPem(tls.key) }, handler) as unknown as Server;
}

function toPem(value: string | Uint8Array): string | Buffer {
  return typeof value === 'string' ? value : Buffer.from(value);
}

/** Starts `server` on `port` and `host`; resolves with its address once it listens. */
export function listenOn(server: Server, secure: boolean, port: number, host: string): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address() as AddressInfo;
      const shown = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
      const url = `${secure ? 'https' : 'http'}://${shown}:${address.port}`;
      resolve({ host: address.address, port: address.port, url, toString: () => url });
    });
  });
}
