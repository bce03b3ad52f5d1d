/**
 * Post-reconcile invariants of the derived state against the log it came from.
 * Each violation is one message; [] means clean. Checked after every rebuild and
 * reported (onInvariantViolation), never blocking: a message here is a bug in
 * the derivation or a log the validator should have refused.
 */
import { tally } from '../formulas.js';
import { r2 } from '../round.js';
import { daysFromCivil } from '../time.js';
import type { TradeLog } from '../types.js';
import type { DerivedState } from './types.js';

const STATUSES = new Set(['NORMAL', 'WARNING', 'REDUCE', 'STOP']);
const INDEX_LIKE = /^(0|[1-9]\d*)$/;

function dayOf(date: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return NaN;
  return daysFromCivil(Number(date.slice(0, 4)), Number(date.slice(5, 7)), Number(date.slice(8, 10)));
}

/** Paths of numbers JSON cannot hold (NaN and ±Infinity become null on disk). */
function nonFinite(value: unknown, path: string, out: string[]): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) out.push(`${path} is ${value}, not a finite number`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => nonFinite(v, `${path}[${i}]`, out));
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) nonFinite(v, `${path}.${k}`, out);
  }
}

export function checkDerivedInvariants(state: DerivedState, log: TradeLog): string[] {
  const out: string[] = [];
  const check = (ok: boolean, message: string): void => {
    if (!ok) out.push(message);
  };
  const { portfolio: p, equity: e, risk_state: rs, setup_performance: sp } = state;
  const a = tally(Array.isArray(log.trades) ? log.trades : []);
  const closed = a.closed.length;
  const open = a.open.length;

  nonFinite(state, 'state', out);

  // counts
  check(p.total_trades === closed, `portfolio.total_trades (${p.total_trades}) != closed trades in the log (${closed})`);
  check(e.total_trades === closed, `equity.total_trades (${e.total_trades}) != closed trades in the log (${closed})`);
  check(
    p.winning_trades + p.losing_trades <= p.total_trades,
    `portfolio winning_trades + losing_trades (${p.winning_trades} + ${p.losing_trades}) > total_trades (${p.total_trades})`,
  );
  check(
    e.winning_trades === p.winning_trades && e.losing_trades === p.losing_trades,
    `equity win/loss counts (${e.winning_trades}/${e.losing_trades}) != portfolio's (${p.winning_trades}/${p.losing_trades})`,
  );
  check(p.winning_trades === a.wins, `portfolio.winning_trades (${p.winning_trades}) != winning closed trades (${a.wins})`);
  check(p.losing_trades === a.losses, `portfolio.losing_trades (${p.losing_trades}) != losing closed trades (${a.losses})`);

  // money
  const start = p.starting_capital;
  check(
    e.starting_capital === start && rs.starting_value === start,
    `starting capital differs: portfolio ${start}, equity ${e.starting_capital}, risk_state ${rs.starting_value}`,
  );
  check(p.balance === p.current_equity, `portfolio.balance (${p.balance}) != current_equity (${p.current_equity})`);
  const expectedEquity = r2(start + a.realized);
  check(p.current_equity === expectedEquity, `portfolio.current_equity (${p.current_equity}) != r2(start + Σ net P&L) (${expectedEquity})`);
  check(e.current_equity === p.current_equity, `equity.current_equity (${e.current_equity}) != portfolio's (${p.current_equity})`);
  check(rs.current_value === p.current_equity, `risk_state.current_value (${rs.current_value}) != portfolio.current_equity (${p.current_equity})`);
  const expectedPnl = r2(a.realized);
  check(p.realized_pnl === expectedPnl, `portfolio.realized_pnl (${p.realized_pnl}) != r2(Σ net P&L) (${expectedPnl})`);
  check(e.total_pnl === p.realized_pnl, `equity.total_pnl (${e.total_pnl}) != portfolio.realized_pnl (${p.realized_pnl})`);

  // open positions
  const openIds = a.open.map((t) => t.id);
  check(p.open_positions.length === open, `portfolio.open_positions has ${p.open_positions.length} entries, the log ${open} OPEN trades`);
  check(rs.open_positions.length === open, `risk_state.open_positions has ${rs.open_positions.length} entries, the log ${open} OPEN trades`);
  check(
    p.open_positions.every((x, i) => x.trade_id === openIds[i]) && rs.open_positions.every((x, i) => x.trade_id === openIds[i]),
    'open_positions do not list the OPEN trades in log order',
  );
  check(e.portfolio_heat >= 0, `equity.portfolio_heat (${e.portfolio_heat}) < 0`);
  check(e.heat_per_position.length <= open, `equity.heat_per_position has ${e.heat_per_position.length} entries for ${open} OPEN trades`);
  for (const h of e.heat_per_position) {
    check(h.risk_pct >= 0, `heat_per_position ${h.trade_id}: risk_pct (${h.risk_pct}) < 0`);
    check(openIds.includes(h.trade_id), `heat_per_position ${h.trade_id} is not an OPEN trade`);
  }

  // drawdown
  check(e.max_drawdown_pct <= 0, `equity.max_drawdown_pct (${e.max_drawdown_pct}) > 0`);
  check(e.drawdown_percent <= 0, `equity.drawdown_percent (${e.drawdown_percent}) > 0`);
  check(e.peak_equity >= r2(start), `equity.peak_equity (${e.peak_equity}) < starting capital (${start})`);
  check(e.peak_equity >= e.current_equity, `equity.peak_equity (${e.peak_equity}) < current_equity (${e.current_equity})`);
  check(STATUSES.has(e.drawdown_status), `equity.drawdown_status ${JSON.stringify(e.drawdown_status)} is not a known status`);
  check(
    0 <= e.current_drawdown_days && e.current_drawdown_days <= e.max_drawdown_days && e.max_drawdown_days <= e.equity_curve.length,
    `drawdown days out of order: current ${e.current_drawdown_days}, max ${e.max_drawdown_days}, curve points ${e.equity_curve.length}`,
  );

  // equity curve
  const curve = e.equity_curve;
  const last = curve[curve.length - 1];
  if (last === undefined) {
    check(e.inception_date === rs.daily_reset_date, `empty curve but inception_date ${e.inception_date} is not today (${rs.daily_reset_date})`);
    check(e.current_equity === r2(start), `empty curve but current_equity (${e.current_equity}) != starting capital (${start})`);
  } else {
    check(curve[0]?.date === e.inception_date, `inception_date ${e.inception_date} != first curve date ${curve[0]?.date}`);
    check(last.date === rs.daily_reset_date, `last curve date ${last.date} is not today (${rs.daily_reset_date})`);
    check(last.equity === e.current_equity, `last curve point (${last.equity}) != current_equity (${e.current_equity})`);
    let prev = NaN;
    for (const pt of curve) {
      const d = dayOf(pt.date);
      if (!Number.isNaN(prev) && d !== prev + 1) {
        out.push(`equity_curve is not one point per consecutive day at ${pt.date}`);
        break;
      }
      prev = d;
      if (pt.equity > e.peak_equity) {
        out.push(`equity_curve point ${pt.date} (${pt.equity}) is above peak_equity (${e.peak_equity})`);
        break;
      }
    }
  }

  // rates and streaks
  check(e.win_rate >= 0 && e.win_rate <= 100, `equity.win_rate (${e.win_rate}) outside 0..100`);
  check(
    (e.profit_factor === null) === (e.losing_trades === 0),
    `equity.profit_factor (${e.profit_factor}) must be null exactly when there is no losing trade (${e.losing_trades})`,
  );
  check(e.profit_factor === null || e.profit_factor >= 0, `equity.profit_factor (${e.profit_factor}) < 0`);
  check(
    e.last_5_results.length === Math.min(5, closed),
    `equity.last_5_results has ${e.last_5_results.length} entries for ${closed} closed trades`,
  );
  check(
    e.max_win_streak >= 0 && e.max_loss_streak >= 0 && -e.max_loss_streak <= e.current_streak && e.current_streak <= e.max_win_streak,
    `streaks inconsistent: current ${e.current_streak}, max win ${e.max_win_streak}, max loss ${e.max_loss_streak}`,
  );
  check(
    e.max_win_streak <= a.wins && e.max_loss_streak <= a.losses,
    `streaks longer than the win/loss counts: ${e.max_win_streak}/${e.max_loss_streak} vs ${a.wins}/${a.losses}`,
  );

  // risk state
  check(rs.halted === (rs.halt_reason !== null), `risk_state.halted (${rs.halted}) disagrees with halt_reason (${rs.halt_reason})`);
  const today = dayOf(rs.daily_reset_date);
  const monday = dayOf(rs.weekly_reset_date);
  check(
    ((((monday + 3) % 7) + 7) % 7) === 0 && today - monday >= 0 && today - monday <= 6,
    `risk_state.weekly_reset_date ${rs.weekly_reset_date} is not the Monday of ${rs.daily_reset_date}'s week`,
  );

  // setup performance
  const groups = Object.entries(sp.setups);
  if (closed === 0) {
    check(groups.length === 0 && sp.total_closed === undefined, 'setup_performance lists setups but the log has no closed trade');
  } else {
    check(sp.total_closed === closed, `setup_performance.total_closed (${sp.total_closed}) != closed trades (${closed})`);
    let sum = 0;
    let wins = 0;
    let losses = 0;
    for (const [name, g] of groups) {
      sum += g.total_trades;
      wins += g.wins;
      losses += g.losses;
      check(
        g.wins + g.losses + g.breakeven === g.total_trades && g.trades.length === g.total_trades,
        `setup ${JSON.stringify(name)}: wins + losses + breakeven and trades must each equal total_trades (${g.total_trades})`,
      );
    }
    check(sum === closed, `Σ setup total_trades (${sum}) != closed trades (${closed})`);
    check(wins === a.wins && losses === a.losses, `Σ setup wins/losses (${wins}/${losses}) != closed wins/losses (${a.wins}/${a.losses})`);
    // integer-like names are reordered by JS objects themselves, so only check the others
    const ordered = groups.filter(([name]) => !INDEX_LIKE.test(name));
    for (let i = 1; i < ordered.length; i++) {
      const [prevName, prevG] = ordered[i - 1] as [string, { expectancy: number }];
      const [name, g] = ordered[i] as [string, { expectancy: number }];
      if (g.expectancy > prevG.expectancy) {
        out.push(`setups not sorted by expectancy: ${JSON.stringify(name)} (${g.expectancy}) after ${JSON.stringify(prevName)} (${prevG.expectancy})`);
        break;
      }
    }
  }
  return out;
}
