import fs from 'node:fs';
import path from 'node:path';

import { DurabilityUnknownError } from '../errors.js';
import type { Addon } from '../native/addon.js';
import type { FileAccess } from './read-log.js';
import { tempNameFor } from './temp-files.js';

// Looked up on `fs` (and on the addon) at each call, not bound once, so tests can inject faults.
const fsyncAsync = (fd: number) => new Promise<void>((resolve, reject) => fs.fsync(fd, (e) => (e ? reject(e) : resolve())));
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
 *   fsync -> rename over the target -> fsync the directory, so that the
 *   rename itself survives a power cut.
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
 * Where each step runs: open, the access and a write up to 256 KiB on the
 * calling thread (page-cache operations of microseconds); a larger write on
 * the threadpool; fsync, rename and the directory's fsync as one job of the
 * addon's (commitReplace), one threadpool round trip where three fs calls in
 * a row took two plus the event loop's turn between them — on a small VM each
 * costs tens of microseconds, most of what separated a small log's write from
 * the synchronous floor. Why not write-file-atomic (the derived files use it,
 * atomic-file.ts): it issues a single write(2) and never checks the byte
 * count, so under a full disk or a file-size limit it renames a torn file over
 * the target unless a hook writes the bytes first; it never fsyncs the
 * directory; and its ~13 threadpool round trips per write cost more than the
 * fsyncs.
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

/**
 * The addon, loaded on the first durable write rather than with this module: the reconciler and the
 * report read logs through io/ and never write one, and load no native code.
 */
let addonLoaded: Addon | null = null;
async function loadedAddon(): Promise<Addon> {
  addonLoaded ??= (await import('../native/addon.js')).addon;
  return addonLoaded;
}

/** commitReplace's outcome: null when every step succeeded, else the failed step (1 fsync, 2 rename, 3 directory) and its error. */
async function commit(fd: number, tmp: string, file: string): Promise<{ stage: 1 | 2 | 3; error: NodeJS.ErrnoException } | null> {
  const addon = addonLoaded ?? (await loadedAddon());
  return new Promise((resolve) =>
    addon.commitReplace(fd, tmp, file, path.dirname(file), null, (error, stage) => resolve(stage === 0 || error === null ? null : { stage, error })),
  );
}

async function replaceDurably(
  file: string,
  data: string | Buffer | readonly Buffer[],
  keepOpen: boolean,
  keep: FileAccess | null,
): Promise<number | null> {
  // Pieces (serialize.ts) go to writev(2) as they are: no copy of the log into one buffer.
  const pieces = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : Buffer.isBuffer(data) ? [data] : (data as readonly Buffer[]);
  const total = pieces.reduce((n, b) => n + b.length, 0);
  const tmp = tempNameFor(file);
  const fd = fs.openSync(tmp, 'wx', 0o644);
  let failed: { stage: 0 | 1 | 2 | 3; error: unknown } | null;
  try {
    // Before the first byte: the content is never readable under a wider mode than the log's.
    if (keep !== null) keepAccess(fd, keep);
    if (total > SYNC_WRITE_LIMIT) await writeAllPieces(fd, pieces, total, tmp);
    else if (pieces.length === 1) writeAllSync(fd, pieces[0] as Buffer, tmp);
    else writeAllPiecesSync(fd, pieces, total, tmp);
    failed = await commit(fd, tmp, file);
  } catch (err) {
    failed = { stage: 0, error: err }; // before the commit: nothing renamed
  }
  if (failed === null) {
    if (keepOpen) return fd;
    fs.closeSync(fd);
    return null;
  }
  fs.closeSync(fd);
  // Past the rename the new version is what every reader sees: a plain EIO would say "not
  // written", and a caller retrying a partial close would apply it twice. Not retried: Linux
  // reports a failed writeback once, so a second fsync could succeed with the data lost.
  if (failed.stage === 3) throw new DurabilityUnknownError(file, failed.error);
  fs.rmSync(tmp, { force: true });
  throw failed.stage === 2 ? Object.assign(failed.error as Error, { path: tmp, dest: file }) : failed.error;
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
  if (bytes.length <= SYNC_WRITE_LIMIT) return writeAllSync(fd, bytes, name);
  let off = 0;
  while (off < bytes.length) off += progress(await writeAsync(fd, bytes, off, bytes.length - off, off), name);
}

/** writeAll on the calling thread, for bytes up to SYNC_WRITE_LIMIT: no round trip to wait for. */
function writeAllSync(fd: number, bytes: Buffer, name: string): void {
  let off = 0;
  while (off < bytes.length) off += progress(fs.writeSync(fd, bytes, off, bytes.length - off, off), name);
}

/** The count a write(2) returned, or the error of one that made no progress. */
function progress(n: number, name: string): number {
  if (n <= 0) throw Object.assign(new Error(`EIO: write made no progress, ${name}`), { code: 'EIO', syscall: 'write', path: name });
  return n;
}

/**
 * writeAll for bytes held in pieces (serialize.ts): writev(2), on the threadpool (a large log), the
 * same loop on a short count (the next call reports why the disk refused), so nothing is joined
 * into one buffer first.
 */
async function writeAllPieces(fd: number, pieces: readonly Buffer[], total: number, name: string): Promise<void> {
  const cursor = new PieceCursor(pieces);
  for (let off = 0; off < total; ) {
    const n = progress(await writevAsync(fd, cursor.batch(), off), name);
    off += n;
    cursor.advance(n);
  }
}

/** writeAllPieces on the calling thread, for a log up to SYNC_WRITE_LIMIT. */
function writeAllPiecesSync(fd: number, pieces: readonly Buffer[], total: number, name: string): void {
  const cursor = new PieceCursor(pieces);
  for (let off = 0; off < total; ) {
    const n = progress(fs.writevSync(fd, cursor.batch(), off), name);
    off += n;
    cursor.advance(n);
  }
}

/** How far a writev loop got through its pieces: the next batch of at most IOV_BATCH buffers, from the first byte not yet written. */
class PieceCursor {
  readonly #pieces: readonly Buffer[];
  /** The first piece not wholly written, and how much of it is. */
  #i = 0;
  #into = 0;

  constructor(pieces: readonly Buffer[]) {
    this.#pieces = pieces;
  }

  batch(): Buffer[] {
    const out: Buffer[] = [];
    for (let j = this.#i; j < this.#pieces.length && out.length < IOV_BATCH; j++) {
      const piece = this.#pieces[j] as Buffer;
      out.push(j === this.#i && this.#into > 0 ? piece.subarray(this.#into) : piece);
    }
    return out;
  }

  advance(n: number): void {
    let left = n;
    while (left > 0 && this.#i < this.#pieces.length) {
      const rest = (this.#pieces[this.#i] as Buffer).length - this.#into;
      if (left >= rest) {
        left -= rest;
        this.#i++;
        this.#into = 0;
      } else {
        this.#into += left;
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
