/**
 * Golden tests of the four derived files. Every expected number is worked out
 * by hand in the comments, from FORMULAS.md, never by calling the code.
 */
import { describe, expect, it } from 'vitest';

import { deriveEquity, derivePortfolio, deriveRiskState, deriveSetupPerformance, deriveState } from '../src/domain/derive/index.js';
import { ValidationError } from '../src/errors.js';
import { at, goldenClosed, goldenOpen, goldenRecord, logOf, partialExit, withoutBook } from './trades.js';

describe('wins only', () => {
  // start 10 000, now Tuesday 2026-03-10 15:00 UTC (ISO week starts Monday 03-09)
  // T001 LONG 100 -> 110, risk 5, size 2: pnl 20, r_multiple 2, closed Monday 03-09
  // T002 SHORT 50 -> 40, stop 55 (risk 5), size 4: pnl 40, r_multiple missing -> fallback 40 / (5 × 4) = 2
  const log = logOf(
    goldenClosed('T001', '2026-03-09T10:00:00.000000+00:00', 20, {
      entry_price: 100, stop_price: 95, original_stop: 95, size: 2, original_size: 2, r_multiple: 2, setup_type: 'RSI_Div',
    }),
    goldenClosed('T002', '2026-03-10T09:30:00Z', 40, {
      symbol: 'ETH', direction: 'SHORT', entry_price: 50, stop_price: 55, original_stop: 55, size: 4, original_size: 4,
      r_multiple: null, setup_type: 'RSI_Div',
    }),
  );
  const options = { startingCapital: 10_000, now: at('2026-03-10T15:00:00Z') };

  it('equity: profit_factor is null with no loss, curve from the first close', () => {
    const e = deriveEquity(log, options);
    expect(withoutBook(e)).toEqual({
      starting_capital: 10_000,
      current_equity: 10_060, // 10 000 + 20 + 40
      total_pnl: 60,
      total_return_pct: 0.6, // 60 / 10 000 × 100
      equity_curve: [
        { date: '2026-03-09', equity: 10_020 },
        { date: '2026-03-10', equity: 10_060 },
      ],
      inception_date: '2026-03-09',
      peak_equity: 10_060,
      drawdown_percent: 0,
      drawdown_status: 'NORMAL',
      max_drawdown_pct: 0,
      max_drawdown_days: 0,
      current_drawdown_days: 0,
      total_trades: 2,
      winning_trades: 2,
      losing_trades: 0,
      win_rate: 100,
      profit_factor: null,
      avg_r: 2, // mean(2, 2)
      portfolio_heat: 0,
      heat_per_position: [],
      current_streak: 2,
      max_win_streak: 2,
      max_loss_streak: 0,
      last_5_results: ['W', 'W'],
      last_updated: '2026-03-10T15:00:00.000000+00:00',
    });
  });

  it('risk state: daily start = end of Monday, weekly start = before Monday', () => {
    const r = deriveRiskState(log, options);
    expect(withoutBook(r)).toEqual({
      starting_value: 10_000,
      current_value: 10_060,
      daily_start_value: 10_020, // end of 03-09
      weekly_start_value: 10_000, // end of Sunday 03-08: nothing yet
      daily_reset_date: '2026-03-10',
      weekly_reset_date: '2026-03-09',
      halted: false,
      halt_reason: null,
      open_positions: [],
      last_updated: '2026-03-10T15:00:00.000000+00:00',
    });
  });

  it('setup performance: one group, expectancy = 1 × 2 + 0 × 0', () => {
    expect(withoutBook(deriveSetupPerformance(log, options))).toEqual({
      setups: {
        RSI_Div: {
          total_trades: 2, wins: 2, losses: 0, breakeven: 0, win_rate: 100,
          avg_r: 2, avg_win_r: 2, avg_loss_r: 0, expectancy: 2, total_pnl: 60, trades: ['T001', 'T002'],
        },
      },
      total_closed: 2,
      last_updated: '2026-03-10T15:00:00.000000+00:00',
    });
  });
});

