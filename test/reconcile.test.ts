import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  DERIVED_FILES,
  RECONCILER_HISTORY_FILE,
  StateReconciler,
  TradeLogCorruptError,
  TradeStore,
  type HistoryViolation,
  type ReconcileResult,
  type ReconcilerOptions,
  type Trade,
} from '../src/index.js';
import { tempDir } from './helpers.js';
import { logOf, tradeRecord, withoutBook, type TradeFields } from './trades.js';

type Json = Record<string, unknown>;

let dir: string;
let logFile: string;
let out: string;

beforeEach(() => {
  dir = tempDir('tse-rec-');
  logFile = path.join(dir, 'trades', 'trade_log.json');
  out = path.join(dir, 'state');
  fs.mkdirSync(path.dirname(logFile));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const NOW = new Date('2026-03-12T12:00:00Z'); // a Thursday; its ISO week starts Monday 2026-03-09
const mk = (extra: Partial<ReconcilerOptions> = {}) =>
  new StateReconciler({ tradeLog: logFile, outputDir: out, startingCapital: 10_000, now: () => NOW, ...extra });
const writeLog = (log: unknown) => fs.writeFileSync(logFile, `${JSON.stringify(log, null, 2)}\n`);
const readOut = (name: string): Json => JSON.parse(fs.readFileSync(path.join(out, name), 'utf8')) as Json;
const snapshot = () => Object.fromEntries([...DERIVED_FILES, RECONCILER_HISTORY_FILE].map((f) => [f, fs.readFileSync(path.join(out, f))]));
const expectOk = (r: ReconcileResult) => {
  if (!r.ok) throw new Error(`expected ok, got ${r.reason}: ${r.message}`);
  return r;
};

function closed(id: string, o: TradeFields = {}): Trade {
  return tradeRecord(id, {
    stop_price: 90, original_stop: 90, target_price: 130, entry_time: '2026-03-01T09:00:00.000000+00:00', exit_price: 110,
    exit_time: '2026-03-02T10:00:00.000000+00:00', exit_reason: 'target', pnl_usd: 10, pnl_pct: 10, r_multiple: 1,
    status: 'CLOSED', setup_type: 'breakout', grade: 'A', ...o,
  });
}
const manyClosed = (n: number) => logOf(...Array.from({ length: n }, (_, i) => closed(`T${String(i + 1).padStart(3, '0')}`)));

/**
 * Hand-checked golden log, starting capital 10,000, now 2026-03-12T12:00Z:
 * T001 BTC LONG  100 -> 120 x10, closed 03-02:            +200 (W, R 2)
 * T002 ETH SHORT  50 ->  52 x20, closed 03-05:             -40 (L, R -0.4)
 * T003 SOL LONG   10, half (50) out at 12 on 03-10 (+100), rest at 11 on 03-11 (+50): net +150 (W, R 1)
 * T004 AAPL LONG 200 stop 190, OPEN, 2 of 5 out at 210 on 03-12: +20 realized, 3 still open
 * T005 NVDA LONG 100 -> 100 x2, closed 03-06: 0 (BE, r_multiple 0 -> fallback 0 / (5 x 2) = 0)
 */
const golden = {
  trades: [
    closed('T001', { entry_price: 100, stop_price: 90, original_stop: 90, size: 10, original_size: 10, exit_price: 120,
      exit_time: '2026-03-02T10:00:00.000000+00:00', pnl_usd: 200, pnl_pct: 20, r_multiple: 2 }),
    closed('T002', { symbol: 'ETH', direction: 'SHORT', entry_price: 50, stop_price: 55, original_stop: 55, target_price: 40,
      size: 20, original_size: 20, exit_price: 52, exit_time: '2026-03-05T15:00:00.000000+00:00', pnl_usd: -40, pnl_pct: -4,
      r_multiple: -0.4, setup_type: 'pullback' }),
    closed('T003', { symbol: 'SOL', entry_price: 10, stop_price: 9, original_stop: 9, target_price: 13, size: 50, original_size: 100,
      partial_exits: [{ exit_price: 12, size_closed: 50, pnl_usd: 100, reason: 'tp1', timestamp: '2026-03-10T09:00:00.000000+00:00' }],
      exit_price: 11, exit_time: '2026-03-11T16:00:00.000000+00:00', pnl_usd: 50, pnl_pct: 10, r_multiple: 1 }),
    { ...closed('T004', { symbol: 'AAPL', entry_price: 200, stop_price: 190, original_stop: 190, target_price: 230, size: 3,
      original_size: 5, partial_exits: [{ exit_price: 210, size_closed: 2, pnl_usd: 20, reason: 'tp1',
        timestamp: '2026-03-12T08:00:00.000000+00:00' }] }),
      exit_price: null, exit_time: null, exit_reason: null, pnl_usd: null, pnl_pct: null, r_multiple: null, status: 'OPEN' },
    closed('T005', { symbol: 'NVDA', entry_price: 100, stop_price: 95, original_stop: 95, size: 2, original_size: 2, exit_price: 100,
      exit_time: '2026-03-06T12:00:00.000000+00:00', pnl_usd: 0, pnl_pct: 0, r_multiple: 0, setup_type: null }),
  ],
  next_id: 6,
};

describe('golden end to end', () => {
  it('writes the four files with the hand-computed numbers', async () => {
    writeLog(golden);
    const r = expectOk(await mk().reconcile());
    expect(r.files).toEqual(DERIVED_FILES.map((f) => path.join(out, f)));
    expect(r).toMatchObject({ closedTrades: 4, openTrades: 1, invariantViolations: [] });
    const stamp = '2026-03-12T12:00:00.000000+00:00';

    expect(readOut('portfolio.json')).toEqual({
      balance: 10330, current_equity: 10330, starting_capital: 10000, realized_pnl: 330, total_trades: 4,
      winning_trades: 2, losing_trades: 1,
      open_positions: [{ trade_id: 'T004', symbol: 'AAPL', direction: 'LONG', size: 3, entry_price: 200 }],
      last_updated: stamp,
    });

    const e = readOut('equity.json');
    const day = (d: string, equity: number) => ({ date: `2026-03-${d}`, equity });
    expect(e.equity_curve).toEqual([
      day('02', 10200), day('03', 10200), day('04', 10200), day('05', 10160), day('06', 10160), day('07', 10160),
      day('08', 10160), day('09', 10160), day('10', 10260), day('11', 10310), day('12', 10330),
    ]);
    expect(e).toMatchObject({
      starting_capital: 10000, current_equity: 10330, total_pnl: 330, total_return_pct: 3.3, inception_date: '2026-03-02',
      peak_equity: 10330, drawdown_percent: 0, drawdown_status: 'NORMAL',
      max_drawdown_pct: -0.39, // (10160 - 10200) / 10200 = -0.392 %
      max_drawdown_days: 5, current_drawdown_days: 0, total_trades: 4, winning_trades: 2, losing_trades: 1,
      win_rate: 50, profit_factor: 8.75, // 350 / 40
      avg_r: 0.65, // (2 - 0.4 + 1 + 0) / 4
      portfolio_heat: 0.29, // 10 x 3 / 10330
      heat_per_position: [{ trade_id: 'T004', symbol: 'AAPL', risk_pct: 0.29 }],
      current_streak: 1, max_win_streak: 1, max_loss_streak: 1, last_5_results: ['W', 'L', 'BE', 'W'],
      last_updated: stamp,
    });

    expect(withoutBook(readOut('risk_state.json'))).toEqual({
      starting_value: 10000, current_value: 10330,
      daily_start_value: 10310, // end of 03-11
      weekly_start_value: 10160, // Monday 03-09 00:00
      daily_reset_date: '2026-03-12', weekly_reset_date: '2026-03-09', halted: false, halt_reason: null,
      open_positions: [{ symbol: 'AAPL', direction: 'LONG', trade_id: 'T004' }], last_updated: stamp,
    });

    const sp = readOut('setup_performance.json');
    expect(Object.keys(sp.setups as Json)).toEqual(['breakout', 'Unknown', 'pullback']); // by expectancy 1.5, 0, -0.4
    expect(withoutBook(sp)).toEqual({
      setups: {
        breakout: { total_trades: 2, wins: 2, losses: 0, breakeven: 0, win_rate: 100, avg_r: 1.5, avg_win_r: 1.5, avg_loss_r: 0,
          expectancy: 1.5, total_pnl: 350, trades: ['T001', 'T003'] },
        Unknown: { total_trades: 1, wins: 0, losses: 0, breakeven: 1, win_rate: 0, avg_r: 0, avg_win_r: 0, avg_loss_r: 0,
          expectancy: 0, total_pnl: 0, trades: ['T005'] },
        pullback: { total_trades: 1, wins: 0, losses: 1, breakeven: 0, win_rate: 0, avg_r: -0.4, avg_win_r: 0, avg_loss_r: -0.4,
          expectancy: -0.4, total_pnl: -40, trades: ['T002'] },
      },
      total_closed: 4,
      last_updated: stamp,
    });

    // the files' own format: two-space indent and a trailing newline
    for (const f of DERIVED_FILES) {
      const text = fs.readFileSync(path.join(out, f), 'utf8');
      expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
    }
  });

  it('treats a missing log as empty and creates the output directory', async () => {
    const r = expectOk(await mk().reconcile());
    expect(r).toMatchObject({ closedTrades: 0, openTrades: 0 });
    expect(readOut('portfolio.json')).toMatchObject({ balance: 10000, total_trades: 0, open_positions: [] });
    expect(readOut('setup_performance.json')).toEqual({ setups: {}, last_updated: '2026-03-12T12:00:00.000000+00:00' });
    expect(fs.existsSync(logFile)).toBe(false); // never created either
  });

  it('defaults outputDir to ./state under the cwd at construction', () => {
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      const rec = new StateReconciler({ tradeLog: logFile });
      expect(rec.outputDir).toBe(path.join(fs.realpathSync(dir), 'state'));
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('self-healing', () => {
  const damages: [string, (f: string) => void][] = [
    ['deleted', (f) => fs.rmSync(f)],
    ['garbage', (f) => fs.writeFileSync(f, 'not json {{{')],
    ['truncated', (f) => fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 25))],
  ];
  for (const file of DERIVED_FILES) {
    for (const [how, damage] of damages) {
      it(`rebuilds ${file} when ${how}, byte for byte`, async () => {
        writeLog(golden);
        const rec = mk();
        expectOk(await rec.reconcile());
        const before = snapshot();
        damage(path.join(out, file));
        expectOk(await rec.reconcile());
        expect(snapshot()).toEqual(before);
        // and a fresh reconciler (a restart) writes the same
        damage(path.join(out, file));
        expectOk(await mk().reconcile());
        expect(snapshot()).toEqual(before);
      });
    }
  }

  it('with a later clock only last_updated differs', async () => {
    writeLog(golden);
    expectOk(await mk().reconcile());
    const before = Object.fromEntries(DERIVED_FILES.map((f) => [f, readOut(f)]));
    const later = new Date(NOW.getTime() + 7 * 60_000);
    expectOk(await mk({ now: () => later }).reconcile());
    for (const f of DERIVED_FILES) {
      const now = readOut(f);
      expect(now.last_updated).toBe('2026-03-12T12:07:00.000000+00:00');
      expect({ ...now, last_updated: 0 }).toEqual({ ...before[f], last_updated: 0 });
    }
  });
});

describe('the trade log is only read', () => {
  it('keeps its bytes, inode and times, and its directory gets no new file', async () => {
    writeLog(golden);
    const st0 = fs.statSync(logFile, { bigint: true });
    const bytes0 = fs.readFileSync(logFile);
    const names0 = fs.readdirSync(path.dirname(logFile));
    const rec = mk();
    for (let i = 0; i < 3; i++) expectOk(await rec.reconcile());
    const st1 = fs.statSync(logFile, { bigint: true });
    expect(fs.readFileSync(logFile)).toEqual(bytes0);
    expect([st1.ino, st1.mtimeNs, st1.ctimeNs, st1.size]).toEqual([st0.ino, st0.mtimeNs, st0.ctimeNs, st0.size]);
    expect(fs.readdirSync(path.dirname(logFile))).toEqual(names0); // no lock file, no temp file
  });
});

describe('damaged log', () => {
  const damaged: [string, (good: string) => string][] = [
    ['garbage', () => 'garbage'],
    ['truncated', (good) => good.slice(0, good.length / 2)],
    ['empty', () => ''],
    ['wrong shape', () => JSON.stringify({ trades: 'none', next_id: 1 })],
  ];
  for (const [how, make] of damaged) {
    it(`is refused (${how}) and every derived file is left byte for byte`, async () => {
      writeLog(golden);
      const rec = mk();
      expectOk(await rec.reconcile());
      const before = snapshot();
      fs.writeFileSync(logFile, make(fs.readFileSync(logFile, 'utf8')));
      const r = await rec.reconcile();
      expect(r).toMatchObject({ ok: false, reason: 'LOG_CORRUPT', files: [] });
      if (r.ok) return;
      expect(r.error).toBeInstanceOf(TradeLogCorruptError);
      expect(r.message).toContain(logFile);
      expect(snapshot()).toEqual(before);
      // a fresh reconciler (no cache) refuses too
      expect(await mk().reconcile()).toMatchObject({ ok: false, reason: 'LOG_CORRUPT' });
      expect(snapshot()).toEqual(before);
    });
  }
});

describe('count guard (FORMULAS.md)', () => {
  const equityWith = (n: number) => {
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'equity.json'), `${JSON.stringify({ total_trades: n })}\n`);
  };

  it('refuses when the previous cycle saw 20 closed trades and the log now has 9', async () => {
    writeLog(manyClosed(20));
    const calls: [number, number][] = [];
    const rec = mk({ onCorruption: (p, c) => void calls.push([p, c]) });
    expectOk(await rec.reconcile());
    const before = snapshot();
    writeLog(manyClosed(9));
    const r = await rec.reconcile();
    expect(r).toMatchObject({ ok: false, reason: 'COUNT_GUARD', files: [] });
    expect(calls).toEqual([[20, 9]]);
    expect(snapshot()).toEqual(before);
  });

  it.each([
    [20, 10, true], // 10 is not below half of 20
    [11, 5, false], // 5 < 5.5
    [10, 0, true], // the previous count must be above 10
    [12, 6, true],
  ])('previous %i, now %i: proceeds = %s', async (previous, now, proceeds) => {
    equityWith(previous); // no history file: only the count guard can refuse
    writeLog(manyClosed(now));
    const calls: [number, number][] = [];
    const r = await mk({ onCorruption: (p, c) => void calls.push([p, c]) }).reconcile();
    expect(r.ok).toBe(proceeds);
    expect(calls).toEqual(proceeds ? [] : [[previous, now]]);
    if (!proceeds) expect(readOut('equity.json')).toEqual({ total_trades: previous }); // kept
  });

  it('proceeds when equity.json is missing or unreadable', async () => {
    writeLog(manyClosed(1));
    expectOk(await mk().reconcile()); // none yet
    fs.writeFileSync(path.join(out, 'equity.json'), '{"total_trades": 50'); // torn
    const calls: unknown[] = [];
    expectOk(await mk({ onCorruption: (...a) => void calls.push(a) }).reconcile());
    expect(calls).toEqual([]);
    expect(readOut('equity.json').total_trades).toBe(1);
  });
});

describe('history guard', () => {
  const five = () => logOf(...['T001', 'T002', 'T003', 'T004', 'T005'].map((id) => closed(id)));

  async function baseline(log: unknown = five()) {
    writeLog(log);
    const violations: HistoryViolation[] = [];
    const rec = mk({ onHistoryViolation: (v) => void violations.push(v) });
    expectOk(await rec.reconcile());
    return { rec, violations, before: snapshot() };
  }

  it('remembers each closed trade and next_id after a good cycle', async () => {
    await baseline();
    const h = readOut(RECONCILER_HISTORY_FILE);
    expect(h.next_id).toBe(6);
    expect(Object.keys(h.closed as Json)).toEqual(['T001', 'T002', 'T003', 'T004', 'T005']);
    expect(Object.values(h.closed as Json).every((d) => /^[0-9a-f]{16}$/.test(d as string))).toBe(true);
  });

  it('refuses when a remembered closed trade disappears, and keeps refusing', async () => {
    const { rec, violations, before } = await baseline();
    const log = five();
    log.trades.splice(1, 1);
    writeLog(log);
    const r = await rec.reconcile();
    expect(r).toMatchObject({ ok: false, reason: 'HISTORY_GUARD', files: [] });
    expect(violations).toEqual([expect.objectContaining({ kind: 'CLOSED_TRADE_MISSING', tradeIds: ['T002'] })]);
    expect(snapshot()).toEqual(before);
    expect(await mk().reconcile()).toMatchObject({ ok: false, reason: 'HISTORY_GUARD' }); // also after a restart
    expect(snapshot()).toEqual(before);
  });

  it("refuses when a closed trade's exit_price (or another owned field) changes", async () => {
    for (const [field, value] of [['exit_price', 111], ['pnl_usd', 11], ['exit_time', '2026-03-02T10:00:01.000000+00:00'],
      ['partial_exits', [{ exit_price: 105, size_closed: 0.5, pnl_usd: 2.5, reason: null, timestamp: '2026-03-02T09:00:00.000000+00:00' }]],
      ['status', 'OPEN']] as const) {
      const { rec, violations, before } = await baseline();
      const log = five();
      (log.trades[2] as Json)[field] = value;
      writeLog(log);
      const r = await rec.reconcile();
      expect(r, field).toMatchObject({ ok: false, reason: 'HISTORY_GUARD' });
      expect(violations, field).toEqual([expect.objectContaining({ kind: 'CLOSED_TRADE_CHANGED', tradeIds: ['T003'] })]);
      expect(snapshot()).toEqual(before);
      fs.rmSync(out, { recursive: true });
    }
  });

  it('allows what updateTrade allows after a close: notes, lessons, grade, setup_type, stop, extension fields', async () => {
    const { violations } = await baseline();
    const store = new TradeStore({ tradeLog: logFile, startingCapital: 10_000 });
    await store.updateTrade('T002', { notes: 'reviewed', lessons: 'patience', grade: 'B', setup_type: 'pullback' });
    await store.updateTrade('T003', { my_tag: { reviewed: true } });
    // this store refuses stop/target edits on a closed trade, but SPEC lists them as mutable: another writer may
    const edited = JSON.parse(fs.readFileSync(logFile, 'utf8')) as { trades: Json[] };
    Object.assign(edited.trades[3] as Json, { stop_price: 95, target_price: 150 });
    writeLog(edited);
    const r = expectOk(await mk({ onHistoryViolation: (v) => void violations.push(v) }).reconcile());
    expect(violations).toEqual([]);
    expect(readOut('setup_performance.json').setups).toHaveProperty('pullback'); // the edit is reflected
    expect(r.closedTrades).toBe(5);
  });

  it('is not fooled by another writer re-encoding the same values (100.0, key order, partial_exits [] vs absent)', async () => {
    const { rec, violations } = await baseline();
    const log = five();
    const t = log.trades[0] as Json;
    log.trades[0] = Object.fromEntries(Object.entries({ ...t, partial_exits: [] }).reverse()) as Trade;
    fs.writeFileSync(logFile, `${JSON.stringify(log, null, 2).replace(/"entry_price": 100,/g, '"entry_price": 100.0,')}\n`);
    expect(fs.readFileSync(logFile, 'utf8')).toContain('100.0');
    expectOk(await rec.reconcile());
    expectOk(await mk().reconcile());
    expect(violations).toEqual([]);
  });

  it('refuses when next_id goes back', async () => {
    const { rec, violations, before } = await baseline();
    writeLog({ ...five(), next_id: 4 });
    expect(await rec.reconcile()).toMatchObject({ ok: false, reason: 'HISTORY_GUARD' });
    expect(violations).toEqual([{ kind: 'NEXT_ID_WENT_BACK', tradeIds: [], previousNextId: 6, nextId: 4, message: expect.stringContaining('6 to 4') }]);
    expect(snapshot()).toEqual(before);
  });

  it('accepts new trades and a growing next_id, and records them', async () => {
    const { rec, violations } = await baseline();
    writeLog({ trades: [...five().trades, closed('T006')], next_id: 9 });
    expectOk(await rec.reconcile());
    expect(violations).toEqual([]);
    const h = readOut(RECONCILER_HISTORY_FILE);
    expect(h.next_id).toBe(9);
    expect(Object.keys(h.closed as Json)).toContain('T006');
  });

  it('treats a damaged history file as no baseline: proceeds and writes a new one', async () => {
    const { violations } = await baseline();
    fs.writeFileSync(path.join(out, RECONCILER_HISTORY_FILE), '{"format": "trade-state-engine/reconciler-history@1", "clo');
    const log = five();
    log.trades.splice(0, 1); // would be refused with a baseline
    writeLog(log);
    expectOk(await mk({ onHistoryViolation: (v) => void violations.push(v) }).reconcile());
    expect(violations).toEqual([]);
    expect(Object.keys(readOut(RECONCILER_HISTORY_FILE).closed as Json)).toEqual(['T002', 'T003', 'T004', 'T005']);
  });

  it('recovers from a refusal when the history file is deleted (a deliberate rewrite)', async () => {
    const { rec } = await baseline();
    writeLog({ trades: five().trades.slice(2), next_id: 6 });
    expect(await rec.reconcile()).toMatchObject({ ok: false, reason: 'HISTORY_GUARD' });
    fs.rmSync(path.join(out, RECONCILER_HISTORY_FILE));
    expect(await rec.reconcile()).toMatchObject({ ok: true, closedTrades: 3 });
    expect(readOut('portfolio.json').total_trades).toBe(3);
  });

  it('rewrites the history file only when what it remembers changes', async () => {
    const { rec } = await baseline();
    const h = path.join(out, RECONCILER_HISTORY_FILE);
    const ino = fs.statSync(h).ino;
    expectOk(await rec.reconcile());
    expectOk(await mk().reconcile());
    expect(fs.statSync(h).ino).toBe(ino); // not replaced
    writeLog({ trades: [...five().trades, closed('T006')], next_id: 7 });
    expectOk(await rec.reconcile());
    expect(fs.statSync(h).ino).not.toBe(ino);
    fs.rmSync(h); // deleted while the log is unchanged: written again
    expectOk(await rec.reconcile());
    expect(Object.keys(readOut(RECONCILER_HISTORY_FILE).closed as Json)).toHaveLength(6);
  });
});

describe('invariants and callbacks', () => {
  // Valid per the shape check (finite numbers), but their sum overflows: the rebuilt numbers are not finite.
  const overflowing = { trades: [closed('T001', { pnl_usd: 1.5e308 }), closed('T002', { pnl_usd: 1.5e308 })], next_id: 3 };

  it('reports broken invariants to onInvariantViolation and still writes the files', async () => {
    writeLog(overflowing);
    const seen: string[][] = [];
    const r = expectOk(await mk({ onInvariantViolation: (v) => void seen.push(v) }).reconcile());
    expect(seen).toHaveLength(1);
    expect(seen[0]).toEqual(r.invariantViolations);
    expect(r.invariantViolations.some((m) => m.includes('not a finite number'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'portfolio.json'))).toBe(true);
  });

  it('a throwing callback goes to onError and changes nothing else', async () => {
    writeLog(overflowing);
    const errors: unknown[] = [];
    const boom = new Error('alert service down');
    const r = await mk({
      onInvariantViolation: () => {
        throw boom;
      },
      onError: (e) => void errors.push(e),
    }).reconcile();
    expect(r.ok).toBe(true);
    expect(errors).toEqual([boom]);
  });

  it('direct reconcile() calls never overlap', async () => {
    writeLog(overflowing);
    let active = 0;
    let max = 0;
    const rec = mk({
      now: () => {
        max = Math.max(max, ++active);
        return NOW;
      },
      onInvariantViolation: async () => {
        await new Promise((r) => setTimeout(r, 30));
        active--;
      },
    });
    const rs = await Promise.all([rec.reconcile(), rec.reconcile(), rec.reconcile()]);
    expect(rs.every((r) => r.ok)).toBe(true);
    expect(max).toBe(1);
  });

  it('rejects on an unexpected I/O error (outputDir is a file)', async () => {
    fs.writeFileSync(out, 'a file');
    await expect(mk().reconcile()).rejects.toMatchObject({ code: expect.stringMatching(/^(EEXIST|ENOTDIR)$/) });
  });

  it('validates its options', () => {
    expect(() => new StateReconciler({ tradeLog: '' })).toThrow(expect.objectContaining({ code: 'EVALIDATION' }));
    expect(() => new StateReconciler({ tradeLog: logFile, startingCapital: Number.NaN })).toThrow(/startingCapital/);
    expect(() => new StateReconciler({ tradeLog: logFile, drawdownLimits: { daily: 0.02 } })).toThrow(/drawdownLimits.daily/);
    expect(() => new StateReconciler({ tradeLog: logFile, onError: 'x' as never })).toThrow(/onError/);
  });
});
