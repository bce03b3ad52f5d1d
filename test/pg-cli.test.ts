/**
 * The trade-state command on PostgreSQL (--db, --account, or TSE_DATABASE_URL, TSE_ACCOUNT), as a
 * user runs it: the built CLI in a child process, against the run's real server. migrate, init,
 * the trading commands with the account's rulebook, export/import, and the option combinations
 * refused as usage errors. Every run must also end on its own (the pool ended), or it would hang.
 */
import fs from 'node:fs';
import path from 'node:path';

import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { ROOT, runNode, tempDir, tracedRun } from './helpers.js';
import { freshDatabase } from './pg.js';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

let db: Awaited<ReturnType<typeof freshDatabase>>;
let dir: string;

beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db?.drop();
});
beforeEach(() => {
  dir = tempDir('tse-pg-cli-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** No database from the test runner's own environment: each test says what it gives. */
const NO_ENV = { TSE_DATABASE_URL: '', TSE_ACCOUNT: '' };

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runNode(CLI, args, { ...NO_ENV, ...env });
/** With --db and --account, in --json. */
const onAccount = async (account: string, ...args: string[]) => {
  const r = await cli(['--db', db.url, '--account', account, '--json', ...args]);
  return { code: r.code, doc: parseDoc(r.stdout, r.stderr), stderr: r.stderr };
};
const onFile = async (log: string, ...args: string[]) => {
  const r = await cli(['--log', log, '--json', ...args]);
  return { code: r.code, doc: parseDoc(r.stdout, r.stderr), stderr: r.stderr };
};
function parseDoc(stdout: string, stderr: string): Record<string, any> {
  try {
    return JSON.parse(stdout) as Record<string, any>;
  } catch {
    throw new Error(`not one JSON document: ${stdout}\n${stderr}`);
  }
}

const BTC = ['--symbol', 'BTC', '--direction', 'LONG', '--entry', '65000', '--stop', '63500', '--target', '68000', '--size', '0.02'];
const ETH = ['--symbol', 'ETH', '--direction', 'SHORT', '--entry', '3000', '--stop', '3100', '--target', '2500', '--size', '1'];
const SOL = ['--symbol', 'SOL', '--direction', 'LONG', '--entry', '100', '--stop', '95', '--target', '120', '--size', '3'];

let accounts = 0;
const account = (): string => `cli-${++accounts}`;

describe('migrate', () => {
  it('creates the schema once, then has nothing to do; the answer names the database without its password', async () => {
    const first = await cli(['migrate', '--db', db.url, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const doc = JSON.parse(first.stdout) as Record<string, any>;
    expect(doc).toMatchObject({ ok: true, command: 'migrate', applied: [1, 2, 3], schema_version: 3, latest: 3 });
    const password = new URL(db.url).password;
    if (password !== '') expect(doc.db).not.toContain(password);
    const again = await cli(['migrate', '--db', db.url]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already at version 3, nothing to do/);
    // and from the environment
    const env = await cli(['migrate'], { TSE_DATABASE_URL: db.url });
    expect(env.code, env.stderr).toBe(0);
  });
});

describe('an account through the CLI', () => {
  beforeAll(async () => {
    expect((await cli(['migrate', '--db', db.url])).code).toBe(0);
  });

  it('a missing account is refused like a missing log (exit 1, EACCOUNTMISSING), unless --allow-missing', async () => {
    const name = account();
    for (const args of [['status'], ['verify'], ['config'], ['open', ...BTC], ['close', 'T001', '--exit', '1']]) {
      const r = await onAccount(name, ...args);
      expect(r.code, args[0]).toBe(1);
      expect(r.doc).toMatchObject({ ok: false, error: { code: 'EACCOUNTMISSING', account: name } });
      expect(r.doc.error.message).toContain(`no account "${name}"`);
    }
    const text = await cli(['status', '--db', db.url, '--account', name]);
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/^trade-state: error \(EACCOUNTMISSING\): no account "cli-\d+" in postgres/);
    const allowed = await onAccount(name, 'status', '--allow-missing');
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.doc).toMatchObject({ account: name, positions: [], equity: 5000 });
    // nothing was created by the refusals
    expect((await onAccount(name, 'status')).code).toBe(1);
  });

  it('init creates the account with its rulebook, once; the commands apply it, and give the same answers as on a file log', async () => {
    const name = account();
    const init = await onAccount(name, 'init', '--capital', '10000', '--max-positions', '2');
    expect(init.code, init.stderr).toBe(0);
    expect(init.doc).toMatchObject({ account: name, settings: { startingCapital: 10000, maxPositions: 2 } });
    const again = await onAccount(name, 'init');
    expect(again.code).toBe(1);
    expect(again.doc).toMatchObject({ ok: false, error: { code: 'EACCOUNTEXISTS' } });

    const config = await onAccount(name, 'config');
    expect(config.code, config.stderr).toBe(0);
    expect(config.doc).toMatchObject({
      account: name,
      rulebook_exists: true,
      settings: { startingCapital: 10000, maxPositions: 2 },
      sources: { startingCapital: `account ${name}`, maxPositions: `account ${name}` },
    });
    // an option looser than the rulebook refuses opens, as against a settings file; status says so first
    const looser = await onAccount(name, 'status', '--max-positions', '5');
    expect(looser.code).toBe(0);
    expect(looser.doc).toMatchObject({ rulebook_problem: { code: 'ESETTINGSCONFLICT', key: 'maxPositions' }, max_positions: 2 });
    const looseOpen = await onAccount(name, 'open', ...SOL, '--max-positions', '5');
    expect(looseOpen.code).toBe(1);
    expect(looseOpen.doc.error.code).toBe('ESETTINGSCONFLICT');

    // the same command lines on a file log made by init with the same settings
    const log = path.join(dir, 'trades', 'trade_log.json');
    expect((await onFile(log, 'init', '--capital', '10000', '--max-positions', '2')).code).toBe(0);
    const steps: string[][] = [
      ['open', ...BTC, '--setup', 'RSI', '--grade', 'A', '--client-id', 'k-1'],
      ['open', ...BTC, '--client-id', 'k-1'],
      ['open', ...ETH],
      ['open', ...SOL],
      ['partial', 'T002', '--fraction', '0.5', '--exit', '2900', '--reason', 'scale'],
      ['update', 'T002', '--stop', '3000', '--notes', 'trail', '--set', 'conf=0.8'],
      ['close', 'T001', '--exit', '66000', '--reason', 'target', '--lessons', 'ok'],
      ['open', ...SOL],
      ['close', 'T003', '--exit', '90'],
      ['status'],
      ['verify'],
    ];
    /** What depends on the clock or the backend's place, removed before comparing. */
    const comparable = (doc: Record<string, any>): unknown =>
      JSON.parse(JSON.stringify(doc, (k, v: unknown) => (['log', 'account', 'db', 'entry_time', 'exit_time', 'timestamp'].includes(k) ? undefined : v)));
    for (const step of steps) {
      const a = await onAccount(name, ...step);
      const f = await onFile(log, ...step);
      expect([a.code, comparable(a.doc)], step.join(' ')).toEqual([f.code, comparable(f.doc)]);
    }
    expect((await onAccount(name, 'open', ...SOL)).doc).toMatchObject({ ok: true, trade: { id: 'T004' } });
    // the cap of the rulebook: 2, not the default 7
    expect(await onAccount(name, 'open', ...BTC)).toMatchObject({ code: 1, doc: { error: { code: 'POSITION_CAP' } } });
    const status = await onAccount(name, 'status');
    expect(status.doc).toMatchObject({ account: name, starting_capital: 10000, max_positions: 2 });
    expect(status.doc.positions.map((p: { id: string }) => p.id)).toEqual(['T002', 'T004']);

    // the text answers name the account
    const text = await cli(['verify', '--db', db.url, '--account', name]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^ok: account "${name}" \\(postgres://.*\\): 4 trades \\(2 open\\), no integrity violations$`));
  });

  it('TSE_DATABASE_URL and TSE_ACCOUNT stand for --db and --account; the options win over them', async () => {
    const name = account();
    const other = account();
    expect((await onAccount(name, 'init')).code).toBe(0);
    const env = { TSE_DATABASE_URL: db.url, TSE_ACCOUNT: name };
    const opened = await cli(['open', ...BTC, '--json'], env);
    expect(opened.code, opened.stderr).toBe(0);
    expect(JSON.parse(opened.stdout)).toMatchObject({ trade: { id: 'T001', symbol: 'BTC' } });
    const status = await cli(['status', '--json'], env);
    expect(JSON.parse(status.stdout)).toMatchObject({ account: name, positions: [{ id: 'T001' }] });
    // --account over TSE_ACCOUNT
    const flag = await cli(['status', '--json', '--account', other, '--allow-missing'], env);
    expect(JSON.parse(flag.stdout)).toMatchObject({ account: other, positions: [] });
  });
});

describe('export and import', () => {
  beforeAll(async () => {
    expect((await cli(['migrate', '--db', db.url])).code).toBe(0);
  });

  it('export writes the log and its rulebook; import copies it into another account; the bytes survive the round trip', async () => {
    const a = account();
    const b = account();
    expect((await onAccount(a, 'init', '--capital', '20000')).code).toBe(0);
    expect((await onAccount(a, 'open', ...BTC, '--notes', 'héllo "x"')).code).toBe(0);
    expect((await onAccount(a, 'open', ...ETH)).code).toBe(0);
    expect((await onAccount(a, 'update', 'T001', '--set', 'tags=["a","b"]')).code).toBe(0);
    expect((await onAccount(a, 'close', 'T002', '--exit', '2950')).code).toBe(0);

    const out = path.join(dir, 'out', 'trade_log.json');
    const exported = await onAccount(a, 'export', '--to', out);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.doc).toMatchObject({ account: a, log: out, settings_file: path.join(dir, 'out', 'trade-state.json'), trades: 2 });
    const bytes = fs.readFileSync(out);
    // a log the file commands read as it is, with the account's rulebook beside it
    const fileStatus = await onFile(out, 'status');
    const dbStatus = await onAccount(a, 'status');
    expect(fileStatus.doc.equity).toBe(dbStatus.doc.equity);
    expect(fileStatus.doc.starting_capital).toBe(20000);

    const imported = await onAccount(b, 'import', '--from', out);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.doc).toMatchObject({ account: b, log: out, trades: 2, replaced: 0, settings_file: path.join(dir, 'out', 'trade-state.json') });
    const back = path.join(dir, 'back', 'trade_log.json');
    // --log names the file as well as --to does
    const again = await cli(['export', '--db', db.url, '--account', b, '--log', back]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^exported account "cli-\d+" .*, 2 trades \(version 1\), to .*; its rulebook to /);
    expect(fs.readFileSync(back).equals(bytes)).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'back', 'trade-state.json'), 'utf8')).toBe(fs.readFileSync(path.join(dir, 'out', 'trade-state.json'), 'utf8'));
    expect((await onAccount(b, 'config')).doc.settings.startingCapital).toBe(20000);
  });

  it('import refuses an account with trades unless --replace; export refuses a log with trades unless --replace', async () => {
    const a = account();
    expect((await onAccount(a, 'init')).code).toBe(0);
    expect((await onAccount(a, 'open', ...BTC)).code).toBe(0);
    const src = path.join(dir, 'src', 'trade_log.json');
    fs.mkdirSync(path.dirname(src), { recursive: true });
    fs.writeFileSync(src, '{\n  "trades": [],\n  "next_id": 5\n}\n');

    const refused = await onAccount(a, 'import', '--from', src);
    expect(refused.code).toBe(1);
    expect(refused.doc).toMatchObject({ ok: false, error: { code: 'EACCOUNTNOTEMPTY', account: a } });
    expect(refused.doc.error.message).toContain('already has 1 trade');
    expect((await onAccount(a, 'status')).doc.positions).toHaveLength(1);

    const replaced = await onAccount(a, 'import', '--from', src, '--replace');
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.doc).toMatchObject({ trades: 0, replaced: 1, version: 2 });
    expect((await onAccount(a, 'open', ...ETH)).doc.trade.id).toBe('T005');

    const target = path.join(dir, 'live', 'trade_log.json');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const live = '{\n  "trades": [\n    {\n      "id": "T001",\n      "symbol": "X",\n      "status": "CLOSED"\n    }\n  ],\n  "next_id": 2\n}\n';
    fs.writeFileSync(target, live);
    const no = await onAccount(a, 'export', '--to', target);
    expect(no.code).toBe(1);
    expect(no.doc.error.code).toBe('ELOGNOTEMPTY');
    expect(fs.readFileSync(target, 'utf8')).toBe(live);
    const yes = await onAccount(a, 'export', '--to', target, '--replace');
    expect(yes.code, yes.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(target, 'utf8')).trades.map((t: { id: string }) => t.id)).toEqual(['T005']);
  });

  it('an invalid log is refused and the account stays as it was', async () => {
    const a = account();
    const src = path.join(dir, 'bad', 'trade_log.json');
    fs.mkdirSync(path.dirname(src), { recursive: true });
    fs.writeFileSync(src, '{\n  "trades": [\n    {"id": "T001", "symbol": "BTC"\n');
    const r = await onAccount(a, 'import', '--from', src);
    expect(r.code).toBe(1);
    expect(r.doc.error.code).toBe('ETRADELOGCORRUPT');
    expect((await onAccount(a, 'status')).doc.error.code).toBe('EACCOUNTMISSING');
    const missing = await onAccount(a, 'import', '--from', path.join(dir, 'nope.json'));
    expect(missing.code).toBe(1);
    expect(missing.doc.error.code).toBe('ELOGMISSING'); // as every command refuses a missing log
  });
});

