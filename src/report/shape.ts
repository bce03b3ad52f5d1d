/**
 * The numbers behind the performance report, shaped for charts: a pure
 * function of (trade log, options) built on the reconciler's own derivations
 * (deriveState, haltState), so the report can never disagree with
 * equity.json / setup_performance.json / risk_state.json. No charting code
 * here: this module is cheap to import and easy to test.
 */
import { deriveState, haltState, type DrawdownStatus, type EquityPoint } from '../domain/derive/index.js';
import { isTrade, netPnl, partialPnl, riskPerUnit, rMultipleOf } from '../domain/formulas.js';
import { r2, round2 } from '../domain/round.js';
import { resolveDrawdownLimits } from '../domain/settings.js';
import { addDays } from '../domain/time.js';
import type { DrawdownLimits, Trade, TradeLog } from '../domain/types.js';

export const DEFAULT_MAX_POINTS = 2000;
/** Fewer points than this cannot hold first, last, the pinned extremes and one bucket. */
export const MIN_MAX_POINTS = 16;

export interface ShapeOptions {
  startingCapital: number;
  drawdownLimits?: Partial<DrawdownLimits> | undefined;
  now: Date;
  /** Upper bound on plotted curve points (default 2,000). */
  maxPoints?: number | undefined;
}

/** One plotted day: equity at the day's end and its distance below the running peak. */
export interface CurvePoint {
  date: string;
  equity: number;
  /** (equity − running peak) ÷ running peak × 100, r2; ≤ 0. */
  drawdownPct: number;
}

export interface DrawdownEpisode {
  /** Day of the peak the episode fell from (the origin point when it is the starting capital). */
  peakDate: string;
  peakEquity: number;
  troughDate: string;
  troughEquity: number;
  /** The deepest drawdown, equal to equity.json's max_drawdown_pct. */
  depthPct: number;
  /** First day back at or above the peak; null while still under water. */
  recoveryDate: string | null;
  /** Days closed below the peak in this episode (formulas.md counts days the same way). */
  daysUnderWater: number;
}

export interface HistogramBin {
  /** [x0, x1) in R; the last bin also holds its upper edge. */
  x0: number;
  x1: number;
  count: number;
}

export interface RHistogram {
  bins: HistogramBin[];
  binWidth: number;
  /** Closed trades with an R (r_multiple, or net ÷ initial risk). */
  count: number;
  /** Closed trades without one (no stop or size recorded): not in any bin. */
  withoutR: number;
  meanR: number;
  /** win rate × mean winning R + loss rate × mean losing R (setup_performance's formula, over all trades). */
  expectancyR: number;
  /** Mean net P&L per closed trade, USD. */
  expectancyUsd: number;
}

export interface SetupRow {
  name: string;
  trades: number;
  wins: number;
  losses: number;
  breakeven: number;
  winRate: number;
  avgR: number;
  avgWinR: number;
  avgLossR: number;
  expectancy: number;
  totalPnl: number;
}

export interface OpenPositionRow {
  tradeId: string;
  symbol: string;
  direction: string;
  setup: string | null;
  entryTime: string;
  entryPrice: number;
  stopPrice: number;
  size: number;
  /** Realized by partial exits so far. */
  realizedUsd: number;
  /** |entry − (original_stop or stop)| × size still open, r2; null when it cannot be computed. */
  riskUsd: number | null;
  /** equity.json's heat_per_position risk_pct; null when the reconciler skips the trade. */
  riskPct: number | null;
}

export interface ReportHeader {
  equity: number;
  startingCapital: number;
  realizedPnl: number;
  totalReturnPct: number;
  peakEquity: number;
  drawdownPct: number;
  drawdownStatus: DrawdownStatus;
  maxDrawdownPct: number;
  /** Longest run of days under water (equity.json's max_drawdown_days). */
  maxDrawdownDays: number;
  currentDrawdownDays: number;
  closedTrades: number;
  openTrades: number;
  wins: number;
  losses: number;
  breakeven: number;
  winRate: number;
  profitFactor: number | null;
  avgR: number;
  portfolioHeat: number;
}

export interface HaltInfo {
  halted: boolean;
  reason: string | null;
  /** Drawdowns in percent (−2.4 = −2.4 %), r2. */
  dailyPct: number;
  weeklyPct: number;
  totalPct: number;
}

