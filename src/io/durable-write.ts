import fs from 'node:fs';
import path from 'node:path';

import { tempNameFor } from './temp-files.js';

// Looked up on `fs` at each call (not bound once), so tests can inject faults.
const fsyncAsync = (fd: number) => new Promise<void>((resolve, reject) => fs.fsync(fd, (e) => (e ? reject(e) : resolve())));
const renameAsync = (from: string, to: string) =>
  new Promise<void>((resolve, reject) => fs.rename(from, to, (e) => (e ? reject(e) : resolve())));
const writeAsync = (fd: number, b: Buffer, off: number, len: number, pos: number) =>
  new Promise<number>((resolve, reject) => fs.write(fd, b, off, len, pos, (e, n) => (e ? reject(e) : resolve(n))));

/** Above this size the write itself goes to the threadpool instead of the calling thread. */
const SYNC_WRITE_LIMIT = 256 * 1024;

/**
 * Replaces `file` with `data` so that a crash at any moment leaves either the
 * old or the new content, and resolves only once the new content is durable:
 *
 *   open a new temp file beside the target (O_EXCL) -> write every byte,
 *   checking the count -> fsync -> close -> rename over the target ->
 *   fsync the directory, so that the rename itself survives a power cut.
 *
 * Any failure before the rename removes the temp file and leaves the target
 * untouched; the call rejects with the system error (ENOSPC, EFBIG, EIO…).
 *
 * Why not write-file-atomic: it issues a single write(2) and never checks the
 * byte count, so under a full disk or a file-size limit it renames a torn file
 * over the target; it never fsyncs the directory; and its chain of ~13
 * threadpool round trips per write cost more than the fsyncs on our machines.
 * Here only the two fsyncs (and large writes) leave the calling thread: the
 * other steps are page-cache operations that take microseconds.
 */
export async function writeFileDurable(file: string, data: string | Buffer): Promise<void> {
  const fd = await replaceDurably(file, data, false);
  void fd;
}

/**
 * As writeFileDurable, but returns a descriptor of the new file, left open.
 * Holding it pins the inode: its number cannot be recycled for another file
 * while we hold it, which is what lets the store trust (dev, ino, size, mtime,
 * ctime) to mean "still the file we wrote". The caller must close it.
 */
export async function writeFileDurablePinned(file: string, data: string | Buffer): Promise<number> {
  return (await replaceDurably(file, data, true)) as number;
}

async function replaceDurably(file: string, data: string | Buffer, keepOpen: boolean): Promise<number | null> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const tmp = tempNameFor(file);
  let fd: number | null = fs.openSync(tmp, 'wx', 0o644);
  try {
    let off = 0;
    while (off < bytes.length) {
      // A short count is not an error by itself: loop, and the next write
      // reports why the disk refused (libuv returns the partial count first).
      const n =
        bytes.length - off > SYNC_WRITE_LIMIT
          ? await writeAsync(fd, bytes, off, bytes.length - off, off)
          : fs.writeSync(fd, bytes, off, bytes.length - off, off);
      if (n <= 0) throw Object.assign(new Error(`EIO: write made no progress, ${tmp}`), { code: 'EIO', syscall: 'write', path: tmp });
      off += n;
    }
    await fsyncAsync(fd);
    if (!keepOpen) {
      fs.closeSync(fd);
      fd = null;
    }
    // Replacing a large file frees its blocks inside rename(2): milliseconds
    // for a log of megabytes, so that one goes to the threadpool.
    if (bytes.length > SYNC_WRITE_LIMIT) await renameAsync(tmp, file);
    else fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  try {
    await fsyncDirectory(path.dirname(file));
  } catch (err) {
    if (fd !== null) fs.closeSync(fd);
    throw err;
  }
  return fd;
}

/** Makes a rename in `dir` durable. POSIX asks for this; ext4 mostly does it anyway, others do not. */
async function fsyncDirectory(dir: string): Promise<void> {
  const fd = fs.openSync(dir, 'r');
  try {
    await fsyncAsync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
