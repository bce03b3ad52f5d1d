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
import type { RealizedEvent } from '../domain/derive/core.js';
import { deriveBook, deriveState, haltState, type Book, type DrawdownStatus, type EquityPoint, type SetupStats } from '../domain/derive/index.js';
import { setupKey } from '../domain/derive/setups.js';
import { initialRiskUsd, isTrade, netPnl, netR, partialPnl, riskToStop } from '../domain/formulas.js';
import { r2 } from '../domain/round.js';
import { resolveDrawdownLimits } from '../domain/settings.js';
import { addDays, dateToDay, dayToDate, microsToDay } from '../domain/time.js';
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
  /**
   * The report's episode only (maxDrawdownEpisode): the instants of the events
   * that set the peak (null: the starting capital), hit the trough and recovered,
   * as ISO strings; null where a timestamp did not parse. Absent on the daily
   * curve's episodes (underwater).
   */
  peakAt?: string | null;
  troughAt?: string | null;
  recoveryAt?: string | null;
}

export interface HistogramBin {
  /** [x0, x1) in R; the last bin also holds its upper edge. */
  x0: number;
  x1: number;
  count: number;
}

export type Outcome = 'win' | 'loss' | 'breakeven';

/** One coloured piece of a histogram bar: the trades of one bin with one outcome, stacked y0 → y1. */
export interface HistogramSegment {
  x0: number;
  x1: number;
  outcome: Outcome;
  count: number;
  y0: number;
  y1: number;
}

export interface RHistogram {
  /** Bins of net R (netR). */
  bins: HistogramBin[];
  /**
   * The bars as drawn: each non-empty bin split by outcome (by net P&L, as the
   * header counts wins and losses), wins at the bottom, then breakeven, then losses.
   */
  segments: HistogramSegment[];
  binWidth: number;
  /** Closed trades with a net R (an initial risk > 0). */
  count: number;
  /** Closed trades without one (no stop or size recorded): not in any bin. */
  withoutR: number;
  /** Of the `count` trades: wins, losses, breakeven by net P&L (the header's rule). */
  wins: number;
  losses: number;
  breakeven: number;
  /** Mean net R per trade, r2. */
  meanR: number;
  /**
   * win rate × mean winning R + loss rate × mean losing R over the same trades
   * and the same R. With breakevens at 0R that is exactly the mean, so it is
   * the same number (computing it twice could round a tie apart).
   */
  expectancyR: number;
  /** Mean net P&L per closed trade, USD. */
  expectancyUsd: number;
  /** equity.json's avg_r (the stored r_multiple), named on the page where it differs. */
  fileAvgR: number;
}

/** A setup's closed trades in net R; counts, win rate and P&L as setup_performance.json has them. */
export interface SetupRow {
  name: string;
  trades: number;
  wins: number;
  losses: number;
  breakeven: number;
  winRate: number;
  /** Mean net R of the winning / losing trades, r2 (0 if none). */
  avgWinR: number;
  avgLossR: number;
  /** Mean net R per trade = win rate × avg win + loss rate × avg loss, r2. */
  expectancy: number;
  /** Trades without an initial risk, left out of the R columns. */
  withoutR: number;
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
  /** The stop as first placed (original_stop, or stop_price when that is missing). */
  originalStop: number;
  /** Realized by partial exits so far. */
  realizedUsd: number;
  /**
   * What is lost if the current stop is hit: (entry − stop) × size still open for
   * a LONG, (stop − entry) × size for a SHORT, r2; 0 when the stop is at or
   * beyond entry in the trade's favour (lockedIn). null when it cannot be computed.
   */
  riskToStopUsd: number | null;
  /** riskToStopUsd in % of current equity, r2; null as above or when equity ≤ 0. */
  riskToStopPct: number | null;
  /** The stop is at or beyond entry in the trade's favour: stopping out loses nothing. */
  lockedIn: boolean;
  /**
   * The trade's initial risk, initialRiskUsd: |entry − original stop| × original
   * size, r2: what it risked when opened, the 1R its net R is measured in, and
   * what the correlation-group check counts. null when it cannot be computed.
   */
  initialRiskUsd: number | null;
  initialRiskPct: number | null;
}

