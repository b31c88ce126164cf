/**
 * Acceptor data directories (`src/lmdb/data-directory.ts`): created explicitly with an identity,
 * refused when missing, empty, of another cluster, written by an earlier release (until adopted),
 * damaged (truncated to 0 bytes or to half, data.mdb gone or replaced, identity.json corrupt or
 * gone, a record flipped on disk) or in use. Each refusal is checked against its negative
 * control: the same directory undamaged opens. `LmdbStore.open` alone also refuses a truncated
 * data.mdb before lmdb maps it (where mapping it would end in SIGBUS or in an empty database).
 * Processes other than this one (kill -9, a second process) are in test/cli.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DataDirectoryError,
  IDENTITY_FILE,
  PID_FILE,
  adoptDataDirectory,
  initDataDirectory,
  openDataDirectory,
} from '../../src/lmdb/data-directory.js';
import { CorruptRecordError, LmdbStore } from '../../src/lmdb/lmdb-store.js';
import type { KeyRecord } from '../../src/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'caspaxos-datadir-'));
  dirs.push(dir);
  return dir;
}

const record = (text: string): KeyRecord => ({ promise: { counter: 2, id: 'p' }, accepted: { counter: 2, id: 'p' }, state: new TextEncoder().encode(text), ancestry: undefined });

/** A directory initialised in cluster `c1` holding `keys` records (states `value-<i>-...`). */
async function populated(keys = 20): Promise<string> {
  const dir = join(scratch(), 'a1');
  await initDataDirectory(dir, 'c1');
  const opened = await openDataDirectory(dir, { clusterId: 'c1' });
  for (let i = 0; i < keys; i++) await opened.store.put(`k${i}`, record(`value-${i}-${'x'.repeat(200)}`));
  await opened.store.close();
  await opened.release();
  return dir;
}

