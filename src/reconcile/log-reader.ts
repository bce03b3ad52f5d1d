/**
 * The reconciler's reads of the trade log: strict (readLog's rules: missing =
 * empty, damaged = TradeLogCorruptError), lock-free (writers replace the file
 * by rename, so one open descriptor sees one whole version), and cheap when
 * little changed since the previous cycle:
 *
 * - same bytes as last time: the previous parse is reused (no JSON.parse);
 * - a few trades changed (what one store write does): only the changed region
 *   is parsed, spliced between the unchanged trades of the previous parse;
 * - anything else: parsed in full, as readLog does.
 *
 * The splice itself lives in src/io/incremental.ts (the store uses it too).
 */
import type { TradeLog } from '../domain/types.js';
import { layoutOf, spliceParse, worthSplicing, type Layout } from '../io/incremental.js';
import { emptyLog, parseLog, readLogBytes, type FileVersion } from '../io/read-log.js';

export type ReadKind = 'missing' | 'unchanged' | 'incremental' | 'full';

interface Version {
  version: FileVersion;
  bytes: Buffer;
  log: TradeLog;
  /** undefined: not scanned yet (a one-shot reconcile never needs it); null: cannot serve as a base. */
  layout: Layout | null | undefined;
}

export class LogReader {
  readonly file: string;
  #last: Version | null = null;

  constructor(file: string) {
    this.file = file;
  }

  /** The log as on disk now. The returned object may be the previous call's: never mutate it. */
  read(): { log: TradeLog; kind: ReadKind } {
    const prev = this.#last;
    const got = readLogBytes(this.file, prev);
    if (got === null) return { log: emptyLog(), kind: 'missing' };
    // Same version and bytes (identity), or a rewrite of identical bytes.
    if (prev !== null && (got.bytes === prev.bytes || got.bytes.equals(prev.bytes))) {
      prev.version = got.version;
      return { log: prev.log, kind: 'unchanged' };
    }
    if (prev !== null && prev.layout !== null && worthSplicing(prev.bytes, got.bytes)) {
      prev.layout ??= layoutOf(prev.bytes, prev.log.trades.length);
      const next = prev.layout === null ? null : spliceParse(prev.bytes, prev.log, prev.layout, got.bytes);
      if (next !== null) {
        this.#last = { version: got.version, bytes: got.bytes, log: next.log, layout: next.layout };
        return { log: next.log, kind: 'incremental' };
      }
    }
    // Throws TradeLogCorruptError; the previous good version stays the base for the next diff.
    const log = parseLog(this.file, got.bytes);
    this.#last = { version: got.version, bytes: got.bytes, log, layout: undefined };
    return { log, kind: 'full' };
  }
}