export interface ReportHeader {
  equity: number;
  startingCapital: number;
  realizedPnl: number;
  totalReturnPct: number;
  /** The book's: the highest equity after any realized event; it never falls. */
  peakEquity: number;
  drawdownPct: number;
  drawdownStatus: DrawdownStatus;
  /** The deepest fall below a running peak of the equity after each realized event (the episode's depth), r2 %. */
  maxDrawdownPct: number;
  /** The same over the daily closes only: equity.json's max_drawdown_pct. */
  dailyMaxDrawdownPct: number;
  /** Longest run of days under water (equity.json's max_drawdown_days). */
  maxDrawdownDays: number;
  currentDrawdownDays: number;
  closedTrades: number;
  openTrades: number;
  wins: number;
  losses: number;
  breakeven: number;
  /** null with no closed trade. */
  winRate: number | null;
  profitFactor: number | null;
  /** Mean net R per closed trade (the book's avg_net_r); null when no closed trade has an initial risk. */
  avgNetR: number | null;
  /** Σ risk to the current stops, USD and % of current equity (r2 of the sum, not a sum of r2). */
  openRiskUsd: number;
  openRiskPct: number;
  /** Σ initial risk of the open positions, USD and % of current equity. */
  initialRiskUsd: number;
  initialRiskPct: number;
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
  /**
   * The max-drawdown episode over the equity after every realized event
   * (maxDrawdownEpisode); its depth is header.maxDrawdownPct. Null when equity
   * never fell below a running peak.
   */
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
  /** Days that must stay drawn as well (the report's own drawdown episode: its peak, trough and recovery days). */
  pinDates: readonly (string | null | undefined)[] = [],
): { points: CurvePoint[]; totalPoints: number; thinned: boolean; episode: DrawdownEpisode | null; peak: ReportData['curve']['peak'] } {
  checkMaxPoints(maxPoints);
  const uw = underwater(curve, startingCapital);
  const all = uw.points;
  const eq = (i: number) => (all[i] as CurvePoint).equity;
  // drawdown is ≤ 0, so its "max" is a recovery to 0 and its "min" a trough: both worth keeping
  const dd = (i: number) => (all[i] as CurvePoint).drawdownPct;
  const pinned = [...uw.keyIndices];
  if (pinDates.length > 0) {
    const wanted = new Set(pinDates);
    all.forEach((p, i) => {
      if (wanted.has(p.date)) pinned.push(i);
    });
  }
  const idx = thinIndices(all.length, maxPoints, [eq, dd], pinned);
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
  const { bins, binWidth } = binR(rs);
  return { bins, binWidth };
}

/** histogramR, with the bin of each value (in the order given). */
function binR(rs: readonly number[]): { bins: HistogramBin[]; binWidth: number; binOf: number[] } {
  if (rs.length === 0) return { bins: [], binWidth: BIN_WIDTHS[0] as number, binOf: [] };
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
  const binOf = rs.map((r) => {
    const k = Math.min(n - 1, index(r, w) - first);
    (bins[k] as HistogramBin).count++;
    return k;
  });
  return { bins, binWidth: w, binOf };
}

const outcomeOf = (net: number): Outcome => (net > 0 ? 'win' : net < 0 ? 'loss' : 'breakeven');

/** Bottom to top within a bar. */
const STACK: readonly Outcome[] = ['loss', 'breakeven', 'win'];

/** Net R of every closed trade that has one, binned, split by outcome, and its mean. */
function rHistogramOf(closed: readonly Trade[], fileAvgR: number): RHistogram {
  const rs: number[] = [];
  const outcomes: Outcome[] = [];
  let netSum = 0;
  let rSum = 0;
  const tally = { win: 0, loss: 0, breakeven: 0 };
  for (const t of closed) {
    const net = netPnl(t);
    netSum += net;
    const r = netR(t);
    if (r === null) continue;
    const o = outcomeOf(net);
    rs.push(r);
    outcomes.push(o);
    rSum += r;
    tally[o]++;
  }
  const { bins, binWidth, binOf } = binR(rs);
  const perBin = bins.map(() => ({ win: 0, loss: 0, breakeven: 0 }));
  binOf.forEach((k, i) => (perBin[k] as Record<Outcome, number>)[outcomes[i] as Outcome]++);
  const segments: HistogramSegment[] = [];
  bins.forEach((b, k) => {
    let y = 0;
    for (const outcome of STACK) {
      const count = (perBin[k] as Record<Outcome, number>)[outcome];
      if (count === 0) continue;
      segments.push({ x0: b.x0, x1: b.x1, outcome, count, y0: y, y1: y + count });
      y += count;
    }
  });
  const meanR = rs.length > 0 ? r2(rSum / rs.length) : 0;
  return {
    bins,
    segments,
    binWidth,
    count: rs.length,
    withoutR: closed.length - rs.length,
    wins: tally.win,
    losses: tally.loss,
    breakeven: tally.breakeven,
    meanR,
    expectancyR: meanR,
    expectancyUsd: closed.length > 0 ? r2(netSum / closed.length) : 0,
    fileAvgR,
  };
}

// ------------------------------------------------------------------ setups

/**
 * Per setup, in net R: grouped by setup_performance.json's names (setupKey), every figure from
 * the setup's `book` there. Best expectancy first; ties keep the order in which the setups first appear.
 */