describe('losses only', () => {
  // start 1000, now Wednesday 2026-03-04 00:00 UTC (Monday 03-02)
  // T001 LONG 100 -> 90, size 1.5: pnl -15, r -1 ("Breakout")
  // T002 SHORT 20 -> 22, stop 22, size 2.5: pnl -5, r -1 (setup_type "" and no `setup` key -> "Unknown")
  const log = logOf(
    goldenClosed('T001', '2026-03-03T10:00:00+00:00', -15, { size: 1.5, original_size: 1.5, r_multiple: -1, setup_type: 'Breakout' }),
    goldenClosed('T002', '2026-03-03T16:00:00+00:00', -5, {
      direction: 'SHORT', entry_price: 20, stop_price: 22, original_stop: 22, size: 2.5, original_size: 2.5, r_multiple: -1, setup_type: '',
    }),
  );
  const options = { startingCapital: 1000, now: at('2026-03-04T00:00:00Z') };

  it('equity', () => {
    const e = deriveEquity(log, options);
    expect(e.current_equity).toBe(980);
    expect(e.total_return_pct).toBe(-2); // -20 / 1000 × 100
    expect(e.equity_curve).toEqual([
      { date: '2026-03-03', equity: 980 },
      { date: '2026-03-04', equity: 980 },
    ]);
    expect(e.peak_equity).toBe(1000); // the starting capital: the curve never exceeded it
    expect(e.drawdown_percent).toBe(-2); // (980 - 1000) / 1000 × 100
    expect(e.drawdown_status).toBe('NORMAL'); // -2 > -5
    // both points are below the running peak 1000: two days, each -2 %
    expect([e.max_drawdown_pct, e.max_drawdown_days, e.current_drawdown_days]).toEqual([-2, 2, 2]);
    expect([e.winning_trades, e.losing_trades, e.win_rate]).toEqual([0, 2, 0]);
    expect(e.profit_factor).toBe(0); // 0 / |-20|
    expect(e.avg_r).toBe(-1);
    expect([e.current_streak, e.max_win_streak, e.max_loss_streak]).toEqual([-2, 0, 2]);
    expect(e.last_5_results).toEqual(['L', 'L']);
  });

  it('risk state: weekly drawdown -2 % breaches nothing', () => {
    const r = deriveRiskState(log, options);
    expect(r.daily_start_value).toBe(980); // end of 03-03
    expect(r.weekly_start_value).toBe(1000); // end of Sunday 03-01
    expect(r.weekly_reset_date).toBe('2026-03-02');
    expect([r.halted, r.halt_reason]).toEqual([false, null]);
  });

  it('setups tie on expectancy -1 and keep first-appearance order', () => {
    const s = deriveSetupPerformance(log, options);
    expect(Object.keys(s.setups)).toEqual(['Breakout', 'Unknown']);
    // one loss each: wr 0, avg_loss_r -1, expectancy 0 × 0 + 1 × -1 = -1
    expect(withoutBook(s.setups['Unknown'])).toEqual({
      total_trades: 1, wins: 0, losses: 1, breakeven: 0, win_rate: 0,
      avg_r: -1, avg_win_r: 0, avg_loss_r: -1, expectancy: -1, total_pnl: -5, trades: ['T002'],
    });
    expect(s.setups['Breakout']?.total_pnl).toBe(-15);
  });
});

