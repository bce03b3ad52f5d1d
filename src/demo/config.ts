/**
 * The demo's market and risk configuration, shared by the parent and the
 * child processes. The risk limits are tighter than the library defaults on
 * purpose, so that a short run shows the risk gateway refusing trades.
 */
import type { TradeStoreOptions } from '../index.js';

export interface SymbolSpec {
  base: number;
  /** Price decimals. */
  decimals: number;
  /** Size decimals (0: whole shares). */
  sizeDecimals: number;
}

export const SYMBOLS: Readonly<Record<string, SymbolSpec>> = {
  BTC: { base: 65000, decimals: 2, sizeDecimals: 4 },
  ETH: { base: 3400, decimals: 2, sizeDecimals: 3 },
  SOL: { base: 150, decimals: 3, sizeDecimals: 1 },
  NVDA: { base: 120, decimals: 2, sizeDecimals: 0 },
  AMD: { base: 160, decimals: 2, sizeDecimals: 0 },
  AAPL: { base: 190, decimals: 2, sizeDecimals: 0 },
  MSFT: { base: 420, decimals: 2, sizeDecimals: 0 },
};

/** The symbol the racing scanners all open at the same instant. */
export const RACE_SYMBOL = 'BTC';
export const RACERS = 3;

export const SETUPS = ['RSI_Div', 'Breakout', 'VWAP_Reclaim', 'Trend_Pullback'] as const;
export const GRADES = ['A', 'A', 'B', 'B', 'C'] as const;

/** One price step of the simulated feed. */
export const TICK_MS = 100;
/** Per-tick volatility of the random walk (log return), and its per-symbol drift range. */
export const TICK_VOL = 0.0016;
export const STOP_PCT = 0.01;
export const TARGET_R = 2;
/** USD risked per trade (±30 %): two trades in one correlation group exceed its limit. */
export const RISK_USD = 45;

export const MAX_POSITIONS = 4;
export const MAX_CORR_GROUP_RISK_PCT = 1.5;
export const ASSET_LOSS_CAP = 2;
/** Daily halt at -5 % instead of -2 %, so a 15 s demo keeps trading after a few stop-outs. */
export const DRAWDOWN_LIMITS = { daily: -0.05 } as const;

export interface DemoPaths {
  log: string;
  lock: string;
}

export function demoStoreOptions(paths: DemoPaths, startingCapital: number): TradeStoreOptions {
  return {
    tradeLog: paths.log,
    lockFile: paths.lock,
    startingCapital,
    maxPositions: MAX_POSITIONS,
    maxCorrGroupRiskPct: MAX_CORR_GROUP_RISK_PCT,
    assetConsecutiveLossCap: ASSET_LOSS_CAP,
    drawdownLimits: DRAWDOWN_LIMITS,
    lockTimeoutMs: 10_000,
  };
}

export function roundTo(x: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
}

export function specOf(symbol: string): SymbolSpec {
  const s = SYMBOLS[symbol];
  if (s === undefined) throw new Error(`demo: unknown symbol ${symbol}`);
  return s;
}
