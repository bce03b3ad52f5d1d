import { applyClose, applyOpen, applyPartial } from '../src/domain/trade-ops.js';
import type { Trade, TradeLog } from '../src/domain/types.js';
import { validateOpenInput, type OpenInput } from '../src/domain/validate.js';

export const NOW = new Date('2026-03-14T11:28:53.123Z');

export const emptyLog = (): TradeLog => ({ trades: [], next_id: 1 });

export function open(log: TradeLog, input: Partial<OpenInput> & Pick<OpenInput, 'symbol'>, now = NOW): { log: TradeLog; trade: Trade } {
  const full = { direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1, ...input };
  return applyOpen(log, validateOpenInput(full), now);
}

/** Opens and closes a trade of `symbol` with the given per-unit move. */
export function closedTrade(log: TradeLog, symbol: string, exit: number): TradeLog {
  const opened = open(log, { symbol });
  return applyClose(opened.log, opened.trade.id, { exit_price: exit }, NOW).log;
}

export function partial(log: TradeLog, id: string, fraction: number, exit_price: number): TradeLog {
  return applyPartial(log, id, { fraction, exit_price }, NOW).log;
}

/** A hand-made trade record, for logs the domain did not write itself. */
export function rawTrade(over: Partial<Trade> & { id: string }): Trade {
  return {
    symbol: 'BTC',
    direction: 'LONG',
    entry_price: 100,
    stop_price: 95,
    original_stop: 95,
    target_price: 120,
    size: 1,
    original_size: 1,
    entry_time: '2026-03-01T00:00:00+00:00',
    exit_price: null,
    exit_time: null,
    exit_reason: null,
    pnl_usd: null,
    pnl_pct: null,
    r_multiple: null,
    status: 'OPEN',
    setup_type: null,
    grade: null,
    notes: null,
    ...over,
  };
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
