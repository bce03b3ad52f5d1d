/**
 * Issue 16, point 1: a rulebook typo never keeps a position from being closed. A broken or
 * conflicting trade-state.json refuses opens (naming the file, the key and the fix) and lets
 * closes, partial closes, updates, status, verify, reconcile and report go on — in a fresh process
 * (a restarted monitor, a cron job) as in a running one — with one warning per process per version
 * of the file.
 */
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { SettingsConflictError, SettingsFileError } from '../src/errors.js';
import { StateReconciler } from '../src/reconcile/state-reconciler.js';
import { buildReport } from '../src/report/index.js';
import { collectWarnings, ROOT, runNode, tempDir } from './helpers.js';
import { fileStores } from './stores.js';
import { tradeRecord } from './trades.js';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

let dir: string;
let log: string;
let settingsFile: string;
/** The TSE_SETTINGS warnings this process gave during the test (real process warnings, not a spy). */
let settingsWarnings: ReturnType<typeof collectWarnings>;
let warnings: string[];

beforeEach(() => {
  dir = tempDir('tse-rulebook-');
  log = path.join(dir, 'trade_log.json');
  settingsFile = path.join(dir, 'trade-state.json');
  const open = (id: string, symbol: string) => tradeRecord(id, { symbol, status: 'OPEN' });
  fs.writeFileSync(log, `${JSON.stringify({ trades: [open('T001', 'AAPL'), open('T002', 'MSFT'), open('T003', 'NVDA')], next_id: 4 }, null, 2)}\n`);
  settingsWarnings = collectWarnings('TSE_SETTINGS');
  warnings = settingsWarnings.messages;
});
afterEach(() => {
  settingsWarnings.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const { store } = fileStores(() => ({ tradeLog: log }));
/** Process warnings are emitted on the next tick: let them land before counting. */
const settled = () => new Promise<void>((r) => setImmediate(r));
const cli = (...args: string[]) => runNode(CLI, ['--log', log, ...args]);
const trade = (id: string) => (JSON.parse(fs.readFileSync(log, 'utf8')) as { trades: { id: string; status: string; stop_price: number; size: number }[] }).trades.find((t) => t.id === id);
const BTC = ['--symbol', 'BTC', '--direction', 'LONG', '--entry', '100', '--stop', '95', '--target', '120', '--size', '1'];

describe('the issue: {"maxPosition": 3} in trade-state.json', () => {
  it('trade-state close T003 --exit 101 closes (exit 0, one warning on stderr); open is refused naming the file, the key and the fix', async () => {
    fs.writeFileSync(settingsFile, '{"maxPosition": 3}\n');
    const close = await cli('close', 'T003', '--exit', '101');
    expect(close.code, close.stderr).toBe(0);
    expect(close.stdout).toMatch(/^closed T003 NVDA LONG @ 101/);
    expect(trade('T003')?.status).toBe('CLOSED');
    expect(close.stderr.match(/^trade-state: warning \(TSE_SETTINGS\): /gm)).toHaveLength(1);
    expect(close.stderr).not.toMatch(/\(node:\d+\)|--trace-warnings/);
    expect(close.stderr).toContain(settingsFile);

    for (const args of [['partial', 'T002', '--fraction', '0.5', '--exit', '102'], ['update', 'T001', '--stop', '97']]) {
      const r = await cli(...args);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(0);
    }
    expect(trade('T002')?.size).toBe(0.5);
    expect(trade('T001')?.stop_price).toBe(97);

    const before = fs.readFileSync(log, 'utf8');
    const open = await cli('--json', 'open', ...BTC);
    expect(open.code).toBe(1);
    const error = (JSON.parse(open.stdout) as { error: Record<string, unknown> }).error;
    expect(error).toMatchObject({ code: 'ESETTINGSFILE', file: settingsFile, key: 'maxPosition' });
    expect(error.message).toContain('did you mean "maxPositions"? Rename it');
    expect(fs.readFileSync(log, 'utf8')).toBe(before);
    const text = await cli('open', ...BTC);
    expect(text.stderr).toMatch(/^trade-state: error \(ESETTINGSFILE\): Settings file .*trade-state\.json is unusable: "maxPosition" is not a setting — did you mean "maxPositions"\?/m);
  });

  it('status shows the problem first (text and --json); verify, reconcile and report go on', async () => {
    fs.writeFileSync(settingsFile, '{"maxPosition": 3}\n');
    const text = await cli('status');
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(/^RULEBOOK PROBLEM \(ESETTINGSFILE\): Settings file .*"maxPosition" is not a setting/);
    expect(lines[1]).toBe('Opens are refused until it is fixed; closes, partial closes and updates go on.');
    expect(lines[2]).toContain('the defaults and the options given');
    const json = await cli('status', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: true,
      rulebook_problem: { code: 'ESETTINGSFILE', file: settingsFile, key: 'maxPosition', message: expect.stringContaining('did you mean "maxPositions"') },
      max_positions: 7, // the default: the file could not be read
    });
    fs.rmSync(settingsFile);
    expect(JSON.parse((await cli('status', '--json')).stdout)).toMatchObject({ rulebook_problem: null });
    fs.writeFileSync(settingsFile, '{"maxPosition": 3}\n');

    expect((await cli('verify')).code).toBe(0);
    const rec = await cli('reconcile', '--state', path.join(dir, 'state'));
    expect(rec.code, rec.stderr).toBe(0);
    expect(rec.stderr).toContain('trade-state: warning (TSE_SETTINGS): ');
    const report = await cli('report', '--out', path.join(dir, 'report.html'));
    expect(report.code, report.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'report.html'), 'utf8')).toContain('its rulebook is unusable (ESETTINGSFILE)');
  });

  it('with an option looser than a sound rulebook (ESETTINGSCONFLICT): close exits 0, open exits 1, status says so', async () => {
    fs.writeFileSync(settingsFile, '{"maxPositions": 3}\n');
    const close = await cli('close', 'T003', '--exit', '101', '--max-positions', '9');
    expect(close.code, close.stderr).toBe(0);
    expect(close.stderr).toContain('Option maxPositions 9 conflicts');
    const open = await cli('--json', 'open', ...BTC, '--max-positions', '9');
    expect(open.code).toBe(1);
    expect(JSON.parse(open.stdout).error).toMatchObject({ code: 'ESETTINGSCONFLICT', field: 'maxPositions', option: '--max-positions' });
    const status = JSON.parse((await cli('status', '--json', '--max-positions', '9')).stdout);
    // the rulebook's own cap, the looser option set aside
    expect(status).toMatchObject({ rulebook_problem: { code: 'ESETTINGSCONFLICT', key: 'maxPositions', file: settingsFile }, max_positions: 3 });
  });
});

