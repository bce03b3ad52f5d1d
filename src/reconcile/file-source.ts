/**
 * FileLogSource: a trade_log.json file as a LogSource (source.ts), what a StateReconciler given
 * `tradeLog` builds for itself, and what buildReport reads a file through. Its snapshot is the
 * log cache's read (io/log-cache.ts: strict, lock-free, spliced when little changed), its rulebook
 * the settings file beside it (trade-state.json), its damage a TradeLogCorruptError.
 *
 * Its watch is io/log-watch.ts's (the directory watch and the stat poll), shared with store.watch().
 */
import fs from 'node:fs';
import path from 'node:path';

import type { TradeLog } from '../domain/types.js';
import { ValidationError } from '../errors.js';
import { LogCache } from '../io/log-cache.js';
import { LogWatch } from '../io/log-watch.js';
import { readLogPinned, sameVersion, statVersionSync, type FileVersion } from '../io/read-log.js';
import { SettingsFileCache, settingsFileFor } from '../io/settings-file.js';
import { logSha256 } from './history.js';
import type { LogSource, SourceReadOptions, SourceSnapshot, SourceWatch } from './source.js';

export interface FileLogSourceOptions {
  /** Watch mode: how often the log is stat'ed, as a safety net for changes fs.watch misses. Default 2000 ms; Infinity: never. */
  pollMs?: number;
  /** Watch mode: fs.watch the log's directory. Default true; false: polling only. */
  fsWatch?: boolean;
}

const DEFAULT_POLL_MS = 2000;

export class FileLogSource implements LogSource {
  /** The log's absolute path: what messages and the reconciler's history file call it. */
  readonly name: string;
  readonly #cache: LogCache;
  readonly #settings: SettingsFileCache;
  readonly #pollMs: number;
  readonly #fsWatch: boolean;
  /** The log object of the last read, and the version number it was given. */
  #last: { log: TradeLog; exists: boolean; version: number } | null = null;
  /** The file as stat'ed just before the last read: the poll signals only what the reads have not seen. */
  #readVersion: FileVersion | null | undefined = undefined;
  readonly #watches = new Map<SourceWatch, LogWatch>();

  /** `tradeLog`: the log's path, resolved against the cwd now. */
  constructor(tradeLog: string, options: FileLogSourceOptions = {}) {
    if (typeof tradeLog !== 'string' || tradeLog === '') throw new ValidationError('tradeLog', tradeLog, 'must be a non-empty path');
    if (options === null || typeof options !== 'object') throw new ValidationError('options', options, 'must be an object');
    const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    if (typeof pollMs !== 'number' || Number.isNaN(pollMs) || pollMs <= 0) {
      throw new ValidationError('pollMs', pollMs, 'must be a number > 0 (Infinity: never)');
    }
    if (options.fsWatch !== undefined && typeof options.fsWatch !== 'boolean') throw new ValidationError('fsWatch', options.fsWatch, 'must be a boolean');
    this.name = path.resolve(tradeLog);
    this.#pollMs = pollMs;
    this.#fsWatch = options.fsWatch ?? true;
    this.#cache = new LogCache(this.name);
    this.#settings = new SettingsFileCache(settingsFileFor(this.name));
  }

  /**
   * The log now, with the settings file as last changed. A damaged log rejects with
   * TradeLogCorruptError; a missing one is an empty log that does not exist.
   */
  async read(options?: SourceReadOptions): Promise<SourceSnapshot> {
    return this.readSync(options);
  }

  /** read(), synchronously (the reads are): for a caller that has no use for a promise. */
  readSync(options?: SourceReadOptions): SourceSnapshot {
    const rulebook = this.#settings.look();
    let before: FileVersion | null | undefined;
    try {
      before = statVersionSync(this.name);
    } catch {
      before = undefined; // the read below says why
    }
    // The fingerprint's bytes are read beside the cache's own read (io/ does not hand its bytes
    // out): pinned before it and stat'ed after it, and used only when the file is that same
    // version at both ends, so that the cache parsed those very bytes. The open descriptor keeps
    // the inode from being reused; a writer that replaced or edited the file changes the version.
    const pinned = options?.fingerprint === true ? readLogPinned(this.name) : null;
    // Our descriptor is often the last reference to a version the log replaced, and the kernel
    // frees its blocks in close(2): held over the read, the cache closes those on the threadpool.
    this.#cache.hold();
    try {
      const { log, kind } = this.#cache.read();
      let fingerprint: string | null | undefined;
      if (options?.fingerprint === true) {
        fingerprint = pinned !== null && sameVersion(pinned.version, statVersionSync(this.name)) ? logSha256(pinned.bytes) : null;
      }
      const exists = kind !== 'missing';
      const last = this.#last;
      const version = last !== null && last.log === log && last.exists === exists ? last.version : (last?.version ?? 0) + 1;
      this.#last = { log, exists, version };
      this.#readVersion = before;
      for (const w of this.#watches.values()) w.retry();
      return Object.freeze({
        log,
        version,
        settings: rulebook.file,
        rulebook,
        exists,
        ...(fingerprint !== undefined && { fingerprint }),
      });
    } finally {
      this.#cache.release();
      if (pinned !== null) fs.closeSync(pinned.fd);
    }
  }

  /** See the module comment. close() of the watch (or of the source) ends its watcher and its timer. */
  watch(onChange: () => void, onError: (err: unknown) => void): SourceWatch {
    const w = new LogWatch(this.name, { pollMs: this.#pollMs, fsWatch: this.#fsWatch }, () => this.#readVersion, onChange, onError);
    const handle: SourceWatch = {
      close: async () => {
        this.#watches.delete(handle);
        w.close();
      },
    };
    this.#watches.set(handle, w);
    w.start();
    return handle;
  }

  /** Ends every watch and drops the cached log (its descriptor). A later read opens the file again. */
  async close(): Promise<void> {
    await Promise.all([...this.#watches.keys()].map((w) => w.close()));
    this.#cache.close();
  }
}
