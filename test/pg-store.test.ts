// API parity: PostgresTradeStore gives, call for call, what TradeStore gives on a file log — the
// same records (deep-equal and the same JSON text, key order included), the same errors with the
// same codes and fields, the same numbers. Both run the same pure domain; what these tests catch
// is everything around it: the row mapping (key order, unknown fields, numbers through NUMERIC),
// the cache by version, group commit, the settings, the error mapping.
import fs from 'node:fs';
import path from 'node:path';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FileLock, TradeStore } from '../src/index.js';
import { importLog, PostgresTradeStore, RiskRejectedError, TradeNotFoundError, TradeStateConflictError, ValidationError } from '../src/postgres/index.js';
import type { SettingsInput } from '../src/domain/settings.js';
import { sleep, tempDir, warningsDuring } from './helpers.js';
import { storeDatabase } from './pg.js';
import pg from 'pg';

const db = storeDatabase();
let dir: string;
let accounts = 0;

beforeAll(() => {
  dir = tempDir('tse-pg-parity-');
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The calls both stores answer (TradeStore and PostgresTradeStore both fit it). */
interface Api {
  openTrade: TradeStore['openTrade'];
  closeTrade: TradeStore['closeTrade'];
  partialClose: TradeStore['partialClose'];
  updateTrade: TradeStore['updateTrade'];
  updateTradesBatch: TradeStore['updateTradesBatch'];
  getAllTrades: TradeStore['getAllTrades'];
  getOpenTrades: TradeStore['getOpenTrades'];
  getClosedTrades: TradeStore['getClosedTrades'];
  getTrade: TradeStore['getTrade'];
  getOpenSymbols: TradeStore['getOpenSymbols'];
  positionCount: TradeStore['positionCount'];
  nextId: TradeStore['nextId'];
  equity: TradeStore['equity'];
  checkOpen: TradeStore['checkOpen'];
  canOpenPosition: TradeStore['canOpenPosition'];
  verifyIntegrity: TradeStore['verifyIntegrity'];
}

/** A file store and a pg store (its own new account) with the same options and one clock. */
interface Pair {
  file: TradeStore;
  pg: PostgresTradeStore;
  logFile: string;
  account: string;
  options: SettingsInput;
  /** The clock both stores read; set it between calls. */
  clock: { at: Date };
  /** New store objects on the same log and account: what another process would read. `extra`: options on top. */
  reopen(extra?: { lockTimeoutMs?: number }): { file: TradeStore; pg: PostgresTradeStore };
}

function makePair(options: SettingsInput = {}): Pair {
  const account = `parity-${++accounts}`;
  const logFile = path.join(dir, account, 'trade_log.json');
  const clock = { at: new Date('2026-03-02T09:30:00.123Z') };
  const now = (): Date => new Date(clock.at.getTime());
  const make = (extra: { lockTimeoutMs?: number } = {}): { file: TradeStore; pg: PostgresTradeStore } => {
    const pg = db.store(account, { ...options, ...extra, now });
    return { file: new TradeStore({ tradeLog: logFile, ...options, ...extra, now }), pg };
  };
  return { ...make(), logFile, account, options, clock, reopen: make };
}

/** What a call gave: its value, or the error's identity (class, code, field, message, risk details). */
type Outcome = { ok: true; value: unknown } | { ok: false; error: Record<string, unknown> };

async function outcome(call: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: await call() };
  } catch (err) {
    const e = err as Error & { code?: unknown; field?: unknown; details?: unknown; id?: unknown };
    return {
      ok: false,
      error: { name: e.name, code: e.code, field: e.field, id: e.id, message: e.message, details: e.details },
    };
  }
}

/** Runs `call` on the file store, then on the pg store; their outcomes must be equal, JSON text included. */
async function both(p: Pair, call: (s: Api) => Promise<unknown>): Promise<Outcome> {
  const file = await outcome(() => call(p.file));
  const pg = await outcome(() => call(p.pg));
  expect(pg).toEqual(file);
  expect(JSON.stringify(pg)).toBe(JSON.stringify(file));
  return pg;
}

const codeOf = (o: Outcome): unknown => (o.ok ? 'ok' : o.error.code);

