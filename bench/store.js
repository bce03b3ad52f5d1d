// Store benchmarks (issue 3), measured the way a bot uses the store:
//   writes   one TradeStore, `await openTrade` then `await closeTrade` in a loop, at logs of
//            100 / 1,000 / 10,000 trades, next to the floor of the same bytes (synchronous calls)
//   group    1, 4 and 16 concurrent openTrade calls on one store (Promise.all), per batch
//   writers  4 processes writing one log against 1 process doing the same work
//
//   npx tsc -p tsconfig.build.json && node bench/store.js [--quick] [--part writes|group|writers]
// Numbers are printed, never asserted.
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

/** Settings that never refuse a bench open (no position cap, no loss cap, capital far above any risk). */
export const OPTS = { maxPositions: 1e6, startingCapital: 1e9, assetConsecutiveLossCap: 0 };

/** A directory holding a log of n trades written through the store, so its bytes are the store's own layout. */
export async function preparedLog(dir, name, n) {
  const sub = path.join(dir, name);
  fs.mkdirSync(sub);
  const logFile = path.join(sub, 'trade_log.json');
  const filler = new TradeStore({ tradeLog: logFile, ...OPTS });
  await filler.saveRaw(syntheticLog(n));
  filler.close();
  return logFile;
}

const OPEN = (symbol) => ({ symbol, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1 });

/**
 * One turn of the event loop's check phase. The store defers work with setImmediate (the
 * integrity check after each write, closing replaced descriptors); callbacks run in the order
 * queued, so awaiting this after a write lets what that write deferred run first.
 */
const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * The floor of one durable replace: the same bytes to a new temp file, fsync, close, rename over
 * the target, fsync of the directory. Synchronous calls on purpose: each async step would add a
 * threadpool round trip that the floor does not need, which would flatter the store's ratio.
 * The directory is opened each time, as any replace that keeps no descriptor of it must.
 * Returns the time of the rename alone: replacing a file nobody holds open frees its blocks inside
 * rename(2), which the store moves off the caller's path (it holds the old version open and closes
 * it on the threadpool after the write), so that share of the floor is shown apart.
 */
