// Regression tests from a hostile review of the PostgreSQL backend. Each test reproduces a bug
// found against a real server; the comment above it says what went wrong and why it matters.
import fs from 'node:fs';
import path from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isSealed, knownChanges } from '../src/domain/log-index.js';
import { TradeStore } from '../src/index.js';
import { AccountLog, accountRowOf, LOCK_ACCOUNT_SQL, type Queryable, type QueryResultLike } from '../src/postgres/account-log.js';
import { importLog, PostgresTradeStore } from '../src/postgres/index.js';
import { tempDir } from './helpers.js';
import { storeDatabase, withClient, type StoreOptions } from './pg.js';

const db = storeDatabase();
let dir: string;
let accounts = 0;

const store = (options: StoreOptions = {}, account = `review-${++accounts}`): PostgresTradeStore => db.store(account, options);

const btc = { symbol: 'BTC', direction: 'LONG' as const, entry_price: 100, stop_price: 95, target_price: 120, size: 1 };

/** A value, or the error's name and code. */
async function outcome(p: Promise<unknown>): Promise<{ ok: true; value: unknown } | { ok: false; name: string; code: unknown; message: string }> {
  try {
    return { ok: true, value: await p };
  } catch (err) {
    const e = err as Error & { code?: unknown };
    return { ok: false, name: e.name, code: e.code, message: e.message };
  }
}

