// Issue 20 point 3: each bot's database role reaches only the accounts granted to it. Two LOGIN
// roles with passwords, two accounts, each role granted its own; then, as each role: its store,
// plain SQL on every table, the schema, history, notifications, and the report's source line.
import { randomBytes } from 'node:crypto';
import path from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AccountAccessError, grantAccount, PostgresLogSource } from '../src/postgres/index.js';
import { buildReport } from '../src/report/index.js';
import { ROOT, runNode, sleep } from './helpers.js';
import { serverUrl, storeDatabase, withClient } from './pg.js';
import { openInput } from './trades.js';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const db = storeDatabase();
const suffix = randomBytes(4).toString('hex');
const bots = {
  a: { role: `tse_bot_a_${suffix}`, password: `pw a ${randomBytes(6).toString('hex')}`, account: `acct-a-${suffix}`, url: '' },
  b: { role: `tse_bot_b_${suffix}`, password: `pw b ${randomBytes(6).toString('hex')}`, account: `acct-b-${suffix}`, url: '' },
};
type Bot = (typeof bots)['a'];
const other = (bot: Bot): Bot => (bot === bots.a ? bots.b : bots.a);

/** The database's URL, logged in as `role`. */
function urlAs(role: string, password: string): string {
  const u = new URL(db.url);
  u.username = role;
  u.password = password;
  return u.toString();
}

/** What `fn` throws (or null): plain SQL errors are checked by SQLSTATE. */
async function failure(fn: () => Promise<unknown>): Promise<{ code?: string; message: string } | null> {
  try {
    await fn();
    return null;
  } catch (err) {
    return err as { code?: string; message: string };
  }
}

beforeAll(async () => {
  await withClient(serverUrl(), async (c) => {
    for (const bot of [bots.a, bots.b]) {
      await c.query(`CREATE ROLE ${c.escapeIdentifier(bot.role)} LOGIN PASSWORD ${c.escapeLiteral(bot.password)}`);
    }
  });
  for (const bot of [bots.a, bots.b]) {
    bot.url = urlAs(bot.role, bot.password);
    const r = await grantAccount({ connectionString: db.url, account: bot.account, role: bot.role });
    expect(r).toEqual({ account: bot.account, role: bot.role, createdAccount: true, granted: true });
  }
  // Each account gets history through its own bot: a closed trade, an open one.
  for (const bot of [bots.a, bots.b]) {
    const s = db.store(bot.account, {}, bot.url);
    await s.openTrade({ ...openInput({ symbol: `CLOSED-${bot === bots.a ? 'A' : 'B'}` }), client_id: `${bot.account}-1` });
    await s.closeTrade('T001', { exit_price: 110 });
    await s.openTrade(openInput({ symbol: `OPEN-${bot === bots.a ? 'A' : 'B'}` }));
  }
  await db.closeAll();
});

