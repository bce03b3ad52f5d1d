/**
 * The read path: rebuilds every derived file from trade_log.json, the one
 * source of truth, and never writes or locks the log. A cycle is
 *
 *   read the log (no lock: writers replace it by rename, so one whole version
 *   is read) -> count guard -> history guard -> deriveState -> write the four
 *   files in a fixed order, each atomically and durably -> remember what this
 *   good cycle saw (.reconciler-history.json, last) -> check invariants.
 *
 * Any refusal (damaged log, count guard, history guard) leaves every derived
 * file exactly as it was: stale but right beats fresh but wrong for a bot
 * deciding whether it is halted. docs/reconciler.md is the user's guide.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { checkDerivedInvariants, deriveState, type DerivedState } from '../domain/derive.js';
import type { DrawdownLimits, TradeLog } from '../domain/types.js';
import { isPlainObject } from '../domain/validate.js';
import { ReconcilerRunningError, TradeLogCorruptError, ValidationError } from '../errors.js';
import { isTempOf, writeFileDurable } from '../io/durable-write.js';
import { readLogBytes, statVersionSync, type FileVersion } from '../io/read-log.js';
import {
  compareHistory,
  DigestCache,
  HISTORY_FILE,
  parseHistory,
  serializeHistory,
  type Baseline,
  type HistoryViolation,
} from './history.js';
import { LogReader } from './log-reader.js';

export type { HistoryViolation, HistoryViolationKind } from './history.js';

export interface ReconcilerOptions {
  /** Path of trade_log.json. Only ever read. */
  tradeLog: string;
  /** Where the derived files go. Default './state', resolved against the cwd at construction. */
  outputDir?: string;
  /** Default 5000. */
  startingCapital?: number;
  /** Negative fractions; default daily -0.02, weekly -0.10, total -0.20, warning -0.05. */
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

export interface ReconcilerStartOptions {
  /** Time between periodic cycles. Default 15 minutes; Infinity = none (watch only). */
  intervalMs?: number;
  /** Aborting it is stop(). */
  signal?: AbortSignal;
  /** Also reconcile shortly after each change of the log. Default false. */
  watch?: boolean;
  /** With watch: reconcile this long after the last change. Default 250. */
  debounceMs?: number;
}

/** The derived files, in the order every cycle writes them. */
export const DERIVED_FILES = Object.freeze(['portfolio.json', 'equity.json', 'risk_state.json', 'setup_performance.json'] as const);
const KEYS: readonly (keyof DerivedState)[] = ['portfolio', 'equity', 'risk_state', 'setup_performance'];

const DEFAULT_INTERVAL_MS = 15 * 60_000;
const DEFAULT_DEBOUNCE_MS = 250;
/** setTimeout fires at once (with a warning) beyond this. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** A steady stream of writes still gets a reconcile at least this often in watch mode. */
const MAX_WATCH_DELAY_MS = 1000;
/** Our temp files older than this, of a dead process, are litter of a crash. */
const STALE_TEMP_MS = 10 * 60_000;

interface HistoryRead {
  bytes: Buffer | null;
  baseline: Baseline | null;
}

export class StateReconciler {
  readonly outputDir: string;
  readonly #tradeLog: string;
  readonly #historyFile: string;
  readonly #startingCapital: number;
  readonly #drawdownLimits: Partial<DrawdownLimits> | undefined;
  readonly #onCorruption: (previous: number, current: number) => void;
  readonly #onHistoryViolation: (violation: HistoryViolation) => void;
  readonly #onInvariantViolation: (violations: string[]) => void;
  readonly #onError: (err: unknown) => void;
  readonly #now: () => Date;
  readonly #reader: LogReader;
  readonly #digests = new DigestCache();
  #historyCache: { version: FileVersion; bytes: Buffer; baseline: Baseline | null } | null = null;
  /** The log object and history bytes of the last cycle that passed the history guard with nothing to record. */
  #passed: { log: TradeLog; history: Buffer } | null = null;
  #swept = false;
  /** Cycles run one after another, whoever asks (start, watch or a direct reconcile()). */
  #tail: Promise<unknown> = Promise.resolve();

  #running = false;
  #loop: Promise<void> | null = null;
  #pending = false;
  #timer: NodeJS.Timeout | null = null;
  #debounce: NodeJS.Timeout | null = null;
  #firstChange = 0;
  #debounceMs = DEFAULT_DEBOUNCE_MS;
  #watchWanted = false;
  #watcher: fs.FSWatcher | null = null;
  #abort: { signal: AbortSignal; listener: () => void } | null = null;

