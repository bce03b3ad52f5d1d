/**
 * risk_state.json and haltState: start values from the log, ISO week boundary,
 * halt order and message format. Expected numbers worked out by hand.
 */
import { describe, expect, it } from 'vitest';

import { deriveEquity, deriveRiskState, deriveState, equityCurve, haltState } from '../src/domain/derive/index.js';
import { at, goldenClosed, goldenOpen, logOf, partialExit } from './trades.js';

describe('ISO week boundary for weekly_start_value', () => {
  // start 1000. Sun 03-08 +100, Mon 03-09 +50, Sat 03-14 -30, Sun 03-15 +25
  const log = logOf(
    goldenClosed('T1', '2026-03-08T20:00:00+00:00', 100),
    goldenClosed('T2', '2026-03-09T00:00:00+00:00', 50), // exactly Monday 00:00: belongs to the new week
    goldenClosed('T3', '2026-03-14T12:00:00+00:00', -30),
    goldenClosed('T4', '2026-03-15T23:59:59.999999+00:00', 25),
  );

  it('on the last instant of Sunday the week started on the previous Monday', () => {
    const r = deriveRiskState(log, { startingCapital: 1000, now: at('2026-03-15T23:59:59.999Z') });
    expect(r.daily_reset_date).toBe('2026-03-15');
    expect(r.weekly_reset_date).toBe('2026-03-09');
    expect(r.daily_start_value).toBe(1120); // end of Sat 03-14: 1000 + 100 + 50 - 30
    expect(r.weekly_start_value).toBe(1100); // end of Sun 03-08: the Monday +50 is inside the week
    expect(r.current_value).toBe(1145);
  });

  it('on Monday 00:00 a new week starts: weekly start = daily start = end of Sunday', () => {
    const r = deriveRiskState(log, { startingCapital: 1000, now: at('2026-03-16T00:00:00Z') });
    expect(r.daily_reset_date).toBe('2026-03-16');
    expect(r.weekly_reset_date).toBe('2026-03-16');
    expect(r.daily_start_value).toBe(1145);
    expect(r.weekly_start_value).toBe(1145);
  });

  it('a Monday is its own week start even before its first trade', () => {
    const r = deriveRiskState(logOf(log.trades[0]!), { startingCapital: 1000, now: at('2026-03-09T08:00:00Z') });
    expect(r.weekly_reset_date).toBe('2026-03-09');
    expect(r.weekly_start_value).toBe(1100); // Sunday's +100 is before the week
    expect(r.daily_start_value).toBe(1100);
  });
});

describe('halt', () => {
  // start 1000. Tue 03-10 -100 (900), Wed 03-11 -150 (750); now Wed 03-11 (Monday 03-09).
  // daily (750 - 900) / 900 = -16.67 %, weekly (750 - 1000) / 1000 = -25 %, total -25 %.
  const log = logOf(goldenClosed('T1', '2026-03-10T10:00:00Z', -100), goldenClosed('T2', '2026-03-11T10:00:00Z', -150));
  const base = { startingCapital: 1000, now: at('2026-03-11T12:00:00Z') };

  it('checks daily, then weekly, then total, and names the first breach', () => {
    expect(deriveRiskState(log, base).halt_reason).toBe('Daily drawdown -16.7% exceeds -2.0% limit');
    expect(deriveRiskState(log, { ...base, drawdownLimits: { daily: -0.5 } }).halt_reason).toBe(
      'Weekly drawdown -25.0% exceeds -10.0% limit',
    );
    expect(deriveRiskState(log, { ...base, drawdownLimits: { daily: -0.5, weekly: -0.5 } }).halt_reason).toBe(
      'Total drawdown -25.0% exceeds -20.0% limit',
    );
    const none = deriveRiskState(log, { ...base, drawdownLimits: { daily: -0.5, weekly: -0.5, total: -0.5 } });
    expect([none.halted, none.halt_reason]).toEqual([false, null]);
    expect(deriveRiskState(log, { ...base, drawdownLimits: { daily: -0.99 } }).halt_reason).toMatch(/^Weekly/);
  });

  it('haltState agrees with risk_state and returns the fractions', () => {
    const h = haltState(log, base);
    const r = deriveRiskState(log, base);
    expect([h.halted, h.halt_reason]).toEqual([r.halted, r.halt_reason]);
    expect(h.daily).toBeCloseTo(-1 / 6, 12);
    expect(h.weekly).toBeCloseTo(-0.25, 12);
    expect(h.total).toBeCloseTo(-0.25, 12);
  });

  it('a drawdown of exactly the limit is a breach; one cent less is not', () => {
    // start 1000, nothing before today; today -20 -> 980: (980 - 1000) / 1000 = -2.0 %
    const now = { startingCapital: 1000, now: at('2026-03-11T12:00:00Z') };
    const exact = haltState(logOf(goldenClosed('T1', '2026-03-11T10:00:00Z', -20)), now);
    expect(exact).toMatchObject({ halted: true, halt_reason: 'Daily drawdown -2.0% exceeds -2.0% limit' });
    const above = haltState(logOf(goldenClosed('T1', '2026-03-11T10:00:00Z', -19.99)), now);
    expect([above.halted, above.halt_reason]).toEqual([false, null]);
  });

  it('yesterday\'s losses do not count against today', () => {
    // -100 on Tue, nothing Wed: daily start 900, current 900 -> daily 0; weekly -10 % breaches at -10 %
    const h = haltState(logOf(goldenClosed('T1', '2026-03-10T10:00:00Z', -100)), base);
    expect(h.daily).toBe(0);
    expect(h.halt_reason).toBe('Weekly drawdown -10.0% exceeds -10.0% limit');
  });

  it('counts partial exits of open trades', () => {
    // +10 yesterday, -25 today on an open trade: daily (985 - 1010) / 1010 = -2.475 % -> "-2.5"
    const h = haltState(
      logOf(goldenClosed('T1', '2026-03-10T10:00:00Z', 10), goldenOpen('T2', { partial_exits: [partialExit('2026-03-11T09:00:00Z', -25)] })),
      base,
    );
    expect(h.halt_reason).toBe('Daily drawdown -2.5% exceeds -2.0% limit');
  });
});

