// One instrument key on PostgreSQL: the store refuses "btc" beside an open "BTC" as the file store
// does, the database's index refuses it too (symbol_key, written by the library from the domain's
// key function), and migration 2 fills that column on an existing database and refuses one that
// already holds two open trades on one instrument.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DatabaseError, importLog, PostgresTradeStore, SCHEMA_VERSION } from '../src/postgres/index.js';
import { MIGRATIONS, VERSION_TABLE_SQL } from '../src/postgres/schema.js';
import { freshDatabase, storeDatabase, withClient } from './pg.js';
import { tradeRecord } from './trades.js';

const btc = { symbol: 'BTC', direction: 'LONG' as const, entry_price: 65000, stop_price: 63500, target_price: 68000, size: 0.01 };

describe('PostgresTradeStore: one instrument key', () => {
  const db = storeDatabase();

  it('a second open of "btc" beside "BTC" is DUPLICATE_SYMBOL; the rows keep each symbol as written', async () => {
    const s = db.store('case-1');
    await s.openTrade(btc);
    for (const symbol of ['btc', 'Btc']) {
      await expect(s.openTrade({ ...btc, symbol })).rejects.toMatchObject({ name: 'RiskRejectedError', code: 'DUPLICATE_SYMBOL' });
    }
    expect(await s.canOpenPosition('btc')).toMatchObject({ ok: false, code: 'DUPLICATE_SYMBOL' });
    await s.openTrade({ ...btc, symbol: 'eth', entry_price: 3000, stop_price: 2990, target_price: 3300 });
    expect(await s.getOpenSymbols()).toEqual(['BTC', 'eth']);
    const rows = await withClient(db.url, async (c) =>
      (await c.query(`SELECT symbol, symbol_key FROM trade_state.trades WHERE account = 'case-1' ORDER BY position`)).rows);
    expect(rows).toEqual([{ symbol: 'BTC', symbol_key: 'btc' }, { symbol: 'eth', symbol_key: 'eth' }]);
  });

  it('the database refuses a second open row on one instrument, whatever writes it', async () => {
    const s = db.store('case-2');
    await s.openTrade(btc);
    const insert = (id: string, symbol: string, key: string) =>
      withClient(db.url, (c) =>
        c.query(
          `INSERT INTO trade_state.trades (account, id, position, symbol, symbol_key, direction, status, entry_price, stop_price, size, keys, version)
           VALUES ('case-2', $1, 9, $2, $3, 'LONG', 'OPEN', 1, 0.5, 1, '["id"]', 99)`,
          [id, symbol, key],
        ));
    await expect(insert('T900', 'btc', 'btc')).rejects.toMatchObject({ code: '23505', constraint: 'trades_one_open_per_instrument' });
    // Only the library computes the key: a row without one is refused.
    await expect(insert('T901', 'XRP', null as unknown as string)).rejects.toMatchObject({ code: '23502', column: 'symbol_key' });
  });

  it('import refuses a log with two open trades on one instrument, as a ValidationError, the account untouched', async () => {
    const log = { trades: [tradeRecord('T001', { symbol: 'BTC' }), tradeRecord('T002', { symbol: 'btc' })], next_id: 3 };
    await expect(importLog({ connectionString: db.url, account: 'case-3', log })).rejects.toMatchObject({
      code: 'EVALIDATION',
      message: expect.stringContaining('T002 on "btc" and T001 on "BTC" are both OPEN on one instrument'),
    });
    expect(await db.store('case-3').getAllTrades()).toEqual([]);
  });
});