  constructor(options: ReconcilerOptions) {
    if (options === null || typeof options !== 'object') throw new ValidationError('options', options, 'must be an object');
    if (typeof options.tradeLog !== 'string' || options.tradeLog === '') {
      throw new ValidationError('tradeLog', options.tradeLog, 'must be a non-empty path');
    }
    if (options.outputDir !== undefined && (typeof options.outputDir !== 'string' || options.outputDir === '')) {
      throw new ValidationError('outputDir', options.outputDir, 'must be a non-empty path');
    }
    this.#tradeLog = path.resolve(options.tradeLog);
    this.outputDir = path.resolve(options.outputDir ?? './state');
    this.#historyFile = path.join(this.outputDir, HISTORY_FILE);
    this.#startingCapital = options.startingCapital ?? 5000;
    if (typeof this.#startingCapital !== 'number' || !Number.isFinite(this.#startingCapital) || this.#startingCapital <= 0) {
      throw new ValidationError('startingCapital', options.startingCapital, 'must be a finite number > 0');
    }
    this.#drawdownLimits = checkLimits(options.drawdownLimits);
    for (const name of ['onCorruption', 'onHistoryViolation', 'onInvariantViolation', 'onError', 'now'] as const) {
      if (options[name] !== undefined && typeof options[name] !== 'function') throw new ValidationError(name, options[name], 'must be a function');
    }
    this.#onCorruption = options.onCorruption ?? warnCorruption;
    this.#onHistoryViolation = options.onHistoryViolation ?? ((v) => process.emitWarning(v.message, { code: 'TSE_HISTORY_GUARD' }));
    this.#onInvariantViolation = options.onInvariantViolation ?? warnInvariants;
    this.#onError = options.onError ?? ((err) => process.emitWarning(err instanceof Error ? err : String(err)));
    this.#now = options.now ?? (() => new Date());
    this.#reader = new LogReader(this.#tradeLog);
  }

  get running(): boolean {
    return this.#running;
  }

