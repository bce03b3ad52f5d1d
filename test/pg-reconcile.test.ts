// The reconciler, the report and their commands on a PostgreSQL account: the same derived files
// and the same page as from the equivalent JSON log (one derive code, the rulebook from the
// account), the guards working on a database source, and watch mode waking on NOTIFY and still
// catching up when notifications are lost (poll, and a check on every reconnect of the listener).
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StateReconciler, TradeStore, DERIVED_FILES, type HistoryViolation } from '../src/index.js';
import type { SettingsInput } from '../src/domain/settings.js';
import { LISTENER_APPLICATION_NAME, PostgresLogSource, PostgresTradeStore, reconcilerFor } from '../src/postgres/index.js';
import { buildReport } from '../src/report/index.js';
import { ROOT, runNode, sleep, spawnNode, tempDir, until } from './helpers.js';
import { freshDatabase, ownServer, withClient } from './pg.js';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const NOW = new Date('2026-03-20T12:00:00.000Z');
const RULES: SettingsInput = { startingCapital: 25_000, drawdownLimits: { daily: -0.03, weekly: -0.08, total: -0.15, warning: -0.04 } };

let db: Awaited<ReturnType<typeof freshDatabase>>;
let dir: string;
let n = 0;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  // The CLI and the writer child run the built code (dist/: npm test builds it first).
  if (!fs.existsSync(CLI)) throw new Error('dist/ is missing: run `npx tsc -p tsconfig.build.json` first');
  db = await freshDatabase();
  const s = new PostgresTradeStore({ connectionString: db.url, account: 'migrator' });
  await s.migrate();
  await s.close();
  dir = tempDir('tse-pg-reconcile-');
});

afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
  fs.rmSync(dir, { recursive: true, force: true });
  await db?.drop();
});

function pgStore(account: string, now?: () => Date): PostgresTradeStore {
  const s = new PostgresTradeStore({ connectionString: db.url, account, ...(now && { now }) });
  closers.push(() => s.close());
  return s;
}

function source(account: string, options: Partial<ConstructorParameters<typeof PostgresLogSource>[0]> = {}): PostgresLogSource {
  const s = new PostgresLogSource({ connectionString: db.url, account, ...options });
  closers.push(() => s.close());
  return s;
}

/** The same history of trades, written through both stores, with one clock: opens, partials, closes, updates. */
async function tradeBoth(): Promise<{ account: string; logFile: string }> {
  const account = `acct-${++n}`;
  const logFile = path.join(dir, account, 'trade_log.json');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  // The same rulebook: trade-state.json beside the log, the account's settings column.
  fs.writeFileSync(path.join(path.dirname(logFile), 'trade-state.json'), `${JSON.stringify(RULES, null, 2)}\n`);
  const clock = { at: new Date('2026-03-02T09:30:00.123456Z') };
  const now = (): Date => new Date(clock.at.getTime());
  const file = new TradeStore({ tradeLog: logFile, now });
  const pg = pgStore(account, now);
  await pg.saveSettings(RULES);
  const both = async <T>(f: (s: TradeStore | PostgresTradeStore) => Promise<T>): Promise<void> => {
    const a = await f(file);
    const b = await f(pg);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    clock.at = new Date(clock.at.getTime() + 3_600_000 * 7 + 123);
  };
  const symbols = ['BTC', 'ETH', 'SOL', 'AAPL', 'MSFT', 'EURUSD'];
  for (const [k, symbol] of symbols.entries()) {
    const long = k % 2 === 0;
    await both((s) =>
      s.openTrade({
        symbol,
        direction: long ? 'LONG' : 'SHORT',
        entry_price: 100 + k,
        stop_price: long ? 95 + k : 105 + k,
        target_price: long ? 120 + k : 80 + k,
        size: 1.5 + k / 10,
        setup_type: k % 3 === 0 ? 'breakout' : 'pullback',
        grade: 'B',
        notes: `note ${k} "quoted" ünïcode`,
        client_id: `cid-${k}`,
      }),
    );
  }
  await both((s) => s.partialClose('T001', { fraction: 0.5, exit_price: 110.25, reason: 'first target' }));
  await both((s) => s.updateTrade('T002', { stop_price: 101, lessons: 'trail earlier' }));
  await both((s) => s.closeTrade('T001', { exit_price: 118.5, exit_reason: 'target' }));
  await both((s) => s.closeTrade('T002', { exit_price: 104.75, exit_reason: 'stop' }));
  await both((s) => s.closeTrade('T003', { exit_price: 96.1, exit_reason: 'stop', lessons: 'late entry' }));
  await both((s) => s.partialClose('T004', { fraction: 0.25, exit_price: 99 }));
  await both((s) => s.updateTradesBatch([['T005', { notes: 'batch' }], ['T006', { grade: 'A' }]]));
  await both((s) => s.closeTrade('T005', { exit_price: 99.5 }));
  // The two logs are the same JSON, the premise of every comparison below.
  expect(JSON.stringify(await pg.getLog())).toBe(JSON.stringify(JSON.parse(fs.readFileSync(logFile, 'utf8'))));
  return { account, logFile };
}