/** Every read of both stores, compared; `fresh`: through new store objects too (the rows, not this process's cache). */
async function sameReads(p: Pair, fresh = true): Promise<void> {
  const views: Array<{ file: Api; pg: Api }> = [{ file: p.file, pg: p.pg }];
  if (fresh) views.push(p.reopen());
  for (const v of views) {
    const q: Pair = { ...p, ...v } as Pair;
    await both(q, (s) => s.getAllTrades());
    await both(q, (s) => s.getOpenTrades());
    await both(q, (s) => s.getClosedTrades());
    await both(q, (s) => s.getOpenSymbols());
    await both(q, (s) => s.positionCount());
    await both(q, (s) => s.nextId());
    await both(q, (s) => s.equity());
    await both(q, (s) => s.verifyIntegrity());
    for (const t of await v.file.getAllTrades()) await both(q, (s) => s.getTrade(t.id));
  }
  // The whole log as the file holds it, byte for byte: the account row and its rows are the file.
  const text = fs.existsSync(p.logFile) ? fs.readFileSync(p.logFile, 'utf8') : null;
  if (text !== null) expect(`${JSON.stringify(await p.pg.getLog(), null, 2)}\n`).toBe(text);
}

const btc = { symbol: 'BTC', direction: 'LONG' as const, entry_price: 65000.12, stop_price: 63500.5, target_price: 68000, size: 0.123456789 };
const eth = { symbol: 'ETH', direction: 'LONG' as const, entry_price: 3000, stop_price: 2900, target_price: 3300, size: 0.1 };
const stock = (symbol: string, over: Record<string, unknown> = {}) => ({
  symbol, direction: 'LONG' as const, entry_price: 100, stop_price: 95, target_price: 120, size: 1, ...over,
});

