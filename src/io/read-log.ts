import fs from 'node:fs';

import { validateLogShape } from '../domain/validate.js';
import type { TradeLog } from '../domain/types.js';
import { TradeLogCorruptError } from '../errors.js';

/** What identifies one version of the file on disk. */
export interface FileVersion {
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
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

export function sameVersion(a: FileVersion | null, b: FileVersion | null): boolean {
  if (a === null || b === null) return a === b;
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/** Stats the file; null when it does not exist. */
export async function statVersion(file: string): Promise<FileVersion | null> {
  try {
    return versionOf(await fs.promises.stat(file, { bigint: true }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Reads the trade log strictly: a missing file is an empty log; anything else
 * that is not a whole, well-formed log is TradeLogCorruptError, never "empty".
 * The original replaced a damaged log with an empty one and lost every trade.
 */
export async function readLog(file: string): Promise<LogSnapshot> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { log: emptyLog(), bytes: null, version: null };
    throw err;
  }
  try {
    // Version and bytes from the same descriptor: one version of the file.
    const version = versionOf(await fh.stat({ bigint: true }));
    const bytes = await fh.readFile();
    return { log: parseLog(file, bytes), bytes, version };
  } finally {
    await fh.close();
  }
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

/** The file's bytes and version, from one descriptor; null when the file does not exist. */
export async function readLogBytes(file: string): Promise<{ bytes: Buffer; version: FileVersion } | null> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const version = versionOf(await fh.stat({ bigint: true }));
    return { bytes: await fh.readFile(), version };
  } finally {
    await fh.close();
  }
}
