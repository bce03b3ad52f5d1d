// A restore under running stores: a cold copy of the data directory put back while a store and a
// reconciler's source keep running, and another host writing the account back up to the version
// they knew, with other content. Nothing they cached may be served as the present, and no id the
// running store handed out may be handed out again. A real server of the test's own (its data
// directory is swapped), real files.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { LISTENER_APPLICATION_NAME, PostgresLogSource, PostgresTradeStore } from '../src/postgres/index.js';
import type { Trade } from '../src/domain/types.js';
import { collectWarnings, until, warningsDuring } from './helpers.js';
import { ownServer, withClient } from './pg.js';
import { openInput } from './trades.js';

let srv: Awaited<ReturnType<typeof ownServer>>;
const copies: string[] = [];
const opened: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  srv = await ownServer();
  await track(new PostgresTradeStore({ connectionString: srv.url, account: 'migrator' })).migrate();
});

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close().catch(() => {})));
  await srv?.destroy();
  for (const c of copies) fs.rmSync(c, { recursive: true, force: true });
});

function track<T extends { close(): Promise<void> }>(s: T): T {
  opened.push(s);
  return s;
}

const storeOf = (account: string): PostgresTradeStore => track(new PostgresTradeStore({ connectionString: srv.url, account }));

/**
 * A cold copy of the data directory: the server stopped, the folder copied, the server started
 * again. `cp -a` keeps owners and modes: as root, the files stay the `postgres` user's.
 */
async function coldCopy(): Promise<string> {
  await srv.stop();
  const copy = `${srv.dataDir}-copy${copies.length}`;
  execFileSync('cp', ['-a', srv.dataDir, copy]);
  copies.push(copy);
  await srv.start();
  return copy;
}

/** The copy put back in place of the data directory (the server stopped meanwhile): a restore. */
async function restore(copy: string): Promise<void> {
  await srv.stop();
  fs.rmSync(srv.dataDir, { recursive: true, force: true });
  execFileSync('cp', ['-a', copy, srv.dataDir]);
  await srv.start();
}

/** Whether a watch's listener is connected to the server. */
const listening = (url: string): Promise<boolean> =>
  withClient(url, async (c) => (await c.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [LISTENER_APPLICATION_NAME])).rows.length === 1);

const symbols = (trades: readonly Trade[]): string[] => trades.map((t) => `${t.id} ${t.symbol}`);

describe('a restore under a running store', () => {
  it('reports the restored truth once another host brought the account back to the version it knew, and never re-issues an id it saw', async () => {
    const running = storeOf('bot');
    // Its watch listens only (no poll), and reconnects 4 s after losing its connection: later than
    // the other host's writes below, whose notifications nobody hears.
    const source = track(new PostgresLogSource({ connectionString: srv.url, account: 'bot', pollMs: Infinity, reconnectMs: 4000 }));
    await running.openTrade(openInput({ symbol: 'BTC' }));
    await running.openTrade(openInput({ symbol: 'ETH' }));
    const copy = await coldCopy();

    // Acknowledged after the copy: gone with the restore.
    await running.openTrade(openInput({ symbol: 'SOL' }));
    await running.openTrade(openInput({ symbol: 'ADA' }));
    expect(symbols(await running.getAllTrades())).toEqual(['T001 BTC', 'T002 ETH', 'T003 SOL', 'T004 ADA']);
    const before = await source.read();
    expect(symbols(before.log.trades)).toEqual(['T001 BTC', 'T002 ETH', 'T003 SOL', 'T004 ADA']);
    expect(before.version).toBe(4);
    let woken = 0;
    const watchErrors: unknown[] = [];
    const watch = source.watch(() => void woken++, (err) => void watchErrors.push(err));
    await until('the watch listening', () => listening(srv.url));

    await restore(copy);
    // Another host writes the account back up to version 4: one trade (it gets T003) and a rulebook.
    const other = storeOf('bot');
    expect((await other.openTrade(openInput({ symbol: 'XRP' }))).id).toBe('T003');
    await other.saveSettings({ maxPositions: 6 });
    expect(await source.version()).toBe(4);
    // The watch lost its listener to the restore and wakes its reader once it is back, although the
    // version it then finds is the one last read: only a read can tell that the content changed.
    expect(woken).toBe(0);
    await until('the watch waking after its reconnect', () => woken > 0, 30_000);
    await watch.close();
    // The outage is reported, as EDBUNAVAILABLE: once, or once more when the server, still starting
    // up, refuses the reconnected listener's first query (a slow restore under load).
    const codes = watchErrors.map((e) => (e as { code?: string }).code);
    expect(codes.length).toBeGreaterThan(0);
    expect(new Set(codes)).toEqual(new Set(['EDBUNAVAILABLE']));

    const warnings = collectWarnings('TSE_ACCOUNT_REWOUND');
    try {
      // The running store and the source read the restored truth, not their caches.
      expect(symbols(await running.getAllTrades())).toEqual(['T001 BTC', 'T002 ETH', 'T003 XRP']);
      const after = await source.read();
      expect(after.version).toBe(4);
      expect(after.log).not.toBe(before.log);
      expect(symbols(after.log.trades)).toEqual(['T001 BTC', 'T002 ETH', 'T003 XRP']);
      expect(after.settings?.given).toEqual({ maxPositions: 6 });

      // The running store's next trade gets an id it never handed out: T003 and T004 were SOL's and ADA's.
      const next = await running.openTrade(openInput({ symbol: 'DOGE' }));
      expect(next.id).toBe('T005');
      const fresh = await storeOf('bot').getLog();
      expect(symbols(fresh.trades)).toEqual(['T001 BTC', 'T002 ETH', 'T003 XRP', 'T005 DOGE']);
      expect(fresh.next_id).toBe(6);
      expect(JSON.stringify(await running.getLog())).toBe(JSON.stringify(fresh));
      expect(symbols((await source.read()).log.trades)).toEqual(['T001 BTC', 'T002 ETH', 'T003 XRP', 'T005 DOGE']);
      // Each of them says, once, that what it knew was rewound.
      expect(warnings.messages.length).toBe(2);
      for (const m of warnings.messages) expect(m).toMatch(/account "bot".*version 4/);
    } finally {
      warnings.stop();
    }

  });

  it('a write as the first call after a restore to an earlier version locks, reads the restored account and continues after the highest id seen', async () => {
    const running = storeOf('scalper');
    await running.openTrade(openInput({ symbol: 'BTC' }));
    const copy = await coldCopy();
    await running.openTrade(openInput({ symbol: 'ETH' }));
    await running.openTrade(openInput({ symbol: 'SOL' }));
    await running.closeTrade('T001', { exit_price: 101 });

    await restore(copy);
    // The write path's cached log (version 4, three trades, T001 closed) is not trusted: the
    // account is at version 1 again, T001 open.
    let next: Trade | undefined;
    const warned = await warningsDuring('TSE_ACCOUNT_REWOUND', async () => {
      next = await running.openTrade(openInput({ symbol: 'ADA' }));
    });
    expect(next?.id).toBe('T004');
    expect(warned).toEqual([expect.stringMatching(/account "scalper": version 4 .*the server is at version 1/)]);
    const trades = await running.getAllTrades();
    expect(symbols(trades)).toEqual(['T001 BTC', 'T004 ADA']);
    expect(trades[0]?.status).toBe('OPEN');
    expect(JSON.stringify(await storeOf('scalper').getLog())).toBe(JSON.stringify(await running.getLog()));
    // T001 closes again, on the restored account's terms.
    expect((await running.closeTrade('T001', { exit_price: 102 })).exit_price).toBe(102);
  });
});
