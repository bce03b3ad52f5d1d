/**
 * Issue 16, point 1 on PostgreSQL: the account's settings column is its rulebook. saveSettings()
 * refuses a broken one, but the column's own check only asks for a JSON object, so a hand-made
 * UPDATE (or an older writer) can store {"maxPosition": 3}. Then, as beside a file log: opens are
 * refused naming the account's column, the key and the fix; closes, updates, status, reconcile
 * and report go on, with one warning per process per version of the rulebook.
 */
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { PostgresLogSource, PostgresTradeStore, reconcilerFor } from '../src/postgres/index.js';
import { buildReport } from '../src/report/index.js';
import { collectWarnings, ROOT, runNode, tempDir } from './helpers.js';
import { freshDatabase, withClient } from './pg.js';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

let db: Awaited<ReturnType<typeof freshDatabase>>;
const closers: (() => Promise<unknown>)[] = [];
/** The TSE_SETTINGS warnings this process gave during the test. */
let settingsWarnings: ReturnType<typeof collectWarnings>;
let warnings: string[] = [];

beforeAll(async () => {
  db = await freshDatabase();
  const s = new PostgresTradeStore({ connectionString: db.url, account: 'migrator' });
  await s.migrate();
  await s.close();
  settingsWarnings = collectWarnings('TSE_SETTINGS');
  warnings = settingsWarnings.messages;
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
  settingsWarnings.clear();
});
afterAll(async () => {
  settingsWarnings.stop();
  await db?.drop();
});

let n = 0;
const settled = () => new Promise<void>((r) => setImmediate(r));
const BTC = { symbol: 'BTC', direction: 'LONG' as const, entry_price: 100, stop_price: 95, target_price: 120, size: 1 };

function pgStore(account: string, options: Record<string, unknown> = {}): PostgresTradeStore {
  const s = new PostgresTradeStore({ connectionString: db.url, account, ...options });
  closers.push(() => s.close());
  return s;
}

/** An account with three open trades, then its rulebook set by hand to `settings` (what saveSettings would refuse). */
async function accountWith(settings: string): Promise<string> {
  const account = `rulebook-${++n}`;
  const s = pgStore(account);
  for (const symbol of ['AAPL', 'MSFT', 'NVDA']) await s.openTrade({ ...BTC, symbol });
  // The library refuses to store a broken rulebook; the database alone does not.
  if (settings.includes('maxPosition"')) await expect(s.saveSettings(JSON.parse(settings) as never)).rejects.toMatchObject({ code: 'ESETTINGSFILE' });
  await withClient(db.url, (c) => c.query('UPDATE trade_state.accounts SET settings = $2::json WHERE account = $1', [account, settings]));
  return account;
}
const cli = (account: string, ...args: string[]) => runNode(CLI, ['--db', db.url, '--account', account, ...args], { TSE_DATABASE_URL: '', TSE_ACCOUNT: '' });

