/**
 * Demo child: a position monitor. On every tick of the simulated feed it
 * closes trades at their stop or target, takes half off at +0.6R (and moves
 * the stop to breakeven), and trails the stop behind the price after that.
 */
import { TICK_MS } from './config.js';
import { childArgs, reportUnexpected, sayAs, sleep, stopFlag, storeFor, type ChildArgs } from './child.js';
import { manage } from './manage.js';
import { Market } from './market.js';

const a = childArgs<ChildArgs>();
const say = sayAs(a.name);
const stopped = stopFlag();
const store = storeFor(a);
const market = new Market(a.seed, a.t0);

while (!stopped()) {
  try {
    for (const t of await store.getOpenTrades()) {
      if (stopped()) break;
      await manage(store, market, t, say);
    }
  } catch (err) {
    reportUnexpected(say, err);
  }
  await sleep(TICK_MS * 2);
}
say('stopped');
