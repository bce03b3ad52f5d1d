/**
 * The read path: rebuilds every derived file from trade_log.json, the one
 * source of truth, and never writes or locks the log. A cycle is
 *
 *   read the log (no lock: writers replace it by rename, so one whole version
 *   is read) -> count guard -> history guard -> deriveState -> write the four
 *   files in a fixed order, each atomically and durably -> remember what this
 *   good cycle saw (.reconciler-history.json, last) -> check invariants.
 *
 * The starting capital and drawdown limits come from the log's settings file
 * (trade-state.json), read again at each cycle, under this reconciler's options. A broken or
 * conflicting one does not stop a cycle: the last good settings, or the options alone, and one
 * warning (io/rulebook.ts).
 *
 * The log is read through a LogSource (source.ts), always: a file log through the FileLogSource
 * this reconciler builds for `tradeLog` (file-source.ts), a database account through the source
 * given (trade-state-engine/postgres). One cycle, one path: the same guards and derive code, the
 * rulebook being the source's, so the same log gives byte-identical files from either.
 *
 * Any refusal (damaged log, count guard, history guard) leaves every derived
 * file exactly as it was: stale but right beats fresh but wrong for a bot
 * deciding whether it is halted. docs/reconciler.md is the user's guide.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { checkDerivedInvariants, deriveState, type DerivedState } from '../domain/derive/index.js';
import { resolveDrawdownLimits, resolveStartingCapital } from '../domain/settings.js';
import type { DrawdownLimits, TradeLog } from '../domain/types.js';
import { isPlainObject } from '../domain/validate.js';
import { ReconcilerRunningError, TradeLogCorruptError, ValidationError } from '../errors.js';
import { writeAtomicFile } from '../io/atomic-file.js';
import { readLogBytes, statVersionSync, type FileVersion } from '../io/read-log.js';
import { serializeLog } from '../io/serialize.js';
import { Rulebook } from '../io/rulebook.js';
import { sweepTemps } from '../io/temp-files.js';
import { FileLogSource } from './file-source.js';
import {
  compareHistory,
  DigestCache,
  HISTORY_FILE,
  logSha256,
  parseHistory,
  serializeHistory,
  type Baseline,
  type HistoryFile,
  type HistoryViolation,
} from './history.js';
import { Scheduler, type ReconcilerStartOptions } from './scheduler.js';
import { isLogSource, SnapshotRulebook, type LogSource, type SourceWatch } from './source.js';

export type { HistoryViolation, HistoryViolationKind } from './history.js';
export type { ReconcilerStartOptions } from './scheduler.js';
export type { LogSource, SourceReadOptions, SourceSnapshot, SourceWatch } from './source.js';

export interface ReconcilerOptions {
  /** Path of trade_log.json. Only ever read (through a FileLogSource built for it). Give this or `source`. */
  tradeLog?: string;
  /**
   * The log through a source of your own: a database account (trade-state-engine/postgres's
   * PostgresLogSource), or any LogSource. Its rulebook stands for the settings file. close() closes it.
   */
  source?: LogSource;
  /** Where the derived files go. Default './state', resolved against the cwd at construction. */
  outputDir?: string;
  /**
   * Default and validation as TradeStore's (domain/settings.ts). With a settings file beside the
   * log (trade-state.json), its value rules and this one must be equal (resolveRules).
   */
  startingCapital?: number;
  /**
   * Negative fractions above -1; default daily -0.02, weekly -0.10, total -0.20, warning -0.05.
   * With a settings file, daily/weekly/total may only be stricter than its limits.
   */
  drawdownLimits?: Partial<DrawdownLimits>;
  /** The count guard refused a cycle. Default: a process warning. */
  onCorruption?: (previous: number, current: number) => void;
  /** The history guard refused a cycle; called once per kind of violation. Default: a process warning. */
  onHistoryViolation?: (violation: HistoryViolation) => void;
  /** The rebuilt state breaks an invariant (reported, never blocking). Default: a process warning. */
  onInvariantViolation?: (violations: string[]) => void;
  /** Errors of scheduled cycles (start/watch) and of callbacks. Default: process.emitWarning. */
  onError?: (err: unknown) => void;
  /** The clock, for tests. Default: () => new Date(). */
  now?: () => Date;
}

export type ReconcileResult =
  | { ok: true; files: string[]; closedTrades: number; openTrades: number; invariantViolations: string[]; durationMs: number }
  | { ok: false; reason: 'LOG_CORRUPT' | 'COUNT_GUARD' | 'HISTORY_GUARD'; message: string; files: []; error?: unknown };

