import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, it } from 'vitest';
import { TradeStore } from '../src/index.js';
import { PostgresTradeStore, importLog, exportLog } from '../src/postgres/index.js';
import { tempDir } from './helpers.js';
import { freshDatabase } from './pg.js';
import { tradeRecord } from './trades.js';

let db: Awaited<ReturnType<typeof freshDatabase>>;
let n = 0;
const stores: PostgresTradeStore[] = [];
const mk = (o: Record<string, unknown> = {}) => { const s = new PostgresTradeStore({ connectionString: db.url, account: `a${++n}`, ...o }); stores.push(s); return s; };
const btc = { symbol: 'BTC', direction: 'LONG' as const, entry_price: 100, stop_price: 95, target_price: 120, size: 1 };
const res = async (p: Promise<unknown>) => { try { return { ok: await p }; } catch (e) { const x = e as Error & {code?: string}; return { err: `${x.name} ${x.code} ${x.message.slice(0, 200)}` }; } };
beforeAll(async () => { db = await freshDatabase(); await mk().migrate(); });
afterAll(async () => { for (const s of stores) await s.close(); await db.drop(); });

it('probe strings', async () => {
  for (const notes of ['a\u0000b', 'x\ud83d', '\udc00y']) {
    const s = mk();
    await s.openTrade(btc);
    const r = await Promise.all([res(s.openTrade({ ...btc, symbol: 'ETH' })), res(s.updateTrade('T001', { notes })), res(s.updateTrade('T001', { ext: notes }))]);
    console.log(JSON.stringify(notes), JSON.stringify(r));
    console.log(JSON.stringify((await s.getAllTrades()).map((t) => [t.id, t.notes, (t as any).ext])));
    const f = new TradeStore({ tradeLog: path.join(tempDir('zz'), 'log.json') });
    await f.openTrade(btc);
    console.log('file', JSON.stringify(await res(f.updateTrade('T001', { notes }))));
  }
});

it('probe timeouts', async () => {
  for (const o of [{ lockTimeoutMs: 1e10 }, { statementTimeoutMs: 3e9 }, { lockTimeoutMs: 0 }, { statementTimeoutMs: 0 }, { statementTimeoutMs: 0.4 }, {lockTimeoutMs: 2147483647}]) {
    const s = mk(o);
    console.log(JSON.stringify(o), JSON.stringify(await res(s.openTrade(btc))));
  }
});

it('probe odd fields via import and update', async () => {
  const log = JSON.parse(`{"next_id": 2, "trades": [
    {"id":"X9","symbol":"BTC","status":"CLOSED","direction":"LONG","entry_price":1e21,"size":5e-324,"pnl_usd":0.30000000000000004,"exit_price":1,"__proto__":{"a":1},"constructor":"c","keys":[1],"extra":{"x":1},"position":7,"account":"zz","version":99,"big":12345678901234567890,"neg":-0},
    {"id":"T005","symbol":"ETH","status":"OPEN","direction":"SHORT","entry_price":10,"stop_price":11,"size":2,"target_price":null}
  ], "zeta": 1}`);
  const s = mk();
  await importLog({ connectionString: db.url, account: s.account, log });
  const got = await s.getLog();
  console.log(JSON.stringify(got) === JSON.stringify(log), JSON.stringify(got));
  console.log(JSON.stringify(await res(s.updateTrade('X9', { notes: 'closed note', more: { '__proto__': 2 } }))));
  console.log(JSON.stringify(await res(s.updateTrade('X9', JSON.parse('{"__proto__": {"p": 1}, "k": 2}')))));
  console.log(JSON.stringify(await res(s.openTrade({ ...btc, symbol: 'SOL' }))));
  const s2 = new PostgresTradeStore({ connectionString: db.url, account: s.account }); stores.push(s2);
  console.log(JSON.stringify(await s2.getLog()));
  console.log(JSON.stringify(await res(s.updateTradesBatch([['T005', { notes: 'a' }], ['T005', { notes: 'b', stop_price: 10.5 }], ['X9', { g: 1 }]]))));
  console.log(JSON.stringify(await s2.getAllTrades()));
});

it('probe prepared false', async () => {
  const s = mk({ preparedStatements: false });
  console.log(JSON.stringify(await res(s.openTrade(btc))), JSON.stringify(await res(s.closeTrade('T001', { exit_price: 110 }))), JSON.stringify(await res(s.getLog())));
});
