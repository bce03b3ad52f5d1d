/**
 * The position monitor's rules, shared by the file demo's monitor and the PostgreSQL demo's: close
 * at the stop or the target, take half off at +0.6R (and move the stop to breakeven), trail the
 * stop behind the price after that. Every write is acknowledged to the parent (ACK), which checks
 * it against the log (or the events table) at the end.
 */
import { plain } from '../format.js';
import { netPnl, riskPerUnit, type TradeStore, type Trade } from '../index.js';
import { roundTo, specOf } from './config.js';
import { priceText } from './output.js';
import type { Market } from './market.js';
import { emit } from './protocol.js';

/** The writes the monitor makes; TradeStore and PostgresTradeStore both have them. */
export type MonitorStore = Pick<TradeStore, 'closeTrade' | 'partialClose' | 'updateTrade'>;

const { signedUsd } = plain;

/** One look at one open trade: at most one close, or one partial (plus its stop move), or one trail. */
export async function manage(store: MonitorStore, market: Market, t: Trade, say: (text: string) => void): Promise<void> {
  const spec = specOf(t.symbol);
  const p = market.price(t.symbol);
  const long = t.direction === 'LONG';
  const r = riskPerUnit(t); // from the original stop: trailing does not shrink the unit of R
  const gain = long ? p - t.entry_price : t.entry_price - p; // per unit, in the trade's favour
  const stopHit = long ? p <= t.stop_price : p >= t.stop_price;
  const targetHit = t.target_price !== null && (long ? p >= t.target_price : p <= t.target_price);

  if (stopHit || targetHit) {
    const why = targetHit ? 'target' : t.stop_price === t.original_stop ? 'stop' : 'trailing stop';
    await closeAt(store, t, p, why, say);
    return;
  }
  if ((t.partial_exits ?? []).length === 0 && gain >= 0.6 * r) {
    const pr = await store.partialClose(t.id, { fraction: 0.5, exit_price: p, reason: '+0.6R' });
    emit('ACK', { op: 'partial', id: t.id, symbol: t.symbol });
    await store.updateTrade(t.id, { stop_price: t.entry_price });
    emit('ACK', { op: 'update', id: t.id, symbol: t.symbol });
    say(`took half of ${t.id} ${t.symbol} @ ${priceText(t.symbol, p)} ${signedUsd(pr.partial_pnl)} at +0.6R; stop to breakeven ${priceText(t.symbol, t.entry_price)}`);
    return;
  }
  if ((t.partial_exits ?? []).length > 0) {
    const trail = roundTo(long ? p - 0.8 * r : p + 0.8 * r, spec.decimals);
    const better = long ? trail - t.stop_price : t.stop_price - trail;
    if (better >= 0.15 * r) {
      await store.updateTrade(t.id, { stop_price: trail });
      emit('ACK', { op: 'update', id: t.id, symbol: t.symbol });
      say(`trailed ${t.id} ${t.symbol} stop ${priceText(t.symbol, t.stop_price)} -> ${priceText(t.symbol, trail)}`);
    }
  }
}

/** Closes `t` at `price`, acknowledges it and says so. */
export async function closeAt(store: MonitorStore, t: Trade, price: number, why: string, say: (text: string) => void): Promise<void> {
  const c = await store.closeTrade(t.id, { exit_price: price, exit_reason: why });
  emit('ACK', { op: 'close', id: c.id, symbol: c.symbol });
  say(`closed ${c.id} ${c.symbol} @ ${priceText(c.symbol, price)} ${signedUsd(netPnl(c))} (${why})`);
}
