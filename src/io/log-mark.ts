/**
 * The note a file store keeps in its lock file: which version of the log (device, inode, size,
 * mtime and ctime in nanoseconds) it last wrote. A store that reads the log in full (its first
 * write after a start, or after another program rewrote the file) cannot tell from the bytes
 * whether they are spelled exactly as serializeLog spells them — a Python writer gives the same
 * trades as `100.0` — so it used to serialize the whole log once to have bytes it may copy
 * (canonicalLayout: one JSON.stringify of 10,000 trades, a third of a cold store's first write).
 * When the note names the version just read, the file's own bytes are ours and serve as they are.
 *
 * The note is a hint, never a source of truth: written and read only under the exclusive lock,
 * after the version it names is durable; any other writer replaces the log by rename (a new
 * inode) or edits it in place (new times, where the clock is finer than the time between two
 * writes: docs/durability.md says what a coarse one allows), and then the note names another
 * version and is ignored. Missing, truncated (Python's `open(lock, "w")`), unreadable or unwritable: ignored.
 * Fixed length, so a note is always overwritten whole and never needs a truncate; written only
 * into a lock file that is empty or holds a note (readLockNote), never over other content.
 */
import fs from 'node:fs';

import type { VersionIdentity } from './read-log.js';

const HEADER = '# trade-state-engine: the log version it last wrote (a cache hint, safe to delete)\n';
/** The whole note: the header, then the five numbers padded with spaces to a fixed length, then "\n". */
const NOTE_BYTES = 200;
const NUMBERS = /^(\d+) (\d+) (\d+) (\d+) (\d+) *\n$/;

/** The note naming `v`, NOTE_BYTES long. */
export function logMarkBytes(v: VersionIdentity): Buffer {
  const line = `${v.dev} ${v.ino} ${v.size} ${v.mtimeNs} ${v.ctimeNs}`;
  return Buffer.from(`${HEADER}${line.padEnd(NOTE_BYTES - HEADER.length - 1)}\n`, 'latin1');
}

/**
 * Writes the note naming `v` at the start of the lock file open as `fd`. False when it could not
 * (a lock file opened read-only, a full disk): the next cold write then serializes in full.
 */
export function writeLogMark(fd: number, v: VersionIdentity): boolean {
  const bytes = logMarkBytes(v);
  try {
    return fs.writeSync(fd, bytes, 0, bytes.length, 0) === bytes.length;
  } catch {
    return false;
  }
}

/** What the start of a lock file says: the version a whole note there names, and whether a note may be written. */
export interface LockNote {
  /** The version a whole note names; null when there is none. */
  readonly version: VersionIdentity | null;
  /**
   * Whether the file holds nothing but a note of ours (or nothing at all), so that writing one
   * destroys nothing. A lock file with any other content — a pid file, or by mistake the log or
   * its settings file — is never written.
   */
  readonly writable: boolean;
}

const NO_NOTE: LockNote = { version: null, writable: false };

/** The start of the lock file open as `fd` (LockNote); what cannot be read is no note and not writable. */
export function readLockNote(fd: number): LockNote {
  // One byte more than a note: a longer file is not ours to overwrite.
  const buf = Buffer.allocUnsafe(NOTE_BYTES + 1);
  let n: number;
  try {
    n = fs.readSync(fd, buf, 0, buf.length, 0);
  } catch {
    return NO_NOTE;
  }
  if (n === 0) return { version: null, writable: true };
  if (n > NOTE_BYTES) return NO_NOTE;
  const text = buf.toString('latin1', 0, n);
  if (!text.startsWith(HEADER)) return HEADER.startsWith(text) ? { version: null, writable: true } : NO_NOTE;
  const m = n === NOTE_BYTES ? NUMBERS.exec(text.slice(HEADER.length)) : null;
  if (m === null) return { version: null, writable: true }; // a note of ours, torn: rewritten whole next time
  const [dev, ino, size, mtimeNs, ctimeNs] = m.slice(1).map((d) => BigInt(d)) as [bigint, bigint, bigint, bigint, bigint];
  return { version: { dev, ino, size, mtimeNs, ctimeNs }, writable: true };
}
