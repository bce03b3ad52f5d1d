/**
 * PostgreSQL demo child: the monitor host. Its own PostgresTradeStore on the shared account; it
 * manages every open position whichever host opened it (the file demo's rules, manage.ts), and
 * closes one held longer than maxHoldMs ("time stop"), so that even a short run frees budget
 * the scanner hosts then compete for again. It starts only on the parent's order "GO loop", sent
 * after the scanners' burst is over: a close before that would change the burst's outcome.
 */
import { PostgresTradeStore } from '../../postgres/index.js';
import { TICK_MS } from '../config.js';
import { childArgs, parentLink, reportUnexpected, sayAs, sleep } from '../child.js';
import { closeAt, manage } from '../manage.js';
import { Market } from '../market.js';
import { emit } from '../protocol.js';
import { pgStoreOptions, type PgMonitorArgs } from './config.js';

const a = childArgs<PgMonitorArgs>();
const say = sayAs(a.name);
const parent = parentLink();
const stopped = parent.stopped;
const store = new PostgresTradeStore(pgStoreOptions(a.url, a.account, a.capital));
const market = new Market(a.seed, a.t0);
/** When this monitor first saw each position open (its own clock: the hosts' clocks need not agree). */
const seen = new Map<string, number>();

try {
  await store.getOpenTrades(); // load the client and connect, as the scanners do, before saying READY
  emit('READY', {});
  if (await parent.next('loop')) await run();
} catch (err) {
  reportUnexpected(say, err);
  process.exitCode = 1;
} finally {
  await store.close();
}

async function run(): Promise<void> {
  while (!stopped()) {
    try {
      for (const t of await store.getOpenTrades()) {
        if (stopped()) break;
        const since = seen.get(t.id) ?? Date.now();
        seen.set(t.id, since);
        if (Date.now() - since >= a.maxHoldMs) await closeAt(store, t, market.price(t.symbol), 'time stop', say);
        else await manage(store, market, t, say);
      }
    } catch (err) {
      reportUnexpected(say, err); // the monitor carries on: the verdict counts the error
    }
    await sleep(TICK_MS * 2);
  }
}