describe('PostgresTradeStore answers as TradeStore does', () => {
  it('every read of an account nobody wrote to yet, as of a missing log', async () => {
    const p = makePair();
    await sameReads(p);
    expect(codeOf(await both(p, (s) => s.getTrade('T001')))).toBe('ETRADENOTFOUND');
    await both(p, (s) => s.canOpenPosition('BTC'));
    await both(p, (s) => s.checkOpen(btc));
    expect(await p.pg.exists()).toBe(false);
  });

  it('opens, trails, partially closes, annotates and closes with the same records and JSON', async () => {
    const p = makePair({ startingCapital: 100_000 });
    const opened1 = await both(p, (s) => s.openTrade({ ...btc, setup_type: 'RSI_Div', grade: 'A', notes: 'n', client_id: 'scan-1' }));
    expect(opened1).toMatchObject({ ok: true, value: { id: 'T001', entry_time: '2026-03-02T09:30:00.123000+00:00' } });
    p.clock.at = new Date('2026-03-02T10:00:00Z');
    await both(p, (s) => s.openTrade({ symbol: 'EURUSD', direction: 'SHORT', entry_price: 1.0834, stop_price: 1.0912, target_price: 1.0701, size: 10000 }));
    await both(p, (s) => s.updateTrade('T001', { stop_price: 64000.25, notes: 'trail', my_bot: { z: 1, a: [1, { b: 2.5 }], m: null } }));
    await both(p, (s) => s.updateTradesBatch([['T001', { grade: 'B' }], ['T002', { setup_type: 'fade', z_last: 'kept' }]]));
    p.clock.at = new Date('2026-03-03T14:15:16.5Z');
    await both(p, (s) => s.partialClose('T001', { fraction: 0.3, exit_price: 66000.7, reason: 'first target' }));
    await both(p, (s) => s.partialClose('T002', { fraction: 0.5, exit_price: 1.0799 }));
    await sameReads(p);
    p.clock.at = new Date('2026-03-04T00:00:00Z');
    await both(p, (s) => s.closeTrade('T001', { exit_price: 67999.99, exit_reason: 'target', lessons: 'patience' }));
    await both(p, (s) => s.closeTrade('T002', { exit_price: 1.0950, exit_reason: 'stop' }));
    // Closed trades still take notes and extension fields.
    await both(p, (s) => s.updateTrade('T001', { notes: 'after the fact', after: { k: [3, 2, 1] } }));
    await sameReads(p);
    expect(p.pg.account).toBe(p.account);
    expect(await p.pg.exists()).toBe(true);
  });

  it('client_id: a retry returns the recorded trade, once; a reuse for another symbol is EVALIDATION client_id', async () => {
    const p = makePair();
    const first = await both(p, (s) => s.openTrade({ ...btc, client_id: 'scan-42' }));
    p.clock.at = new Date('2026-03-05T00:00:00Z'); // a retry later returns the trade as recorded, not a new entry_time
    const again = await both(p, (s) => s.openTrade({ ...btc, client_id: 'scan-42' }));
    expect(again).toEqual(first);
    expect(await p.pg.getAllTrades()).toHaveLength(1);
    const reused = await both(p, (s) => s.openTrade({ ...eth, client_id: 'scan-42' }));
    expect(reused).toMatchObject({ ok: false, error: { name: 'ValidationError', code: 'EVALIDATION', field: 'client_id' } });
    // Closed, the client_id still answers with the trade (now closed), never a second open.
    await both(p, (s) => s.closeTrade('T001', { exit_price: 66000 }));
    const afterClose = await both(p, (s) => s.openTrade({ ...btc, client_id: 'scan-42' }));
    expect(afterClose).toMatchObject({ ok: true, value: { id: 'T001', status: 'CLOSED' } });
    await sameReads(p);
  });

  it('refuses bad input with the same ValidationError, field and message', async () => {
    const p = makePair();
    await both(p, (s) => s.openTrade(btc));
    const cases: Array<[string, (s: Api) => Promise<unknown>]> = [
      ['symbol', (s) => s.openTrade({ ...btc, symbol: '' })],
      ['symbol', (s) => s.openTrade({ ...btc, symbol: ' BTC' })],
      ['direction', (s) => s.openTrade({ ...btc, direction: 'UP' as never })],
      ['entry_price', (s) => s.openTrade({ ...btc, entry_price: Number.NaN })],
      ['entry_price', (s) => s.openTrade({ ...btc, entry_price: Number.POSITIVE_INFINITY })],
      ['stop_price', (s) => s.openTrade({ ...btc, stop_price: 70000 })],
      ['target_price', (s) => s.openTrade({ ...btc, target_price: 1 })],
      ['size', (s) => s.openTrade({ ...btc, size: -1 })],
      ['size', (s) => s.openTrade({ ...btc, size: 0 })],
      ['client_id', (s) => s.openTrade({ ...btc, client_id: '' })],
      ['bogus', (s) => s.openTrade({ ...btc, bogus: 1 } as never)],
      ['exit_price', (s) => s.closeTrade('T001', { exit_price: 0 })],
      ['exit_price', (s) => s.closeTrade('T001', { exit_price: Number.NaN })],
      ['fraction', (s) => s.partialClose('T001', { fraction: 1.5, exit_price: 66000 })],
      ['fraction', (s) => s.partialClose('T001', { fraction: 1, exit_price: 66000 })],
      ['updates', (s) => s.updateTradesBatch('T001' as never)],
      ['notes', (s) => s.updateTrade('T001', { notes: 5 })],
      ['symbol', (s) => s.canOpenPosition('')],
      ['direction', (s) => s.checkOpen({ ...btc, direction: 'DOWN' as never })],
    ];
    for (const [field, call] of cases) {
      const o = await both(p, call);
      expect(o, field).toMatchObject({ ok: false, error: { name: 'ValidationError', code: 'EVALIDATION', field } });
    }
    await expect(p.pg.openTrade({ ...btc, size: -1 })).rejects.toBeInstanceOf(ValidationError);
    for (const field of ['id', 'status', 'entry_price', 'size', 'pnl_usd', 'exit_price', 'client_id', 'partial_exits']) {
      const o = await both(p, (s) => s.updateTrade('T001', { [field]: 1 }));
      expect(o).toMatchObject({ ok: false, error: { code: 'EIMMUTABLEFIELD', field } });
    }
    await sameReads(p);
  });

  it('TradeNotFoundError and TradeStateConflictError, and all-or-nothing batches', async () => {
    const p = makePair();
    await both(p, (s) => s.openTrade(btc));
    for (const call of [
      (s: Api) => s.getTrade('T404'),
      (s: Api) => s.closeTrade('T404', { exit_price: 1 }),
      (s: Api) => s.partialClose('T404', { fraction: 0.5, exit_price: 1 }),
      (s: Api) => s.updateTrade('T404', { notes: 'x' }),
      (s: Api) => s.updateTradesBatch([['T001', { grade: 'C' }], ['T404', { grade: 'C' }]]),
    ]) {
      expect(await both(p, call)).toMatchObject({ ok: false, error: { name: 'TradeNotFoundError', code: 'ETRADENOTFOUND', id: 'T404' } });
    }
    expect((await p.pg.getTrade('T001')).grade).toBeNull(); // the batch changed nothing
    await expect(p.pg.getTrade('T404')).rejects.toBeInstanceOf(TradeNotFoundError);
    await both(p, (s) => s.closeTrade('T001', { exit_price: 66000 }));
    for (const call of [(s: Api) => s.closeTrade('T001', { exit_price: 1 }), (s: Api) => s.partialClose('T001', { fraction: 0.5, exit_price: 1 })]) {
      expect(await both(p, call)).toMatchObject({ ok: false, error: { name: 'TradeStateConflictError', code: 'ETRADESTATE' } });
    }
    await expect(p.pg.closeTrade('T001', { exit_price: 1 })).rejects.toBeInstanceOf(TradeStateConflictError);
    await sameReads(p);
  });

  it('every risk code: DUPLICATE_SYMBOL, POSITION_CAP, CORRELATION_LIMIT, ASSET_LOSS_CAP, with the same details', async () => {
    const p = makePair({ startingCapital: 5000, maxPositions: 3, assetConsecutiveLossCap: 2 });
    await both(p, (s) => s.openTrade({ ...btc, size: 0.001 }));
    expect(codeOf(await both(p, (s) => s.openTrade({ ...btc, size: 0.001 })))).toBe('DUPLICATE_SYMBOL');
    expect(codeOf(await both(p, (s) => s.openTrade({ ...eth, size: 2 })))).toBe('CORRELATION_LIMIT');
    for (let i = 0; i < 2; i++) {
      const t = await both(p, (s) => s.openTrade(stock('TSLA')));
      await both(p, (s) => s.closeTrade((t as { value: { id: string } }).value.id, { exit_price: 96 }));
    }
    expect(codeOf(await both(p, (s) => s.openTrade(stock('TSLA'))))).toBe('ASSET_LOSS_CAP');
    await both(p, (s) => s.openTrade(stock('X1', { entry_price: 10, stop_price: 9, target_price: 12 })));
    await both(p, (s) => s.openTrade(stock('X2', { entry_price: 10, stop_price: 9, target_price: 12 })));
    const cap = await both(p, (s) => s.openTrade(stock('X3', { entry_price: 10, stop_price: 9, target_price: 12 })));
    expect(cap).toMatchObject({ ok: false, error: { name: 'RiskRejectedError', code: 'POSITION_CAP' } });
    await expect(p.pg.openTrade(stock('X3'))).rejects.toBeInstanceOf(RiskRejectedError);
    expect(await both(p, (s) => s.checkOpen(stock('X3')))).toMatchObject({ ok: true, value: { ok: false, code: 'POSITION_CAP' } });
    expect(await both(p, (s) => s.canOpenPosition('BTC'))).toMatchObject({ ok: true, value: { ok: false, code: 'DUPLICATE_SYMBOL' } });
    await sameReads(p);
  });

  it('one instrument key: "btc" beside "BTC", a group and a loss streak in other spellings, the same answers', async () => {
    const p = makePair({ startingCapital: 5000, assetConsecutiveLossCap: 2, correlationGroups: { majors: ['btc', 'Eth'] } });
    await both(p, (s) => s.openTrade({ ...btc, size: 0.001 }));
    const dup = await both(p, (s) => s.openTrade({ ...btc, symbol: 'btc', size: 0.001 }));
    expect(dup).toMatchObject({ ok: false, error: { code: 'DUPLICATE_SYMBOL', details: { symbol: 'btc', openTradeId: 'T001', openSymbol: 'BTC' } } });
    expect(codeOf(await both(p, (s) => s.openTrade({ ...eth, symbol: 'ETH', size: 2 })))).toBe('CORRELATION_LIMIT');
    for (const symbol of ['tsla', 'TSLA']) {
      const t = await both(p, (s) => s.openTrade(stock(symbol)));
      await both(p, (s) => s.closeTrade((t as { value: { id: string } }).value.id, { exit_price: 96 }));
    }
    expect(codeOf(await both(p, (s) => s.openTrade(stock('Tsla'))))).toBe('ASSET_LOSS_CAP');
    expect(await both(p, (s) => s.canOpenPosition(' Btc'))).toMatchObject({ ok: true, value: { ok: false, code: 'DUPLICATE_SYMBOL' } });
    await sameReads(p);
  });

  it('HALTED on a drawdown breach, closes and stop moves still allowed', async () => {
    const p = makePair({ startingCapital: 1000 });
    await both(p, (s) => s.openTrade(stock('NVDA', { entry_price: 100, stop_price: 90, target_price: 130, size: 2 })));
    await both(p, (s) => s.openTrade(stock('AMZN', { entry_price: 100, stop_price: 90, target_price: 130, size: 1 })));
    await both(p, (s) => s.closeTrade('T001', { exit_price: 85 })); // -30 = -3 % today: the daily -2 % is breached
    const halted = await both(p, (s) => s.openTrade(stock('MSFT')));
    expect(halted).toMatchObject({ ok: false, error: { code: 'HALTED' } });
    expect(await both(p, (s) => s.checkOpen(stock('MSFT')))).toMatchObject({ ok: true, value: { ok: false, code: 'HALTED' } });
    expect(codeOf(await both(p, (s) => s.updateTrade('T002', { stop_price: 99 })))).toBe('ok');
    expect(codeOf(await both(p, (s) => s.closeTrade('T002', { exit_price: 101 })))).toBe('ok');
    p.clock.at = new Date('2026-03-20T09:30:00Z'); // another week: the daily and weekly windows moved on
    await both(p, (s) => s.openTrade(stock('MSFT')));
    await sameReads(p);
  });

  it('a rulebook saved on the account applies to every store of it, as trade-state.json does beside a file', async () => {
    const p = makePair();
    fs.mkdirSync(path.dirname(p.logFile), { recursive: true });
    fs.writeFileSync(path.join(path.dirname(p.logFile), 'trade-state.json'), JSON.stringify({ maxPositions: 1 }));
    await p.pg.saveSettings({ maxPositions: 1 });
    await both(p, (s) => s.openTrade(btc));
    expect(codeOf(await both(p, (s) => s.openTrade(eth)))).toBe('POSITION_CAP');
    // A looser option than the rulebook refuses opens, the same way on both (neither store refuses to be
    // built: its closes must go through).
    const loosePg = db.store(p.account, { maxPositions: 5 });
    const file = await outcome(async () => new TradeStore({ tradeLog: p.logFile, maxPositions: 5 }).openTrade(eth));
    const pg = await outcome(() => loosePg.openTrade(eth));
    // The messages differ only in naming the rulebook: the file's path, or the account's settings column.
    expect(file).toMatchObject({ ok: false, error: { code: 'ESETTINGSCONFLICT', field: 'maxPositions' } });
    expect(pg).toMatchObject({ ok: false, error: { code: 'ESETTINGSCONFLICT', field: 'maxPositions', message: expect.stringContaining(`postgres account "${p.account}"`) } });
  });
});

