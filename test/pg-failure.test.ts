// Failures: a writer killed inside its transaction, the server going away under a running store,
// a COMMIT whose reply is lost (or which never arrives), bad input, hand-made SQL edits and a
// missing `pg`. Real processes, a real server, a real TCP proxy between the store and the server.
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DatabaseError, importLog, LockTimeoutError } from '../src/postgres/index.js';
import type { Trade } from '../src/domain/types.js';
import { FIXTURES, runNode, sleep, spawnNode, until, userProject } from './helpers.js';
import { eventSeqs, ownServer, storeDatabase, withClient } from './pg.js';
import { PgProxy, proxyInFrontOf } from './pg-proxy.js';
import { tradeRecord } from './trades.js';

const CHILD = path.join(FIXTURES, 'pg-child.mjs');

const db = storeDatabase({ maxPositions: 100 });
const store = db.store;

const input = (symbol: string, extra: Record<string, unknown> = {}) => ({
  symbol, direction: 'LONG' as const, entry_price: 100, stop_price: 95, target_price: 110, size: 1, ...extra,
});

/** Everything the database holds for an account: its row (with the xmin of its last write), its trades and its events. */
async function dump(account: string, url = db.url): Promise<unknown> {
  return withClient(url, async (c) => ({
    account: (await c.query('SELECT xmin::text AS xmin, to_jsonb(a) AS row FROM trade_state.accounts a WHERE account = $1', [account])).rows,
    trades: (await c.query('SELECT xmin::text AS xmin, to_jsonb(t) AS row FROM trade_state.trades t WHERE account = $1 ORDER BY position', [account])).rows,
    events: (await c.query('SELECT to_jsonb(e) AS row FROM trade_state.events e WHERE account = $1 ORDER BY event_seq', [account])).rows,
  }));
}

async function tradeRows(account: string, url = db.url): Promise<Array<{ id: string; symbol: string; status: string; client_id: string | null }>> {
  return withClient(url, async (c) =>
    (await c.query('SELECT id, symbol, status, client_id FROM trade_state.trades WHERE account = $1 ORDER BY position', [account])).rows);
}

const rejection = (p: Promise<unknown>): Promise<unknown> => p.then((v) => ({ resolved: v }), (e: unknown) => e);

// ------------------------------------------------------------------------- killed writers

describe('a writer killed inside its transaction', () => {
  it('SIGKILLed holding the account lock with half a trade written: no partial trade, the next writer proceeds at once', async () => {
    const account = 'killed-raw';
    const first = await store(account).openTrade(input('FIRST'));
    expect(first.id).toBe('T001');
    const before = await dump(account);
    const child = spawnNode(CHILD, ['hold-partial', db.url, account]);
    await until('the child holds the lock', () => child.lines.length > 0 || child.proc.exitCode !== null);
    expect(JSON.parse(child.lines[0] ?? '{}'), child.stderr()).toMatchObject({ locked: true });
    // It really holds the account's lock: a writer with a short lock timeout gives up.
    await expect(store(account, { lockTimeoutMs: 300 }).openTrade(input('BLOCKED'))).rejects.toBeInstanceOf(LockTimeoutError);

    child.proc.kill('SIGKILL');
    expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });

    // The next writer gets the lock well within its timeout: the server rolled the dead transaction back.
    const next = await store(account, { lockTimeoutMs: 10_000 }).openTrade(input('NEXT'));
    expect(next.id).toBe('T002'); // the dead writer's T002 and its counters are gone
    expect((await tradeRows(account)).map((r) => `${r.id} ${r.symbol}`)).toEqual(['T001 FIRST', 'T002 NEXT']);
    expect(await eventSeqs(db.url, account)).toEqual([1, 2]);
    expect((await dump(account) as { trades: unknown[] }).trades[0]).toEqual((before as { trades: unknown[] }).trades[0]);
    expect(await store(account).verifyIntegrity()).toEqual([]);
  });

  it('a store process SIGKILLed between its write statement and COMMIT: nothing of it stays, the next writer proceeds at once', async () => {
    const account = 'killed-store';
    await store(account).openTrade(input('FIRST'));
    const proxy = new PgProxy({ host: '127.0.0.1', port: Number(new URL(db.url).port) });
    await proxy.listen();
    try {
      const held = proxy.onNextCommit('hold');
      const child = spawnNode(CHILD, ['open', proxy.via(db.url), account, 'KILLED']);
      await held;
      // The child's transaction wrote its rows and waits for a COMMIT that the proxy holds.
      const activity = await withClient(db.url, async (c) =>
        (await c.query<{ state: string; query: string }>(
          "SELECT state, query FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%INSERT INTO trade_state.trades%' AND pid <> pg_backend_pid()",
        )).rows);
      expect(activity).toHaveLength(1);
      expect(activity[0]?.state).toBe('idle in transaction');

      child.proc.kill('SIGKILL');
      expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
      expect(child.lines).toEqual(['{"ready":true}']); // it never heard back

      const next = await store(account, { lockTimeoutMs: 10_000 }).openTrade(input('NEXT'));
      expect(next.id).toBe('T002');
      expect((await tradeRows(account)).map((r) => `${r.id} ${r.symbol}`)).toEqual(['T001 FIRST', 'T002 NEXT']);
      expect(await eventSeqs(db.url, account)).toEqual([1, 2]);
    } finally {
      await proxy.close();
    }
  });
});

