import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type Trade, type TradeLog } from '../src/index.js';
import { EIO, failCommits, wrapCommit } from './commit-faults.js';
import { FIXTURES, sleep, spawnNode, tempDir } from './helpers.js';
import { fileStores } from './stores.js';

const GROUP_CHILD = path.join(FIXTURES, 'group-child.mjs');
const LOCK_CHILD = path.join(FIXTURES, 'lock-child.mjs');

let dir: string;
let logFile: string;
let lockFile: string;
const { store: mkStore } = fileStores(() => ({ tradeLog: logFile, lockFile, startingCapital: 100_000, maxPositions: 1000 }));
const readLog = (): TradeLog => JSON.parse(fs.readFileSync(logFile, 'utf8')) as TradeLog;
const open = (symbol: string, extra: Record<string, unknown> = {}) => ({
  symbol, direction: 'LONG' as const, entry_price: 100, stop_price: 95, target_price: 110, size: 1, ...extra,
});

/** Settles every promise: each caller's own result or own error. */
const outcomes = (ps: Array<Promise<unknown>>) =>
  Promise.all(ps.map((p) => p.then((v) => ({ ok: v }), (e: { code?: string }) => ({ err: e.code ?? String(e) }))));

/**
 * Counts the durable writes of the log: each one ends in one commit job onto it (the addon's
 * commitReplace, which durable-write.ts looks up at each call: commit-faults.ts).
 */
function countWrites(): { count: () => number; restore: () => void } {
  let n = 0;
  const restore = wrapCommit((real, target, callback) => {
    if (target === logFile) n++;
    real(null, callback);
  });
  return { count: () => n, restore };
}

