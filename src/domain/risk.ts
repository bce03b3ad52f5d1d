/**
 * The pre-trade risk checks of SPEC §4, in the spec's order; the first that
 * fails decides. Pure: the store runs them under the same lock as the write.
 *
 * Symbols are compared by their instrument key (instrument.ts): "btc" is a
 * duplicate of an open "BTC", a member of a group that lists "BTC", and
 * continues "BTC"'s loss streak. (The Python original compared them exactly.)
 */
import type { RiskCode } from '../errors.js';
import { initialRiskUsd, netPnl, stopDistance } from './formulas.js';
import { instrumentKey, instrumentKeyOf } from './instrument.js';
import type { Settings } from './settings.js';
import type { Trade, TradeLog } from './types.js';
import type { OpenInput } from './validate.js';

/** The four settings the open checks read (domain/settings.ts validates them and holds the defaults). */
export type RiskConfig = Pick<Settings, 'maxPositions' | 'correlationGroups' | 'maxCorrGroupRiskPct' | 'assetConsecutiveLossCap'>;

export type RiskResult =
  | { ok: true }
  | { ok: false; code: RiskCode; message: string; details: Record<string, unknown> };

const usd = (x: number): string => x.toFixed(2);

/**
 * Runs DUPLICATE_SYMBOL, POSITION_CAP, CORRELATION_LIMIT, ASSET_LOSS_CAP in
 * that order. `equity` is the caller's current equity (equityOf), unrounded.
 */
export function checkOpenRisk(log: TradeLog, input: OpenInput, config: RiskConfig, equity: number): RiskResult {
  return checkOpenRiskWith(log, openTradesOf(log), input, config, equity);
}

/** The OPEN trades of the log, in file order: all that the duplicate, cap and correlation checks look at. */
export function openTradesOf(log: TradeLog): Trade[] {
  return log.trades.filter((t) => t.status === 'OPEN');
}

/**
 * checkOpenRisk with the log's OPEN trades already at hand (`open` must be openTradesOf(log)):
 * the store keeps that list over the opens of a group (open-state.ts) rather than scanning the
 * whole history three times per open. Every check reads the same trades in the same order as a
 * scan of the log would, so the results, sums included, are the same.
 */
export function checkOpenRiskWith(log: TradeLog, open: readonly Trade[], input: OpenInput, config: RiskConfig, equity: number): RiskResult {
  return (
    duplicateSymbol(open, input) ??
    positionCap(open, config) ??
    correlationLimit(open, input, config, equity) ??
    assetLossCap(log, input, config) ?? { ok: true }
  );
}

type Refusal = Extract<RiskResult, { ok: false }>;

const refuse = (code: RiskCode, message: string, details: Record<string, unknown>): Refusal => ({
  ok: false, code, message, details,
});

function duplicateSymbol(open: readonly Trade[], input: OpenInput): Refusal | null {
  const key = instrumentKey(input.symbol);
  const same = open.find((t) => instrumentKeyOf(t.symbol) === key);
  if (!same) return null;
  const as = same.symbol === input.symbol ? '' : ` ${same.symbol}`;
  return refuse('DUPLICATE_SYMBOL', `${input.symbol} is already open as ${same.id}${as}`, {
    symbol: input.symbol,
    openTradeId: same.id,
    openSymbol: same.symbol,
  });
}

function positionCap(open: readonly Trade[], config: RiskConfig): Refusal | null {
  const openCount = open.length;
  if (openCount < config.maxPositions) return null;
  return refuse('POSITION_CAP', `${openCount} positions open, cap is ${config.maxPositions}`, {
    openCount,
    maxPositions: config.maxPositions,
  });
}

/**
 * Every group that holds the symbol is checked, in config order, and the first
 * over its limit refuses: with overlapping groups the stricter reading is the safe one.
 */
function correlationLimit(open: readonly Trade[], input: OpenInput, config: RiskConfig, equity: number): Refusal | null {
  const newRiskUsd = stopDistance(input.entry_price, input.stop_price) * input.size;
  const limitUsd = (equity * config.maxCorrGroupRiskPct) / 100;
  const key = instrumentKey(input.symbol);
  for (const [group, symbols] of Object.entries(config.correlationGroups)) {
    const keys = new Set(symbols.map(instrumentKey));
    if (!keys.has(key)) continue;
    const members = open.filter((t) => keys.has(instrumentKeyOf(t.symbol) as string));
    let openRiskUsd = 0;
    for (const t of members) openRiskUsd += initialRiskUsd(t);
    const groupRiskUsd = openRiskUsd + newRiskUsd;
    if (groupRiskUsd <= limitUsd) continue;
    return refuse(
      'CORRELATION_LIMIT',
      `${group} risk would be ${usd(groupRiskUsd)} USD, limit is ${usd(limitUsd)} USD ` +
        `(${config.maxCorrGroupRiskPct}% of equity ${usd(equity)})`,
      {
        symbol: input.symbol,
        group,
        groupRiskUsd,
        openRiskUsd,
        newRiskUsd,
        limitUsd,
        equity,
        maxCorrGroupRiskPct: config.maxCorrGroupRiskPct,
        openTradeIds: members.map((t) => t.id),
      },
    );
  }
  return null;
}

function assetLossCap(log: TradeLog, input: OpenInput, config: RiskConfig): Refusal | null {
  const cap = config.assetConsecutiveLossCap;
  if (cap === 0) return null;
  const key = instrumentKey(input.symbol);
  // The last `cap` closed trades of the instrument, found from the end: a key per trade is not free.
  const last: Trade[] = [];
  const trades = log.trades;
  for (let i = trades.length - 1; i >= 0 && last.length < cap; i--) {
    const t = trades[i] as Trade;
    if (t.status === 'CLOSED' && instrumentKeyOf(t.symbol) === key) last.push(t);
  }
  if (last.length < cap) return null;
  last.reverse();
  const nets = last.map(netPnl);
  if (nets.some((n) => n > 0)) return null;
  const tradeIds = last.map((t) => t.id);
  const verb = nets.every((n) => n < 0) ? 'lost' : 'did not win';
  return refuse(
    'ASSET_LOSS_CAP',
    `${input.symbol} ${verb} its last ${cap} closed trades (${tradeIds.join(', ')}); cap is ${cap}`,
    { symbol: input.symbol, cap, tradeIds, netPnls: nets },
  );
}
