/**
 * risk_state.json and the halt decision the store checks before every open:
 * daily, weekly and total drawdown against their limits (docs/formulas.md).
 * The file's `halted` is the original's (the current equity); its `book` and
 * haltState are what the store enforces (the lowest equity of each window).
 */
import { tally, type Tally } from '../formulas.js';
import { r1, r2 } from '../round.js';
import { dayToDate } from '../time.js';
import type { DrawdownLimits, TradeLog } from '../types.js';
import { pathOf, windowLows, type WindowLows } from './book.js';
import { buildLedger, context, dayTotals, startValues, tradesOf, type Context, type DayTotals, type Ledger } from './core.js';
import type { DeriveOptions, HaltState, RiskState } from './types.js';

function fmtPct(fraction: number): string {
  // Python's f"{x:.1f}" rounds the binary value half-even; pyRound first, then print
  return r1(fraction * 100).toFixed(1);
}

/**
 * The first breached limit, in the order daily, weekly, total. `at` is the equity each window is
 * judged by: the current one (the original's halted), or the window's lowest (the book's).
 */
function evaluateHalt(
  at: { daily: number; weekly: number; total: number },
  current: number,
  dailyStart: number,
  weeklyStart: number,
  c: Context,
): HaltState {
  const { start, limits } = c;
  const daily = dailyStart > 0 ? (at.daily - dailyStart) / dailyStart : 0;
  const weekly = weeklyStart > 0 ? (at.weekly - weeklyStart) / weeklyStart : 0;
  const total = start > 0 ? (at.total - start) / start : 0;
  const checks: [string, number, number, number][] = [
    ['Daily', daily, limits.daily, at.daily],
    ['Weekly', weekly, limits.weekly, at.weekly],
    ['Total', total, limits.total, at.total],
  ];
  for (const [label, dd, limit, value] of checks) {
    // 1e-12: a drawdown of exactly the limit is a breach even when the division lands an ulp above
    if (dd <= limit + 1e-12) {
      // a low the equity has since climbed from is named, or the reason would contradict the current figure
      const when = value < current ? ` at its lowest (${value.toFixed(2)})` : '';
      const reason = `${label} drawdown ${fmtPct(dd)}%${when} exceeds ${fmtPct(limit)}% limit`;
      return { halted: true, halt_reason: reason, daily, weekly, total };
    }
  }
  return { halted: false, halt_reason: null, daily, weekly, total };
}

/** The book's halt: each window judged by the lowest equity after any of its events (book.ts). */
function bookHalt(realized: number, ledger: Ledger, totals: DayTotals, c: Context): { halt: HaltState; lows: WindowLows } {
  const current = r2(c.start + realized);
  const sv = startValues(totals, c.start, c.today, c.monday);
  const lows = windowLows(pathOf(ledger, c.start, realized), current, c);
  return { halt: evaluateHalt(lows, current, sv.daily, sv.weekly, c), lows };
}

export function buildRiskState(a: Tally, ledger: Ledger, totals: DayTotals, c: Context): RiskState {
  const current = r2(c.start + a.realized);
  const sv = startValues(totals, c.start, c.today, c.monday);
  const h = evaluateHalt({ daily: current, weekly: current, total: current }, current, sv.daily, sv.weekly, c);
  const b = bookHalt(a.realized, ledger, totals, c);
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
    book: {
      halted: b.halt.halted,
      halt_reason: b.halt.halt_reason,
      daily_low_value: b.lows.daily,
      weekly_low_value: b.lows.weekly,
      lowest_value: b.lows.total,
    },
  };
}

export function deriveRiskState(log: TradeLog, options: DeriveOptions): RiskState {
  const c = context(options);
  const trades = tradesOf(log);
  const ledger = buildLedger(trades);
  return buildRiskState(tally(trades), ledger, dayTotals(ledger, c.today), c);
}

/**
 * The halt the store enforces (risk_state.json's `book`), without building the files: each limit
 * judged by the lowest equity after any realized event of its window, so a fall that recovers
 * within the day still halts — stricter than the original's `halted`, which reads the current equity.
 */
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
  return bookHalt(realized, ledger, dayTotals(ledger, c.today), c).halt;
}