export interface ReportData {
  generatedAt: string;
  limits: DrawdownLimits;
  header: ReportHeader;
  curve: {
    /** Plotted points: the whole daily curve, or its thinned form when longer than maxPoints. */
    points: CurvePoint[];
    /** Days in the full curve, origin point included. */
    totalPoints: number;
    thinned: boolean;
    /** Highest point of the full curve (ties: the first). */
    peak: { date: string; equity: number } | null;
  };
  episode: DrawdownEpisode | null;
  rHistogram: RHistogram;
  setups: SetupRow[];
  open: OpenPositionRow[];
  halt: HaltInfo;
}

// ------------------------------------------------------------------ curve


/**
 * The daily curve with an origin point in front (the day before the first
 * realized event, at the starting capital: the equity at that day's end), so
 * even a one-day curve draws a line and the underwater curve starts at 0.
 */
export function withOrigin(curve: readonly EquityPoint[], startingCapital: number): EquityPoint[] {
  const first = curve[0];
  if (first === undefined) return [];
  return [{ date: addDays(first.date, -1), equity: r2(startingCapital) }, ...curve];
}

export interface UnderwaterResult {
  points: CurvePoint[];
  episode: DrawdownEpisode | null;
  /** Indices into points of the episode's peak, trough and recovery, and of the highest point. */
  keyIndices: number[];
}

/**
 * Walks the curve as equity.json does (running peak from the starting
 * capital, compared at cent precision) and finds the deepest drawdown's
 * episode: the peak it fell from, the trough, and the recovery if any.
 */
export function underwater(curve: readonly EquityPoint[], startingCapital: number): UnderwaterResult {
  const points: CurvePoint[] = [];
  let runPeak = r2(startingCapital);
  let peakIdx = -1;
  let best: { peakIdx: number; peakEquity: number; troughIdx: number; depth: number; recoveryIdx: number } | null = null;
  let highIdx = -1;
  for (let i = 0; i < curve.length; i++) {
    const eq = (curve[i] as EquityPoint).equity;
    if (highIdx < 0 || eq > (curve[highIdx] as EquityPoint).equity) highIdx = i;
    let dd = 0;
    if (eq >= runPeak) {
      if (best !== null && best.recoveryIdx < 0 && best.peakIdx === peakIdx && i > best.troughIdx) best.recoveryIdx = i;
      runPeak = eq;
      peakIdx = i;
    } else if (runPeak > 0) {
      dd = r2(((eq - runPeak) / runPeak) * 100);
      if (dd < (best?.depth ?? 0)) best = { peakIdx, peakEquity: runPeak, troughIdx: i, depth: dd, recoveryIdx: -1 };
    }
    points.push({ date: (curve[i] as EquityPoint).date, equity: eq, drawdownPct: dd });
  }
  const keyIndices = highIdx >= 0 ? [highIdx] : [];
  let episode: DrawdownEpisode | null = null;
  if (best !== null) {
    // peakIdx −1: the peak is the starting capital before the curve (no origin point given)
    const peakPoint = best.peakIdx >= 0 ? (points[best.peakIdx] as CurvePoint) : null;
    const trough = points[best.troughIdx] as CurvePoint;
    const end = best.recoveryIdx >= 0 ? best.recoveryIdx : points.length;
    episode = {
      peakDate: peakPoint?.date ?? addDays((points[0] as CurvePoint).date, -1),
      peakEquity: best.peakEquity,
      troughDate: trough.date,
      troughEquity: trough.equity,
      depthPct: best.depth,
      recoveryDate: best.recoveryIdx >= 0 ? (points[best.recoveryIdx] as CurvePoint).date : null,
      daysUnderWater: end - best.peakIdx - 1,
    };
    keyIndices.push(best.troughIdx);
    if (best.peakIdx >= 0) keyIndices.push(best.peakIdx);
    if (best.recoveryIdx >= 0) keyIndices.push(best.recoveryIdx);
  }
  return { points, episode, keyIndices };
}

/**
 * Which of n points to plot, at most maxPoints of them: the first, the last,
 * the `pinned` ones, and from each of equal-width buckets over the rest the
 * points where each key is lowest and highest. So every peak and trough a
 * reader could see at full resolution survives; only the wiggles between go.
 */
