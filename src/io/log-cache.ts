/**
 * One parsed version of the trade log, kept between reads: the store reads
 * through it (its own reads and the read step of every write) and writes
 * through it; the reconciler reads through it once per cycle.
 *
 * Reads are strict (readLog's rules: missing = empty, damaged =
 * TradeLogCorruptError) and lock-free: every writer replaces the file by
 * rename, so one open descriptor sees one whole version. The cached version
 * is reused while the path provably names it: the same device and inode,
 * with the same size, mtime and ctime. We hold that inode open, so its number
 * cannot have been recycled for another writer's file; an in-place edit
 * changes size or times. When the file did change:
 *
 * - the same bytes as the cached version (a rewrite of identical content):
 *   the cached parse is kept, so a caller can tell "nothing new" by identity;
 * - a few trades changed (what one write by another process does): only the
 *   changed bytes are parsed, spliced between the unchanged trades already
 *   parsed (src/io/incremental.ts: exact, or it declines);
 * - anything else: parsed in full.
 *
 * Never mutate what read() returns or what was given to write(): the next
 * read returns the same objects, and the next splice or serialization reuses
 * the trades by identity (the store freezes them).
 */
import fs from 'node:fs';

import { knownChanges } from '../domain/log-index.js';
import type { Trade, TradeLog } from '../domain/types.js';
import { syncVersion, writeFileDurablePinned } from './durable-write.js';
import { layoutOf, spliceParse, worthSplicing, type Layout } from './incremental.js';
import { fdVersion, parseLog, readLogPinned, sameVersion, statVersionSync, type FileVersion, type VersionIdentity } from './read-log.js';
import { canonicalLayout, isTradeBytes, layoutOfSerialized, Pieces, serializeLog, type WrittenLayout } from './serialize.js';

/** How read() got its answer: no file, the cached parse, a splice onto it, or a full parse. */
export type ReadKind = 'missing' | 'unchanged' | 'incremental' | 'full';

interface Entry {
  version: FileVersion;
  /** Open descriptor of this version's inode, so its number cannot be recycled while cached. */
  fd: number;
  /** Its bytes (as written: in pieces, joined only if a read compares or splices against them). */
  data: Pieces;
  log: TradeLog;
  /**
   * Where each trade sits in `data` (its buf is `data.buf`). undefined: not
   * scanned yet (a full parse does not need it, and a one-shot reader never
   * does); null: this version cannot serve as a base for a splice.
   */
  layout: WrittenLayout | null | undefined;
  /**
   * Whether every trade's span in `layout` is serializeLog's bytes for it, so that a write may copy
   * them: a version we wrote, or one spliced onto such a version whose newly parsed trades are
   * spelled as we would (another writer may spell the same trade 100.0 or "caf\u00e9").
   */
  ours: boolean;
  /** canonicalLayout of `log`, once asked for (a version parsed in full that a write starts from). */
  canonical?: WrittenLayout | null;
}

/** The cached version's descriptor, closed when its cache is garbage-collected without close(). */
interface Pin {
  fd: number | null;
}
const pins = new FinalizationRegistry<Pin>((pin) => {
  if (pin.fd !== null) fs.close(pin.fd, () => {});
});

const EMPTY: TradeLog = Object.freeze({ trades: Object.freeze([]) as unknown as Trade[], next_id: 1 }) as TradeLog;

export class LogCache {
  readonly file: string;
  #entry: Entry | null = null;
  readonly #pin: Pin = { fd: null };
  #holds = 0;
  /** Descriptors of replaced versions, closed at the last release(). */
  #toClose: number[] = [];

