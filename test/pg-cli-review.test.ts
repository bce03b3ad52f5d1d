/**
 * Review of the CLI's PostgreSQL side (--db, --account): behaviours found wrong by a hostile
 * review, each as the user meets it, through the built CLI in a child process against the run's
 * real server. Build first: npx tsc -p tsconfig.build.json.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { ROOT, runNode, tempDir, tracedRun } from './helpers.js';
import { freshDatabase } from './pg.js';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

let db: Awaited<ReturnType<typeof freshDatabase>>;
let dir: string;

beforeAll(async () => {
  db = await freshDatabase();
  const r = await cli(['migrate', '--db', db.url]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(async () => {
  await db?.drop();
});
beforeEach(() => {
  dir = tempDir('tse-pg-cli-review-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** No database, account or libpq defaults from the runner's environment: each test says what it gives. */
const NO_ENV = { TSE_DATABASE_URL: '', TSE_ACCOUNT: '', PGHOST: '', PGPORT: '', PGUSER: '', PGPASSWORD: '', PGDATABASE: '' };
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runNode(CLI, args, { ...NO_ENV, ...env });
const json = (stdout: string): Record<string, any> => JSON.parse(stdout) as Record<string, any>;

let accounts = 0;
const account = (): string => `review-${++accounts}`;

/**
 * Runs the CLI; a run still going after `limitMs` is killed and reported as { code: null } — the
 * bug being shown is that it never ends. (A bound on a hang, not a timing assertion.)
 */
function cliBounded(args: string[], limitMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...NO_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), limitMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the password never shows', () => {
  it('not even for a URL without a host (a Unix socket, or host= in the query), which pg accepts', async () => {
    // postgres://bot:secret@/trading?host=/var/run/postgresql is the usual form for a local socket;
    // here the host and port go in the query so that it reaches the test server over TCP.
    const u = new URL(db.url);
    const password = decodeURIComponent(u.password);
    expect(password.length).toBeGreaterThan(3);
    const hostless = `postgres://${u.username}:${u.password}@${u.pathname}?host=${u.hostname}&port=${u.port}`;
    const name = account();
    const init = await cli(['init', '--db', hostless, '--account', name, '--json']);
    expect(init.code, init.stderr).toBe(0); // pg connects with it
    for (const args of [
      ['status', '--db', hostless, '--account', name, '--json'],
      ['status', '--db', hostless, '--account', 'no-such-account'],
      ['migrate', '--db', hostless],
      ['export', '--db', hostless, '--account', name, '--to', path.join(dir, 'out', 'trade_log.json')],
    ]) {
      const r = await cli(args);
      expect(`${r.stdout}\n${r.stderr}`, `${args[0]} printed the password`).not.toContain(password);
    }
    expect(init.stdout).not.toContain(password);
  });
});

describe('a server that accepts connections but never answers', () => {
  let mute: net.Server;
  let port: number;
  const sockets = new Set<net.Socket>();
  beforeAll(async () => {
    // What a hung server, a half-open connection or a stuck proxy looks like to the client.
    mute = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    port = (mute.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => mute.close(() => r()));
  });

  it('is EDBUNAVAILABLE (exit 1) after a bounded wait, for reads, writes and reconcile; the command does not hang', async () => {
    const url = `postgres://u:pw@127.0.0.1:${port}/db`;
    const runs = await Promise.all([
      cliBounded(['status', '--db', url, '--account', 'a', '--json'], 45_000),
      cliBounded(['open', '--symbol', 'BTC', '--direction', 'LONG', '--entry', '10', '--stop', '9', '--target', '12', '--size', '1', '--db', url, '--account', 'a', '--allow-missing', '--json'], 45_000),
      cliBounded(['reconcile', '--state', path.join(dir, 'state'), '--db', url, '--account', 'a', '--json'], 45_000),
    ]);
    for (const r of runs) {
      expect(r.code, `killed after 45 s: ${r.stdout}${r.stderr}`).toBe(1);
      expect(json(r.stdout).error.code).toBe('EDBUNAVAILABLE');
    }
  }, 60_000);
});

describe('--db given empty', () => {
  it('is invalid input naming --db for every command, not a silent connection to the libpq defaults (PGHOST, PGDATABASE...)', async () => {
    const name = account();
    expect((await cli(['init', '--db', db.url, '--account', name])).code).toBe(0);
    // A script's `--db "$DB_URL"` with DB_URL unset, on a host whose environment names another database.
    const u = new URL(db.url);
    const libpq = { PGHOST: u.hostname, PGPORT: u.port, PGUSER: decodeURIComponent(u.username), PGPASSWORD: decodeURIComponent(u.password), PGDATABASE: db.name };
    for (const args of [
      ['status', '--db', '', '--account', name, '--json'],
      ['open', '--symbol', 'BTC', '--direction', 'LONG', '--entry', '10', '--stop', '9', '--target', '12', '--size', '1', '--db', '', '--account', name, '--json'],
    ]) {
      const r = await cli(args, libpq);
      expect(r.code, `${args[0]}: ${r.stdout}`).toBe(1);
      expect(json(r.stdout).error, args[0]).toMatchObject({ code: 'EVALIDATION', option: '--db' });
    }
  });
});

