// store.watch() latency (issue 19): a writer in one process, a watcher in another, the time from
// the writer's acknowledgement (its await returned) to the event's arrival in the watcher, on a
// file log and on a PostgreSQL account (TSE_BENCH_DATABASE_URL, or an embedded server: pg-server.js).
// The writer opens and closes trades one call at a time, a pause between calls as a bot's are;
// both processes stamp with performance.timeOrigin + performance.now() (one host, one clock).
// Goal: p50 <= 50 ms on both stores.
//
//   npx tsc -p tsconfig.build.json && node bench/watch.js [--quick]
// Numbers are printed, never asserted.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { fmt, percentile, table, tempDir } from './lib.js';

const here = fileURLToPath(import.meta.url);
const stamp = () => performance.timeOrigin + performance.now();
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function storeOf(where) {
  if (where.startsWith('postgres')) {
    const { PostgresTradeStore } = await import('../dist/postgres/index.js');
    const [url, account] = where.split('#');
    return new PostgresTradeStore({ connectionString: url, account, maxPositions: 1e6, startingCapital: 1e9, assetConsecutiveLossCap: 0 });
  }
  const { TradeStore } = await import('../dist/index.js');
  return new TradeStore({ tradeLog: where, maxPositions: 1e6, startingCapital: 1e9, assetConsecutiveLossCap: 0 });
}

/** The writer: `pairs` opens and closes, one call at a time, `pauseMs` apart; one line per acknowledgement. */
async function writer(where, pairs, pauseMs) {
  const store = await storeOf(where);
  await store.getAllTrades(); // connected and warm before the first timed call
  for (let i = 0; i < pairs; i++) {
    const t = await store.openTrade({ symbol: `W${i}`, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
    say({ key: `open ${t.id}`, at: stamp() });
    await new Promise((r) => setTimeout(r, pauseMs));
    await store.closeTrade(t.id, { exit_price: 101 });
    say({ key: `close ${t.id}`, at: stamp() });
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  await store.close();
}

/** The watcher: one line per event until the writer's last trade is closed (a file may fold two changes into one event). */
async function watcher(where, pairs) {
  const store = await storeOf(where);
  const since = where.startsWith('postgres') ? { since: 0 } : {};
  const events = store.watch(since);
  say({ ready: true });
  for await (const e of events) {
    say({ key: `${e.kind} ${e.trade_id}`, at: stamp() });
    if (e.trade?.symbol === `W${pairs - 1}` && e.trade.status === 'CLOSED') break;
  }
  await store.close();
}

function child(args) {
  const p = spawn(process.execPath, [here, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  let buf = '';
  let onLine = () => {};
  p.stdout.setEncoding('utf8');
  p.stdout.on('data', (d) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
      onLine();
    }
  });
  const exited = new Promise((resolve, reject) => p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args[0]} exited ${code}`)))));
  const ready = new Promise((resolve) => {
    onLine = () => lines.some((l) => l.ready) && resolve();
  });
  return { lines, exited, ready };
}

/** One run: the watcher started and ready, then the writer; the latency of each change. */
async function measure(where, pairs, pauseMs) {
  const w = child(['watcher', where, String(pairs)]);
  await w.ready;
  const wr = child(['writer', where, String(pairs), String(pauseMs)]);
  await Promise.all([wr.exited, w.exited]);
  const acked = new Map(wr.lines.map((l) => [l.key, l.at]));
  const ms = w.lines.filter((l) => l.key !== undefined).map((l) => l.at - acked.get(l.key));
  if (ms.some((x) => !Number.isFinite(x))) throw new Error(`${where}: an event matched no write`);
  return ms.sort((a, b) => a - b);
}

export async function benchWatch({ quick = false } = {}) {
  const pairs = quick ? 20 : 100;
  const pauseMs = 20;
  const rows = [['store', 'events of ' + 2 * pairs, 'p50 ms', 'p90 ms', 'p99 ms', 'max ms']];
  const row = (name, ms) => [name, ms.length, fmt(percentile(ms, 50), 1), fmt(percentile(ms, 90), 1), fmt(percentile(ms, 99), 1), fmt(ms[ms.length - 1], 1)];
  const dir = tempDir('tse-bench-watch-');
  try {
    const log = path.join(dir, 'trade_log.json');
    fs.writeFileSync(log, JSON.stringify({ trades: [], next_id: 1 }));
    rows.push(row('file', await measure(log, pairs, pauseMs)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  let server = null;
  let db = null;
  try {
    const { benchDatabase, benchServer } = await import('./pg-server.js');
    server = await benchServer();
    db = await benchDatabase(server.url);
    const { PostgresTradeStore } = await import('../dist/postgres/index.js');
    const migrator = new PostgresTradeStore({ connectionString: db.url, account: 'bench-migrate' });
    await migrator.migrate();
    await migrator.close();
    rows.push(row('postgres (LISTEN/NOTIFY)', await measure(`${db.url}#bench-watch`, pairs, pauseMs)));
  } finally {
    await db?.drop();
    await server?.stop();
  }
  console.log(`writer: ${pairs} opens and closes, ${pauseMs} ms apart; latency = the writer's acknowledgement to the event in the watcher process`);
  console.log(table(rows));
}

const [role, ...args] = process.argv.slice(2);
if (role === 'writer') await writer(args[0], Number(args[1]), Number(args[2]));
else if (role === 'watcher') await watcher(args[0], Number(args[1]));
else if (process.argv[1] === here) await benchWatch({ quick: process.argv.includes('--quick') });
