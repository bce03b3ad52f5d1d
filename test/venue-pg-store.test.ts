// compareVenue and adoptVenue on both stores: the same answers and records for the same log and
// positions, one write (one audit event on PostgreSQL), nothing written on bad input, and a race
// with other processes writing the log while adoptVenue runs.
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TradeStore, type VenuePosition } from '../src/index.js';
import type { PostgresTradeStore } from '../src/postgres/index.js';
import { collectWarnings, FIXTURES, spawnNode, tempDir, type Child } from './helpers.js';
import { storeDatabase, withClient } from './pg.js';
import { fileStores } from './stores.js';

const CHILD = path.join(FIXTURES, 'venue-child.mjs');
const db = storeDatabase();
let dir: string;
let n = 0;
const { store: fileStore } = fileStores(() => ({ tradeLog: path.join(dir, `log-${++n}.json`), startingCapital: 100_000, maxPositions: 1000 }));

beforeAll(() => {
  dir = tempDir('tse-venue-');
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const fixedClock = () => new Date('2026-05-01T12:00:00Z');
const account = (): string => `venue_${++n}`;

/** Both stores, each holding the same log: BTC 1 LONG, ETH 2 LONG, SOL 1 SHORT, XRP 3 LONG, ADA 1 LONG. */
async function bothStores(): Promise<Array<TradeStore | PostgresTradeStore>> {
  const stores = [fileStore({ now: fixedClock }), db.store(account(), { now: fixedClock, maxPositions: 1000 })];
  for (const s of stores) {
    for (const [symbol, size, direction] of [['BTC', 1, 'LONG'], ['ETH', 2, 'LONG'], ['SOL', 1, 'SHORT'], ['XRP', 3, 'LONG'], ['ADA', 1, 'LONG']] as const) {
      const short = direction === 'SHORT';
      await s.openTrade({ symbol, direction, entry_price: 100, stop_price: short ? 105 : 95, target_price: short ? 80 : 120, size });
    }
  }
  return stores;
}

const VENUE: VenuePosition[] = [
  { symbol: 'eth', side: 'LONG', size: 1.5 },
  { symbol: 'SOL', side: 'LONG', size: 1 },
  { symbol: 'XRP', side: 'LONG', size: 3.002 },
  { symbol: 'DOGE', side: 'SHORT', size: 10 },
];
const PRICES = { BTC: 90, eth: 110, SOL: 100, DOGE: 0.1 };

async function accountVersion(name: string): Promise<number> {
  return withClient(db.url, async (c) => Number((await c.query('SELECT version FROM trade_state.accounts WHERE account = $1', [name])).rows[0]?.version ?? -1));
}

describe('compareVenue and adoptVenue on both stores', () => {
  it('give the same drift, the same adoption and the same records', async () => {
    const [file, pgStore] = (await bothStores()) as [TradeStore, PostgresTradeStore];
    const drifts = await Promise.all([file.compareVenue(VENUE), pgStore.compareVenue(VENUE)]);
    expect(drifts[1]).toEqual(drifts[0]);
    expect(drifts[0].items.map((i) => `${i.kind} ${i.symbol}`)).toEqual(['GHOST BTC', 'SIZE ETH', 'SIDE SOL', 'GHOST ADA', 'ORPHAN DOGE']);
    expect(drifts[0].matched).toEqual(['XRP']);

    const adoptions = [await file.adoptVenue(VENUE, { prices: PRICES }), await pgStore.adoptVenue(VENUE, { prices: PRICES })];
    expect(adoptions[1]).toEqual(adoptions[0]);
    // ADA has no price: left for a person, as the SIDE and the ORPHAN are.
    expect(adoptions[0]).toMatchObject({ closed: ['T001'], reduced: ['T002'] });
    expect(adoptions[0].unresolved.map((i) => `${i.kind} ${i.symbol}`)).toEqual(['SIDE SOL', 'GHOST ADA', 'ORPHAN DOGE']);
    const trades = [await file.getAllTrades(), await pgStore.getAllTrades()];
    expect(JSON.stringify(trades[1])).toBe(JSON.stringify(trades[0]));
    expect(trades[0][0]).toMatchObject({ status: 'CLOSED', exit_price: 90, exit_reason: 'venue_flat', pnl_usd: -10 });
    expect(trades[0][1]).toMatchObject({ status: 'OPEN', size: 1.5, partial_exits: [{ exit_price: 110, size_closed: 0.5, reason: 'venue_flat' }] });
    expect(await file.compareVenue(VENUE)).toEqual(await pgStore.compareVenue(VENUE));

    // One write, one audit event naming the trades it changed.
    const events = await withClient(db.url, async (c) =>
      (await c.query('SELECT kind, trade_ids, payload FROM trade_state.events WHERE account = $1 ORDER BY event_seq', [pgStore.account])).rows);
    expect(events.map((e) => e.kind)).toEqual([...Array(5).fill('openTrade'), 'adoptVenue']);
    expect(events[5]).toMatchObject({ trade_ids: ['T001', 'T002'], payload: { input: { exit_reason: 'venue_flat', tolerance: 0.001 }, result: adoptions[0] } });

    // Nothing left to settle: a second adoption writes nothing.
    const version = await accountVersion(pgStore.account);
    const bytes = fs.readFileSync(file.tradeLog);
    const again = [await file.adoptVenue(VENUE, { prices: PRICES, exitReason: 'other' }), await pgStore.adoptVenue(VENUE, { prices: PRICES, exitReason: 'other' })];
    expect(again[0]).toEqual({ closed: [], reduced: [], unresolved: adoptions[0].unresolved });
    expect(again[1]).toEqual(again[0]);
    expect(fs.readFileSync(file.tradeLog)).toEqual(bytes);
    expect(await accountVersion(pgStore.account)).toBe(version);
  });

  it('bad input is refused at the call with the same error, and writes nothing', async () => {
    const [file, pgStore] = (await bothStores()) as [TradeStore, PostgresTradeStore];
    const bytes = fs.readFileSync(file.tradeLog);
    const version = await accountVersion(pgStore.account);
    const bad: Array<[unknown, unknown, string]> = [
      [[{ symbol: 'BTC', side: 'LONG', size: -1 }], { prices: PRICES }, 'positions[0].size'],
      [[{ symbol: 'BTC', side: 'LONG', size: Infinity }], { prices: PRICES }, 'positions[0].size'],
      [[{ symbol: 'BTC', side: 'BUY', size: 1 }], { prices: PRICES }, 'positions[0].side'],
      [[{ symbol: 'BTC', side: 'LONG', size: 0 }, { symbol: 'btc', side: 'LONG', size: 0 }], { prices: PRICES }, 'positions[1].symbol'],
      [[], { prices: { BTC: -5 } }, 'prices.BTC'],
      [[], { prices: { BTC: 'x' } }, 'prices.BTC'],
      [[], {}, 'prices'],
      [[], { prices: PRICES, exitReason: '' }, 'exitReason'],
      [[], { prices: PRICES, tolerance: 2 }, 'tolerance'],
    ];
    for (const [positions, options, field] of bad) {
      const errors = await Promise.all(
        [file, pgStore].map((s) => s.adoptVenue(positions as VenuePosition[], options as { prices: Record<string, number> }).then(() => null, (e: unknown) => e)),
      );
      expect(errors[0], field).toMatchObject({ code: 'EVALIDATION', field });
      expect((errors[1] as Error).message).toBe((errors[0] as Error).message);
    }
    await expect(file.compareVenue([{ symbol: 'BTC', side: 'LONG', size: -1 }])).rejects.toMatchObject({ field: 'positions[0].size' });
    await expect(pgStore.compareVenue('BTC' as unknown as VenuePosition[])).rejects.toMatchObject({ field: 'positions' });
    expect(fs.readFileSync(file.tradeLog)).toEqual(bytes);
    expect(await accountVersion(pgStore.account)).toBe(version);
  });

  it('a broken rulebook refuses opens but not an adoption, which only closes', async () => {
    const own = path.join(dir, 'rulebook');
    fs.mkdirSync(own);
    const file = fileStore({ now: fixedClock, tradeLog: path.join(own, 'log.json') });
    const warnings = collectWarnings('TSE_SETTINGS');
    await file.openTrade({ symbol: 'BTC', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
    fs.writeFileSync(path.join(path.dirname(file.tradeLog), 'trade-state.json'), '{ broken');
    await expect(file.openTrade({ symbol: 'ETH', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 })).rejects.toMatchObject({ code: 'ESETTINGSFILE' });
    expect(await file.adoptVenue([], { prices: { BTC: 99 } })).toEqual({ closed: ['T001'], reduced: [], unresolved: [] });
    warnings.stop();
    expect(warnings.messages).toHaveLength(1);
  });
});

// ------------------------------------------------------------------------------------ the race

const GHOSTS = ['G0', 'G1', 'G2', 'G3', 'G4', 'G5', 'G6', 'G7', 'G8', 'G9'];
const WRITER_SYMBOLS = ['W0', 'W1', 'W2', 'W3', 'W4'];

function records(child: Child): Array<Record<string, string>> {
  return child.lines.map((l) => JSON.parse(l) as Record<string, string>);
}

async function race(store: TradeStore | PostgresTradeStore, args: readonly string[]): Promise<void> {
  for (const symbol of GHOSTS) await store.openTrade({ symbol, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
  const ghostIds = (await store.getOpenTrades()).map((t) => t.id);
  // The venue is flat on every ghost and holds one of each writer's symbols: a writer's trade, while
  // it is open, agrees with the venue, and adoption must leave it alone.
  const venue: VenuePosition[] = WRITER_SYMBOLS.map((symbol) => ({ symbol, side: 'LONG', size: 1 }));
  const prices = Object.fromEntries(GHOSTS.map((s) => [s, 80]));
  const children = [
    spawnNode(CHILD, ['writer', ...args, ...WRITER_SYMBOLS]),
    // Closes the ghosts from the far end, towards the adoption's order.
    spawnNode(CHILD, ['closer', ...args, ...[...ghostIds].reverse()]),
  ];
  try {
    await Promise.all(children.map((c) => c.waitFor('{"ready":true}')));
    for (const c of children) c.proc.stdin?.write('go\n');
    const adopted: string[] = [];
    // One ghost's price at a time, in log order, while the closer works from the other end.
    for (const symbol of GHOSTS) {
      const r = await store.adoptVenue(venue, { prices: { [symbol]: prices[symbol] as number } });
      adopted.push(...r.closed);
      expect(r.reduced).toEqual([]);
    }
    const exits = await Promise.all(children.map((c) => c.exited));
    expect(exits.map((e) => e.code), children.map((c) => c.stderr()).join('\n')).toEqual([0, 0]);
    const [writer, closer] = children.map(records) as [Array<Record<string, string>>, Array<Record<string, string>>];
    const closedByCloser = closer.filter((r) => r.closed !== undefined).map((r) => r.closed as string);
    expect(closer.filter((r) => r.refused !== undefined).every((r) => r.code === 'ETRADESTATE')).toBe(true);

    // Each ghost closed exactly once, by whoever came first; no trade closed twice.
    expect(new Set(adopted).size).toBe(adopted.length);
    expect([...adopted, ...closedByCloser].sort()).toEqual([...ghostIds].sort());
    const trades = await store.getAllTrades();
    for (const id of ghostIds) {
      const t = trades.find((x) => x.id === id);
      expect(t?.status).toBe('CLOSED');
      expect(t?.exit_reason).toBe(adopted.includes(id) ? 'venue_flat' : 'closer');
    }
    // Nothing lost: every acknowledged open and close of the writer is in the log, as it wrote it.
    const opened = writer.filter((r) => r.opened !== undefined).map((r) => r.opened as string);
    expect(opened).toHaveLength(WRITER_SYMBOLS.length * 2);
    expect(writer.filter((r) => r.closed !== undefined)).toHaveLength(WRITER_SYMBOLS.length * 2);
    for (const id of opened) expect(trades.find((x) => x.id === id)).toMatchObject({ status: 'CLOSED', exit_reason: 'writer' });
    expect(trades).toHaveLength(GHOSTS.length + opened.length);
    expect(new Set(trades.map((t) => t.id)).size).toBe(trades.length);
  } finally {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
  }
}

describe('adoptVenue races other processes writing the log', () => {
  it('on a file: each ghost closed once, by whoever came first; the writer loses nothing', async () => {
    const store = fileStore({ lockTimeoutMs: 60_000 });
    await race(store, ['file', store.tradeLog, store.lockFile]);
  }, 60_000);

  it('on PostgreSQL: the same', async () => {
    const name = account();
    const store = db.store(name, { maxPositions: 1000, lockTimeoutMs: 60_000 });
    await store.getAllTrades();
    await race(store, ['pg', db.url, name]);
    const kinds = await withClient(db.url, async (c) =>
      (await c.query("SELECT trade_ids FROM trade_state.events WHERE account = $1 AND kind = 'adoptVenue'", [name])).rows.flatMap((r) => r.trade_ids as string[]));
    expect(new Set(kinds).size).toBe(kinds.length);
  }, 60_000);
});
