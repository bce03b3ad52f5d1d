/**
 * The book (domain/derive/book.ts): issue 16's scenarios, where the original's formulas show one
 * log two ways, and the halt it enforces. Numbers worked out by hand in the comments.
 */
import fs from 'node:fs';
import path from 'node:path';

import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { timelineOf } from '../src/domain/derive/book.js';
import type { RealizedEvent } from '../src/domain/derive/core.js';
import { deriveState } from '../src/domain/derive/index.js';
import { summaryJson, summaryText } from '../src/demo/summary.js';
import { Ledger } from '../src/demo/ledger.js';
import { shapeReportData } from '../src/report/shape.js';
import { TradeStore } from '../src/store/trade-store.js';
import { tempDir } from './helpers.js';
import { at, goldenClosed, logOf, partialExit } from './trades.js';

const START = 5000;
const NOW = at('2026-03-14T18:00:00Z');
const options = { startingCapital: START, now: NOW };

describe('the issue\'s scenarios', () => {
  // +$10 at 10:00, then −$10 at 11:00, the same day
  const up = goldenClosed('T001', '2026-03-14T10:00:00+00:00', 10);
  const down = goldenClosed('T002', '2026-03-14T11:00:00+00:00', -10, { symbol: 'ETH' });

  it('+$10 then −$10 the same day: the peak stays 5,010 and the dip is a drawdown', () => {
    const after1 = deriveState(logOf(up), options).equity.book;
    expect(after1).toMatchObject({ peak_equity: 5010, drawdown_pct: 0, max_drawdown_pct: 0 });
    const s = deriveState(logOf(up, down), options);
    // 5,000 → 5,010 → 5,000: (5,000 − 5,010) ÷ 5,010 = −0.1996 % → −0.2
    expect(s.equity.book).toMatchObject({
      peak_equity: 5010, drawdown_pct: -0.2, drawdown_usd: -10, max_drawdown_pct: -0.2, max_drawdown_usd: -10,
      closed_trades: 2, wins: 1, losses: 1, breakeven: 0, win_rate: 50, profit_factor: 1,
    });
    // the original's fields keep the original's meaning: the daily curve's one point is 5,000
    expect(s.equity).toMatchObject({ peak_equity: 5000, drawdown_percent: 0, max_drawdown_pct: 0 });
  });

  it('a setup with wins 1 / losses 0 / avg_loss_r −0.5 in the original: its book agrees with itself', () => {
    // entry 100, stop 90 (risk 10), size 1: initial risk 10. A partial exit takes +15, the close −5
    // with a stored r_multiple of −0.5 (the close's price move alone): net +10, a win of +1R net.
    const t = goldenClosed('T001', '2026-03-14T12:00:00+00:00', -5, {
      r_multiple: -0.5, setup_type: 'Breakout', partial_exits: [partialExit('2026-03-14T10:00:00+00:00', 15)],
    });
    const s = deriveState(logOf(t), options);
    const setup = s.setup_performance.setups['Breakout']!;
    expect(setup).toMatchObject({ wins: 1, losses: 0, avg_loss_r: -0.5, avg_r: -0.5 }); // the original's, kept
    expect(setup.book).toEqual({
      wins: 1, losses: 0, breakeven: 0, win_rate: 100,
      with_r: 1, without_r: 0, avg_net_r: 1, avg_win_net_r: 1, avg_loss_net_r: null,
    });
    expect(s.equity.avg_r).toBe(-0.5); // the original's
    expect(s.equity.book).toMatchObject({ avg_net_r: 1, wins: 1, losses: 0 });
  });

  it('status, the demo summary and the report show the same figures as the files\' book', async () => {
    // a dip of −2.01 % between two closes of one day that the daily curve never sees
    const log = logOf(
      goldenClosed('T001', '2026-03-13T10:00:00+00:00', 100.5, { setup_type: 'A' }), // 5,100.50
      goldenClosed('T002', '2026-03-14T10:00:00+00:00', -102.5, { symbol: 'ETH', setup_type: 'A' }), // 4,998.00
      goldenClosed('T003', '2026-03-14T11:00:00+00:00', 150, { symbol: 'SOL', setup_type: 'B' }), // 5,148.00
    );
    const s = deriveState(log, options);
    // (4,998 − 5,100.5) ÷ 5,100.5 = −2.0096 % → −2.01
    expect(s.equity.book).toMatchObject({ peak_equity: 5148, max_drawdown_pct: -2.01, max_drawdown_usd: -102.5, drawdown_pct: 0 });
    expect(s.equity.max_drawdown_pct).toBe(0); // the original's daily closes: 5,100.50 then 5,148

    const report = shapeReportData(log, options);
    expect(report.header).toMatchObject({
      peakEquity: 5148, maxDrawdownPct: -2.01, drawdownPct: 0, winRate: s.equity.book.win_rate, avgNetR: s.equity.book.avg_net_r,
      wins: 2, losses: 1, breakeven: 0,
    });
    const summary = { trades: log.trades, state: s, ledger: new Ledger(), checks: [] };
    expect(summaryJson(summary)).toMatchObject({ peak_equity: 5148, max_drawdown_pct: -2.01, win_rate: 66.7, avg_net_r: s.equity.book.avg_net_r });
    expect(summaryText(summary).join('\n')).toMatch(/^Drawdown\s+0\.00% from peak \$5,148\.00, max -2\.01%/m);
  });
});

