import { AsyncResource } from 'node:async_hooks';
import fs from 'node:fs';
import path from 'node:path';

import { deepFreeze } from '../domain/freeze.js';
import { IntegrityTracker, verifyIntegrity, violationSummary, type Violation } from '../domain/integrity.js';
import type { RiskResult } from '../domain/risk.js';
import type { SettingsInput } from '../domain/settings.js';
import { applyClose, applyPartial, applyUpdate, applyUpdatesBatch, type PartialResult } from '../domain/trade-ops.js';
import type { Trade, TradeLog } from '../domain/types.js';
import { validateCloseInput, validateLogShape, validateOpenInput, validatePartialInput, validatePatch, validateUpdates, type OpenInput } from '../domain/validate.js';
import { SelfDeadlockError, ValidationError } from '../errors.js';
import { LogCache } from '../io/log-cache.js';
import { realLogPath } from '../io/log-path.js';
import { fileExists } from '../io/read-log.js';
import { SettingsFileCache, settingsFileFor, type RulebookLook } from '../io/settings-file.js';
import { sweepTemps } from '../io/temp-files.js';
import { heldInWithLock, outsideWithLock } from '../lock/file-lock.js';
import { IdleLock } from './idle-lock.js';
import { RulesInForce } from './rules.js';
import { StoreBase, type RulesNeed } from './store-base.js';
import { applyGroup, doneOperations, settleGroup, WriteQueue, type Outcome, type PendingWrite } from './write-group.js';

export interface IntegrityContext {
  operation: string;
  tradeLog: string;
}

/**
 * The risk settings (startingCapital, maxPositions, correlationGroups, maxCorrGroupRiskPct,
 * assetConsecutiveLossCap, drawdownLimits, haltOnDrawdown) are domain/settings.ts's: their
 * defaults and validation live there, shared with the reconciler, the report and the CLI.
 * When the log's directory holds a settings file (trade-state.json), it is the log's rulebook
 * and these options may only be stricter (resolveRules).
 */
export interface TradeStoreOptions extends SettingsInput {
  /** Path of trade_log.json, the single source of truth. */
  tradeLog: string;
  /** Lock file every writer of the log locks (Python writers too). Default: trade.lock beside the log. */
  lockFile?: string;
  /** Longest wait for the lock before LockTimeoutError. Default 30000 ms. */
  lockTimeoutMs?: number;
  /**
   * Called after a write whose result breaks an invariant, with every violation. Reported, never blocking.
   * Default: one process warning (TSE_INTEGRITY) of at most 2 KB: the count, each code, the first ids.
   */
  onIntegrityViolation?: (violations: Violation[], context: IntegrityContext) => void;
  /** The clock, for tests and replays. Default: () => new Date(). */
  now?: () => Date;
}

export type CheckResult = { ok: true } | { ok: false; code: RiskResult extends { ok: false; code: infer C } ? C : never; message: string };

/**
 * The write path of the trade log. Every write is: lock -> sweep temp files
 * of killed writers -> the settings file (trade-state.json, re-read when it
 * changed) -> read (strict) -> validate -> risk checks -> mutate
 * (pure) -> durable write -> unlock -> verify. Reads take no lock: writes
 * replace the file by rename, so a reader sees one whole version.
 *
 * Records are returned frozen: they are also this store's cache.
 */