describe('breakevens', () => {
  // start 5000. T001 BE with r_multiple 0 (risk 10 > 0 -> fallback r2(0 / 10) = 0, kept);
  // T002 BE with entry == stop (risk 0 -> no R at all); T003 win 30, r 1.5.
  const log = logOf(
    goldenClosed('T001', '2026-03-10T10:00:00+00:00', 0, { r_multiple: 0, setup_type: 'Scalp' }),
    goldenClosed('T002', '2026-03-10T11:00:00+00:00', 0, { r_multiple: 0, stop_price: 100, original_stop: 100, setup_type: 'Scalp' }),
    goldenClosed('T003', '2026-03-11T11:00:00+00:00', 30, { r_multiple: 1.5, setup_type: 'Scalp' }),
  );
  const options = { startingCapital: 5000, now: at('2026-03-12T08:00:00Z') };

  it('counts BE as neither win nor loss', () => {
    const e = deriveEquity(log, options);
    expect([e.total_trades, e.winning_trades, e.losing_trades]).toEqual([3, 1, 0]);
    expect(e.win_rate).toBe(33.3); // r1(1 / 3 × 100)
    expect(e.profit_factor).toBeNull();
    expect(e.avg_r).toBe(0.75); // mean(0, 1.5): T002 skipped
    expect([e.current_streak, e.max_win_streak, e.max_loss_streak]).toEqual([1, 1, 0]);
    expect(e.last_5_results).toEqual(['BE', 'BE', 'W']);
    const p = derivePortfolio(log, options);
    expect([p.total_trades, p.winning_trades, p.losing_trades]).toEqual([3, 1, 0]);
  });

  it('setup: breakeven column, R list [0, 1.5], expectancy (1/3) × 1.5 + (2/3) × 0', () => {
    expect(withoutBook(deriveSetupPerformance(log, options).setups['Scalp'])).toEqual({
      total_trades: 3, wins: 1, losses: 0, breakeven: 2, win_rate: 33.3,
      avg_r: 0.75, avg_win_r: 1.5, avg_loss_r: 0, expectancy: 0.5, total_pnl: 30, trades: ['T001', 'T002', 'T003'],
    });
  });
});

describe('partial exits on open and closed trades, SHORT heat', () => {
  // start 10 000, now Friday 2026-03-20 12:00 UTC (Monday 03-16)
  // T001 LONG 100, stop 90 (risk 10), original_size 4: partial 2 units +20 on 03-17, the
  //   other 2 closed at 105 on 03-18: pnl_usd 10, net 30, r_multiple missing.
  // T002 ETH LONG open, entry 50, stop moved to 45 but original_stop 40 (risk 10), size 6 left
  //   of 10 after a partial +16 on 03-19.
  // T003 SOL SHORT open, entry 20, stop 22 (risk 2), size 50.
  const log = logOf(
    goldenClosed('T001', '2026-03-18T10:00:00+00:00', 10, {
      size: 2, original_size: 4, setup_type: null, setup: 'Pullback',
      partial_exits: [partialExit('2026-03-17T10:00:00+00:00', 20, 2)],
    }),
    goldenOpen('T002', {
      symbol: 'ETH', entry_price: 50, stop_price: 45, original_stop: 40, size: 6, original_size: 10,
      partial_exits: [partialExit('2026-03-19T09:00:00.250000+00:00', 16, 4)],
    }),
    goldenOpen('T003', { symbol: 'SOL', direction: 'SHORT', entry_price: 20, stop_price: 22, original_stop: 22, size: 50, original_size: 50 }),
  );
  const options = { startingCapital: 10_000, now: at('2026-03-20T12:00:00Z') };

  it('portfolio: realized = net of closed + partials of open', () => {
    expect(derivePortfolio(log, options)).toEqual({
      balance: 10_046, // 10 000 + 30 + 16
      current_equity: 10_046,
      starting_capital: 10_000,
      realized_pnl: 46,
      total_trades: 1,
      winning_trades: 1,
      losing_trades: 0,
      open_positions: [
        { trade_id: 'T002', symbol: 'ETH', direction: 'LONG', size: 6, entry_price: 50 },
        { trade_id: 'T003', symbol: 'SOL', direction: 'SHORT', size: 50, entry_price: 20 },
      ],
      last_updated: '2026-03-20T12:00:00.000000+00:00',
    });
  });

  it('equity: curve has a point for each partial, heat uses original_stop and current size', () => {
    const e = deriveEquity(log, options);
    expect(e.equity_curve).toEqual([
      { date: '2026-03-17', equity: 10_020 },
      { date: '2026-03-18', equity: 10_030 },
      { date: '2026-03-19', equity: 10_046 },
      { date: '2026-03-20', equity: 10_046 },
    ]);
    // avg_r fallback uses net: r2(30 / (10 × 4)) = 0.75
    expect(e.avg_r).toBe(0.75);
    // E = 10 046. T002: 10 × 6 = 60 -> 0.597… -> 0.6; T003: 2 × 50 = 100 -> 0.9954… -> 1;
    // total 160 / 10 046 × 100 = 1.5926… -> 1.59
    expect(e.heat_per_position).toEqual([
      { trade_id: 'T002', symbol: 'ETH', risk_pct: 0.6 },
      { trade_id: 'T003', symbol: 'SOL', risk_pct: 1 },
    ]);
    expect(e.portfolio_heat).toBe(1.59);
  });

  it('setup: `setup` fallback, and the R fallback uses pnl_usd, not net', () => {
    // r2(10 / (10 × 4)) = 0.25 (net would give 0.75)
    expect(withoutBook(deriveSetupPerformance(log, options)).setups).toEqual({
      Pullback: {
        total_trades: 1, wins: 1, losses: 0, breakeven: 0, win_rate: 100,
        avg_r: 0.25, avg_win_r: 0.25, avg_loss_r: 0, expectancy: 0.25, total_pnl: 30, trades: ['T001'],
      },
    });
  });

  it('risk state lists open positions; daily start includes yesterday\'s partial', () => {
    const r = deriveRiskState(log, options);
    expect(r.daily_start_value).toBe(10_046); // end of 03-19
    expect(r.weekly_start_value).toBe(10_000); // end of 03-15
    expect(r.open_positions).toEqual([
      { symbol: 'ETH', direction: 'LONG', trade_id: 'T002' },
      { symbol: 'SOL', direction: 'SHORT', trade_id: 'T003' },
    ]);
  });
});

