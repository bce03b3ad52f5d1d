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
