/**
 * Small real filesystems for tests of a full or failing disk: a tmpfs of a given size mounted on a
 * fresh directory, which a test can fill, grow (`mount -o remount,size=...`), make read-only and
 * writable again. Needs root (CI and this project's machines run as root); where `mount` is
 * refused, `tmpfsUnavailableReason()` says why, for tests to skip loudly.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A mounted tmpfs. */
export interface Tmpfs {
  /** Where it is mounted. */
  readonly dir: string;
  /** Grows (or shrinks, down to what it holds) the filesystem to `bytes`. */
  resize(bytes: number): void;
  /** Remounts it read-only: every write gets EROFS. */
  readOnly(): void;
  /** Remounts it writable. */
  writable(): void;
  /** Bytes free on it now. */
  available(): number;
  /**
   * Writes a filler file of as many bytes as are free, less `leave`: the disk fills as it would
   * with another program's files. Returns the bytes written.
   */
  fill(leave?: number): number;
  /** Unmounts it and removes its directory (whatever it held is gone). */
  unmount(): void;
}

let availability: string | undefined | null = null;

function run(args: readonly string[]): string | undefined {
  const result = spawnSync(args[0] as string, args.slice(1), { encoding: 'utf8' });
  if (result.error !== undefined) return `${args.join(' ')}: ${result.error.message}`;
  if (result.status !== 0) return `${args.join(' ')} exited with ${result.status}: ${result.stderr.trim()}`;
  return undefined;
}

/** Why tmpfs mounts cannot be made here (not root, no `mount`, no permission), or `undefined`. Checked once. */
export function tmpfsUnavailableReason(): string | undefined {
  if (availability !== null) return availability;
  if (process.platform !== 'linux') availability = `tmpfs mounts need Linux (this is ${process.platform})`;
  else {
    const probe = mkdtempSync(join(tmpdir(), 'caspaxos-tmpfs-probe-'));
    availability = run(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]);
    if (availability === undefined) availability = run(['umount', probe]);
    rmSync(probe, { recursive: true, force: true });
  }
  return availability;
}

/** Skips the caller's tests loudly when no tmpfs can be mounted: returns true when they must be skipped. */
export function skipWithoutTmpfs(what: string): boolean {
  const reason = tmpfsUnavailableReason();
  if (reason === undefined) return false;
  console.warn(`\n*** SKIPPING ${what}: cannot mount a tmpfs (${reason}); these tests need root on Linux ***\n`);
  return true;
}

/** Mounts a tmpfs of `bytes` on a fresh directory. */
export function mountTmpfs(bytes: number): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), 'caspaxos-tmpfs-'));
  const must = (args: readonly string[]): void => {
    const failure = run(args);
    if (failure !== undefined) throw new Error(failure);
  };
  must(['mount', '-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir]);
  let fillers = 0;
  return {
    dir,
    resize: (size) => must(['mount', '-o', `remount,size=${size}`, dir]),
    readOnly: () => must(['mount', '-o', 'remount,ro', dir]),
    writable: () => must(['mount', '-o', 'remount,rw', dir]),
    available() {
      const fs = statfsSync(dir);
      return fs.bavail * fs.bsize;
    },
    fill(leave = 0) {
      const size = Math.max(0, this.available() - leave);
      writeFileSync(join(dir, `filler-${++fillers}`), Buffer.alloc(size));
      return size;
    },
    unmount() {
      // Lazy: a process that still has a file open there (a killed acceptor's lmdb) lets go later.
      run(['umount', '-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A small ext4 filesystem in an image file on a loop device, mounted with `errors=remount-ro`: the
 * way a disk turns read-only under a running process. (`mount -o remount,ro` cannot: Linux refuses
 * it, "mount point is busy", while a process holds a file there open for writing, as LMDB does.)
 */
export interface Ext4 {
  readonly dir: string;
  /**
   * Makes the kernel record a filesystem error (`/sys/fs/ext4/<dev>/trigger_fs_error`): with
   * `errors=remount-ro` it remounts the filesystem read-only at once ("emergency_ro"), and every
   * write gets EROFS until it is unmounted (and checked).
   */
  failReadOnly(): void;
  /** Sets or clears the immutable attribute of `file` (`chattr +i`): writes to it get EPERM, even through a descriptor already open. */
  immutable(file: string, on: boolean): void;
  /**
   * What an operator does after the kernel's error remount: unmount (nothing may hold a file open
   * there: stop the processes first), check (`e2fsck -fy`), mount again writable.
   */
  recover(): void;
  /** Unmounts it (lazily) and deletes the image and the directory. */
  unmount(): void;
}

let ext4Availability: string | undefined | null = null;

/** Why an ext4 loop mount cannot be made here, or `undefined`. Checked once. */
export function ext4UnavailableReason(): string | undefined {
  if (ext4Availability !== null) return ext4Availability;
  ext4Availability = tmpfsUnavailableReason();
  if (ext4Availability === undefined) {
    try {
      mountExt4(4 * 1024 * 1024).unmount();
    } catch (error) {
      ext4Availability = (error as Error).message;
    }
  }
  return ext4Availability;
}

/** Skips the caller's tests loudly when no ext4 loop mount can be made: returns true when they must be skipped. */
export function skipWithoutExt4(what: string): boolean {
  const reason = ext4UnavailableReason();
  if (reason === undefined) return false;
  console.warn(`\n*** SKIPPING ${what}: cannot mount an ext4 image on a loop device (${reason}); these tests need root on Linux, mkfs.ext4 and loop devices ***\n`);
  return true;
}

/** Makes and mounts an ext4 filesystem of `bytes` (in an image file on a loop device). */
export function mountExt4(bytes: number): Ext4 {
  const home = mkdtempSync(join(tmpdir(), 'caspaxos-ext4-'));
  const image = join(home, 'disk.img');
  const dir = join(home, 'mnt');
  const must = (args: readonly string[]): void => {
    const failure = run(args);
    if (failure !== undefined) throw new Error(failure);
  };
  try {
    must(['truncate', '-s', String(bytes), image]);
    must(['mkfs.ext4', '-q', '-F', image]);
    must(['mkdir', dir]);
    must(['mount', '-o', 'loop,errors=remount-ro', image, dir]);
  } catch (error) {
    rmSync(home, { recursive: true, force: true });
    throw error;
  }
  const device = (): string => {
    const line = spawnSync('findmnt', ['-n', '-o', 'SOURCE', dir], { encoding: 'utf8' }).stdout.trim();
    if (!line.startsWith('/dev/')) throw new Error(`no device mounted on ${dir}`);
    return line.slice('/dev/'.length);
  };
  return {
    dir,
    failReadOnly: () => writeFileSync(`/sys/fs/ext4/${device()}/trigger_fs_error`, '1'),
    immutable: (file, on) => must(['chattr', on ? '+i' : '-i', file]),
    recover() {
      must(['umount', dir]);
      // e2fsck exits 1 when it corrected errors (the recorded one): not a failure.
      const fsck = spawnSync('e2fsck', ['-fy', image], { encoding: 'utf8' });
      if (fsck.status !== 0 && fsck.status !== 1) throw new Error(`e2fsck -fy ${image} exited with ${fsck.status}: ${fsck.stdout}${fsck.stderr}`);
      must(['mount', '-o', 'loop,errors=remount-ro', image, dir]);
    },
    unmount() {
      run(['umount', '-l', dir]);
      rmSync(home, { recursive: true, force: true });
    },
  };
}
