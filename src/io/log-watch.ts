/**
 * The watch of a log file, what wakes a reconciler (reconcile/file-source.ts) and store.watch()
 * (store/file-backend.ts). It wakes on two things, because either alone misses changes (as LISTEN
 * and the poll do for a database, postgres/watch.ts):
 * - fs.watch of the log's directory, not of the file: writers replace the file by rename, and a
 *   watch on the old inode goes deaf after the first write;
 * - a stat of the log every pollMs: fs.watch delivers nothing on some file systems (NFS, SMB,
 *   some container bind mounts), and a watcher that failed (its directory missing) is retried here.
 */
import fs from 'node:fs';
import path from 'node:path';

import { sameVersion, statVersionSync, type FileVersion } from './read-log.js';

/** One watch of a log file: the directory watcher, retried while it fails (after each read, at each poll), and the poll. */
export class LogWatch {
  readonly #file: string;
  readonly #options: { pollMs: number; fsWatch: boolean };
  /** The file as the source's last read saw it (undefined: not read yet). */
  readonly #readVersion: () => FileVersion | null | undefined;
  readonly #onChange: () => void;
  readonly #onError: (err: unknown) => void;
  #closed = false;
  #watcher: fs.FSWatcher | null = null;
  #poll: NodeJS.Timeout | null = null;
  /** The last version a change was signalled for (at first, the one at start): not signalled again. */
  #signalled: FileVersion | null | undefined = undefined;
  /** A failing watcher or poll is reported once per outage, not at every retry. */
  #watchFailing = false;
  #pollFailing = false;

  constructor(
    file: string,
    options: { pollMs: number; fsWatch: boolean },
    readVersion: () => FileVersion | null | undefined,
    onChange: () => void,
    onError: (err: unknown) => void,
  ) {
    this.#file = file;
    this.#options = options;
    this.#readVersion = readVersion;
    this.#onChange = onChange;
    this.#onError = onError;
  }

  start(): void {
    try {
      this.#signalled = statVersionSync(this.#file);
    } catch {
      // the poll reports it
    }
    if (this.#options.fsWatch) this.#startWatcher();
    if (Number.isFinite(this.#options.pollMs)) this.#poll = setInterval(() => this.#check(), this.#options.pollMs);
  }

  close(): void {
    this.#closed = true;
    if (this.#poll !== null) clearInterval(this.#poll);
    this.#poll = null;
    this.#watcher?.close();
    this.#watcher = null;
  }

  /** A watcher that failed is tried again (after each read, and at each poll). */
  retry(): void {
    if (!this.#closed && this.#options.fsWatch && this.#watcher === null) this.#startWatcher();
  }

  #startWatcher(): void {
    const base = path.basename(this.#file);
    let w: fs.FSWatcher;
    try {
      w = fs.watch(path.dirname(this.#file), { persistent: true }, (_event, filename) => {
        if (!this.#closed && (filename === null || String(filename) === base)) this.#onChange();
      });
    } catch (err) {
      this.#watcherFailed(err);
      return;
    }
    w.on('error', (err) => {
      w.close();
      if (this.#watcher === w) this.#watcher = null;
      this.#watcherFailed(err);
    });
    this.#watcher = w;
    this.#watchFailing = false;
  }

  #watcherFailed(err: unknown): void {
    if (this.#closed || this.#watchFailing) return;
    this.#watchFailing = true;
    this.#onError(err);
  }

  /** Signals a change when the file is not the version last read (nor one already signalled); retries a lost watcher. */
  #check(): void {
    if (this.#closed) return;
    this.retry();
    let now: FileVersion | null;
    try {
      now = statVersionSync(this.#file);
    } catch (err) {
      this.#signalled = undefined; // after the outage, whatever the file is gets a cycle
      if (!this.#pollFailing) this.#onError(err);
      this.#pollFailing = true;
      return;
    }
    this.#pollFailing = false;
    const read = this.#readVersion();
    if (read !== undefined && sameVersion(now, read)) return;
    if (this.#signalled !== undefined && sameVersion(now, this.#signalled)) return;
    this.#signalled = now;
    this.#onChange();
  }
}