function floorWrite(target, bytes) {
  const tmp = `${target}.floor-tmp`;
  const fd = fs.openSync(tmp, 'wx', 0o644);
  try {
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off, off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const r0 = now();
  fs.renameSync(tmp, target);
  const renameMs = now() - r0;
  const d = fs.openSync(path.dirname(target), 'r');
  try {
    fs.fsyncSync(d);
  } finally {
    fs.closeSync(d);
  }
  return renameMs;
}

const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;
const p50 = (a) => percentile([...a].sort((x, y) => x - y), 50);
const now = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * The write loop as a user runs it, in rounds that alternate with the floor so that both see the
 * same machine (this VM's speed drifts by tens of percent over seconds).
 *
 * Store mean = wall time of the whole loop / writes, the loop ending after one more event-loop
 * turn: work the store defers past a call's resolution still delays the bot's next call, so it
 * counts. Store p50 = the median of per-call latencies (await to resolution), which leaves it out
 * unless it runs while the next call waits on I/O (then it lands in that call's latency).
 *
 * The floor replaces a sibling of the log (same directory, same bytes, a file nobody holds open)
 * rather than the log itself: a rename over the log would make the store's cache re-read the
 * whole file at its next call, which a bot's loop never pays.
 */
export async function benchWrites({ quick = false, dir }) {
  const rows = [
    ['trades', 'writes', 'store mean', 'floor mean', 'ratio', 'store p50', 'floor p50', 'ratio', 'per-call mean', 'floor rename'],
  ];
  const out = {};
  for (const n of [100, 1000, 10_000]) {
    const logFile = await preparedLog(dir, `writes${n}`, n);
    const floorFile = path.join(path.dirname(logFile), 'floor.json');
    fs.copyFileSync(logFile, floorFile);
    const rounds = quick ? 2 : 5;
    const pairsPerRound = quick ? (n >= 10_000 ? 4 : 10) : n >= 10_000 ? 10 : n >= 1000 ? 25 : 40;

    // A bot starting on an existing log: a new store, whose first calls read the log and warm V8 up.
    const store = new TradeStore({ tradeLog: logFile, ...OPTS });
    let seq = 0;
    const pair = async (calls) => {
      let t = now();
      const trade = await store.openTrade(OPEN(`B${seq++}`));
      calls?.push(now() - t);
      t = now();
      await store.closeTrade(trade.id, { exit_price: 101 });
      calls?.push(now() - t);
    };
    for (let i = 0; i < 3; i++) await pair(null);
    await turn();

    const calls = [];
    const floor = [];
    const renames = [];
    let wall = 0;
    let writes = 0;
    for (let r = 0; r < rounds; r++) {
      const t0 = now();
      for (let i = 0; i < pairsPerRound; i++) await pair(calls);
      await turn();
      wall += now() - t0;
      writes += pairsPerRound * 2;

      const bytes = fs.readFileSync(logFile); // the log's exact bytes as they are now
      for (let i = 0; i < pairsPerRound * 2; i++) {
        const t = now();
        renames.push(floorWrite(floorFile, bytes));
        floor.push(now() - t);
      }
    }
    store.close();

    const storeMean = wall / writes;
    const floorMean = mean(floor);
    const store50 = p50(calls);
    const floor50 = p50(floor);
    rows.push([
      fmt(n),
      writes,
      fmt(storeMean, 2),
      fmt(floorMean, 2),
      `${fmt(storeMean / floorMean, 2)}x`,
      fmt(store50, 2),
      fmt(floor50, 2),
      `${fmt(store50 / floor50, 2)}x`,
      fmt(mean(calls), 2),
      fmt(mean(renames), 2),
    ]);
    out[n] = { storeMean, floorMean, storeP50: store50, floorP50: floor50, callsMean: mean(calls), floorRenameMean: mean(renames) };
  }
  console.log('\nDurable write, ms per write (one open or one close = one write): a bot\'s loop against the floor of the same bytes');
  console.log(table(rows));
  console.log(
    'Store mean = loop wall / writes (deferred work in); p50 = per call. Floor = sync write+fsync+rename+dir fsync (its rename frees the old blocks: the store does that after the call). Goal: ≤ 1.5x at 100 trades, ≤ 15 ms at 10,000.',
  );
  return out;
}

/**
 * Group commit: k openTrade calls issued together on one store (Promise.all, distinct symbols),
 * timed until all resolve. A store that writes each call on its own takes about k times one call;
 * one that applies calls arriving during a write in one durable write takes far less. Batch sizes
 * take turns in every repetition so the slowly growing log (opens are never closed here) and the
 * machine's drift weigh on each alike. Between batches the deferred work of the last one runs,
 * untimed, so batches do not overlap.
 */
export async function benchGroup({ quick = false, dir }) {
  const sizes = [1, 4, 16];
  const logs = quick ? [1000] : [1000, 10_000];
  const reps = quick ? 5 : 15;
  const rows = [['trades', 'calls at once', 'p50 ms/batch', 'mean ms/batch', 'ms/call (p50)', 'p50 vs 1 call']];
  const out = {};
  for (const n of logs) {
    const logFile = await preparedLog(dir, `group${n}`, n);
    const store = new TradeStore({ tradeLog: logFile, ...OPTS });
    let seq = 0;
    const batch = (k) => Promise.all(Array.from({ length: k }, () => store.openTrade(OPEN(`G${seq++}`))));
    for (const k of sizes) await batch(k); // warm-up: first read of the log, V8
    await turn();

    const times = Object.fromEntries(sizes.map((k) => [k, []]));
    for (let r = 0; r < reps; r++) {
      for (const k of sizes) {
        const t0 = now();
        const opened = await batch(k);
        times[k].push(now() - t0);
        if (opened.length !== k) throw new Error(`batch of ${k} returned ${opened.length} trades`);
        await turn();
      }
    }
    store.close();

    const one = p50(times[1]);
    out[n] = {};
    for (const k of sizes) {
      const m = p50(times[k]);
      rows.push([fmt(n), k, fmt(m, 2), fmt(mean(times[k]), 2), fmt(m / k, 2), `${fmt(m / one, 2)}x`]);
      out[n][k] = { p50: m, mean: mean(times[k]) };
    }
  }
  console.log(`\nGroup commit: concurrent openTrade calls on one store (Promise.all), until all resolve, ${reps} batches each`);
  console.log(table(rows));
  console.log('One durable write per call shows ~k x; group commit applies calls that arrive during a write together. Goal: 16 calls ≤ 3x one call.');
  return out;
}

/**
 * Throughput: the same work (open+close pairs) done by 1 writer process, then split over 4
 * concurrent writer processes, on a log that starts at 100 trades. Both runs end with the same
 * log size, so both pay the same growth.
 */
export async function benchWriters({ quick = false, dir }) {
  const totalPairs = quick ? 120 : 400;
  const tput = {};
  for (const writers of [1, 4]) {
    const logFile = await preparedLog(dir, `w${writers}`, 100);
    const sub = path.dirname(logFile);
    const startAt = Date.now() + 500;
    const res = await Promise.all(
      Array.from({ length: writers }, (_, w) =>
        runJson(path.join(here, 'store-worker.js'), [logFile, path.join(sub, 'trade.lock'), String(totalPairs / writers), String(startAt), `W${w}_`]),
      ),
    );
    const wall = Math.max(...res.map((r) => r.ms));
    tput[writers] = res.reduce((s, r) => s + r.writes, 0) / (wall / 1000);
  }
  console.log(`\nConcurrent writer processes on one log (${totalPairs * 2} writes in all, log grows from 100 to ${100 + totalPairs} trades)`);
  console.log(
    table([
      ['writers', 'writes/s', 'share of 1 writer'],
      ['1', fmt(tput[1]), '100 %'],
      ['4', fmt(tput[4]), `${fmt((tput[4] / tput[1]) * 100)} %`],
    ]),
  );
  console.log('Writes per second of all processes together over the wall time of the slowest. Goal: 4 writers ≥ 70 % of one.');
  return tput;
}

const PARTS = { writes: benchWrites, group: benchGroup, writers: benchWriters };

/** Every part, or only those named in `parts`. */
export async function benchStore({ quick = false, parts = Object.keys(PARTS) } = {}) {
  const dir = tempDir('tse-bench-store-');
  const out = {};
  try {
    for (const p of parts) {
      if (!PARTS[p]) throw new Error(`unknown part ${JSON.stringify(p)}; parts are ${Object.keys(PARTS).join(', ')}`);
      out[p] = await PARTS[p]({ quick, dir });
    }
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // --part writes,group or --part=writes,group
  const i = process.argv.findIndex((a) => a === '--part' || a.startsWith('--part='));
  const value = i < 0 ? undefined : process.argv[i].startsWith('--part=') ? process.argv[i].slice(7) : process.argv[i + 1];
  if (i >= 0 && !value) throw new Error('--part needs a value: writes, group, writers (comma-separated)');
  const parts = value?.split(',');
  await benchStore({ quick: process.argv.includes('--quick'), parts });
}