/** A database at schema version 1 (before symbol_key), with `trades` in account "old". */
async function versionOneDatabase(trades: Array<{ id: string; symbol: string; status: 'OPEN' | 'CLOSED' }>) {
  const fresh = await freshDatabase();
  await withClient(fresh.url, async (c) => {
    await c.query(VERSION_TABLE_SQL);
    await c.query((MIGRATIONS[0] as { sql: string }).sql);
    await c.query(`INSERT INTO trade_state.schema_version (version, description) VALUES (1, 'v1')`);
    await c.query(`INSERT INTO trade_state.accounts (account, next_id, version) VALUES ('old', $1, 1)`, [trades.length + 1]);
    for (const [i, t] of trades.entries()) {
      const closed = t.status === 'CLOSED';
      await c.query(
        `INSERT INTO trade_state.trades (account, id, position, symbol, direction, status, entry_price, stop_price, size, exit_price, pnl_usd, keys, version)
         VALUES ('old', $1, $2, $3, 'LONG', $4, 100, 95, 1, $5, $6, $7, 1)`,
        [t.id, i, t.symbol, t.status, closed ? 90 : null, closed ? -10 : null,
          JSON.stringify(['id', 'symbol', 'direction', 'status', 'entry_price', 'stop_price', 'size', 'exit_price', 'pnl_usd'])],
      );
    }
  });
  return fresh;
}

describe('migration 2: trades.symbol_key on an existing database', () => {
  const dbs: Array<Awaited<ReturnType<typeof freshDatabase>>> = [];
  const stores: PostgresTradeStore[] = [];
  beforeAll(() => {
    expect(SCHEMA_VERSION).toBe(3);
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(dbs.map((d) => d.drop()));
  });
  const storeOn = (url: string, account: string) => {
    const s = new PostgresTradeStore({ connectionString: url, account });
    stores.push(s);
    return s;
  };

  it('fills the key of every row (closed ones too) by the library\'s function, then the store refuses "btc" beside "BTC"', async () => {
    const old = await versionOneDatabase([
      { id: 'T001', symbol: 'sol', status: 'CLOSED' },
      { id: 'T002', symbol: ' Eth ', status: 'CLOSED' },
      { id: 'T003', symbol: 'BTC', status: 'OPEN' },
      { id: 'T004', symbol: 'ÉTÉ', status: 'OPEN' },
    ]);
    dbs.push(old);
    const s = storeOn(old.url, 'old');
    expect(await s.migrate()).toEqual([2, 3]);
    const keys = await withClient(old.url, async (c) =>
      (await c.query(`SELECT id, symbol_key FROM trade_state.trades ORDER BY position`)).rows.map((r) => `${r.id}=${r.symbol_key}`));
    // JavaScript's toLowerCase, whatever the database's collation does with É.
    expect(keys).toEqual(['T001=sol', 'T002=eth', 'T003=btc', 'T004=été']);
    await expect(s.openTrade({ ...btc, symbol: 'btc' })).rejects.toMatchObject({ code: 'DUPLICATE_SYMBOL' });
    await s.closeTrade('T003', { exit_price: 66000 });
    expect((await s.openTrade({ ...btc, symbol: 'btc' })).symbol).toBe('btc');
    expect(await s.migrate()).toEqual([]);
  });

  it('refuses (EDBSCHEMA) a database holding two open trades on one instrument, naming them, and changes nothing', async () => {
    const old = await versionOneDatabase([
      { id: 'T001', symbol: 'BTC', status: 'OPEN' },
      { id: 'T002', symbol: 'ETH', status: 'OPEN' },
      { id: 'T003', symbol: 'btc', status: 'OPEN' },
    ]);
    dbs.push(old);
    const err = await storeOn(old.url, 'old').migrate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseError);
    expect(err).toMatchObject({ code: 'EDBSCHEMA', message: expect.stringContaining('account "old": T001 "BTC", T003 "btc"') });
    const state = await withClient(old.url, async (c) => ({
      version: (await c.query('SELECT max(version)::int AS v FROM trade_state.schema_version')).rows[0].v,
      column: (await c.query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'trades' AND column_name = 'symbol_key'`)).rows[0].n,
    }));
    expect(state).toEqual({ version: 1, column: 0 });
  });
});