describe('multi-day curve with two drawdown episodes', () => {
  // start 1000, now Thursday 2026-04-09 18:00 UTC (Monday 04-06). Day, P&L -> equity (running peak, days below):
  // 04-01 +100 -> 1100 (peak 1100, 0)
  // 04-02 -110 ->  990 (1)  (990 - 1100) / 1100 = -10 %
  // 04-03       ->  990 (2)
  // 04-04  +55 -> 1045 (3)  -5 %
  // 04-05       -> 1045 (4)
  // 04-06 +105 -> 1150 (peak 1150, 0)
  // 04-07  -23 -> 1127 (1)  -2 %
  // 04-08  -23 -> 1104 (2)  -4 %
  // 04-09 +11.5 -> 1115.5 (3)  -3 %
  const log = logOf(
    goldenClosed('T001', '2026-04-01T12:00:00+00:00', 100),
    goldenClosed('T002', '2026-04-02T12:00:00+00:00', -110),
    goldenClosed('T003', '2026-04-04T12:00:00+00:00', 55),
    goldenClosed('T004', '2026-04-06T12:00:00+00:00', 105),
    goldenClosed('T005', '2026-04-07T12:00:00+00:00', -23),
    goldenClosed('T006', '2026-04-08T12:00:00+00:00', -23),
    goldenClosed('T007', '2026-04-09T12:00:00+00:00', 11.5),
  );
  const options = { startingCapital: 1000, now: at('2026-04-09T18:00:00Z') };

  it('curve, peak, max drawdown and both day counts', () => {
    const e = deriveEquity(log, options);
    expect(e.equity_curve.map((p) => p.equity)).toEqual([1100, 990, 990, 1045, 1045, 1150, 1127, 1104, 1115.5]);
    expect(e.equity_curve[0]?.date).toBe('2026-04-01');
    expect(e.equity_curve[8]?.date).toBe('2026-04-09');
    expect(e.inception_date).toBe('2026-04-01');
    expect(e.peak_equity).toBe(1150);
    expect(e.max_drawdown_pct).toBe(-10);
    expect(e.max_drawdown_days).toBe(4); // first episode, 04-02 .. 04-05
    expect(e.current_drawdown_days).toBe(3); // 04-07 .. 04-09
    expect(e.drawdown_percent).toBe(-3); // (1115.5 - 1150) / 1150 × 100
    expect(e.total_return_pct).toBe(11.55);
    // wins 100 + 55 + 105 + 11.5 = 271.5, losses 110 + 23 + 23 = 156: 1.7403… -> 1.74
    expect(e.profit_factor).toBe(1.74);
    expect(e.win_rate).toBe(57.1); // 4 / 7
    // W L W W L L W: +1 -1 +1 +2 -1 -2 +1
    expect([e.current_streak, e.max_win_streak, e.max_loss_streak]).toEqual([1, 2, 2]);
    expect(e.last_5_results).toEqual(['W', 'W', 'L', 'L', 'W']);
  });

  it('daily and weekly start values come from the same curve', () => {
    const r = deriveRiskState(log, options);
    expect(r.daily_start_value).toBe(1104); // end of 04-08
    expect(r.weekly_start_value).toBe(1045); // end of Sunday 04-05
    expect(r.current_value).toBe(1115.5);
  });
});

