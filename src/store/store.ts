/**
 * The one store: every write call, its queue and group commit, the rulebook in force, the reads
 * and advisory checks, the integrity check after a write. Where the log lives is its backend's
 * (store/backend.ts): TradeStore runs it over a file (store/file-backend.ts), PostgresTradeStore
 * over a database account (postgres/backend.ts), so that no call can decide differently on the two.
 */
import { equityOf } from '../domain/formulas.js';
import { IntegrityTracker, verifyIntegrity, violationSummary, type Violation } from '../domain/integrity.js';
import { OpenStateTracker } from '../domain/open-state.js';
import type { RiskConfig, RiskResult } from '../domain/risk.js';
import type { Settings, SettingsInput } from '../domain/settings.js';
import {
  applyClose,
  applyPartial,
  applyUpdate,
  applyUpdatesBatch,
  findTrade,
  formatTradeId,
  nextTradeNumber,
  type PartialResult,
} from '../domain/trade-ops.js';
import type { TradeEvent } from '../domain/trade-events.js';
import type { DrawdownLimits, Trade, TradeLog } from '../domain/types.js';
import {
  adoptVenue,
  compareVenue,
  validateExitReason,
  validateTolerance,
  validateVenuePositions,
  validateVenuePrices,
  type CompareOptions,
  type VenueAdoption,
  type VenueDrift,
  type VenuePosition,
} from '../domain/venue.js';
import { validateCloseInput, validateOpenInput, validatePartialInput, validatePatch, validateUpdates, type OpenInput } from '../domain/validate.js';
import { LockTimeoutError, TradeNotFoundError, ValidationError } from '../errors.js';
import { lockTimeoutOption, type StoreBackend } from './backend.js';
import { traceWrite, writesTraced, type StoreIdentity } from './diagnostics.js';
import { advisory, checkOpen, openStep, probeOf, type CheckContext } from './operations.js';
import { RulesInForce } from './rules.js';
import { Watches, type WatchOptions } from './watch.js';
import { applyGroup, doneOperations, settleGroup, WriteQueue, type PendingWrite } from './write-group.js';

export type Advice = { ok: true } | { ok: false; code: string; message: string };

export type CheckResult = { ok: true } | { ok: false; code: RiskResult extends { ok: false; code: infer C } ? C : never; message: string };

/** The options every store takes, whatever its backend. */
export interface StoreOptions<Context> extends SettingsInput {
  lockTimeoutMs?: number;
  onIntegrityViolation?: (violations: Violation[], context: Context) => void;
  now?: () => Date;
}

type Step<T> = (log: TradeLog) => { log: TradeLog; result: T };

/** Where a store's log lives, as the diagnostics channels name it (store/diagnostics.ts); for trade-state-engine/prometheus. */
export let identityOf: <C>(store: Store<C>) => StoreIdentity;

export abstract class Store<Context> {
  readonly #backend: StoreBackend<Context>;
  readonly #rules: RulesInForce;
  readonly #clock: () => Date;
  readonly #lockTimeoutMs: number;
  readonly #onViolation: ((violations: Violation[], context: Context) => void) | undefined;
  /** What the open checks read from the whole history, carried from one open of a group to the next (open-state.ts). */
  readonly #openState = new OpenStateTracker();
  /** The after-write integrity check, kept up to date with the last log it checked. */
  readonly #integrity = new IntegrityTracker();
  /** Writes not yet in a group, in arrival order (#commitGroup). */
  readonly #writes: WriteQueue;
  readonly #watches = new Watches();

  static {
    identityOf = (store) => store.#backend.identity;
  }

  protected constructor(options: StoreOptions<Context>, backend: StoreBackend<Context>) {
    // A bad option is refused as ever (RulesInForce resolves the options alone), before the log is looked at.
    this.#rules = new RulesInForce(options, backend.where);
    this.#backend = backend;
    this.#clock = options.now ?? (() => new Date());
    this.#lockTimeoutMs = lockTimeoutOption(options.lockTimeoutMs);
    this.#onViolation = options.onIntegrityViolation;
    this.#writes = new WriteQueue(() => this.#commitGroup(), backend.drainScope?.());
  }

