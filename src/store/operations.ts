/**
 * The steps both stores run for a write call and the open checks both run, in one place: the
 * file store (TradeStore) and the database store (PostgresTradeStore) differ only in how they
 * lock, read and write, never in what a call decides.
 */
import { haltState } from '../domain/derive/index.js';
import { equityOf } from '../domain/formulas.js';
import { sameInstrument } from '../domain/instrument.js';
import { equityFrom, haltFrom, nextNumberFrom, type OpenState, type OpenStateTracker } from '../domain/open-state.js';
import { checkOpenRisk, checkOpenRiskWith, type RiskConfig, type RiskResult } from '../domain/risk.js';
import { SETTING_NAMES, type Settings, type SettingsInput } from '../domain/settings.js';
import { applyOpen, findTradeByClientId } from '../domain/trade-ops.js';
import type { Trade, TradeLog } from '../domain/types.js';
import type { OpenInput } from '../domain/validate.js';
import { RiskRejectedError, ValidationError } from '../errors.js';

/** What the open checks need from a store at the moment they run. */
export interface CheckContext {
  readonly settings: Readonly<Settings>;
  readonly risk: Readonly<RiskConfig>;
  readonly now: Date;
}

/**
 * Every open check: the drawdown halt first (closes and stop moves stay allowed), then duplicate,
 * cap, correlation and loss cap. `state`: the log's OpenState when the caller has it — the same
 * numbers as the full passes without walking the history again.
 */
export function checkOpen(log: TradeLog, input: OpenInput, ctx: CheckContext, state: OpenState | null): RiskResult {
  const { settings } = ctx;
  if (settings.haltOnDrawdown) {
    const options = { startingCapital: settings.startingCapital, drawdownLimits: settings.drawdownLimits, now: ctx.now };
    const h = state !== null ? haltFrom(state, options) : haltState(log, options);
    if (h.halted) {
      return {
        ok: false,
        code: 'HALTED',
        message: `Trading is halted: ${h.halt_reason ?? 'a drawdown limit is breached'}; closes and stop updates are still allowed`,
        details: { reason: h.halt_reason, daily: h.daily, weekly: h.weekly, total: h.total },
      };
    }
  }
  if (state === null) return checkOpenRisk(log, input, ctx.risk, equityOf(log, settings.startingCapital));
  return checkOpenRiskWith(log, state.open, input, ctx.risk, equityFrom(state, settings.startingCapital));
}

/**
 * openTrade's pure step. A client_id already in the log returns that trade (a safe retry), unless
 * it names another instrument or direction; otherwise every check, then the new trade.
 */
export function openStep(
  valid: OpenInput,
  tracker: OpenStateTracker,
  context: () => CheckContext,
): (log: TradeLog) => { log: TradeLog; result: Trade } {
  return (log) => {
    if (valid.client_id !== undefined) {
      const existing = findTradeByClientId(log, valid.client_id);
      if (existing) {
        if (!sameInstrument(existing.symbol, valid.symbol) || existing.direction !== valid.direction) {
          throw new ValidationError(
            'client_id',
            valid.client_id,
            `was already used for trade ${existing.id} (${existing.direction} ${existing.symbol})`,
          );
        }
        return { log, result: existing };
      }
    }
    const state = tracker.stateOf(log);
    const ctx = context();
    const verdict = checkOpen(log, valid, ctx, state);
    if (!verdict.ok) throw new RiskRejectedError(verdict.code, verdict.message, verdict.details);
    const next = applyOpen(log, valid, ctx.now, state !== null ? nextNumberFrom(state, log) : undefined);
    return { log: next.log, result: next.trade };
  };
}

/** A checkOpen/canOpenPosition answer without the details a refusal carries. */
export function advisory(r: RiskResult): { ok: true } | { ok: false; code: string; message: string } {
  return r.ok ? r : { ok: false, code: r.code, message: r.message };
}

/** The nominal trade canOpenPosition checks: no risk, so the correlation check cannot refuse it. */
export function probeOf(symbol: unknown): OpenInput {
  if (typeof symbol !== 'string' || symbol.trim() === '') throw new ValidationError('symbol', symbol, 'must be a non-empty string');
  return { symbol, direction: 'LONG', entry_price: 1, stop_price: 1, target_price: 2, size: 1 };
}

/** The settings among a store's options, copied: a caller changing its options object later changes nothing. */
export function settingOptions(options: SettingsInput): SettingsInput {
  const out: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) if (options[name] !== undefined) out[name] = options[name];
  if (options.drawdownLimits !== undefined) out.drawdownLimits = { ...options.drawdownLimits };
  return out as SettingsInput;
}

/** The settings the open checks read, from the settings in force. */
export function riskOf(settings: Readonly<Settings>): Readonly<RiskConfig> {
  const { maxPositions, correlationGroups, maxCorrGroupRiskPct, assetConsecutiveLossCap } = settings;
  return Object.freeze({ maxPositions, correlationGroups, maxCorrGroupRiskPct, assetConsecutiveLossCap });
}