beforeEach(() => {
  dir = tempDir('tse-group-');
  logFile = path.join(dir, 'trades', 'trade_log.json');
  lockFile = path.join(dir, 'trades', 'trade.lock');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('group commit inside one process', () => {
  it('16 concurrent opens get ids in call order and land in one durable write', async () => {
    const store = mkStore();
    await store.openTrade(open('FIRST')); // the log and its folder exist: count only the group's write
    const writes = countWrites();
    let trades: Trade[];
    try {
      trades = await Promise.all(Array.from({ length: 16 }, (_, i) => store.openTrade(open(`S${i}`))));
    } finally {
      writes.restore();
    }
    expect(trades.map((t) => t.symbol)).toEqual(Array.from({ length: 16 }, (_, i) => `S${i}`));
    expect(trades.map((t) => t.id)).toEqual(Array.from({ length: 16 }, (_, i) => `T${String(i + 2).padStart(3, '0')}`));
    expect(writes.count()).toBe(1);
    const log = readLog();
    expect(log.trades.map((t) => t.symbol)).toEqual(['FIRST', ...trades.map((t) => t.symbol)]);
    expect(log.next_id).toBe(18);
    expect(trades.every((t) => Object.isFrozen(t))).toBe(true);
    store.close();
  });

  it('no call of a group resolves before its write is durable, directory fsync included', async () => {
    const store = mkStore();
    await store.openTrade(open('FIRST'));
    const events: string[] = [];
    // A slow commit (the temp file's fsync, the rename, the directory's fsync: one job), so that a
    // premature acknowledgement would show; it reports how far it got.
    const restore = wrapCommit((real, target, callback) =>
      real(null, (err, stage) => setTimeout(() => {
        events.push(`commit ${target === logFile ? 'log' : target} stage ${stage}`);
        callback(err, stage);
      }, 30)),
    );
    try {
      await Promise.all(Array.from({ length: 5 }, (_, i) => store.openTrade(open(`S${i}`)).then(() => events.push(`ack${i}`))));
    } finally {
      restore();
    }
    // One group: one commit that got through every step (0), then the five acknowledgements in order.
    expect(events).toEqual(['commit log stage 0', 'ack0', 'ack1', 'ack2', 'ack3', 'ack4']);
    store.close();
  });

  it('a DUPLICATE_SYMBOL in the middle of a group fails that call only; the next calls see the ones before', async () => {
    const store = mkStore();
    await store.openTrade(open('FIRST'));
    const writes = countWrites();
    let r;
    try {
      r = await outcomes([
        store.openTrade(open('A')),
        store.openTrade(open('B')),
        store.openTrade(open('A')), // A was opened two calls earlier in this very group
        store.openTrade(open('C')),
      ]);
    } finally {
      writes.restore();
    }
    expect(r).toEqual([
      { ok: expect.objectContaining({ id: 'T002', symbol: 'A' }) },
      { ok: expect.objectContaining({ id: 'T003', symbol: 'B' }) },
      { err: 'DUPLICATE_SYMBOL' },
      { ok: expect.objectContaining({ id: 'T004', symbol: 'C' }) },
    ]);
    expect(writes.count()).toBe(1);
    expect(readLog().trades.map((t) => t.symbol)).toEqual(['FIRST', 'A', 'B', 'C']);
    expect(readLog().next_id).toBe(5);
    store.close();
  });

  it('a POSITION_CAP reached mid-group refuses exactly the calls past the cap, and a close in the group frees a slot', async () => {
    const store = mkStore({ maxPositions: 3 });
    await store.openTrade(open('FIRST'));
    const writes = countWrites();
    const r = await outcomes([
      store.openTrade(open('A')),
      store.openTrade(open('B')), // the third OPEN: the cap
      store.openTrade(open('C')),
      store.openTrade(open('D')),
      store.closeTrade('T001', { exit_price: 101 }),
      store.openTrade(open('E')), // after the close: room again
      store.openTrade(open('F')),
    ]).finally(writes.restore);
    expect(writes.count()).toBe(1);
    expect(r.map((x) => ('err' in x ? x.err : (x.ok as Trade).symbol))).toEqual(['A', 'B', 'POSITION_CAP', 'POSITION_CAP', 'FIRST', 'E', 'POSITION_CAP']);
    const log = readLog();
    expect(log.trades.map((t) => [t.id, t.symbol, t.status])).toEqual([
      ['T001', 'FIRST', 'CLOSED'], ['T002', 'A', 'OPEN'], ['T003', 'B', 'OPEN'], ['T004', 'E', 'OPEN'],
    ]);
    store.close();
  });

  it('the same client_id twice in one group opens one trade and gives both callers that trade', async () => {
    const store = mkStore();
    await store.openTrade(open('FIRST'));
    const writes = countWrites();
    const [a, b, c] = await outcomes([
      store.openTrade(open('BTC', { client_id: 'scan-1' })),
      store.openTrade(open('BTC', { client_id: 'scan-1' })),
      store.openTrade(open('ETH', { client_id: 'scan-1' })), // the id names a BTC trade: refused
    ]).finally(writes.restore);
    expect(a).toEqual({ ok: expect.objectContaining({ id: 'T002', client_id: 'scan-1' }) });
    expect(b).toEqual(a);
    expect(c).toEqual({ err: 'EVALIDATION' });
    expect(readLog().trades).toHaveLength(2);
    expect(writes.count()).toBe(1);
    store.close();
  });

  it('HALTED sees a loss closed earlier in the same group; closes and unknown ids are answered one by one', async () => {
    const store = mkStore();
    await fs.promises.mkdir(path.dirname(logFile), { recursive: true });
    const writes = countWrites();
    const r = await outcomes([
      store.openTrade(open('BTC', { entry_price: 65000, stop_price: 63500, target_price: 68000, size: 1 })),
      store.closeTrade('T009', { exit_price: 1 }), // no such trade
      store.closeTrade('T001', { exit_price: 60000 }), // -5,000 on 100,000: past the daily limit
      store.openTrade(open('ETH')),
    ]).finally(writes.restore);
    expect(r.map((x) => ('err' in x ? x.err : (x.ok as Trade).id))).toEqual(['T001', 'ETRADENOTFOUND', 'T001', 'HALTED']);
    expect(writes.count()).toBe(1);
    expect(readLog().trades.map((t) => [t.id, t.status])).toEqual([['T001', 'CLOSED']]);
    store.close();
  });

  it('a failed durable write rejects every call of the group with its error and leaves the log byte for byte', async () => {
    const store = mkStore();
    await store.openTrade(open('FIRST'));
    const before = fs.readFileSync(logFile);
    const commits = failCommits(logFile, { fsync: EIO });
    let r;
    try {
      r = await outcomes([store.openTrade(open('A')), store.openTrade(open('FIRST')), store.openTrade(open('B'))]);
    } finally {
      commits.restore();
    }
    expect(commits.calls()).toBe(1);
    expect(r).toEqual([{ err: 'EIO' }, { err: 'EIO' }, { err: 'EIO' }]);
    expect(fs.readFileSync(logFile).equals(before)).toBe(true);
    expect(fs.readdirSync(path.dirname(logFile)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // The store goes on from the file, not from the group that failed.
    const t = await store.openTrade(open('A'));
    expect(t.id).toBe('T002');
    expect(readLog().trades.map((x) => x.symbol)).toEqual(['FIRST', 'A']);
    store.close();
  });

  it('calls piling up behind a lock held by another process all wait, then land in one write, in order', async () => {
    const store = mkStore();
    await store.openTrade(open('FIRST'));
    const holder = spawnNode(LOCK_CHILD, ['hold', lockFile]);
    await holder.waitFor('locked');
    const writes = countWrites();
    const acked: string[] = [];
    const calls: Array<Promise<unknown>> = [];
    try {
      for (let i = 0; i < 6; i++) {
        calls.push(store.openTrade(open(`S${i}`)).then((t) => acked.push(t.id)));
        await sleep(20); // arriving one by one while the lock is held elsewhere
      }
      calls.push(store.updateTrade('T001', { notes: 'trailed' }).then((t) => acked.push(`${t.id}:${t.notes}`)));
      await sleep(100);
      expect(acked).toEqual([]); // all still waiting
      holder.proc.stdin?.end();
      await Promise.all(calls);
    } finally {
      writes.restore();
      holder.proc.stdin?.end();
      await holder.exited;
    }
    expect(acked).toEqual(['T002', 'T003', 'T004', 'T005', 'T006', 'T007', 'T001:trailed']);
    expect(writes.count()).toBe(1);
    expect(readLog().trades.map((t) => t.symbol)).toEqual(['FIRST', 'S0', 'S1', 'S2', 'S3', 'S4', 'S5']);
    store.close();
  });

  it('each call keeps its own lock timeout, counted from its arrival', async () => {
    const store = mkStore({ lockTimeoutMs: 300 });
    await store.openTrade(open('FIRST'));
    const holder = spawnNode(LOCK_CHILD, ['hold', lockFile]);
    await holder.waitFor('locked');
    try {
      const t0 = performance.now();
      const early = store.openTrade(open('EARLY')).then(() => 'ok', (e: { code?: string }) => [e.code, performance.now() - t0]);
      await sleep(200);
      const late = store.openTrade(open('LATE')).then(() => 'ok', (e: { code?: string }) => e.code);
      const e = (await early) as [string, number];
      expect(e[0]).toBe('ELOCKTIMEOUT');
      expect(e[1]).toBeLessThan(450); // its own 300 ms, not the late call's
      holder.proc.stdin?.end(); // the late call still has about 200 ms: it gets the lock
      expect(await late).toBe('ok');
    } finally {
      holder.proc.stdin?.end();
      await holder.exited;
    }
    expect(readLog().trades.map((t) => t.symbol)).toEqual(['FIRST', 'LATE']);
    store.close();
  });
});

describe('group commit across a crash', () => {
  it('SIGKILL during grouped writes: every acknowledged call is in the log and no group is half-applied', async () => {
    const size = 5;
    const acked = new Set<string>();
    let lastLog: TradeLog = { trades: [], next_id: 1 };
    for (let round = 0; round < 10; round++) {
      const child = spawnNode(GROUP_CHILD, ['groups', logFile, lockFile, String(size)]);
      while (child.lines.length === 0 && child.proc.exitCode === null) await sleep(2);
      await sleep(Math.floor(Math.random() * 80));
      child.proc.kill('SIGKILL');
      await child.exited;
      expect(child.stderr()).toBe('');
      for (const line of child.lines) acked.add((JSON.parse(line) as { ack: string }).ack);
      lastLog = readLog(); // throws if torn
      const present = new Set(lastLog.trades.map((t) => t.client_id));
      for (const id of acked) expect(present.has(id), `acknowledged ${id} lost in round ${round}`).toBe(true);
      const perGroup = new Map<string, number>();
      for (const t of lastLog.trades) {
        const g = String(t.client_id).replace(/-\d+$/, '');
        perGroup.set(g, (perGroup.get(g) ?? 0) + 1);
      }
      for (const [g, n] of perGroup) expect(n, `group ${g} half-applied in round ${round}`).toBe(size);
      expect(new Set(lastLog.trades.map((t) => t.id)).size).toBe(lastLog.trades.length);
    }
    expect(acked.size).toBeGreaterThan(2 * size);
    expect(lastLog.trades.length).toBeGreaterThanOrEqual(acked.size);
  });
});