/** The derived files, in the order every cycle writes them. */
export const DERIVED_FILES = Object.freeze(['portfolio.json', 'equity.json', 'risk_state.json', 'setup_performance.json'] as const);
const KEYS: readonly (keyof DerivedState)[] = ['portfolio', 'equity', 'risk_state', 'setup_performance'];
/** Every file a reconciler writes into outputDir: the targets of its sweep of temp files. */
const OUTPUTS: readonly string[] = Object.freeze([...DERIVED_FILES, HISTORY_FILE]);

interface HistoryRead {
  bytes: Buffer | null;
  file: HistoryFile | null;
}

export class StateReconciler {
  readonly outputDir: string;
  /** The source's name (a file log's absolute path): what messages and the history file call the log. */
  readonly #tradeLog: string;
  /** Where every cycle reads the log: the FileLogSource built for `tradeLog`, or the source given. */
  readonly #source: LogSource;
  readonly #historyFile: string;
  /** The money settings in force: the options, under the log's rulebook, read with the log every cycle. */
  readonly #rules: Rulebook;
  readonly #rulebook = new SnapshotRulebook();
  readonly #onCorruption: (previous: number, current: number) => void;
  readonly #onHistoryViolation: (violation: HistoryViolation) => void;
  readonly #onInvariantViolation: (violations: string[]) => void;
  readonly #onError: (err: unknown) => void;
  readonly #now: () => Date;
  readonly #digests = new DigestCache();
  #historyCache: { version: FileVersion; bytes: Buffer; file: HistoryFile | null } | null = null;
  /** No cycle has read the log yet: the next one fingerprints it (#read). */
  #firstRead = true;
  /** The log object and history bytes of the last cycle that passed the history guard with nothing to record. */
  #passed: { log: TradeLog; history: Buffer } | null = null;
  #swept = false;
  /** Cycles run one after another, whoever asks (start, watch or a direct reconcile()). */
  #tail: Promise<unknown> = Promise.resolve();
  readonly #scheduler: Scheduler;

