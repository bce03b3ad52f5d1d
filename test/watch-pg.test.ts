// store.watch() on PostgreSQL: the events table is the cursor. Real writer processes, the listener's
// connection killed on the server mid-burst, a restarted watcher resuming by `since`, an import, the
// loop's end leaving nothing open, the closed store.
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { importLog, LISTENER_APPLICATION_NAME, type PostgresTradeStore, type TradeEvent } from '../src/postgres/index.js';
import { FIXTURES, ROOT, spawnNode, type Child } from './helpers.js';
import { storeDatabase, withClient } from './pg.js';

const CHILD = path.join(FIXTURES, 'watch-child.mjs');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const db = storeDatabase();

const KIND: Record<string, string> = {
  openTrade: 'open',
  closeTrade: 'close',
  partialClose: 'partial',
  updateTrade: 'update',
  import: 'replace',
};

/** Every change the events table holds after `since`, one per trade an event touched: [seq, trade_id, kind]. */
async function changesInDb(account: string, since = 0): Promise<[number, string, string][]> {
  return withClient(db.url, async (c) => {
    const rows = (
      await c.query<{ s: string; kind: string; trade_ids: string[] }>(
        'SELECT event_seq AS s, kind, trade_ids FROM trade_state.events WHERE account = $1 AND event_seq > $2 ORDER BY event_seq',
        [account, since],
      )
    ).rows;
    return rows.flatMap((r) => r.trade_ids.map((id): [number, string, string] => [Number(r.s), id, KIND[r.kind] ?? r.kind]));
  });
}

async function lastSeq(account: string): Promise<number> {
  return withClient(db.url, async (c) => Number((await c.query('SELECT coalesce(max(event_seq), 0) AS m FROM trade_state.events WHERE account = $1', [account])).rows[0].m));
}

