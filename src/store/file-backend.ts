/**
 * The file backend (store/backend.ts): the lock is flock(2) on the lock file, the log is read
 * through the one LogCache and replaced by a durable write, the rulebook is the settings file
 * beside the log. Writes: lock -> take the queued calls -> sweep dead writers' temp files -> read
 * -> the store's pure steps -> durable write (fsync, rename, directory fsync) -> note the version
 * written in the lock file (io/log-mark.ts) -> unlock.
 */
import { AsyncResource } from 'node:async_hooks';
import fs from 'node:fs';
import path from 'node:path';

import { deepFreeze } from '../domain/freeze.js';
import type { TradeLog } from '../domain/types.js';
import { SelfDeadlockError } from '../errors.js';
import { LogCache } from '../io/log-cache.js';
import { readLockNote, writeLogMark } from '../io/log-mark.js';
import type { RulebookRead } from '../io/rulebook.js';
import { SettingsFileCache } from '../io/settings-file.js';
import { sweepTemps } from '../io/temp-files.js';
import { exclusiveDescriptorOf, heldInWithLock, outsideWithLock } from '../lock/file-lock.js';
import type { Applied, ChangeFeed, ChangeFeedOptions, GroupCall, LockWait, LogRead, StoreBackend } from './backend.js';
import { traceLockWait, type StoreIdentity } from './diagnostics.js';
import { fileChanges } from './file-changes.js';
import { IdleLock } from './idle-lock.js';

export interface IntegrityContext {
  operation: string;
  tradeLog: string;
}

export class FileBackend implements StoreBackend<IntegrityContext> {
  readonly where: string;
  readonly identity: StoreIdentity;
  readonly #lockFile: string;
  /** The log's settings file, re-read when its stat changed. */
  readonly #rulebook: SettingsFileCache;
  /** The log as last read or written; every read and the read step of every write go through it. */
  readonly #log: LogCache;
  readonly #locks: IdleLock;
  /** The log's directory and base name, for the sweep of temp files. */
  readonly #logDir: string;
  readonly #logName: readonly string[];
  #dirsReady = false;

  /** `tradeLog`: the log's real path (io/log-path.ts); `lockFile` and `settingsFile` resolved. */
  constructor(tradeLog: string, lockFile: string, settingsFile: string) {
    this.where = tradeLog;
    this.identity = Object.freeze({ backend: 'file', store: tradeLog, tradeLog });
    this.#lockFile = lockFile;
    this.#rulebook = new SettingsFileCache(settingsFile);
    this.#log = new LogCache(tradeLog);
    this.#locks = new IdleLock(lockFile);
    this.#logDir = path.dirname(tradeLog);
    this.#logName = [path.basename(tradeLog)];
  }

  context(operation: string): IntegrityContext {
    return { operation, tradeLog: this.where };
  }

  /** The settings file as SettingsFileCache gives it: the same look while its stat is unchanged. */
  readonly rulebook: RulebookRead = () => this.#rulebook.look();

  async read(): Promise<LogRead> {
    // The rulebook first: a reader must not apply a rulebook newer than the log it acts on.
    const look = this.#rulebook.look();
    return { log: this.#read(), rulebook: () => look };
  }

  /** store.watch()'s feed (store/file-changes.ts), starting from the log as it is now. */
  async changes(options: ChangeFeedOptions): Promise<ChangeFeed> {
    return fileChanges(this.where, () => this.#read(), options);
  }

  /**
   * A call inside a withLock() of the store's lock file would wait for its caller, and stall every
   * write queued behind it until their lockTimeoutMs; it is refused at once instead, as a lock() of
   * the same file there is, and never enters the queue.
   */
  refuseCall(operation: string): Error | null {
    if (!heldInWithLock(this.#lockFile)) return null;
    return new SelfDeadlockError(
      this.#lockFile,
      `${operation}() was called inside a withLock() callback that holds the store's lock file`,
      'The store takes that lock itself for every write: call it outside the withLock() callback',
    );
  }

  /**
   * Created outside every withLock(): inside the withLock() callback of the caller that happened to
   * start a drain, the drain would count that caller's locks as its own (released long before the
   * drain ends), so that the lock step or the integrity handler could be refused ESELFDEADLOCK on
   * behalf of other callers.
   */
  drainScope(): AsyncResource {
    return outsideWithLock(() => new AsyncResource('TradeStoreDrain'));
  }

  /**
   * A group that changes nothing but accepts a call fsyncs the version it read first
   * (LogCache.syncCurrent); if that fails, those calls fail with its error. A failed read or write
   * leaves the file the previous version — except after DurabilityUnknownError (the directory fsync
   * after the rename failed), when the file is the new version: the calls must re-read, not retry.
   */
  async runGroup(wait: LockWait, take: () => readonly GroupCall[], apply: (before: TradeLog, rulebook: RulebookRead) => Applied): Promise<Applied> {
    await this.#ensureDirs();
    const lock = this.#locks.take();
    try {
      await traceLockWait(this.identity, () => lock.lock({ timeoutMs: Math.max(0, Math.ceil(wait.until - performance.now())) }));
    } catch (err) {
      lock.close();
      throw err;
    }
    take();
    // Versions replaced by this write are closed after the unlock, off the callers' path.
    this.#log.hold();
    try {
      sweepTemps(this.#logDir, this.#logName, 'locked');
      const before = this.#read();
      // Nobody can change the rulebook while the lock is held (init writes it under this lock).
      const applied = apply(before, this.rulebook);
      if (applied.log !== before) {
        // The lock file's note (io/log-mark.ts): which version a store of ours wrote last (a version
        // read in full may be ours to copy), rewritten once this one is durable.
        const noteFd = exclusiveDescriptorOf(lock);
        const note = noteFd === null ? null : readLockNote(noteFd);
        await this.#log.write(applied.log, note?.version ?? null);
        const written = this.#log.ownVersion();
        if (noteFd !== null && note?.writable === true && written !== null) writeLogMark(noteFd, written);
      } else if (applied.outcomes.some((o) => o.ok)) {
        // Acknowledging without writing (a client_id retry finds its trade): the version found may
        // be one whose writer died between its rename and its directory fsync.
        try {
          await this.#log.syncCurrent();
        } catch (error) {
          return { log: applied.log, outcomes: applied.outcomes.map((o) => (o.ok ? { ok: false, error } : o)) };
        }
      }
      return applied;
    } finally {
      lock.unlock();
      this.#locks.give(lock);
      this.#log.release();
    }
  }

  /** The log as on disk (LogCache: reused while provably unchanged), frozen: records are also the cache. */
  #read(): TradeLog {
    return deepFreeze(this.#log.read().log);
  }

  /** Closes the descriptors kept open (log and lock file). Usable afterwards (it reopens). */
  close(): void {
    this.#log.close();
    this.#locks.close();
  }

  async #ensureDirs(): Promise<void> {
    if (this.#dirsReady) return;
    await fs.promises.mkdir(this.#logDir, { recursive: true });
    await fs.promises.mkdir(path.dirname(this.#lockFile), { recursive: true });
    this.#dirsReady = true;
  }
}
