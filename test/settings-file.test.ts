/**
 * One rulebook per log: trade-state.json beside the log holds the risk settings every process on
 * that log enforces. The store, the reconciler, the report and the CLI (a real process, dist/)
 * all read it; an option may be stricter than it, never looser; an edited file applies to the next
 * write of a store already running; a broken file refuses opens and leaves the log untouched.
 */
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { resolveRules, type SettingsInput } from '../src/domain/settings.js';
import { SettingsConflictError, SettingsFileError, ValidationError } from '../src/errors.js';
import { StateReconciler } from '../src/reconcile/state-reconciler.js';
import { buildReport } from '../src/report/index.js';
import { ROOT, runNode, tempDir } from './helpers.js';
import { fileStores } from './stores.js';
import { tradeRecord } from './trades.js';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

let dir: string;
let log: string;
let settingsFile: string;

beforeEach(() => {
  dir = tempDir('tse-settings-file-');
  log = path.join(dir, 'trades', 'trade_log.json');
  settingsFile = path.join(dir, 'trades', 'trade-state.json');
  fs.mkdirSync(path.dirname(log), { recursive: true });
  fs.writeFileSync(log, '{\n  "trades": [],\n  "next_id": 1\n}\n');
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Writes the settings file by rename, as an editor that saves atomically does. */
function writeSettings(data: unknown): void {
  const tmp = `${settingsFile}.tmp`;
  fs.writeFileSync(tmp, typeof data === 'string' ? data : `${JSON.stringify(data, null, 2)}\n`);
  fs.renameSync(tmp, settingsFile);
}
const { store } = fileStores(() => ({ tradeLog: log }));
const cli = (...args: string[]) => runNode(CLI, ['--log', log, '--state', path.join(dir, 'state'), ...args]);
const cliJson = async (...args: string[]) => {
  const r = await cli('--json', ...args);
  return { code: r.code, doc: JSON.parse(r.stdout) as Record<string, any>, stderr: r.stderr };
};
/** Keeps the expected rulebook warnings (TSE_SETTINGS) off the test output; returns the spy. */
const quiet = () => vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
const nowIso = () => new Date().toISOString().replace('Z', '+00:00');

// risk 50 (AAPL) + 40 (MSFT) = 90 USD in tech_megacap: above 1.5 % of 5,000 (75), within the default 4 % (200)
const AAPL = { symbol: 'AAPL', direction: 'LONG' as const, entry_price: 200, stop_price: 190, target_price: 230, size: 5 };
const MSFT = { symbol: 'MSFT', direction: 'LONG' as const, entry_price: 400, stop_price: 390, target_price: 430, size: 4 };
const MSFT_FLAGS = ['--symbol', 'MSFT', '--direction', 'LONG', '--entry', '400', '--stop', '390', '--target', '430', '--size', '4'];

describe('the settings file is the rulebook of every writer', () => {
  it('the MSFT scenario: a store and the CLI on the same log both refuse with CORRELATION_LIMIT', async () => {
    writeSettings({ maxCorrGroupRiskPct: 1.5 });
    const bot = store(); // no options: the log's file decides
    expect(bot.settings.maxCorrGroupRiskPct).toBe(1.5);
    await bot.openTrade(AAPL);
    await expect(bot.openTrade(MSFT)).rejects.toMatchObject({ code: 'CORRELATION_LIMIT', maxCorrGroupRiskPct: 1.5 });

    const before = fs.readFileSync(log, 'utf8');
    const r = await cli('open', ...MSFT_FLAGS);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^trade-state: rejected \(CORRELATION_LIMIT\): /);
    expect(fs.readFileSync(log, 'utf8')).toBe(before);
  });

  it('a looser option refuses opens with ESETTINGSCONFLICT naming the field, both values and the file; a stricter one applies', async () => {
    writeSettings({ maxPositions: 2 });
    quiet();
    const loose = store({ maxPositions: 3 }); // built all the same: its closes must go through (issue 16)
    const err = loose.settingsProblem;
    expect(err).toBeInstanceOf(SettingsConflictError);
    expect(err).toMatchObject({ code: 'ESETTINGSCONFLICT', field: 'maxPositions', value: 3, fileValue: 2, file: settingsFile });
    expect((err as Error).message).toContain(settingsFile);
    expect(loose.settings.maxPositions).toBe(2); // the rulebook's own, the looser option set aside
    await expect(loose.openTrade(AAPL)).rejects.toMatchObject({ code: 'ESETTINGSCONFLICT', field: 'maxPositions' });

    const strict = store({ maxPositions: 1 });
    expect(strict.settings.maxPositions).toBe(1);
    await strict.openTrade(AAPL);
    await expect(strict.openTrade(MSFT)).rejects.toMatchObject({ code: 'POSITION_CAP', maxPositions: 1 });
    expect(store({ maxPositions: 2 }).settings.maxPositions).toBe(2); // equal is fine

    const r = await cliJson('open', ...MSFT_FLAGS, '--max-positions', '3');
    expect(r.code).toBe(1);
    expect(r.doc.error).toMatchObject({ code: 'ESETTINGSCONFLICT', field: 'maxPositions', value: 3, fileValue: 2, file: settingsFile, option: '--max-positions' });
    expect((await cliJson('status', '--max-positions', '1')).doc).toMatchObject({ ok: true, max_positions: 1 });
  });

  const file = {
    startingCapital: 5000,
    maxPositions: 5,
    correlationGroups: { majors: ['BTC', 'ETH'] },
    maxCorrGroupRiskPct: 2,
    assetConsecutiveLossCap: 2,
    drawdownLimits: { daily: -0.02, weekly: -0.05, total: -0.1, warning: -0.03 },
    haltOnDrawdown: true,
  };
  const looser: [string, SettingsInput][] = [
    ['startingCapital', { startingCapital: 4000 }],
    ['startingCapital', { startingCapital: 6000 }],
    ['maxPositions', { maxPositions: 6 }],
    ['correlationGroups', { correlationGroups: { majors: ['BTC'] } }],
    ['correlationGroups', { correlationGroups: { majors: ['BTC', 'ETH'], alts: ['SOL'] } }],
    ['correlationGroups', { correlationGroups: { majors: ['ETH', 'BTC'] } }],
    ['maxCorrGroupRiskPct', { maxCorrGroupRiskPct: 2.5 }],
    ['assetConsecutiveLossCap', { assetConsecutiveLossCap: 0 }],
    ['assetConsecutiveLossCap', { assetConsecutiveLossCap: 3 }],
    ['drawdownLimits.daily', { drawdownLimits: { daily: -0.03 } }],
    ['drawdownLimits.weekly', { drawdownLimits: { weekly: -0.06 } }],
    ['drawdownLimits.total', { drawdownLimits: { total: -0.5 } }],
    ['haltOnDrawdown', { haltOnDrawdown: false }],
  ];
  it.each(looser)('looser %s %j: opens refused', async (field, option) => {
    writeSettings(file);
    quiet();
    const s = store(option);
    expect(s.settingsProblem).toMatchObject({ code: 'ESETTINGSCONFLICT', field });
    await expect(s.openTrade(AAPL)).rejects.toMatchObject({ code: 'ESETTINGSCONFLICT', field });
  });

  const stricterOrEqual: SettingsInput[] = [
    { startingCapital: 5000 },
    { maxPositions: 1 },
    { correlationGroups: { majors: ['BTC', 'ETH'] } },
    { maxCorrGroupRiskPct: 0.5 },
    { assetConsecutiveLossCap: 1 },
    { drawdownLimits: { daily: -0.01, weekly: -0.05, total: -0.02 } },
    { drawdownLimits: { warning: -0.5 } }, // warning only labels equity.json: any value
    { haltOnDrawdown: true },
  ];
  it.each(stricterOrEqual)('stricter or equal %j: in force, the rest from the file', (option) => {
    writeSettings(file);
    const s = store(option);
    const expected = { ...file, ...option, drawdownLimits: { ...file.drawdownLimits, ...option.drawdownLimits } };
    expect(s.settings).toEqual(expected);
  });

  it('a file with the cap off (0) lets an option turn it on; a setting the file leaves out is the default, under the same rule', () => {
    writeSettings({ assetConsecutiveLossCap: 0 });
    expect(store({ assetConsecutiveLossCap: 4 }).settings.assetConsecutiveLossCap).toBe(4);
    quiet();
    expect(store({ maxPositions: 8 }).settingsProblem).toMatchObject({ code: 'ESETTINGSCONFLICT', field: 'maxPositions', fileValue: 7 });
  });

  it('says where each value came from', () => {
    const rules = resolveRules({ maxPositions: 3, drawdownLimits: { weekly: -0.04 } }, null);
    expect(rules.sources).toMatchObject({ maxPositions: { from: 'option' }, 'drawdownLimits.weekly': { from: 'option' }, 'drawdownLimits.daily': { from: 'default' } });
    writeSettings({ drawdownLimits: { daily: -0.01 } });
    expect(store({ maxPositions: 3 }).settings).toMatchObject({ maxPositions: 3, drawdownLimits: { daily: -0.01, weekly: -0.1 } });
  });
});

describe('an edited settings file applies to the next write of a running store', () => {
  it('a lower cap in the file refuses the next open of a store built before the edit', async () => {
    writeSettings({ maxPositions: 5 });
    const bot = store();
    await bot.openTrade(AAPL);
    await bot.openTrade({ ...MSFT, symbol: 'NVDA' });
    writeSettings({ maxPositions: 2 });
    await expect(bot.openTrade({ ...MSFT, symbol: 'BTC' })).rejects.toMatchObject({ code: 'POSITION_CAP', maxPositions: 2 });
    expect(bot.settings.maxPositions).toBe(2);
    writeSettings({ maxPositions: 3 });
    await expect(bot.openTrade({ ...MSFT, symbol: 'BTC' })).resolves.toMatchObject({ id: 'T003' });
  });

  it('a settings file created after writes without one applies to the next open; removed again, the defaults come back', async () => {
    // The store remembers "no file" between writes (one stat each): creating the file must still be seen.
    const bot = store();
    await bot.openTrade(AAPL);
    await bot.closeTrade('T001', { exit_price: 201 });
    writeSettings({ maxPositions: 1 });
    await bot.openTrade({ ...MSFT, symbol: 'NVDA' });
    await expect(bot.openTrade({ ...MSFT, symbol: 'BTC' })).rejects.toMatchObject({ code: 'POSITION_CAP', maxPositions: 1 });
    fs.rmSync(settingsFile);
    await expect(bot.openTrade({ ...MSFT, symbol: 'BTC' })).resolves.toMatchObject({ id: 'T003' });
    expect(bot.settingsProblem).toBeNull();
  });

  it('an edit in place (same inode) is seen too', async () => {
    writeSettings({ maxPositions: 5 });
    const bot = store();
    await bot.openTrade(AAPL);
    fs.writeFileSync(settingsFile, '{"maxPositions": 1}\n');
    await expect(bot.openTrade(MSFT)).rejects.toMatchObject({ code: 'POSITION_CAP', maxPositions: 1 });
  });

  it('a file that now contradicts an option refuses opens; closes still go through, with a warning', async () => {
    writeSettings({ maxPositions: 5 });
    const bot = store({ maxPositions: 4 });
    const t = await bot.openTrade(AAPL);
    writeSettings({ maxPositions: 3 });
    const before = fs.readFileSync(log, 'utf8');
    await expect(bot.openTrade(MSFT)).rejects.toMatchObject({ code: 'ESETTINGSCONFLICT', field: 'maxPositions', value: 4, fileValue: 3 });
    expect(fs.readFileSync(log, 'utf8')).toBe(before);
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    await expect(bot.closeTrade(t.id, { exit_price: 210 })).resolves.toMatchObject({ status: 'CLOSED' });
    expect(warn).toHaveBeenCalledWith(expect.stringContaining(settingsFile), expect.objectContaining({ code: 'TSE_SETTINGS' }));
  });
});

describe('a broken settings file refuses opens, naming the file, and leaves the log untouched', () => {
  const broken: [string, string, string, RegExp][] = [
    ['an unknown key', '{"maxPosition": 5}', 'ESETTINGSFILE', /"maxPosition" is not a setting/],
    ['an unknown drawdown limit', '{"drawdownLimits": {"dialy": -0.01}}', 'ESETTINGSFILE', /"drawdownLimits\.dialy" is not a drawdown limit/],
    ['unparseable JSON', '{"maxPositions": 5,', 'ESETTINGSFILE', /is not valid JSON/],
    ['an empty file', '', 'ESETTINGSFILE', /is not valid JSON/],
    ['not an object', '[5]', 'ESETTINGSFILE', /must hold a JSON object/],
    ['a bad value', '{"maxPositions": 0}', 'EVALIDATION', /Invalid maxPositions: 0 must be a positive integer \(in the settings file /],
  ];
  it.each(broken)('%s: a new store, a running store and the CLI refuse opens; status shows it first', async (_, text, code, message) => {
    writeSettings({ maxPositions: 5 });
    const running = store();
    writeSettings(text);
    quiet();
    const err = store().settingsProblem;
    expect(err).toBeInstanceOf(code === 'EVALIDATION' ? ValidationError : SettingsFileError);
    expect(err).toMatchObject({ code, file: settingsFile });
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(settingsFile);

    const before = fs.readFileSync(log, 'utf8');
    await expect(running.openTrade(AAPL)).rejects.toMatchObject({ code });
    const r = await cliJson('open', ...MSFT_FLAGS);
    expect(r.code).toBe(1);
    expect(r.doc.error).toMatchObject({ code, file: settingsFile });
    expect(fs.readFileSync(log, 'utf8')).toBe(before);
    const status = await cli('status');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^RULEBOOK PROBLEM \\(${code}\\): .*trade-state\\.json`));
  });
});

describe('the reconciler, the report and status judge by the file', () => {
  // today: -75 on 5,000 = -1.5 %: within the default daily limit (-2 %), beyond a file's -1 %
  const losingDay = () =>
    fs.writeFileSync(
      log,
      `${JSON.stringify({
        trades: [
          tradeRecord('T001', { status: 'CLOSED', size: 5, original_size: 5, exit_price: 85, exit_time: nowIso(), exit_reason: 'stop', pnl_usd: -75, pnl_pct: -15, r_multiple: -3 }),
        ],
        next_id: 2,
      })}\n`,
    );

  it('status and open: HALTED by the file\'s daily limit, not the default', async () => {
    losingDay();
    expect((await cliJson('status')).doc).toMatchObject({ halted: false, halt_reason: null });
    writeSettings({ drawdownLimits: { daily: -0.01 } });
    const { code, doc } = await cliJson('status');
    expect(code).toBe(0);
    expect(doc).toMatchObject({ halted: true, equity: 4925 });
    expect(doc.halt_reason).toBe('Daily drawdown -1.5% exceeds -1.0% limit');
    expect((await cli('status')).stdout).toMatch(/Trading\s+HALTED: Daily drawdown -1\.5% exceeds -1\.0% limit/);
    await expect(store().openTrade(AAPL)).rejects.toMatchObject({ code: 'HALTED' });
    expect((await cliJson('open', ...MSFT_FLAGS)).doc.error).toMatchObject({ code: 'HALTED' });

    writeSettings({ drawdownLimits: { daily: -0.01 }, haltOnDrawdown: false });
    const off = await cliJson('status');
    expect(off.doc).toMatchObject({ halted: false, halt_reason: null, drawdown_breach: 'Daily drawdown -1.5% exceeds -1.0% limit' });
  });

  it('the reconciler reads the file every cycle; a broken file or a contradicting option is a warning, not a refusal', async () => {
    losingDay();
    writeSettings({ startingCapital: 10_000 });
    const state = path.join(dir, 'state');
    const rec = new StateReconciler({ tradeLog: log, outputDir: state });
    const equity = () => JSON.parse(fs.readFileSync(path.join(state, 'equity.json'), 'utf8')) as Record<string, unknown>;
    expect((await rec.reconcile()).ok).toBe(true);
    expect(equity()).toMatchObject({ starting_capital: 10_000, current_equity: 9925 });
    writeSettings({ startingCapital: 20_000 });
    expect((await rec.reconcile()).ok).toBe(true);
    expect(equity()).toMatchObject({ starting_capital: 20_000, current_equity: 19_925 });
    writeSettings('{"startingCapital": 30000, "oops": 1}');
    const warnings = quiet();
    // the last good settings (20,000), and a warning
    expect((await rec.reconcile()).ok).toBe(true);
    expect(equity()).toMatchObject({ starting_capital: 20_000, current_equity: 19_925 });
    expect(warnings).toHaveBeenCalledWith(expect.stringContaining('"oops" is not a setting'), expect.objectContaining({ code: 'TSE_SETTINGS' }));
    writeSettings({ startingCapital: 20_000 });
    // a contradicting option: the rulebook's own settings, not the option's capital
    const loose = new StateReconciler({ tradeLog: log, outputDir: state, startingCapital: 5000 });
    expect((await loose.reconcile()).ok).toBe(true);
    expect(equity()).toMatchObject({ starting_capital: 20_000 });
    expect(warnings).toHaveBeenCalledWith(expect.stringContaining('Option startingCapital 5000 conflicts'), expect.anything());
    const r = await cliJson('reconcile', '--capital', '5000');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('trade-state: warning (TSE_SETTINGS): ');
    expect(r.stderr).toContain('Option startingCapital 5000 conflicts');
  });

  it('buildReport takes the starting capital from the file', async () => {
    losingDay();
    writeSettings({ startingCapital: 12_345 });
    const { html } = await buildReport({ tradeLog: log });
    expect(html).toContain('12,345');
    quiet();
    const loose = await buildReport({ tradeLog: log, startingCapital: 5000 });
    expect(loose.settingsProblem).toMatchObject({ code: 'ESETTINGSCONFLICT' });
    expect(loose.html).toContain('12,345');
    expect(loose.html).toContain('its rulebook is unusable (ESETTINGSCONFLICT)');
  });
});

describe('trade-state config and init', () => {
  it('config shows each value and where it came from', async () => {
    const none = await cliJson('config', '--capital', '7000');
    expect(none.code).toBe(0);
    expect(none.doc).toMatchObject({ ok: true, command: 'config', log, settings_file: settingsFile, settings_file_exists: false });
    expect(none.doc.settings).toMatchObject({ startingCapital: 7000, maxPositions: 7 });
    expect(none.doc.sources).toMatchObject({ startingCapital: 'option --capital', maxPositions: 'default' });

    writeSettings({ startingCapital: 7000, maxPositions: 4, drawdownLimits: { daily: -0.01 } });
    const { doc } = await cliJson('config', '--capital', '7000', '--max-positions', '3');
    expect(doc.settings).toMatchObject({ startingCapital: 7000, maxPositions: 3, maxCorrGroupRiskPct: 4, drawdownLimits: { daily: -0.01, weekly: -0.1 } });
    expect(doc.sources).toEqual({
      startingCapital: 'option --capital',
      maxPositions: 'option --max-positions',
      correlationGroups: 'default',
      maxCorrGroupRiskPct: 'default',
      assetConsecutiveLossCap: 'default',
      'drawdownLimits.daily': `file ${settingsFile}`,
      'drawdownLimits.weekly': 'default',
      'drawdownLimits.total': 'default',
      'drawdownLimits.warning': 'default',
      haltOnDrawdown: 'default',
    });
    const text = await cli('config');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^maxPositions\\s+4\\s+file ${settingsFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect(text.stdout).toMatch(/^haltOnDrawdown\s+true\s+default$/m);
    expect((await cli('config', '--max-positions', '5')).stderr).toMatch(/^trade-state: invalid input \(ESETTINGSCONFLICT\): Option maxPositions 5 .* says 4/);
  });

  it('init creates the folder, an empty log and a settings file with every setting in force', async () => {
    const newLog = path.join(dir, 'fresh', 'deep', 'trade_log.json');
    const newSettings = path.join(dir, 'fresh', 'deep', 'trade-state.json');
    const r = await runNode(CLI, ['init', '--log', newLog, '--capital', '8000', '--max-positions', '4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, command: 'init', log: newLog, settings_file: newSettings });
    expect(JSON.parse(fs.readFileSync(newLog, 'utf8'))).toEqual({ trades: [], next_id: 1 });
    const written = JSON.parse(fs.readFileSync(newSettings, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(written)).toEqual([
      'startingCapital', 'maxPositions', 'correlationGroups', 'maxCorrGroupRiskPct', 'assetConsecutiveLossCap', 'drawdownLimits', 'haltOnDrawdown',
    ]);
    expect(written).toMatchObject({ startingCapital: 8000, maxPositions: 4, maxCorrGroupRiskPct: 4, haltOnDrawdown: true });
    const s = store({ tradeLog: newLog });
    expect(s.settings).toMatchObject({ startingCapital: 8000, maxPositions: 4 });
    expect(await s.getAllTrades()).toEqual([]);
    const cfg = JSON.parse((await runNode(CLI, ['config', '--log', newLog, '--json'])).stdout) as { sources: Record<string, string> };
    expect(new Set(Object.values(cfg.sources))).toEqual(new Set([`file ${newSettings}`]));
  });

  it('init refuses (exit 1, naming the path) when the log or the settings file exists, and changes neither', async () => {
    const before = fs.readFileSync(log, 'utf8');
    const a = await runNode(CLI, ['init', '--log', log]);
    expect(a.code).toBe(1);
    expect(a.stderr).toContain(log);
    expect(fs.readFileSync(log, 'utf8')).toBe(before);
    expect(fs.existsSync(settingsFile)).toBe(false);

    fs.rmSync(log);
    writeSettings({ maxPositions: 2 });
    const b = await runNode(CLI, ['init', '--log', log, '--json']);
    expect(b.code).toBe(1);
    expect(JSON.parse(b.stdout)).toMatchObject({ ok: false, command: 'init', error: { code: 'EEXIST', path: settingsFile } });
    expect(fs.existsSync(log)).toBe(false);
    expect(JSON.parse(fs.readFileSync(settingsFile, 'utf8'))).toEqual({ maxPositions: 2 });
  });
});

describe('TradeStore#exists()', () => {
  it('tells a missing log from an empty one; reads still treat missing as empty', async () => {
    const missing = store({ tradeLog: path.join(dir, 'nowhere', 'trade_log.json') });
    expect(await missing.exists()).toBe(false);
    expect(await missing.getAllTrades()).toEqual([]);
    expect(await store().exists()).toBe(true);
  });
});