afterAll(async () => {
  await db.closeAll();
  await withClient(db.url, async (c) => {
    for (const bot of [bots.a, bots.b]) await c.query(`DROP OWNED BY ${c.escapeIdentifier(bot.role)}`);
  });
  await withClient(serverUrl(), async (c) => {
    for (const bot of [bots.a, bots.b]) {
      await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [bot.role]);
      await c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(bot.role)}`);
    }
  });
});

describe('grantAccount', () => {
  it('is idempotent, refuses a role that does not exist, and one that reaches every account already', async () => {
    expect(await grantAccount({ connectionString: db.url, account: bots.a.account, role: bots.a.role })).toEqual({
      account: bots.a.account, role: bots.a.role, createdAccount: false, granted: false,
    });
    const missing = await failure(() => grantAccount({ connectionString: db.url, account: bots.a.account, role: `tse_nobody_${suffix}` }));
    expect(missing).toMatchObject({ code: 'EVALIDATION' });
    expect(missing?.message).toContain(`tse_nobody_${suffix}`);
    expect(missing?.message).toContain('CREATE ROLE');
    const superuser = new URL(serverUrl()).username;
    const all = await failure(() => grantAccount({ connectionString: db.url, account: bots.a.account, role: superuser }));
    expect(all).toMatchObject({ code: 'EVALIDATION' });
    expect(all?.message).toContain('superuser');
    // A bot cannot grant itself the other account.
    const self = await failure(() => grantAccount({ connectionString: bots.a.url, account: bots.b.account, role: bots.a.role }));
    expect(self).toMatchObject({ code: 'EVALIDATION' });
    expect(self?.message).toContain('owner');
  });
});

describe('trade-state grant', () => {
  it('gives a new role an account, which its store then reads and writes; refuses a role that does not exist', async () => {
    const role = `tse_bot_c_${suffix}`;
    const account = `acct-c-${suffix}`;
    await withClient(serverUrl(), (c) => c.query(`CREATE ROLE ${c.escapeIdentifier(role)} LOGIN PASSWORD 'pw c'`));
    try {
      const r = await runNode(CLI, ['grant', '--db', db.url, '--account', account, '--role', role, '--json']);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, command: 'grant', account, role, granted: true, created_account: true });
      const s = db.store(account, {}, urlAs(role, 'pw c'));
      await s.openTrade(openInput({ symbol: 'CCC' }));
      expect((await s.getOpenTrades()).map((t) => t.symbol)).toEqual(['CCC']);
      expect(await failure(() => db.store(bots.a.account, {}, urlAs(role, 'pw c')).getAllTrades())).toMatchObject({ code: 'EACCOUNTDENIED', role });
      const none = await runNode(CLI, ['grant', '--db', db.url, '--account', account, '--role', `${role}_x`, '--json']);
      expect(none.code).toBe(1);
      expect(JSON.parse(none.stdout)).toMatchObject({ ok: false, error: { code: 'EVALIDATION' } });
    } finally {
      await db.closeAll();
      await withClient(db.url, (c) => c.query(`DROP OWNED BY ${c.escapeIdentifier(role)}`));
      await withClient(serverUrl(), async (c) => {
        await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
        await c.query(`DROP ROLE ${c.escapeIdentifier(role)}`);
      });
    }
  });
});

describe.each([['a'], ['b']] as const)("bot %s's role", (name) => {
  const bot = bots[name];

  it('reads and writes its own account through its store', async () => {
    const s = db.store(bot.account, {}, bot.url);
    expect(await s.exists()).toBe(true);
    const before = await s.getAllTrades();
    expect(before.slice(0, 2).map((t) => t.status)).toEqual(['CLOSED', 'OPEN']);
    const t = await s.openTrade(openInput({ symbol: `MORE-${name}-${randomBytes(2).toString('hex')}` }));
    await s.closeTrade(t.id, { exit_price: 99 });
    await s.saveSettings({ maxPositions: 5 });
    // A store of the owner sees what the bot wrote.
    expect((await db.store(bot.account).getTrade(t.id))?.status).toBe('CLOSED');
  });

  it("gets EACCOUNTDENIED naming the account, the role and the grant command on the other's account, never an empty account", async () => {
    for (const account of [other(bot).account, `never-made-${suffix}`]) {
      const s = db.store(account, {}, bot.url);
      for (const call of [() => s.getAllTrades(), () => s.exists(), () => s.openTrade(openInput({ symbol: 'X' })), () => s.saveSettings({ maxPositions: 1 })]) {
        const err = await failure(call);
        expect(err).toBeInstanceOf(AccountAccessError);
        expect(err).toMatchObject({ code: 'EACCOUNTDENIED', account, role: bot.role });
        expect(err?.message).toContain(`trade-state grant --db <owner's url> --account ${account} --role ${bot.role}`);
      }
      // The reconciler's and the report's source too.
      const source = new PostgresLogSource({ connectionString: bot.url, account });
      try {
        expect(await failure(() => source.read())).toMatchObject({ code: 'EACCOUNTDENIED', account, role: bot.role });
      } finally {
        await source.close();
      }
    }
    // The CLI says the same.
    const cli = await runNode(CLI, ['status', '--db', bot.url, '--account', other(bot).account, '--json']);
    expect(cli.code).toBe(1);
    expect(JSON.parse(cli.stdout)).toMatchObject({ ok: false, error: { code: 'EACCOUNTDENIED' } });
    expect(cli.stdout).toContain('trade-state grant');
    expect(cli.stdout).not.toContain(bot.password);
    // Nothing was created by the attempts.
    const made = await withClient(db.url, (c) => c.query('SELECT 1 FROM trade_state.accounts WHERE account = $1', [`never-made-${suffix}`]));
    expect(made.rows).toEqual([]);
  });

  it("reaches nothing of the other account with plain SQL, on every table", async () => {
    const them = other(bot).account;
    await withClient(bot.url, async (c) => {
      // Every table of the schema, whatever it is called: what the role can read names its own account only.
      const tables = (await c.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'trade_state' ORDER BY 1`)).rows.map((r) => r.t);
      expect(tables).toEqual(['accounts', 'events', 'grants', 'schema_version', 'trades']);
      for (const t of tables) {
        const rows = (await c.query(`SELECT * FROM trade_state.${t}`)).rows;
        expect(JSON.stringify(rows)).not.toContain(them);
        expect(JSON.stringify(rows)).not.toContain(other(bot).role);
        if (t !== 'schema_version') expect(rows.length).toBeGreaterThan(0);
        if (t !== 'schema_version') for (const r of rows) expect(r.account).toBe(bot.account);
      }
      // The planner's statistics (most common values: account names, symbols) stay hidden under row-level security.
      await withClient(db.url, async (owner) => {
        await owner.query('ANALYZE trade_state.trades, trade_state.events, trade_state.accounts');
        expect((await owner.query(`SELECT attname FROM pg_stats WHERE schemaname = 'trade_state'`)).rows.length).toBeGreaterThan(0);
      });
      expect((await c.query(`SELECT attname FROM pg_stats WHERE schemaname = 'trade_state'`)).rows).toEqual([]);
      // Writes aimed at the other account: refused or touching nothing.
      expect((await c.query('UPDATE trade_state.trades SET notes = $2 WHERE account = $1', [them, 'x'])).rowCount).toBe(0);
      expect((await c.query('UPDATE trade_state.accounts SET version = version WHERE account = $1', [them])).rowCount).toBe(0);
      expect(await failure(() => c.query(`INSERT INTO trade_state.accounts (account) VALUES ($1)`, [them]))).toMatchObject({ code: '42501' });
      expect(
        await failure(() =>
          c.query(`INSERT INTO trade_state.trades (account, id, position, symbol, status, keys, version, symbol_key) VALUES ($1, 'T999', 99, 'Z', 'CLOSED', '[]', 99, 'z')`, [them]),
        ),
      ).toMatchObject({ code: '42501' });
      expect(
        await failure(() =>
          c.query(`INSERT INTO trade_state.events (account, event_seq, op_id, kind, trade_ids, payload) VALUES ($1, 999, gen_random_uuid(), 'x', '{}', '{}')`, [them]),
        ),
      ).toMatchObject({ code: '42501' });
      expect(await failure(() => c.query(`INSERT INTO trade_state.grants (account, role) VALUES ($1, current_user::regrole)`, [them]))).toMatchObject({ code: '42501' });
      for (const t of ['accounts', 'trades', 'events', 'grants', 'schema_version']) {
        expect(await failure(() => c.query(`DELETE FROM trade_state.${t}`))).toMatchObject({ code: '42501' });
        expect(await failure(() => c.query(`TRUNCATE trade_state.${t}`))).toMatchObject({ code: '42501' });
      }
      expect(await failure(() => c.query(`UPDATE trade_state.grants SET account = $1`, [them]))).toMatchObject({ code: '42501' });
      // Moving its own rows into the other account: refused by the policies' check.
      expect(await failure(() => c.query(`UPDATE trade_state.trades SET account = $1 WHERE account = $2`, [them, bot.account]))).toMatchObject({ code: '42501' });
    });
    // The other account is as it was.
    const theirs = await db.store(them).getAllTrades();
    expect(theirs.every((t) => t.notes !== 'x')).toBe(true);
  });

  it('cannot change the schema', async () => {
    await withClient(bot.url, async (c) => {
      for (const sql of [
        'CREATE TABLE trade_state.mine (x int)',
        'CREATE FUNCTION trade_state.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
        'ALTER TABLE trade_state.trades DISABLE ROW LEVEL SECURITY',
        'ALTER TABLE trade_state.trades DISABLE TRIGGER freeze_closed_trades',
        'ALTER TABLE trade_state.accounts ADD COLUMN x int',
        'DROP POLICY granted_trades ON trade_state.trades',
        'CREATE POLICY all_of_it ON trade_state.trades USING (true)',
        'DROP TABLE trade_state.events',
        'INSERT INTO trade_state.schema_version (version, description) VALUES (99, $$x$$)',
      ]) {
        expect(await failure(() => c.query(sql)), sql).toMatchObject({ code: '42501' });
      }
      // A GRANT of what it does not own is only a warning: it must give nobody anything.
      await c.query('GRANT SELECT ON trade_state.trades TO PUBLIC');
      expect((await c.query(`SELECT has_table_privilege('public', 'trade_state.trades', 'SELECT') AS p`)).rows[0]).toEqual({ p: false });
    });
  });

  it('cannot rewrite its own history: closed trades and events stay frozen', async () => {
    await withClient(bot.url, async (c) => {
      expect(await failure(() => c.query(`UPDATE trade_state.trades SET pnl_usd = 1e6 WHERE account = $1 AND status = 'CLOSED'`, [bot.account]))).toMatchObject({ code: '23000' });
      expect(await failure(() => c.query(`UPDATE trade_state.trades SET status = 'OPEN' WHERE account = $1 AND status = 'CLOSED'`, [bot.account]))).toMatchObject({ code: '23000' });
      expect(await failure(() => c.query(`UPDATE trade_state.events SET kind = 'x' WHERE account = $1`, [bot.account]))).toMatchObject({ code: '42501' });
      // The import's escape hatch (a transaction that says it replaces the account) is no way round for a bot.
      await c.query('BEGIN');
      await c.query(`SELECT set_config('trade_state.replacing_account', $1, true)`, [bot.account]);
      expect(await failure(() => c.query(`DELETE FROM trade_state.trades WHERE account = $1`, [bot.account]))).toMatchObject({ code: '42501' });
      await c.query('ROLLBACK');
    });
    const closed = (await db.store(bot.account).getClosedTrades())[0];
    expect(closed?.exit_price).toBe(110);
  });

  it("learns nothing of the other account from notifications, while its own watch still wakes", async () => {
    const them = other(bot);
    const heard: { channel: string; payload: string | undefined }[] = [];
    const listener = new pg.Client({ connectionString: bot.url });
    listener.on('error', () => {});
    await listener.connect();
    const source = new PostgresLogSource({ connectionString: bot.url, account: bot.account, pollMs: Infinity });
    let woke = 0;
    try {
      listener.on('notification', (m) => heard.push({ channel: m.channel, payload: m.payload }));
      // Its own channel, the old broadcast one, and every token it can read.
      const tokens = (await listener.query<{ t: string }>('SELECT notify_token AS t FROM trade_state.accounts')).rows.map((r) => r.t);
      expect(tokens).toHaveLength(1);
      for (const channel of ['trade_state_events', `tse_${tokens[0]}`]) await listener.query(`LISTEN ${listener.escapeIdentifier(channel)}`);
      await source.read();
      const watch = source.watch(() => woke++, () => {});
      try {
        await sleep(300); // the watch's listener connects and LISTENs
        const theirs = db.store(them.account, {}, them.url);
        const t = await theirs.openTrade(openInput({ symbol: `NOISE-${randomBytes(2).toString('hex')}` }));
        await theirs.updateTrade(t.id, { notes: 'busy' });
        await sleep(300);
        expect(heard).toEqual([]);
        const mine = db.store(bot.account, {}, bot.url);
        await mine.updateTrade('T002', { notes: `heard ${Date.now()}` });
        for (let i = 0; i < 50 && (heard.length === 0 || woke === 0); i++) await sleep(100);
        expect(woke).toBeGreaterThan(0);
        const version = String((await source.version()));
        expect(heard).toEqual([{ channel: `tse_${tokens[0]}`, payload: version }]);
        for (const h of heard) expect(`${h.channel} ${h.payload}`).not.toContain(them.account);
      } finally {
        await watch.close();
      }
    } finally {
      await source.close();
      await listener.end();
    }
  });
});

describe('the watch of an account created after it started', () => {
  it('wakes on its first write, without a poll (the channel is found once the account exists)', async () => {
    const account = `late-${suffix}`;
    const source = new PostgresLogSource({ connectionString: db.url, account, pollMs: Infinity, reconnectMs: 50 });
    let woke = 0;
    try {
      await source.read();
      const watch = source.watch(() => woke++, () => {});
      try {
        await sleep(200); // the listener is connected, with no channel yet
        await db.store(account).openTrade(openInput({ symbol: 'LATE' }));
        for (let i = 0; i < 100 && woke === 0; i++) await sleep(50);
        expect(woke).toBeGreaterThan(0);
      } finally {
        await watch.close();
      }
    } finally {
      await source.close();
    }
  });
});

describe('the report built from a database', () => {
  it('names the account, not the host, port or database, unless asked', async () => {
    const u = new URL(db.url);
    const source = new PostgresLogSource({ connectionString: bots.a.url, account: bots.a.account });
    try {
      const page = (await buildReport({ source })).html;
      expect(page).toContain(bots.a.account);
      for (const secret of [u.hostname, `:${u.port}`, db.name, bots.a.role, bots.a.password]) expect(page).not.toContain(secret);
      const shown = (await buildReport({ source, showConnection: true })).html;
      expect(shown).toContain(db.name);
      expect(shown).not.toContain(bots.a.password);
    } finally {
      await source.close();
    }
  });
});

