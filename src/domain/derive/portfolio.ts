/** portfolio.json: balance, realized P&L, win/loss counts and the open positions (docs/formulas.md). */
import { tally, type Tally } from '../formulas.js';
import { r2 } from '../round.js';
import type { TradeLog } from '../types.js';
import { context, tradesOf, type Context } from './core.js';
import type { DeriveOptions, Portfolio } from './types.js';

export function buildPortfolio(a: Tally, c: Context): Portfolio {
  const equity = r2(c.start + a.realized);
  return {
    balance: equity,
    current_equity: equity,
    starting_capital: c.start,
    realized_pnl: r2(a.realized),
    total_trades: a.closed.length,
    winning_trades: a.wins,
    losing_trades: a.losses,
    open_positions: a.open.map((t) => ({
      trade_id: t.id,
      symbol: t.symbol,
      direction: t.direction,
      size: t.size,
      entry_price: t.entry_price,
    })),
    last_updated: c.stamp,
  };
}

export function derivePortfolio(log: TradeLog, options: DeriveOptions): Portfolio {
  const c = context(options);
  return buildPortfolio(tally(tradesOf(log)), c);
}