// ------------------------------------------------------------------ the property

const SYMBOLS = ['BTC', 'ETH', 'SOL', 'AAPL', 'TSLA', 'EURUSD'] as const;

type Op =
  | { k: 'open'; symbol: string; short: boolean; entry: number; stop: number; target: number; risk: number; cid: string | null }
  | { k: 'close'; n: number; exit: number }
  | { k: 'partial'; n: number; fraction: number; exit: number }
  | { k: 'update'; n: number; stop: number | null; notes: string | null; ext: boolean }
  | { k: 'batch'; ns: number[] }
  | { k: 'burst'; symbols: string[] }
  | { k: 'tick'; minutes: number }
  | { k: 'bad'; which: number };

const price = fc.double({ min: 0.5, max: 70_000, noNaN: true, noDefaultInfinity: true });
const pct = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
/** Which trade a call names: the n-th of the log, modulo its length (-1: an id that does not exist). */
const tradeNo = fc.oneof({ weight: 9, arbitrary: fc.nat(50) }, { weight: 1, arbitrary: fc.constant(-1) });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant('open' as const),
      symbol: fc.constantFrom(...SYMBOLS),
      short: fc.boolean(),
      entry: price,
      stop: pct(0.002, 0.2),
      target: pct(0.002, 0.5),
      // the trade's risk as a share of the starting capital: up to 8 %, so the correlation limit (4 %) and a halt are in reach
      risk: pct(0.0005, 0.08),
      cid: fc.option(fc.constantFrom('c1', 'c2', 'c3'), { freq: 3 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('close' as const), n: tradeNo, exit: pct(0.7, 1.4) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('partial' as const), n: tradeNo, fraction: pct(0.05, 0.95), exit: pct(0.7, 1.4) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('update' as const), n: tradeNo, stop: fc.option(pct(0.5, 1.2)), notes: fc.option(fc.string({ maxLength: 8 })), ext: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('batch' as const), ns: fc.array(tradeNo, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('burst' as const), symbols: fc.array(fc.constantFrom(...SYMBOLS), { minLength: 2, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('tick' as const), minutes: fc.integer({ min: 1, max: 3 * 24 * 60 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('bad' as const), which: fc.integer({ min: 0, max: 3 }) }) },
);

function openOf(op: Extract<Op, { k: 'open' }>, capital: number) {
  const sign = op.short ? -1 : 1;
  return {
    symbol: op.symbol,
    direction: op.short ? ('SHORT' as const) : ('LONG' as const),
    entry_price: op.entry,
    stop_price: op.entry * (1 - sign * op.stop),
    target_price: op.entry * (1 + sign * op.target),
    size: (op.risk * capital) / (op.entry * op.stop),
    ...(op.cid !== null && { client_id: op.cid }),
  };
}

/** One step on both stores; every call's outcome must match. Prices of closes are relative to the trade's entry. */
async function step(p: Pair, op: Op): Promise<void> {
  const trades = await p.file.getAllTrades();
  const idOf = (n: number): string => (n < 0 || trades.length === 0 ? 'T999' : (trades[n % trades.length] as { id: string }).id);
  const entryOf = (n: number): number => trades.find((t) => t.id === idOf(n))?.entry_price ?? 100;
  switch (op.k) {
    case 'open':
      await both(p, (s) => s.openTrade(openOf(op, p.options.startingCapital ?? 5000)));
      return;
    case 'close': {
      const exit = entryOf(op.n) * op.exit;
      await both(p, (s) => s.closeTrade(idOf(op.n), { exit_price: exit, exit_reason: 'prop' }));
      return;
    }
    case 'partial': {
      const exit = entryOf(op.n) * op.exit;
      await both(p, (s) => s.partialClose(idOf(op.n), { fraction: op.fraction, exit_price: exit }));
      return;
    }
    case 'update': {
      const patch: Record<string, unknown> = { notes: op.notes };
      if (op.stop !== null) patch.stop_price = entryOf(op.n) * op.stop;
      if (op.ext) patch.bot_state = { step: op.n, tags: ['b', 'a'] };
      await both(p, (s) => s.updateTrade(idOf(op.n), patch));
      return;
    }
    case 'batch':
      await both(p, (s) => s.updateTradesBatch(op.ns.map((n) => [idOf(n), { grade: `g${n}` }] as const)));
      return;
    case 'burst': {
      // Concurrent calls: each store groups them its own way; arrival order decides, so each call's outcome is the same.
      const run = (s: Api) => Promise.all(op.symbols.map((symbol) => outcome(() => s.openTrade(stock(symbol)))));
      const file = await run(p.file);
      const pg = await run(p.pg);
      expect(pg).toEqual(file);
      expect(JSON.stringify(pg)).toBe(JSON.stringify(file));
      return;
    }
    case 'tick':
      p.clock.at = new Date(p.clock.at.getTime() + op.minutes * 60_000);
      return;
    case 'bad': {
      const bad = [
        (s: Api) => s.openTrade({ ...stock('BAD'), size: Number.NaN }),
        (s: Api) => s.closeTrade('T001', { exit_price: -1 }),
        (s: Api) => s.updateTrade('T001', { entry_price: 1 }),
        (s: Api) => s.partialClose('T001', { fraction: 0, exit_price: 1 }),
      ][op.which] as (s: Api) => Promise<unknown>;
      const o = await both(p, bad);
      expect(o.ok).toBe(false);
      return;
    }
  }
}

describe('the same operation list on both backends', () => {
  it('gives the same trades, equity, integrity and the same accept/refuse at every step (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          startingCapital: fc.constantFrom(1_000, 20_000, 100_000),
          maxPositions: fc.integer({ min: 1, max: 4 }),
          assetConsecutiveLossCap: fc.integer({ min: 1, max: 3 }),
        }),
        fc.array(opArb, { minLength: 5, maxLength: 30 }),
        async (options, ops) => {
          const p = makePair(options);
          try {
            for (const op of ops) await step(p, op);
            await sameReads(p);
          } finally {
            await db.closeAll();
          }
        },
      ),
      // Each run is a new account and a new file: a few hundred database writes in all.
      { numRuns: 40 },
    );
  });
});