export function thinIndices(
  n: number,
  maxPoints: number,
  keys: ReadonlyArray<(i: number) => number>,
  pinned: readonly number[] = [],
): number[] {
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  const keep = new Set<number>([0, n - 1]);
  for (const i of pinned) if (Number.isInteger(i) && i >= 0 && i < n) keep.add(i);
  const perBucket = 2 * keys.length;
  const buckets = Math.floor((maxPoints - keep.size) / perBucket);
  if (buckets < 1) throw new RangeError(`maxPoints ${maxPoints} is too small to thin ${n} points`);
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * n) / buckets);
    const hi = Math.floor(((b + 1) * n) / buckets);
    for (const key of keys) {
      let minI = lo;
      let maxI = lo;
      for (let i = lo + 1; i < hi; i++) {
        const v = key(i);
        if (v < key(minI)) minI = i;
        if (v > key(maxI)) maxI = i;
      }
      keep.add(minI);
      keep.add(maxI);
    }
  }
  return [...keep].sort((a, b) => a - b);
}

/**
 * The plotted curve: thinned on equity (min and max) and on drawdown (its
 * minimum, the troughs), with the highest point and the max-drawdown
 * episode's peak, trough and recovery always kept.
 */
export function shapeCurve(
  curve: readonly EquityPoint[],
  startingCapital: number,
  maxPoints: number = DEFAULT_MAX_POINTS,
): { points: CurvePoint[]; totalPoints: number; thinned: boolean; episode: DrawdownEpisode | null; peak: ReportData['curve']['peak'] } {
  checkMaxPoints(maxPoints);
  const uw = underwater(curve, startingCapital);
  const all = uw.points;
  const eq = (i: number) => (all[i] as CurvePoint).equity;
  // drawdown is ≤ 0, so its "max" is a recovery to 0 and its "min" a trough: both worth keeping
  const dd = (i: number) => (all[i] as CurvePoint).drawdownPct;
  const idx = thinIndices(all.length, maxPoints, [eq, dd], uw.keyIndices);
  const points = idx.length === all.length ? all : idx.map((i) => all[i] as CurvePoint);
  const high = uw.keyIndices[0];
  const peak = high === undefined ? null : { date: (all[high] as CurvePoint).date, equity: eq(high) };
  return { points, totalPoints: all.length, thinned: points.length < all.length, episode: uw.episode, peak };
}

function checkMaxPoints(maxPoints: number): void {
  if (!Number.isInteger(maxPoints) || maxPoints < MIN_MAX_POINTS) {
    throw new TypeError(`Expected "maxPoints" to be an integer ≥ ${MIN_MAX_POINTS}, got ${String(maxPoints)}`);
  }
}

// -------------------------------------------------------------- R histogram

const BIN_WIDTHS = [0.5, 1, 2, 5, 10, 20, 50, 100, 1000];
const MAX_BINS = 40;

/**
 * Bins aligned on multiples of the width (0.5 R unless the spread needs more
 * than 40 bins), so a bar's edges read as round R values and 0 is an edge.
 */
export function histogramR(rs: readonly number[]): { bins: HistogramBin[]; binWidth: number } {
  if (rs.length === 0) return { bins: [], binWidth: BIN_WIDTHS[0] as number };
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rs) {
    if (r < lo) lo = r;
    if (r > hi) hi = r;
  }
  // 1e-9: R values are cents (1.5 / 0.5 must be bin 3, not 2.9999…)
  const index = (r: number, w: number) => Math.floor(r / w + 1e-9);
  let w = BIN_WIDTHS[BIN_WIDTHS.length - 1] as number;
  for (const cand of BIN_WIDTHS) {
    if (index(hi, cand) - index(lo, cand) + 1 <= MAX_BINS) {
      w = cand;
      break;
    }
  }
  const first = index(lo, w);
  const n = Math.max(1, index(hi, w) - first + 1);
  const bins: HistogramBin[] = Array.from({ length: n }, (_, k) => ({
    x0: r2((first + k) * w),
    x1: r2((first + k + 1) * w),
    count: 0,
  }));
  for (const r of rs) {
    const k = Math.min(n - 1, index(r, w) - first);
    (bins[k] as HistogramBin).count++;
  }
  return { bins, binWidth: w };
}