  /** `file` is used as given: resolve it first if the working directory may change. */
  constructor(file: string) {
    this.file = file;
    pins.register(this, this.#pin);
  }

  /** The log as on disk now. The returned log may be the previous call's: never mutate it. */
  read(): { log: TradeLog; kind: ReadKind } {
    const c = this.#entry;
    if (c !== null) {
      const now = statVersionSync(this.file);
      if (now !== null && sameVersion(c.version, now)) return { log: c.log, kind: 'unchanged' };
    }
    const snap = readLogPinned(this.file);
    if (snap === null) {
      this.#set(null);
      return { log: EMPTY, kind: 'missing' };
    }
    const bytes = snap.bytes;
    let data = new Pieces([bytes]);
    let log: TradeLog;
    let layout: WrittenLayout | null | undefined;
    let kind: ReadKind;
    let ours = false;
    try {
      if (c !== null && bytes.equals(c.data.buf)) {
        ({ data, log, layout, ours } = c); // the cached bytes, which the layout describes (its buf)
        kind = 'unchanged';
      } else {
        const inc = c === null ? null : splice(c, bytes);
        if (inc !== null) {
          log = inc.log;
          layout = { ...inc.layout, trades: inc.log.trades, buf: bytes };
          ours = c !== null && c.ours && isOurs(layout, inc.parsed);
          kind = 'incremental';
        } else {
          // Throws TradeLogCorruptError; the cached version stays the base for the next read.
          log = parseLog(this.file, bytes);
          layout = undefined;
          kind = 'full';
        }
      }
    } catch (err) {
      fs.closeSync(snap.fd);
      throw err;
    }
    this.#set({ version: snap.version, fd: snap.fd, data, log, layout, ours });
    return { log, kind };
  }

  /**
   * Replaces the file with `log` durably (io/durable-write.ts), serialized by
   * copying the unchanged trades' bytes of the cached version, and caches it:
   * the next read() is a stat while nobody else writes. The new version keeps
   * the replaced one's mode, owner and group, known from the cached version's
   * stat: a writer reads (at least stats) right before it writes, so that is
   * the file on disk now, and a chmod or chown since would have changed its
   * ctime and made that read a fresh one. Only without a cached version
   * (no file, or none read yet) does this stat the file itself. `written`: the version a store of
   * ours last wrote, when known (the lock file's note, io/log-mark.ts), for a version read in full.
   */
  async write(log: TradeLog, written: VersionIdentity | null = null): Promise<void> {
    const { pieces, layout } = serializeLog(log, this.#base(log, written));
    const keep = this.#entry?.version ?? statVersionSync(this.file);
    // Whatever happens next, the old version no longer describes the file for sure (after a
    // DurabilityUnknownError the file is the new version: the next read() reads it from disk).
    this.#set(null);
    const fd = await writeFileDurablePinned(this.file, pieces.list, keep);
    this.#set({ version: fdVersion(fd), fd, data: pieces, log, layout, ours: true });
  }

  /**
   * The cached version, when its bytes are all serializeLog's (a version this cache wrote, or one
   * it adopted): what the lock file's note records after a write (io/log-mark.ts).
   */
  ownVersion(): FileVersion | null {
    const c = this.#entry;
    return c !== null && c.ours ? c.version : null;
  }

  /**
   * The layout to copy unchanged trades from, if `log` was derived from the cached version
   * (log-index.ts), not for a log that replaces it whole: the cached version's when its bytes are
   * ours; else its own bytes when `written` names it and they prove to be ours (adopt); else the
   * log's canonical bytes (canonicalLayout: one JSON.stringify of the whole log).
   */
  #base(log: TradeLog, written: VersionIdentity | null): WrittenLayout | null {
    const c = this.#entry;
    if (c === null) return null;
    if (c.layout && c.ours) return c.layout;
    if (c.canonical === undefined) {
      const derived = knownChanges(c.log.trades, log.trades) !== null;
      c.canonical = !derived ? null : written !== null && adopt(c, written) ? (c.layout as WrittenLayout) : canonicalLayout(c.log);
    }
    return c.canonical;
  }

  /**
   * Makes the version last read or written durable without writing it: fsync of its pinned
   * descriptor, then of the directory (durable-write.ts syncVersion). For a writer that
   * acknowledges what it found already in the file (a client_id retry): the writer of that
   * version may have died between its rename and its directory fsync. Call it under the lock,
   * right after read(), so that the cached version is the file's. Rejects with the system error.
   */
  async syncCurrent(): Promise<void> {
    await syncVersion(this.#entry?.fd ?? null, this.file);
  }

  /**
   * Until the matching release(), descriptors of replaced versions stay open.
   * Ours is often the last reference to a replaced version, and the kernel
   * frees its blocks in close(2): a writer holds across lock -> write ->
   * unlock so that this happens after the unlock, off the caller's path.
   */
  hold(): void {
    this.#holds++;
  }

  /** Ends a hold(); the last one closes the replaced descriptors on the threadpool, after this tick. */
  release(): void {
    if (--this.#holds > 0 || this.#toClose.length === 0) return;
    const fds = this.#toClose.splice(0);
    setImmediate(() => fds.forEach((fd) => fs.close(fd, () => {})));
  }

  /** Drops the cached version and closes its descriptor. The cache stays usable (the next read reopens). */
  close(): void {
    this.#set(null);
  }

  #set(next: Entry | null): void {
    const old = this.#entry;
    this.#entry = next;
    this.#pin.fd = next?.fd ?? null;
    if (old === null || old.fd === next?.fd) return;
    if (this.#holds > 0) this.#toClose.push(old.fd);
    else fs.closeSync(old.fd);
  }
}

/**
 * Takes the version `c` read in full as serializeLog's bytes when `written` is that very
 * version (the lock file's note: another store of ours wrote it), giving it the layout of its own
 * bytes. Checked, not trusted blindly: the bytes must have serializeLog's layout for these trades,
 * and the first and last trades must be spelled exactly as it spells them. True when taken.
 */
function adopt(c: Entry, written: VersionIdentity): boolean {
  if (!sameVersion(c.version, written)) return false;
  const layout = layoutOfSerialized(c.log.trades, c.data.buf);
  if (layout === null) return false;
  const last = layout.trades.length - 1;
  if (!isOurs(layout, [0, 1]) || !isOurs(layout, [last, last + 1])) return false;
  c.layout = layout;
  c.ours = true;
  return true;
}

/** Whether the trades parsed at positions [from, to) of a splice onto our bytes are spelled as ours. */
function isOurs(layout: WrittenLayout, [from, to]: readonly [number, number]): boolean {
  for (let k = from; k < to; k++) {
    if (!isTradeBytes(layout.trades[k] as Trade, layout.buf, layout.starts[k] as number, layout.ends[k] as number)) return false;
  }
  return true;
}

/** `bytes` parsed by reusing the cached version's trades, or null when the full parse should decide. */
function splice(c: Entry, bytes: Buffer): { log: TradeLog; layout: Layout; parsed: readonly [number, number] } | null {
  // The scan costs about what a parse does: only when the change looks small enough to pay for it.
  if (c.layout === undefined && worthSplicing(c.data.buf, bytes)) {
    const layout = layoutOf(c.data.buf, c.log.trades.length);
    c.layout = layout === null ? null : { ...layout, trades: c.log.trades, buf: c.data.buf };
  }
  return c.layout ? spliceParse(c.data.buf, c.log, c.layout, bytes) : null;
}
