import fs from 'node:fs';
import path from 'node:path';

import { DurabilityUnknownError } from '../errors.js';
import type { FileAccess } from './read-log.js';
import { tempNameFor } from './temp-files.js';

// Looked up on `fs` at each call (not bound once), so tests can inject faults.
const fsyncAsync = (fd: number) => new Promise<void>((resolve, reject) => fs.fsync(fd, (e) => (e ? reject(e) : resolve())));
const renameAsync = (from: string, to: string) =>
  new Promise<void>((resolve, reject) => fs.rename(from, to, (e) => (e ? reject(e) : resolve())));
const writeAsync = (fd: number, b: Buffer, off: number, len: number, pos: number) =>
  new Promise<number>((resolve, reject) => fs.write(fd, b, off, len, pos, (e, n) => (e ? reject(e) : resolve(n))));
const writevAsync = (fd: number, bs: Buffer[], pos: number) =>
  new Promise<number>((resolve, reject) => fs.writev(fd, bs, pos, (e, n) => (e ? reject(e) : resolve(n))));
/** At most this many buffers per writev(2): IOV_MAX is 1024 on Linux and macOS. */
const IOV_BATCH = 1024;

/** Above this size the write itself goes to the threadpool instead of the calling thread. */
const SYNC_WRITE_LIMIT = 256 * 1024;

/**
 * Replaces `file` with `data` so that a crash at any moment leaves either the
 * old or the new content, and resolves only once the new content is durable:
 *
 *   open a new temp file beside the target (O_EXCL) -> give it the access of
 *   the file it replaces (`keep`) -> write every byte, checking the count ->
 *   fsync -> close -> rename over the target -> fsync the directory, so that
 *   the rename itself survives a power cut.
 *
 * Any failure before the rename removes the temp file and leaves the target
 * untouched; the call rejects with the system error (ENOSPC, EFBIG, EIO…).
 * A directory fsync that fails after the rename rejects with
 * DurabilityUnknownError (EDURABILITY, the system error as `cause`): the
 * target IS the new content by then, only its durability is unknown.
 *
 * `keep` is the mode, owner and group of the file being replaced (null when
 * there is none): a log shared by a group (0660, another group) must not turn
 * into 0644 root:root because one writer rewrote it. The caller passes what it
 * already knows from its last stat (LogCache), so this costs one fstat of the
 * new temp file, plus fchown/fchmod only when something differs.
 *
 * Why the log does not go through write-file-atomic (the derived files do,
 * atomic-file.ts): it issues a single write(2) and never checks the byte
 * count, so under a full disk or a file-size limit it renames a torn file over
 * the target unless a hook writes the bytes first; it never fsyncs the
 * directory; and its chain of ~13 threadpool round trips per write cost more
 * than the fsyncs on our machines. Here only the two fsyncs (and large writes)
 * leave the calling thread: the other steps are page-cache operations that
 * take microseconds.
 */
export async function writeFileDurable(file: string, data: string | Buffer, keep: FileAccess | null = null): Promise<void> {
  const fd = await replaceDurably(file, data, false, keep);
  void fd;
}

/**
 * As writeFileDurable, but returns a descriptor of the new file, left open.
 * Holding it pins the inode: its number cannot be recycled for another file
 * while we hold it, which is what lets the store trust (dev, ino, size, mtime,
 * ctime) to mean "still the file we wrote". The caller must close it.
 */
export async function writeFileDurablePinned(file: string, data: string | Buffer | readonly Buffer[], keep: FileAccess | null = null): Promise<number> {
  return (await replaceDurably(file, data, true, keep)) as number;
}

async function replaceDurably(
  file: string,
  data: string | Buffer | readonly Buffer[],
  keepOpen: boolean,
  keep: FileAccess | null,
): Promise<number | null> {
  // Pieces (serialize.ts) of a small file are joined: one write(2) on this thread, as ever.
  const pieces = Array.isArray(data) ? (data as readonly Buffer[]) : null;
  const total = pieces === null ? 0 : pieces.reduce((n, b) => n + b.length, 0);
  let bytes: Buffer | null;
  if (typeof data === 'string') bytes = Buffer.from(data, 'utf8');
  else if (pieces === null) bytes = data as Buffer;
  else if (pieces.length === 1) bytes = pieces[0] as Buffer;
  else bytes = total > SYNC_WRITE_LIMIT ? null : Buffer.concat(pieces as Buffer[], total);
  const length = bytes === null ? total : bytes.length;
  const tmp = tempNameFor(file);
  let fd: number | null = fs.openSync(tmp, 'wx', 0o644);
  try {
    // Before the first byte: the content is never readable under a wider mode than the log's.
    if (keep !== null) keepAccess(fd, keep);
    if (bytes !== null) await writeAll(fd, bytes, tmp);
    else await writeAllPieces(fd, pieces as readonly Buffer[], total, tmp);
    await fsyncAsync(fd);
    if (!keepOpen) {
      fs.closeSync(fd);
      fd = null;
    }
    // Replacing a large file frees its blocks inside rename(2): milliseconds
    // for a log of megabytes, so that one goes to the threadpool.
    if (length > SYNC_WRITE_LIMIT) await renameAsync(tmp, file);
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
    // Past the rename the new version is what every reader sees: a plain EIO would say "not
    // written", and a caller retrying a partial close would apply it twice. Not retried: Linux
    // reports a failed writeback once, so a second fsync could succeed with the data lost.
    throw new DurabilityUnknownError(file, err);
  }
  return fd;
}

