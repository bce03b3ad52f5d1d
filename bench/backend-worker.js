// One writer process of the backends benchmark (bench/postgres.js): the same loop on either store.
//   node backend-worker.js file <log> <pairs> <tag>
//   node backend-worker.js pg <url> <account> <pairs> <tag>
//   node backend-worker.js read file <log> | read pg <url> <account>   (one cold read of the whole log)
//   node backend-worker.js first file <log> <tag> | first pg <url> <account> <tag>   (one cold first write)
// Warms up (the first calls read the whole log and warm V8), prints "ready", waits for a line on
// stdin so that all processes of a case start together, then runs `await openTrade` /
// `await closeTrade` pairs and prints {writes, ms, cpuMs, calls} (cpuMs: this process's CPU time,
// user + system, over the loop; calls: each call's latency, ms).
import { TradeStore } from '../dist/index.js';
import { PostgresTradeStore } from '../dist/postgres/index.js';

const OPTS = { maxPositions: 1e6, startingCapital: 1e9, assetConsecutiveLossCap: 0 };
const WARMUP_PAIRS = 5;

const [mode, ...rest] = process.argv.slice(2);
// `read <backend> ...`: a fresh store in this fresh process reads the whole log once (the read and
// parse a cold store's first write cannot avoid), prints {ms} and ends.
const reading = mode === 'read';
// `first <backend> ... <tag>`: a fresh store in this fresh process makes one openTrade (it reads the
// whole log first, with V8 cold), prints {ms} and ends: one sample of the cold first write.
const firstOnly = mode === 'first';
const [backend, ...args] = reading || firstOnly ? rest : [mode, ...rest];
let store;
let pairs;
let tag;
if (backend === 'file') {
  const [log, n, t] = firstOnly ? [args[0], '0', args[1]] : args;
  store = new TradeStore({ tradeLog: log, ...OPTS });
  [pairs, tag] = [Number(n), t];
} else if (backend === 'pg') {
  const [url, account, n, t] = firstOnly ? [args[0], args[1], '0', args[2]] : args;
  store = new PostgresTradeStore({ connectionString: url, account, ...OPTS });
  [pairs, tag] = [Number(n), t];
} else {
  throw new Error(`backend must be file or pg, not ${backend}`);
}
const now = () => Number(process.hrtime.bigint()) / 1e6;
if (reading) {
  const t = now();
  const trades = await store.getAllTrades();
  const ms = now() - t;
  await store.close();
  process.stdout.write(`${JSON.stringify({ ms, trades: trades.length })}\n`);
  process.exit(0);
}

if (firstOnly) {
  const t = now();
  await store.openTrade({ symbol: `${tag}1`, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1 });
  const ms = now() - t;
  await store.close();
  process.stdout.write(`${JSON.stringify({ ms })}\n`);
  process.exit(0);
}

// One turn of the check phase: work a store deferred with setImmediate after its last write
// (integrity check, closing replaced files) still delays a bot's next call, so it counts.
const turn = () => new Promise((resolve) => setImmediate(resolve));

let seq = 0;
async function pair(calls) {
  let t = now();
  const trade = await store.openTrade({ symbol: `${tag}${seq++}`, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1 });
  calls?.push(now() - t);
  t = now();
  await store.closeTrade(trade.id, { exit_price: 101 });
  calls?.push(now() - t);
}

// Warm-up: the first call reads the whole log (with V8 cold); `first` mode measures that one.
for (let i = 0; i < WARMUP_PAIRS; i++) await pair(null);
await turn();

process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.pause();

const calls = [];
const cpu0 = process.cpuUsage();
const t0 = now();
for (let i = 0; i < pairs; i++) await pair(calls);
await turn();
const ms = now() - t0;
const { user, system } = process.cpuUsage(cpu0);
await store.close();
process.stdout.write(`${JSON.stringify({ writes: pairs * 2, ms, cpuMs: (user + system) / 1000, calls })}\n`);
