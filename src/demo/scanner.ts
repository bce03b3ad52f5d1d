/**
 * Demo child: a scanner that opens trades on a few symbols at prices around
 * the simulated market, with a setup and a grade. Every attempt carries a
 * client_id, announced first (INTENT), so that a restarted scanner can retry
 * the attempt a SIGKILL interrupted without risking a second trade.
 */
import { RiskRejectedError, type Trade } from '../index.js';
import { SYMBOLS } from './config.js';
import { priceText } from './output.js';
import { childArgs, reportUnexpected, sayAs, sleep, stopFlag, storeFor, until, type ChildArgs } from './child.js';
import { tradeIdea } from './idea.js';
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
      say(`opened ${t.id} ${t.symbol} ${t.direction} @ ${priceText(t.symbol, t.entry_price)} (${tags})`);
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
  const intent: Intent = { client_id: `scan-${a.generation}-${n}`, input: tradeIdea(market, pick(candidates.length > 0 ? candidates : symbols), random) };
  emit('INTENT', intent);
  await attempt(intent);
  await sleep(350 + random() * 450);
}
say('stopped');
