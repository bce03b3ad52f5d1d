/**
 * The shapes of the reconciler's derived files (portfolio.json, equity.json,
 * risk_state.json, setup_performance.json) and of the options that make them.
 * Field names and order are the original Python design's; docs/formulas.md
 * says what each means. Types only, so every derive module and every caller
 * can import them without importing each other.
 */
import type { DrawdownLimits } from '../types.js';

export interface DeriveOptions {
  startingCapital: number;
  drawdownLimits?: Partial<DrawdownLimits>;
  now: Date;
}

export interface PortfolioPosition {
  trade_id: string;
  symbol: string;
  direction: string;
  size: number;
  entry_price: number;
}

export interface Portfolio {
  balance: number;
  current_equity: number;
  starting_capital: number;
  realized_pnl: number;
  total_trades: number;
  winning_trades: number;
  losing_trades: number;
  open_positions: PortfolioPosition[];
  last_updated: string;
}

export interface EquityPoint {
  date: string;
  equity: number;
}

export type DrawdownStatus = 'NORMAL' | 'WARNING' | 'REDUCE' | 'STOP';
export type TradeResult = 'W' | 'L' | 'BE';

export interface HeatPosition {
  trade_id: string;
  symbol: string;
  risk_pct: number;
}

export interface EquityState {
  starting_capital: number;
  current_equity: number;
  total_pnl: number;
  total_return_pct: number;
  equity_curve: EquityPoint[];
  inception_date: string;
  peak_equity: number;
  drawdown_percent: number;
  drawdown_status: DrawdownStatus;
  max_drawdown_pct: number;
  max_drawdown_days: number;
  current_drawdown_days: number;
  total_trades: number;
  winning_trades: number;
  losing_trades: number;
  win_rate: number;
  profit_factor: number | null;
  avg_r: number;
  portfolio_heat: number;
  heat_per_position: HeatPosition[];
  current_streak: number;
  max_win_streak: number;
  max_loss_streak: number;
  last_5_results: TradeResult[];
  last_updated: string;
  /** Not in the original file: the book's figures (book.ts, docs/formulas.md "The book"). */
  book: BookFigures;
}

export interface RiskPosition {
  symbol: string;
  direction: string;
  trade_id: string;
}

export interface RiskState {
  starting_value: number;
  current_value: number;
  daily_start_value: number;
  weekly_start_value: number;
  daily_reset_date: string;
  weekly_reset_date: string;
  halted: boolean;
  halt_reason: string | null;
  open_positions: RiskPosition[];
  /** Not in the original file; added so a reader can tell a stale halt flag. */
  last_updated: string;
  /** Not in the original file: the halt the store enforces, over the book's equity after every event. */
  book: BookHaltFigures;
}

export interface SetupStats {
  total_trades: number;
  wins: number;
  losses: number;
  breakeven: number;
  win_rate: number;
  avg_r: number;
  avg_win_r: number;
  avg_loss_r: number;
  expectancy: number;
  total_pnl: number;
  trades: string[];
  /** Not in the original file: the setup's figures in the book (net R, wins and losses by net P&L). */
  book: SetupBookFigures;
}

export interface SetupPerformance {
  /** Keyed by setup, in descending expectancy (see docs/formulas.md for integer-like names). */
  setups: Record<string, SetupStats>;
  /** Absent when there is no closed trade, as in the original. */
  total_closed?: number;
  last_updated: string;
}

export interface DerivedState {
  portfolio: Portfolio;
  equity: EquityState;
  risk_state: RiskState;
  setup_performance: SetupPerformance;
}

export interface HaltState {
  halted: boolean;
  halt_reason: string | null;
  /** Drawdowns as fractions (−0.024 = −2.4 %), 0 where the base is ≤ 0. */
  daily: number;
  weekly: number;
  total: number;
}

/** Net R (formulas.ts netR) over closed trades; the means are r2 and null when no trade enters them. */
export interface NetRStats {
  /** Closed trades with an initial risk > 0 (a net R), and without one (left out of the means). */
  with_r: number;
  without_r: number;
  /** Mean net R: the expectancy in R (a breakeven is 0R). */
  avg_net_r: number | null;
  /** Mean net R of the wins / the losses, by net P&L. */
  avg_win_net_r: number | null;
  avg_loss_net_r: number | null;
}

/** equity.json's `book`: the figures every screen shows (docs/formulas.md "The book"). */
export interface BookFigures extends NetRStats {
  /** The highest equity after any realized event (or the starting capital): it never falls. */
  peak_equity: number;
  /** Current equity below peak_equity, r2 % (≤ 0) and USD. */
  drawdown_pct: number;
  drawdown_usd: number;
  drawdown_status: DrawdownStatus;
  /** The deepest fall below a running peak of the equity after every event, r2 %; its USD (trough − peak). */
  max_drawdown_pct: number;
  max_drawdown_usd: number;
  closed_trades: number;
  wins: number;
  losses: number;
  breakeven: number;
  /** r1(wins ÷ closed × 100); null with no closed trade. */
  win_rate: number | null;
  profit_factor: number | null;
}

/** risk_state.json's `book`: the halt the store enforces. */
export interface BookHaltFigures {
  halted: boolean;
  halt_reason: string | null;
  /** The lowest equity after an event today, this ISO week and ever (the current equity included), r2. */
  daily_low_value: number;
  weekly_low_value: number;
  lowest_value: number;
}

/** setup_performance.json's per-setup `book`. */
export interface SetupBookFigures extends NetRStats {
  wins: number;
  losses: number;
  breakeven: number;
  win_rate: number | null;
}