describe('recovering exactly to the peak', () => {
  it('a point equal to the running peak ends the episode', () => {
    // start 1000: 03-02 -10 -> 990 (1 day, -1 %); 03-03 +10 -> 1000 = peak (0); 03-04 -> 1000 (0)
    const e = deriveEquity(logOf(goldenClosed('T1', '2026-03-02T10:00:00Z', -10), goldenClosed('T2', '2026-03-03T10:00:00Z', 10)), {
      startingCapital: 1000, now: at('2026-03-04T10:00:00Z'),
    });
    expect(e.equity_curve.map((p) => p.equity)).toEqual([990, 1000, 1000]);
    expect([e.max_drawdown_pct, e.max_drawdown_days, e.current_drawdown_days]).toEqual([-1, 1, 0]);
    expect([e.peak_equity, e.drawdown_percent]).toEqual([1000, 0]);
  });
});

describe('empty log', () => {
  const options = { startingCapital: 10_000, now: at('2026-03-14T11:28:53.123Z') };
  const stamp = '2026-03-14T11:28:53.123000+00:00';

  it('every file is sensible: zero counts, empty curve, inception today', () => {
    const s = deriveState(logOf(), options);
    expect(s.portfolio).toEqual({
      balance: 10_000, current_equity: 10_000, starting_capital: 10_000, realized_pnl: 0,
      total_trades: 0, winning_trades: 0, losing_trades: 0, open_positions: [], last_updated: stamp,
    });
    expect(withoutBook(s.equity)).toEqual({
      starting_capital: 10_000, current_equity: 10_000, total_pnl: 0, total_return_pct: 0,
      equity_curve: [], inception_date: '2026-03-14', peak_equity: 10_000, drawdown_percent: 0,
      drawdown_status: 'NORMAL', max_drawdown_pct: 0, max_drawdown_days: 0, current_drawdown_days: 0,
      total_trades: 0, winning_trades: 0, losing_trades: 0, win_rate: 0, profit_factor: null, avg_r: 0,
      portfolio_heat: 0, heat_per_position: [], current_streak: 0, max_win_streak: 0, max_loss_streak: 0,
      last_5_results: [], last_updated: stamp,
    });
    expect(withoutBook(s.risk_state)).toEqual({
      starting_value: 10_000, current_value: 10_000, daily_start_value: 10_000, weekly_start_value: 10_000,
      daily_reset_date: '2026-03-14', weekly_reset_date: '2026-03-09', // Saturday -> Monday 03-09
      halted: false, halt_reason: null, open_positions: [], last_updated: stamp,
    });
    expect(s.setup_performance).toEqual({ setups: {}, last_updated: stamp });
    expect(Object.keys(s.setup_performance)).toEqual(['setups', 'last_updated']);
  });

  it('open trades without partials make no curve point', () => {
    const e = deriveEquity(logOf(goldenOpen('T001')), options);
    expect(e.equity_curve).toEqual([]);
    expect(e.inception_date).toBe('2026-03-14');
    expect(e.portfolio_heat).toBe(0.1); // risk 10 × size 1 / 10 000 × 100
  });
});