describe('a refused write on a missing account', () => {
  it('creates nothing, as a refused write on a missing file log creates no log: the account stays missing', async () => {
    const log = path.join(dir, 'trades', 'trade_log.json');
    const onFile = await cli(['close', 'T001', '--exit', '5', '--log', log, '--allow-missing', '--json']);
    expect(json(onFile.stdout).error.code).toBe('ETRADENOTFOUND');
    expect((await cli(['status', '--log', log, '--json'])).code).toBe(1); // ELOGMISSING: still no log

    const name = account();
    const onDb = await cli(['close', 'T001', '--exit', '5', '--db', db.url, '--account', name, '--allow-missing', '--json']);
    expect(json(onDb.stdout).error.code).toBe('ETRADENOTFOUND');
    const after = await cli(['status', '--db', db.url, '--account', name, '--json']);
    expect(after.code, after.stdout).toBe(1);
    expect(json(after.stdout).error.code).toBe('EACCOUNTMISSING');
  });
});

describe('import --from a file that does not exist', () => {
  // A mistyped path read as an empty log would import nothing, or with --replace wipe an
  // account's trades for none: refused as every command refuses a missing log.
  it('is ELOGMISSING naming the path, exit 1, and creates no account', async () => {
    const name = account();
    const missing = path.join(dir, 'nope', 'trade_log.json');
    const r = await cli(['import', '--from', missing, '--db', db.url, '--account', name, '--replace', '--json']);
    expect(r.code, r.stdout).toBe(1);
    expect(json(r.stdout).error).toMatchObject({ code: 'ELOGMISSING' });
    expect(json(r.stdout).error.message).toContain(missing);
    const after = await cli(['status', '--db', db.url, '--account', name, '--json']);
    expect(json(after.stdout).error.code).toBe('EACCOUNTMISSING');
  });
});

describe('a missing account', () => {
  it('is the same error, with the same advice (--allow-missing), from status, reconcile and report', async () => {
    const name = account();
    const docs = await Promise.all(
      [['status'], ['reconcile', '--state', path.join(dir, 'state')], ['report', '--out', path.join(dir, 'r.html')]].map(async (args) => {
        const r = await cli([...args, '--db', db.url, '--account', name, '--json']);
        expect(r.code).toBe(1);
        return json(r.stdout).error as { code: string; message: string };
      }),
    );
    for (const d of docs) expect(d.code).toBe('EACCOUNTMISSING');
    expect(docs[1]?.message).toBe(docs[0]?.message);
    expect(docs[2]?.message).toBe(docs[0]?.message);
  });
});

describe('import --replace and the history guard (docs/reconciler.md: as a rewritten log)', () => {
  it('a replaced account whose closed trade changed is refused (files kept) until .reconciler-history.json is deleted', async () => {
    const name = account();
    const closed = (i: number, exit: number) => ({
      id: `T${String(i).padStart(3, '0')}`, symbol: `S${i}`, direction: 'LONG', entry_price: 100, stop_price: 90, original_stop: 90,
      target_price: 120, size: 1, original_size: 1, entry_time: '2026-01-05T10:00:00.000000+00:00', exit_price: exit,
      exit_time: '2026-01-05T12:00:00.000000+00:00', exit_reason: 'target', pnl_usd: exit - 100, pnl_pct: exit - 100,
      r_multiple: (exit - 100) / 10, status: 'CLOSED', setup_type: null, grade: null, notes: null,
    });
    const write = (file: string, exits: number[]) => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `${JSON.stringify({ trades: exits.map((e, i) => closed(i + 1, e)), next_id: exits.length + 1 }, null, 2)}\n`);
    };
    const a = path.join(dir, 'a', 'trade_log.json');
    const b = path.join(dir, 'b', 'trade_log.json');
    write(a, [110, 111, 112, 113]);
    write(b, [110, 111, 99, 113]);
    const state = path.join(dir, 'state');
    const on = ['--db', db.url, '--account', name];
    expect((await cli(['import', '--from', a, ...on])).code).toBe(0);
    expect((await cli(['reconcile', '--state', state, ...on])).code).toBe(0);
    const before = fs.readFileSync(path.join(state, 'equity.json'), 'utf8');
    expect((await cli(['import', '--from', b, '--replace', ...on])).code).toBe(0);
    const refused = await cli(['reconcile', '--state', state, '--json', ...on]);
    expect(refused.code).toBe(1);
    expect(json(refused.stdout).error).toMatchObject({ code: 'HISTORY_GUARD' });
    expect(fs.readFileSync(path.join(state, 'equity.json'), 'utf8')).toBe(before);
    fs.rmSync(path.join(state, '.reconciler-history.json'));
    expect((await cli(['reconcile', '--state', state, ...on])).code).toBe(0);
    expect((await cli(['reconcile', '--state', state, ...on])).code).toBe(0);
  });
});

describe('what status --db loads', () => {
  it('neither the charting code, the file lock and its addon, nor the write path (the store, import/export)', () => {
    const name = account();
    const r = tracedRun([CLI, 'status', '--allow-missing'], { ...NO_ENV, TSE_DATABASE_URL: db.url, TSE_ACCOUNT: name });
    expect(r.status, r.stderr).toBe(0);
    const mods = r.modules;
    expect(mods.some((m) => m.includes('/dist/postgres/account-log.js'))).toBe(true); // the trace works
    expect(mods.filter((m) => /\/dist\/report\/|@observablehq|linkedom|\/d3-/.test(m))).toEqual([]);
    expect(mods.filter((m) => /\/dist\/(native|lock)\/|\/dist\/store\/trade-store\.js/.test(m))).toEqual([]);
    expect(mods.filter((m) => /\/dist\/postgres\/(store|backend|transaction|sql|transfer|import|export)\.js|\/dist\/store\//.test(m))).toEqual([]);
  });
});
