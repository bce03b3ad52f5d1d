// Correct under concurrency across hosts: real processes, each with its own store and pool, race
// for one account; the account row lock (SELECT ... FOR NO KEY UPDATE under READ COMMITTED) must
// make their read-check-write serial, and must never reach into another account.
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { LockTimeoutError } from '../src/postgres/index.js';
import { LOCK_ACCOUNT_SQL } from '../src/postgres/account-log.js';
import { FIXTURES, spawnNode } from './helpers.js';
import { eventSeqs, storeDatabase, withClient } from './pg.js';

const CHILD = path.join(FIXTURES, 'pg-child.mjs');

const db = storeDatabase();
const store = db.store;

interface Row {
  id: string;
  symbol: string;
  status: string;
}

async function rowsOf(account: string): Promise<Row[]> {
  return withClient(db.url, async (c) => (await c.query<Row>('SELECT id, symbol, status FROM trade_state.trades WHERE account = $1 ORDER BY position', [account])).rows);
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
const tid = (n: number): string => `T${String(n).padStart(3, '0')}`;

/**
 * Spawns one `race` child per symbol list; once every child has started, imported the library and
 * connected its pool, tells them all to go at once. Returns the results they printed.
 */
async function race(account: string, perProcess: string[][], cap: number): Promise<Array<{ symbol: string; ok?: string; code?: string }>> {
  const children = perProcess.map((symbols) => spawnNode(CHILD, ['race', db.url, account, ...symbols], { TSE_CAP: String(cap) }));
  await Promise.all(children.map((c) => c.waitFor('{"ready":true}')));
  for (const c of children) c.proc.stdin?.write('go\n');
  const exits = await Promise.all(children.map((c) => c.exited));
  exits.forEach((e, i) => expect(e, children[i]?.stderr()).toEqual({ code: 0, signal: null }));
  return children.flatMap((c) => c.lines.slice(1).map((l) => JSON.parse(l) as { symbol: string; ok?: string; code?: string }));
}

describe('processes racing for one account', () => {
  // Two rounds: a new account (its row is created by the racers themselves) and one that exists.
  it.each([
    ['a new account', false],
    ['an existing account', true],
  ])('6 processes open 6 symbols under maxPositions 4 (%s): exactly 4 open, ids T001..T004, 2 POSITION_CAP', async (_, exists) => {
    const account = `cap-${exists ? 'old' : 'new'}`;
    if (exists) {
      // The account exists and has history: a closed trade, so the racers' ids start at T002.
      const s = store(account);
      const t = await s.openTrade({ symbol: 'OLD', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1 });
      await s.closeTrade(t.id, { exit_price: 101 });
    }
    const first = exists ? 2 : 1;
    const symbols = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF'];
    const lines = await race(account, symbols.map((s) => [s]), 4);
    expect(lines).toHaveLength(6);
    const won = lines.filter((l) => l.ok !== undefined);
    const lost = lines.filter((l) => l.ok === undefined);
    expect(won.map((l) => l.ok).sort()).toEqual(range(4).map((i) => tid(first - 1 + i)));
    expect(lost.map((l) => l.code)).toEqual(['POSITION_CAP', 'POSITION_CAP']);
    // The database agrees: exactly the winners are open, ids and events gapless.
    const rows = await rowsOf(account);
    const open = rows.filter((r) => r.status === 'OPEN');
    expect(open.map((r) => r.symbol).sort()).toEqual(won.map((l) => l.symbol).sort());
    expect(open.map((r) => r.id)).toEqual(range(4).map((i) => tid(first - 1 + i)));
    const events = await eventSeqs(db.url, account);
    expect(events).toEqual(range(events.length));
    expect(events).toHaveLength(exists ? 6 : 4);
    const s = store(account, { maxPositions: 4 });
    expect(await s.nextId()).toBe(tid(first + 4));
    expect(await s.verifyIntegrity()).toEqual([]);
  });

  it('two processes open the same symbols: each symbol is won exactly once, the loser gets DUPLICATE_SYMBOL (not a constraint error)', async () => {
    // The same 12 symbols in the same order in both processes: they stay in step, so most symbols are a real race.
    const symbols = Array.from({ length: 12 }, (_, i) => `SYM${i}`);
    const lines = await race('dup', [symbols, symbols], 20);
    expect(lines).toHaveLength(24);
    for (const symbol of symbols) {
      expect(lines.filter((l) => l.symbol === symbol).map((l) => (l.ok !== undefined ? 'won' : l.code)).sort(), symbol).toEqual(['DUPLICATE_SYMBOL', 'won']);
    }
    expect(lines.filter((l) => l.ok !== undefined).map((l) => l.ok).sort()).toEqual(range(12).map(tid));
    const rows = await rowsOf('dup');
    expect(rows.map((r) => r.symbol).sort()).toEqual([...symbols].sort());
    expect(rows.map((r) => r.id)).toEqual(range(12).map(tid));
    expect(await eventSeqs(db.url, 'dup')).toEqual(range(12));
  });
});

describe('accounts are independent', () => {
  it('two accounts in one database never see or block each other', async () => {
    const a = store('acct-A');
    const b = store('acct-B');
    const btc = { symbol: 'BTC', direction: 'LONG' as const, entry_price: 100, stop_price: 95, target_price: 110, size: 1 };
    // Same symbol, same ids: each account has its own open-symbol rule and its own counter.
    expect((await a.openTrade(btc)).id).toBe('T001');
    expect((await b.openTrade(btc)).id).toBe('T001');
    expect((await b.openTrade({ ...btc, symbol: 'ETH' })).id).toBe('T002');
    expect((await a.getAllTrades()).map((t) => t.symbol)).toEqual(['BTC']);
    expect((await b.getAllTrades()).map((t) => t.symbol)).toEqual(['BTC', 'ETH']);

    await withClient(db.url, async (holder) => {
      // Another host holds account A's lock in an open transaction.
      await holder.query('BEGIN');
      await holder.query(LOCK_ACCOUNT_SQL, ['acct-A']);

      // Account B writes meanwhile. A's lock is held until after this call: had B's write waited for it,
      // it would end in LockTimeoutError, not a trade.
      const bFast = store('acct-B', { lockTimeoutMs: 2000 });
      expect((await bFast.openTrade({ ...btc, symbol: 'SOL' })).id).toBe('T003');
      // Reads of A take no lock.
      expect((await store('acct-A').getAllTrades()).map((t) => t.id)).toEqual(['T001']);
      // A writer of A with a small lock timeout gives up: LockTimeoutError, nothing written.
      const aImpatient = store('acct-A', { lockTimeoutMs: 200 });
      const err = await aImpatient.openTrade({ ...btc, symbol: 'ETH' }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(LockTimeoutError);
      expect(err).toMatchObject({ code: 'ELOCKTIMEOUT', timeoutMs: 200 });

      // A patient writer of A waits for the lock...
      const aPatient = store('acct-A', { lockTimeoutMs: 30_000 });
      const pending = aPatient.openTrade({ ...btc, symbol: 'XRP' });
      let settled = false;
      void pending.then(() => (settled = true), () => (settled = true));
      // ...visibly: a backend of this database waits on a lock (the account row). Asked on another
      // connection: inside the holder's transaction pg_stat_activity is one snapshot.
      await withClient(db.url, async (watcher) => {
        for (;;) {
          const waiting = await watcher.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
          );
          if ((waiting.rows[0]?.n ?? 0) > 0) return;
          if (settled) await pending; // fails with the reason it settled
          await new Promise((r) => setTimeout(r, 20));
        }
      });
      expect(settled).toBe(false);
      // ...and proceeds once the lock is released.
      await holder.query('COMMIT');
      expect((await pending).id).toBe('T002');
    });
    expect((await store('acct-A').getAllTrades()).map((t) => t.symbol)).toEqual(['BTC', 'XRP']);
    expect((await store('acct-B').getAllTrades()).map((t) => t.symbol)).toEqual(['BTC', 'ETH', 'SOL']);
    expect(await eventSeqs(db.url, 'acct-A')).toEqual([1, 2]);
    expect(await eventSeqs(db.url, 'acct-B')).toEqual([1, 2, 3]);
  });
});

describe('group commit in one process', () => {
  it('many concurrent calls: each gets its own right result, events gapless, fewer transactions than calls', async () => {
    const s = store('group', { maxPositions: 30 });
    const symbols = Array.from({ length: 24 }, (_, i) => `S${i}`);
    const input = (symbol: string) => ({ symbol, direction: 'LONG' as const, entry_price: 100, stop_price: 95, target_price: 110, size: 1 });
    // Opens, a duplicate among them, a close of a trade not yet open: all in flight at once.
    const calls = [
      ...symbols.map((sym) => s.openTrade(input(sym))),
      s.openTrade(input('S3')),
      s.closeTrade('T999', { exit_price: 101 }),
    ];
    const results = await Promise.allSettled(calls);
    // Arrival order decides: the n-th open gets T00n; the duplicate and the unknown id are refused alone.
    results.slice(0, 24).forEach((r, i) => {
      expect(r.status).toBe('fulfilled');
      expect((r as PromiseFulfilledResult<{ id: string; symbol: string }>).value).toMatchObject({ id: tid(i + 1), symbol: `S${i}` });
    });
    expect(results[24]).toMatchObject({ status: 'rejected', reason: { code: 'DUPLICATE_SYMBOL' } });
    expect(results[25]).toMatchObject({ status: 'rejected', reason: { code: 'ETRADENOTFOUND' } });

    // Then concurrent closes and updates of those trades.
    const second = await Promise.all([
      ...range(12).map((n) => s.closeTrade(tid(n), { exit_price: 100 + n })),
      ...range(12).map((n) => s.updateTrade(tid(12 + n), { notes: `n${n}` })),
    ]);
    second.slice(0, 12).forEach((t, i) => expect(t).toMatchObject({ id: tid(i + 1), status: 'CLOSED', exit_price: 101 + i }));
    second.slice(12).forEach((t, i) => expect(t).toMatchObject({ id: tid(13 + i), status: 'OPEN', notes: `n${i + 1}` }));

    expect(await eventSeqs(db.url, 'group')).toEqual(range(48));
    const txs = await withClient(db.url, async (c) =>
      (await c.query<{ n: number }>("SELECT count(DISTINCT xmin::text)::int AS n FROM trade_state.events WHERE account = 'group'")).rows[0]?.n);
    // 48 accepted calls, written by a handful of transactions (each event row carries its transaction's xmin).
    expect(txs).toBeGreaterThanOrEqual(2);
    expect(txs).toBeLessThan(48);
    // What another process reads equals what this one holds.
    const fresh = store('group', { maxPositions: 30 });
    expect(JSON.stringify(await fresh.getAllTrades())).toBe(JSON.stringify(await s.getAllTrades()));
    expect(await fresh.verifyIntegrity()).toEqual([]);
  });
});
