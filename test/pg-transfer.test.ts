/**
 * Moving a log between a JSON file and a PostgreSQL account (src/postgres/transfer.ts), on a real
 * server: lossless both ways (bytes identical after file -> import -> export), the settings file
 * travelling as the account's rulebook, refusals that leave the database as it was, and an import
 * with replace that keeps the event history.
 */
import fs from 'node:fs';
import path from 'node:path';

import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { serializeLog } from '../src/io/serialize.js';
import { exportAccount, exportLog, importLog, PostgresTradeStore } from '../src/postgres/index.js';
import { FIXTURES, spawnNode, tempDir } from './helpers.js';
import { freshDatabase, withClient } from './pg.js';
import { tradeRecord } from './trades.js';

let db: Awaited<ReturnType<typeof freshDatabase>>;
let pool: pg.Pool;
let dir: string;

beforeAll(async () => {
  db = await freshDatabase();
  const store = new PostgresTradeStore({ connectionString: db.url, account: 'setup' });
  await store.migrate();
  await store.close();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});
beforeEach(() => {
  dir = tempDir('tse-pg-transfer-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

let accounts = 0;
/** A new account name per test: the database is shared by the tests of this file. */
const account = (): string => `acct-${++accounts}`;

/**
 * A log full of what a file written by other tools may hold: unknown top-level fields before and
 * after trades, trades whose keys are in odd orders (id not first), unknown fields named like the
 * table's own columns (extra, keys, position, version, account), a field named __proto__,
 * partial exits with extra keys, Python timestamps with and without fractions, integers where
 * floats are meant, float noise, tiny and huge numbers, unicode and escapes.
 */
const ODD_TEXT = String.raw`{
  "schema": "bot-v2",
  "trades": [
    {
      "zeta": {"nested": [1, 2.5, null, true], "empty": {}},
      "id": "T001",
      "symbol": "BTC",
      "status": "CLOSED",
      "direction": "LONG",
      "entry_price": 65000,
      "stop_price": 63500.5,
      "original_stop": 63500.5,
      "target_price": 68000,
      "size": 0.30000000000000004,
      "original_size": 0.6000000000000001,
      "entry_time": "2026-03-14T11:28:53.123456+00:00",
      "exit_price": 66000.25,
      "exit_time": "2026-03-15T09:00:00+00:00",
      "exit_reason": "target",
      "pnl_usd": 300.08,
      "pnl_pct": 1.54,
      "r_multiple": 0.67,
      "partial_exits": [
        {"time": "2026-03-14T12:00:00+00:00", "size_closed": 0.3, "exit_price": 65500, "pnl_usd": 150, "reason": "scale", "fill_ids": ["a", "b"], "fee": 1e-7}
      ],
      "setup_type": "breakout",
      "grade": "A",
      "notes": "line1\nline2 \"quoted\" \\ tab\t 日本語 🚀",
      "lessons": null,
      "extra": "a field named extra",
      "keys": ["a", "field", "named", "keys"],
      "position": -1,
      "version": "v9",
      "account": {"other": "account"},
      "__proto__": {"polluted": true},
      "big": 123456789012345680000,
      "tiny": 5e-324
    },
    {
      "status": "OPEN",
      "symbol": "ÉTH-€",
      "id": "T002",
      "size": 2,
      "direction": "SHORT",
      "entry_price": 3000,
      "stop_price": 3100,
      "target_price": 2500,
      "entry_time": "2026-03-16T00:00:00+00:00",
      "client_id": "bot-α-42",
      "partial_exits": [],
      "exit_price": null,
      "pnl_usd": null
    },
    {
      "id": "T003",
      "symbol": "SOL",
      "status": "CLOSED",
      "direction": "LONG",
      "entry_price": 100,
      "stop_price": 95,
      "size": 1,
      "exit_price": 90,
      "pnl_usd": -10,
      "entry_time": "2026-01-01T00:00:00.000001+00:00",
      "exit_time": "2026-01-02T23:59:59.999999+00:00"
    }
  ],
  "owner": {"name": "bot-β", "hosts": ["a", "b"]},
  "next_id": 7,
  "z_last": null
}`;

/** The odd log as our serializer writes it (the Python json.dump(indent=2) layout), and its bytes. */
function oddFile(): { log: Record<string, unknown>; bytes: Buffer } {
  const log = JSON.parse(ODD_TEXT) as Record<string, unknown>;
  const bytes = serializeLog(log as never).buf;
  return { log, bytes };
}

const RULEBOOK = { startingCapital: 25000, maxPositions: 2, drawdownLimits: { daily: -0.03, weekly: -0.1, total: -0.25, warning: -0.05 }, haltOnDrawdown: false };

function writeLog(file: string, bytes: Buffer | string, settings?: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  if (settings !== undefined) fs.writeFileSync(path.join(path.dirname(file), 'trade-state.json'), `${JSON.stringify(settings, null, 2)}\n`);
}

/** Everything the database holds, as text: what "unchanged" is compared with. */
async function snapshot(): Promise<string> {
  const tables = ['accounts', 'trades', 'events'];
  const out: unknown[] = [];
  for (const t of tables) {
    const order = t === 'accounts' ? 'account' : t === 'trades' ? 'account, position' : 'account, event_seq';
    out.push((await pool.query(`SELECT to_jsonb(x) - 'updated_at' AS r FROM trade_state.${t} x ORDER BY ${order}`)).rows.map((r) => r.r));
  }
  return JSON.stringify(out);
}

async function eventsOf(name: string): Promise<{ event_seq: string; kind: string; op_id: string; payload: unknown }[]> {
  return (await pool.query('SELECT event_seq, kind, op_id, payload FROM trade_state.events WHERE account = $1 ORDER BY event_seq', [name])).rows;
}

async function accountRow(name: string): Promise<{ version: string; rebuilt_at: string; next_id: string; settings: unknown } | undefined> {
  return (await pool.query('SELECT version, rebuilt_at, next_id, settings FROM trade_state.accounts WHERE account = $1', [name])).rows[0];
}

/** An account holding trades written by the store: T001 closed, T002 open; four events. */
async function accountWithTrades(name: string): Promise<void> {
  const store = new PostgresTradeStore({ connectionString: db.url, account: name });
  try {
    await store.openTrade({ symbol: 'BTC', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
    await store.closeTrade('T001', { exit_price: 110 });
    await store.openTrade({ symbol: 'ETH', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
    await store.updateTrade('T002', { notes: 'kept?' });
  } finally {
    await store.close();
  }
}

describe('import then export: lossless', () => {
  it('a log full of oddities comes back byte-identical, and reads back as the same JSON', async () => {
    const name = account();
    const { log, bytes } = oddFile();
    // the fixture is what our serializer writes: JSON.stringify(…, null, 2) plus a newline
    expect(bytes.toString('utf8')).toBe(`${JSON.stringify(log, null, 2)}\n`);
    expect(Object.hasOwn((log.trades as Record<string, unknown>[])[0] as object, '__proto__')).toBe(true);
    const source = path.join(dir, 'src', 'trade_log.json');
    writeLog(source, bytes);

    const result = await importLog({ connectionString: db.url, account: name, tradeLog: source });
    expect(result).toMatchObject({ account: name, version: 1, trades: 3, replaced: 0, settings: false, source, settingsFile: null });

    // the store reads the same records, key order included
    const store = new PostgresTradeStore({ connectionString: db.url, account: name });
    try {
      expect(JSON.stringify(await store.getLog())).toBe(JSON.stringify(log));
      expect(await store.nextId()).toBe('T007');
    } finally {
      await store.close();
    }

    const target = path.join(dir, 'out', 'trade_log.json');
    const exported = await exportAccount({ connectionString: db.url, account: name, tradeLog: target });
    expect(exported).toMatchObject({ account: name, version: 1, tradeLog: target, settingsFile: null, trades: 3, bytes: bytes.length });
    expect(fs.readFileSync(target).equals(bytes)).toBe(true);
    expect(fs.existsSync(path.join(dir, 'out', 'trade-state.json'))).toBe(false);

    // the in-memory variant: the same bytes, the same log
    const mem = await exportLog({ pool, account: name });
    expect(mem.bytes.equals(bytes)).toBe(true);
    expect(JSON.stringify(mem.log)).toBe(JSON.stringify(log));
    expect(mem).toMatchObject({ version: 1, settings: null, settingsBytes: null });
  });

  it('a log object imports as its file does; a live pool is used and left open', async () => {
    const name = account();
    const { log, bytes } = oddFile();
    const result = await importLog({ pool, account: name, log });
    expect(result).toMatchObject({ trades: 3, source: null, settingsFile: null, settings: false });
    expect((await exportLog({ pool, account: name })).bytes.equals(bytes)).toBe(true);
    expect((await pool.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 }); // still open
  });

  it('an empty log and a log with only top-level fields round-trip too', async () => {
    for (const text of ['{\n  "trades": [],\n  "next_id": 1\n}\n', '{\n  "next_id": 0,\n  "meta": {\n    "k": [\n      1\n    ]\n  },\n  "trades": []\n}\n']) {
      const name = account();
      const source = path.join(dir, name, 'trade_log.json');
      writeLog(source, text);
      await importLog({ connectionString: db.url, account: name, tradeLog: source });
      expect((await exportLog({ pool, account: name })).bytes.toString('utf8')).toBe(text);
    }
  });
});

describe('the rulebook travels both ways', () => {
  it('trade-state.json beside the log becomes the account rulebook, which the store applies, and comes back beside the export', async () => {
    const name = account();
    const source = path.join(dir, 'src', 'trade_log.json');
    writeLog(source, serializeLog({ trades: [], next_id: 1 }).buf, RULEBOOK);
    const result = await importLog({ connectionString: db.url, account: name, tradeLog: source });
    expect(result).toMatchObject({ settings: true, settingsFile: path.join(dir, 'src', 'trade-state.json') });
    expect((await accountRow(name))?.settings).toEqual(RULEBOOK);

    const store = new PostgresTradeStore({ connectionString: db.url, account: name });
    try {
      const input = { direction: 'LONG' as const, entry_price: 100, stop_price: 95, target_price: 120, size: 1 };
      await store.openTrade({ symbol: 'A', ...input });
      await store.openTrade({ symbol: 'B', ...input });
      // maxPositions 2 from the imported rulebook, not the default 7
      await expect(store.openTrade({ symbol: 'C', ...input })).rejects.toMatchObject({ code: 'POSITION_CAP' });
      expect(store.settings.startingCapital).toBe(25000);
    } finally {
      await store.close();
    }

    const target = path.join(dir, 'out', 'trade_log.json');
    const exported = await exportAccount({ connectionString: db.url, account: name, tradeLog: target });
    const settingsFile = path.join(dir, 'out', 'trade-state.json');
    expect(exported.settingsFile).toBe(settingsFile);
    const text = fs.readFileSync(settingsFile, 'utf8');
    // the same rulebook, in the order a person wrote it (init's order), whatever order the account holds it in
    expect(text).toBe(`${JSON.stringify(RULEBOOK, null, 2)}\n`);
  });

  it('a log object takes the rulebook given; without one the account keeps its own', async () => {
    const name = account();
    await importLog({ pool, account: name, log: { trades: [], next_id: 1 }, settings: { maxPositions: 3 } });
    expect((await accountRow(name))?.settings).toEqual({ maxPositions: 3 });
    await importLog({ pool, account: name, log: { trades: [tradeRecord('T001')], next_id: 2 } });
    expect((await accountRow(name))?.settings).toEqual({ maxPositions: 3 });
    await expect(importLog({ pool, account: name, log: { trades: [], next_id: 1 }, settings: { maxPosition: 3 } as never, replace: true })).rejects.toMatchObject({
      code: 'ESETTINGSFILE',
    });
  });

  it('a broken settings file beside the log refuses the import, database unchanged', async () => {
    const name = account();
    const source = path.join(dir, 'src', 'trade_log.json');
    writeLog(source, serializeLog({ trades: [], next_id: 1 }).buf, { maxPositions: 0 });
    const before = await snapshot();
    await expect(importLog({ connectionString: db.url, account: name, tradeLog: source })).rejects.toMatchObject({ code: 'EVALIDATION' });
    expect(await snapshot()).toBe(before);
  });
});

describe('refusals leave the database unchanged', () => {
  it('an account that already has trades is refused without replace, naming it and its trade count', async () => {
    const name = account();
    await accountWithTrades(name);
    const before = await snapshot();
    const err = await importLog({ pool, account: name, log: { trades: [], next_id: 1 } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AccountError', code: 'EACCOUNTNOTEMPTY', account: name });
    expect((err as Error).message).toContain(`account "${name}" already has 2 trades`);
    expect(await snapshot()).toBe(before);
  });

  it('an account with a rulebook but no trades (trade-state init) is filled without replace', async () => {
    const name = account();
    const store = new PostgresTradeStore({ connectionString: db.url, account: name });
    await store.saveSettings({ maxPositions: 4 });
    await store.close();
    const r = await importLog({ pool, account: name, log: { trades: [tradeRecord('T001')], next_id: 2 } });
    expect(r).toMatchObject({ trades: 1, replaced: 0 });
    expect((await accountRow(name))?.settings).toEqual({ maxPositions: 4 });
  });

  const invalid: [string, () => { log?: unknown; text?: string }, RegExp | string][] = [
    ['a truncated file', () => ({ text: '{\n  "trades": [\n    {"id": "T001"' }), 'ETRADELOGCORRUPT'],
    ['a file that is not a log', () => ({ text: '[1, 2]\n' }), 'ETRADELOGCORRUPT'],
    ['an OPEN trade without a stop', () => ({ log: { trades: [tradeRecord('T001', { stop_price: null as never })], next_id: 2 } }), 'EVALIDATION'],
    ['a next_id that is not an integer', () => ({ log: { trades: [], next_id: 1.5 } }), 'EVALIDATION'],
    ['duplicate ids', () => ({ log: { trades: [tradeRecord('T001'), tradeRecord('T001', { symbol: 'ETH' })], next_id: 2 } }), 'EVALIDATION'],
    ['two OPEN trades on one symbol', () => ({ log: { trades: [tradeRecord('T001'), tradeRecord('T002')], next_id: 3 } }), 'EVALIDATION'],
    ['a reused client_id', () => ({ log: { trades: [tradeRecord('T001', { client_id: 'k' }), tradeRecord('T002', { symbol: 'ETH', client_id: 'k' })], next_id: 3 } }), 'EVALIDATION'],
    ['a text field holding a number (tradeToRow)', () => ({ log: { trades: [tradeRecord('T001', { notes: 5 as never })], next_id: 2 } }), 'EVALIDATION'],
    // the rest passes every check in JavaScript; the table's own CHECKs refuse it
    ['a CLOSED trade with exit_price 0 (a table CHECK)', () => ({
      log: { trades: [tradeRecord('T001', { status: 'CLOSED', exit_price: 0, pnl_usd: -100 })], next_id: 2 },
    }), 'EDBCONSTRAINT'],
    ['an unknown status (a table CHECK)', () => ({ log: { trades: [tradeRecord('T001', { status: 'PENDING' })], next_id: 2 } }), 'EDBCONSTRAINT'],
    ['a NUL character in a symbol (text cannot hold it)', () => ({ log: { trades: [tradeRecord('T001', { status: 'CLOSED', symbol: 'BT\u0000C', exit_price: 101, pnl_usd: 1 })], next_id: 2 } }), /^EDB/],
  ];

  it.each(invalid)('%s is refused, with replace on an account that has trades too', async (_what, make, code) => {
    const fresh = account();
    const full = account();
    await accountWithTrades(full);
    const input = make();
    let source: { tradeLog: string } | { log: unknown };
    if (input.text !== undefined) {
      const file = path.join(dir, 'bad', 'trade_log.json');
      writeLog(file, input.text);
      source = { tradeLog: file };
    } else {
      source = { log: input.log };
    }
    const before = await snapshot();
    for (const target of [fresh, full]) {
      const err = (await importLog({ pool, account: target, ...source, replace: true }).catch((e: unknown) => e)) as { code?: string };
      expect(err).toBeInstanceOf(Error);
      if (typeof code === 'string') expect(err.code).toBe(code);
      else expect(err.code).toMatch(code);
    }
    expect(await snapshot()).toBe(before);
    expect(await accountRow(fresh)).toBeUndefined();
  });

  it('a missing file is refused (not imported as an empty log)', async () => {
    const name = account();
    await expect(importLog({ pool, account: name, tradeLog: path.join(dir, 'nope.json') })).rejects.toMatchObject({ code: 'EVALIDATION' });
    expect(await accountRow(name)).toBeUndefined();
  });

  it('a bad account name, or both or neither of tradeLog and log, is refused before connecting', async () => {
    await expect(importLog({ connectionString: 'postgres://nobody@127.0.0.1:1/x', account: 'bad name', log: { trades: [], next_id: 1 } })).rejects.toMatchObject({ code: 'EVALIDATION' });
    await expect(importLog({ pool, account: 'x', tradeLog: 'a.json', log: { trades: [], next_id: 1 } })).rejects.toMatchObject({ code: 'EVALIDATION' });
    await expect(importLog({ pool, account: 'x' })).rejects.toMatchObject({ code: 'EVALIDATION' });
  });
});

describe('import with replace', () => {
  it("replaces the trades (closed ones too) in one transaction, keeps the event history, and live stores see the new log", async () => {
    const name = account();
    await accountWithTrades(name);
    const history = await eventsOf(name);
    expect(history.map((e) => e.kind)).toEqual(['openTrade', 'closeTrade', 'openTrade', 'updateTrade']);
    // a store that has read the old log (it caches by version)
    const live = new PostgresTradeStore({ connectionString: db.url, account: name });
    try {
      expect((await live.getAllTrades()).map((t) => t.id)).toEqual(['T001', 'T002']);
      const { log, bytes } = oddFile();
      const r = await importLog({ pool, account: name, log, replace: true });
      expect(r).toMatchObject({ version: 5, trades: 3, replaced: 2 });

      const events = await eventsOf(name);
      expect(events.slice(0, 4)).toEqual(history); // untouched
      expect(events[4]).toMatchObject({ event_seq: '5', kind: 'import', payload: { result: { version: 5, trades: 3, replaced: 2 } } });
      expect(await accountRow(name)).toMatchObject({ version: '5', rebuilt_at: '5', next_id: '7' });

      expect(JSON.stringify(await live.getLog())).toBe(JSON.stringify(log));
      expect((await exportLog({ pool, account: name })).bytes.equals(bytes)).toBe(true);
      // and writes go on from the imported log: next_id 7, ETH free (T002 is on ÉTH-€)
      const t = await live.openTrade({ symbol: 'ETH', direction: 'LONG', entry_price: 10, stop_price: 9, target_price: 12, size: 1 });
      expect(t.id).toBe('T007');
      expect((await eventsOf(name)).map((e) => Number(e.event_seq))).toEqual([1, 2, 3, 4, 5, 6]);
    } finally {
      await live.close();
    }
  });

  it('the permission to delete closed trades ends with the import transaction', async () => {
    const name = account();
    await accountWithTrades(name);
    await importLog({ pool, account: name, log: { trades: [tradeRecord('T001', { status: 'CLOSED', exit_price: 110, pnl_usd: 10 })], next_id: 2 }, replace: true });
    // every connection of the pool, whichever ran the import
    for (let i = 0; i < 3; i++) {
      await expect(pool.query('DELETE FROM trade_state.trades WHERE account = $1', [name])).rejects.toThrow(/CLOSED: it cannot be deleted/);
    }
    await withClient(db.url, async (c) => {
      await expect(c.query(`UPDATE trade_state.trades SET exit_price = 1 WHERE account = $1`, [name])).rejects.toThrow(/CLOSED/);
    });
  });
});

describe('export to a file', () => {
  it('refuses a log holding trades unless replace, and never touches a missing account', async () => {
    const name = account();
    await importLog({ pool, account: name, log: { trades: [tradeRecord('T001')], next_id: 2 }, settings: RULEBOOK });
    const target = path.join(dir, 'live', 'trade_log.json');
    const existing = serializeLog({ trades: [tradeRecord('T009', { symbol: 'XRP' })], next_id: 10 }).buf;
    writeLog(target, existing);
    await expect(exportAccount({ pool, account: name, tradeLog: target })).rejects.toMatchObject({ code: 'ELOGNOTEMPTY' });
    expect(fs.readFileSync(target).equals(existing)).toBe(true);
    expect(fs.existsSync(path.join(dir, 'live', 'trade-state.json'))).toBe(false);

    const r = await exportAccount({ pool, account: name, tradeLog: target, replace: true });
    expect(r).toMatchObject({ trades: 1, settingsFile: path.join(dir, 'live', 'trade-state.json') });
    expect(JSON.parse(fs.readFileSync(target, 'utf8'))).toEqual({ trades: [tradeRecord('T001')], next_id: 2 });

    // an empty log (what init writes) is filled without replace
    const empty = path.join(dir, 'empty', 'trade_log.json');
    writeLog(empty, serializeLog({ trades: [], next_id: 1 }).buf);
    await exportAccount({ pool, account: name, tradeLog: empty });
    expect(fs.readFileSync(empty).equals(fs.readFileSync(target))).toBe(true);

    await expect(exportAccount({ pool, account: 'no-such-account', tradeLog: path.join(dir, 'x', 'log.json') })).rejects.toMatchObject({
      name: 'AccountError',
      code: 'EACCOUNTMISSING',
    });
    expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
  });

  it('waits for the log lock held by a writer of that log', async () => {
    const name = account();
    await importLog({ pool, account: name, log: { trades: [], next_id: 1 } });
    const target = path.join(dir, 'locked', 'trade_log.json');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    // a bot's process holding the log's lock
    const holder = spawnNode(path.join(FIXTURES, 'lock-child.mjs'), ['hold', path.join(dir, 'locked', 'trade.lock')]);
    try {
      await holder.waitFor('locked');
      await expect(exportAccount({ pool, account: name, tradeLog: target, lockTimeoutMs: 200 })).rejects.toMatchObject({ code: 'ELOCKTIMEOUT' });
      expect(fs.existsSync(target)).toBe(false);
    } finally {
      holder.proc.stdin?.end();
      await holder.exited;
    }
    await exportAccount({ pool, account: name, tradeLog: target, lockTimeoutMs: 200 });
    expect(fs.readFileSync(target, 'utf8')).toBe('{\n  "trades": [],\n  "next_id": 1\n}\n');
  });
});