// ------------------------------------------------- the property, with the lock held elsewhere

/** One call of a held-lock step: an open, or an update or close of the n-th trade. */
type HeldCall = { k: 'open'; symbol: string } | { k: 'update'; n: number } | { k: 'close'; n: number };
/**
 * The log's lock held by another writer (the file's flock by another FileLock; the account row by
 * another connection's open transaction, SELECT ... FOR NO KEY UPDATE) while calls queue behind it.
 * `timeout`: the `early` calls (issued together) wait past their lockTimeoutMs and must fail; the
 * `late` ones arrive halfway through that wait, keep their own deadline, and get the lock once it
 * is released. Otherwise every call waits (30 s) and all of them land once it is released.
 */
type HeldOp = { k: 'held'; timeout: boolean; early: HeldCall[]; late: HeldCall[] };

/** The lockTimeoutMs of the timed-out calls: the late calls keep about half of it once the lock is released. */
const LOCK_MS = 600;

const heldCallArb: fc.Arbitrary<HeldCall> = fc.oneof(
  fc.record({ k: fc.constant('open' as const), symbol: fc.constantFrom(...SYMBOLS) }),
  fc.record({ k: fc.constant('update' as const), n: tradeNo }),
  fc.record({ k: fc.constant('close' as const), n: tradeNo }),
);
const heldArb: fc.Arbitrary<HeldOp> = fc.record({
  k: fc.constant('held' as const),
  timeout: fc.boolean(),
  early: fc.array(heldCallArb, { minLength: 1, maxLength: 2 }),
  late: fc.array(heldCallArb, { minLength: 1, maxLength: 2 }),
});

