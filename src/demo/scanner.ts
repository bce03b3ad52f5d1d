/**
 * Demo child: a scanner that opens trades on a few symbols at prices around
 * the simulated market, with a setup and a grade. Every attempt carries a
 * client_id, announced first (INTENT), so that a restarted scanner can retry
 * the attempt a SIGKILL interrupted without risking a second trade.
 */
import { RiskRejectedError, type OpenInput, type Trade } from '../index.js';
import { GRADES, RISK_USD, SETUPS, STOP_PCT, SYMBOLS, TARGET_R, roundTo, specOf } from './config.js';
import { childArgs, reportUnexpected, sayAs, sleep, stopFlag, storeFor, until, type ChildArgs } from './child.js';
import { Market, rng, seedOf } from './market.js';
import { emit, type Intent } from './protocol.js';

interface ScannerArgs extends ChildArgs {
  /** 1 for the first scanner, 2 after the restart: part of every client_id. */
  generation: number;
  startAt: number;
  /** The attempt a killed predecessor had in flight. */
  resume?: Intent;
}

const a = childArgs<ScannerArgs>();
const say = sayAs(a.name);
const stopped = stopFlag();
const store = storeFor(a);
const market = new Market(a.seed, a.t0);
const random = rng(seedOf(a.seed, `${a.name}-${a.generation}`));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;

/** Trades with the recent move (the feed drifts, so momentum has a small edge), sometimes against it. */
function idea(symbol: string): OpenInput {
  const spec = specOf(symbol);
  const tick = market.tick();
  const up = market.price(symbol, tick) >= market.price(symbol, Math.max(0, tick - 15));
  const direction = up === (random() < 0.8) ? 'LONG' : 'SHORT';
  const sign = direction === 'LONG' ? 1 : -1;
  const entry = roundTo(market.price(symbol) * (1 + (random() - 0.5) * 0.001), spec.decimals);
  const stop = roundTo(entry * (1 - sign * STOP_PCT), spec.decimals);
  const target = roundTo(entry + sign * TARGET_R * Math.abs(entry - stop), spec.decimals);
  const riskUsd = RISK_USD * (0.7 + random() * 0.6);
  const size = Math.max(roundTo(riskUsd / Math.abs(entry - stop), spec.sizeDecimals), 10 ** -spec.sizeDecimals);
  return { symbol, direction, entry_price: entry, stop_price: stop, target_price: target, size, setup_type: pick(SETUPS), grade: pick(GRADES) };
}

/** `landed`: the trade this client_id already has in the log (a retry), whose return is not an open. */
async function attempt(intent: Intent, landed?: Trade): Promise<void> {
  const input = { ...intent.input, client_id: intent.client_id };
  const tags = `${input.setup_type ?? '-'} ${input.grade ?? '-'}`;
  try {
    const t = await store.openTrade(input);
    emit('ACK', { op: 'open', id: t.id, symbol: t.symbol, client_id: intent.client_id });
    if (landed !== undefined && t.id === landed.id) {
      say(`retry of ${intent.client_id} returned the existing ${t.id} ${t.symbol} (same id, nothing written)`);
    } else {
      say(`opened ${t.id} ${t.symbol} ${t.direction} @ ${t.entry_price.toFixed(specOf(t.symbol).decimals)} (${tags})`);
    }
  } catch (err) {
    if (err instanceof RiskRejectedError) {
      emit('REJECT', { code: err.code, symbol: input.symbol, message: err.message });
      say(`rejected ${input.symbol} ${input.direction}: ${err.code} (${err.message})`);
    } else {
      reportUnexpected(say, err);
    }
  }
}

if (a.resume !== undefined) {
  // Was the interrupted open written before the kill? The client_id makes the retry safe either way.
  const r = a.resume;
  const landed = (await store.getAllTrades()).find((t) => t.client_id === r.client_id);
  say(
    landed
      ? `restarted: the interrupted open ${r.client_id} had reached the log as ${landed.id}; retrying it with the same client_id`
      : `restarted: the interrupted open ${r.client_id} never reached the log; retrying it`,
  );
  await attempt(r, landed);
}
await until(a.startAt);
const symbols = Object.keys(SYMBOLS);
for (let n = 1; !stopped(); n++) {
  // Like a real scanner it skips what it sees open; the read takes no lock, so it can be stale.
  const open = new Set(await store.getOpenSymbols());
  const candidates = symbols.filter((s) => !open.has(s));
  const intent: Intent = { client_id: `scan-${a.generation}-${n}`, input: idea(pick(candidates.length > 0 ? candidates : symbols)) };
  emit('INTENT', intent);
  await attempt(intent);
  await sleep(350 + random() * 450);
}
say('stopped');
