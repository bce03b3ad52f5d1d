// One process of the metrics benchmark: a write loop through one dist/ (ours, or the code before
// the channels), with nobody subscribed, or with collectMetrics() subscribed.
// Usage: node metrics-worker.js <dist> <none|prometheus> <writes|refused> <ms> <dir>
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, mode, kind, ms, dir] = process.argv.slice(2);
const { TradeStore } = await import(pathToFileURL(path.join(dist, 'index.js')).href);
if (mode === 'prometheus') {
  const { collectMetrics } = await import(pathToFileURL(path.join(dist, 'prometheus', 'index.js')).href);
  const { Registry } = await import('prom-client');
  collectMetrics({ registry: new Registry() });
}
const store = new TradeStore({ tradeLog: path.join(dir, 'trade_log.json'), maxPositions: 1e6, startingCapital: 1e9, assetConsecutiveLossCap: 0 });
// writes: open + close pairs (lock, fsync, rename); refused: an open refused at its validation
// (no I/O: what the call path itself costs, the channel's guard included).
const bad = { symbol: 'BTC', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: -1 };
const one =
  kind === 'writes'
    ? async (i) => {
        const t = await store.openTrade({ symbol: `S${i}`, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1 });
        await store.closeTrade(t.id, { exit_price: 101 });
        return 2;
      }
    : async () => {
        await store.openTrade(bad).catch(() => {});
        return 1;
      };
for (let i = 0; i < 50; i++) await one(i); // warm-up
let calls = 0;
let i = 0;
const t0 = process.hrtime.bigint();
const until = t0 + BigInt(ms) * 1_000_000n;
while (process.hrtime.bigint() < until) calls += await one(++i + 50);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
store.close();
console.log(JSON.stringify({ calls, perSec: calls / seconds, usPerCall: (seconds * 1e6) / calls }));
