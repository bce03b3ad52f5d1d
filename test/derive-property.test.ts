/**
 * Properties over random valid logs: the invariants hold, realized P&L equals
 * the exact Σ net P&L (computed here in integer cents), haltState agrees with
 * risk_state's book (the halt the store enforces), each derive* agrees with
 * deriveState, and output is deterministic.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  checkDerivedInvariants,
  deriveBook,
  deriveEquity,
  derivePortfolio,
  deriveRiskState,
  deriveSetupPerformance,
  deriveState,
  haltState,
} from '../src/domain/derive/index.js';
import type { Trade, TradeLog } from '../src/domain/types.js';
import { goldenRecord, logOf, partialExit } from './trades.js';

const T0 = Date.UTC(2025, 0, 1);
const T1 = Date.UTC(2026, 5, 1);

/** A timestamp in one of the spellings writers produce, or (rarely) garbage. */
const timestamp = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: T0, max: T1 }).map((ms) => `${new Date(ms).toISOString().slice(0, 23)}000+00:00`) },
  { weight: 3, arbitrary: fc.integer({ min: T0, max: T1 }).map((ms) => new Date(ms).toISOString()) },
  { weight: 2, arbitrary: fc.integer({ min: T0, max: T1 }).map((ms) => new Date(ms).toISOString().slice(0, 19)) },
  { weight: 1, arbitrary: fc.constantFrom('garbage', '2026-02-30T00:00:00Z', '') },
);

const rawTrade = fc.record({
  status: fc.constantFrom('OPEN', 'CLOSED', 'CLOSED', 'CLOSED'),
  direction: fc.constantFrom('LONG', 'SHORT'),
  pnlCents: fc.integer({ min: -50_000, max: 50_000 }),
  zeroPnl: fc.boolean(),
  exitTime: timestamp,
  partials: fc.array(fc.record({ cents: fc.integer({ min: -20_000, max: 20_000 }), ts: timestamp }), { maxLength: 3 }),
  entry: fc.integer({ min: 1, max: 100_000 }),
  riskCents: fc.integer({ min: 0, max: 100_000 }),
  size: fc.integer({ min: 0, max: 10_000 }).map((n) => n / 100),
  rMultiple: fc.option(fc.integer({ min: -500, max: 500 }).map((n) => n / 100)),
  setupType: fc.constantFrom('A', 'B', 'C', '', null),
  setup: fc.option(fc.constantFrom('X', 'Y', null), { nil: undefined }),
});

type Raw = typeof rawTrade extends fc.Arbitrary<infer R> ? R : never;

function build(raws: Raw[]): { log: TradeLog; cents: number } {
  let cents = 0;
  const trades: Trade[] = raws.map((r, i) => {
    const pnlCents = r.zeroPnl ? 0 : r.pnlCents;
    const partialCents = r.partials.reduce((s, p) => s + p.cents, 0);
    cents += r.status === 'CLOSED' ? pnlCents + partialCents : partialCents;
    const stop = r.direction === 'LONG' ? r.entry - r.riskCents / 100 : r.entry + r.riskCents / 100;
    const closed = r.status === 'CLOSED';
    return goldenRecord(`T${String(i + 1).padStart(3, '0')}`, {
      symbol: `S${i % 7}`,
      direction: r.direction,
      status: r.status,
      entry_price: r.entry,
      stop_price: stop,
      original_stop: stop,
      size: r.size,
      original_size: r.size,
      exit_price: closed ? r.entry : null,
      exit_time: closed ? r.exitTime : null,
      pnl_usd: closed ? pnlCents / 100 : null,
      r_multiple: closed ? r.rMultiple : null,
      setup_type: r.setupType,
      ...(r.setup === undefined ? {} : { setup: r.setup }),
      ...(r.partials.length > 0 ? { partial_exits: r.partials.map((p) => partialExit(p.ts, p.cents / 100)) } : {}),
    });
  });
  return { log: logOf(...trades), cents };
}