async function refusal(dir: string, options: { clusterId?: string } = {}): Promise<DataDirectoryError> {
  const error = await openDataDirectory(dir, options).then(
    async (opened) => {
      await opened.store.close();
      await opened.release();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(error, 'the directory opened').toBeInstanceOf(DataDirectoryError);
  return error as DataDirectoryError;
}

/** Opens, checks the records read back, closes: the negative control of every refusal. */
async function opensWith(dir: string, records: number): Promise<void> {
  const opened = await openDataDirectory(dir);
  expect(opened.records).toBe(records);
  await opened.store.close();
  await opened.release();
}

describe('acceptor data directories', () => {
  it('--init records the cluster and a fresh incarnation; each initialisation gets a new one', async () => {
    const a = await initDataDirectory(join(scratch(), 'a'), 'c1');
    const b = await initDataDirectory(join(scratch(), 'b'), 'c1');
    expect(a.clusterId).toBe('c1');
    expect(a.incarnation).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(b.incarnation).not.toBe(a.incarnation);
  });

  it('opens a directory it created, with its records, and writes and removes the pid file', async () => {
    const dir = await populated(5);
    const opened = await openDataDirectory(dir, { clusterId: 'c1' });
    expect(opened.records).toBe(5);
    expect(readFileSync(join(dir, PID_FILE), 'utf8').trim()).toBe(String(process.pid));
    await opened.store.close();
    await opened.release();
    expect(existsSync(join(dir, PID_FILE))).toBe(false);
  });

  it('--init refuses a directory that is not empty: it never initialises over an acceptor', async () => {
    const dir = await populated(1);
    await expect(initDataDirectory(dir, 'c1')).rejects.toMatchObject({ problem: 'not-empty' });
    await opensWith(dir, 1);
  });

  it('refuses a missing directory and an empty one (wiped)', async () => {
    expect(await refusal(join(scratch(), 'nowhere'))).toMatchObject({ problem: 'missing' });
    const dir = await populated(3);
    for (const name of ['data.mdb', 'lock.mdb', IDENTITY_FILE]) rmSync(join(dir, name));
    const error = await refusal(dir);
    expect(error.problem).toBe('empty');
    expect(error.message).toMatch(/shrink the old, grow the new/);
  });

  it('refuses a directory of another cluster', async () => {
    const dir = await populated(2);
    expect(await refusal(dir, { clusterId: 'c2' })).toMatchObject({ problem: 'foreign' });
    await opensWith(dir, 2);
  });

  it.each([
    ['truncated to 0 bytes', (dir: string) => truncateSync(join(dir, 'data.mdb'), 0), /empty \(0 bytes\)/],
    ['truncated to half', (dir: string) => truncateSync(join(dir, 'data.mdb'), Math.floor(statSync(join(dir, 'data.mdb')).size / 2)), /truncated/],
    ['truncated to one page', (dir: string) => truncateSync(join(dir, 'data.mdb'), 4096), /truncated/],
    ['without data.mdb', (dir: string) => rmSync(join(dir, 'data.mdb')), /data\.mdb is missing/],
    ['with a damaged meta page', (dir: string) => flipAt(join(dir, 'data.mdb'), 24), /magic/],
    // The incarnation's first character changed (to another one: a random incarnation may start with Z).
    ['with identity.json corrupted', (dir: string) => writeFileSync(join(dir, IDENTITY_FILE), readFileSync(join(dir, IDENTITY_FILE), 'utf8').replace(/"incarnation": "(.)/, (_, c: string) => `"incarnation": "${c === 'Z' ? 'Y' : 'Z'}`)), /checksum/],
    ['with identity.json not JSON', (dir: string) => writeFileSync(join(dir, IDENTITY_FILE), '{"form'), /not JSON/],
    ['without identity.json (the database records one)', (dir: string) => rmSync(join(dir, IDENTITY_FILE)), /identity\.json is missing, but the database records/],
    ['with a record flipped on disk', (dir: string) => flipText(join(dir, 'data.mdb'), 'value-7-'), /failed its check|corrupt/],
  ])('refuses a directory %s, as damaged', async (_name, damage, message) => {
    const dir = await populated();
    await opensWith(dir, 20);
    damage(dir);
    const error = await refusal(dir);
    expect(error.problem).toBe('damaged');
    expect(error.message).toMatch(message);
  });

  it("refuses another directory's data.mdb (replaced), and a data.mdb recreated empty", async () => {
    const dir = await populated(3);
    const other = await populated(3);
    copyFileSync(join(other, 'data.mdb'), join(dir, 'data.mdb'));
    expect((await refusal(dir)).message).toMatch(/does not belong to this directory's identity/);
    const fresh = join(scratch(), 'fresh');
    const store = await LmdbStore.open({ path: fresh });
    await store.close();
    copyFileSync(join(fresh, 'data.mdb'), join(dir, 'data.mdb'));
    expect((await refusal(dir)).message).toMatch(/records no identity/);
  });

  it('refuses a directory written by an earlier release until --adopt gives it an identity', async () => {
    const dir = join(scratch(), 'old');
    const store = await LmdbStore.open({ path: dir });
    await store.put('k', record('from before identities'));
    await store.close();
    const error = await refusal(dir);
    expect(error.problem).toBe('unadopted');
    expect(error.message).toMatch(/--adopt --cluster-id/);
    const identity = await adoptDataDirectory(dir, 'c1');
    expect(identity.clusterId).toBe('c1');
    const opened = await openDataDirectory(dir, { clusterId: 'c1' });
    expect(opened.identity).toEqual(identity);
    expect(new TextDecoder().decode((await opened.store.get('k'))?.state ?? undefined)).toBe('from before identities');
    await opened.store.close();
    await opened.release();
    // Adopting twice is refused: it has an identity now.
    await expect(adoptDataDirectory(dir, 'c1')).rejects.toMatchObject({ problem: 'not-empty' });
  });

  it('--adopt refuses an old directory with a damaged record, and an empty one', async () => {
    const dir = join(scratch(), 'old');
    const store = await LmdbStore.open({ path: dir });
    await store.put('k', record('value-7-damaged'));
    await store.close();
    flipText(join(dir, 'data.mdb'), 'value-7-');
    await expect(adoptDataDirectory(dir, 'c1')).rejects.toMatchObject({ problem: 'damaged' });
    await expect(adoptDataDirectory(scratch(), 'c1')).rejects.toMatchObject({ problem: 'empty' });
  });

  it('one holder at a time: a second open is refused while the first holds the lock, and succeeds after', async () => {
    const dir = await populated(1);
    const first = await openDataDirectory(dir);
    expect(await refusal(dir)).toMatchObject({ problem: 'locked' });
    await first.store.close();
    await first.release();
    await opensWith(dir, 1);
  });

  it('rejects a malformed cluster id', async () => {
    await expect(initDataDirectory(join(scratch(), 'a'), 'no spaces')).rejects.toThrow(/cluster id/);
  });
});

describe('LmdbStore.open on a truncated data.mdb', () => {
  it('refuses it with CorruptRecordError before lmdb maps it (no SIGBUS, no empty database)', async () => {
    const dir = scratch();
    const store = await LmdbStore.open({ path: dir });
    for (let i = 0; i < 50; i++) await store.put(`k${i}`, record(`v${i}-${'y'.repeat(500)}`));
    await store.close();
    const full = statSync(join(dir, 'data.mdb')).size;
    truncateSync(join(dir, 'data.mdb'), Math.floor(full / 2));
    await expect(LmdbStore.open({ path: dir })).rejects.toBeInstanceOf(CorruptRecordError);
    truncateSync(join(dir, 'data.mdb'), 0);
    await expect(LmdbStore.open({ path: dir })).rejects.toThrow(/0 bytes/);
  });
});

/** Flips one byte of `file` at `offset`. */
function flipAt(file: string, offset: number): void {
  const bytes = readFileSync(file);
  bytes[offset] = (bytes[offset] as number) ^ 0xff;
  writeFileSync(file, bytes);
}

/** Flips a byte inside every copy of `text` in `file` (LMDB may keep older copies in free pages). */
function flipText(file: string, text: string): void {
  const bytes = readFileSync(file);
  const needle = Buffer.from(text);
  let found = 0;
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) {
    bytes[at + 2] = (bytes[at + 2] as number) ^ 0x01;
    found++;
  }
  expect(found, `${text} in ${file}`).toBeGreaterThan(0);
  writeFileSync(file, bytes);
}