  /** The settings in force and how they are kept up to date (store/rules.ts). */
  protected get rules(): RulesInForce {
    return this.#rules;
  }

  // ------------------------------------------------------------------ writes

  /**
   * Opens a trade after every risk check passed under the lock. With a client_id already in the
   * log, returns that trade instead of opening a second one (a safe retry after a crash), once that
   * version of the log is durable.
   */
  openTrade(input: OpenInput): Promise<Trade> {
    return writesTraced() ? this.#traced('openTrade', () => this.#openTrade(input)) : this.#openTrade(input);
  }

  async #openTrade(input: OpenInput): Promise<Trade> {
    const valid = validateOpenInput(input);
    return this.#push('openTrade', valid, openStep(valid, this.#openState, () => this.#checkContext()), 'strict');
  }

  closeTrade(id: string, input: { exit_price: number; exit_reason?: string | null; lessons?: string | null }): Promise<Trade> {
    return writesTraced() ? this.#traced('closeTrade', () => this.#closeTrade(id, input)) : this.#closeTrade(id, input);
  }

  async #closeTrade(id: string, input: { exit_price: number; exit_reason?: string | null; lessons?: string | null }): Promise<Trade> {
    const valid = validateCloseInput(input);
    return this.#push('closeTrade', { id, ...valid }, (log) => {
      const next = applyClose(log, id, valid, this.#clock());
      return { log: next.log, result: next.trade };
    });
  }

  partialClose(id: string, input: { fraction: number; exit_price: number; reason?: string | null }): Promise<PartialResult> {
    return writesTraced() ? this.#traced('partialClose', () => this.#partialClose(id, input)) : this.#partialClose(id, input);
  }

  async #partialClose(id: string, input: { fraction: number; exit_price: number; reason?: string | null }): Promise<PartialResult> {
    const valid = validatePartialInput(input);
    return this.#push('partialClose', { id, ...valid }, (log) => {
      const next = applyPartial(log, id, valid, this.#clock());
      return { log: next.log, result: next.result };
    });
  }

  /** Changes only mutable fields (stops, target, notes, grade, setup_type, lessons, extension fields). */
  updateTrade(id: string, patch: Record<string, unknown>): Promise<Trade> {
    return writesTraced() ? this.#traced('updateTrade', () => this.#updateTrade(id, patch)) : this.#updateTrade(id, patch);
  }

  async #updateTrade(id: string, patch: Record<string, unknown>): Promise<Trade> {
    // Checked and copied now: the caller may change its object before the group runs.
    const valid = validatePatch(patch);
    return this.#push('updateTrade', { id, patch: valid }, (log) => {
      const next = applyUpdate(log, id, valid);
      return { log: next.log, result: next.trade };
    });
  }

  /** Several updates under one lock and one write; all or nothing. Returns how many trades changed. */
  updateTradesBatch(updates: ReadonlyArray<readonly [string, Record<string, unknown>]>): Promise<number> {
    return writesTraced() ? this.#traced('updateTradesBatch', () => this.#updateTradesBatch(updates)) : this.#updateTradesBatch(updates);
  }

  async #updateTradesBatch(updates: ReadonlyArray<readonly [string, Record<string, unknown>]>): Promise<number> {
    const valid = validateUpdates(updates);
    return this.#push('updateTradesBatch', { updates: valid }, (log) => {
      const next = applyUpdatesBatch(log, valid);
      return { log: next.log, result: valid.length };
    });
  }

  /**
   * Settles the drift between the log and the venue that needs no guess (domain/venue.ts,
   * docs/venue.md), as one write call: the comparison is re-done under the lock on the log as it is
   * then, so a trade another process closed a moment ago is not closed twice. A GHOST is closed at
   * its price with `exitReason` (default 'venue_flat'); a SIZE where the venue holds less is reduced
   * by the difference; nothing is ever opened. Lenient: a broken rulebook does not block it (it only
   * closes). Bad input is refused here, before anything is queued.
   */
  adoptVenue(positions: readonly VenuePosition[], options: { prices: Record<string, number>; exitReason?: string; tolerance?: number }): Promise<VenueAdoption> {
    return writesTraced() ? this.#traced('adoptVenue', () => this.#adoptVenue(positions, options)) : this.#adoptVenue(positions, options);
  }

  async #adoptVenue(positions: readonly VenuePosition[], options: { prices: Record<string, number>; exitReason?: string; tolerance?: number }): Promise<VenueAdoption> {
    checkOptionsObject(options);
    const valid = validateVenuePositions(positions);
    const prices = validateVenuePrices(options.prices);
    const exitReason = validateExitReason(options.exitReason);
    const tolerance = validateTolerance(options.tolerance);
    const input = { positions: valid, prices: Object.fromEntries(prices), exit_reason: exitReason, tolerance };
    return this.#push('adoptVenue', input, (log) => adoptVenue(log, valid, { prices, exitReason, tolerance }, this.#clock()));
  }

  /** Replaces the whole log with `log` (checked and copied by the caller), under the lock, as one write call. */
  protected replaceLog(log: TradeLog): Promise<void> {
    const call = (): Promise<void> => this.#push('saveRaw', undefined, () => ({ log, result: undefined }));
    return writesTraced() ? this.#traced('saveRaw', call) : call();
  }

  /**
   * One write call, from its validation to its settling, published on the write channel
   * (store/diagnostics.ts) when someone subscribes: a refused input is a failed call too. Each
   * public write method calls its body directly when nobody subscribes: a closure per call, or an
   * async frame more, measurably slowed a call refused at validation (bench/metrics.js).
   */
  #traced<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return traceWrite(() => this.#backend.identity, operation, call);
  }

  /**
   * Queues one write call and resolves or rejects it once its group is decided. `rules`: 'strict'
   * for a call that applies the settings (an open), which a broken or conflicting rulebook refuses;
   * 'lenient' for the others.
   *
   * Group commit: the calls that arrive while a write of this store is in flight (or waiting for
   * the lock) are applied together, in arrival order, under one lock and in one durable write — a
   * monitor trailing seven stops pays one fsync pair (one COMMIT) instead of seven. Each call still
   * gets its own result or error: its step is pure, so a refused call leaves the evolving log as it
   * was and the next call sees the effect of every accepted call before it.
   */
  #push<T>(operation: string, input: unknown, step: Step<T>, rules: 'strict' | 'lenient' = 'lenient'): Promise<T> {
    // In the caller's context: the lock is taken later, by the drain, in its own.
    const refused = this.#backend.refuseCall?.(operation) ?? null;
    if (refused !== null) return Promise.reject(refused);
    const bad = this.#backend.refuseInput?.(input) ?? null;
    if (bad !== null) {
      return this.#writes.push(operation, input, (log) => {
        step(log);
        throw bad;
      }, rules);
    }
    return this.#writes.push(operation, input, step, rules);
  }

  /**
   * One group: the backend locks, takes every queued call, reads, runs `apply` (each call's step in
   * turn, the rulebook read under the lock refusing strict calls when broken), persists, unlocks;
   * then each call is settled and the result checked. Nothing resolves before the write holding it
   * is durable. Each call keeps its own lockTimeoutMs, counted from its arrival: the lock step waits
   * until the oldest call's deadline, and a timeout fails only the calls whose deadline has passed;
   * the others stay queued for the next group. Any other failure before the calls were taken fails
   * every queued call; a failure after it, every call taken (the refused ones too: their refusal
   * may rest on calls that are now not written).
   */
  async #commitGroup(): Promise<void> {
    const oldest = this.#writes.pending[0] as PendingWrite;
    let group: PendingWrite[] | null = null;
    const take = (): PendingWrite[] => (group ??= this.#writes.pending.splice(0));
    let applied;
    try {
      applied = await this.#backend.runGroup({ until: oldest.arrivedAt + this.#lockTimeoutMs, timeoutMs: this.#lockTimeoutMs }, take, (before, rulebook) => {
        const calls = take();
        // Read once per group under the lock: an edited rulebook applies to this very write, in
        // every process; its problem refuses each strict call and warns once for the lenient ones.
        const settingsError = this.#rules.applyForGroup(rulebook, calls.some((c) => c.rules === 'lenient'));
        return applyGroup(before, calls, settingsError);
      });
    } catch (err) {
      if (group !== null) {
        for (const call of group as PendingWrite[]) call.reject(err);
        return;
      }
      const timedOut = (err as { code?: unknown } | null)?.code === 'ELOCKTIMEOUT';
      const now = performance.now();
      const pending = this.#writes.pending;
      const failed = timedOut ? pending.filter((c) => c.arrivedAt + this.#lockTimeoutMs <= now + 1) : pending.slice();
      // Progress: the oldest call's deadline has passed when its wait timed out.
      if (failed.length === 0) failed.push(oldest);
      this.#writes.pending = pending.filter((c) => !failed.includes(c));
      // Each names the wait it was promised (a file lock's own error names what was left of it).
      const error = timedOut ? new LockTimeoutError((err as LockTimeoutError).path, this.#lockTimeoutMs) : err;
      for (const call of failed) call.reject(error);
      return;
    }
    const calls = group as PendingWrite[] | null;
    // A backend that returns without taking the calls breaks its contract: fail them rather than loop.
    if (calls === null) throw new Error('the store backend returned from runGroup without take()');
    settleGroup(calls, applied.outcomes);
    // Checked after every write, off the callers' path: violations are reported, never blocking.
    const operation = doneOperations(calls, applied.outcomes);
    if (operation !== null) {
      const after = applied.log;
      setImmediate(() => this.#verify(after, operation));
    }
  }

  #verify(log: TradeLog, operation: string): void {
    // Incremental: a write changes a few trades, and this runs on the thread the next write needs.
    const violations = this.#integrity.check(log, { maxPositions: this.risk.maxPositions });
    if (violations.length === 0) return;
    try {
      if (this.#onViolation !== undefined) this.#onViolation(violations, this.#backend.context(operation));
      else process.emitWarning(violationSummary(violations, this.#backend.where, operation), { code: 'TSE_INTEGRITY' });
    } catch {
      // A failing handler must not turn a durable write into a reported failure.
    }
  }

  // ------------------------------------------------------------------ events

  /**
   * Every change to the log, by any writer (this process, another, another host, a Python bot), as
   * an async iterable of TradeEvents in the log's order, from the log as it is at this call (or,
   * on PostgreSQL, after `since`). `signal`, a `break` out of the loop or the store's close() end
   * it and close the watcher, timers and connection it opened. What a file can promise and what a
   * database can: docs/observability.md, "Events". StoreClosedError (ECLOSED) after close().
   */
  watch(options: WatchOptions = {}): AsyncIterableIterator<TradeEvent> {
    return this.#watches.start(this.#backend, options);
  }

  /** Ends the running watches and refuses new ones: the subclasses' close() calls it first. */
  protected closeWatches(): Promise<void> {
    return this.#watches.close();
  }

  // ------------------------------------------------------------------- reads

  /**
   * The log as it is now (frozen: records are also the store's cache), without the lock. Its
   * rulebook comes with it and is applied: strictly for the open checks (a broken or conflicting
   * one refuses), leniently for everything else (a warning; store.settings follows it).
   */
  protected async readLog(rules: 'strict' | 'lenient' = 'lenient'): Promise<TradeLog> {
    const { log, rulebook } = await this.#backend.read();
    if (rules === 'strict') this.#rules.apply(rulebook);
    else this.#rules.applyLeniently(rulebook);
    return log;
  }

  /** Every risk setting in force, as last resolved. */
  get settings(): Readonly<Settings> {
    return this.#rules.settings;
  }

  /**
   * Why the log's rulebook, as last read, cannot be applied (SettingsFileError, ValidationError or
   * SettingsConflictError): opens are refused with it, the rest goes on with `settings`. null when fine.
   */
  get settingsProblem(): Error | null {
    return this.#rules.problem;
  }

  /** settings.startingCapital, kept as its own field for existing callers. */
  get startingCapital(): number {
    return this.#rules.settings.startingCapital;
  }

  /** The four settings the open checks read. */
  get risk(): Readonly<RiskConfig> {
    return this.#rules.risk;
  }

  get drawdownLimits(): Readonly<DrawdownLimits> {
    return this.#rules.settings.drawdownLimits;
  }

  async getAllTrades(): Promise<readonly Trade[]> {
    return (await this.readLog()).trades;
  }

  async getOpenTrades(): Promise<Trade[]> {
    return (await this.readLog()).trades.filter((t) => t.status === 'OPEN');
  }

  async getClosedTrades(): Promise<Trade[]> {
    return (await this.readLog()).trades.filter((t) => t.status === 'CLOSED');
  }

  /** The trade with this id; TradeNotFoundError when there is none. */
  async getTrade(id: string): Promise<Trade> {
    const t = findTrade(await this.readLog(), id);
    if (!t) throw new TradeNotFoundError(id);
    return t;
  }

  /**
   * The symbol of each open trade, in log order, as written (not its instrument key): "btc" and
   * "BTC" open at once, which only a hand-edited log or another writer can produce, give both.
   * Whether a symbol may open is canOpenPosition's question, which compares by instrument key.
   */
  async getOpenSymbols(): Promise<string[]> {
    return (await this.getOpenTrades()).map((t) => t.symbol);
  }

  async positionCount(): Promise<number> {
    return (await this.getOpenTrades()).length;
  }

  /** The id the next opened trade will get, e.g. "T012". */
  async nextId(): Promise<string> {
    return formatTradeId(nextTradeNumber(await this.readLog()));
  }

  /** Current equity: starting capital plus realized P&L. */
  async equity(): Promise<number> {
    const log = await this.readLog();
    return equityOf(log, this.startingCapital);
  }

  /**
   * Advisory dry run of every open check (halt, duplicate, cap, correlation, loss cap) without the
   * lock: the answer can be stale by the time you act. openTrade repeats the checks under the lock;
   * only its answer is binding.
   */
  async checkOpen(input: OpenInput): Promise<Advice> {
    const valid = validateOpenInput(input);
    return advisory(this.#check(await this.readLog('strict'), valid));
  }

  /**
   * Advisory: could a trade on `symbol` open now, size aside (halt, duplicate, cap, loss cap; the
   * correlation check needs a size and a stop, see checkOpen).
   */
  async canOpenPosition(symbol: string): Promise<Advice> {
    const probe = probeOf(symbol);
    return advisory(this.#check(await this.readLog('strict'), probe));
  }

  /**
   * The drift between the log's open trades and what the venue holds (domain/venue.ts): read-only,
   * without the lock, so the answer can be stale by the time you act; adoptVenue compares again
   * under the lock.
   */
  async compareVenue(positions: readonly VenuePosition[], options: CompareOptions = {}): Promise<VenueDrift> {
    checkOptionsObject(options);
    const valid = validateVenuePositions(positions);
    const tolerance = validateTolerance(options.tolerance);
    return compareVenue(await this.readLog(), valid, { tolerance });
  }

  /** The integrity violations of the log as it is now ([] when clean). */
  async verifyIntegrity(): Promise<Violation[]> {
    const log = await this.readLog();
    return verifyIntegrity(log, { maxPositions: this.risk.maxPositions });
  }

  #checkContext(): CheckContext {
    return { settings: this.#rules.settings, risk: this.#rules.risk, now: this.#clock() };
  }

  #check(log: TradeLog, input: OpenInput): RiskResult {
    return checkOpen(log, input, this.#checkContext(), this.#openState.stateOf(log));
  }
}

/** An options argument that is an object, or ValidationError. */
export function checkOptionsObject(options: unknown): void {
  if (options === null || typeof options !== 'object') throw new ValidationError('options', options, 'must be an object');
}