// ---------------------------------------------------------------------------- lost COMMIT

describe('a COMMIT whose reply never comes back', () => {
  const proxy = proxyInFrontOf(() => db.url);

  it('landed, reply lost: openTrade still resolves with the trade (found by op_id), which is there exactly once', async () => {
    const account = 'lost-reply';
    const s = store(account, {}, proxy().via(db.url));
    await s.openTrade(input('FIRST'));
    const intercepted = proxy().onNextCommit('lose-reply');
    const connections = proxy().connections;
    // No client_id: only the store's own check of trade_state.events can tell it landed.
    const t = await s.openTrade(input('BTC', { notes: 'reply lost' }));
    await intercepted;
    expect(proxy().connections).toBeGreaterThan(connections); // the store did lose its connection and came back
    expect(t).toMatchObject({ id: 'T002', symbol: 'BTC', notes: 'reply lost', status: 'OPEN' });
    expect((await tradeRows(account)).filter((r) => r.symbol === 'BTC')).toHaveLength(1);
    expect(await eventSeqs(db.url, account)).toEqual([1, 2]);
    // The same store goes on: its view is the database's, and its next write builds on it.
    expect(JSON.stringify(await s.getAllTrades())).toBe(JSON.stringify(await store(account).getAllTrades()));
    expect((await s.openTrade(input('ETH'))).id).toBe('T003');
  });

  it('not landed (the COMMIT never reached the server): EDBUNAVAILABLE, nothing written; a retry with the same client_id opens it once', async () => {
    const account = 'lost-commit';
    const s = store(account, {}, proxy().via(db.url));
    await s.openTrade(input('FIRST'));
    const before = await dump(account);
    const intercepted = proxy().onNextCommit('drop');
    const err = await rejection(s.openTrade(input('BTC', { client_id: 'bot-7' })));
    await intercepted;
    expect(err).toBeInstanceOf(DatabaseError);
    expect(err).toMatchObject({ code: 'EDBUNAVAILABLE', message: expect.stringMatching(/unreachable.*Nothing was written/) });
    expect(await dump(account)).toEqual(before);

    const retried = await s.openTrade(input('BTC', { client_id: 'bot-7' }));
    expect(retried).toMatchObject({ id: 'T002', symbol: 'BTC', client_id: 'bot-7' });
    const again = await s.openTrade(input('BTC', { client_id: 'bot-7' }));
    expect(again).toEqual(retried);
    expect((await tradeRows(account)).filter((r) => r.client_id === 'bot-7')).toHaveLength(1);
    expect(await eventSeqs(db.url, account)).toEqual([1, 2]);
  });

  it.each([
    ['lose-reply', { ok: 'T002' }],
    ['drop', { code: 'EDBUNAVAILABLE' }],
  ] as const)('a bot process whose connection drops during COMMIT (%s) gets its answer and lives on (no uncaught pg error)', async (mode, answer) => {
    // node-postgres emits 'error' on a client whose connection ends; a client checked out of the pool
    // has no listener of the pool's any more, so the store must listen while it holds one, or the
    // bot process dies of an uncaught exception instead of getting an answer.
    const account = `child-${mode}`;
    await store(account).openTrade(input('FIRST'));
    const intercepted = proxy().onNextCommit(mode);
    const child = spawnNode(CHILD, ['open', proxy().via(db.url), account, 'BTC']);
    child.proc.stdin?.end();
    await intercepted;
    const exit = await child.exited;
    expect({ exit, lines: child.lines }, child.stderr()).toEqual({ exit: { code: 0, signal: null }, lines: ['{"ready":true}', JSON.stringify(answer)] });
    expect((await tradeRows(account)).filter((r) => r.symbol === 'BTC')).toHaveLength(mode === 'drop' ? 0 : 1);
  });

  it.each([
    ['lose-reply', 'resolves: it landed'],
    ['drop', 'EDBUNAVAILABLE, nothing written'],
  ] as const)('saveSettings with its COMMIT cut (%s) answers as a write does: %s', async (mode, _expected) => {
    const account = `settings-${mode}`;
    const s = store(account, {}, proxy().via(db.url));
    await s.openTrade(input('FIRST'));
    const before = await dump(account);
    const intercepted = proxy().onNextCommit(mode);
    const outcome = await rejection(s.saveSettings({ maxPositions: 3 }));
    await intercepted;
    const settings = await withClient(db.url, async (c) =>
      (await c.query('SELECT settings FROM trade_state.accounts WHERE account = $1', [account])).rows[0]?.settings);
    if (mode === 'lose-reply') {
      expect(outcome).toEqual({ resolved: undefined });
      expect(settings).toEqual({ maxPositions: 3 });
    } else {
      expect(outcome).toBeInstanceOf(DatabaseError);
      expect(outcome).toMatchObject({ code: 'EDBUNAVAILABLE' });
      expect(await dump(account)).toEqual(before);
    }
  });

  it('the server commits only after the store lost the connection: the store must not report "nothing was written"', async () => {
    // The COMMIT reached the server, which is still committing (a slow fsync, a synchronous standby)
    // when the connection drops. The store's check must wait for that transaction to end — until
    // then its rows are invisible to any other snapshot — instead of concluding from them.
    const account = 'late-commit';
    const s = store(account, { statementTimeoutMs: 10_000 }, proxy().via(db.url));
    await s.openTrade(input('FIRST'));
    const intercepted = proxy().onNextCommit('late');
    let settled = false;
    const pending = rejection(s.openTrade(input('BTC', { client_id: 'late-1' }))).finally(() => (settled = true));
    const held = await intercepted;
    const trips = proxy().roundTrips;
    // Once the store has asked the server anything after losing its connection (or has given its answer),
    // the server gets the COMMIT: the transaction lands.
    await until('the store checks', () => settled || proxy().roundTrips > trips);
    await held.release();
    const outcome = await pending;
    const rows = (await tradeRows(account)).filter((r) => r.client_id === 'late-1');
    expect(rows).toHaveLength(1); // it did land
    // So the call must not say it did not: either the trade, or (could it not tell) EOUTCOMEUNKNOWN.
    if (outcome instanceof Error) expect(outcome).toMatchObject({ code: 'EOUTCOMEUNKNOWN' });
    else expect(outcome).toMatchObject({ resolved: { id: 'T002', client_id: 'late-1' } });
  });

  it.each([
    ['lose-reply', 'resolves with its result: it landed, once'],
    ['drop', 'EDBUNAVAILABLE, nothing written'],
  ] as const)('importLog with its COMMIT cut (%s) answers as a write does: %s', async (mode) => {
    // Issue 17: importLog ran its own transaction and took any lost connection for "nothing was
    // written"; it runs through the store's transaction runner now, lost-COMMIT check included.
    const account = `import-${mode}`;
    const log = { trades: [tradeRecord('T001', { symbol: 'BTC' })], next_id: 2 };
    const intercepted = proxy().onNextCommit(mode);
    const outcome = await rejection(importLog({ connectionString: proxy().via(db.url), account, log }));
    await intercepted;
    if (mode === 'lose-reply') {
      expect(outcome).toMatchObject({ resolved: { account, version: 1, trades: 1, replaced: 0 } });
      expect(await tradeRows(account)).toMatchObject([{ id: 'T001', symbol: 'BTC' }]);
      expect(await eventSeqs(db.url, account)).toEqual([1]);
    } else {
      expect(outcome).toBeInstanceOf(DatabaseError);
      expect(outcome).toMatchObject({ code: 'EDBUNAVAILABLE' });
      expect(await tradeRows(account)).toEqual([]);
    }
  });
});

