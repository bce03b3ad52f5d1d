/**
 * risk_state.json and the halt decision the store checks before every open:
 * daily, weekly and total drawdown against their limits (docs/formulas.md).
 */
import { tally, type Tally } from '../formulas.js';
import { r1, r2 } from '../round.js';
import { dayToDate } from '../time.js';
import type { DrawdownLimits, TradeLog } from '../types.js';
import { buildLedger, context, dayTotals, startValues, tradesOf, type Context, type DayTotals, type Ledger } from './core.js';
import type { DeriveOptions, HaltState, RiskState } from './types.js';

function fmtPct(fraction: number): string {
  // Python's f"{x:.1f}" rounds the binary value half-even; pyRound first, then print
  return r1(fraction * 100).toFixed(1);
}

function evaluateHalt(current: number, dailyStart: number, weeklyStart: number, c: Context): HaltState {
  const { start, limits } = c;
  const daily = dailyStart > 0 ? (current - dailyStart) / dailyStart : 0;
  const weekly = weeklyStart > 0 ? (current - weeklyStart) / weeklyStart : 0;
  const total = start > 0 ? (current - start) / start : 0;
  const checks: [string, number, number][] = [
    ['Daily', daily, limits.daily],
    ['Weekly', weekly, limits.weekly],
    ['Total', total, limits.total],
  ];
  for (const [label, dd, limit] of checks) {
    // 1e-12: a drawdown of exactly the limit is a breach even when the division lands an ulp above
    if (dd <= limit + 1e-12) {
      const reason = `${label} drawdown ${fmtPct(dd)}% exceeds ${fmtPct(limit)}% limit`;
      return { halted: true, halt_reason: reason, daily, weekly, total };
    }
  }
  return { halted: false, halt_reason: null, daily, weekly, total };
}

export function buildRiskState(a: Tally, totals: DayTotals, c: Context): RiskState {
  const current = r2(c.start + a.realized);
  const sv = startValues(totals, c.start, c.today, c.monday);
  const h = evaluateHalt(current, sv.daily, sv.weekly, c);
  return {
    starting_value: c.start,
    current_value: current,
    daily_start_value: sv.daily,
    weekly_start_value: sv.weekly,
    daily_reset_date: dayToDate(c.today),
    weekly_reset_date: dayToDate(c.monday),
    halted: h.halted,
    halt_reason: h.halt_reason,
    open_positions: a.open.map((t) => ({ symbol: t.symbol, direction: t.direction, trade_id: t.id })),
    last_updated: c.stamp,
  };
}

export function deriveRiskState(log: TradeLog, options: DeriveOptions): RiskState {
  const c = context(options);
  const trades = tradesOf(log);
  return buildRiskState(tally(trades), dayTotals(buildLedger(trades), c.today), c);
}

/** What risk_state.json would say about halting, without building the files. */
export function haltState(
  log: TradeLog,
  options: { startingCapital: number; drawdownLimits?: Partial<DrawdownLimits> | undefined; now: Date },
): HaltState {
  const c = context(options);
  const trades = tradesOf(log);
  return haltOf(tally(trades).realized, buildLedger(trades), c);
}

/**
 * haltState from a log's realized P&L (tally's `realized`) and its ledger (buildLedger), when the
 * caller already holds them: the store keeps both up to date over the opens of a group
 * (open-state.ts) instead of walking the whole history for each open.
 */
export function haltStateFrom(
  realized: number,
  ledger: Ledger,
  options: { startingCapital: number; drawdownLimits?: Partial<DrawdownLimits> | undefined; now: Date },
): HaltState {
  return haltOf(realized, ledger, context(options));
}

function haltOf(realized: number, ledger: Ledger, c: Context): HaltState {
  const current = r2(c.start + realized);
  const sv = startValues(dayTotals(ledger, c.today), c.start, c.today, c.monday);
  return evaluateHalt(current, sv.daily, sv.weekly, c);
}
