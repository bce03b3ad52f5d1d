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
 * inode) or edits it in place (a new ctime), and then the note names another version and is
 * ignored. Missing, truncated (Python's `open(lock, "w")`), unreadable or unwritable: ignored.
 * Fixed length, so a note is always overwritten whole and never needs a truncate.
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

/** The version the note in the lock file open as `fd` names, or null when there is no whole note. */
export function readLogMark(fd: number): VersionIdentity | null {
  const buf = Buffer.allocUnsafe(NOTE_BYTES);
  let n: number;
  try {
    n = fs.readSync(fd, buf, 0, NOTE_BYTES, 0);
  } catch {
    return null;
  }
  if (n !== NOTE_BYTES) return null;
  const text = buf.toString('latin1');
  if (!text.startsWith(HEADER)) return null;
  const m = NUMBERS.exec(text.slice(HEADER.length));
  if (m === null) return null;
  const [dev, ino, size, mtimeNs, ctimeNs] = m.slice(1).map((d) => BigInt(d)) as [bigint, bigint, bigint, bigint, bigint];
  return { dev, ino, size, mtimeNs, ctimeNs };
}