describe('the halt the store enforces', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('tse-book-');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const storeOn = (trades: unknown[], now: Date) => {
    const file = path.join(dir, 'trade_log.json');
    fs.writeFileSync(file, `${JSON.stringify({ trades, next_id: trades.length + 1 }, null, 2)}\n`);
    return new TradeStore({ tradeLog: file, startingCapital: START, now: () => now });
  };
  const open = { symbol: 'AAPL', direction: 'LONG' as const, entry_price: 100, stop_price: 99, target_price: 110, size: 1 };

  it('an intraday fall below the daily limit halts opens even though the day closes above it', async () => {
    // 09:00 −150 (4,850: −3 % on the day), 10:00 +140: the day closes at 4,990 (−0.2 %)
    const trades = [
      goldenClosed('T001', '2026-03-14T09:00:00+00:00', -150),
      goldenClosed('T002', '2026-03-14T10:00:00+00:00', 140, { symbol: 'ETH' }),
    ];
    const store = storeOn(trades, NOW);
    await expect(store.openTrade(open)).rejects.toMatchObject({ code: 'HALTED' });
    expect(await store.checkOpen(open)).toMatchObject({ ok: false, code: 'HALTED' });
    const s = deriveState(logOf(...trades), options);
    expect([s.risk_state.halted, s.risk_state.current_value]).toEqual([false, 4990]); // the original's, kept
    expect(s.risk_state.book).toEqual({
      halted: true,
      halt_reason: 'Daily drawdown -3.0% at its lowest (4850.00) exceeds -2.0% limit',
      daily_low_value: 4850, weekly_low_value: 4850, lowest_value: 4850,
    });
    // the next day the daily window starts again (the week's low is −3 %, above the −10 % limit)
    const tomorrow = storeOn(trades, at('2026-03-15T09:00:00Z'));
    await expect(tomorrow.openTrade(open)).resolves.toMatchObject({ id: 'T003' });
  });

  it('an event at 00:00:00 UTC sharp is in that day\'s window, and Monday 00:00 in that week\'s', () => {
    // Mon 03-09 00:00 −40 (4,960), Sat 03-14 00:00 −30 (4,930), 09:00 +100 (5,030); Saturday 18:00
    const log = logOf(
      goldenClosed('T001', '2026-03-09T00:00:00+00:00', -40),
      goldenClosed('T002', '2026-03-14T00:00:00+00:00', -30, { symbol: 'ETH' }),
      goldenClosed('T003', '2026-03-14T09:00:00+00:00', 100, { symbol: 'SOL' }),
    );
    const s = deriveState(log, options);
    expect(s.risk_state.book).toMatchObject({ daily_low_value: 4930, weekly_low_value: 4930, lowest_value: 4930 });
    // Sun 03-08 23:00 +10 (5,010), Mon 03-09 00:00 −40 (4,970), Wed 03-11 10:00 +50 (5,020); Wednesday noon
    const week = logOf(
      goldenClosed('T001', '2026-03-08T23:00:00+00:00', 10),
      goldenClosed('T002', '2026-03-09T00:00:00+00:00', -40, { symbol: 'ETH' }),
      goldenClosed('T003', '2026-03-11T10:00:00+00:00', 50, { symbol: 'SOL' }),
    );
    const wednesday = deriveState(week, { ...options, now: at('2026-03-11T12:00:00Z') });
    expect(wednesday.risk_state.book).toMatchObject({ daily_low_value: 5020, weekly_low_value: 4970, lowest_value: 4970 });
  });

  it('a fall through the total limit keeps opens halted after a recovery (the lowest equity ever counts)', () => {
    // 03-02 −1,100 (3,900: −22 %), 03-10 +200 (4,100: −18 %): the original lifts the halt, the book does not
    const log = logOf(
      goldenClosed('T001', '2026-03-02T10:00:00+00:00', -1100),
      goldenClosed('T002', '2026-03-10T10:00:00+00:00', 200, { symbol: 'ETH' }),
    );
    const s = deriveState(log, { ...options, drawdownLimits: { daily: -0.5, weekly: -0.5 } });
    expect(s.risk_state.halted).toBe(false);
    expect(s.risk_state.book).toMatchObject({
      halted: true, halt_reason: 'Total drawdown -22.0% at its lowest (3900.00) exceeds -20.0% limit', lowest_value: 3900,
    });
  });
});

describe('the timeline', () => {
  it('is the stable sort by instant (unplaceable first), whether or not the log was in order already (property)', () => {
    const micros = fc.oneof(fc.constant(Number.NaN), fc.integer({ min: 0, max: 20 }).map((m) => m * 1e6));
    const event = fc.record({ micros, amount: fc.integer({ min: -5, max: 5 }), close: fc.boolean() }).map((e) => ({ ...e, parsed: e.micros }));
    const sortedFirst = fc.array(event, { maxLength: 30 }).map((es) => [...es].sort((a, b) => key(a) - key(b)));
    const key = (e: RealizedEvent) => (Number.isNaN(e.micros) ? -Infinity : e.micros);
    fc.assert(
      fc.property(fc.oneof(fc.array(event, { maxLength: 30 }), sortedFirst), (events) => {
        const got = timelineOf(events);
        const want = [...events].sort((a, b) => key(a) - key(b));
        return got.length === want.length && got.every((e, i) => e === want[i]) && got !== events;
      }),
      { numRuns: 2000 },
    );
  });
});
