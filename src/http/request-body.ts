/**
 * Reads a request body up to a size limit, for the acceptor server. The limit is checked against
 * `Content-Length` before anything is read and against the bytes actually received after, so a
 * client that lies about the length (or sends chunked) is cut off at the limit too: the server
 * stops reading there and never buffers more than `limit` bytes.
 */
import type { IncomingMessage } from 'node:http';

export type BodyResult =
  | { readonly type: 'body'; readonly text: string }
  | { readonly type: 'too-large' }
  | { readonly type: 'not-utf8' }
  | { readonly type: 'aborted' };

/**
 * `fatal`: a body that is not UTF-8 is rejected, not patched with U+FFFD (which could turn two
 * different keys into one). One decoder for every body: a non-streaming `decode` keeps no state
 * between calls (and a fatal one that threw is reset).
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Reads `req`'s body as UTF-8 text of at most `limit` bytes. Never rejects. */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.resolve({ type: 'too-large' });
  return new Promise<BodyResult>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: BodyResult): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        // Stop reading: the caller answers 413 and closes the connection.
        req.pause();
        finish({ type: 'too-large' });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      try {
        // A body usually arrives in one chunk: decoded as it is, not copied first.
        finish({ type: 'body', text: UTF8.decode(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)) });
      } catch {
        finish({ type: 'not-utf8' });
      }
    };
    const onError = (): void => finish({ type: 'aborted' });
    const onClose = (): void => finish({ type: 'aborted' });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