export class TradeStore extends StoreBase {
  /**
   * The log's real path (io/log-path.ts: absolute, symlinks resolved at construction, the log's
   * own included, or its folder's when it does not exist yet): the file this store reads and
   * replaces, and the folder its settings file and default lock file are in. A store opened
   * through a symlink thus shares the real folder's rulebook and lock, and its writes replace the
   * real log, never the link. A link repointed later is not followed: open a new store.
   */
  readonly tradeLog: string;
  readonly lockFile: string;
  /** The log's settings file (trade-state.json beside the log), whether or not it exists. */
  readonly settingsFile: string;
  readonly #lockTimeoutMs: number;
  /** The log's settings file, re-read when its stat changed. */
  readonly #rulebook: SettingsFileCache;
  readonly #onViolation: (violations: Violation[], context: IntegrityContext) => void;
  /** The log as last read or written; every read and the read step of every write go through it. */
  readonly #log: LogCache;
  readonly #locks: IdleLock;
  /** The log's directory and base name, for the sweep of temp files. */
  readonly #logDir: string;
  readonly #logName: readonly string[];
  #dirsReady = false;
  /**
   * Writes not yet in a group, in arrival order (#mutate, #commitGroup). Its drains run in an async
   * context of their own, created outside every withLock(): inside the withLock() callback of the
   * caller that happened to start a drain, the drain would count that caller's locks as its own
   * (released long before the drain ends), so that the lock step or the integrity handler it calls
   * could be refused ESELFDEADLOCK on behalf of other callers.
   */
  readonly #writes = new WriteQueue(
    () => this.#commitGroup(),
    outsideWithLock(() => new AsyncResource('TradeStoreDrain')),
  );
  /** The after-write integrity check, kept up to date with the last log it checked. */
  readonly #integrity = new IntegrityTracker();

  constructor(options: TradeStoreOptions) {
    if (options === null || typeof options !== 'object') throw new ValidationError('options', options, 'must be an object');
    if (typeof options.tradeLog !== 'string' || options.tradeLog === '') {
      throw new ValidationError('tradeLog', options.tradeLog, 'must be a non-empty path');
    }
    const tradeLog = realLogPath(options.tradeLog);
    // A bad option is refused as ever (RulesInForce resolves the options alone), before the file is looked at.
    super(new RulesInForce(options, tradeLog), options.now ?? (() => new Date()));
    this.tradeLog = tradeLog;
    // A lock file given is used as given: the lock itself knows a file by identity, not by path.
    this.lockFile = path.resolve(options.lockFile ?? path.join(path.dirname(this.tradeLog), 'trade.lock'));
    this.settingsFile = settingsFileFor(this.tradeLog);
    this.#rulebook = new SettingsFileCache(this.settingsFile);
    // Read now too, so that store.settings is the log's at once. Leniently: a monitor restarted on a
    // broken or conflicting rulebook must still close its positions; opens refuse it, naming it.
    this.#refreshSettingsLeniently();
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 30_000;
    if (typeof this.#lockTimeoutMs !== 'number' || Number.isNaN(this.#lockTimeoutMs) || this.#lockTimeoutMs < 0) {
      throw new ValidationError('lockTimeoutMs', options.lockTimeoutMs, 'must be a number >= 0');
    }
    this.#onViolation = options.onIntegrityViolation ?? defaultViolationHandler;
    this.#log = new LogCache(this.tradeLog);
    this.#locks = new IdleLock(this.lockFile);
    this.#logDir = path.dirname(this.tradeLog);
    this.#logName = [path.basename(this.tradeLog)];
  }

  /**
   * Whether the log file exists. Reads and writes treat a missing log as an empty one (as the
   * original does, and a new bot needs); a caller that must tell a mistyped path from an empty
   * account asks here first.
   */
  async exists(): Promise<boolean> {
    return fileExists(this.tradeLog);
  }

  // ------------------------------------------------------------------ writes

  /**
   * Opens a trade after every risk check passed under the lock. With a
   * client_id already in the log, returns that trade instead of opening a
   * second one (a safe retry after a crash), once that version of the log is durable (#commitGroup).
   */
  async openTrade(input: OpenInput): Promise<Trade> {
    const valid = validateOpenInput(input);
    return this.#mutate('openTrade', this.openStep(valid), 'strict');
  }

  async closeTrade(id: string, input: { exit_price: number; exit_reason?: string | null; lessons?: string | null }): Promise<Trade> {
    const valid = validateCloseInput(input);
    return this.#mutate('closeTrade', (log) => {
      const next = applyClose(log, id, valid, this.clock());
      return { log: next.log, result: next.trade };
    });
  }

  async partialClose(id: string, input: { fraction: number; exit_price: number; reason?: string | null }): Promise<PartialResult> {
    const valid = validatePartialInput(input);
    return this.#mutate('partialClose', (log) => {
      const next = applyPartial(log, id, valid, this.clock());
      return { log: next.log, result: next.result };
    });
  }

  /** Changes only mutable fields (stops, target, notes, grade, setup_type, lessons, extension fields). */
  async updateTrade(id: string, patch: Record<string, unknown>): Promise<Trade> {
    // Checked and copied now: the caller may change its object before the group runs.
    const valid = validatePatch(patch);
    return this.#mutate('updateTrade', (log) => {
      const next = applyUpdate(log, id, valid);
      return { log: next.log, result: next.trade };
    });
  }

  /** Several updates under one lock and one write; all or nothing. Returns how many trades changed. */
  async updateTradesBatch(updates: ReadonlyArray<readonly [string, Record<string, unknown>]>): Promise<number> {
    const valid = validateUpdates(updates);
    return this.#mutate('updateTradesBatch', (log) => {
      const next = applyUpdatesBatch(log, valid);
      return { log: next.log, result: valid.length };
    });
  }

  /** Replaces the whole log with `data` after checking its shape and that ids are unique, under the lock. */
  async saveRaw(data: TradeLog): Promise<void> {
    const problem = validateLogShape(data);
    if (problem !== null) throw new ValidationError('data', summarize(data), `is not a trade log: ${problem}`);
    const dup = verifyIntegrity(data, { maxPositions: Number.MAX_SAFE_INTEGER }).find((v) => v.code === 'DUPLICATE_ID');
    if (dup) throw new ValidationError('data', dup.trade_id, `is not a usable trade log: ${dup.message}`);
    const copy = JSON.parse(JSON.stringify(data)) as TradeLog; // no caller-held references in our cache
    await this.#mutate('saveRaw', () => ({ log: copy, result: undefined }));
  }

  // ------------------------------------------------------------------- reads (StoreBase)

  /** The log as on disk; the settings file applied first when the read needs the rules. */
  protected async readLog(rules: RulesNeed): Promise<TradeLog> {
    if (rules === 'strict') this.#refreshSettings();
    else if (rules === 'lenient') this.#refreshSettingsLeniently();
    return this.#read();
  }

  // --------------------------------------------------------------- internals

  /** The settings file as SettingsFileCache gives it: the same look while its stat is unchanged. */
  readonly #readRulebook = (): RulebookLook => this.#rulebook.look();

  /** The settings file's rulebook applied (one stat when it did not change); throws on a broken or conflicting one. */
  #refreshSettings(): void {
    this.rules.apply(this.#readRulebook);
  }

  /** For reads, closes and updates: a rulebook problem is a warning, not a refusal (RulesInForce). */
  #refreshSettingsLeniently(): void {
    this.rules.applyLeniently(this.#readRulebook);
  }

  /**
   * Queues one write and resolves or rejects it once its group is decided.
   * `rules`: 'strict' for a write that applies the settings (an open), which a broken or
   * conflicting settings file refuses; 'lenient' for the others (see #refreshSettingsLeniently).
   *
   * Group commit: the calls that arrive while a write of this store is in flight (or waiting for
   * the lock) are applied together, in arrival order, under one lock and in one durable write —
   * a monitor trailing seven stops pays one fsync pair instead of seven. Each call still gets its
   * own result or error: `fn` is pure, so a refused call leaves the evolving log as it was and
   * the next call sees the effect of every accepted call before it (#commitGroup).
   */
  #mutate<T>(operation: string, fn: (log: TradeLog) => { log: TradeLog; result: T }, rules: 'strict' | 'lenient' = 'lenient'): Promise<T> {
    // Checked here, in the caller's context: the lock is taken later, by the drain, in its own.
    // A call inside a withLock() of the store's lock file would wait for its caller, and stall
    // every write queued behind it until their lockTimeoutMs; it is refused at once instead, as a
    // lock() of the same file there is, and never enters the queue.
    if (heldInWithLock(this.lockFile)) {
      return Promise.reject(
        new SelfDeadlockError(
          this.lockFile,
          `${operation}() was called inside a withLock() callback that holds the store's lock file`,
          'The store takes that lock itself for every write: call it outside the withLock() callback',
        ),
      );
    }
    return this.#writes.push(operation, undefined, fn, rules);
  }

  /**
   * One group: lock -> take every queued call -> sweep -> read -> each call's fn in turn (its
   * settings refresh and checks included) -> one durable write -> unlock -> settle -> verify.
   * Nothing resolves before the write holding it is durable (LogCache.write: fsync, rename,
   * directory fsync); a group that changes nothing but resolves a call fsyncs the version it read
   * first (LogCache.syncCurrent). A failed read or write rejects every call of the group with that
   * error (the refused ones too: their refusal may rest on calls that are now not on disk), and the
   * file stays the previous version — except after DurabilityUnknownError (the directory fsync
   * after the rename failed), when the file is the new version: the calls must re-read, not retry.
   */
  async #commitGroup(): Promise<void> {
    try {
      await this.#ensureDirs();
    } catch (err) {
      for (const call of this.#writes.pending.splice(0)) call.reject(err);
      return;
    }
    const lock = this.#locks.take();
    try {
      // Each call keeps its own lockTimeoutMs, counted from its arrival: wait until the oldest
      // call's deadline, and on a timeout fail only the calls whose deadline has passed.
      const oldest = (this.#writes.pending[0] as PendingWrite).arrivedAt;
      await lock.lock({ timeoutMs: Math.max(0, Math.ceil(oldest + this.#lockTimeoutMs - performance.now())) });
    } catch (err) {
      lock.close();
      const timedOut = (err as { code?: unknown }).code === 'ELOCKTIMEOUT';
      const now = performance.now();
      const failed = timedOut ? this.#writes.pending.filter((c) => c.arrivedAt + this.#lockTimeoutMs <= now + 1) : this.#writes.pending.slice();
      // Progress: the oldest call's deadline has passed when its wait timed out.
      if (failed.length === 0) failed.push(this.#writes.pending[0] as PendingWrite);
      this.#writes.pending = this.#writes.pending.filter((c) => !failed.includes(c));
      for (const call of failed) call.reject(err);
      return;
    }
    // Taken under the lock: the calls that piled up during the wait land in this write.
    const group = this.#writes.pending.splice(0);
    let outcomes: Outcome[] = [];
    let after: TradeLog | undefined;
    let failure: { error: unknown } | null = null;
    // Versions replaced by this write are closed after the unlock, off the callers' path.
    this.#log.hold();
    try {
      sweepTemps(this.#logDir, this.#logName, 'locked');
      const before = await this.#read();
      // Under the lock: an edited rulebook applies to this very write, in every process. Read once
      // per group — nobody can change it while the lock is held (init writes it under this lock) —
      // and its problem, if any, refuses each strict call and warns once for the lenient ones.
      const settingsError = this.rules.applyForGroup(this.#readRulebook, group.some((c) => c.rules === 'lenient'));
      const applied = applyGroup(before, group, settingsError);
      const log = applied.log;
      outcomes = applied.outcomes;
      if (log !== before) await this.#log.write(log);
      else if (outcomes.some((o) => o.ok)) {
        // Acknowledging without writing (a client_id retry finds its trade): the version found may
        // be one whose writer died between its rename and its directory fsync, so make it durable
        // first. If that fails, what those calls would acknowledge is not known to be durable.
        try {
          await this.#log.syncCurrent();
        } catch (error) {
          outcomes.forEach((o, i) => {
            if (o.ok) outcomes[i] = { ok: false, error };
          });
        }
      }
      after = log;
    } catch (error) {
      failure = { error };
    } finally {
      lock.unlock();
      this.#locks.give(lock);
      this.#log.release();
    }
    if (failure !== null) {
      for (const call of group) call.reject(failure.error);
      return;
    }
    settleGroup(group, outcomes);
    // Checked after every write, off the callers' path: violations are
    // reported, never blocking, so no caller waits for the check.
    const operation = doneOperations(group, outcomes);
    if (after !== undefined && operation !== null) {
      const checked = after;
      setImmediate(() => this.#verify(checked, operation));
    }
  }

  /** The log as on disk (LogCache: reused while provably unchanged), frozen: records are also the cache. */
  async #read(): Promise<TradeLog> {
    return deepFreeze(this.#log.read().log);
  }

  /** Closes the descriptors this store keeps open (log and lock file). The store stays usable (it reopens). */
  close(): void {
    this.#log.close();
    this.#locks.close();
  }

  #verify(log: TradeLog, operation: string): void {
    // Incremental: a write changes a few trades, and this runs on the thread the next write needs.
    const violations = this.#integrity.check(log, { maxPositions: this.risk.maxPositions });
    if (violations.length === 0) return;
    try {
      this.#onViolation(violations, { operation, tradeLog: this.tradeLog });
    } catch {
      // A failing handler must not turn a durable write into a reported failure.
    }
  }

  async #ensureDirs(): Promise<void> {
    if (this.#dirsReady) return;
    await fs.promises.mkdir(path.dirname(this.tradeLog), { recursive: true });
    await fs.promises.mkdir(path.dirname(this.lockFile), { recursive: true });
    this.#dirsReady = true;
  }
}


function defaultViolationHandler(violations: Violation[], context: IntegrityContext): void {
  process.emitWarning(violationSummary(violations, context.tradeLog, context.operation), { code: 'TSE_INTEGRITY' });
}

function summarize(data: unknown): unknown {
  return data !== null && typeof data === 'object' ? `[${Array.isArray(data) ? 'array' : 'object'}]` : data;
}