  constructor(options: ReconcilerOptions) {
    if (options === null || typeof options !== 'object') throw new ValidationError('options', options, 'must be an object');
    const given = options.source;
    if (given !== undefined) {
      if (options.tradeLog !== undefined) throw new ValidationError('tradeLog', options.tradeLog, 'must not be given with source');
      if (!isLogSource(given)) throw new ValidationError('source', given, 'must be a LogSource (name, read())');
    } else if (typeof options.tradeLog !== 'string' || options.tradeLog === '') {
      throw new ValidationError('tradeLog', options.tradeLog, 'must be a non-empty path');
    }
    if (options.outputDir !== undefined && (typeof options.outputDir !== 'string' || options.outputDir === '')) {
      throw new ValidationError('outputDir', options.outputDir, 'must be a non-empty path');
    }
    const source = given ?? new FileLogSource(options.tradeLog as string);
    this.#source = source;
    this.#tradeLog = source.name;
    this.outputDir = path.resolve(options.outputDir ?? './state');
    this.#historyFile = path.join(this.outputDir, HISTORY_FILE);
    // the same defaults and rules as the store's (domain/settings.ts)
    resolveStartingCapital(options.startingCapital);
    resolveDrawdownLimits(options.drawdownLimits);
    const money = {
      ...(options.startingCapital !== undefined && { startingCapital: options.startingCapital }),
      ...(options.drawdownLimits !== undefined && { drawdownLimits: { ...options.drawdownLimits } }),
    };
    // The rulebook is read with the log, at each cycle; until the first, the options alone.
    this.#rules = new Rulebook(money, this.#tradeLog);
    for (const name of ['onCorruption', 'onHistoryViolation', 'onInvariantViolation', 'onError', 'now'] as const) {
      if (options[name] !== undefined && typeof options[name] !== 'function') throw new ValidationError(name, options[name], 'must be a function');
    }
    this.#onCorruption = options.onCorruption ?? warnCorruption;
    this.#onHistoryViolation = options.onHistoryViolation ?? ((v) => process.emitWarning(v.message, { code: 'TSE_HISTORY_GUARD' }));
    this.#onInvariantViolation = options.onInvariantViolation ?? warnInvariants;
    this.#onError = options.onError ?? ((err) => process.emitWarning(err instanceof Error ? err : String(err)));
    this.#now = options.now ?? (() => new Date());
    this.#scheduler = new Scheduler(
      watchOf(source),
      async () => {
        const r = await this.reconcile();
        // The other two refusals have their callbacks; a damaged log must not go unnoticed either.
        if (!r.ok && r.reason === 'LOG_CORRUPT') this.#report(r.error);
      },
      (err) => this.#report(err),
    );
  }

  get running(): boolean {
    return this.#scheduler.running;
  }

  /**
   * One cycle. Resolves ok:false for the three refusals (files untouched);
   * rejects on unexpected I/O errors (outputDir not writable, a source that
   * cannot be read: DatabaseError, …), files untouched as well. A broken or
   * contradicted rulebook is a warning, not a refusal (#read).
   * Calls made while another cycle runs wait for it: cycles never overlap.
   */
  reconcile(): Promise<ReconcileResult> {
    const run = this.#tail.then(() => this.#cycle());
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #cycle(): Promise<ReconcileResult> {
    const t0 = performance.now();
    let log: TradeLog;
    let fingerprint: string | null;
    try {
      ({ log, fingerprint } = await this.#read());
    } catch (err) {
      if (!(err instanceof TradeLogCorruptError)) throw err;
      return { ok: false, reason: 'LOG_CORRUPT', message: `${err.message}; the derived files were left as they are`, files: [], error: err };
    }
    let closed = 0;
    let open = 0;
    for (const t of log.trades) {
      if (t.status === 'CLOSED') closed++;
      else if (t.status === 'OPEN') open++;
    }

    const previous = this.#previousClosedCount();
    if (previous !== null && previous > 10 && closed < previous / 2) {
      await this.#callback(this.#onCorruption, previous, closed);
      const message =
        `Corruption guard: the previous reconcile counted ${previous} closed trades, ${this.#tradeLog} now has ${closed} ` +
        `(fewer than half); the derived files were left as they are. If the drop is deliberate, delete ` +
        `${path.join(this.outputDir, 'equity.json')} and reconcile again`;
      return { ok: false, reason: 'COUNT_GUARD', message, files: [] };
    }

    const history = this.#readHistory();
    let record: Baseline | null = null;
    const passed = this.#passed;
    const file = history.file;
    if (file !== null && fingerprint !== null && file.logSha256 === fingerprint && file.tradeLog === this.#tradeLog) {
      // The log has exactly the bytes this baseline was computed from: every remembered closed trade
      // is there unchanged, next_id is the same, nothing is new. Nothing to digest, compare or record.
      if (history.bytes !== null) this.#passed = { log, history: history.bytes };
    } else if (passed === null || passed.log !== log || passed.history !== history.bytes) {
      // (Otherwise: the same log object and history bytes as a cycle that passed: same verdict, nothing to record.)
      const current = this.#digests.closedDigests(log);
      const base = file === null ? null : file.baseline();
      if (base !== null) {
        const violations = compareHistory(base, log, current, this.#historyFile);
        if (violations.length > 0) {
          for (const v of violations) await this.#callback(this.#onHistoryViolation, v);
          return { ok: false, reason: 'HISTORY_GUARD', message: violations.map((v) => v.message).join('; '), files: [] };
        }
      }
      // Every remembered trade is there unchanged, so equal sizes mean equal sets. A fingerprint
      // this cycle knows and the file lacks (an older file, or a log rewritten to the same trades)
      // is worth a write: it spares the next cold cycle every digest.
      const same =
        base !== null &&
        base.nextId === log.next_id &&
        base.closed.size === current.size &&
        base.tradeLog === this.#tradeLog &&
        (fingerprint === null || base.logSha256 === fingerprint);
      if (!same) record = { tradeLog: this.#tradeLog, nextId: log.next_id, logSha256: fingerprint, closed: current };
    }

    const { startingCapital, drawdownLimits } = this.#rules.settings;
    const state = deriveState(log, { startingCapital, drawdownLimits, now: this.#now() });
    await fs.promises.mkdir(this.outputDir, { recursive: true });
    if (!this.#swept) {
      this.#swept = true;
      // Temp files of a reconciler killed mid-write; no lock is shared with other reconcilers, so only stale ones.
      sweepTemps(this.outputDir, OUTPUTS, 'unlocked');
    }
    const files: string[] = [];
    for (let k = 0; k < KEYS.length; k++) {
      const file = path.join(this.outputDir, DERIVED_FILES[k] as string);
      await writeAtomicFile(file, `${JSON.stringify(state[KEYS[k] as keyof DerivedState], null, 2)}\n`);
      files.push(file);
    }
    // Last: a crash before this point leaves the previous baseline, which the log still satisfies.
    if (record !== null) {
      const bytes = Buffer.from(serializeHistory(record), 'utf8');
      await writeAtomicFile(this.#historyFile, bytes);
      const version = statVersionSync(this.#historyFile);
      this.#historyCache = version === null ? null : { version, bytes, file: historyFileOf(record) };
      this.#passed = version === null ? null : { log, history: bytes };
    } else if (history.bytes !== null) {
      this.#passed = { log, history: history.bytes };
    }

    const invariantViolations = checkDerivedInvariants(state, log);
    if (invariantViolations.length > 0) await this.#callback(this.#onInvariantViolation, invariantViolations);
    return { ok: true, files, closedTrades: closed, openTrades: open, invariantViolations, durationMs: performance.now() - t0 };
  }

  /** total_trades of the existing equity.json; null (no baseline) when it is missing or unreadable. */
  #previousClosedCount(): number | null {
    try {
      const data: unknown = JSON.parse(fs.readFileSync(path.join(this.outputDir, 'equity.json'), 'utf8'));
      if (isPlainObject(data) && typeof data.total_trades === 'number' && Number.isFinite(data.total_trades)) return data.total_trades;
    } catch {
      // missing or damaged: the rebuild proceeds and heals it
    }
    return null;
  }

  /** The history file's baseline; a missing or damaged file is no baseline. */
  #readHistory(): HistoryRead {
    let got: ReturnType<typeof readLogBytes>;
    try {
      got = readLogBytes(this.#historyFile, this.#historyCache);
    } catch (err) {
      // outputDir is not a directory: no baseline here, and the mkdir that follows reports why
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return { bytes: null, file: null };
      throw err;
    }
    const cached = this.#historyCache;
    if (got === null) {
      this.#historyCache = null;
      return { bytes: null, file: null };
    }
    if (cached !== null && got.bytes === cached.bytes) return { bytes: cached.bytes, file: cached.file };
    const file = parseHistory(got.bytes);
    this.#historyCache = { version: got.version, bytes: got.bytes, file };
    return { bytes: got.bytes, file };
  }

  /**
   * The log, and on this reconciler's first read its fingerprint (null otherwise, or when it
   * cannot be known for sure): the SHA-256 of the bytes it was parsed from when the source knows
   * them (a file), else of the log serialized as a file store would write it (io/serialize.ts: a
   * function of the log). A cold cycle (cron) whose log is unchanged since the history file was
   * written then skips every trade digest; a long-running reconciler keeps its digests across
   * cycles and does not pay for this again. The rulebook read with the log is applied first:
   * a broken or contradicted one is one warning, and the last good settings (or the options
   * alone) stay, since the derived files are what status and the bots read.
   */
  async #read(): Promise<{ log: TradeLog; fingerprint: string | null }> {
    const first = this.#firstRead;
    const snapshot = await this.#source.read(first ? { fingerprint: true } : undefined);
    const look = this.#rulebook.look(snapshot);
    this.#rules.applyLeniently(() => look);
    if (!first) return { log: snapshot.log, fingerprint: null };
    this.#firstRead = false;
    const given = snapshot.fingerprint;
    return { log: snapshot.log, fingerprint: given !== undefined ? given : logSha256(serializeLog(snapshot.log).buf) };
  }

  /** Runs a user callback; a throw or rejection goes to onError and changes nothing else. */
  async #callback<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): Promise<void> {
    try {
      await fn(...args);
    } catch (err) {
      this.#report(err);
    }
  }

  #report(err: unknown): void {
    try {
      const r: unknown = (this.#onError as (e: unknown) => unknown)(err);
      if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') {
        (r as Promise<unknown>).then(undefined, () => undefined);
      }
    } catch {
      // the handler of last resort failed: nothing is left to tell
    }
  }

  // ------------------------------------------------------------- scheduling

  /**
   * Runs a cycle now, then every intervalMs (and, with watch, shortly after
   * each change of the log) until stop() or the signal aborts (scheduler.ts).
   */
  start(options: ReconcilerStartOptions = {}): void {
    if (this.#scheduler.running) throw new ReconcilerRunningError(this.outputDir);
    this.#scheduler.start(options);
  }

  /** Stops timers and the watcher, then waits for the cycle in flight (if any). No cycle starts after. */
  async stop(): Promise<void> {
    await this.#scheduler.stop();
    await this.#tail;
  }

  /**
   * stop(), then closes the source (its connections, a file log's descriptor): nothing of this
   * reconciler is left holding the process open. It cannot be used afterwards.
   */
  async close(): Promise<void> {
    await this.stop();
    await this.#source.close?.();
  }
}

/** What watch mode waits on for a source: its watch, or nothing (then only the periodic cycles run). */
export function watchOf(source: LogSource): (onChange: () => void, onError: (err: unknown) => void) => SourceWatch {
  if (typeof source.watch !== 'function') return () => ({ close: async () => {} });
  return (onChange, onError) => (source.watch as NonNullable<LogSource['watch']>).call(source, onChange, onError);
}

/** A baseline this reconciler just wrote, as #readHistory would read it back. */
function historyFileOf(b: Baseline): HistoryFile {
  return { tradeLog: b.tradeLog, nextId: b.nextId, logSha256: b.logSha256, baseline: () => b };
}

function warnCorruption(previous: number, current: number): void {
  process.emitWarning(
    `Corruption guard: the previous reconcile counted ${previous} closed trades, the log now has ${current}; derived files kept`,
    { code: 'TSE_CORRUPTION_GUARD' },
  );
}

function warnInvariants(violations: string[]): void {
  process.emitWarning(`${violations.length} derived-state invariant violation(s): ${violations.join('; ')}`, {
    code: 'TSE_DERIVED_INVARIANT',
  });
}
