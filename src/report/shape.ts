/**
 * The numbers behind the performance report, shaped for charts: a pure
 * function of (trade log, options) built on the reconciler's own derivations
 * (deriveState, the book, haltState), so the page never disagrees with the
 * files, `status` or the demo's summary. Its figures are the book's
 * (domain/derive/book.ts, docs/formulas.md):
 *   - R is net R (netR: net P&L with partial exits ÷ initial risk) everywhere,
 *     so a trade's R, its win or loss, the mean and the expectancy agree;
 *   - peak and max drawdown walk the equity after every realized event, so a
 *     fall that recovers within a UTC day is not hidden by the daily closes;
 *   - open risk is the loss to each current stop, beside the initial risk.
 * The daily curve (equity.json's) is what is drawn.
 * No charting code here: this module is cheap to import and easy to test.
 */
import { deriveBook, deriveState, haltState } from '../domain/derive/index.js';
import { isTrade } from '../domain/formulas.js';
import { r2 } from '../domain/round.js';
import { resolveDrawdownLimits } from '../domain/settings.js';
import type { TradeLog } from '../domain/types.js';
import { checkMaxPoints, maxDrawdownEpisode, shapeCurve, underwater, withOrigin } from './shape/curve.js';
import { rHistogramOf } from './shape/histogram.js';
import { openRowsOf, pctOf } from './shape/open.js';
import { setupRowsOf } from './shape/setups.js';
import { DEFAULT_MAX_POINTS, type ReportData, type ShapeOptions } from './shape/types.js';

export * from './shape/types.js';
export { shapeCurve, thinIndices, underwater, withOrigin, type UnderwaterResult } from './shape/curve.js';
export { histogramR } from './shape/histogram.js';

/** Everything the report shows, from the log alone; see docs/report.md. */
export function shapeReportData(log: TradeLog, options: ShapeOptions): ReportData {
  const { startingCapital, drawdownLimits, now } = options;
  const maxPoints = options.maxPoints ?? DEFAULT_MAX_POINTS;
  checkMaxPoints(maxPoints);
  const state = deriveState(log, { startingCapital, drawdownLimits, now });
  const book = deriveBook(log, { startingCapital, drawdownLimits, now });
  const halt = haltState(log, { startingCapital, drawdownLimits, now });
  const eq = state.equity;
  const b = book.figures;

  const trades = log.trades.filter(isTrade);
  const closed = trades.filter((t) => t.status === 'CLOSED');
  const open = trades.filter((t) => t.status === 'OPEN');
  const daily = withOrigin(eq.equity_curve, startingCapital);
  // the episode first, on the full daily curve, so thinning keeps its days
  const episode = maxDrawdownEpisode(book, now, underwater(daily, startingCapital).points);
  const curve = shapeCurve(daily, startingCapital, maxPoints, [episode?.peakDate, episode?.troughDate, episode?.recoveryDate]);

  const fileSetups = new Map(Object.entries(state.setup_performance.setups));
  const setups = setupRowsOf(closed, fileSetups);

  const equity = eq.current_equity;
  const { rows: openRows, openRisk, initialRisk } = openRowsOf(open, equity);

  const hist = rHistogramOf(closed, eq.avg_r);
  return {
    generatedAt: now.toISOString(),
    limits: resolveDrawdownLimits(drawdownLimits),
    header: {
      equity,
      startingCapital,
      realizedPnl: eq.total_pnl,
      totalReturnPct: eq.total_return_pct,
      peakEquity: b.peak_equity,
      drawdownPct: b.drawdown_pct,
      drawdownStatus: b.drawdown_status,
      maxDrawdownPct: b.max_drawdown_pct,
      dailyMaxDrawdownPct: eq.max_drawdown_pct,
      maxDrawdownDays: eq.max_drawdown_days,
      currentDrawdownDays: eq.current_drawdown_days,
      closedTrades: b.closed_trades,
      openTrades: open.length,
      wins: b.wins,
      losses: b.losses,
      breakeven: b.breakeven,
      winRate: b.win_rate,
      profitFactor: b.profit_factor,
      avgNetR: b.avg_net_r,
      openRiskUsd: r2(openRisk),
      openRiskPct: pctOf(openRisk, equity) ?? 0,
      initialRiskUsd: r2(initialRisk),
      initialRiskPct: pctOf(initialRisk, equity) ?? 0,
    },
    curve: { points: curve.points, totalPoints: curve.totalPoints, thinned: curve.thinned, peak: curve.peak },
    episode,
    rHistogram: hist,
    setups,
    open: openRows,
    halt: {
      halted: halt.halted,
      reason: halt.halt_reason,
      dailyPct: r2(halt.daily * 100),
      weeklyPct: r2(halt.weekly * 100),
      totalPct: r2(halt.total * 100),
    },
  };
}