/** Holds the flock of the file store's lock file, in this process, through a FileLock of its own. */
async function holdFile(p: Pair): Promise<() => Promise<void>> {
  fs.mkdirSync(path.dirname(p.file.lockFile), { recursive: true });
  const lock = new FileLock(p.file.lockFile);
  await lock.lock();
  return async () => {
    lock.unlock();
    lock.close();
  };
}

/** Holds the account's row lock from another connection, in an open transaction (what another host's write does). */
async function holdAccount(p: Pair): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: db.url });
  client.on('error', () => {});
  await client.connect();
  await client.query('INSERT INTO trade_state.accounts (account) VALUES ($1) ON CONFLICT (account) DO NOTHING', [p.account]);
  await client.query('BEGIN');
  await client.query('SELECT 1 FROM trade_state.accounts WHERE account = $1 FOR NO KEY UPDATE', [p.account]);
  return async () => {
    await client.query('ROLLBACK');
    await client.end();
  };
}

/** A LockTimeoutError names the lock (a file's path, or the account): the rest of it must be the same. */
function sameLockNames(o: Outcome, where: string): Outcome {
  if (o.ok || o.error.code !== 'ELOCKTIMEOUT') return o;
  return { ok: false, error: { ...o.error, message: (o.error.message as string).replace(where, '<lock>') } };
}