  /**
   * One cycle. Resolves ok:false for the three refusals (files untouched);
   * rejects only on unexpected I/O errors (outputDir not writable, …).
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
    try {
      log = this.#reader.read().log;
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
    // Same log object and same history bytes as a cycle that passed: same verdict, nothing to record.
    if (passed === null || passed.log !== log || passed.history !== history.bytes) {
      const current = this.#digests.closedDigests(log);
      const base = history.baseline;
      if (base !== null) {
        const violations = compareHistory(base, log, current, this.#historyFile);
        if (violations.length > 0) {
          for (const v of violations) await this.#callback(this.#onHistoryViolation, v);
          return { ok: false, reason: 'HISTORY_GUARD', message: violations.map((v) => v.message).join('; '), files: [] };
        }
      }
      // Every remembered trade is there unchanged, so equal sizes mean equal sets.
      const same = base !== null && base.nextId === log.next_id && base.closed.size === current.size && base.tradeLog === this.#tradeLog;
      if (!same) record = { tradeLog: this.#tradeLog, nextId: log.next_id, closed: current };
    }

    const state = deriveState(log, { startingCapital: this.#startingCapital, drawdownLimits: this.#drawdownLimits, now: this.#now() });
    await fs.promises.mkdir(this.outputDir, { recursive: true });
    if (!this.#swept) {
      this.#swept = true;
      this.#sweepStaleTemps();
    }
    const files: string[] = [];
    for (let k = 0; k < KEYS.length; k++) {
      const file = path.join(this.outputDir, DERIVED_FILES[k] as string);
      await writeFileDurable(file, `${JSON.stringify(state[KEYS[k] as keyof DerivedState], null, 2)}\n`);
      files.push(file);
    }
    // Last: a crash before this point leaves the previous baseline, which the log still satisfies.
    if (record !== null) {
      const bytes = Buffer.from(serializeHistory(record), 'utf8');
      await writeFileDurable(this.#historyFile, bytes);
      const version = statVersionSync(this.#historyFile);
      this.#historyCache = version === null ? null : { version, bytes, baseline: record };
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
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return { bytes: null, baseline: null };
      throw err;
    }
    const cached = this.#historyCache;
    if (got === null) {
      this.#historyCache = null;
      return { bytes: null, baseline: null };
    }
    if (cached !== null && got.bytes === cached.bytes) return { bytes: cached.bytes, baseline: cached.baseline };
    const baseline = parseHistory(got.bytes);
    this.#historyCache = { version: got.version, bytes: got.bytes, baseline };
    return { bytes: got.bytes, baseline };
  }

  /** Removes temp files of our own outputs left by a reconciler killed mid-write. */
  #sweepStaleTemps(): void {
    const targets = [...DERIVED_FILES, HISTORY_FILE];
    let names: string[];
    try {
      names = fs.readdirSync(this.outputDir);
    } catch {
      return;
    }
    for (const name of names) {
      if (!targets.some((t) => isTempOf(t, name))) continue;
      const pid = Number(/\.tse-(\d+)-\d+\.tmp$/.exec(name)?.[1]);
      if (!Number.isSafeInteger(pid) || pid === process.pid || isAlive(pid)) continue;
      const file = path.join(this.outputDir, name);
      try {
        // Age too: a pid in another pid namespace (a container sharing the volume) can look dead.
        if (Date.now() - fs.statSync(file).mtimeMs > STALE_TEMP_MS) fs.rmSync(file, { force: true });
      } catch {
        // gone already, or not ours to remove: litter, not a fault
      }
    }
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
   * each change of the log) until stop() or the signal aborts. The timers are
   * not unref'd: a process whose job is to reconcile stays alive for it.
   */
  start(options: ReconcilerStartOptions = {}): void {
    if (this.#running) throw new ReconcilerRunningError(this.outputDir);
    if (options === null || typeof options !== 'object') throw new ValidationError('options', options, 'must be an object');
    const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    if (typeof intervalMs !== 'number' || Number.isNaN(intervalMs) || intervalMs <= 0) {
      throw new ValidationError('intervalMs', intervalMs, 'must be a number > 0 (Infinity: no periodic cycle)');
    }
    const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    if (typeof debounceMs !== 'number' || !Number.isFinite(debounceMs) || debounceMs < 0) {
      throw new ValidationError('debounceMs', debounceMs, 'must be a finite number >= 0');
    }
    const { signal } = options;
    if (signal !== undefined && (signal === null || typeof signal.addEventListener !== 'function' || typeof signal.aborted !== 'boolean')) {
      throw new ValidationError('signal', signal, 'must be an AbortSignal');
    }
    if (signal?.aborted) return;

    this.#running = true;
    this.#debounceMs = debounceMs;
    this.#watchWanted = options.watch === true;
    if (signal !== undefined) {
      const listener = (): void => {
        this.stop().catch((err: unknown) => this.#report(err));
      };
      signal.addEventListener('abort', listener, { once: true });
      this.#abort = { signal, listener };
    }
    if (Number.isFinite(intervalMs)) this.#timer = setInterval(() => this.#trigger(), Math.min(intervalMs, MAX_TIMER_MS));
    if (this.#watchWanted) this.#startWatcher();
    this.#trigger();
  }

  /** Stops timers and the watcher, then waits for the cycle in flight (if any). No cycle starts after. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#pending = false;
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#debounce !== null) clearTimeout(this.#debounce);
    this.#timer = null;
    this.#debounce = null;
    this.#watcher?.close();
    this.#watcher = null;
    if (this.#abort !== null) {
      this.#abort.signal.removeEventListener('abort', this.#abort.listener);
      this.#abort = null;
    }
    await this.#loop;
    await this.#tail;
  }

  /** Asks for a cycle: one starts now, or, if one is running, exactly one more runs after it. */
  #trigger(): void {
    if (!this.#running) return;
    if (this.#loop !== null) {
      this.#pending = true;
      return;
    }
    this.#loop = this.#runLoop();
  }

  async #runLoop(): Promise<void> {
    try {
      do {
        this.#pending = false;
        try {
          const r = await this.reconcile();
          // The other two refusals have their callbacks; a damaged log must not go unnoticed either.
          if (!r.ok && r.reason === 'LOG_CORRUPT') this.#report(r.error);
        } catch (err) {
          this.#report(err);
        }
        if (this.#running && this.#watchWanted && this.#watcher === null) this.#startWatcher();
      } while (this.#pending && this.#running);
    } finally {
      this.#loop = null;
    }
  }

  /**
   * Watches the log's directory, not the file: writers replace the file by
   * rename, and a watch on the old inode goes deaf after the first write.
   */
  #startWatcher(): void {
    const base = path.basename(this.#tradeLog);
    let w: fs.FSWatcher;
    try {
      w = fs.watch(path.dirname(this.#tradeLog), { persistent: true }, (_event, filename) => {
        if (filename === null || String(filename) === base) this.#changed();
      });
    } catch (err) {
      this.#report(err); // retried after the next periodic cycle
      return;
    }
    w.on('error', (err) => {
      this.#report(err);
      w.close();
      if (this.#watcher === w) this.#watcher = null;
    });
    this.#watcher = w;
  }

  /** Debounce: a cycle debounceMs after the last change, but no later than MAX_WATCH_DELAY_MS after the first. */
  #changed(): void {
    if (!this.#running) return;
    const now = Date.now();
    if (this.#debounce === null) this.#firstChange = now;
    else clearTimeout(this.#debounce);
    const due = Math.min(now + this.#debounceMs, this.#firstChange + Math.max(this.#debounceMs, MAX_WATCH_DELAY_MS));
    this.#debounce = setTimeout(() => {
      this.#debounce = null;
      this.#trigger();
    }, Math.max(0, due - now));
  }
}

function checkLimits(limits: Partial<DrawdownLimits> | undefined): Partial<DrawdownLimits> | undefined {
  if (limits === undefined) return undefined;
  if (!isPlainObject(limits)) throw new ValidationError('drawdownLimits', limits, 'must be an object');
  for (const key of ['daily', 'weekly', 'total', 'warning'] as const) {
    const v = limits[key];
    if (v === undefined) continue;
    // deriveState's rule: -Infinity disables a limit; 0 or more would halt on a flat day
    if (typeof v !== 'number' || Number.isNaN(v) || v >= 0) {
      throw new ValidationError(`drawdownLimits.${key}`, v, 'must be a negative fraction, e.g. -0.02 for -2 % (-Infinity disables it)');
    }
  }
  return { ...limits };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
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
