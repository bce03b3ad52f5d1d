/**
 * The reconciler's derived state: portfolio.json, equity.json, risk_state.json
 * and setup_performance.json, each a pure function of (trade log, options).
 * docs/formulas.md defines every field, the differences from the Python
 * original and the choices made where its formulas are silent. The clock is a
 * parameter, so the same inputs give byte-identical JSON apart from `last_updated`.
 */
import { DEFAULT_DRAWDOWN_LIMITS, type DrawdownLimits, type Trade, type TradeLog } from './types.js';
import {
  amount,
  analyze,
  buildLedger,
  dayTotals,
  r1,
  r2,
  riskOf,
  rOf,
  startValues,
  tradesOf,
  type Analysis,
  type DayTotals,
  type Ledger,
} from './derive-core.js';
import { dateToDay, dayToDate, isoMonday, pyIsoformat } from './derive-time.js';

export { checkDerivedInvariants } from './derive-invariants.js';

export interface DeriveOptions {
  startingCapital: number;
  drawdownLimits?: Partial<DrawdownLimits>;
  now: Date;
}

export interface PortfolioPosition {
  trade_id: string;
  symbol: string;
  direction: string;
  size: number;
  entry_price: number;
}

export interface Portfolio {
  balance: number;
  current_equity: number;
  starting_capital: number;
  realized_pnl: number;
  total_trades: number;
  winning_trades: number;
  losing_trades: number;
  open_positions: PortfolioPosition[];
  last_updated: string;
}

export interface EquityPoint {
  date: string;
  equity: number;
}

export type DrawdownStatus = 'NORMAL' | 'WARNING' | 'REDUCE' | 'STOP';
export type TradeResult = 'W' | 'L' | 'BE';

export interface HeatPosition {
  trade_id: string;
  symbol: string;
  risk_pct: number;
}

export interface EquityState {
  starting_capital: number;
  current_equity: number;
  total_pnl: number;
  total_return_pct: number;
  equity_curve: EquityPoint[];
  inception_date: string;
  peak_equity: number;
  drawdown_percent: number;
  drawdown_status: DrawdownStatus;
  max_drawdown_pct: number;
  max_drawdown_days: number;
  current_drawdown_days: number;
  total_trades: number;
  winning_trades: number;
  losing_trades: number;
  win_rate: number;
  profit_factor: number | null;
  avg_r: number;
  portfolio_heat: number;
  heat_per_position: HeatPosition[];
  current_streak: number;
  max_win_streak: number;
  max_loss_streak: number;
  last_5_results: TradeResult[];
  last_updated: string;
}

export interface RiskPosition {
  symbol: string;
  direction: string;
  trade_id: string;
}

export interface RiskState {
  starting_value: number;
  current_value: number;
  daily_start_value: number;
  weekly_start_value: number;
  daily_reset_date: string;
  weekly_reset_date: string;
  halted: boolean;
  halt_reason: string | null;
  open_positions: RiskPosition[];
  /** Not in the original file; added so a reader can tell a stale halt flag. */
  last_updated: string;
}

export interface SetupStats {
  total_trades: number;
  wins: number;
  losses: number;
  breakeven: number;
  win_rate: number;
  avg_r: number;
  avg_win_r: number;
  avg_loss_r: number;
  expectancy: number;
  total_pnl: number;
  trades: string[];
}

export interface SetupPerformance {
  /** Keyed by setup, in descending expectancy (see docs/formulas.md for integer-like names). */
  setups: Record<string, SetupStats>;
  /** Absent when there is no closed trade, as in the original. */
  total_closed?: number;
  last_updated: string;
}

export interface DerivedState {
  portfolio: Portfolio;
  equity: EquityState;
  risk_state: RiskState;
  setup_performance: SetupPerformance;
}

export interface HaltState {
  halted: boolean;
  halt_reason: string | null;
  /** Drawdowns as fractions (−0.024 = −2.4 %), 0 where the base is ≤ 0. */
  daily: number;
  weekly: number;
  total: number;
}

/** Options checked once, with the clock turned into day numbers. */
interface Context {
  start: number;
  limits: DrawdownLimits;
  today: number;
  monday: number;
  stamp: string;
}

function context(options: {
  startingCapital: number;
  drawdownLimits?: Partial<DrawdownLimits> | undefined;
  now: Date;
}): Context {
  const { startingCapital: start, now } = options;
  if (typeof start !== 'number' || !Number.isFinite(start)) {
    throw new TypeError(`Expected "startingCapital" to be a finite number, got ${String(start)}`);
  }
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new TypeError('Expected "now" to be a valid Date');
  }
  const limits: DrawdownLimits = { ...DEFAULT_DRAWDOWN_LIMITS };
  for (const key of ['daily', 'weekly', 'total', 'warning'] as const) {
    const v = options.drawdownLimits?.[key];
    if (v === undefined) continue;
    // -Infinity disables a limit; 0 or positive would halt on a flat day.
    if (typeof v !== 'number' || Number.isNaN(v) || v >= 0) {
      throw new TypeError(`Expected "drawdownLimits.${key}" to be a negative fraction, got ${String(v)}`);
    }
    limits[key] = v;
  }
  const today = dateToDay(now);
  return { start, limits, today, monday: isoMonday(today), stamp: pyIsoformat(now) };
}

