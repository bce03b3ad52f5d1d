// One writer process of the store benchmark: open+close pairs for a while.
// Usage: node store-worker.js <log> <lock> <durationMs> <startAtMs> <tag>
import { TradeStore } from '../dist/index.js';

const [log, lock, durationMs, startAt, tag] = process.argv.slice(2);
const store = new TradeStore({ tradeLog: log, lockFile: lock, maxPositions: 1e6, startingCapital: 1e9, assetConsecutiveLossCap: 0 });
while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 1));
const until = Date.now() + Number(durationMs);
let writes = 0;
for (let i = 0; Date.now() < until; i++) {
  const t = await store.openTrade({ symbol: `${tag}${i}`, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1 });
  await store.closeTrade(t.id, { exit_price: 101 });
  writes += 2;
}
console.log(JSON.stringify({ writes }));