/** A promise and its resolve, to hold a query's answer back until the test lets it through. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

beforeAll(() => {
  dir = tempDir('tse-pg-review-');
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('AccountLog: another process\'s write reaches the cache as the positions it changed', () => {
  // The rows another writer changed were spliced in with slice(): the new trades array forgot its
  // base, so the next write froze, indexed and compared the whole history again (issue 17).
  it('the spliced trades array is sealed and knows which positions changed since the version read', async () => {
    const writer = store();
    const pool = new pg.Pool({ connectionString: db.url });
    try {
      const direct = pool as unknown as Queryable;
      for (const symbol of ['BTC', 'ETH', 'SOL']) await writer.openTrade({ ...btc, symbol });
      const log = new AccountLog(writer.account);
      const a = await log.read(direct);
      await writer.closeTrade('T002', { exit_price: 101 });
      const b = await log.read(direct);
      expect(isSealed(b.log.trades)).toBe(true);
      expect(knownChanges(a.log.trades, b.log.trades)).toEqual([1]);
      expect(b.log.trades[0]).toBe(a.log.trades[0]);
      await writer.openTrade({ ...btc, symbol: 'XRP' });
      const c = await log.read(direct);
      expect(knownChanges(b.log.trades, c.log.trades)).toEqual([3]);
      expect(c.log.trades.map((t) => [t.id, t.status])).toEqual([['T001', 'OPEN'], ['T002', 'CLOSED'], ['T003', 'OPEN'], ['T004', 'OPEN']]);
    } finally {
      await pool.end();
    }
  });
});

describe('AccountLog: a lock-free read whose answer arrives late never corrupts the cache', () => {
  // #apply splices the rows a read fetched since version `known` onto whatever state the cache
  // holds when the answer ARRIVES, not onto the state `known` came from. Two reads in flight
  // (concurrent getLog/getOpenTrades, or a read overlapping a group's locked read) interleave so
  // that a late, older answer overwrites a trade with an older row, and the next read, newer,
  // stamps that mixture with the account's current version: the cache then claims to be current
  // and the locked fast path (account.version === cached version) serves the stale trade.
  it('two overlapping reads: the state holds every row at the version it claims, also under the lock', async () => {
    const writer = store();
    const pool = new pg.Pool({ connectionString: db.url });
    try {
      /** The pool, with every answer held until `until` resolves (the query itself runs at once). */
      const late = (until: Promise<void>, ran: () => void): Queryable => ({
        query: (async (...args: unknown[]) => {
          const r = (await (pool.query as (...a: unknown[]) => Promise<QueryResultLike>)(...args)) as QueryResultLike;
          ran();
          await until;
          return r;
        }) as Queryable['query'],
      });
      const direct = pool as unknown as Queryable;
      await writer.openTrade(btc); // v1
      const log = new AccountLog(writer.account);
      await log.read(direct); // knows v1
      await writer.updateTrade('T001', { notes: 'v2' }); // v2
      const a = gate();
      const ranA = gate();
      const readA = log.read(late(a.promise, ranA.open)); // known 1, snapshot at v2, answer held
      await ranA.promise;
      await writer.updateTrade('T001', { notes: 'v3' }); // v3
      await log.read(direct); // knows v3
      await writer.openTrade({ ...btc, symbol: 'ETH' }); // v4
      const b = gate();
      const ranB = gate();
      const readB = log.read(late(b.promise, ranB.open)); // known 3, snapshot at v4, answer held
      await ranB.promise;
      a.open();
      await readA; // the older answer lands
      b.open();
      const state = await readB;
      expect(state.version).toBe(4);
      expect(state.log.trades.map((t) => [t.id, t.notes])).toEqual([['T001', 'v3'], ['T002', null]]);

      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const account = accountRowOf((await client.query(LOCK_ACCOUNT_SQL, [writer.account])).rows[0] as Record<string, unknown>);
        const locked = await log.readLocked(client as unknown as Queryable, account);
        expect(locked.log.trades.map((t) => [t.id, t.notes])).toEqual([['T001', 'v3'], ['T002', null]]);
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    } finally {
      await pool.end();
    }
  });

  // The same race through the public API, with money on it: a bot's concurrent reads leave its
  // store believing a partial exit made by another host never happened; its closeTrade then
  // writes the trade back without that exit, with the old size and a wrong P&L.
  it('a store whose reads overlap never erases another host\'s partial exit nor closes on the old size', async () => {
    const bot = store();
    const other = store({}, bot.account);
    const query = pg.Client.prototype.query;
    let hold: { until: Promise<void>; ran: () => void } | null = null;
    // Holds back the answer of the next query of any client (armed just before the read that
    // issues it); the query itself reaches the server at once. Real queries, real answers.
    (pg.Client.prototype as unknown as { query: unknown }).query = function (this: pg.Client, ...args: unknown[]) {
      const h = hold;
      hold = null;
      const p = (query as unknown as (...a: unknown[]) => Promise<unknown>).apply(this, args);
      return h === null ? p : p.then(async (r) => {
        h.ran();
        await h.until;
        return r;
      });
    };
    try {
      await bot.openTrade(btc); // v1, size 1
      await other.partialClose('T001', { fraction: 0.5, exit_price: 110 }); // v2: size 0.5, +5
      const a = gate();
      const ranA = gate();
      hold = { until: a.promise, ran: ranA.open };
      const readA = bot.getLog(); // knows v1; answered at v2, held
      await ranA.promise;
      await other.partialClose('T001', { fraction: 0.5, exit_price: 112 }); // v3: size 0.25, +3
      await bot.getLog(); // knows v3
      await other.openTrade({ ...btc, symbol: 'ETH' }); // v4
      const b = gate();
      const ranB = gate();
      hold = { until: b.promise, ran: ranB.open };
      const readB = bot.getLog(); // knows v3; answered at v4, held
      await ranB.promise;
      a.open();
      await readA;
      b.open();
      await readB;
    } finally {
      (pg.Client.prototype as unknown as { query: unknown }).query = query;
    }
    expect((await bot.getTrade('T001')).size).toBe(0.25);
    const closed = await bot.closeTrade('T001', { exit_price: 120 });
    expect(closed.partial_exits).toHaveLength(2);
    // pnl_usd is what the close itself realizes: the 0.25 left, 100 -> 120 (not 0.5 of it).
    expect(closed.pnl_usd).toBe(0.25 * 20);
    const fresh = store({}, bot.account);
    const row = await fresh.getTrade('T001');
    expect(row.partial_exits).toHaveLength(2);
    expect(row.size).toBe(0.25);
  });
});