/** One held-lock step on both stores, the file's first; every call's outcome must match. */
async function heldStep(p: Pair, op: HeldOp): Promise<void> {
  const trades = await p.file.getAllTrades();
  const idOf = (n: number): string => (n < 0 || trades.length === 0 ? 'T999' : (trades[n % trades.length] as { id: string }).id);
  const entryOf = (n: number): number => trades.find((t) => t.id === idOf(n))?.entry_price ?? 100;
  const callOf = (c: HeldCall) => (s: Api): Promise<unknown> =>
    c.k === 'open'
      ? s.openTrade(stock(c.symbol))
      : c.k === 'update'
        ? s.updateTrade(idOf(c.n), { notes: 'held' })
        : s.closeTrade(idOf(c.n), { exit_price: entryOf(c.n) * 1.01 });
  const stores = op.timeout ? p.reopen({ lockTimeoutMs: LOCK_MS }) : { file: p.file, pg: p.pg };
  const run = async (s: Api, hold: () => Promise<() => Promise<void>>): Promise<Outcome[]> => {
    const release = await hold();
    let released = false;
    try {
      const early = op.early.map((c) => outcome(() => callOf(c)(s)));
      if (op.timeout) await sleep(LOCK_MS / 2); // the late calls arrive while the early ones wait
      const late = op.late.map((c) => outcome(() => callOf(c)(s)));
      if (op.timeout) await Promise.all(early); // they time out, the lock still held
      else await sleep(20);
      await release();
      released = true;
      return await Promise.all([...early, ...late]);
    } finally {
      if (!released) await release();
    }
  };
  const file = (await run(stores.file, () => holdFile(p))).map((o) => sameLockNames(o, stores.file.lockFile));
  const pgOutcomes = (await run(stores.pg, () => holdAccount(p))).map((o) => sameLockNames(o, `postgres account "${p.account}"`));
  expect(pgOutcomes).toEqual(file);
  expect(JSON.stringify(pgOutcomes)).toBe(JSON.stringify(file));
  if (op.timeout) {
    // The early calls timed out, each with its own lockTimeoutMs; the late ones did not.
    expect(file.slice(0, op.early.length).map(codeOf)).toEqual(op.early.map(() => 'ELOCKTIMEOUT'));
    expect(file.slice(op.early.length).map(codeOf)).not.toContain('ELOCKTIMEOUT');
  } else {
    expect(file.map(codeOf)).not.toContain('ELOCKTIMEOUT');
  }
}

