/**
 * Demo child: a position monitor. On every tick of the simulated feed it
 * closes trades at their stop or target, takes half off at +0.6R (and moves
 * the stop to breakeven), and trails the stop behind the price after that.
 */
import { plain } from '../format.js';
import { netPnl, riskPerUnit, type Trade } from '../index.js';
import { TICK_MS, roundTo, specOf } from './config.js';
import { childArgs, reportUnexpected, sayAs, sleep, stopFlag, storeFor, type ChildArgs } from './child.js';
import { Market } from './market.js';
import { emit } from './protocol.js';

const a = childArgs<ChildArgs>();
const say = sayAs(a.name);
const stopped = stopFlag();
const store = storeFor(a);
const market = new Market(a.seed, a.t0);

const { signedUsd } = plain;

async function manage(t: Trade): Promise<void> {
  const spec = specOf(t.symbol);
  const p = market.price(t.symbol);
  const long = t.direction === 'LONG';
  const r = riskPerUnit(t); // from the original stop: trailing does not shrink the unit of R
  const gain = long ? p - t.entry_price : t.entry_price - p; // per unit, in the trade's favour
  const stopHit = long ? p <= t.stop_price : p >= t.stop_price;
  const targetHit = t.target_price !== null && (long ? p >= t.target_price : p <= t.target_price);

  if (stopHit || targetHit) {
    const why = targetHit ? 'target' : t.stop_price === t.original_stop ? 'stop' : 'trailing stop';
    const c = await store.closeTrade(t.id, { exit_price: p, exit_reason: why });
    emit('ACK', { op: 'close', id: c.id, symbol: c.symbol });
    say(`closed ${c.id} ${c.symbol} @ ${p.toFixed(spec.decimals)} ${signedUsd(netPnl(c))} (${why})`);
    return;
  }
  if ((t.partial_exits ?? []).length === 0 && gain >= 0.6 * r) {
    const pr = await store.partialClose(t.id, { fraction: 0.5, exit_price: p, reason: '+0.6R' });
    emit('ACK', { op: 'partial', id: t.id, symbol: t.symbol });
    await store.updateTrade(t.id, { stop_price: t.entry_price });
    say(`took half of ${t.id} ${t.symbol} @ ${p.toFixed(spec.decimals)} ${signedUsd(pr.partial_pnl)} at +0.6R; stop to breakeven ${t.entry_price}`);
    return;
  }
  if ((t.partial_exits ?? []).length > 0) {
    const trail = roundTo(long ? p - 0.8 * r : p + 0.8 * r, spec.decimals);
    const better = long ? trail - t.stop_price : t.stop_price - trail;
    if (better >= 0.15 * r) {
      await store.updateTrade(t.id, { stop_price: trail });
      say(`trailed ${t.id} ${t.symbol} stop ${t.stop_price} -> ${trail}`);
    }
  }
}

while (!stopped()) {
  try {
    for (const t of await store.getOpenTrades()) {
      if (stopped()) break;
      await manage(t);
    }
  } catch (err) {
    reportUnexpected(say, err);
  }
  await sleep(TICK_MS * 2);
}
say('stopped');