describe('a broken rulebook in the account never blocks a close', () => {
  it('the issue through the CLI: close T003 exits 0 with one warning; open exits 1 naming the column, the key and the fix; status shows it first', async () => {
    const account = await accountWith('{"maxPosition": 3}');
    const close = await cli(account, 'close', 'T003', '--exit', '101');
    expect(close.code, close.stderr).toBe(0);
    expect(close.stdout).toMatch(/^closed T003 NVDA LONG @ 101/);
    expect(close.stderr.match(/^trade-state: warning \(TSE_SETTINGS\): /gm)).toHaveLength(1);
    expect(close.stderr).not.toMatch(/\(node:\d+\)|--trace-warnings/);
    expect((await cli(account, 'update', 'T001', '--stop', '97')).code).toBe(0);
    expect((await cli(account, 'partial', 'T002', '--fraction', '0.5', '--exit', '102')).code).toBe(0);

    const open = await cli(account, '--json', 'open', '--symbol', 'ETH', '--direction', 'LONG', '--entry', '100', '--stop', '95', '--target', '120', '--size', '1');
    expect(open.code).toBe(1);
    const error = (JSON.parse(open.stdout) as { error: Record<string, string> }).error;
    expect(error).toMatchObject({ code: 'ESETTINGSFILE', key: 'maxPosition', file: expect.stringContaining(`postgres account "${account}"`) });
    expect(error.message).toContain('did you mean "maxPositions"? Rename it');

    const status = await cli(account, 'status');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout.split('\n')[0]).toMatch(/^RULEBOOK PROBLEM \(ESETTINGSFILE\): Settings file postgres account/);
    const json = JSON.parse((await cli(account, '--json', 'status')).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ rulebook_problem: { code: 'ESETTINGSFILE', key: 'maxPosition' } });
    expect((await cli(account, 'verify')).code).toBe(0);

    const dir = tempDir('tse-pg-rulebook-');
    const rec = await cli(account, 'reconcile', '--state', path.join(dir, 'state'));
    expect(rec.code, rec.stderr).toBe(0);
    expect(rec.stderr).toContain('trade-state: warning (TSE_SETTINGS): ');
    const report = await cli(account, 'report', '--out', path.join(dir, 'r.html'));
    expect(report.code, report.stderr).toBe(0);
  });

  it('PostgresTradeStore: closes and updates go on, opens refused, one warning per version across stores; fixed, opens go again', async () => {
    const account = await accountWith('{"maxPosition": 3}');
    const a = pgStore(account, { maxPositions: 4 });
    const b = pgStore(account);
    await expect(a.closeTrade('T003', { exit_price: 101 })).resolves.toMatchObject({ status: 'CLOSED' });
    await expect(b.updateTrade('T001', { stop_price: 97 })).resolves.toMatchObject({ stop_price: 97 });
    await expect(a.openTrade({ ...BTC, symbol: 'ETH' })).rejects.toMatchObject({ code: 'ESETTINGSFILE', key: 'maxPosition' });
    expect(a.settingsProblem).toMatchObject({ code: 'ESETTINGSFILE', key: 'maxPosition' });
    expect(a.settings.maxPositions).toBe(4); // the options: this process never had a good rulebook
    await a.getOpenTrades();
    await settled();
    expect(warnings).toHaveLength(1);

    await withClient(db.url, (c) => c.query(`UPDATE trade_state.accounts SET settings = '{"maxPositions": 3, "oops": true}' WHERE account = $1`, [account]));
    await a.updateTrade('T001', { stop_price: 98 });
    await b.updateTrade('T001', { stop_price: 98.5 });
    await settled();
    expect(warnings).toHaveLength(2);

    await b.saveSettings({ maxPositions: 3 });
    await expect(b.openTrade({ ...BTC, symbol: 'ETH' })).resolves.toMatchObject({ id: 'T004' });
    expect(b.settingsProblem).toBeNull();
  });

  it('a conflicting option (the rulebook is sound): closes go on, opens get ESETTINGSCONFLICT', async () => {
    const account = await accountWith('{"maxPositions": 3}');
    const s = pgStore(account, { maxPositions: 9 });
    await expect(s.closeTrade('T003', { exit_price: 101 })).resolves.toMatchObject({ status: 'CLOSED' });
    await expect(s.openTrade({ ...BTC, symbol: 'ETH' })).rejects.toMatchObject({ code: 'ESETTINGSCONFLICT', field: 'maxPositions' });
  });

  it('the reconciler and the report on the account build, with a warning', async () => {
    const account = await accountWith('{"startingCapital": 20000, "maxPosition": 3}');
    const dir = tempDir('tse-pg-rulebook-');
    const rec = reconcilerFor({ connectionString: db.url, account, outputDir: path.join(dir, 'state'), startingCapital: 7000 });
    closers.push(() => rec.close());
    expect((await rec.reconcile()).ok).toBe(true);
    expect((await rec.reconcile()).ok).toBe(true);
    const source = new PostgresLogSource({ connectionString: db.url, account });
    closers.push(() => source.close());
    const r = await buildReport({ source, startingCapital: 7000 });
    expect(r.settingsProblem).toMatchObject({ code: 'ESETTINGSFILE', key: 'maxPosition' });
    expect(r.html).toContain('its rulebook is unusable (ESETTINGSFILE)');
    await settled();
    expect(warnings).toHaveLength(1);
  });
});