function derived(outputDir: string): Record<string, string> {
  return Object.fromEntries(DERIVED_FILES.map((f) => [f, fs.readFileSync(path.join(outputDir, f), 'utf8')]));
}


const closedIn = (outputDir: string): number => {
  try {
    return (JSON.parse(fs.readFileSync(path.join(outputDir, 'equity.json'), 'utf8')) as { total_trades: number }).total_trades;
  } catch {
    return -1;
  }
};
const openIn = (outputDir: string): string[] => {
  try {
    const p = JSON.parse(fs.readFileSync(path.join(outputDir, 'portfolio.json'), 'utf8')) as { open_positions: { symbol: string }[] };
    return p.open_positions.map((x) => x.symbol).sort();
  } catch {
    return [];
  }
};

describe('the reconciler on a database source', () => {
  it('writes byte-identical derived files from an account and from the same log as a JSON file', async () => {
    const { account, logFile } = await tradeBoth();
    const fromFile = path.join(dir, `${account}-state-file`);
    const fromDb = path.join(dir, `${account}-state-db`);
    const r1 = await new StateReconciler({ tradeLog: logFile, outputDir: fromFile, now: () => NOW }).reconcile();
    const rec = reconcilerFor({ connectionString: db.url, account, outputDir: fromDb, now: () => NOW });
    closers.push(() => rec.close());
    const r2 = await rec.reconcile();
    expect(r1.ok && r2.ok).toBe(true);
    expect(r2).toMatchObject({ ok: true, closedTrades: 4, openTrades: 2, invariantViolations: [] });
    expect(derived(fromDb)).toEqual(derived(fromFile));
    // the rulebook came from the account (25,000, not the default capital)
    expect(JSON.parse(derived(fromDb)['equity.json']!).starting_capital).toBe(25_000);
    await rec.close();
  });

  it('an option looser than the account rulebook is a warning, and the files follow the rulebook, as against the settings file', async () => {
    const { account } = await tradeBoth();
    const out = path.join(dir, `${account}-loose`);
    const rec = reconcilerFor({ connectionString: db.url, account, outputDir: out, drawdownLimits: { total: -0.5 } });
    closers.push(() => rec.close());
    expect((await rec.reconcile()).ok).toBe(true);
    // the rulebook's own settings (its 25,000, not the default capital), the looser option set aside
    expect(JSON.parse(fs.readFileSync(path.join(out, 'equity.json'), 'utf8')).starting_capital).toBe(25_000);
    await rec.close();
  });

  it('keeps the history guard: another account with changed closed trades is refused, files kept; a cold re-run of the same account is recognised by its fingerprint', async () => {
    const { account } = await tradeBoth();
    const out = path.join(dir, `${account}-guard`);
    const first = reconcilerFor({ connectionString: db.url, account, outputDir: out, now: () => NOW });
    closers.push(() => first.close());
    expect((await first.reconcile()).ok).toBe(true);
    await first.close();
    const history = path.join(out, '.reconciler-history.json');
    const recorded = JSON.parse(fs.readFileSync(history, 'utf8')) as { trade_log: string; log_sha256: string };
    expect(recorded.trade_log).toMatch(new RegExp(`#${account}$`));
    expect(recorded.trade_log).not.toContain(':postgres@'); // the user, not a password
    const inode = fs.statSync(history).ino;

    // A fresh reconciler (a cron run) on the unchanged account: the serialized log has the
    // recorded fingerprint, so nothing new is recorded (the history file is not rewritten).
    const again = reconcilerFor({ connectionString: db.url, account, outputDir: out, now: () => NOW });
    closers.push(() => again.close());
    expect((await again.reconcile()).ok).toBe(true);
    await again.close();
    expect(fs.statSync(history).ino).toBe(inode);

    // Another account, same ids, T001 closed at another price: its history is not this one's.
    const other = `${account}-rewritten`;
    const s = pgStore(other);
    await s.saveSettings(RULES);
    await s.openTrade({ symbol: 'BTC', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
    await s.closeTrade('T001', { exit_price: 90 });
    const before = derived(out);
    const violations: HistoryViolation[] = [];
    const wrong = reconcilerFor({ connectionString: db.url, account: other, outputDir: out, now: () => NOW, onHistoryViolation: (v) => void violations.push(v) });
    closers.push(() => wrong.close());
    const r = await wrong.reconcile();
    await wrong.close();
    expect(r).toMatchObject({ ok: false, reason: 'HISTORY_GUARD' });
    expect(violations.map((v) => v.kind).sort()).toEqual(['CLOSED_TRADE_CHANGED', 'CLOSED_TRADE_MISSING', 'NEXT_ID_WENT_BACK']);
    expect(derived(out)).toEqual(before);
  });

  it('keeps the count guard: far fewer closed trades than the last reconcile counted is refused', async () => {
    const big = `big-${++n}`;
    const s = pgStore(big);
    for (let k = 0; k < 12; k++) {
      const t = await s.openTrade({ symbol: `S${k}`, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
      await s.closeTrade(t.id, { exit_price: 101 + k });
    }
    const small = `small-${n}`;
    const t = await pgStore(small).openTrade({ symbol: 'X', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
    await pgStore(small).closeTrade(t.id, { exit_price: 110 });
    const out = path.join(dir, `${big}-count`);
    const a = reconcilerFor({ connectionString: db.url, account: big, outputDir: out });
    closers.push(() => a.close());
    expect(await a.reconcile()).toMatchObject({ ok: true, closedTrades: 12 });
    await a.close();
    const counts: number[][] = [];
    const b = reconcilerFor({ connectionString: db.url, account: small, outputDir: out, onCorruption: (p, c) => void counts.push([p, c]) });
    closers.push(() => b.close());
    expect(await b.reconcile()).toMatchObject({ ok: false, reason: 'COUNT_GUARD' });
    await b.close();
    expect(counts).toEqual([[12, 1]]);
    expect(closedIn(out)).toBe(12);
  });
});

describe('watch mode on a database source', () => {
  /** A writer in another process: the built store, its own connection. */
  const writeFromChild = async (account: string, symbol: string): Promise<void> => {
    const script = path.join(dir, 'writer.mjs');
    if (!fs.existsSync(script)) {
      fs.writeFileSync(
        script,
        `import { PostgresTradeStore } from ${JSON.stringify(path.join(ROOT, 'dist', 'postgres', 'index.js'))};
const [url, account, symbol] = process.argv.slice(2);
const s = new PostgresTradeStore({ connectionString: url, account });
await s.openTrade({ symbol, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
await s.close();
console.log('written');
`,
      );
    }
    const r = await runNode(script, [db.url, account, symbol]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('written');
  };

  it('wakes on NOTIFY after a write from another process (no poll, no periodic cycle)', async () => {
    const account = `watch-${++n}`;
    await pgStore(account).openTrade({ symbol: 'AAA', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
    const out = path.join(dir, `${account}-state`);
    const errors: unknown[] = [];
    const rec = new StateReconciler({ source: source(account, { pollMs: Infinity }), outputDir: out, onError: (e) => void errors.push(e) });
    closers.push(() => rec.close());
    rec.start({ watch: true, intervalMs: Infinity, debounceMs: 0 });
    await until('the first cycle', () => openIn(out).join() === 'AAA');
    // the listener is up before the write (else its NOTIFY would have no one to reach)
    await until('the listener', async () => (await listenerPids(db.name)).length === 1);
    await writeFromChild(account, 'BBB');
    await until('the NOTIFY-woken cycle', () => openIn(out).join() === 'AAA,BBB');
    // another account's writes are not ours: they change nothing here
    await writeFromChild(`${account}-other`, 'ZZZ');
    await writeFromChild(account, 'CCC');
    await until('the second NOTIFY-woken cycle', () => openIn(out).join() === 'AAA,BBB,CCC');
    await rec.close();
    expect(await listenerPids(db.name)).toEqual([]); // close() ended the listener's session
    expect(errors).toEqual([]);
  });

  it('catches up by polling the version when notifications never arrive (LISTEN off)', async () => {
    const account = `poll-${++n}`;
    const out = path.join(dir, `${account}-state`);
    const rec = new StateReconciler({ source: source(account, { listen: false, pollMs: 100 }), outputDir: out });
    closers.push(() => rec.close());
    rec.start({ watch: true, intervalMs: Infinity, debounceMs: 0 });
    await until('the first cycle (missing account: empty)', () => closedIn(out) === 0);
    expect(await listenerPids(db.name)).toEqual([]);
    await writeFromChild(account, 'PPP');
    await until('the poll-woken cycle', () => openIn(out).join() === 'PPP');
    await rec.close();
  });

  it('catches up after a write made while the listener was disconnected (a check on reconnect)', async () => {
    const account = `lost-${++n}`;
    const out = path.join(dir, `${account}-state`);
    const errors: unknown[] = [];
    // No poll, no periodic cycle: only the listener and its reconnect can bring the write in.
    const src = source(account, { pollMs: Infinity, reconnectMs: 3000 });
    const rec = new StateReconciler({ source: src, outputDir: out, onError: (e) => void errors.push(e) });
    closers.push(() => rec.close());
    rec.start({ watch: true, intervalMs: Infinity, debounceMs: 0 });
    await until('the first cycle', () => closedIn(out) === 0);
    await until('the listener', async () => (await listenerPids(db.name)).length === 1);
    const [pid] = await listenerPids(db.name);
    await withClient(db.url, (c) => c.query('SELECT pg_terminate_backend($1)', [pid]));
    await until('the listener gone', async () => (await listenerPids(db.name)).length === 0);
    const s = pgStore(account);
    await s.openTrade({ symbol: 'LOST', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
    // The write committed with nobody listening: its NOTIFY is gone for good.
    expect(await listenerPids(db.name)).toEqual([]);
    await until('the cycle after the reconnect', () => openIn(out).join() === 'LOST');
    expect(await listenerPids(db.name)).toHaveLength(1); // listening again
    // and woken by NOTIFY again afterwards
    await s.openTrade({ symbol: 'NEXT', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
    await until('the NOTIFY-woken cycle', () => openIn(out).join() === 'LOST,NEXT');
    await rec.close();
    // the lost connection was reported (once), nothing else
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['EDBUNAVAILABLE']);
  });
});

describe('watch mode across a server restart', () => {
  it('reports the loss once, reconnects with back-off and follows the writes made after the restart', async () => {
    const server = await ownServer();
    closers.push(() => server.destroy());
    const migrator = new PostgresTradeStore({ connectionString: server.url, account: 'restart' });
    await migrator.migrate();
    await migrator.openTrade({ symbol: 'R1', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
    await migrator.close();
    const out = path.join(dir, 'restart-state');
    const errors: unknown[] = [];
    // No poll, no periodic cycle: after the restart only the listener's reconnect can bring writes in.
    const src = new PostgresLogSource({ connectionString: server.url, account: 'restart', pollMs: Infinity, reconnectMs: 50 });
    const rec = new StateReconciler({ source: src, outputDir: out, onError: (e) => void errors.push(e) });
    closers.push(() => rec.close());
    rec.start({ watch: true, intervalMs: Infinity, debounceMs: 0 });
    await until('the first cycle', () => openIn(out).join() === 'R1');
    await until('the listener', async () => (await sessions(server.url)) === 1);
    await server.stop();
    await until('the loss reported', () => errors.length > 0);
    await sleep(500); // several reconnects fail meanwhile: they are not reported again
    await server.start();
    await until('the listener back', async () => (await sessions(server.url)) === 1);
    const writer = new PostgresTradeStore({ connectionString: server.url, account: 'restart' });
    closers.push(() => writer.close());
    await writer.openTrade({ symbol: 'R2', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
    await until('the cycle after the restart', () => openIn(out).join() === 'R1,R2');
    await rec.close();
    expect(errors.map((e) => (e as { code?: string }).code), errors.map((e) => String((e as Error).message)).join(' | ')).toEqual(['EDBUNAVAILABLE']);
  });

  async function sessions(url: string): Promise<number> {
    try {
      return await withClient(url, async (c) => {
        const r = await c.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [LISTENER_APPLICATION_NAME]);
        return r.rows.length;
      });
    } catch {
      return -1;
    }
  }
});

/** The backends of this database's reconciler listeners. */
async function listenerPids(database: string): Promise<number[]> {
  return withClient(db.url, async (c) => {
    const r = await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2', [
      database,
      LISTENER_APPLICATION_NAME,
    ]);
    return r.rows.map((x) => x.pid);
  });
}

describe('the report from a database source', () => {
  it('is the page the same log as a JSON file gives (apart from the name of where it came from)', async () => {
    const { account, logFile } = await tradeBoth();
    const src = source(account);
    const fromDb = await buildReport({ source: src, now: NOW, out: path.join(dir, `${account}.html`) });
    const fromFile = await buildReport({ tradeLog: logFile, now: NOW });
    // named by its account, not by where the database is (issue 20: showConnection asks for that)
    expect(fromDb.html).toContain(src.label);
    expect(fromDb.html).not.toContain(src.name);
    expect(fromDb.html.replace(src.label, 'LOG')).toBe(fromFile.html.replace(path.basename(logFile), 'LOG'));
    expect(fromDb.marks).toEqual(fromFile.marks);
    expect(fromDb.marks.rHistogramBars).toBeGreaterThan(0);
    expect(fs.readFileSync(path.join(dir, `${account}.html`), 'utf8')).toBe(fromDb.html);
  });
});

describe('the CLI with --db', () => {
  /** The derived files without the one time-dependent field (last_updated, the run's clock). */
  const timeless = (outputDir: string): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(derived(outputDir)).map(([f, text]) => [f, JSON.parse(text, (k, v: unknown) => (k === 'last_updated' ? null : v)) as unknown]),
    );

  it('reconcile --db --account writes the files the equivalent log gives', async () => {
    const { account, logFile } = await tradeBoth();
    const viaDb = path.join(dir, `${account}-cli-db`);
    const viaFile = path.join(dir, `${account}-cli-file`);
    const a = await runNode(CLI, ['reconcile', '--db', db.url, '--account', account, '--state', viaDb, '--json']);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    const doc = JSON.parse(a.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({ ok: true, command: 'reconcile', closed_trades: 4, open_trades: 2 });
    expect(doc.account).toBe(account);
    expect(typeof doc.db).toBe('string');
    expect(doc).not.toHaveProperty('log');
    const b = await runNode(CLI, ['reconcile', '--log', logFile, '--state', viaFile, '--json']);
    expect(b.code).toBe(0);
    expect(timeless(viaDb)).toEqual(timeless(viaFile));
  });

  it('takes the database and account from TSE_DATABASE_URL and TSE_ACCOUNT; refuses a missing account', async () => {
    const { account } = await tradeBoth();
    const out = path.join(dir, `${account}-cli-env`);
    const a = await runNode(CLI, ['reconcile', '--state', out], { TSE_DATABASE_URL: db.url, TSE_ACCOUNT: account });
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    expect(closedIn(out)).toBe(4);
    const missing = await runNode(CLI, ['reconcile', '--db', db.url, '--account', 'no-such-account', '--state', out, '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ ok: false, error: { code: 'EACCOUNTMISSING' } });
    expect(closedIn(out)).toBe(4);
  });

  it('reconcile --watch --db follows the account and stops on SIGTERM', async () => {
    const account = `cli-watch-${++n}`;
    const s = pgStore(account);
    await s.openTrade({ symbol: 'W1', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
    const out = path.join(dir, `${account}-state`);
    const c = spawnNode(CLI, ['reconcile', '--watch', '--db', db.url, '--account', account, '--state', out, '--json']);
    try {
      await until('the first cycle', () => c.lines.length >= 1);
      expect(JSON.parse(c.lines[0]!)).toMatchObject({ ok: true, event: 'cycle', open_trades: 1 });
      await s.openTrade({ symbol: 'W2', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
      await until('the watched cycle', () => openIn(out).join() === 'W1,W2');
      c.proc.kill('SIGTERM');
      const exit = await c.exited;
      expect(exit.code).toBe(0);
      expect(c.lines.map((l) => (JSON.parse(l) as { event?: string }).event).at(-1)).toBe('stopped');
    } finally {
      c.proc.kill('SIGKILL');
    }
  });

  it('report --db --account writes the page', async () => {
    const { account } = await tradeBoth();
    const out = path.join(dir, `${account}-cli.html`);
    const r = await runNode(CLI, ['report', '--db', db.url, '--account', account, '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, command: 'report', path: out, account });
    const html = fs.readFileSync(out, 'utf8');
    // the account, not where the database is, unless --show-connection (issue 20)
    expect(html).toContain(`account ${account} (PostgreSQL)`);
    expect(html).not.toContain(`#${account}`);
    expect(html).not.toContain(db.name);
    expect(html).toContain('<svg');
    const shown = await runNode(CLI, ['report', '--db', db.url, '--account', account, '--out', out, '--show-connection']);
    expect(shown.stderr).toBe('');
    expect(fs.readFileSync(out, 'utf8')).toContain(`${db.name}#${account}`);
  });
});