const scenario = fc.record({
  raws: fc.array(rawTrade, { maxLength: 40 }),
  // a starting capital > 0, as every door to the settings requires (domain/settings.ts)
  startCents: fc.integer({ min: 1, max: 100_000_000 }),
  now: fc.integer({ min: T0, max: T1 + 30 * 86_400_000 }),
  limits: fc.record({
    daily: fc.integer({ min: 1, max: 50 }).map((n) => -n / 100),
    weekly: fc.integer({ min: 1, max: 50 }).map((n) => -n / 100),
    total: fc.integer({ min: 1, max: 90 }).map((n) => -n / 100),
    warning: fc.integer({ min: 1, max: 50 }).map((n) => -n / 100),
  }),
});

describe('derived state over random logs', () => {
  it('satisfies every invariant and realized P&L equals Σ net P&L', () => {
    fc.assert(
      fc.property(scenario, ({ raws, startCents, now, limits }) => {
        const { log, cents } = build(raws);
        const options = { startingCapital: startCents / 100, now: new Date(now), drawdownLimits: limits };
        const state = deriveState(log, options);
        expect(checkDerivedInvariants(state, log)).toEqual([]);
        expect(state.portfolio.realized_pnl).toBe(cents / 100);
        expect(state.equity.total_pnl).toBe(cents / 100);
        expect(state.portfolio.current_equity).toBe((startCents + cents) / 100);
      }),
      { numRuns: 300 },
    );
  });

  it('haltState agrees with risk_state; each derive* agrees with deriveState; output is deterministic', () => {
    fc.assert(
      fc.property(scenario, ({ raws, startCents, now, limits }) => {
        const { log } = build(raws);
        const options = { startingCapital: startCents / 100, now: new Date(now), drawdownLimits: limits };
        const state = deriveState(log, options);
        const h = haltState(log, options);
        expect([h.halted, h.halt_reason]).toEqual([state.risk_state.book.halted, state.risk_state.book.halt_reason]);
        expect(derivePortfolio(log, options)).toEqual(state.portfolio);
        expect(deriveEquity(log, options)).toEqual(state.equity);
        expect(deriveRiskState(log, options)).toEqual(state.risk_state);
        expect(deriveSetupPerformance(log, options)).toEqual(state.setup_performance);
        const again = deriveState(structuredClone(log), options);
        expect(JSON.stringify(again)).toBe(JSON.stringify(state));
      }),
      { numRuns: 150 },
    );
  });
});

describe('the book over random logs', () => {
  it('a peak that never falls, a max drawdown at or below every running one, counts that add up, the same equity', () => {
    fc.assert(
      fc.property(scenario, ({ raws, startCents, now, limits }) => {
        const { log } = build(raws);
        const options = { startingCapital: startCents / 100, now: new Date(now), drawdownLimits: limits };
        const state = deriveState(log, options);
        const book = deriveBook(log, options);
        const b = book.figures;
        expect(state.equity.book).toEqual(b);
        const eq = book.path.equity;
        // along the events the running peak never falls; the book's peak is the last of it
        let peak = Math.round(startCents) / 100;
        let prevPeak = peak;
        for (const e of eq) {
          peak = Math.max(peak, e);
          expect(peak).toBeGreaterThanOrEqual(prevPeak);
          prevPeak = peak;
          if (peak > 0) expect(b.max_drawdown_pct).toBeLessThanOrEqual(Math.round(((e - peak) / peak) * 10000) / 100 + 1e-9);
        }
        expect(b.peak_equity).toBe(peak);
        expect(b.max_drawdown_pct).toBeLessThanOrEqual(b.drawdown_pct);
        // the daily closes are among the events' equities: the book sees at least their peak and their
        // fall (in %, while equity stays ≥ 0: below 0, a higher peak makes the same trough a smaller share)
        expect(b.peak_equity).toBeGreaterThanOrEqual(state.equity.peak_equity);
        if (eq.every((e) => e >= 0)) expect(b.max_drawdown_pct).toBeLessThanOrEqual(state.equity.max_drawdown_pct);
        // the book ends where the original does
        expect(eq.length === 0 ? state.equity.current_equity : eq[eq.length - 1]).toBe(state.equity.current_equity);
        expect(b.wins + b.losses + b.breakeven).toBe(state.equity.total_trades);
        expect([b.wins, b.losses]).toEqual([state.equity.winning_trades, state.equity.losing_trades]);
        expect(b.win_rate === null).toBe(state.equity.total_trades === 0);
        expect(b.with_r + b.without_r).toBe(b.closed_trades);
        for (const st of Object.values(state.setup_performance.setups)) {
          const sb = st.book;
          expect(sb.wins + sb.losses + sb.breakeven).toBe(st.total_trades);
          expect(sb.with_r + sb.without_r).toBe(st.total_trades);
          // a win's net R is never negative nor a loss's positive
          if (sb.avg_win_net_r !== null) expect(sb.avg_win_net_r).toBeGreaterThanOrEqual(0);
          if (sb.avg_loss_net_r !== null) expect(sb.avg_loss_net_r).toBeLessThanOrEqual(0);
          if (sb.wins === 0) expect(sb.avg_win_net_r).toBeNull();
          if (sb.losses === 0) expect(sb.avg_loss_net_r).toBeNull();
        }
        // the halt is the original's or stricter; each window's low is at or below the current equity
        const hb = state.risk_state.book;
        if (state.risk_state.halted) expect(hb.halted).toBe(true);
        expect(hb.daily_low_value).toBeLessThanOrEqual(state.risk_state.current_value);
        expect(hb.weekly_low_value).toBeLessThanOrEqual(hb.daily_low_value);
        expect(hb.lowest_value).toBeLessThanOrEqual(hb.weekly_low_value);
      }),
      { numRuns: 300 },
    );
  });
});

