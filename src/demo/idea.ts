/** A scanner's trade idea on the simulated market, shared by the file demo's scanner and the PostgreSQL demo's hosts. */
import type { OpenInput } from '../index.js';
import { GRADES, RISK_USD, SETUPS, STOP_PCT, TARGET_R, roundTo, specOf } from './config.js';
import type { Market } from './market.js';

/**
 * Trades with the recent move (the feed drifts, so momentum has a small edge), sometimes against
 * it, risking about RISK_USD (±30 %). `random` is the caller's seeded stream.
 */
export function tradeIdea(market: Market, symbol: string, random: () => number): OpenInput {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const spec = specOf(symbol);
  const tick = market.tick();
  const up = market.price(symbol, tick) >= market.price(symbol, Math.max(0, tick - 15));
  const direction = up === (random() < 0.8) ? 'LONG' : 'SHORT';
  const sign = direction === 'LONG' ? 1 : -1;
  const entry = roundTo(market.price(symbol) * (1 + (random() - 0.5) * 0.001), spec.decimals);
  const stop = roundTo(entry * (1 - sign * STOP_PCT), spec.decimals);
  const target = roundTo(entry + sign * TARGET_R * Math.abs(entry - stop), spec.decimals);
  const riskUsd = RISK_USD * (0.7 + random() * 0.6);
  const size = Math.max(roundTo(riskUsd / Math.abs(entry - stop), spec.sizeDecimals), 10 ** -spec.sizeDecimals);
  return { symbol, direction, entry_price: entry, stop_price: stop, target_price: target, size, setup_type: pick(SETUPS), grade: pick(GRADES) };
}
