import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { withLock, type Trade, type TradeLog } from '../src/index.js';
import { EIO, failCommits } from './commit-faults.js';
import { FIXTURES, ROOT, runNode, sleep, spawnNode, tempDir, warningsDuring, wrap } from './helpers.js';
import { fileStores } from './stores.js';

const CHILD = path.join(FIXTURES, 'store-child.mjs');
const execFileP = promisify(execFile);

let dir: string;
let logFile: string;
let lockFile: string;
const { store: mkStore } = fileStores(() => ({ tradeLog: logFile, lockFile, startingCapital: 100_000 }));

const btc = { symbol: 'BTC', direction: 'LONG' as const, entry_price: 65000, stop_price: 63500, target_price: 68000, size: 0.02 };
const readLog = (): TradeLog => JSON.parse(fs.readFileSync(logFile, 'utf8')) as TradeLog;

beforeEach(() => {
  dir = tempDir('tse-store-');
  logFile = path.join(dir, 'trades', 'trade_log.json');
  lockFile = path.join(dir, 'trades', 'trade.lock');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('TradeStore basics', () => {
  it('opens, partially closes and closes with the file in the original format', async () => {
    const store = mkStore({ now: () => new Date('2026-03-14T11:28:53.123Z') });
    expect(await store.getAllTrades()).toEqual([]); // missing log = empty
    const t = await store.openTrade({ ...btc, setup_type: 'RSI_Div', grade: 'A' });
    expect(t.id).toBe('T001');
    expect(t.entry_time).toBe('2026-03-14T11:28:53.123000+00:00');
    const text = fs.readFileSync(logFile, 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
    const p = await store.partialClose('T001', { fraction: 0.5, exit_price: 66000, reason: 'first target' });
    expect(p).toEqual({
      trade_id: 'T001', symbol: 'BTC', direction: 'LONG', size_closed: 0.01, remaining_size: 0.01,
      exit_price: 66000, partial_pnl: 10, entry_price: 65000,
    });
    const closed = await store.closeTrade('T001', { exit_price: 68000, exit_reason: 'target', lessons: 'patience' });
    expect(closed).toMatchObject({ status: 'CLOSED', pnl_usd: 30, pnl_pct: 4.62, r_multiple: 2, lessons: 'patience' });
    expect(readLog()).toMatchObject({ next_id: 2, trades: [{ id: 'T001', status: 'CLOSED', size: 0.01, original_size: 0.02 }] });
    expect(await store.verifyIntegrity()).toEqual([]);
    expect(await store.nextId()).toBe('T002');
  });

  it('retrying openTrade with the same client_id returns the recorded trade instead of a second one', async () => {
    const store = mkStore();
    const a = await store.openTrade({ ...btc, client_id: 'scan-42' });
    const b = await store.openTrade({ ...btc, client_id: 'scan-42' });
    expect(b).toEqual(a);
    expect(readLog().trades).toHaveLength(1);
    expect(readLog().trades[0]?.client_id).toBe('scan-42');
    await expect(store.openTrade({ ...btc, symbol: 'ETH', entry_price: 3000, stop_price: 2900, target_price: 3300, client_id: 'scan-42' }))
      .rejects.toMatchObject({ code: 'EVALIDATION', field: 'client_id' });
  });

  it('returns frozen records, so a caller cannot corrupt the cache', async () => {
    const store = mkStore();
    const t = await store.openTrade(btc);
    expect(Object.isFrozen(t)).toBe(true);
    expect(() => {
      (t as { stop_price: number }).stop_price = 1;
    }).toThrow(TypeError);
  });

  it('sees writes by other processes (the cache is checked against the file)', async () => {
    const a = mkStore();
    const b = mkStore();
    await a.openTrade(btc);
    await b.openTrade({ ...btc, symbol: 'SOL', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
    // a's cached copy is stale now; its next write must build on b's trade.
    const t = await a.openTrade({ ...btc, symbol: 'AAPL', entry_price: 200, stop_price: 190, target_price: 230, size: 1 });
    expect(t.id).toBe('T003');
    expect(readLog().trades.map((x) => x.symbol)).toEqual(['BTC', 'SOL', 'AAPL']);
    // Same size, same inode-recycling trick: rewrite the file with equal-length different bytes.
    const text = fs.readFileSync(logFile, 'utf8').replace('"AAPL"', '"AAPX"');
    fs.writeFileSync(logFile, text);
    expect((await a.getAllTrades()).map((x) => x.symbol)).toEqual(['BTC', 'SOL', 'AAPX']);
  });

  it('reports integrity violations after a write, without blocking it', async () => {
    const seen: Array<{ codes: string[]; operation: string }> = [];
    const store = mkStore({ onIntegrityViolation: (v, ctx) => seen.push({ codes: v.map((x) => x.code), operation: ctx.operation }) });
    await store.openTrade(btc);
    // Another writer (by hand) left two OPEN trades on one symbol.
    const log = readLog();
    fs.writeFileSync(logFile, `${JSON.stringify({ ...log, trades: [...log.trades, { ...log.trades[0], id: 'T009' }], next_id: 10 }, null, 2)}\n`);
    const u = await store.updateTrade('T001', { notes: 'still writes' });
    expect(u.notes).toBe('still writes');
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([{ codes: ['DUPLICATE_OPEN_SYMBOL'], operation: 'updateTrade' }]);
    expect((await store.verifyIntegrity()).map((v) => v.code)).toEqual(['DUPLICATE_OPEN_SYMBOL']);
  });

  it('one instrument key: "btc" beside an open "BTC" is DUPLICATE_SYMBOL; the log keeps each symbol as written', async () => {
    const store = mkStore();
    await store.openTrade({ ...btc, client_id: 'k1' });
    for (const symbol of ['btc', 'Btc']) {
      await expect(store.openTrade({ ...btc, symbol })).rejects.toMatchObject({ name: 'RiskRejectedError', code: 'DUPLICATE_SYMBOL' });
    }
    for (const symbol of ['btc', ' BTC ']) expect(await store.canOpenPosition(symbol)).toMatchObject({ ok: false, code: 'DUPLICATE_SYMBOL' });
    // A retry of the same client_id spelled in another case is the same trade, not a second one.
    expect((await store.openTrade({ ...btc, symbol: 'btc', client_id: 'k1' })).id).toBe('T001');
    await store.openTrade({ ...btc, symbol: 'eth', entry_price: 3000, stop_price: 2990, target_price: 3300 });
    expect(await store.getOpenSymbols()).toEqual(['BTC', 'eth']);
    expect(readLog().trades.map((t) => t.symbol)).toEqual(['BTC', 'eth']);
  });

  it('the default integrity warning is short whatever the count; onIntegrityViolation still gets every violation', async () => {
    // 400 closed trades whose pnl_usd has the wrong sign, written by hand.
    const bad = Array.from({ length: 400 }, (_, i) => ({
      id: `T${String(i + 1).padStart(3, '0')}`, symbol: `S${i}`, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110,
      size: 1, status: 'CLOSED', exit_price: 90, pnl_usd: 10,
    }));
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    fs.writeFileSync(logFile, `${JSON.stringify({ trades: bad, next_id: 401 }, null, 2)}\n`);
    const warnings = await warningsDuring('TSE_INTEGRITY', () => mkStore().openTrade(btc));
    expect(warnings).toHaveLength(1);
    const message = warnings[0] as string;
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(2048);
    expect(message).toMatch(/^400 integrity violations in .*trade_log\.json after openTrade: PNL_SIGN_MISMATCH 400; trades T001, T002, T003, T004, T005, …/);
    const seen: number[] = [];
    await mkStore({ onIntegrityViolation: (v) => seen.push(v.length) }).closeTrade('T401', { exit_price: 66000 });
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([400]);
  });

  it('updateTrade changes mutable fields only; a stop may trail past entry', async () => {
    const store = mkStore();
    await store.openTrade(btc);
    const u = await store.updateTrade('T001', { stop_price: 66000, notes: 'trail', my_bot_tag: { v: 1 } });
    expect(u).toMatchObject({ stop_price: 66000, original_stop: 63500, notes: 'trail', my_bot_tag: { v: 1 } });
    for (const field of ['id', 'status', 'entry_price', 'size', 'pnl_usd', 'exit_price', 'client_id', 'partial_exits']) {
      await expect(store.updateTrade('T001', { [field]: 1 })).rejects.toMatchObject({ code: 'EIMMUTABLEFIELD', field });
    }
    expect(await store.updateTradesBatch([['T001', { grade: 'B' }], ['T001', { setup_type: 'x' }]])).toBe(2);
    await expect(store.updateTradesBatch([['T001', { grade: 'C' }], ['T999', { grade: 'C' }]])).rejects.toMatchObject({
      code: 'ETRADENOTFOUND',
    });
    expect((await store.getTrade('T001')).grade).toBe('B'); // all or nothing
  });
});

describe('risk gateway under the lock', () => {
  it('rejects with each code, naming the numbers', async () => {
    const store = mkStore({ startingCapital: 5000, maxPositions: 3, assetConsecutiveLossCap: 2 });
    await store.openTrade({ ...btc, size: 0.001 });
    await expect(store.openTrade({ ...btc, size: 0.001 })).rejects.toMatchObject({
      code: 'DUPLICATE_SYMBOL',
      name: 'RiskRejectedError',
    });
    // crypto_major: BTC risk 1500 x 0.001 = 1.5; ETH 100 x 2 = 200 > 4 % of 5000 = 200? 201.5 > 200
    await expect(
      store.openTrade({ symbol: 'ETH', direction: 'LONG', entry_price: 3000, stop_price: 2900, target_price: 3300, size: 2 }),
    ).rejects.toMatchObject({ code: 'CORRELATION_LIMIT', message: expect.stringMatching(/201\.50.*200\.00/) });
    for (let i = 0; i < 2; i++) {
      const t = await store.openTrade({ symbol: 'TSLA', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
      await store.closeTrade(t.id, { exit_price: 96 });
    }
    await expect(
      store.openTrade({ symbol: 'TSLA', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 }),
    ).rejects.toMatchObject({ code: 'ASSET_LOSS_CAP' });
    await store.openTrade({ symbol: 'X1', direction: 'LONG', entry_price: 10, stop_price: 9, target_price: 12, size: 1 });
    await store.openTrade({ symbol: 'X2', direction: 'LONG', entry_price: 10, stop_price: 9, target_price: 12, size: 1 });
    await expect(
      store.openTrade({ symbol: 'X3', direction: 'LONG', entry_price: 10, stop_price: 9, target_price: 12, size: 1 }),
    ).rejects.toMatchObject({ code: 'POSITION_CAP', message: expect.stringContaining('3') });
    expect(await store.checkOpen({ symbol: 'X3', direction: 'LONG', entry_price: 10, stop_price: 9, target_price: 12, size: 1 }))
      .toMatchObject({ ok: false, code: 'POSITION_CAP' });
    expect(await store.canOpenPosition('BTC')).toMatchObject({ ok: false, code: 'DUPLICATE_SYMBOL' });
  });

  it('halts new opens on a drawdown breach, still allows closes and stop updates', async () => {
    const store = mkStore({ startingCapital: 1000 });
    const t = await store.openTrade({ symbol: 'NVDA', direction: 'LONG', entry_price: 100, stop_price: 90, target_price: 130, size: 2 });
    const u = await store.openTrade({ symbol: 'AMZN', direction: 'LONG', entry_price: 100, stop_price: 90, target_price: 130, size: 1 });
    await store.closeTrade(t.id, { exit_price: 85 }); // -30 = -3 % today: daily limit -2 % breached
    await expect(
      store.openTrade({ symbol: 'META', direction: 'LONG', entry_price: 10, stop_price: 9, target_price: 12, size: 1 }),
    ).rejects.toMatchObject({ code: 'HALTED', message: expect.stringContaining('Daily drawdown') });
    await store.updateTrade(u.id, { stop_price: 95 });
    await store.partialClose(u.id, { fraction: 0.5, exit_price: 101 });
    await expect(store.closeTrade(u.id, { exit_price: 102 })).resolves.toMatchObject({ status: 'CLOSED' });
    const off = mkStore({ startingCapital: 1000, haltOnDrawdown: false });
    await expect(off.openTrade({ symbol: 'META', direction: 'LONG', entry_price: 10, stop_price: 9, target_price: 12, size: 1 }))
      .resolves.toMatchObject({ symbol: 'META' });
  });

  it('six processes racing for the same symbols never exceed the cap nor open a symbol twice', async () => {
    const symbols = ['BTC', 'AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF', 'GGG'];
    const startAt = Date.now() + 700;
    const runs = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        runNode(CHILD, ['race', logFile, lockFile, String(startAt), ...(i % 2 ? [...symbols].reverse() : symbols)], { TSE_CAP: '5' }),
      ),
    );
    const results = runs.flatMap((r) => {
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.split('\n').map((l) => JSON.parse(l) as { symbol: string; ok?: string; code?: string });
    });
    const wins = results.filter((r) => r.ok);
    expect(wins).toHaveLength(5);
    expect(new Set(wins.map((w) => w.symbol)).size).toBe(5);
    expect(new Set(wins.map((w) => w.ok)).size).toBe(5);
    for (const r of results.filter((x) => !x.ok)) expect(['DUPLICATE_SYMBOL', 'POSITION_CAP']).toContain(r.code);
    const log = readLog();
    expect(log.trades.filter((t) => t.status === 'OPEN')).toHaveLength(5);
    expect(log.trades.map((t) => t.id)).toEqual(['T001', 'T002', 'T003', 'T004', 'T005']);
  });
});

describe('bad input and damaged logs leave the file byte for byte', () => {
  const bad: Array<[string, Record<string, unknown>, string]> = [
    ['NaN price', { ...btc, entry_price: Number.NaN }, 'entry_price'],
    ['Infinity size', { ...btc, size: Number.POSITIVE_INFINITY }, 'size'],
    ['string price', { ...btc, entry_price: '500' }, 'entry_price'],
    ['negative size', { ...btc, size: -1 }, 'size'],
    ['zero price', { ...btc, stop_price: 0 }, 'stop_price'],
    ['stop above entry on a LONG', { ...btc, stop_price: 66000 }, 'stop_price'],
    ['target below entry on a LONG', { ...btc, target_price: 64000 }, 'target_price'],
    ['stop below entry on a SHORT', { ...btc, direction: 'SHORT', stop_price: 64000, target_price: 60000 }, 'stop_price'],
    ['unknown direction', { ...btc, direction: 'long' }, 'direction'],
    ['empty symbol', { ...btc, symbol: '' }, 'symbol'],
  ];

  it.each(bad)('openTrade refuses %s with EVALIDATION naming the field', async (_name, input, field) => {
    const store = mkStore();
    await store.openTrade({ ...btc, symbol: 'ETH', entry_price: 3000, stop_price: 2900, target_price: 3300 });
    const before = fs.readFileSync(logFile);
    const err = await store.openTrade(input as never).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EVALIDATION', field });
    expect((err as Error).message).toContain(field);
    expect(fs.readFileSync(logFile).equals(before)).toBe(true);
  });

  it('refuses bad partial fractions, exit prices, unknown ids and closing a closed trade', async () => {
    const store = mkStore();
    const t = await store.openTrade(btc);
    const before = fs.readFileSync(logFile);
    for (const fraction of [0, 1, 1.5, -0.1, Number.NaN]) {
      await expect(store.partialClose(t.id, { fraction, exit_price: 66000 })).rejects.toMatchObject({ code: 'EVALIDATION', field: 'fraction' });
    }
    await expect(store.closeTrade(t.id, { exit_price: -5 })).rejects.toMatchObject({ code: 'EVALIDATION', field: 'exit_price' });
    await expect(store.closeTrade('T404', { exit_price: 1 })).rejects.toMatchObject({ code: 'ETRADENOTFOUND', message: expect.stringContaining('T404') });
    expect(fs.readFileSync(logFile).equals(before)).toBe(true);
    await store.closeTrade(t.id, { exit_price: 66000 });
    const closed = fs.readFileSync(logFile);
    await expect(store.closeTrade(t.id, { exit_price: 66000 })).rejects.toMatchObject({ code: 'ETRADESTATE', message: expect.stringContaining(t.id) });
    expect(fs.readFileSync(logFile).equals(closed)).toBe(true);
  });

  const damaged: Array<[string, string, RegExp]> = [
    ['truncated', '{\n  "trades": [\n    {"id": "T001", "symbol": "BTC"', /truncated/],
    ['unparseable', '{"trades": [}, "next_id": 2}\n', /unparseable/],
    ['wrong shape', '{"trades": {"T001": {}}, "next_id": 2}\n', /wrong shape/],
    ['empty', '', /empty/],
  ];

  it.each(damaged)('a %s log is refused by every write and read, and never replaced', async (_name, content, reason) => {
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    fs.writeFileSync(logFile, content);
    const store = mkStore();
    const attempts: Array<() => Promise<unknown>> = [
      () => store.openTrade(btc),
      () => store.closeTrade('T001', { exit_price: 1 }),
      () => store.partialClose('T001', { fraction: 0.5, exit_price: 1 }),
      () => store.updateTrade('T001', { notes: 'x' }),
      () => store.updateTradesBatch([['T001', { notes: 'x' }]]),
      () => store.saveRaw({ trades: [], next_id: 1 }),
      () => store.getAllTrades(),
      () => store.getOpenTrades(),
      () => store.verifyIntegrity(),
    ];
    for (const a of attempts) {
      await expect(a()).rejects.toMatchObject({ code: 'ETRADELOGCORRUPT', name: 'TradeLogCorruptError', file: logFile, reason: expect.stringMatching(reason) });
    }
    expect(fs.readFileSync(logFile, 'utf8')).toBe(content);
  });

  it('saveRaw validates the shape and refuses duplicate ids', async () => {
    const store = mkStore();
    await store.openTrade(btc);
    const before = fs.readFileSync(logFile);
    await expect(store.saveRaw({ trades: 'nope' } as never)).rejects.toMatchObject({ code: 'EVALIDATION', field: 'data' });
    const t = readLog().trades[0] as Trade;
    await expect(store.saveRaw({ trades: [t, t], next_id: 2 })).rejects.toMatchObject({ code: 'EVALIDATION' });
    expect(fs.readFileSync(logFile).equals(before)).toBe(true);
    await store.saveRaw({ trades: [{ ...t, notes: 'restored' }], next_id: 5 });
    expect(readLog()).toMatchObject({ next_id: 5, trades: [{ notes: 'restored' }] });
  });
});

describe('compatibility with the original Python writer', () => {
  it('reads, updates and rewrites a Python-style log with nothing lost', async () => {
    const py = {
      trades: [
        {
          id: 'T001', symbol: 'BTC', direction: 'LONG', entry_price: 65000, stop_price: 63500, original_stop: 63500,
          target_price: 68000, size: 0.02, original_size: 0.02, entry_time: '2026-03-14T11:28:53.123456+00:00',
          exit_price: 68000, exit_time: '2026-03-15T09:00:00.000001+00:00', exit_reason: 'target', pnl_usd: 60.0,
          pnl_pct: 4.62, r_multiple: 2.0, status: 'CLOSED', setup_type: 'RSI_Div', grade: 'A', notes: null,
          lessons: 'ok', regime: 'bull', tags: ['a', 'b'],
        },
        {
          id: 'T002', symbol: 'ETH', direction: 'SHORT', entry_price: 3000, stop_price: 3100, original_stop: 3100,
          target_price: 2700, size: 1, original_size: 1, entry_time: '2026-03-16T10:00:00+00:00', exit_price: null,
          exit_time: null, exit_reason: null, pnl_usd: null, pnl_pct: null, r_multiple: null, status: 'OPEN',
          setup_type: 'Breakdown', grade: 'B', notes: 'from python', confidence: 0.7,
        },
      ],
      next_id: 3,
      schema_note: 'kept',
    };
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    // Python's json.dump(indent=2) layout with its float spelling.
    fs.writeFileSync(logFile, JSON.stringify(py, null, 2).replace('"pnl_usd": 60', '"pnl_usd": 60.0').replace('"r_multiple": 2,', '"r_multiple": 2.0,'));
    const store = mkStore();
    expect((await store.getAllTrades()).map((t) => t.id)).toEqual(['T001', 'T002']);
    await store.updateTrade('T002', { stop_price: 3050 });
    const p = await store.partialClose('T002', { fraction: 0.25, exit_price: 2900 });
    expect(p.partial_pnl).toBe(25);
    const t3 = await store.openTrade({ symbol: 'SOL', direction: 'LONG', entry_price: 150, stop_price: 140, target_price: 180, size: 3 });
    expect(t3.id).toBe('T003');
    const after = readLog() as unknown as typeof py;
    expect(after.schema_note).toBe('kept');
    expect(after.trades[0]).toEqual(py.trades[0]);
    expect(after.trades[1]).toMatchObject({ confidence: 0.7, notes: 'from python', stop_price: 3050, original_stop: 3100, size: 0.75 });
    expect(after.next_id).toBe(4);
  });

  it('a Python writer (fcntl.flock, os.replace) and the Node store write one log concurrently', async () => {
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const n = 25;
    const py = new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      execFile('python3', [path.join(FIXTURES, 'py_writer.py'), logFile, lockFile, String(n)], (e, out, err) =>
        resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }),
      );
    });
    const node = runNode(CHILD, ['interop', logFile, lockFile, String(n)]);
    const [p, nd] = await Promise.all([py, node]);
    expect(p.code, p.err).toBe(0);
    expect(nd.code, nd.stderr).toBe(0);
    const pyIds = (JSON.parse(p.out) as { ids: string[] }).ids;
    const nodeIds = (JSON.parse(nd.stdout) as { ids: string[] }).ids;
    const log = readLog();
    expect(log.trades).toHaveLength(2 * n);
    expect(new Set(log.trades.map((t) => t.id)).size).toBe(2 * n);
    expect(log.trades.map((t) => t.id).sort()).toEqual([...pyIds, ...nodeIds].sort());
    expect(log.trades.every((t) => t.status === 'CLOSED')).toBe(true);
    expect(log.trades.filter((t) => t.py_only_field).length).toBe(n); // the Python writer's fields survive Node's rewrites
    expect(log.next_id).toBe(2 * n + 1);
  });
});

describe('crashes and disk faults', () => {
  it('SIGKILL at random moments: the log always parses and keeps every acknowledged trade', async () => {
    const acked = new Map<string, 'open' | 'close'>();
    for (let round = 0; round < 12; round++) {
      const child = spawnNode(CHILD, ['writer', logFile, lockFile], { TSE_CAP: '1000000' });
      // Let it acknowledge something, then kill it at a random moment of its write loop.
      while (child.lines.length === 0 && child.proc.exitCode === null) await sleep(2);
      await sleep(Math.floor(Math.random() * 60));
      child.proc.kill('SIGKILL');
      await child.exited;
      for (const line of child.lines) {
        const m = JSON.parse(line) as { ack: 'open' | 'close'; id: string };
        if (m.ack === 'close' || !acked.has(m.id)) acked.set(m.id, m.ack);
      }
      const log = readLog(); // throws if torn
      const byId = new Map(log.trades.map((t) => [t.id, t]));
      for (const [id, what] of acked) {
        expect(byId.has(id), `acknowledged ${id} lost in round ${round}`).toBe(true);
        if (what === 'close') expect(byId.get(id)?.status).toBe('CLOSED');
      }
      expect(new Set(log.trades.map((t) => t.id)).size).toBe(log.trades.length);
    }
    expect(acked.size).toBeGreaterThan(10);
    // Temp files of killed writers are swept by the next write.
    await mkStore({ maxPositions: 1_000_000 }).openTrade({ symbol: 'LAST', direction: 'LONG', entry_price: 10, stop_price: 9, target_price: 12, size: 1 });
    expect(fs.readdirSync(path.dirname(logFile)).filter((f) => /^trade_log\.json\.tse-\d+-\d+\.tmp$/.test(f))).toEqual([]);
  });

  it('a short write under a file-size limit fails with the system error and leaves the log byte for byte', async () => {
    const store = mkStore({ maxPositions: 1000 });
    // Grow the log to just under 16 KiB, the limit the child runs with: one more trade crosses it.
    for (let i = 0; (fs.statSync(logFile, { throwIfNoEntry: false })?.size ?? 0) < 16_000; i++) {
      await store.openTrade({ symbol: `F${i}`, direction: 'LONG', entry_price: 10, stop_price: 9, target_price: 12, size: 1 });
    }
    const before = fs.readFileSync(logFile);
    expect(before.length).toBeLessThan(16 * 1024);
    // The reproduction: SIGXFSZ ignored, 16 KiB file-size limit. The
    // first write(2) runs short, the next one fails with EFBIG.
    const script = `trap '' XFSZ; ulimit -f 16; "${process.execPath}" "${CHILD}" open-one "${logFile}" "${lockFile}" BIG`;
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = wrap(spawn('bash', ['-c', script], { env: { ...process.env, TSE_CAP: '1000' }, stdio: ['ignore', 'pipe', 'pipe'] }));
      void p.exited.then(({ code }) => resolve({ code, out: p.lines.join('\n') }));
    });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ code: 'EFBIG' });
    expect(fs.readFileSync(logFile).equals(before)).toBe(true);
    expect(temps()).toEqual([]); // the failed temp file was removed
    await mkStore({ maxPositions: 1000 }).openTrade({ symbol: 'AFTER', direction: 'LONG', entry_price: 10, stop_price: 9, target_price: 12, size: 1 });
    expect(JSON.parse(fs.readFileSync(logFile, 'utf8')).trades.at(-1).symbol).toBe('AFTER');
  });

  it('sweeps temp files of killed writers under the lock, and nothing else', async () => {
    const store = mkStore();
    await store.openTrade(btc);
    const d = path.dirname(logFile);
    fs.writeFileSync(path.join(d, 'trade_log.json.tse-99999-7.tmp'), '{"trades": [');
    fs.writeFileSync(path.join(d, 'trade_log.json.bak'), 'mine');
    fs.writeFileSync(path.join(d, 'other.json.tse-1-1.tmp'), 'not the log');
    await store.updateTrade('T001', { notes: 'x' });
    expect(temps()).toEqual([]);
    expect(fs.existsSync(path.join(d, 'trade_log.json.bak'))).toBe(true);
    expect(fs.existsSync(path.join(d, 'other.json.tse-1-1.tmp'))).toBe(true);
  });

  function temps(): string[] {
    return fs.readdirSync(path.dirname(logFile)).filter((f) => /^trade_log\.json\.tse-\d+-\d+\.tmp$/.test(f));
  }

  it('ENOSPC in the middle of the write fails the call and leaves the log as it was', async () => {
    const store = mkStore();
    await store.openTrade(btc);
    const before = fs.readFileSync(logFile);
    const realWrite = fs.writeSync;
    const realWritev = fs.writevSync;
    let calls = 0;
    // The disk fills after the first chunk: a short write, then ENOSPC. The log goes down in the
    // pieces the serializer made (writev), or in one buffer (write) when it joined them.
    const fill = (first: () => number): number => {
      calls++;
      if (calls === 1) return first();
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    };
    (fs as { writeSync: unknown }).writeSync = (fd: number, buf: Buffer, off: number, len: number, pos: number) =>
      fill(() => realWrite(fd, buf, off, Math.min(len, 100), pos));
    (fs as { writevSync: unknown }).writevSync = (fd: number, bufs: Buffer[], pos: number) =>
      fill(() => realWritev(fd, [Buffer.concat(bufs).subarray(0, 100)], pos));
    try {
      await expect(store.openTrade({ ...btc, symbol: 'SOL', entry_price: 100, stop_price: 90, target_price: 130, size: 1 })).rejects.toMatchObject({
        code: 'ENOSPC',
      });
    } finally {
      (fs as { writeSync: unknown }).writeSync = realWrite;
      (fs as { writevSync: unknown }).writevSync = realWritev;
    }
    expect(calls).toBe(2);
    expect(fs.readFileSync(logFile).equals(before)).toBe(true);
    expect(temps()).toEqual([]);
  });

  it('EIO from rename fails the call and leaves the log as it was', async () => {
    const store = mkStore();
    await store.openTrade(btc);
    const before = fs.readFileSync(logFile);
    const commits = failCommits(logFile, { rename: EIO });
    try {
      await expect(store.closeTrade('T001', { exit_price: 66000 })).rejects.toMatchObject({ code: 'EIO', syscall: 'rename', dest: logFile });
    } finally {
      commits.restore();
    }
    expect(fs.readFileSync(logFile).equals(before)).toBe(true);
    expect(temps()).toEqual([]);
    expect((await store.getTrade('T001')).status).toBe('OPEN');
  });

  it('an EIO from fsync fails the call with the system error and leaves the log as it was', async () => {
    const store = mkStore();
    await store.openTrade(btc);
    const before = fs.readFileSync(logFile);
    // The new file's fsync fails (the addon's commit job reports EIO instead of making it).
    const commits = failCommits(logFile, { fsync: EIO });
    try {
      await expect(store.openTrade({ ...btc, symbol: 'SOL', entry_price: 100, stop_price: 90, target_price: 130, size: 1 })).rejects.toMatchObject({
        code: 'EIO',
        syscall: 'fsync',
      });
    } finally {
      commits.restore();
    }
    expect(fs.readFileSync(logFile).equals(before)).toBe(true);
    expect(fs.readdirSync(path.dirname(logFile)).filter((f) => /^trade_log\.json\.tse-\d+-\d+\.tmp$/.test(f))).toEqual([]);
    // The store recovers: the next write builds on the file, not on the failed attempt.
    const t = await store.openTrade({ ...btc, symbol: 'SOL', entry_price: 100, stop_price: 90, target_price: 130, size: 1 });
    expect(t.id).toBe('T002');
  });

  it('a store call inside withLock on the same lock file fails fast instead of deadlocking', async () => {
    const store = mkStore();
    fs.mkdirSync(path.dirname(lockFile), { recursive: true });
    await expect(withLock(lockFile, () => store.openTrade(btc))).rejects.toMatchObject({ code: 'ESELFDEADLOCK' });
  });
});

it('the package root exports what the README documents', async () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
  expect(Object.keys(pkg.exports)).toContain('.');
  const { stdout } = await execFileP(process.execPath, ['-e', "import('trade-state-engine').then(m => console.log(Object.keys(m).sort().join(',')))"], { cwd: ROOT });
  for (const name of ['FileLock', 'withLock', 'TradeStore', 'TradeStateError', 'RiskRejectedError', 'TradeLogCorruptError']) {
    expect(stdout).toContain(name);
  }
});