// ---------------------------------------------------------------- portfolio

function buildPortfolio(a: Analysis, c: Context): Portfolio {
  const equity = r2(c.start + a.realized);
  return {
    balance: equity,
    current_equity: equity,
    starting_capital: c.start,
    realized_pnl: r2(a.realized),
    total_trades: a.closed.length,
    winning_trades: a.wins,
    losing_trades: a.losses,
    open_positions: a.open.map((t) => ({
      trade_id: t.id,
      symbol: t.symbol,
      direction: t.direction,
      size: t.size,
      entry_price: t.entry_price,
    })),
    last_updated: c.stamp,
  };
}

export function derivePortfolio(log: TradeLog, options: DeriveOptions): Portfolio {
  const c = context(options);
  return buildPortfolio(analyze(tradesOf(log)), c);
}

// ------------------------------------------------------------------- equity

/** The curve from day totals; today's point is r2(equity) by definition (all events are ≤ today). */
function curveOf(totals: DayTotals, start: number, today: number, equity: number): EquityPoint[] {
  const { days, sums } = totals;
  const first = days[0];
  if (first === undefined) return [];
  const points: EquityPoint[] = [];
  let cum = 0;
  let k = 0;
  for (let d = first; d < today; d++) {
    if (days[k] === d) cum += sums[k++] as number;
    points.push({ date: dayToDate(d), equity: r2(start + cum) });
  }
  points.push({ date: dayToDate(today), equity: r2(equity) });
  return points;
}

export function equityCurve(trades: readonly Trade[], startingCapital: number, now: Date): EquityPoint[] {
  const c = context({ startingCapital, now });
  const a = analyze(trades);
  return curveOf(dayTotals(buildLedger(trades), c.today), c.start, c.today, c.start + a.realized);
}

function atOrBelow(pct: number, limitFraction: number): boolean {
  // tolerance: -0.07 * 100 is -7.000000000000001, and -7.00 % must count as reaching it
  return pct <= limitFraction * 100 + 1e-9;
}

interface Streaks {
  current: number;
  maxWin: number;
  maxLoss: number;
  last5: TradeResult[];
}

function streaksOf(a: Analysis, exitMicros: readonly number[]): Streaks {
  const n = a.closed.length;
  const keys = new Float64Array(n);
  const order = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const micros = exitMicros[i] as number;
    // unparseable or missing exit_time sorts first, as Python puts '' / None first
    keys[i] = Number.isNaN(micros) ? -Infinity : micros;
    order[i] = i;
  }
  order.sort((x, y) => (keys[x] as number) - (keys[y] as number) || x - y);
  const results: TradeResult[] = new Array<TradeResult>(n);
  let current = 0;
  let maxWin = 0;
  let maxLoss = 0;
  let prev: TradeResult | null = null;
  for (let k = 0; k < n; k++) {
    const net = a.closedNet[order[k] as number] as number;
    const r: TradeResult = net > 0 ? 'W' : net < 0 ? 'L' : 'BE';
    results[k] = r;
    if (r === 'BE') continue;
    const step = r === 'W' ? 1 : -1;
    current = r === prev ? current + step : step;
    prev = r;
    if (current > maxWin) maxWin = current;
    if (-current > maxLoss) maxLoss = -current;
  }
  return { current, maxWin, maxLoss, last5: results.slice(-5) };
}