describe('timestamps', () => {
  const start = { startingCapital: 1000 };

  it('reads Python, Z, naive and offset forms, dating each by its UTC day', () => {
    const log = logOf(
      goldenClosed('T1', '2026-03-14T11:28:53.123456+00:00', 1),
      goldenClosed('T2', '2026-03-14T23:59:59Z', 2),
      goldenClosed('T3', '2026-03-15 00:00:00', 4), // naive = UTC, space separator
      goldenClosed('T4', '2026-03-15T02:00:00+05:30', 8), // = 03-14 20:30 UTC
      goldenClosed('T5', '2026-03-14T21:00:00-05:00', 16), // = 03-15 02:00 UTC
    );
    expect(equityCurve(log.trades, 1000, at('2026-03-15T12:00:00Z'))).toEqual([
      { date: '2026-03-14', equity: 1011 }, // 1 + 2 + 8
      { date: '2026-03-15', equity: 1031 }, // + 4 + 16
    ]);
  });

  it('an unparseable or missing exit_time counts on the first day of the curve, and sorts first for streaks', () => {
    const log = logOf(
      goldenClosed('T1', '2026-03-12T10:00:00Z', 10),
      goldenClosed('T2', 'yesterday', -5),
      goldenClosed('T3', '2026-03-13T10:00:00Z', 20),
      goldenClosed('T4', null as unknown as string, -1),
    );
    const e = deriveEquity(log, { ...start, now: at('2026-03-14T00:00:00Z') });
    expect(e.equity_curve).toEqual([
      { date: '2026-03-12', equity: 1004 }, // 1000 + 10 - 5 - 1
      { date: '2026-03-13', equity: 1024 },
      { date: '2026-03-14', equity: 1024 },
    ]);
    // streak order: T2 L, T4 L (both unparseable, file order), T1 W, T3 W
    expect(e.last_5_results).toEqual(['L', 'L', 'W', 'W']);
    expect([e.current_streak, e.max_loss_streak]).toEqual([2, 2]);
  });

  it('a timestamp before 1970 is treated as unparseable, so the curve does not span centuries', () => {
    const log = logOf(goldenClosed('T1', '2026-03-12T10:00:00Z', 10), goldenClosed('T2', '1026-03-12T10:00:00Z', -5));
    const e = deriveEquity(log, { ...start, now: at('2026-03-13T00:00:00Z') });
    expect(e.equity_curve).toEqual([
      { date: '2026-03-12', equity: 1005 },
      { date: '2026-03-13', equity: 1005 },
    ]);
  });

  it('with only unparseable timestamps the curve is today alone', () => {
    const e = deriveEquity(logOf(goldenClosed('T1', 'bad', 7)), { ...start, now: at('2026-03-14T09:00:00Z') });
    expect(e.equity_curve).toEqual([{ date: '2026-03-14', equity: 1007 }]);
    expect(e.inception_date).toBe('2026-03-14');
  });

  it('future-dated events (clock skew) count on today', () => {
    const log = logOf(goldenClosed('T1', '2026-03-10T10:00:00Z', 10), goldenClosed('T2', '2026-03-20T10:00:00Z', 5));
    const s = deriveState(log, { ...start, now: at('2026-03-11T10:00:00Z') });
    expect(s.equity.equity_curve).toEqual([
      { date: '2026-03-10', equity: 1010 },
      { date: '2026-03-11', equity: 1015 },
    ]);
    expect(s.risk_state.daily_start_value).toBe(1010);
    // a log whose every event is in the future starts its curve today
    expect(equityCurve([log.trades[1]!], 1000, at('2026-03-11T10:00:00Z'))).toEqual([{ date: '2026-03-11', equity: 1005 }]);
  });

  it('last_updated is Python isoformat with 6 fractional digits', () => {
    const s = deriveState(logOf(), { ...start, now: at('2026-03-14T11:28:53Z') });
    expect(s.portfolio.last_updated).toBe('2026-03-14T11:28:53.000000+00:00');
  });

  it('a curve spanning month, leap-day and year ends has one point per calendar day', () => {
    const c = equityCurve(logOf(goldenClosed('T1', '2027-12-30T10:00:00Z', 1)).trades, 1000, at('2028-03-01T00:00:00Z'));
    expect(c.length).toBe(2 + 31 + 29 + 1); // Dec 30-31, January, February 2028 (leap), March 1
    expect(c.map((p) => p.date)).toContain('2028-02-29');
    expect(c[2]?.date).toBe('2028-01-01');
  });
});