describe('group commit: one call the database cannot hold does not take the others down', () => {
  // PostgreSQL text and jsonb cannot hold U+0000, and json/jsonb refuse a lone UTF-16 surrogate
  // (what a bot gets by truncating a note with .slice() in the middle of an emoji). The file
  // store writes both. Here the bad string reaches the group's single write statement, which
  // fails, and EVERY call of the group is rejected with that EDBERROR — a valid openTrade of
  // another caller included. The bad call alone must be refused, as invalid input.
  for (const [what, notes] of [['a NUL character', 'a\u0000b'], ['a lone surrogate', 'cut emoji \ud83d']] as const) {
    it(`a note with ${what}: refused alone as EVALIDATION; the valid calls queued with it succeed`, async () => {
      const s = store();
      await s.openTrade(btc);
      const inFlight = s.openTrade({ ...btc, symbol: 'SOL' }); // group 1, in flight
      const bad = s.updateTrade('T001', { notes }); // group 2 ...
      const good = s.openTrade({ ...btc, symbol: 'ETH' }); // ... with this one
      const badExt = s.updateTrade('T001', { my_bot: { note: notes } });
      expect(await outcome(inFlight)).toMatchObject({ ok: true });
      expect(await outcome(bad)).toMatchObject({ ok: false, code: 'EVALIDATION' });
      expect(await outcome(badExt)).toMatchObject({ ok: false, code: 'EVALIDATION' });
      expect(await outcome(good)).toMatchObject({ ok: true, value: { symbol: 'ETH' } });
      expect((await store({}, s.account).getOpenSymbols()).sort()).toEqual(['BTC', 'ETH', 'SOL']);
    });
  }
});

describe('timeouts the constructor accepts work', () => {
  // lockTimeoutMs and statementTimeoutMs accept any finite number >= 0, but they go verbatim into
  // SET LOCAL lock_timeout / statement_timeout, whose maximum is 2147483647 ms (~24.8 days): a
  // "wait as long as it takes" value (1e10, or even 2**31 - 1 for the lock, to which the store
  // adds statementTimeoutMs) makes EVERY write fail with EDBERROR "invalid value for parameter".
  it('a lock timeout or statement timeout beyond 2^31-1 ms: writes and imports still go through', async () => {
    for (const options of [{ lockTimeoutMs: 2 ** 31 - 1 }, { lockTimeoutMs: 1e10 }, { statementTimeoutMs: 3e9 }]) {
      const s = store(options);
      expect(await outcome(s.openTrade(btc))).toMatchObject({ ok: true });
      expect(await outcome(s.saveSettings({ maxPositions: 5 }))).toMatchObject({ ok: true });
    }
    const imported = importLog({ connectionString: db.url, account: `review-${++accounts}`, log: { trades: [], next_id: 1 }, lockTimeoutMs: 1e10 });
    expect(await outcome(imported)).toMatchObject({ ok: true });
  });
});

describe('a write call takes its input as it was at the call', () => {
  // updateTrade and updateTradesBatch keep a reference to the caller's patch and validate and
  // copy it only when their group runs (after the lock). A caller that reuses its patch object,
  // or changes it after the call without awaiting, has a different update applied — here a
  // stop move it never asked for — and (database) recorded as the call's input in the events.
  // Shared by both stores (the write path is the same).
  it('a patch changed after updateTrade/updateTradesBatch returns its promise changes nothing', async () => {
    const pgStore = store();
    const fileStore = new TradeStore({ tradeLog: path.join(dir, 'mutated', 'trade_log.json') });
    for (const s of [pgStore, fileStore]) {
      await s.openTrade(btc);
      await s.openTrade({ ...btc, symbol: 'ETH' });
      const patch: Record<string, unknown> = { notes: 'asked' };
      const one = s.updateTrade('T001', patch);
      patch.notes = 'changed later';
      patch.stop_price = 99;
      const batchPatch: Record<string, unknown> = { grade: 'A' };
      const updates: Array<[string, Record<string, unknown>]> = [['T002', batchPatch]];
      const batch = s.updateTradesBatch(updates);
      batchPatch.stop_price = 99;
      updates.push(['T001', { stop_price: 98 }]);
      await one;
      expect(await batch).toBe(1);
      expect(await s.getTrade('T001')).toMatchObject({ notes: 'asked', stop_price: 95 });
      expect(await s.getTrade('T002')).toMatchObject({ grade: 'A', stop_price: 95 });
    }
    const events = await withClient(db.url, (c) =>
      c.query(`SELECT payload FROM trade_state.events WHERE account = $1 AND kind = 'updateTrade'`, [pgStore.account]),
    );
    expect(events.rows.map((r: { payload: { input: unknown } }) => r.payload.input)).toEqual([{ id: 'T001', patch: { notes: 'asked' } }]);
  });
});