describe('the library', () => {
  it('new TradeStore() on a broken rulebook: built, closes/partials/updates/reads go on, opens refused; one warning per version of the file', async () => {
    fs.writeFileSync(settingsFile, '{"maxPosition": 3}\n');
    const a = store({ maxPositions: 4 });
    expect(a.settingsProblem).toBeInstanceOf(SettingsFileError);
    expect(a.settingsProblem).toMatchObject({ code: 'ESETTINGSFILE', file: settingsFile, key: 'maxPosition' });
    // no last good settings in this process: the defaults and the options
    expect(a.settings).toMatchObject({ maxPositions: 4, startingCapital: 5000 });
    await expect(a.closeTrade('T003', { exit_price: 101 })).resolves.toMatchObject({ status: 'CLOSED' });
    await expect(a.partialClose('T002', { fraction: 0.5, exit_price: 102 })).resolves.toBeDefined();
    await expect(a.updateTrade('T001', { stop_price: 97 })).resolves.toMatchObject({ stop_price: 97 });
    await expect(a.equity()).resolves.toBeGreaterThan(5000);
    await expect(a.verifyIntegrity()).resolves.toEqual([]);
    await expect(a.openTrade({ symbol: 'BTC', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 })).rejects.toMatchObject({
      code: 'ESETTINGSFILE',
      key: 'maxPosition',
    });
    const b = store(); // a second store in the same process, on the same version
    await b.updateTrade('T001', { stop_price: 98 });
    await settled();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("the defaults and this process's options, not the rulebook's settings");

    // another broken version: one more warning, however many calls
    fs.writeFileSync(settingsFile, '{"maxPositions": 3, "dialy": -0.01}\n');
    await a.updateTrade('T001', { stop_price: 96 });
    await b.updateTrade('T001', { stop_price: 96.5 });
    await a.getOpenTrades();
    await a.equity();
    await settled();
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toContain('"dialy" is not a setting');

    // fixed: opens go again, no problem left
    fs.writeFileSync(settingsFile, '{"maxPositions": 3}\n');
    await expect(b.openTrade({ symbol: 'BTC', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 })).resolves.toMatchObject({ id: 'T004' });
    expect(b.settingsProblem).toBeNull();
    expect(b.settings.maxPositions).toBe(3);
  });

  it('a running store keeps its last good settings when the file breaks, and says so', async () => {
    fs.writeFileSync(settingsFile, '{"maxPositions": 2, "startingCapital": 8000}\n');
    const s = store();
    expect(s.settings).toMatchObject({ maxPositions: 2, startingCapital: 8000 });
    fs.writeFileSync(settingsFile, '{"maxPositions": 2, "startingCapital": 8000,}\n');
    await s.closeTrade('T003', { exit_price: 99 });
    expect(s.settings).toMatchObject({ maxPositions: 2, startingCapital: 8000 });
    await settled();
    expect(warnings).toEqual([expect.stringContaining('the settings in force before this version')]);
  });

  it('a conflicting option: the store is built and closes; opens get ESETTINGSCONFLICT', async () => {
    fs.writeFileSync(settingsFile, '{"maxPositions": 3}\n');
    const s = store({ maxPositions: 9 });
    expect(s.settingsProblem).toBeInstanceOf(SettingsConflictError);
    await expect(s.closeTrade('T003', { exit_price: 101 })).resolves.toMatchObject({ status: 'CLOSED' });
    await expect(s.openTrade({ symbol: 'BTC', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 })).rejects.toMatchObject({
      code: 'ESETTINGSCONFLICT',
    });
  });

  it('a fresh reconciler builds the derived files on a broken rulebook, with the options, and one warning over several cycles', async () => {
    fs.writeFileSync(settingsFile, '{"startingCapital": 20000, "maxPosition": 3}\n');
    const state = path.join(dir, 'state');
    const rec = new StateReconciler({ tradeLog: log, outputDir: state, startingCapital: 6000 });
    for (let i = 0; i < 3; i++) expect((await rec.reconcile()).ok).toBe(true);
    const equity = JSON.parse(fs.readFileSync(path.join(state, 'equity.json'), 'utf8')) as Record<string, unknown>;
    expect(equity.starting_capital).toBe(6000);
    await settled();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('"maxPosition" is not a setting');
  });

  it('buildReport builds on a broken rulebook, says so under the title and in its result', async () => {
    fs.writeFileSync(settingsFile, '{"maxPosition": 3}\n');
    const r = await buildReport({ tradeLog: log });
    expect(r.settingsProblem).toMatchObject({ code: 'ESETTINGSFILE', key: 'maxPosition' });
    expect(r.html).toContain('its rulebook is unusable (ESETTINGSFILE)');
    await settled();
    expect(warnings).toHaveLength(1);
  });
});