/** Ends this database's watch listeners on the server, as a failover or an idle-connection killer would. */
async function killListeners(): Promise<number> {
  return withClient(db.url, async (c) =>
    (await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = $2', [LISTENER_APPLICATION_NAME, db.name])).rowCount ?? 0);
}

const open = (s: PostgresTradeStore, symbol: string) => s.openTrade({ symbol, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 2 });
const asChange = (e: TradeEvent): [number, string, string] => [e.seq as number, e.trade_id, e.kind];

describe('store.watch() on PostgreSQL', () => {
  it('a burst of 4 writer processes, the listener killed mid-burst: every change once, in the log order, each with its record then', async () => {
    const account = 'burst';
    const s = db.store(account);
    await open(s, 'FIRST'); // the account exists; the watch starts after this
    const since = await lastSeq(account);
    const errors: unknown[] = [];
    const received: TradeEvent[] = [];
    const writers: Child[] = [];
    let killed = 0;
    const expected = 4 * 5 * 4;
    // pollMs Infinity: after the kill only the reconnect's own look can find what was missed.
    const events = s.watch({ since, pollMs: Infinity, onError: (err) => errors.push(err) });
    for (const p of ['PA', 'PB', 'PC', 'PD']) writers.push(spawnNode(CHILD, ['write-pg', db.url, account, p, '5']));
    for await (const e of events) {
      received.push(e);
      if (received.length === 10) killed = await killListeners();
      if (received.length === expected) break;
    }
    const exits = await Promise.all(writers.map((w) => w.exited));
    exits.forEach((x, i) => expect(x, writers[i]?.stderr()).toEqual({ code: 0, signal: null }));
    expect(killed).toBeGreaterThanOrEqual(1);
    expect(errors.length).toBeGreaterThanOrEqual(1); // the lost listener was reported, and the watch went on
    const inDb = await changesInDb(account, since);
    expect(inDb).toHaveLength(expected);
    expect(received.map(asChange)).toEqual(inDb);
    // Each event's record is the trade right after that change, not as it ended.
    for (const e of received) {
      const t = e.trade as NonNullable<TradeEvent['trade']>;
      const want = { open: ['OPEN', 2, 95], update: ['OPEN', 2, 97], partial: ['OPEN', 1, 97], close: ['CLOSED', 1, 97] }[e.kind as 'open'];
      expect([t.status, t.size, t.stop_price], `${e.seq} ${e.kind} ${e.trade_id}`).toEqual(want);
      expect(Object.isFrozen(t)).toBe(true);
    }
  });

  it('a restarted watcher resumes after the last event it saw (`since`): nothing lost, nothing twice; an import is `replace`', async () => {
    const account = 'restart';
    const s = db.store(account);
    const a = await open(s, 'AAA');
    const first: TradeEvent[] = [];
    const since = await lastSeq(account);
    for await (const e of s.watch({ since: 0 })) {
      first.push(e);
      if (e.seq === since) break;
    }
    expect(first.map(asChange)).toEqual(await changesInDb(account));
    // While no watcher runs: a close, a rulebook change (no trade event), an import replacing the log.
    await s.closeTrade(a.id, { exit_price: 110 });
    await s.saveSettings({ maxPositions: 5 });
    const log = await s.getLog();
    const copy = { ...log.trades[0], id: 'T002', symbol: 'BBB' };
    await importLog({ connectionString: db.url, account, log: { ...log, trades: [...log.trades, copy], next_id: 3 }, replace: true, settings: null });
    const resumed: TradeEvent[] = [];
    const end = await lastSeq(account);
    for await (const e of s.watch({ since })) {
      resumed.push(e);
      if (e.seq === end && resumed.filter((r) => r.seq === end).length === 2) break;
    }
    expect(resumed.map(asChange)).toEqual(await changesInDb(account, since));
    expect(resumed.map((e) => [e.kind, e.trade_id])).toEqual([
      ['close', 'T001'],
      ['replace', 'T001'],
      ['replace', 'T002'],
    ]);
    expect(resumed[0]?.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
  });

  it.each(['break', 'abort'])('ending the loop (%s) closes the LISTEN client and the timers: the process exits by itself', async (how) => {
    const account = `end-${how}`;
    const s = db.store(account);
    await open(s, 'PRE');
    const child = spawnNode(CHILD, ['watch-pg', db.url, account, how, String(await lastSeq(account))]);
    await child.waitFor('{"ready":true}');
    await open(s, 'END');
    // A listener, poll or reconnect timer left open would keep the child alive: the test would time out here.
    expect(await child.exited, child.stderr()).toEqual({ code: 0, signal: null });
    expect(JSON.parse(child.lines[1] as string)).toMatchObject({ kind: 'open', trade_id: 'T002', seq: 2 });
    expect(child.lines[2]).toBe('{"ended":true}');
  });

  it('trade-state watch --json --db --account --since: one line per event, numbered, until SIGTERM (exit 0)', async () => {
    const account = 'cli';
    const s = db.store(account);
    await open(s, 'OLD');
    const since = await lastSeq(account);
    const child = spawnNode(CLI, ['watch', '--json', '--db', db.url, '--account', account, '--since', String(since)], { TSE_DATABASE_URL: '', TSE_ACCOUNT: '' });
    await child.waitFor('{"ok":true,"command":"watch","event":"started"}');
    const t = await open(s, 'NEW');
    await s.closeTrade(t.id, { exit_price: 101 });
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (!child.lines.some((l) => l.includes('"kind":"close"'))) return;
        clearInterval(check);
        resolve();
      }, 10);
    });
    child.proc.kill('SIGTERM');
    expect(await child.exited, child.stderr()).toEqual({ code: 0, signal: null });
    const lines = child.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => 'kind' in l).map((l) => [l.seq, l.kind, l.trade_id])).toEqual([
      [since + 1, 'open', t.id],
      [since + 2, 'close', t.id],
    ]);
    expect(lines.at(-1)).toEqual({ ok: true, command: 'watch', event: 'stopped' });
  });

  it('watch() on a closed store: StoreClosedError (ECLOSED); close() ends a running watch first', async () => {
    const s = db.store('closed');
    await open(s, 'X');
    const running = (async () => {
      const seen: TradeEvent[] = [];
      for await (const e of s.watch()) seen.push(e);
      return seen;
    })();
    await s.close();
    expect(await running).toEqual([]);
    expect(() => s.watch()).toThrow(expect.objectContaining({ name: 'StoreClosedError', code: 'ECLOSED' }));
  });
});