function buildEquity(a: Analysis, ledger: Ledger, totals: DayTotals, c: Context): EquityState {
  const { start, limits, today } = c;
  const equity = start + a.realized;
  const current = r2(equity);
  const curve = curveOf(totals, start, today, equity);

  // compared at cent precision, like the curve's points, so a flat curve is never "in drawdown"
  const start2 = r2(start);
  let peak = start2;
  let runPeak = start2;
  let maxDd = 0;
  let maxDays = 0;
  let curDays = 0;
  for (const p of curve) {
    const eq = p.equity;
    if (eq > peak) peak = eq;
    if (eq >= runPeak) {
      runPeak = eq;
      curDays = 0;
    } else {
      curDays++;
      if (curDays > maxDays) maxDays = curDays;
      if (runPeak > 0) {
        const dd = r2(((eq - runPeak) / runPeak) * 100);
        if (dd < maxDd) maxDd = dd;
      }
    }
  }
  const peakEquity = peak;
  // current (not the unrounded equity): the last point is current and ≤ peak, so this is never > 0
  const ddPct = peakEquity > 0 ? r2(((current - peakEquity) / peakEquity) * 100) : 0;
  const status: DrawdownStatus = atOrBelow(ddPct, limits.total)
    ? 'STOP'
    : atOrBelow(ddPct, limits.weekly)
      ? 'REDUCE'
      : atOrBelow(ddPct, limits.warning)
        ? 'WARNING'
        : 'NORMAL';

  let winSum = 0;
  let lossSum = 0;
  let rSum = 0;
  let rCount = 0;
  for (let i = 0; i < a.closed.length; i++) {
    const net = a.closedNet[i] as number;
    if (net > 0) winSum += net;
    else if (net < 0) lossSum += net;
    const r = rOf(a.closed[i] as Trade, net);
    if (r !== null) {
      rSum += r;
      rCount++;
    }
  }

  // E is the rounded current_equity, so a reader can recompute risk_pct from the file
  const heat: HeatPosition[] = [];
  let heatUsd = 0;
  if (current > 0) {
    for (const t of a.open) {
      const entry = t.entry_price;
      const size = t.size;
      if (!(typeof entry === 'number' && entry > 0 && typeof size === 'number' && size > 0)) continue;
      const riskUsd = riskOf(t) * size;
      if (!Number.isFinite(riskUsd)) continue;
      heatUsd += riskUsd;
      heat.push({ trade_id: t.id, symbol: t.symbol, risk_pct: r2((riskUsd / current) * 100) });
    }
  }

  const s = streaksOf(a, ledger.exitMicros);
  const closedCount = a.closed.length;
  return {
    starting_capital: start,
    current_equity: current,
    total_pnl: r2(a.realized),
    total_return_pct: start > 0 ? r2(((equity - start) / start) * 100) : 0,
    equity_curve: curve,
    inception_date: curve[0]?.date ?? dayToDate(today),
    peak_equity: peakEquity,
    drawdown_percent: ddPct,
    drawdown_status: status,
    max_drawdown_pct: maxDd,
    max_drawdown_days: maxDays,
    current_drawdown_days: curDays,
    total_trades: closedCount,
    winning_trades: a.wins,
    losing_trades: a.losses,
    win_rate: closedCount > 0 ? r1((a.wins / closedCount) * 100) : 0,
    profit_factor: a.losses > 0 ? r2(winSum / Math.abs(lossSum)) : null,
    avg_r: rCount > 0 ? r2(rSum / rCount) : 0,
    portfolio_heat: heat.length > 0 ? r2((heatUsd / current) * 100) : 0,
    heat_per_position: heat,
    current_streak: s.current,
    max_win_streak: s.maxWin,
    max_loss_streak: s.maxLoss,
    last_5_results: s.last5,
    last_updated: c.stamp,
  };
}

export function deriveEquity(log: TradeLog, options: DeriveOptions): EquityState {
  const c = context(options);
  const trades = tradesOf(log);
  const ledger = buildLedger(trades);
  return buildEquity(analyze(trades), ledger, dayTotals(ledger, c.today), c);
}

// --------------------------------------------------------------- risk state

function fmtPct(fraction: number): string {
  // Python's f"{x:.1f}" rounds the binary value half-even; pyRound first, then print
  return r1(fraction * 100).toFixed(1);
}

function evaluateHalt(current: number, dailyStart: number, weeklyStart: number, c: Context): HaltState {
  const { start, limits } = c;
  const daily = dailyStart > 0 ? (current - dailyStart) / dailyStart : 0;
  const weekly = weeklyStart > 0 ? (current - weeklyStart) / weeklyStart : 0;
  const total = start > 0 ? (current - start) / start : 0;
  const checks: [string, number, number][] = [
    ['Daily', daily, limits.daily],
    ['Weekly', weekly, limits.weekly],
    ['Total', total, limits.total],
  ];
  for (const [label, dd, limit] of checks) {
    // 1e-12: a drawdown of exactly the limit is a breach even when the division lands an ulp above
    if (dd <= limit + 1e-12) {
      const reason = `${label} drawdown ${fmtPct(dd)}% exceeds ${fmtPct(limit)}% limit`;
      return { halted: true, halt_reason: reason, daily, weekly, total };
    }
  }
  return { halted: false, halt_reason: null, daily, weekly, total };
}

function buildRiskState(a: Analysis, totals: DayTotals, c: Context): RiskState {
  const current = r2(c.start + a.realized);
  const sv = startValues(totals, c.start, c.today, c.monday);
  const h = evaluateHalt(current, sv.daily, sv.weekly, c);
  return {
    starting_value: c.start,
    current_value: current,
    daily_start_value: sv.daily,
    weekly_start_value: sv.weekly,
    daily_reset_date: dayToDate(c.today),
    weekly_reset_date: dayToDate(c.monday),
    halted: h.halted,
    halt_reason: h.halt_reason,
    open_positions: a.open.map((t) => ({ symbol: t.symbol, direction: t.direction, trade_id: t.id })),
    last_updated: c.stamp,
  };
}

