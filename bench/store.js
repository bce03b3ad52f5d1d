// Store benchmarks (issue 3): the cost of one durable write at several log
// sizes, next to the floor measured in the same run, and 4 writers at once.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { TradeStore } from '../dist/index.js';
import { fmt, percentile, runJson, table, tempDir } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** A log of n closed trades, as a bot would have after n round trips. */
export function syntheticLog(n, { start = Date.UTC(2024, 0, 1), open = 0 } = {}) {
  const trades = [];
  for (let i = 1; i <= n; i++) {
    const entry = 100 + (i % 50);
    const win = i % 3 !== 0;
    const exit = win ? entry * 1.02 : entry * 0.99;
    const t0 = new Date(start + i * 3_600_000);
    const t1 = new Date(start + i * 3_600_000 + 1_800_000);
    const isOpen = i > n - open;
    trades.push({
      id: `T${String(i).padStart(3, '0')}`,
      symbol: isOpen ? `OPEN${i}` : ['BTC', 'ETH', 'SOL', 'AAPL', 'NVDA', 'TSLA'][i % 6],
      direction: i % 4 === 0 ? 'SHORT' : 'LONG',
      entry_price: entry,
      stop_price: i % 4 === 0 ? entry * 1.02 : entry * 0.98,
      original_stop: i % 4 === 0 ? entry * 1.02 : entry * 0.98,
      target_price: i % 4 === 0 ? entry * 0.95 : entry * 1.05,
      size: 1,
      original_size: 1,
      entry_time: t0.toISOString().replace('Z', '000+00:00'),
      exit_price: isOpen ? null : Math.round(exit * 100) / 100,
      exit_time: isOpen ? null : t1.toISOString().replace('Z', '000+00:00'),
      exit_reason: isOpen ? null : win ? 'target' : 'stop',
      pnl_usd: isOpen ? null : Math.round((i % 4 === 0 ? entry - exit : exit - entry) * 100) / 100,
      pnl_pct: isOpen ? null : 1,
      r_multiple: isOpen ? null : win ? 1 : -0.5,
      status: isOpen ? 'OPEN' : 'CLOSED',
      setup_type: ['breakout', 'pullback', 'RSI_Div'][i % 3],
      grade: 'A',
      notes: null,
    });
  }
  // Keep P&L signs consistent with direction for the integrity check.
  for (const t of trades) {
    if (t.status === 'CLOSED') {
      const p = t.direction === 'LONG' ? t.exit_price - t.entry_price : t.entry_price - t.exit_price;
      t.pnl_usd = Math.round(p * t.size * 100) / 100;
    }
  }
  return { trades, next_id: n + 1 };
}

/** write + fsync + rename + directory fsync of the same bytes: the cost any durable replace pays. */
async function floorWrite(file, bytes, i) {
  const tmp = `${file}.floor${i}`;
  const fh = await fs.promises.open(tmp, 'w');
  await fh.writeFile(bytes);
  await fh.sync();
  await fh.close();
  await fs.promises.rename(tmp, file);
  const d = await fs.promises.open(path.dirname(file), 'r');
  await d.sync();
  await d.close();
}

async function timeEach(n, fn) {
  const samples = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn(i);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return samples.sort((a, b) => a - b);
}

export async function benchStore({ quick = false } = {}) {
  const dir = tempDir('tse-bench-store-');
  const out = {};
  try {
    const rows = [['trades in log', 'store p50 ms/write', 'floor p50 ms', 'store / floor', 'store mean ms', 'floor mean ms']];
    for (const n of [100, 1000, 10_000]) {
      const sub = path.join(dir, `n${n}`);
      fs.mkdirSync(sub);
      const logFile = path.join(sub, 'trade_log.json');
      const store = new TradeStore({ tradeLog: logFile, maxPositions: 1e6, startingCapital: 1e9, assetConsecutiveLossCap: 0 });
      await store.saveRaw(syntheticLog(n));
      const pairs = quick ? 10 : n >= 10_000 ? 25 : 60;
      // Warm-up: the first read parses; later writes reuse the cache.
      await store.getAllTrades();
      const store_ = await timeEach(pairs, async (i) => {
        const t = await store.openTrade({ symbol: `B${i}`, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1 });
        await store.closeTrade(t.id, { exit_price: 101 });
      });
      const perWrite = store_.map((x) => x / 2);
      const bytes = fs.readFileSync(logFile);
      const floorFile = path.join(sub, 'floor.json');
      const floor = await timeEach(pairs * 2, (i) => floorWrite(floorFile, bytes, i));
      const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;
      const p50 = percentile(perWrite, 50);
      const f50 = percentile(floor, 50);
      rows.push([n, fmt(p50, 2), fmt(f50, 2), `${fmt(p50 / f50, 2)}x`, fmt(mean(perWrite), 2), fmt(mean(floor), 2)]);
      out[n] = { storeP50: p50, floorP50: f50, storeMean: mean(perWrite), floorMean: mean(floor) };
    }
    console.log('\nDurable write cost (one open or close = one write), against the floor of the same bytes');
    console.log(table(rows));

    // Throughput: the same work (open+close pairs) done by 1 writer, then
    // split over 4 concurrent writers, on a log that starts at 100 trades.
    // Both runs end with the same log size, so both pay the same growth.
    const totalPairs = quick ? 120 : 400;
    const tput = {};
    for (const writers of [1, 4]) {
      const sub = path.join(dir, `w${writers}`);
      fs.mkdirSync(sub);
      const logFile = path.join(sub, 'trade_log.json');
      await new TradeStore({ tradeLog: logFile }).saveRaw(syntheticLog(100));
      const startAt = Date.now() + 500;
      const res = await Promise.all(
        Array.from({ length: writers }, (_, w) =>
          runJson(path.join(here, 'store-worker.js'), [logFile, path.join(sub, 'trade.lock'), String(totalPairs / writers), String(startAt), `W${w}_`]),
        ),
      );
      const wall = Math.max(...res.map((r) => r.ms));
      tput[writers] = res.reduce((s, r) => s + r.writes, 0) / (wall / 1000);
    }
    console.log(`\nConcurrent writers on one log (${totalPairs * 2} writes in all, log grows from 100 to ${100 + totalPairs} trades)`);
    console.log(
      table([
        ['writers', 'writes/s', 'share of 1 writer'],
        ['1', fmt(tput[1]), '100 %'],
        ['4', fmt(tput[4]), `${fmt((tput[4] / tput[1]) * 100)} %`],
      ]),
    );
    out.throughput = tput;
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchStore({ quick: process.argv.includes('--quick') });
}