describe('option combinations (usage errors, exit 2) and an unreachable server', () => {
  const usage = async (args: string[], env: NodeJS.ProcessEnv, message: RegExp) => {
    const r = await cli(args, env);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
    expect(r.stderr).toMatch(/^trade-state: usage error \(EUSAGE\): /);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  };

  it('--db with --log (or --lock) is refused, whether --db is an option or TSE_DATABASE_URL', async () => {
    const log = path.join(dir, 'trade_log.json');
    await usage(['status', '--db', db.url, '--account', 'a', '--log', log], {}, /status: --log and --db both name where the log is/);
    await usage(['open', ...BTC, '--db', db.url, '--account', 'a', '--lock', log], {}, /--lock and --db/);
    // TSE_DATABASE_URL with an explicit --log: the option typed wins (test/cli-values.test.ts).
    await usage(['init', '--db', db.url, '--account', 'a', '--log', log], {}, /init: --log and --db/);
  });

  it('--db without an account, --account without --db, and the database commands without --db', async () => {
    await usage(['status', '--db', db.url], {}, /--db needs --account <name> \(or TSE_ACCOUNT\)/);
    await usage(['status'], { TSE_DATABASE_URL: db.url }, /TSE_DATABASE_URL needs --account/);
    await usage(['status', '--account', 'a'], {}, /--account names an account of a database/);
    await usage(['migrate'], {}, /migrate: needs --db <url> \(or TSE_DATABASE_URL\)/);
    await usage(['migrate', '--db', db.url, '--log', 'x.json'], {}, /--log does not apply/);
    await usage(['export', '--to', 'x.json'], {}, /export: needs --db/);
    await usage(['export', '--db', db.url, '--account', 'a'], {}, /export: missing required option --to <file>/);
    await usage(['import', '--db', db.url, '--account', 'a', '--from', 'a.json', '--log', 'b.json'], {}, /give the file once/);
  });

  it('a bad account name is invalid input naming --account; an unreachable server is EDBUNAVAILABLE, exit 1', async () => {
    const bad = await cli(['status', '--db', db.url, '--account', 'no spaces', '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, error: { code: 'EVALIDATION', option: '--account' } });
    const down = await cli(['status', '--db', 'postgres://nobody:secret@127.0.0.1:1/none', '--account', 'a', '--json']);
    expect(down.code).toBe(1);
    const doc = JSON.parse(down.stdout) as { error: { code: string; message: string } };
    expect(doc.error.code).toBe('EDBUNAVAILABLE');
    expect(down.stdout).not.toContain('secret');
  });

  it('the file commands are as before when no database is named (TSE_ACCOUNT alone is ignored)', async () => {
    const log = path.join(dir, 'trade_log.json');
    fs.writeFileSync(log, '{\n  "trades": [],\n  "next_id": 1\n}\n');
    const r = await cli(['status', '--log', log, '--json'], { TSE_ACCOUNT: 'someone' });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ log, positions: [] });
  });
});

