/** Builders for the derived-state tests: a full trade record with only the fields a case cares about. */
import type { PartialExit, Trade, TradeLog } from '../src/domain/types.js';

export function trade(id: string, fields: Partial<Trade> & Record<string, unknown> = {}): Trade {
  return {
    id,
    symbol: 'BTC',
    direction: 'LONG',
    entry_price: 100,
    stop_price: 90,
    original_stop: 90,
    target_price: null,
    size: 1,
    original_size: 1,
    entry_time: '2026-01-01T00:00:00+00:00',
    exit_price: null,
    exit_time: null,
    exit_reason: null,
    pnl_usd: null,
    pnl_pct: null,
    r_multiple: null,
    status: 'CLOSED',
    setup_type: 'S',
    grade: null,
    notes: null,
    ...fields,
  };
}

/** A CLOSED trade with its P&L realized at exit_time. */
export function closed(id: string, exit_time: string, pnl_usd: number, fields: Partial<Trade> & Record<string, unknown> = {}): Trade {
  return trade(id, { exit_time, pnl_usd, exit_price: 1, status: 'CLOSED', ...fields });
}

export function open(id: string, fields: Partial<Trade> & Record<string, unknown> = {}): Trade {
  return trade(id, { status: 'OPEN', ...fields });
}

export function partial(timestamp: string, pnl_usd: number, size_closed = 1): PartialExit {
  return { exit_price: 1, size_closed, pnl_usd, reason: null, timestamp };
}

export function logOf(...trades: Trade[]): TradeLog {
  return { trades, next_id: trades.length + 1 };
}

export const at = (iso: string): Date => new Date(iso);
