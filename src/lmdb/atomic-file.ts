/**
 * Small files that must never be seen half-written (an acceptor's `identity.json`, a node's
 * `membership.json`): written to a temporary file beside the target, synced, renamed over the
 * target, and the directory synced, so that after a crash at any point the target holds either
 * the old text or the new, and the rename itself survives (POSIX `rename` is atomic; the directory
 * sync makes it durable). `writeJsonFile` and `readJsonFile` add and check a checksum, so a file
 * damaged after it was written is refused rather than believed. Node-only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Replaces `path` with `text` atomically and durably (see the module comment). */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  const temporary = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const file = await open(temporary, 'wx', 0o644);
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}

/** Makes the directory's entries (a rename, a new file) durable. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch (error) {
    // Windows cannot open a directory as a file; its renames are durable by NTFS's own journal.
    if (process.platform === 'win32') return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EPERM' && code !== 'EISDIR') throw error;
  } finally {
    await handle.close();
  }
}

/** A JSON file that cannot be trusted: unreadable, not JSON, or failing its checksum. */
export class JsonFileError extends Error {}

/** Writes `body` and its checksum (a `checksum` field, added last) to `path`, atomically and durably. */
export async function writeJsonFile(path: string, body: Readonly<Record<string, unknown>>): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify({ ...body, checksum: checksumOf(body) }, null, 2)}\n`);
}

/**
 * The body of a file `writeJsonFile` wrote (without its checksum), `undefined` when there is no
 * file; `JsonFileError` when it cannot be read, is not a JSON object, or fails its checksum.
 */
export function readJsonFile(path: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new JsonFileError(`cannot be read: ${(error as Error).message}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new JsonFileError('is not JSON', { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new JsonFileError('is not a JSON object');
  // The checksum covers the other fields as written (JSON.parse keeps their order).
  const { checksum, ...body } = parsed as Record<string, unknown>;
  if (checksum !== checksumOf(body)) throw new JsonFileError('fails its checksum');
  return body;
}

function checksumOf(body: object): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 32)}`;
}
