/**
 * Realized P&L and equity over a trade list (SPEC §4, FORMULAS.md notation).
 * Everything here reads trades as the file holds them, so it tolerates what
 * a hand-edited or older Python log may contain: null P&L, a missing or null
 * `partial_exits`, a missing `original_stop` / `original_size`.
 */
import type { PartialExit, Trade } from './types.js';

/** The trade's partial exits; [] when the field is missing or not an array (null in a hand-edited file). */
export function partialExitsOf(trade: Trade): readonly PartialExit[] {
  return Array.isArray(trade.partial_exits) ? trade.partial_exits : [];
}

/** Σ pnl_usd of the trade's partial exits (an exit without a numeric pnl_usd counts 0). */
export function partialPnl(trade: Trade): number {
  let sum = 0;
  for (const p of partialExitsOf(trade)) sum += num(p.pnl_usd);
  return sum;
}

/** net(t) = (pnl_usd or 0) + Σ partial-exit pnl_usd. */
export function netPnl(trade: Trade): number {
  return num(trade.pnl_usd) + partialPnl(trade);
}

/** Σ net over CLOSED trades + Σ partial-exit P&L over OPEN trades (unknown statuses count nothing). */
export function realizedPnl(trades: readonly Trade[]): number {
  let sum = 0;
  for (const t of trades) {
    if (t.status === 'CLOSED') sum += netPnl(t);
    else if (t.status === 'OPEN') sum += partialPnl(t);
  }
  return sum;
}

/** Equity = starting capital + realized P&L (unrounded; writers apply round2). */
export function equityOf(log: { readonly trades: readonly Trade[] }, startingCapital: number): number {
  return startingCapital + realizedPnl(log.trades);
}

/**
 * risk(t) = |entry − (original_stop or stop_price)| per unit. Python's `or`
 * falls back on any falsy original_stop (null, missing, 0).
 */
export function riskPerUnit(trade: Trade): number {
  const stop = trade.original_stop || trade.stop_price;
  return Math.abs(trade.entry_price - stop);
}

/** osize(t) = original_size or size (same falsy fallback as riskPerUnit). */
export function originalSize(trade: Trade): number {
  return trade.original_size || trade.size;
}

/** Money at risk when the trade was opened: risk(t) × osize(t). */
export function initialRiskUsd(trade: Trade): number {
  return riskPerUnit(trade) * originalSize(trade);
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}
