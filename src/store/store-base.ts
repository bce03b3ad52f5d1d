/**
 * What both stores are apart from how they lock, read and write: the settings in force, the reads,
 * the advisory checks and the open step. TradeStore (a file) and PostgresTradeStore (a database
 * account) extend it, so that a read or a check cannot answer differently on the two backends.
 */
import { equityOf } from '../domain/formulas.js';
import { verifyIntegrity, type Violation } from '../domain/integrity.js';
import { OpenStateTracker } from '../domain/open-state.js';
import type { RiskConfig, RiskResult } from '../domain/risk.js';
import type { Settings } from '../domain/settings.js';
import { findTrade, formatTradeId, nextTradeNumber } from '../domain/trade-ops.js';
import type { DrawdownLimits, Trade, TradeLog } from '../domain/types.js';
import { validateOpenInput, type OpenInput } from '../domain/validate.js';
import { TradeNotFoundError } from '../errors.js';
import { advisory, checkOpen, openStep, probeOf, type CheckContext } from './operations.js';
import type { RulesInForce } from './rules.js';

/**
 * How a read applies the store's rulebook first: 'strict' refuses on a broken or conflicting one
 * (the checks of an open), 'lenient' warns and goes on with the last good settings (io/rulebook.ts),
 * 'none' does not need it.
 */
export type RulesNeed = 'strict' | 'lenient' | 'none';

export type Advice = { ok: true } | { ok: false; code: string; message: string };

export abstract class StoreBase {
  readonly #rules: RulesInForce;
  readonly #clock: () => Date;
  /** What the open checks read from the whole history, carried from one open of a group to the next (open-state.ts). */
  readonly #openState = new OpenStateTracker();

  protected constructor(rules: RulesInForce, clock: () => Date) {
    this.#rules = rules;
    this.#clock = clock;
  }

  /** The log as it is now (frozen: records are also the store's cache), its rulebook applied as `rules` says. */
  protected abstract readLog(rules: RulesNeed): Promise<TradeLog>;

  /** The settings in force and how they are kept up to date (store/rules.ts). */
  protected get rules(): RulesInForce {
    return this.#rules;
  }

  /** The store's clock (the `now` option). */
  protected clock(): Date {
    return this.#clock();
  }

  /** openTrade's pure step with this store's settings and clock (store/operations.ts). */
  protected openStep(valid: OpenInput): (log: TradeLog) => { log: TradeLog; result: Trade } {
    return openStep(valid, this.#openState, () => this.#checkContext());
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
    return (await this.readLog('none')).trades;
  }

  async getOpenTrades(): Promise<Trade[]> {
    return (await this.readLog('none')).trades.filter((t) => t.status === 'OPEN');
  }

  async getClosedTrades(): Promise<Trade[]> {
    return (await this.readLog('none')).trades.filter((t) => t.status === 'CLOSED');
  }

  /** The trade with this id; TradeNotFoundError when there is none. */
  async getTrade(id: string): Promise<Trade> {
    const t = findTrade(await this.readLog('none'), id);
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
    return formatTradeId(nextTradeNumber(await this.readLog('none')));
  }

  /** Current equity: starting capital plus realized P&L. */
  async equity(): Promise<number> {
    const log = await this.readLog('lenient');
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

  /** The integrity violations of the log as it is now ([] when clean). */
  async verifyIntegrity(): Promise<Violation[]> {
    const log = await this.readLog('lenient');
    return verifyIntegrity(log, { maxPositions: this.risk.maxPositions });
  }

  #checkContext(): CheckContext {
    return { settings: this.#rules.settings, risk: this.#rules.risk, now: this.#clock() };
  }

  #check(log: TradeLog, input: OpenInput): RiskResult {
    return checkOpen(log, input, this.#checkContext(), this.#openState.stateOf(log));
  }
}