describe('checkDerivedInvariants can fail', () => {
  const log = logOf(
    goldenRecord('T001', { status: 'CLOSED', exit_time: '2026-03-02T10:00:00Z', pnl_usd: 10 }),
    goldenRecord('T002', { status: 'OPEN', symbol: 'ETH' }),
  );
  const fresh = () => deriveState(log, { startingCapital: 1000, now: new Date('2026-03-03T00:00:00Z') });

  it('is clean on the real state', () => {
    expect(checkDerivedInvariants(fresh(), log)).toEqual([]);
  });

  it.each<[string, (s: ReturnType<typeof fresh>) => void, RegExp]>([
    ['closed count', (s) => { s.portfolio.total_trades = 2; }, /portfolio\.total_trades \(2\) != closed trades/],
    ['balance', (s) => { s.portfolio.balance = 1; }, /portfolio\.balance/],
    ['risk current value', (s) => { s.risk_state.current_value = 999; }, /risk_state\.current_value/],
    ['open positions', (s) => { s.risk_state.open_positions = []; }, /risk_state\.open_positions has 0 entries/],
    ['max drawdown sign', (s) => { s.equity.max_drawdown_pct = 1; }, /max_drawdown_pct \(1\) > 0/],
    ['peak', (s) => { s.equity.peak_equity = 900; }, /peak_equity \(900\) < starting capital/],
    ['heat', (s) => { s.equity.portfolio_heat = -1; }, /portfolio_heat \(-1\) < 0/],
    ['curve gap', (s) => { s.equity.equity_curve.splice(0, 1, { date: '2026-02-01', equity: 1010 }); }, /consecutive day/],
    ['curve end', (s) => { s.equity.equity_curve.pop(); }, /last curve date/],
    ['halt flag', (s) => { s.risk_state.halted = true; }, /halted \(true\) disagrees/],
    ['profit factor', (s) => { s.equity.profit_factor = 0; }, /profit_factor \(0\) must be null/],
    ['setup total', (s) => { s.setup_performance.total_closed = 5; }, /total_closed \(5\)/],
    ['setup sum', (s) => { s.setup_performance.setups['S']!.total_trades = 3; }, /Σ setup total_trades \(3\)/],
    ['NaN', (s) => { s.equity.avg_r = Number.NaN; }, /state\.equity\.avg_r is NaN/],
    ['weekly reset', (s) => { s.risk_state.weekly_reset_date = '2026-03-01'; }, /is not the Monday/],
  ])('reports %s', (_name, corrupt, message) => {
    const s = fresh();
    corrupt(s);
    const out = checkDerivedInvariants(s, log);
    expect(out.some((m) => message.test(m))).toBe(true);
  });
});
