/**
 * Frames of the acceptor stream (`/v2/stream`, see `wire.ts`): `[u32 length][u32 id][payload]`,
 * big-endian, the payload UTF-8 JSON of `length` bytes. Both ends read with `FrameReader`, which
 * buffers at most one frame and skips (without buffering) a payload over its limit, reporting it,
 * so the connection survives an oversized frame. Node-only (`Buffer`).
 */

/** Bytes before a frame's payload. */
export const FRAME_HEADER_BYTES = 8;

/** One frame, ready to write. */
export function encodeFrame(id: number, payload: string): Buffer {
  const length = Buffer.byteLength(payload);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  frame.writeUInt32BE(length, 0);
  frame.writeUInt32BE(id >>> 0, 4);
  frame.write(payload, FRAME_HEADER_BYTES, 'utf8');
  return frame;
}

/** What `FrameReader` found: a frame's payload, or a frame whose payload was over the limit (skipped). */
export interface FrameHandler {
  frame(id: number, payload: string): void;
  tooLarge(id: number, length: number): void;
}

/** Splits a byte stream into frames; `push` each chunk as it arrives. */
export class FrameReader {
  readonly #limit: number;
  readonly #handler: FrameHandler;
  #buffered: Buffer = Buffer.alloc(0);
  /** Bytes of an oversized payload still to skip. */
  #skipping = 0;

  constructor(limit: number, handler: FrameHandler) {
    this.#limit = limit;
    this.#handler = handler;
  }

  push(chunk: Buffer): void {
    let data = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    for (;;) {
      if (this.#skipping > 0) {
        const skipped = Math.min(this.#skipping, data.length);
        this.#skipping -= skipped;
        data = data.subarray(skipped);
        if (this.#skipping > 0) break;
      }
      if (data.length < FRAME_HEADER_BYTES) break;
      const length = data.readUInt32BE(0);
      const id = data.readUInt32BE(4);
      if (length > this.#limit) {
        this.#skipping = length;
        data = data.subarray(FRAME_HEADER_BYTES);
        this.#handler.tooLarge(id, length);
        continue;
      }
      if (data.length < FRAME_HEADER_BYTES + length) break;
      const payload = data.toString('utf8', FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length);
      data = data.subarray(FRAME_HEADER_BYTES + length);
      this.#handler.frame(id, payload);
    }
    // Keep only the unread rest (a copy, so the chunk it came from can be freed).
    this.#buffered = data.length === 0 ? Buffer.alloc(0) : Buffer.from(data);
  }
}
