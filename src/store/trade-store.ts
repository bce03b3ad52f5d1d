import path from 'node:path';

import { verifyIntegrity, type Violation } from '../domain/integrity.js';
import type { SettingsInput } from '../domain/settings.js';
import type { TradeLog } from '../domain/types.js';
import { validateLogShape } from '../domain/validate.js';
import { ValidationError } from '../errors.js';
import { lockFileFor, realLogPath } from '../io/log-path.js';
import { fileExists } from '../io/read-log.js';
import { settingsFileFor } from '../io/settings-file.js';
import { FileBackend, type IntegrityContext } from './file-backend.js';
import { checkOptionsObject, Store } from './store.js';

export type { CheckResult } from './store.js';

export type { IntegrityContext } from './file-backend.js';

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
  /** Longest wait for the lock before LockTimeoutError, counted from the call. Default 30000 ms; Infinity: as long as it takes. */
  lockTimeoutMs?: number;
  /**
   * Called after a write whose result breaks an invariant, with every violation. Reported, never blocking.
   * Default: one process warning (TSE_INTEGRITY) of at most 2 KB: the count, each code, the first ids.
   */
  onIntegrityViolation?: (violations: Violation[], context: IntegrityContext) => void;
  /** The clock, for tests and replays. Default: () => new Date(). */
  now?: () => Date;
}

/**
 * The trade log in a JSON file: the store (store/store.ts) over the file backend
 * (store/file-backend.ts). Every write is: lock -> sweep temp files of killed writers -> the
 * settings file (trade-state.json, re-read when it changed) -> read (strict) -> validate -> risk
 * checks -> mutate (pure) -> durable write -> unlock -> verify. Reads take no lock: writes replace
 * the file by rename, so a reader sees one whole version.
 *
 * Records are returned frozen: they are also this store's cache.
 */
export class TradeStore extends Store<IntegrityContext> {
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
  readonly #file: FileBackend;

  constructor(options: TradeStoreOptions) {
    checkOptionsObject(options);
    if (typeof options.tradeLog !== 'string' || options.tradeLog === '') {
      throw new ValidationError('tradeLog', options.tradeLog, 'must be a non-empty path');
    }
    const tradeLog = realLogPath(options.tradeLog);
    // A lock file given is used as given: the lock itself knows a file by identity, not by path.
    const lockFile = lockFileFor(tradeLog, options.lockFile);
    const settingsFile = settingsFileFor(tradeLog);
    const file = new FileBackend(tradeLog, lockFile, settingsFile);
    super(options, file);
    this.tradeLog = tradeLog;
    this.lockFile = lockFile;
    this.settingsFile = settingsFile;
    this.#file = file;
    // Read now too, so that store.settings is the log's at once. Leniently: a monitor restarted on a
    // broken or conflicting rulebook must still close its positions; opens refuse it, naming it.
    this.rules.applyLeniently(file.rulebook);
  }

  /**
   * Whether the log file exists. Reads and writes treat a missing log as an empty one (as the
   * original does, and a new bot needs); a caller that must tell a mistyped path from an empty
   * account asks here first.
   */
  async exists(): Promise<boolean> {
    return fileExists(this.tradeLog);
  }

  /** Replaces the whole log with `data` after checking its shape and that ids are unique, under the lock. */
  async saveRaw(data: TradeLog): Promise<void> {
    const problem = validateLogShape(data);
    if (problem !== null) throw new ValidationError('data', summarize(data), `is not a trade log: ${problem}`);
    const dup = verifyIntegrity(data, { maxPositions: Number.MAX_SAFE_INTEGER }).find((v) => v.code === 'DUPLICATE_ID');
    if (dup) throw new ValidationError('data', dup.trade_id, `is not a usable trade log: ${dup.message}`);
    const copy = JSON.parse(JSON.stringify(data)) as TradeLog; // no caller-held references in our cache
    await this.replaceLog(copy);
  }

  /**
   * Closes the descriptors this store keeps open (log and lock file) and ends its watches. The store
   * stays usable for reads and writes (it reopens); watch() is refused after it (StoreClosedError).
   */
  close(): void {
    void this.closeWatches();
    this.#file.close();
  }
}

function summarize(data: unknown): unknown {
  return data !== null && typeof data === 'object' ? `[${Array.isArray(data) ? 'array' : 'object'}]` : data;
}