describe('streaks', () => {
  // Exit order by instant: T2 L, T3 L, T4 BE, T5 L, T1 W, T7 W (12:00+02:00 = 10:00Z), T6 W (11:00Z), T8 BE.
  // Walk, skipping BE: -1 -2 (BE) -3 +1 +2 +3 (BE) -> current 3, max win 3, max loss 3.
  const log = logOf(
    goldenClosed('T1', '2026-03-05T10:00:00+00:00', 10),
    goldenClosed('T2', '2026-03-01T10:00:00+00:00', -10),
    goldenClosed('T3', '2026-03-02T10:00:00+00:00', -10),
    goldenClosed('T4', '2026-03-03T10:00:00+00:00', 0),
    goldenClosed('T5', '2026-03-04T10:00:00+00:00', -10),
    goldenClosed('T6', '2026-03-06T11:00:00Z', 10),
    goldenClosed('T7', '2026-03-06T12:00:00+02:00', 10),
    goldenClosed('T8', '2026-03-07T10:00:00+00:00', 0),
  );

  it('sorts by exit instant, BE does not break a streak, last 5 keep BE', () => {
    const e = deriveEquity(log, { startingCapital: 1000, now: at('2026-03-08T00:00:00Z') });
    expect([e.current_streak, e.max_win_streak, e.max_loss_streak]).toEqual([3, 3, 3]);
    expect(e.last_5_results).toEqual(['L', 'W', 'W', 'W', 'BE']);
  });

  it('a win after losses restarts at +1', () => {
    const e = deriveEquity(logOf(...log.trades.slice(1, 5), log.trades[0]!), { startingCapital: 1000, now: at('2026-03-08T00:00:00Z') });
    // L L BE L W -> -1 -2 -3 +1
    expect([e.current_streak, e.max_win_streak, e.max_loss_streak]).toEqual([1, 1, 3]);
    expect(e.last_5_results).toEqual(['L', 'L', 'BE', 'L', 'W']);
  });
});

describe('setup grouping and sort', () => {
  const log = logOf(
    goldenClosed('T1', '2026-03-02T10:00:00Z', 20, { setup_type: 'Breakout', r_multiple: 2 }),
    goldenClosed('T2', '2026-03-02T11:00:00Z', -10, { setup_type: null, setup: 'VWAP', r_multiple: -1 }),
    goldenClosed('T3', '2026-03-02T12:00:00Z', 10, { setup_type: '', r_multiple: 1 }), // no `setup` key -> Unknown
    goldenClosed('T4', '2026-03-02T13:00:00Z', 30, { setup_type: null, setup: null, r_multiple: 3 }), // key exists -> "null"
    goldenClosed('T5', '2026-03-02T14:00:00Z', -10, { setup_type: 'Breakout', r_multiple: null }), // -10 / (10 × 1) = -1
    goldenClosed('T6', '2026-03-02T15:00:00Z', 5, { setup_type: 'VWAP', r_multiple: 0.5 }),
    goldenClosed('T7', '2026-03-02T16:00:00Z', 10, { setup_type: 'Alpha', r_multiple: 1 }),
  );

  it('groups by setup_type, falls back to `setup`, sorts by expectancy with ties in first-appearance order', () => {
    const s = deriveSetupPerformance(log, { startingCapital: 1000, now: at('2026-03-03T00:00:00Z') });
    // null: 3; Unknown: 1; Alpha: 1 (tie, appears after Unknown); Breakout: 0.5 × 2 + 0.5 × -1 = 0.5;
    // VWAP: 0.5 × 0.5 + 0.5 × -1 = -0.25
    expect(Object.keys(s.setups)).toEqual(['null', 'Unknown', 'Alpha', 'Breakout', 'VWAP']);
    expect(withoutBook(s.setups['Breakout'])).toEqual({
      total_trades: 2, wins: 1, losses: 1, breakeven: 0, win_rate: 50,
      avg_r: 0.5, avg_win_r: 2, avg_loss_r: -1, expectancy: 0.5, total_pnl: 10, trades: ['T1', 'T5'],
    });
    expect(withoutBook(s.setups['VWAP'])).toEqual({
      total_trades: 2, wins: 1, losses: 1, breakeven: 0, win_rate: 50,
      avg_r: -0.25, avg_win_r: 0.5, avg_loss_r: -1, expectancy: -0.25, total_pnl: -5, trades: ['T2', 'T6'],
    });
    expect(s.setups['null']?.trades).toEqual(['T4']);
    expect(s.total_closed).toBe(7);
  });

  it('expectancy uses the unrounded win fraction', () => {
    // 1 win R 30, 2 BE: wr = 1/3 -> 1/3 × 30 = 10 (with win_rate 33.3 % it would be 9.99)
    const s = deriveSetupPerformance(
      logOf(
        goldenClosed('T1', '2026-03-02T10:00:00Z', 300, { r_multiple: 30 }),
        goldenClosed('T2', '2026-03-02T11:00:00Z', 0, { r_multiple: 0 }),
        goldenClosed('T3', '2026-03-02T12:00:00Z', 0, { r_multiple: 0 }),
      ),
      { startingCapital: 1000, now: at('2026-03-03T00:00:00Z') },
    );
    expect(s.setups['S']?.win_rate).toBe(33.3);
    expect(s.setups['S']?.expectancy).toBe(10);
    expect(s.setups['S']?.avg_r).toBe(10); // mean(30, 0, 0)
  });

  it('a setup named __proto__ is an ordinary key', () => {
    const s = deriveSetupPerformance(logOf(goldenClosed('T1', '2026-03-02T10:00:00Z', 5, { setup_type: '__proto__' })), {
      startingCapital: 1000, now: at('2026-03-03T00:00:00Z'),
    });
    expect(Object.keys(s.setups)).toEqual(['__proto__']);
    expect(JSON.stringify(s.setups)).toContain('"__proto__":{"total_trades":1');
  });
});

