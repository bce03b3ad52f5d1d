/**
 * The write path of the derived files: the reconciler's portfolio, equity,
 * risk_state and setup_performance JSON and its history file, and the HTML
 * report. They are rewritten every cycle for dashboards and other users to
 * read, so what write-file-atomic is made for fits them: it keeps the mode,
 * owner and group of the file it replaces, and serializes writes of one file
 * inside one process. The trade log keeps its own path (durable-write.ts,
 * docs/durability.md says why).
 *
 * Three gaps of write-file-atomic are closed here:
 * - its write is one write(2) whose count it never checks: under a full disk
 *   or a file-size limit a short write would be renamed over the target, a
 *   truncated file. Its `tmpfileCreated` hook runs after it created (and
 *   truncated) the temp file and before its own write: the hook writes every
 *   byte first, with the checked loop of durable-write.ts, so a short write
 *   fails the call and the temp file is removed. Its own write then rewrites
 *   the same bytes in place, which cannot shorten the file;
 * - it does not fsync the directory: done after the rename, so the new
 *   version survives a power cut, as the log's does;
 * - its exit hook would leave SIGXFSZ deadly to the process (keepIgnoringXfsz).
 * Cost: the bytes are written twice (page cache; files of kilobytes, the
 * report a few hundred).
 */
import fs from 'node:fs';
import path from 'node:path';

import writeFileAtomic from 'write-file-atomic';

import { fsyncDirectory, writeAll } from './durable-write.js';

/**
 * Replaces `file` with `data` atomically and durably: a crash leaves the old
 * or the new content whole; a disk error rejects with the system error (code,
 * errno, syscall) and leaves the old content. Keeps the replaced file's mode,
 * and its owner and group where the process may set them.
 */
export async function writeAtomicFile(file: string, data: string | Buffer): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  keepIgnoringXfsz();
  await writeFileAtomic(file, bytes, { fsync: true, tmpfileCreated: (tmp) => writeWhole(tmp, bytes) });
  // write-file-atomic renamed over the real path: for a symlink, that is in the link target's directory.
  await fsyncDirectory(path.dirname(realPath(file)));
}

/**
 * Node ignores SIGXFSZ, so that a write past the file-size limit (ulimit -f)
 * fails with EFBIG, which every write path here reports, instead of killing
 * the process. write-file-atomic's exit hook (signal-exit) listens for SIGXFSZ
 * while it writes: it would catch the signal the kernel sends with that EFBIG,
 * re-raise it and kill the process; and when it stops listening, libuv puts
 * the signal back to its default, kill, not to ignored, for the rest of the
 * process's life, the trade log's own writes included. A listener of ours that
 * does nothing keeps Node's behaviour: signal-exit leaves alone a signal that
 * someone else handles, and the handler stays installed after it unloads.
 * Installed at the first write through here, never removed; a user's own
 * SIGXFSZ listeners still run.
 */
let xfszKept = false;
function keepIgnoringXfsz(): void {
  if (xfszKept) return;
  xfszKept = true;
  process.on('SIGXFSZ', ignoreSignal);
}
function ignoreSignal(): void {
  // deliberately nothing: the failed write reports EFBIG
}

/** Every byte into the temp file write-file-atomic created, or a rejection with the disk's error. */
async function writeWhole(tmp: string, bytes: Buffer): Promise<void> {
  let fd: number;
  try {
    fd = fs.openSync(tmp, fs.constants.O_WRONLY);
  } catch (err) {
    // Created with a read-only target's mode: our own file, so make it writable;
    // write-file-atomic sets the target's mode again before the rename.
    if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
    fs.chmodSync(tmp, 0o600);
    fd = fs.openSync(tmp, fs.constants.O_WRONLY);
  }
  try {
    await writeAll(fd, bytes, tmp);
  } finally {
    fs.closeSync(fd);
  }
}

function realPath(file: string): string {
  try {
    return fs.realpathSync.native(file);
  } catch {
    return file; // deleted meanwhile: the directory of the path given is the best left to sync
  }
}