function mean(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

function rHistogramOf(closed: readonly Trade[]): RHistogram {
  const rs: number[] = [];
  let wins = 0;
  let netSum = 0;
  for (const t of closed) {
    const net = netPnl(t);
    netSum += net;
    if (net > 0) wins++;
    // the R equity.json's avg_r counts: the fallback divides net P&L, not the closing pnl_usd alone
    const r = rMultipleOf(t, net);
    if (r !== null) rs.push(r);
  }
  const { bins, binWidth } = histogramR(rs);
  const wr = closed.length > 0 ? wins / closed.length : 0;
  const avgWin = mean(rs.filter((r) => r > 0));
  const avgLoss = mean(rs.filter((r) => r < 0));
  return {
    bins,
    binWidth,
    count: rs.length,
    withoutR: closed.length - rs.length,
    meanR: r2(mean(rs)),
    expectancyR: rs.length > 0 ? r2(wr * round2(avgWin) + (1 - wr) * round2(avgLoss)) : 0,
    expectancyUsd: closed.length > 0 ? r2(netSum / closed.length) : 0,
  };
}

// -------------------------------------------------------------------- all


/** Everything the report shows, from the log alone; see docs/report.md. */
export function shapeReportData(log: TradeLog, options: ShapeOptions): ReportData {
  const { startingCapital, drawdownLimits, now } = options;
  const maxPoints = options.maxPoints ?? DEFAULT_MAX_POINTS;
  checkMaxPoints(maxPoints);
  const state = deriveState(log, { startingCapital, drawdownLimits, now });
  const halt = haltState(log, { startingCapital, drawdownLimits, now });
  const eq = state.equity;

  const trades = log.trades.filter(isTrade);
  const closed = trades.filter((t) => t.status === 'CLOSED');
  const open = trades.filter((t) => t.status === 'OPEN');
  const curve = shapeCurve(withOrigin(eq.equity_curve, startingCapital), startingCapital, maxPoints);

  // Object.entries puts integer-like keys first: sort again by expectancy (stable, as the reconciler does)
  const setups: SetupRow[] = Object.entries(state.setup_performance.setups)
    .map(([name, s]) => ({
      name,
      trades: s.total_trades,
      wins: s.wins,
      losses: s.losses,
      breakeven: s.breakeven,
      winRate: s.win_rate,
      avgR: s.avg_r,
      avgWinR: s.avg_win_r,
      avgLossR: s.avg_loss_r,
      expectancy: s.expectancy,
      totalPnl: s.total_pnl,
    }))
    .sort((a, b) => b.expectancy - a.expectancy);

  const heat = new Map(eq.heat_per_position.map((h) => [h.trade_id, h.risk_pct]));
  const openRows: OpenPositionRow[] = open.map((t) => {
    const risk = riskPerUnit(t) * t.size;
    return {
      tradeId: t.id,
      symbol: t.symbol,
      direction: t.direction,
      setup: typeof t.setup_type === 'string' && t.setup_type !== '' ? t.setup_type : null,
      entryTime: typeof t.entry_time === 'string' ? t.entry_time : '',
      entryPrice: t.entry_price,
      stopPrice: t.stop_price,
      size: t.size,
      realizedUsd: r2(partialPnl(t)),
      riskUsd: Number.isFinite(risk) ? r2(risk) : null,
      riskPct: heat.get(t.id) ?? null,
    };
  });

  const breakeven = eq.total_trades - eq.winning_trades - eq.losing_trades;
  return {
    generatedAt: now.toISOString(),
    limits: resolveDrawdownLimits(drawdownLimits),
    header: {
      equity: eq.current_equity,
      startingCapital,
      realizedPnl: eq.total_pnl,
      totalReturnPct: eq.total_return_pct,
      peakEquity: eq.peak_equity,
      drawdownPct: eq.drawdown_percent,
      drawdownStatus: eq.drawdown_status,
      maxDrawdownPct: eq.max_drawdown_pct,
      maxDrawdownDays: eq.max_drawdown_days,
      currentDrawdownDays: eq.current_drawdown_days,
      closedTrades: eq.total_trades,
      openTrades: open.length,
      wins: eq.winning_trades,
      losses: eq.losing_trades,
      breakeven,
      winRate: eq.win_rate,
      profitFactor: eq.profit_factor,
      avgR: eq.avg_r,
      portfolioHeat: eq.portfolio_heat,
    },
    curve: { points: curve.points, totalPoints: curve.totalPoints, thinned: curve.thinned, peak: curve.peak },
    episode: curve.episode,
    rHistogram: rHistogramOf(closed),
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