function setupRowsOf(closed: readonly Trade[], fileStats: ReadonlyMap<string, SetupStats>): SetupRow[] {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const t of closed) {
    const key = setupKey(t);
    if (!seen.has(key)) {
      seen.add(key);
      names.push(key);
    }
  }
  const rows: SetupRow[] = [];
  for (const name of names) {
    const f = fileStats.get(name);
    if (f === undefined) continue;
    const b = f.book;
    rows.push({
      name,
      trades: f.total_trades,
      wins: b.wins,
      losses: b.losses,
      breakeven: b.breakeven,
      winRate: b.win_rate ?? 0,
      avgWinR: b.avg_win_net_r ?? 0,
      avgLossR: b.avg_loss_net_r ?? 0,
      // win rate × avg win + loss rate × avg loss over these trades is their mean net R (breakevens are 0R)
      expectancy: b.avg_net_r ?? 0,
      withoutR: b.without_r,
      totalPnl: f.total_pnl,
    });
  }
  return rows.sort((a, b) => b.expectancy - a.expectancy); // stable: ties keep first appearance
}

// ------------------------------------------------------------ open risk

function pctOf(usd: number | null, equity: number): number | null {
  return usd === null || !(equity > 0) ? null : r2((usd / equity) * 100);
}

// -------------------------------------------------------- max drawdown

/**
 * The book's max-drawdown episode (its deepest fall below a running peak of the equity after
 * every realized event), dated. `points` is the daily curve (origin point first): it dates the
 * peak when that is the starting capital, and counts the days closed under water. The daily
 * closes alone would miss a fall that recovers within a day.
 */
function maxDrawdownEpisode(book: Book, now: Date, points: readonly CurvePoint[]): DrawdownEpisode | null {
  const origin = points[0];
  const best = book.episode;
  if (origin === undefined || best === null) return null;
  const events = book.path.events;
  const today = dateToDay(now);
  // unparsed timestamps count on the curve's first day, future ones on today, as on the daily curve
  const firstDay = (points[1] ?? origin).date;
  const dateOf = (e: RealizedEvent) => (Number.isNaN(e.micros) ? firstDay : dayToDate(Math.min(microsToDay(e.micros), today)));
  const isoOf = (e: RealizedEvent | undefined) => (e === undefined || Number.isNaN(e.micros) ? null : new Date(Math.floor(e.micros / 1000)).toISOString());
  const peakEvent = best.peakK >= 0 ? events[best.peakK] : undefined;
  const trough = events[best.troughK] as RealizedEvent;
  const recovery = best.recoveryK >= 0 ? events[best.recoveryK] : undefined;
  const peakDate = peakEvent === undefined ? origin.date : dateOf(peakEvent);
  const recoveryDate = recovery === undefined ? null : dateOf(recovery);
  let daysUnderWater = 0;
  for (const p of points) {
    if (p.date >= peakDate && (recoveryDate === null || p.date < recoveryDate) && p.equity < best.peakEquity) daysUnderWater++;
  }
  return {
    peakDate,
    peakEquity: best.peakEquity,
    troughDate: dateOf(trough),
    troughEquity: best.troughEquity,
    depthPct: best.depthPct,
    recoveryDate,
    daysUnderWater,
    peakAt: isoOf(peakEvent),
    troughAt: isoOf(trough),
    recoveryAt: isoOf(recovery),
  };
}

// -------------------------------------------------------------------- all


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
  let openRisk = 0;
  let initialRisk = 0;
  const openRows: OpenPositionRow[] = open.map((t) => {
    const toStop = riskToStop(t);
    const initial = initialRiskUsd(t);
    const initialUsd = Number.isFinite(initial) && initial >= 0 ? initial : null;
    openRisk += toStop.usd ?? 0;
    initialRisk += initialUsd ?? 0;
    const toStopUsd = toStop.usd === null ? null : r2(toStop.usd);
    const initUsd = initialUsd === null ? null : r2(initialUsd);
    return {
      tradeId: t.id,
      symbol: t.symbol,
      direction: t.direction,
      setup: typeof t.setup_type === 'string' && t.setup_type !== '' ? t.setup_type : null,
      entryTime: typeof t.entry_time === 'string' ? t.entry_time : '',
      entryPrice: t.entry_price,
      stopPrice: t.stop_price,
      originalStop: typeof t.original_stop === 'number' && t.original_stop !== 0 ? t.original_stop : t.stop_price,
      size: t.size,
      realizedUsd: r2(partialPnl(t)),
      riskToStopUsd: toStopUsd,
      riskToStopPct: pctOf(toStop.usd, equity),
      lockedIn: toStop.lockedIn,
      initialRiskUsd: initUsd,
      initialRiskPct: pctOf(initialUsd, equity),
    };
  });

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