describe('a patch field named __proto__', () => {
  // A trade record may hold a field "__proto__" (an import keeps it, rows.ts defines it as a field),
  // and a nested "__proto__" in a patch is refused (validate.ts jsonCopy). A top-level one, as
  // JSON.parse gives it, is neither: validatePatch assigns it (out[key] = ...), which sets the
  // copy's prototype, and the update resolves with the field silently dropped.
  it('is refused as invalid input or stored; never accepted and dropped', async () => {
    const s = store();
    await s.openTrade(btc);
    const patch = JSON.parse('{"__proto__": {"tag": 1}, "other": 2}') as Record<string, unknown>;
    const result = await outcome(s.updateTrade('T001', patch));
    if (result.ok) {
      const fresh = await store({}, s.account).getTrade('T001');
      expect(Object.hasOwn(fresh, '__proto__')).toBe(true);
      expect(Object.getOwnPropertyDescriptor(fresh, '__proto__')?.value).toEqual({ tag: 1 });
    } else {
      expect(result).toMatchObject({ code: 'EVALIDATION' });
      expect(await store({}, s.account).getTrade('T001')).not.toHaveProperty('other');
    }
  });
});

describe('hardening after the review', () => {
  // A database (or role) whose synchronous_commit is off acknowledges commits a server crash can
  // lose. The store's transaction turns it back on, so an acknowledged write is durable whatever
  // the database's default. Observed from inside the write: a trigger records the setting each
  // event insert runs under.
  it('writes with synchronous_commit on even when the database default is off', async () => {
    await withClient(db.url, async (c) => {
      await c.query('CREATE TABLE IF NOT EXISTS public.commit_probe (setting text NOT NULL)');
      await c.query(`CREATE OR REPLACE FUNCTION public.commit_probe() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO public.commit_probe VALUES (current_setting('synchronous_commit')); RETURN NEW; END $$`);
      await c.query('CREATE TRIGGER commit_probe BEFORE INSERT ON trade_state.events FOR EACH ROW EXECUTE FUNCTION public.commit_probe()');
      await c.query(`ALTER DATABASE ${pg.escapeIdentifier(db.name)} SET synchronous_commit = off`);
    });
    try {
      const s = store();
      // the new default applies to new sessions: check that this store's sessions do get it
      const seen = await withClient(db.url, async (c) => (await c.query(`SELECT current_setting('synchronous_commit') AS s`)).rows[0].s);
      expect(seen).toBe('off');
      await s.openTrade(btc);
      await s.saveSettings({ maxPositions: 3 });
      const probes = await withClient(db.url, async (c) => (await c.query('SELECT setting FROM public.commit_probe')).rows.map((r: { setting: string }) => r.setting));
      expect(probes).toEqual(['on', 'on']);
    } finally {
      await withClient(db.url, async (c) => {
        await c.query(`ALTER DATABASE ${pg.escapeIdentifier(db.name)} RESET synchronous_commit`);
        await c.query('DROP TRIGGER commit_probe ON trade_state.events');
      });
    }
  });

  // The rows' key order and extension fields live in json columns. A bot that set a global pg
  // parser for json (to get the text, say) must still get the records the file store would give.
  it('reads records right when the process overrode pg\'s global json parser', async () => {
    const s = store();
    await s.openTrade({ ...btc, client_id: 'k1' });
    await s.updateTrade('T001', { notes: 'n', z_ext: { b: 1, a: [2, 3] } });
    const expected = JSON.stringify(await s.getLog());
    const before = pg.types.getTypeParser(114);
    pg.types.setTypeParser(114, (text: string) => text);
    try {
      const fresh = store({}, s.account);
      expect(JSON.stringify(await fresh.getLog())).toBe(expected);
    } finally {
      pg.types.setTypeParser(114, before);
    }
  });
});
