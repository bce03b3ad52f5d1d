/** The report's data: what shapeReportData returns and the options it takes (types and the curve's limits only). */
import type { DrawdownStatus } from '../../domain/derive/index.js';
import type { DrawdownLimits } from '../../domain/types.js';
import type { VenueDrift } from '../../domain/venue.js';

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
  /** The log against the venue, when the report was given what the venue holds (buildReport's `venue`). */
  venue?: { drift: VenueDrift; tolerance: number };
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