describe('drawdown_status bands', () => {
  // start 1000, one loss; no point above the start, so peak = 1000 and drawdown = loss / 10 %
  const status = (loss: number, limits = {}): string =>
    deriveEquity(logOf(goldenClosed('T1', '2026-03-02T10:00:00Z', -loss)), {
      startingCapital: 1000, now: at('2026-03-02T12:00:00Z'), drawdownLimits: limits,
    }).drawdown_status;

  it('NORMAL above -5, WARNING from -5, REDUCE from -10, STOP from -20 (limits inclusive)', () => {
    expect(status(40)).toBe('NORMAL'); // -4
    expect(status(50)).toBe('WARNING'); // -5
    expect(status(99.9)).toBe('WARNING'); // -9.99
    expect(status(100)).toBe('REDUCE'); // -10
    expect(status(199.9)).toBe('REDUCE');
    expect(status(200)).toBe('STOP'); // -20
    expect(status(700)).toBe('STOP');
  });

  it('follows custom limits, inclusive despite binary fractions', () => {
    expect(status(30, { warning: -0.03 })).toBe('WARNING');
    // -0.07 × 100 is -7.000000000000001 in binary; a -7.00 % drawdown still reaches it
    expect(status(70, { warning: -0.07 })).toBe('WARNING');
    expect(status(69.9, { warning: -0.07 })).toBe('NORMAL');
  });
});