describe('the database holds what the CLI wrote', () => {
  it('one event per accepted write, none for a refused one', async () => {
    expect((await cli(['migrate', '--db', db.url])).code).toBe(0);
    const a = account();
    expect((await onAccount(a, 'init', '--max-positions', '1')).code).toBe(0);
    expect((await onAccount(a, 'open', ...BTC)).code).toBe(0);
    expect((await onAccount(a, 'open', ...ETH)).code).toBe(1);
    expect((await onAccount(a, 'close', 'T001', '--exit', '64000')).code).toBe(0);
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const kinds = (await pool.query('SELECT kind FROM trade_state.events WHERE account = $1 ORDER BY event_seq', [a])).rows.map((r) => r.kind);
      expect(kinds).toEqual(['openTrade', 'closeTrade']);
    } finally {
      await pool.end();
    }
  });
});

describe('what each backend loads', () => {
  /** The modules a CLI run loads (test/helpers.ts tracedRun). */
  function loaded(args: string[], env: NodeJS.ProcessEnv = {}): string[] {
    const r = tracedRun([CLI, ...args], { ...NO_ENV, ...env });
    expect(r.status, r.stderr).toBe(0);
    return r.modules;
  }
  const pgModules = (mods: string[]): string[] => mods.filter((m) => /\/node_modules\/pg(-[a-z-]+)?\//.test(m) || m.includes('/dist/postgres/'));
  const nativeModules = (mods: string[]): string[] => mods.filter((m) => /\/dist\/(native|lock)\/|\/dist\/store\/trade-store\.js/.test(m));

  it('a file command never loads the database client; a --db command never loads the file lock and its addon', async () => {
    const log = path.join(dir, 'trade_log.json');
    fs.writeFileSync(log, '{\n  "trades": [],\n  "next_id": 1\n}\n');
    const file = loaded(['status', '--log', log]);
    expect(file.some((m) => m.includes('/dist/cli/run.js'))).toBe(true); // the trace works
    expect(pgModules(file)).toEqual([]);
    expect(nativeModules(file).length).toBeGreaterThan(0);

    expect((await cli(['migrate', '--db', db.url])).code).toBe(0);
    const onDb = loaded(['status', '--allow-missing'], { TSE_DATABASE_URL: db.url, TSE_ACCOUNT: 'loads' });
    expect(pgModules(onDb).length).toBeGreaterThan(0);
    expect(nativeModules(onDb)).toEqual([]);
  });
});
