/**
 * Demo child: one of several scanners released at the same instant to open
 * the same symbol. Exactly one must win; the others get DUPLICATE_SYMBOL.
 */
import { RiskRejectedError } from '../index.js';
import { RACE_SYMBOL, RISK_USD, STOP_PCT, TARGET_R, roundTo, specOf } from './config.js';
import { priceText } from './output.js';
import { childArgs, reportUnexpected, sayAs, storeFor, until, type ChildArgs } from './child.js';
import { Market } from './market.js';
import { emit } from './protocol.js';

interface RacerArgs extends ChildArgs {
  releaseAt: number;
}

const a = childArgs<RacerArgs>();
const say = sayAs(a.name);
const store = storeFor(a);
const spec = specOf(RACE_SYMBOL);
const client_id = `${a.name}-${a.seed}`;

await until(a.releaseAt);
const entry = new Market(a.seed, a.t0).price(RACE_SYMBOL);
const stop = roundTo(entry * (1 - STOP_PCT), spec.decimals);
try {
  const t = await store.openTrade({
    symbol: RACE_SYMBOL,
    direction: 'LONG',
    entry_price: entry,
    stop_price: stop,
    target_price: roundTo(entry + TARGET_R * (entry - stop), spec.decimals),
    size: roundTo(RISK_USD / (entry - stop), spec.sizeDecimals),
    setup_type: 'Breakout',
    grade: 'A',
    client_id,
  });
  emit('ACK', { op: 'open', id: t.id, symbol: t.symbol, client_id, race: true });
  say(`won the race: opened ${t.id} ${t.symbol} LONG @ ${priceText(t.symbol, entry)} (Breakout A)`);
} catch (err) {
  if (err instanceof RiskRejectedError) {
    emit('REJECT', { code: err.code, symbol: RACE_SYMBOL, message: err.message, race: true });
    say(`lost the race: ${err.code} (${err.message})`);
  } else {
    reportUnexpected(say, err);
    process.exitCode = 1;
  }
}