// ------------------------------------------------------------------- the server goes away

describe('the server stopped and restarted under a running store', () => {
  let server: Awaited<ReturnType<typeof ownServer>> | undefined;
  afterAll(async () => {
    await server?.destroy();
  });

  it('calls fail with EDBUNAVAILABLE while it is down, succeed after on the same store object; nothing acknowledged is lost', async () => {
    server = await ownServer();
    const srv = server;
    const account = 'restart';
    // statementTimeoutMs bounds how long a call whose COMMIT was cut by the shutdown keeps checking.
    const s = store(account, { statementTimeoutMs: 1000, lockTimeoutMs: 5000 }, srv.url);
    await s.migrate();

    // A bot writing without pause through the whole outage.
    const opened: Trade[] = [];
    const closed: Trade[] = [];
    const failures: Array<{ code: unknown; message: string }> = [];
    let running = true;
    const bot = (async () => {
      for (let i = 0; running; i++) {
        try {
          const t = await s.openTrade(input(`R${i}`));
          opened.push(t);
          closed.push(await s.closeTrade(t.id, { exit_price: 101 }));
        } catch (err) {
          failures.push({ code: (err as { code?: unknown }).code, message: (err as Error).message });
          await sleep(20);
        }
      }
    })();

    await until('the bot writes', () => closed.length >= 5);
    await srv.stop();
    const downSince = failures.length;
    await until('the bot notices', () => failures.length > downSince + 2);
    // While down: reads and writes reject with a clear, stable error.
    for (const call of [() => s.getAllTrades(), () => s.openTrade(input('DOWN')), () => s.equity(), () => s.updateTrade('T001', { notes: 'x' })]) {
      const err = await rejection(call());
      expect(err).toBeInstanceOf(DatabaseError);
      expect(err).toMatchObject({ code: 'EDBUNAVAILABLE', account, message: expect.stringMatching(/PostgreSQL is unreachable \(account "restart"\)/) });
    }

    await srv.start();
    const upAt = closed.length;
    await until('the bot writes again', () => closed.length >= upAt + 5);
    running = false;
    await bot;
    // The same store object works again, reads and writes.
    const after = await s.openTrade(input('AFTER'));
    expect(after.symbol).toBe('AFTER');

    // The failures were the outage's and nothing else: unreachable, or a COMMIT cut by the shutdown.
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) expect(['EDBUNAVAILABLE', 'EOUTCOMEUNKNOWN'], f.message).toContain(f.code);
    // Every acknowledged write is in the database, as acknowledged.
    const fresh = store(account, {}, srv.url);
    const all = await fresh.getAllTrades();
    const byId = new Map(all.map((t) => [t.id, t]));
    for (const t of closed) expect(JSON.stringify(byId.get(t.id))).toBe(JSON.stringify(t));
    for (const t of opened) expect(byId.get(t.id)?.symbol).toBe(t.symbol);
    expect(JSON.stringify(await s.getAllTrades())).toBe(JSON.stringify(all));
    expect(await fresh.verifyIntegrity()).toEqual([]);
  });
});

