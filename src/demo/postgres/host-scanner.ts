/**
 * PostgreSQL demo child: one scanner host. It has its own PostgresTradeStore (its own pool) on the
 * shared account, as a bot on another machine would. Three moments, each started by the parent's
 * order (READY, then "GO race", "GO burst", "GO loop"; DONE after each scripted one): the race (every
 * scanner host opens the same symbol at once), the burst (all hosts together ask for more positions
 * than the cap leaves), then a free-running loop on symbols that overlap with the other host's.
 * Orders, not clocks: a host that starts late on a loaded machine cannot miss a moment or change
 * its outcome.
 */
import { PostgresTradeStore, RiskRejectedError } from '../../postgres/index.js';
import type { OpenInput } from '../../index.js';
import { STOP_PCT, TARGET_R, roundTo, specOf } from '../config.js';
import { priceText } from '../output.js';
import { childArgs, parentLink, reportUnexpected, sayAs, sleep } from '../child.js';
import { tradeIdea } from '../idea.js';
import { Market, rng, seedOf } from '../market.js';
import { emit, type Phase } from '../protocol.js';
import { PG_RACE_SYMBOL, SCRIPTED_RISK_PCT, pgStoreOptions, type PgScannerArgs } from './config.js';

const a = childArgs<PgScannerArgs>();
const say = sayAs(a.name);
const parent = parentLink();
const stopped = parent.stopped;
const store = new PostgresTradeStore(pgStoreOptions(a.url, a.account, a.capital));
const market = new Market(a.seed, a.t0);
const random = rng(seedOf(a.seed, a.name));
/** "A-", "B-": every client_id this host sends starts with its letter, so it knows its own trades. */
const prefix = `${a.name.split(' ')[0] ?? a.name}-`;
let attempts = 0;
/** Refusal codes shown once already: the loop's later ones are counted (REJECT, the summary) but not printed, to keep the output short. */
const shown = new Set<string>();

/**
 * The race's and the burst's opens: LONG, a 1 % stop, 0.5 % of the capital at risk each, so that
 * any of them together stay under the correlation limit (1.5 %) and the outcome depends on the cap alone.
 */
function scripted(symbol: string): OpenInput {
  const spec = specOf(symbol);
  const entry = market.price(symbol);
  const stop = roundTo(entry * (1 - STOP_PCT), spec.decimals);
  return {
    symbol,
    direction: 'LONG',
    entry_price: entry,
    stop_price: stop,
    target_price: roundTo(entry + TARGET_R * (entry - stop), spec.decimals),
    size: Math.max(roundTo((SCRIPTED_RISK_PCT / 100) * a.capital / (entry - stop), spec.sizeDecimals), 10 ** -spec.sizeDecimals),
    setup_type: 'Breakout',
    grade: 'A',
  };
}

async function attempt(input: OpenInput, phase?: Phase): Promise<void> {
  const client_id = `${prefix}${++attempts}`;
  const tag = phase === undefined ? '' : ` [${phase}]`;
  try {
    const t = await store.openTrade({ ...input, client_id });
    emit('ACK', { op: 'open', id: t.id, symbol: t.symbol, client_id, ...(phase && { phase }) });
    say(`opened ${t.id} ${t.symbol} ${t.direction} @ ${priceText(t.symbol, t.entry_price)}${tag}`);
  } catch (err) {
    if (!(err instanceof RiskRejectedError)) throw err;
    emit('REJECT', { code: err.code, symbol: input.symbol, message: err.message, ...(phase && { phase }) });
    if (phase !== undefined || !shown.has(err.code)) {
      say(`refused ${input.symbol}: ${err.code} (${err.message})${tag || ' (repeats are counted, not shown)'}`);
    }
    if (phase === undefined) shown.add(err.code);
  }
}

try {
  // Load the client and open a connection before the race, so that it is a race of writes.
  await store.getAllTrades();
  emit('READY', {});
  // The parent orders the race to every scanner host at once, when all of them are READY.
  if (await parent.next('race')) {
    await attempt(scripted(PG_RACE_SYMBOL), 'race');
    emit('DONE', { step: 'race' });
  }
  // Then the burst, once every host's race is over: one position open, whoever won it.
  if (await parent.next('burst')) {
    await Promise.all(a.burst.map((s) => attempt(scripted(s), 'burst')));
    emit('DONE', { step: 'burst' });
  }
  // The loop only once every host's burst is over: until then, no other write may change its outcome.
  if (await parent.next('loop')) {
    while (!stopped()) {
      // A host skips the symbols it holds itself; the other host's positions are for the shared budget to refuse.
      const mine = new Set((await store.getOpenTrades()).filter((t) => t.client_id?.startsWith(prefix)).map((t) => t.symbol));
      const candidates = a.symbols.filter((s) => !mine.has(s));
      if (candidates.length > 0) await attempt(tradeIdea(market, candidates[Math.floor(random() * candidates.length)] as string, random));
      await sleep(250 + random() * 350);
    }
  }
} catch (err) {
  reportUnexpected(say, err);
  process.exitCode = 1;
} finally {
  await store.close();
}