export function deriveRiskState(log: TradeLog, options: DeriveOptions): RiskState {
  const c = context(options);
  const trades = tradesOf(log);
  return buildRiskState(analyze(trades), dayTotals(buildLedger(trades), c.today), c);
}

/** What risk_state.json would say about halting, without building the files. */
export function haltState(
  log: TradeLog,
  options: { startingCapital: number; drawdownLimits?: Partial<DrawdownLimits> | undefined; now: Date },
): HaltState {
  const c = context(options);
  const trades = tradesOf(log);
  const current = r2(c.start + analyze(trades).realized);
  const sv = startValues(dayTotals(buildLedger(trades), c.today), c.start, c.today, c.monday);
  return evaluateHalt(current, sv.daily, sv.weekly, c);
}

// -------------------------------------------------------- setup performance

function isFalsy(v: unknown): boolean {
  if (v === null || v === undefined || v === '' || v === 0 || v === false || Number.isNaN(v)) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v).length === 0;
}

/** A setup value as Python's json.dumps would write it as an object key. */
function keyOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** setup_type, or when empty/missing the trade's `setup` field if the key exists, else "Unknown". */
function setupKey(t: Trade): string {
  if (!isFalsy(t.setup_type)) return keyOf(t.setup_type);
  return Object.hasOwn(t, 'setup') ? keyOf(t.setup) : 'Unknown';
}

function mean(xs: number[]): number {
  if (xs.length === 0) return 0;
  let s = 0;
  for (const x of xs) s += x;
  return r2(s / xs.length);
}

function buildSetupPerformance(a: Analysis, c: Context): SetupPerformance {
  if (a.closed.length === 0) return { setups: {}, last_updated: c.stamp };
  const groups = new Map<string, number[]>();
  for (let i = 0; i < a.closed.length; i++) {
    const key = setupKey(a.closed[i] as Trade);
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [i]);
    else g.push(i);
  }
  const rows: { key: string; stats: SetupStats }[] = [];
  for (const [key, members] of groups) {
    let wins = 0;
    let losses = 0;
    let netSum = 0;
    const rs: number[] = [];
    const pos: number[] = [];
    const neg: number[] = [];
    const ids: string[] = [];
    for (const i of members) {
      const t = a.closed[i] as Trade;
      const net = a.closedNet[i] as number;
      netSum += net;
      if (net > 0) wins++;
      else if (net < 0) losses++;
      ids.push(t.id);
      // FORMULAS.md: the fallback R uses pnl_usd here, not net
      const r = rOf(t, amount(t.pnl_usd));
      if (r === null) continue;
      const rr = r2(r);
      rs.push(rr);
      if (rr > 0) pos.push(rr);
      else if (rr < 0) neg.push(rr);
    }
    const total = members.length;
    const wr = wins / total;
    const avgWin = mean(pos);
    const avgLoss = mean(neg);
    rows.push({
      key,
      stats: {
        total_trades: total,
        wins,
        losses,
        breakeven: total - wins - losses,
        win_rate: r1(wr * 100),
        avg_r: mean(rs),
        avg_win_r: avgWin,
        avg_loss_r: avgLoss,
        expectancy: r2(wr * avgWin + (1 - wr) * avgLoss),
        total_pnl: r2(netSum),
        trades: ids,
      },
    });
  }
  rows.sort((x, y) => y.stats.expectancy - x.stats.expectancy); // stable: ties keep first appearance
  const setups: Record<string, SetupStats> = {};
  for (const { key, stats } of rows) {
    // defineProperty, so a setup named "__proto__" is a key and not a prototype
    Object.defineProperty(setups, key, { value: stats, enumerable: true, writable: true, configurable: true });
  }
  return { setups, total_closed: a.closed.length, last_updated: c.stamp };
}

export function deriveSetupPerformance(log: TradeLog, options: DeriveOptions): SetupPerformance {
  const c = context(options);
  return buildSetupPerformance(analyze(tradesOf(log)), c);
}

// -------------------------------------------------------------------- all

/** All four files from one pass over the log and one parse of its timestamps. */
export function deriveState(log: TradeLog, options: DeriveOptions): DerivedState {
  const c = context(options);
  const trades = tradesOf(log);
  const a = analyze(trades);
  const ledger = buildLedger(trades);
  const totals = dayTotals(ledger, c.today);
  return {
    portfolio: buildPortfolio(a, c),
    equity: buildEquity(a, ledger, totals, c),
    risk_state: buildRiskState(a, totals, c),
    setup_performance: buildSetupPerformance(a, c),
  };
}