// ------------------------------------------------------------ refused, and nothing changes

describe('refusals leave the database unchanged', () => {
  it('bad input, unknown trades, closed trades and risk refusals: the account row, trades and events are byte-identical after', async () => {
    const account = 'refusals';
    const s = store(account, { maxPositions: 2 });
    await s.openTrade(input('BTC', { client_id: 'c-1' }));
    const t2 = await s.openTrade(input('ETH'));
    await s.closeTrade(t2.id, { exit_price: 99 });
    await s.openTrade(input('SOL'));
    const before = await dump(account);
    const circular: Record<string, unknown> = {};
    circular.self = circular;

    const calls: Array<() => Promise<unknown>> = [
      () => s.openTrade(input('NAN', { entry_price: Number.NaN })),
      () => s.openTrade(input('INF', { size: Number.POSITIVE_INFINITY })),
      () => s.openTrade(input('NEG', { size: -1 })),
      () => s.openTrade(input('UNK', { leverage: 5 })),
      () => s.openTrade(input('ADA', { client_id: 'c-1' })), // client_id of another symbol
      () => s.openTrade(input('BTC')), // DUPLICATE_SYMBOL
      () => s.openTrade(input('XRP')), // POSITION_CAP (2 open)
      () => s.closeTrade('T404', { exit_price: 100 }),
      () => s.closeTrade('T002', { exit_price: 100 }), // already closed
      () => s.closeTrade('T001', { exit_price: Number.NEGATIVE_INFINITY }),
      () => s.partialClose('T001', { fraction: 2, exit_price: 100 }),
      () => s.partialClose('T002', { fraction: 0.5, exit_price: 100 }), // closed
      () => s.updateTrade('T001', { exit_price: 1 }),
      () => s.updateTrade('T001', { notes: 7 }),
      () => s.updateTrade('T001', { ext: { bad: Number.NaN } }),
      () => s.updateTrade('T001', { ext: circular }),
      () => s.updateTrade('T002', { stop_price: 1 }), // closed: its stop is frozen
      () => s.updateTradesBatch([['T001', { notes: 'would change' }], ['T404', { notes: 'x' }]]),
    ];
    // One by one, then all at once (one group of refusals).
    for (const call of calls) expect(await rejection(call())).toBeInstanceOf(Error);
    const together = await Promise.allSettled(calls.map((c) => c()));
    expect(together.map((r) => r.status)).toEqual(calls.map(() => 'rejected'));
    // A client_id retry answers with the recorded trade and writes nothing either.
    expect((await s.openTrade(input('BTC', { client_id: 'c-1' }))).id).toBe('T001');
    expect(await dump(account)).toEqual(before);
  });
});

