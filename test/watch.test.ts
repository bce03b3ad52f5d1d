// store.watch() on a file log: real writer processes (Node and the original Python design), a log
// replaced by rename, the loop's end leaving nothing open, the closed store, `trade-state watch`.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { TradeStore, type TradeEvent, type TradeLog } from '../src/index.js';
import { diffEvents } from '../src/domain/trade-events.js';
import { FIXTURES, ROOT, spawnNode, tempDir, type Child } from './helpers.js';
import { fileStores } from './stores.js';
import { logOf, partialExit, tradeRecord } from './trades.js';

const CHILD = path.join(FIXTURES, 'watch-child.mjs');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const execFileP = promisify(execFile);

let dir: string;
let logFile: string;
const { store: mkStore } = fileStores(() => ({ tradeLog: logFile, maxPositions: 100 }));

beforeEach(() => {
  dir = tempDir('tse-watch-');
  logFile = path.join(dir, 'trade_log.json');
  fs.writeFileSync(logFile, JSON.stringify({ trades: [], next_id: 1 }));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const readLog = (): TradeLog => JSON.parse(fs.readFileSync(logFile, 'utf8')) as TradeLog;

/** Collects the events of a watch until `enough` says so (the test's own timeout is the limit). */
async function collect(store: TradeStore, enough: (events: TradeEvent[]) => boolean, start?: () => Promise<unknown>): Promise<TradeEvent[]> {
  const events: TradeEvent[] = [];
  const watch = store.watch();
  const started = start?.();
  for await (const e of watch) {
    events.push(e);
    if (enough(events)) break;
  }
  await started;
  return events;
}

const STAGES = ['open', 'update', 'partial', 'close'];

/** Per trade: its events in the order received, each a later stage than the one before (none twice), the last the close. */
function checkPerTrade(events: TradeEvent[], log: TradeLog): void {
  const byId = new Map<string, TradeEvent[]>();
  for (const e of events) byId.set(e.trade_id, [...(byId.get(e.trade_id) ?? []), e]);
  expect([...byId.keys()].sort()).toEqual(log.trades.map((t) => t.id).sort());
  for (const t of log.trades) {
    const mine = byId.get(t.id) as TradeEvent[];
    const stages = mine.map((e) => STAGES.indexOf(e.kind));
    expect(stages.every((s, i) => s >= 0 && (i === 0 || s > (stages[i - 1] as number))), `${t.id}: ${mine.map((e) => e.kind).join(',')}`).toBe(true);
    const last = mine[mine.length - 1] as TradeEvent;
    expect(last.kind).toBe('close');
    expect(last.trade).toEqual(t);
    expect(last.at).toBe(t.exit_time);
    expect(Object.isFrozen(last.trade)).toBe(true);
  }
}

function lineWith(child: Child, text: string): Promise<void> {
  return new Promise((resolve) => {
    const check = setInterval(() => {
      if (!child.lines.some((l) => l.includes(text))) return;
      clearInterval(check);
      resolve();
    }, 10);
  });
}

const closedAll = (n: number) => (events: TradeEvent[]) => events.filter((e) => e.kind === 'close').length === n;

describe('store.watch() on a file log', () => {
  it('a burst of 4 writer processes: every trade seen, its changes in order, none twice, its last record exact', async () => {
    const s = mkStore();
    const writers: Child[] = [];
    const events = await collect(s, closedAll(20), async () => {
      for (const p of ['WA', 'WB', 'WC', 'WD']) writers.push(spawnNode(CHILD, ['write-file', logFile, p, '5']));
      const exits = await Promise.all(writers.map((w) => w.exited));
      exits.forEach((e, i) => expect(e, writers[i]?.stderr()).toEqual({ code: 0, signal: null }));
    });
    const log = readLog();
    expect(log.trades).toHaveLength(20);
    checkPerTrade(events, log);
    expect(events.every((e) => e.seq === null)).toBe(true);
    // Every change the log records, exactly: one open per trade, one partial per partial exit, one close per closed trade.
    const count = (kind: string) => events.filter((e) => e.kind === kind).length;
    expect(count('open')).toBe(log.trades.length);
    expect(count('partial')).toBe(log.trades.reduce((n, t) => n + (t.partial_exits?.length ?? 0), 0));
    expect(count('close')).toBe(log.trades.filter((t) => t.status === 'CLOSED').length);
    // The update of each trade is seen unless it fell between two looks beside another change: never twice.
    expect(count('update')).toBeLessThanOrEqual(log.trades.length);
  });

  it('a log replaced by rename: the trades it changed, added or removed are each one `replace`', async () => {
    const s = mkStore();
    const a = await s.openTrade({ symbol: 'AAA', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
    const b = await s.openTrade({ symbol: 'BBB', direction: 'LONG', entry_price: 50, stop_price: 45, target_price: 60, size: 1 });
    await s.openTrade({ symbol: 'CCC', direction: 'LONG', entry_price: 10, stop_price: 9, target_price: 12, size: 1 });
    const events = await collect(s, (e) => e.length >= 3, async () => {
      // What an import or another tool does: a whole new version, renamed over the log.
      const log = readLog();
      const next = {
        ...log,
        trades: [{ ...log.trades[0], entry_price: 101 }, log.trades[1], tradeRecord('T009', { symbol: 'ZZZ' })],
        next_id: 10,
      };
      const tmp = path.join(dir, '.import.tmp');
      fs.writeFileSync(tmp, JSON.stringify(next));
      fs.renameSync(tmp, logFile);
    });
    expect(events.map((e) => [e.kind, e.trade_id, e.trade?.symbol ?? null])).toEqual([
      ['replace', a.id, 'AAA'],
      ['replace', 'T009', 'ZZZ'],
      ['replace', 'T003', null],
    ]);
    expect(events.some((e) => e.trade_id === b.id)).toBe(false);
  });

  it("a Python writer's opens and closes (fcntl.flock, os.replace) are seen", async () => {
    const s = mkStore();
    let ids: string[] = [];
    const events = await collect(s, closedAll(3), async () => {
      const { stdout } = await execFileP('python3', [path.join(FIXTURES, 'py_writer.py'), logFile, s.lockFile, '3']);
      ids = (JSON.parse(stdout) as { ids: string[] }).ids;
    });
    expect(ids).toHaveLength(3);
    checkPerTrade(events, readLog());
    expect(events.every((e) => e.trade?.py_only_field !== undefined)).toBe(true);
  });

  it.each(['break', 'abort'])('ending the loop (%s) closes the watcher and the poll: the process exits by itself', async (how) => {
    const child = spawnNode(CHILD, ['watch-file', logFile, how]);
    await child.waitFor('{"ready":true}');
    await mkStore().openTrade({ symbol: 'END', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 });
    // A watcher or timer left open would keep the child alive: the test would time out here.
    expect(await child.exited, child.stderr()).toEqual({ code: 0, signal: null });
    expect(child.lines).toHaveLength(3);
    expect(JSON.parse(child.lines[1] as string)).toMatchObject({ kind: 'open', trade_id: 'T001' });
    expect(child.lines[2]).toBe('{"ended":true}');
  });

  it('a watch asked for but never iterated holds nothing: the process exits by itself', async () => {
    const child = spawnNode(CHILD, ['idle-file', logFile]);
    expect(await child.exited, child.stderr()).toEqual({ code: 0, signal: null });
    expect(child.lines).toEqual(['{"idle":true}']);
  });

  it('watch() on a closed store: StoreClosedError (ECLOSED); close() ends a running watch', async () => {
    const s = mkStore();
    const running = (async () => {
      const seen: TradeEvent[] = [];
      for await (const e of s.watch()) seen.push(e);
      return seen;
    })();
    s.close();
    expect(await running).toEqual([]);
    expect(() => s.watch()).toThrow(expect.objectContaining({ name: 'StoreClosedError', code: 'ECLOSED' }));
    // The store itself stays usable for writes (a file store reopens).
    await expect(s.openTrade({ symbol: 'X', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1 })).resolves.toMatchObject({ id: 'T001' });
  });

  it('bad options are refused at the call, naming the option; `since` is for PostgreSQL', async () => {
    const s = mkStore();
    expect(() => s.watch({ pollMs: 0 })).toThrow(expect.objectContaining({ code: 'EVALIDATION', field: 'pollMs' }));
    expect(() => s.watch({ signal: 'x' as unknown as AbortSignal })).toThrow(expect.objectContaining({ code: 'EVALIDATION', field: 'signal' }));
    await expect(s.watch({ since: 3 }).next()).rejects.toMatchObject({ code: 'EVALIDATION', field: 'since' });
  });
});

describe('diffEvents (a file: versions compared)', () => {
  const base = logOf(tradeRecord('T001'));

  it('a trade opened, partly closed twice and closed between two looks is each of those changes, with its latest record', () => {
    const closed = tradeRecord('T002', {
      status: 'CLOSED',
      exit_price: 110,
      exit_time: '2026-01-02T00:00:00+00:00',
      partial_exits: [partialExit('2026-01-01T12:00:00+00:00', 5), partialExit('2026-01-01T18:00:00+00:00', 6)],
    });
    const events = diffEvents(base, { ...base, trades: [...base.trades, closed] }, 'SEEN');
    expect(events.map((e) => [e.kind, e.at])).toEqual([
      ['open', closed.entry_time],
      ['partial', '2026-01-01T12:00:00+00:00'],
      ['partial', '2026-01-01T18:00:00+00:00'],
      ['close', '2026-01-02T00:00:00+00:00'],
    ]);
    expect(events.every((e) => e.trade_id === 'T002' && e.seq === null && JSON.stringify(e.trade) === JSON.stringify(closed))).toBe(true);
  });

  it('an update has no time in the log: `at` is when the watcher saw it; an unchanged record read again is no event', () => {
    const t = base.trades[0];
    const again = JSON.parse(JSON.stringify(base)) as TradeLog;
    expect(diffEvents(base, again, 'SEEN')).toEqual([]);
    const moved = { ...base, trades: [{ ...t, stop_price: (t?.stop_price ?? 0) + 1 }] } as TradeLog;
    expect(diffEvents(base, moved, 'SEEN')).toMatchObject([{ kind: 'update', trade_id: 'T001', at: 'SEEN' }]);
  });
});

describe('trade-state watch', () => {
  it('--json: one JSON line per change until SIGINT, then exit 0', async () => {
    const child = spawnNode(CLI, ['watch', '--json', '--log', logFile]);
    await child.waitFor('{"ok":true,"command":"watch","event":"started"}');
    const s = mkStore();
    // Each change waited for: two changes between two looks of a file would be one line.
    const t = await s.openTrade({ symbol: 'CLI', direction: 'SHORT', entry_price: 100, stop_price: 105, target_price: 90, size: 1 });
    await lineWith(child, '"kind":"open"');
    await s.closeTrade(t.id, { exit_price: 95 });
    await lineWith(child, '"kind":"close"');
    child.proc.kill('SIGINT');
    expect(await child.exited, child.stderr()).toEqual({ code: 0, signal: null });
    const lines = child.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toEqual({ ok: true, command: 'watch', event: 'stopped' });
    const kinds = lines.filter((l) => 'kind' in l).map((l) => [l.kind, l.trade_id, (l.trade as { status: string }).status]);
    expect(kinds).toEqual([
      ['open', 'T001', 'OPEN'],
      ['close', 'T001', 'CLOSED'],
    ]);
    expect(lines.every((l) => l.ok === true && l.command === 'watch')).toBe(true);
  });
});
