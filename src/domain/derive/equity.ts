/**
 * equity.json: the daily equity curve, peak and drawdowns, win rate, profit
 * factor, average R, portfolio heat and streaks (docs/formulas.md), and under
 * `book` the same figures as every screen shows them (book.ts).
 */
import { riskPerUnit, rMultipleOf, tally, type Tally } from '../formulas.js';
import { r1, r2 } from '../round.js';
import { dayToDate } from '../time.js';
import type { Trade, TradeLog } from '../types.js';
import { buildBook, drawdownStatusOf } from './book.js';
import { buildLedger, context, dayTotals, tradesOf, type Context, type DayTotals, type Ledger } from './core.js';
import type { DeriveOptions, DrawdownStatus, EquityPoint, EquityState, HeatPosition, TradeResult } from './types.js';

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
  const a = tally(trades);
  return curveOf(dayTotals(buildLedger(trades), c.today), c.start, c.today, c.start + a.realized);
}

interface Streaks {
  current: number;
  maxWin: number;
  maxLoss: number;
  last5: TradeResult[];
}

function streaksOf(a: Tally, exitMicros: readonly number[]): Streaks {
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

export function buildEquity(a: Tally, ledger: Ledger, totals: DayTotals, c: Context): EquityState {
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
  const status: DrawdownStatus = drawdownStatusOf(ddPct, limits);

  let winSum = 0;
  let lossSum = 0;
  let rSum = 0;
  let rCount = 0;
  for (let i = 0; i < a.closed.length; i++) {
    const net = a.closedNet[i] as number;
    if (net > 0) winSum += net;
    else if (net < 0) lossSum += net;
    const r = rMultipleOf(a.closed[i] as Trade, net);
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
      const riskUsd = riskPerUnit(t) * size;
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
    book: buildBook(a, ledger, c).figures,
  };
}

export function deriveEquity(log: TradeLog, options: DeriveOptions): EquityState {
  const c = context(options);
  const trades = tradesOf(log);
  const ledger = buildLedger(trades);
  return buildEquity(tally(trades), ledger, dayTotals(ledger, c.today), c);
}
