/**
 * A check of an LMDB data file (`data.mdb`) against its own meta pages, run before lmdb maps it.
 *
 * Why: LMDB maps the file and follows page numbers into the map. A file truncated below the pages
 * its meta says are in use (a disk that lost its tail, `truncate -s`, a half-copied file) makes the
 * first read past the end a SIGBUS that kills the process, or, when the truncation also dropped
 * the meta pages, makes lmdb treat the file as new and serve an empty database: an acceptor that
 * forgot its promises. Both were seen (issue 11). Reading the two meta pages with plain `read`s
 * first turns them into a refusal.
 *
 * The layout read (lmdb 3.x's liblmdb, `mdb.c`, 64-bit builds; the file format is native-endian and
 * word-size specific, so it is checked only where it can be read: little-endian 64-bit hosts):
 *
 *     page header (24 bytes): pgno u64, txnid u64, pad u16, flags u16 (P_META = 0x08), lower/upper
 *     MDB_meta at 24: magic u32 (0xBEEFC0DE), version u32, address u64, mapsize u64,
 *                     mm_dbs[2] (48 bytes each: pad u32 (dbs[0]: the page size), flags u16,
 *                     depth u16, branch, leaf, overflow, entries, root: u64 each),
 *                     last_pg u64 (at 144), txnid u64 (at 152)
 *
 * Meta pages 0 and 1 sit at offsets 0 and one page size. lmdb picks the one with the higher txnid
 * (`mdb_pick_meta`) without checking the other's magic, so both must be sound: magic and flags
 * right, the same page size, every root page and the last page inside the file.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';

const MDB_MAGIC = 0xbeefc0de;
const P_META = 0x08;
/** liblmdb's `P_INVALID`: the root of an empty tree. */
const P_INVALID = 0xffff_ffff_ffff_ffffn;
const HEADER = 24;
const META_BYTES = HEADER + 144;

/** What a sound file's meta pages say. */
export interface LmdbFileFacts {
  readonly pageSize: number;
  /** Bytes the meta pages say are in use: (last page + 1) * page size. */
  readonly usedBytes: number;
  readonly fileBytes: number;
  /** The id of the last committed transaction (the higher of the two meta pages'): a commit changes it. */
  readonly txnid: bigint;
}

/** True where the layout above can be read (little-endian, 64-bit). */
export function canCheckLmdbFiles(): boolean {
  return endianness() === 'LE' && /64/.test(process.arch);
}

/**
 * Reads the meta pages of the LMDB data file at `file` and resolves with what they say, or throws
 * an `Error` whose message says what is wrong (truncated, not an LMDB file, a damaged meta page).
 * Call it only on a file that exists; `canCheckLmdbFiles()` says whether it can run here.
 */
export function checkLmdbFile(file: string): LmdbFileFacts {
  const fd = openSync(file, 'r');
  try {
    const fileBytes = fstatSync(fd).size;
    if (fileBytes === 0) throw new Error('data.mdb is empty (0 bytes): truncated, or never written');
    const first = readMeta(fd, 0, fileBytes, 0);
    const second = readMeta(fd, first.pageSize, fileBytes, 1);
    if (second.pageSize !== first.pageSize) throw new Error(`the meta pages disagree on the page size (${first.pageSize} and ${second.pageSize})`);
    const lastPage = first.lastPage > second.lastPage ? first.lastPage : second.lastPage;
    const usedBytes = Number(lastPage + 1n) * first.pageSize;
    if (fileBytes < usedBytes) {
      throw new Error(`data.mdb is truncated: ${fileBytes} bytes, but its meta pages say ${usedBytes} bytes (${lastPage + 1n} pages of ${first.pageSize}) are in use`);
    }
    return { pageSize: first.pageSize, usedBytes, fileBytes, txnid: first.txnid > second.txnid ? first.txnid : second.txnid };
  } finally {
    closeSync(fd);
  }
}

interface Meta {
  readonly pageSize: number;
  readonly lastPage: bigint;
  readonly txnid: bigint;
}

function readMeta(fd: number, offset: number, fileBytes: number, index: number): Meta {
  const what = `meta page ${index}`;
  if (fileBytes < offset + META_BYTES) throw new Error(`data.mdb is truncated: ${fileBytes} bytes, too short for ${what}`);
  const bytes = Buffer.alloc(META_BYTES);
  const read = readSync(fd, bytes, 0, META_BYTES, offset);
  if (read !== META_BYTES) throw new Error(`data.mdb is truncated: could not read ${what}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(HEADER, true);
  if (magic !== MDB_MAGIC) throw new Error(`${what} has no LMDB magic number (0x${magic.toString(16)}): not an LMDB file, or damaged`);
  if ((view.getUint16(18, true) & P_META) === 0) throw new Error(`${what} is not marked as a meta page: damaged`);
  const pageSize = view.getUint32(HEADER + 24, true);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw new Error(`${what} has an impossible page size ${pageSize}: damaged`);
  const lastPage = view.getBigUint64(HEADER + 120, true);
  if (lastPage < 1n || lastPage > BigInt(Number.MAX_SAFE_INTEGER) / BigInt(pageSize)) throw new Error(`${what} has an impossible last page ${lastPage}: damaged`);
  for (const [db, at] of [['free-space', HEADER + 64], ['main', HEADER + 112]] as const) {
    const root = view.getBigUint64(at, true);
    if (root !== P_INVALID && (root < 2n || root > lastPage)) throw new Error(`${what}: the ${db} tree's root page ${root} is outside pages 2..${lastPage}: damaged`);
  }
  return { pageSize, lastPage, txnid: view.getBigUint64(HEADER + 128, true) };
}