/**
 * Makes the version of `file` held open as `fd` durable (fsync it, then its directory) without
 * writing it, for a caller about to acknowledge what it found already written: a client_id retry
 * finds its trade in the log, but the writer that put it there may have died after its rename and
 * before its directory fsync, so a power cut could still take that version away. `fd` null: there
 * is no file, only the directory to sync. Rejects with the system error: nothing was written.
 */
export async function syncVersion(fd: number | null, file: string): Promise<void> {
  if (fd !== null) await fsyncAsync(fd);
  await fsyncDirectory(path.dirname(file));
}

/**
 * Writes all of `bytes` at offset 0 of `fd`, or rejects. A short count is not
 * an error by itself: loop, and the next write reports why the disk refused
 * (libuv returns the partial count first), so a full disk or a file-size limit
 * fails the call instead of leaving a truncated file. `name` is for the error.
 */
export async function writeAll(fd: number, bytes: Buffer, name: string): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    const n =
      bytes.length - off > SYNC_WRITE_LIMIT
        ? await writeAsync(fd, bytes, off, bytes.length - off, off)
        : fs.writeSync(fd, bytes, off, bytes.length - off, off);
    if (n <= 0) throw Object.assign(new Error(`EIO: write made no progress, ${name}`), { code: 'EIO', syscall: 'write', path: name });
    off += n;
  }
}

/**
 * writeAll for bytes held in pieces (a large log, serialize.ts): writev(2) on the threadpool, the
 * same loop on a short count (the next call reports why the disk refused), so nothing is joined
 * into one buffer first.
 */
async function writeAllPieces(fd: number, pieces: readonly Buffer[], total: number, name: string): Promise<void> {
  let off = 0;
  let i = 0; // the first piece not wholly written
  let into = 0; // how much of piece i is written
  while (off < total) {
    const batch: Buffer[] = [];
    for (let j = i; j < pieces.length && batch.length < IOV_BATCH; j++) {
      batch.push(j === i ? (pieces[j] as Buffer).subarray(into) : (pieces[j] as Buffer));
    }
    const n = await writevAsync(fd, batch, off);
    if (n <= 0) throw Object.assign(new Error(`EIO: write made no progress, ${name}`), { code: 'EIO', syscall: 'write', path: name });
    off += n;
    let left = n;
    while (left > 0 && i < pieces.length) {
      const rest = (pieces[i] as Buffer).length - into;
      if (left >= rest) {
        left -= rest;
        i++;
        into = 0;
      } else {
        into += left;
        left = 0;
      }
    }
  }
}

/**
 * Gives the new temp file `want`'s owner, group and mode. One fstat tells
 * what open(2) made of it: umask, a setgid directory, BSD group rules or a
 * default ACL all decide that, so it is read, not predicted. When nothing
 * differs (one writer user, the log created by it) that fstat is the whole
 * cost. A process that may not give the file away (EPERM: not root; EINVAL:
 * an owner this user namespace cannot name) keeps the group when it belongs to
 * it and otherwise writes the file as its own: refusing the write over it
 * would be worse. Extended attributes and ACLs are not carried over.
 */
function keepAccess(fd: number, want: FileAccess): void {
  const st = fs.fstatSync(fd);
  let chowned = false;
  if (st.uid !== want.uid || st.gid !== want.gid) {
    chowned = true;
    try {
      fs.fchownSync(fd, want.uid, want.gid);
    } catch (err) {
      if (!notPermitted(err)) throw err;
      if (st.gid !== want.gid) {
        try {
          fs.fchownSync(fd, -1, want.gid);
        } catch (err2) {
          if (!notPermitted(err2)) throw err2;
        }
      }
    }
  }
  // After the chown, which clears set-id bits: the mode is the last word.
  if (chowned || (st.mode & 0o7777) !== want.mode) fs.fchmodSync(fd, want.mode);
}

function notPermitted(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EPERM' || code === 'EINVAL';
}

/** Makes a rename in `dir` durable. POSIX asks for this; ext4 mostly does it anyway, others do not. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const fd = fs.openSync(dir, 'r');
  try {
    await fsyncAsync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
