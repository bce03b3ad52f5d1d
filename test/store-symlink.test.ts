/**
 * A log opened through a symlink (of the log, or of its folder) is the real log: the real folder's
 * rulebook and lock file apply, and a write replaces the real log, never the link.
 */
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { StateReconciler, TradeStore, type TradeLog } from '../src/index.js';
import { lockFileFor, realLogPath } from '../src/io/log-path.js';
import { settingsFileFor } from '../src/io/settings-file.js';
import { tempDir } from './helpers.js';

let dir: string;
let real: string;
let link: string;
const open = (symbol: string) => ({ symbol, direction: 'LONG' as const, entry_price: 100, stop_price: 95, target_price: 110, size: 1 });
const outcome = (p: Promise<{ id: string }>) => p.then((t) => t.id, (e: { code?: string }) => e.code ?? String(e));

beforeEach(() => {
  dir = tempDir('tse-symlink-');
  real = path.join(dir, 'real');
  link = path.join(dir, 'link');
  fs.mkdirSync(real);
  fs.mkdirSync(link);
  fs.writeFileSync(path.join(real, 'trade-state.json'), JSON.stringify({ startingCapital: 100_000, maxPositions: 1 }));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a log opened through a symlink', () => {
  it("follows the real folder's rulebook and lock, and its write keeps the link", async () => {
    const realLog = path.join(real, 'trade_log.json');
    const a = new TradeStore({ tradeLog: realLog });
    expect(await outcome(a.openTrade(open('A')))).toBe('T001');
    const linkedLog = path.join(link, 'trade_log.json');
    fs.symlinkSync(realLog, linkedLog);
    const b = new TradeStore({ tradeLog: linkedLog });
    // The real rulebook's cap of one position refuses the second open.
    expect(b.settings.maxPositions).toBe(1);
    expect(await outcome(b.openTrade(open('B')))).toBe('POSITION_CAP');
    expect(b.tradeLog).toBe(realLog);
    expect(b.settingsFile).toBe(path.join(real, 'trade-state.json'));
    expect(b.lockFile).toBe(path.join(real, 'trade.lock'));
    await a.closeTrade('T001', { exit_price: 101 });
    expect(await outcome(b.openTrade(open('B')))).toBe('T002');
    expect(fs.lstatSync(linkedLog).isSymbolicLink()).toBe(true);
    expect(fs.existsSync(path.join(link, 'trade.lock'))).toBe(false);
    expect(fs.existsSync(path.join(link, 'trade-state.json'))).toBe(false);
    // One log: each store sees the other's writes.
    expect(await outcome(a.openTrade(open('C')))).toBe('POSITION_CAP');
    const onDisk = JSON.parse(fs.readFileSync(realLog, 'utf8')) as TradeLog;
    expect(onDisk.trades.map((t) => t.id)).toEqual(['T001', 'T002']);
    expect((await b.getAllTrades()).map((t) => t.id)).toEqual(['T001', 'T002']);
  });

  it('through a symlinked folder, before the log exists: the log is created in the real folder', async () => {
    fs.rmdirSync(link);
    fs.symlinkSync(real, link);
    const b = new TradeStore({ tradeLog: path.join(link, 'sub', 'trade_log.json') });
    expect(b.tradeLog).toBe(path.join(real, 'sub', 'trade_log.json'));
    await b.openTrade(open('A'));
    expect(fs.existsSync(path.join(real, 'sub', 'trade_log.json'))).toBe(true);
    expect(fs.existsSync(path.join(real, 'sub', 'trade.lock'))).toBe(true);
  });

  it('a dangling log symlink is written through, to the file it names', async () => {
    const target = path.join(real, 'trade_log.json');
    const linkedLog = path.join(link, 'trade_log.json');
    fs.symlinkSync(target, linkedLog);
    const b = new TradeStore({ tradeLog: linkedLog });
    expect(b.tradeLog).toBe(target);
    expect(b.settings.maxPositions).toBe(1);
    await b.openTrade(open('A'));
    expect(fs.lstatSync(linkedLog).isSymbolicLink()).toBe(true);
    expect((JSON.parse(fs.readFileSync(target, 'utf8')) as TradeLog).trades).toHaveLength(1);
  });

  it("the reconciler and the settings file lookup use the real folder's rulebook", async () => {
    const realLog = path.join(real, 'trade_log.json');
    fs.writeFileSync(path.join(real, 'trade-state.json'), JSON.stringify({ startingCapital: 50_000 }));
    fs.symlinkSync(realLog, path.join(link, 'trade_log.json'));
    expect(settingsFileFor(path.join(link, 'trade_log.json'))).toBe(path.join(real, 'trade-state.json'));
    // An option contradicting the real rulebook (another capital) is a conflict, as on the real path:
    // a warning, and the real rulebook's own capital in the derived files.
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const rec = new StateReconciler({ tradeLog: path.join(link, 'trade_log.json'), outputDir: path.join(dir, 'state'), startingCapital: 10_000 });
    expect((await rec.reconcile()).ok).toBe(true);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('Option startingCapital 10000 conflicts'), expect.objectContaining({ code: 'TSE_SETTINGS' }));
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'state', 'equity.json'), 'utf8'))).toMatchObject({ starting_capital: 50_000 });
    warn.mockRestore();
  });
});

describe('lockFileFor: the one default lock path', () => {
  it('is trade.lock beside the real log, or the lock given, resolved', () => {
    expect(lockFileFor('/x/trades/trade_log.json')).toBe('/x/trades/trade.lock');
    expect(lockFileFor('/x/trades/trade_log.json', 'rel/my.lock')).toBe(path.resolve('rel/my.lock'));
  });

  it('is the lock file the store takes, through a symlinked folder too', () => {
    const linkedDir = path.join(dir, 'linked');
    fs.symlinkSync(real, linkedDir);
    const log = path.join(linkedDir, 'trade_log.json');
    expect(new TradeStore({ tradeLog: log }).lockFile).toBe(lockFileFor(realLogPath(log)));
    expect(lockFileFor(realLogPath(log))).toBe(path.join(fs.realpathSync(real), 'trade.lock'));
  });
});