describe('the same operation list on both backends, with the lock held elsewhere', () => {
  it('lock timeouts and calls queued behind a held lock give the same results and errors on both stores (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ startingCapital: fc.constantFrom(20_000, 100_000), maxPositions: fc.integer({ min: 2, max: 5 }) }),
        fc.array(fc.oneof({ weight: 3, arbitrary: opArb }, { weight: 2, arbitrary: heldArb }), { minLength: 3, maxLength: 8 }),
        async (options, ops) => {
          const p = makePair(options);
          try {
            for (const op of ops) {
              if (op.k === 'held') await heldStep(p, op);
              else await step(p, op);
            }
            await sameReads(p);
          } finally {
            await db.closeAll();
          }
        },
      ),
      // Real lock waits on a real server: each timed-out step waits LOCK_MS on each store.
      { numRuns: 8 },
    );
  }, 180_000);

  it('lockTimeoutMs: Infinity is accepted by both: a call waits for a held lock, then lands', async () => {
    const p = makePair();
    const stores = p.reopen({ lockTimeoutMs: Infinity });
    for (const [s, hold] of [[stores.file, holdFile], [stores.pg, holdAccount]] as const) {
      const release = await hold(p);
      let settled = false;
      const call = outcome(() => s.openTrade(btc)).finally(() => (settled = true));
      await sleep(300);
      expect(settled).toBe(false);
      await release();
      expect(await call).toMatchObject({ ok: true, value: { id: 'T001', symbol: 'BTC' } });
    }
    await sameReads(p);
  });
});

describe('the default integrity warning', () => {
  it('is the same short summary as the file store\'s (at most 2 KB); onIntegrityViolation still gets every violation', async () => {
    const account = `parity-${++accounts}`;
    // 400 closed trades whose pnl_usd has the wrong sign: the database holds them, the integrity check reports them.
    const trades = Array.from({ length: 400 }, (_, i) => ({
      id: `T${String(i + 1).padStart(3, '0')}`, symbol: `S${i}`, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110,
      size: 1, status: 'CLOSED', exit_price: 90, pnl_usd: 10,
    }));
    await importLog({ connectionString: db.url, account, log: { trades, next_id: 401 } as never });
    const warnings = await warningsDuring('TSE_INTEGRITY', () => db.store(account).openTrade(stock('NVDA')));
    expect(warnings).toHaveLength(1);
    const message = warnings[0] as string;
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(2048);
    expect(message).toMatch(new RegExp(`^400 integrity violations in postgres account "${account}" after openTrade: PNL_SIGN_MISMATCH 400; trades T001, `));
    const seen: number[] = [];
    const s = db.store(account, { onIntegrityViolation: (v) => seen.push(v.length) });
    await s.closeTrade('T401', { exit_price: 101 });
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([400]);
  });
});