describe('the schema refuses hand-made edits', () => {
  const account = 'sql-edits';
  let closedId: string;
  let openId: string;
  beforeAll(async () => {
    const s = store(account);
    const c = await s.openTrade(input('BTC'));
    await s.closeTrade(c.id, { exit_price: 104 });
    closedId = c.id;
    openId = (await s.openTrade(input('ETH'))).id;
  });

  const sqlError = async (sql: string, params: unknown[] = []): Promise<{ code?: string; message: string } | null> =>
    withClient(db.url, (c) => c.query(sql, params).then(() => null, (e: { code?: string; message: string }) => e));

  it('a closed trade: UPDATE of exit_price (or any owned field) and DELETE are refused by the trigger', async () => {
    const before = await dump(account);
    for (const set of ["exit_price = 1", "pnl_usd = 0", "status = 'OPEN'", "size = 2", "symbol = 'X'", "exit_time = '2020-01-01'", "partial_exits = '[]'"]) {
      const err = await sqlError(`UPDATE trade_state.trades SET ${set} WHERE account = $1 AND id = $2`, [account, closedId]);
      expect(err, set).toMatchObject({ code: '23000', message: expect.stringMatching(/is CLOSED/) });
    }
    expect(await sqlError('DELETE FROM trade_state.trades WHERE account = $1 AND id = $2', [account, closedId])).toMatchObject({
      code: '23000', message: expect.stringMatching(/cannot be deleted/),
    });
    expect(await sqlError('TRUNCATE trade_state.trades CASCADE')).toMatchObject({ code: '23000' });
    expect(await dump(account)).toEqual(before);
    // What may change on a closed trade, may: notes (the trigger refuses only the owned fields).
    expect(await sqlError("UPDATE trade_state.trades SET notes = 'annotated by hand' WHERE account = $1 AND id = $2", [account, closedId])).toBeNull();
  });

  it('events: UPDATE, DELETE and TRUNCATE are refused (append-only)', async () => {
    const before = await dump(account);
    expect(await sqlError("UPDATE trade_state.events SET kind = 'x' WHERE account = $1", [account])).toMatchObject({ code: '23000', message: expect.stringMatching(/refused/) });
    expect(await sqlError('DELETE FROM trade_state.events WHERE account = $1', [account])).toMatchObject({ code: '23000' });
    expect(await sqlError('TRUNCATE trade_state.events')).toMatchObject({ code: '23000' });
    expect(await dump(account)).toEqual(before);
  });

  it('NaN and ±Infinity are refused by CHECKs on direct SQL', async () => {
    const before = await dump(account);
    for (const [column, value] of [
      ['stop_price', 'NaN'], ['stop_price', 'Infinity'], ['size', 'NaN'], ['target_price', 'Infinity'],
      ['entry_price', 'NaN'], ['pnl_usd', 'NaN'], ['pnl_usd', '-Infinity'], ['r_multiple', 'Infinity'], ['pnl_pct', 'NaN'],
    ] as const) {
      const err = await sqlError(`UPDATE trade_state.trades SET ${column} = $3::numeric WHERE account = $1 AND id = $2`, [account, openId, value]);
      expect(err, `${column} = ${value}`).toMatchObject({ code: '23514' });
    }
    const insert = await sqlError(
      `INSERT INTO trade_state.trades (account, id, position, symbol, symbol_key, direction, status, entry_price, stop_price, size, keys, version)
       VALUES ($1, 'T900', 900, 'NANCOIN', 'nancoin', 'LONG', 'OPEN', 'NaN', 95, 1, '["id"]', 1)`,
      [account],
    );
    expect(insert).toMatchObject({ code: '23514' });
    expect(await dump(account)).toEqual(before);
    // A finite value on an open trade is accepted: the checks refuse the non-numbers, not edits.
    expect(await sqlError('UPDATE trade_state.trades SET notes = $3 WHERE account = $1 AND id = $2', [account, openId, 'ok'])).toBeNull();
  });
});

// ----------------------------------------------------------------------------- no `pg`

describe('without the pg package', () => {
  let app: string | undefined;
  afterAll(() => {
    if (app !== undefined) fs.rmSync(path.dirname(app), { recursive: true, force: true });
  });

  it('importing the subpath works; the first call rejects with PgMissingError EPGMISSING', async () => {
    // A user's project with trade-state-engine installed and no pg.
    app = userProject('tse-nopg-', ['pg']);
    fs.copyFileSync(path.join(FIXTURES, 'pg-nopg-child.mjs'), path.join(app, 'bot.mjs'));

    const r = await runNode(path.join(app, 'bot.mjs'), [db.url]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({ imported: true });
    for (const call of ['migrate', 'openTrade', 'getAllTrades']) {
      expect(lines.find((l) => l.call === call)).toMatchObject({
        name: 'PgMissingError', code: 'EPGMISSING', isPgMissing: true, message: expect.stringContaining('npm install pg'),
      });
    }
    // And nothing reached the database.
    expect(await tradeRows('nopg')).toEqual([]);
  });
});
