/**
 * The client end of the acceptor stream (`/v2/stream`, see `wire.ts`): an HTTP Upgrade, then
 * frames both ways on one connection, pipelined. Frames sent before the upgrade completes wait
 * and go out in one write; replies are matched to requests by id. Node-only (`node:http`).
 *
 * A stream that never opened (refused connection, an error reply to the upgrade) rejects
 * everything sent on it with `StreamRefused`: none of it reached the server, so the caller may send
 * it another way. Once open, a connection that fails rejects what is in flight with the failure:
 * it may have been delivered. The open socket is unref'd: an idle stream does not keep the
 * process alive (a request in flight does, through its caller's timer).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { FrameReader, encodeFrame } from './frames.js';
import { type FrameStream, type StreamOpener, StreamRefused, identityOf } from './poster.js';
import { PATHS, STREAM_PROTOCOL } from './wire.js';

/** The largest reply frame accepted (a page of states; far above any batch reply). */
const MAX_REPLY_BYTES = 64 << 20;

interface Waiter {
  resolve(payload: string): void;
  reject(error: unknown): void;
}

class NodeFrameStream implements FrameStream {
  closed = false;
  #socket: Socket | undefined;
  /** Frames written before the connection opened. */
  #waiting: Buffer[] = [];
  #pending = new Map<number, Waiter>();
  #next = 1;
  readonly #reader = new FrameReader(MAX_REPLY_BYTES, {
    frame: (id, payload) => {
      const waiter = this.#pending.get(id);
      if (waiter === undefined) return;
      this.#pending.delete(id);
      waiter.resolve(payload);
    },
    tooLarge: (id, length) => {
      const waiter = this.#pending.get(id);
      this.#pending.delete(id);
      waiter?.reject(new Error(`a reply frame of ${length} bytes exceeds ${MAX_REPLY_BYTES}`));
    },
  });
  readonly #request: ReturnType<typeof httpRequest>;

  constructor(baseUrl: string, headers: Readonly<Record<string, string>>, verify: ((identity: { cluster?: string; incarnation?: string }) => Error | undefined) | undefined, tls: ClientTlsOptions) {
    const url = new URL(baseUrl + PATHS.stream);
    const { 'Content-Type': _type, Accept: _accept, ...rest } = headers as Record<string, string>;
    this.#request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method: 'GET',
      headers: { ...rest, Connection: 'Upgrade', Upgrade: STREAM_PROTOCOL },
      agent: false,
      // Over https the upgraded socket is the TLS socket: frames travel encrypted, and the server's
      // certificate is verified (against `ca` when given) before anything is sent.
      ...(tls.ca === undefined ? {} : { ca: typeof tls.ca === 'string' || Buffer.isBuffer(tls.ca) ? tls.ca : [...tls.ca] }),
    });
    this.#request.on('upgrade', (res, socket) => {
      if (String(res.headers.upgrade ?? '').toLowerCase() !== STREAM_PROTOCOL) {
        socket.destroy();
        this.#end(new StreamRefused(false, `the server upgraded to ${String(res.headers.upgrade)}`));
        return;
      }
      const wrong = verify?.(identityOf((name) => res.headers[name]));
      if (wrong !== undefined) {
        socket.destroy();
        this.#end(new StreamRefused(false, wrong.message, { cause: wrong }));
        return;
      }
      this.#opened(socket);
    });
    this.#request.on('response', (res) => {
      res.resume();
      this.#end(new StreamRefused(res.statusCode === 404, `the server refused the stream (HTTP ${res.statusCode})`));
    });
    this.#request.on('error', (error) => this.#end(new StreamRefused(false, `the stream could not be opened: ${error.message}`, { cause: error })));
    this.#request.end();
  }

  send(payload: string): { reply: Promise<string>; cancel(reason: unknown): void } {
    if (this.closed) return { reply: Promise.reject(new StreamRefused(false, 'the stream is closed')), cancel: () => {} };
    const id = this.#next;
    this.#next = this.#next >= 0xffffffff ? 1 : this.#next + 1;
    const frame = encodeFrame(id, payload);
    const reply = new Promise<string>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    if (this.#socket !== undefined) this.#socket.write(frame);
    else this.#waiting.push(frame);
    return {
      reply,
      cancel: (reason) => {
        const waiter = this.#pending.get(id);
        if (waiter === undefined) return;
        this.#pending.delete(id);
        waiter.reject(reason);
      },
    };
  }

  close(): void {
    this.#request.destroy();
    this.#socket?.destroy();
    this.#end(new Error('the stream was closed'));
  }

  #opened(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.unref();
    socket.on('data', (chunk: Buffer) => this.#reader.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.#end(new Error('the stream connection closed')));
    const waiting = this.#waiting;
    this.#waiting = [];
    if (waiting.length > 0) socket.write(waiting.length === 1 ? (waiting[0] as Buffer) : Buffer.concat(waiting));
  }

  /**
   * Fails everything in flight with `error`: a `StreamRefused` while the stream never opened (no
   * frame was written), never once it did (a frame may have been delivered: it must not be resent).
   */
  #end(error: Error): void {
    this.closed = true;
    const opened = this.#socket !== undefined;
    const failure =
      !opened && !(error instanceof StreamRefused) ? new StreamRefused(false, error.message, { cause: error }) : opened && error instanceof StreamRefused ? new Error(error.message, { cause: error }) : error;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#waiting = [];
    for (const waiter of pending) waiter.reject(failure);
  }
}

/** How a client verifies an `https://` server: the certificate authorities it trusts. */
export interface ClientTlsOptions {
  /** PEM certificates of the authorities to trust instead of Node's bundled ones (a private CA). */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer> | undefined;
}

/** An opener of acceptor streams that verify `https://` servers with `tls` (see the module comment). */
export function frameStreamOpener(tls: ClientTlsOptions = {}): StreamOpener {
  return (baseUrl, headers, verify) => new NodeFrameStream(baseUrl, headers, verify, tls);
}

/** Opens an acceptor stream to `baseUrl`, trusting Node's bundled certificate authorities. */
export const openFrameStream: StreamOpener = frameStreamOpener();
