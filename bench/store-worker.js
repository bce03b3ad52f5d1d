// One writer process of the store benchmark: a fixed number of open+close pairs.
// Usage: node store-worker.js <log> <lock> <pairs> <startAtMs> <tag>
import { TradeStore } from '../dist/index.js';

const [log, lock, pairs, startAt, tag] = process.argv.slice(2);
const store = new TradeStore({ tradeLog: log, lockFile: lock, maxPositions: 1e6, startingCapital: 1e9, assetConsecutiveLossCap: 0 });
while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 1));
let writes = 0;
const t0 = process.hrtime.bigint();
for (let i = 0; i < Number(pairs); i++) {
  const t = await store.openTrade({ symbol: `${tag}${i}`, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1 });
  await store.closeTrade(t.id, { exit_price: 101 });
  writes += 2;
}
console.log(JSON.stringify({ writes, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
