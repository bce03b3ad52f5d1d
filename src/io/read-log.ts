import fs from 'node:fs';

import { validateLogShape } from '../domain/validate.js';
import type { TradeLog } from '../domain/types.js';
import { TradeLogCorruptError } from '../errors.js';

/** Who may use a file: what a rewrite carries over to the new version (durable-write.ts). */
export interface FileAccess {
  /** Permission bits (st_mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
}

/**
 * What identifies one version of the file on disk, plus its access, which is
 * not part of the identity (sameVersion ignores it: a chmod or chown changes
 * ctime) but rides along so that a writer knows the file it replaces without
 * a stat of its own.
 */
export interface FileVersion extends FileAccess {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export interface LogSnapshot {
  log: TradeLog;
  /** The bytes read, or null when the file does not exist. */
  bytes: Buffer | null;
  version: FileVersion | null;
}

export const emptyLog = (): TradeLog => ({ trades: [], next_id: 1 });

export function versionOf(st: fs.BigIntStats): FileVersion {
  return {
    dev: st.dev,
    ino: st.ino,
    size: st.size,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
  };
}

/** What identifies a version of a file (sameVersion compares these). */
export type VersionIdentity = Pick<FileVersion, 'dev' | 'ino' | 'size' | 'mtimeNs' | 'ctimeNs'>;

export function sameVersion(a: VersionIdentity | null, b: VersionIdentity | null): boolean {
  if (a === null || b === null) return a === b;
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/** Stats the file; null when it does not exist. */
export function statVersionSync(file: string): FileVersion | null {
  // throwIfNoEntry: a missing file is an answer, not an error (building one costs a stack trace).
  const st = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
  return st === undefined ? null : versionOf(st);
}

/**
 * Whether `file` exists. Only ENOENT means "no": anything else (EACCES, ENOTDIR…) is thrown,
 * since a path we cannot look at is not known to be missing. The one test of "the log is
 * missing", for TradeStore#exists() and the CLI's refusal of a missing log.
 */
export async function fileExists(file: string): Promise<boolean> {
  try {
    await fs.promises.stat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Reads the trade log strictly: a missing file is an empty log; anything else
 * that is not a whole, well-formed log is TradeLogCorruptError, never "empty".
 * The original replaced a damaged log with an empty one and lost every trade.
 */
export function readLog(file: string): LogSnapshot {
  const got = readLogBytes(file);
  if (got === null) return { log: emptyLog(), bytes: null, version: null };
  return { log: parseLog(file, got.bytes), bytes: got.bytes, version: got.version };
}

export function parseLog(file: string, bytes: Buffer): TradeLog {
  const text = bytes.toString('utf8');
  if (text.trim() === '') throw new TradeLogCorruptError(file, 'the file is empty (truncated)');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    // V8 names the offset where parsing stopped; at the very end means the text was cut short.
    const at = /position (\d+)/.exec(msg);
    const truncated = /end of (JSON )?input|Unterminated/i.test(msg) || (at !== null && Number(at[1]) >= text.trimEnd().length);
    throw new TradeLogCorruptError(file, truncated ? `truncated JSON (${msg})` : `unparseable JSON (${msg})`, { cause: err });
  }
  const problem = validateLogShape(data);
  if (problem !== null) throw new TradeLogCorruptError(file, `wrong shape: ${problem}`);
  return data as TradeLog;
}

/** Reused for "is it still the same file?" reads, so that a cache hit allocates nothing. */
let scratch = Buffer.alloc(0);

/** Reads from `fd` until end of file into `into` (grown if needed); returns the bytes read. */
function readAll(fd: number, sizeHint: number, into: Buffer | null): Buffer {
  let buf = into !== null && into.length >= sizeHint + 1 ? into : Buffer.allocUnsafe(sizeHint + 1);
  let n = 0;
  for (;;) {
    if (n === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, n);
      buf = bigger;
    }
    const r = fs.readSync(fd, buf, n, buf.length - n, n);
    if (r === 0) break;
    n += r;
  }
  return buf.subarray(0, n);
}

/**
 * The file's bytes and version, from one descriptor; null when it does not
 * exist. When `known` still describes the file (same version, same bytes),
 * returns `known.bytes` itself, so callers can tell a hit by identity.
 *
 * Synchronous on purpose: these are page-cache reads of one file, microseconds
 * to a millisecond, where each asynchronous step would cost a threadpool round
 * trip of 50-100 µs.
 */
export function readLogBytes(file: string, known: { version: FileVersion; bytes: Buffer } | null = null): { bytes: Buffer; version: FileVersion } | null {
  const fd = openIfExists(file);
  if (fd === null) return null;
  try {
    const version = fdVersion(fd);
    const size = Number(version.size);
    if (known !== null && sameVersion(known.version, version)) {
      if (scratch.length < size + 1) scratch = Buffer.allocUnsafe(size + 1);
      const now = readAll(fd, size, scratch);
      if (now.equals(known.bytes)) return { bytes: known.bytes, version };
      return { bytes: Buffer.from(now), version };
    }
    return { bytes: readAll(fd, size, null), version };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Opens the log and reads it whole, leaving the descriptor open (the caller
 * owns it): holding it pins the inode, as writeFileDurablePinned does for the
 * writer. Null when the file does not exist.
 */
export function readLogPinned(file: string): { fd: number; bytes: Buffer; version: FileVersion } | null {
  const fd = openIfExists(file);
  if (fd === null) return null;
  try {
    const version = fdVersion(fd);
    return { fd, bytes: readAll(fd, Number(version.size), null), version };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

function openIfExists(file: string): number | null {
  try {
    return fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** fstat of a descriptor as a FileVersion. */
export function fdVersion(fd: number): FileVersion {
  return versionOf(fs.fstatSync(fd, { bigint: true }));
}
