// Timing of deriveState / haltState on a synthetic 10,000-trade log over ~2 years.
// Not a test (tests never assert time). Run:
//   npx tsc -p tsconfig.build.json && node bench/derive-timing.mjs [trades]
// "first call" is a fresh process before V8 has optimized anything (a one-shot CLI
// reconcile); "median" is the steady state of a long-running reconciler.
import { deriveState, haltState } from '../dist/domain/derive/index.js';

const N = Number(process.argv[2] ?? 10_000);

function mulberry32(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function iso(ms) {
  return `${new Date(ms).toISOString().slice(0, 23)}${String(Math.floor(ms % 1000)).padStart(3, '0')}+00:00`;
}

function makeLog(n) {
  const rnd = mulberry32(42);
  const t0 = Date.UTC(2024, 2, 1);
  const span = 730 * 86_400_000;
  const setups = ['RSI_Div', 'Breakout', 'VWAP', 'Trend', '', null];
  const trades = [];
  for (let i = 0; i < n; i++) {
    const entryMs = t0 + Math.floor((span * i) / n);
    const open = i >= n - 5;
    const entry = 100 + rnd() * 900;
    const stop = entry * (1 - 0.02);
    const size = Math.round(rnd() * 1000) / 100 + 0.01;
    const exit = entry * (1 + (rnd() - 0.45) * 0.06);
    const pnl = Math.round((exit - entry) * size * 100) / 100;
    const partial = rnd() < 0.2
      ? [{ exit_price: exit, size_closed: size / 2, pnl_usd: Math.round(pnl * 50) / 100, reason: 'tp1', timestamp: iso(entryMs + 3_600_000) }]
      : undefined;
    trades.push({
      id: `T${String(i + 1).padStart(3, '0')}`,
      symbol: `S${i % 50}`,
      direction: rnd() < 0.5 ? 'LONG' : 'SHORT',
      entry_price: entry, stop_price: stop, original_stop: stop, target_price: null,
      size, original_size: size, entry_time: iso(entryMs),
      exit_price: open ? null : exit, exit_time: open ? null : iso(entryMs + 7_200_000),
      exit_reason: open ? null : 'target', pnl_usd: open ? null : pnl, pnl_pct: null,
      r_multiple: open ? null : Math.round(((exit - entry) / (entry - stop)) * 100) / 100,
      status: open ? 'OPEN' : 'CLOSED', setup_type: setups[i % setups.length], grade: 'A', notes: null,
      ...(partial ? { partial_exits: partial } : {}),
    });
  }
  return { trades, next_id: n + 1 };
}

// round-tripped through JSON, as the reconciler gets it from disk
const log = JSON.parse(JSON.stringify(makeLog(N)));
const options = { startingCapital: 100_000, now: new Date(Date.UTC(2026, 1, 28, 12)) };

function time(fn, runs) {
  const ts = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    fn();
    ts.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ts.sort((a, b) => a - b);
  return { first: ts.length === 1 ? ts[0] : undefined, median: ts[Math.floor(ts.length / 2)], p90: ts[Math.floor(ts.length * 0.9)] };
}

if (globalThis.gc) globalThis.gc();
const cold = time(() => deriveState(log, options), 1);
const warm = time(() => deriveState(log, options), 50);
const halt = time(() => haltState(log, options), 50);
const s = deriveState(log, options);
console.log(`${N} trades, ${s.equity.equity_curve.length} curve days`);
console.log(`deriveState: first call ${cold.first.toFixed(2)} ms, median ${warm.median.toFixed(2)} ms, p90 ${warm.p90.toFixed(2)} ms`);
console.log(`haltState:   median ${halt.median.toFixed(2)} ms, p90 ${halt.p90.toFixed(2)} ms`);
