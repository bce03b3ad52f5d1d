/**
 * The trade log's records, field for field as the file holds them (snake_case,
 * shared with the original Python writer). Index signatures keep fields other
 * writers add: they are carried through every rewrite, never dropped.
 */
export type Direction = 'LONG' | 'SHORT';
export type KnownStatus = 'OPEN' | 'CLOSED';

export interface PartialExit {
  exit_price: number;
  size_closed: number;
  pnl_usd: number;
  reason: string | null;
  timestamp: string;
  [extra: string]: unknown;
}

export interface Trade {
  id: string;
  symbol: string;
  direction: Direction;
  entry_price: number;
  stop_price: number;
  original_stop: number;
  target_price: number | null;
  size: number;
  original_size: number;
  entry_time: string;
  exit_price: number | null;
  exit_time: string | null;
  exit_reason: string | null;
  pnl_usd: number | null;
  pnl_pct: number | null;
  r_multiple: number | null;
  /** 'OPEN' or 'CLOSED'; anything else read from a file is kept and reported as an integrity violation. */
  status: KnownStatus | (string & {});
  setup_type: string | null;
  grade: string | null;
  notes: string | null;
  lessons?: string | null;
  partial_exits?: PartialExit[];
  /** Idempotency key given to openTrade(); absent in trades opened without one. */
  client_id?: string;
  [extra: string]: unknown;
}

export interface TradeLog {
  trades: Trade[];
  next_id: number;
  [extra: string]: unknown;
}

/** Correlation groups: name -> symbols whose risk is summed. */
export type CorrelationGroups = Readonly<Record<string, readonly string[]>>;


/** Drawdown limits as negative fractions (-0.02 = -2 %). */
export interface DrawdownLimits {
  daily: number;
  weekly: number;
  total: number;
  /** Only for equity.json's drawdown_status WARNING band. */
  warning: number;
}

