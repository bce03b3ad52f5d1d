/**
 * The PostgreSQL demo's cast and rules: scanner hosts in two regions trading overlapping symbols
 * under one account's cap, and a monitor host in a third. Shared by the parent and the children.
 */
import type { PostgresTradeStoreOptions } from '../../postgres/index.js';
import { ASSET_LOSS_CAP, DRAWDOWN_LIMITS, MAX_CORR_GROUP_RISK_PCT } from '../config.js';

/** One account, one budget: at most this many positions open across every host. */
export const PG_MAX_POSITIONS = 3;
/** The symbol every scanner host opens at once (on the parent's order): one wins, the others get DUPLICATE_SYMBOL. */
export const PG_RACE_SYMBOL = 'BTC';

export interface ScannerHost {
  role: 'scanner';
  /** The child's name, also the prefix of its lines: "[A eu-west] ...". */
  name: string;
  /** What the host trades; the hosts overlap on BTC, NVDA and AMD. */
  symbols: readonly string[];
  /** Opened together once every host's race is over: with the race winner open, more than the cap. */
  burst: readonly string[];
}

export interface MonitorHost {
  role: 'monitor';
  name: string;
}

export const SCANNER_HOSTS: readonly ScannerHost[] = [
  { role: 'scanner', name: 'A eu-west', symbols: ['BTC', 'ETH', 'SOL', 'NVDA', 'AMD'], burst: ['ETH', 'NVDA'] },
  { role: 'scanner', name: 'B us-east', symbols: ['BTC', 'NVDA', 'AMD', 'AAPL', 'MSFT'], burst: ['AAPL', 'MSFT'] },
];
export const MONITOR_HOST: MonitorHost = { role: 'monitor', name: 'C ap-south' };

/** Risk of each race and burst open, in % of the capital: two in one correlation group (1 %) stay under its limit (1.5 %). */
export const SCRIPTED_RISK_PCT = 0.5;

/** After the race, one position is open: the burst asks for 4 more, the cap leaves room for 2. */
export const BURST_ACCEPTED = PG_MAX_POSITIONS - 1;
export const BURST_REFUSED = SCANNER_HOSTS.reduce((n, h) => n + h.burst.length, 0) - BURST_ACCEPTED;

/** What every child is given (one JSON argv argument). */
export interface PgChildArgs {
  name: string;
  url: string;
  account: string;
  capital: number;
  seed: number;
  /** The market's tick 0 (epoch ms), the same for every process. */
  t0: number;
}

export interface PgScannerArgs extends PgChildArgs {
  symbols: readonly string[];
  burst: readonly string[];
}

export interface PgMonitorArgs extends PgChildArgs {
  /** A position held this long is closed ("time stop"), so that a short run recycles the budget. */
  maxHoldMs: number;
}

/** Every host's store: its own pool (2 connections), the same account and rules. */
export function pgStoreOptions(url: string, account: string, startingCapital: number): PostgresTradeStoreOptions {
  return {
    connectionString: url,
    pool: { max: 2 },
    account,
    startingCapital,
    maxPositions: PG_MAX_POSITIONS,
    maxCorrGroupRiskPct: MAX_CORR_GROUP_RISK_PCT,
    assetConsecutiveLossCap: ASSET_LOSS_CAP,
    drawdownLimits: DRAWDOWN_LIMITS,
    lockTimeoutMs: 10_000,
  };
}