describe('output shape', () => {
  it('keys follow FORMULAS.md listing order', () => {
    const s = deriveState(logOf(goldenClosed('T1', '2026-03-02T10:00:00Z', 5), goldenOpen('T2', { symbol: 'ETH' })), {
      startingCapital: 1000, now: at('2026-03-03T00:00:00Z'),
    });
    expect(Object.keys(s)).toEqual(['portfolio', 'equity', 'risk_state', 'setup_performance']);
    expect(Object.keys(s.portfolio)).toEqual([
      'balance', 'current_equity', 'starting_capital', 'realized_pnl', 'total_trades', 'winning_trades',
      'losing_trades', 'open_positions', 'last_updated',
    ]);
    expect(Object.keys(s.portfolio.open_positions[0]!)).toEqual(['trade_id', 'symbol', 'direction', 'size', 'entry_price']);
    expect(Object.keys(s.equity)).toEqual([
      'starting_capital', 'current_equity', 'total_pnl', 'total_return_pct', 'equity_curve', 'inception_date',
      'peak_equity', 'drawdown_percent', 'drawdown_status', 'max_drawdown_pct', 'max_drawdown_days',
      'current_drawdown_days', 'total_trades', 'winning_trades', 'losing_trades', 'win_rate', 'profit_factor',
      'avg_r', 'portfolio_heat', 'heat_per_position', 'current_streak', 'max_win_streak', 'max_loss_streak',
      'last_5_results', 'last_updated', 'book',
    ]);
    expect(Object.keys(s.equity.heat_per_position[0]!)).toEqual(['trade_id', 'symbol', 'risk_pct']);
    expect(Object.keys(s.risk_state)).toEqual([
      'starting_value', 'current_value', 'daily_start_value', 'weekly_start_value', 'daily_reset_date',
      'weekly_reset_date', 'halted', 'halt_reason', 'open_positions', 'last_updated', 'book',
    ]);
    expect(Object.keys(s.risk_state.open_positions[0]!)).toEqual(['symbol', 'direction', 'trade_id']);
    expect(Object.keys(s.setup_performance)).toEqual(['setups', 'total_closed', 'last_updated']);
    expect(Object.keys(s.setup_performance.setups['S']!)).toEqual([
      'total_trades', 'wins', 'losses', 'breakeven', 'win_rate', 'avg_r', 'avg_win_r', 'avg_loss_r',
      'expectancy', 'total_pnl', 'trades', 'book',
    ]);
    // the book's keys come after the original's, in a fixed order (docs/formulas.md)
    expect(Object.keys(s.equity.book)).toEqual([
      'peak_equity', 'drawdown_pct', 'drawdown_usd', 'drawdown_status', 'max_drawdown_pct', 'max_drawdown_usd',
      'closed_trades', 'wins', 'losses', 'breakeven', 'win_rate', 'profit_factor',
      'with_r', 'without_r', 'avg_net_r', 'avg_win_net_r', 'avg_loss_net_r',
    ]);
    expect(Object.keys(s.risk_state.book)).toEqual(['halted', 'halt_reason', 'daily_low_value', 'weekly_low_value', 'lowest_value']);
    expect(Object.keys(s.setup_performance.setups['S']!.book)).toEqual([
      'wins', 'losses', 'breakeven', 'win_rate', 'with_r', 'without_r', 'avg_net_r', 'avg_win_net_r', 'avg_loss_net_r',
    ]);
  });

  it('same input twice gives identical JSON except last_updated', () => {
    const make = () =>
      logOf(
        goldenClosed('T1', '2026-03-02T10:00:00Z', 12.34, { setup_type: 'A', partial_exits: [partialExit('2026-03-01T10:00:00Z', 1.11)] }),
        goldenClosed('T2', 'garbage', -5.55, { setup_type: 'B' }),
        goldenOpen('T3', { symbol: 'ETH', partial_exits: [partialExit('2026-03-02T23:59:59.999999+00:00', 2.22)] }),
        goldenRecord('T4', { status: 'WEIRD', pnl_usd: 1000 }),
      );
    const strip = (x: unknown): string => JSON.stringify(x).replace(/"last_updated":"[^"]*"/g, '');
    const a = deriveState(make(), { startingCapital: 1000, now: at('2026-03-03T01:00:00Z') });
    const b = deriveState(make(), { startingCapital: 1000, now: at('2026-03-03T23:00:00Z') });
    expect(strip(a)).toBe(strip(b));
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(b)); // last_updated does differ
  });

  it('does not modify the log', () => {
    const log = logOf(goldenClosed('T1', '2026-03-02T10:00:00Z', 5), goldenOpen('T2', { partial_exits: [partialExit('2026-03-02T10:00:00Z', 1)] }));
    const before = JSON.stringify(log);
    deriveState(log, { startingCapital: 1000, now: at('2026-03-03T00:00:00Z') });
    expect(JSON.stringify(log)).toBe(before);
  });
});

describe('bad options', () => {
  it('refuses a non-finite capital, an invalid clock and a non-negative limit', () => {
    const log = logOf();
    expect(() => deriveState(log, { startingCapital: Number.NaN, now: new Date() })).toThrow(ValidationError);
    expect(() => deriveState(log, { startingCapital: 1000, now: new Date('nope') })).toThrow(TypeError);
    expect(() => deriveState(log, { startingCapital: 1000, now: new Date(), drawdownLimits: { daily: 0.02 } })).toThrow(
      /drawdownLimits\.daily/,
    );
  });

  it('refuses a starting capital ≤ 0, as the store and the reconciler do (one rule: domain/settings.ts)', () => {
    for (const startingCapital of [0, -100]) {
      expect(() => deriveState(logOf(goldenClosed('T1', '2026-03-02T10:00:00Z', -5)), { startingCapital, now: at('2026-03-03T00:00:00Z') })).toThrow(
        /startingCapital/,
      );
    }
  });
});
