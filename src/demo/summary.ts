import { plain } from '../format.js';
import type { DerivedState, Trade } from '../index.js';
import { RACE_SYMBOL } from './config.js';
import type { Ledger } from './ledger.js';
import type { Check } from './verdict.js';

const { decimal, pct, plural, r, signedPct, signedUsd, usd } = plain;

/** One setup's entry in setup_performance.json. */
type SetupStats = DerivedState['setup_performance']['setups'][string];

export interface SummaryInput {
  trades: readonly Trade[];
  state: DerivedState | null;
  ledger: Ledger;
  checks: readonly Check[];
}

/** The numbers a trader looks at after the run, as JSON. */
export function summaryJson(s: SummaryInput): Record<string, unknown> {
  const e = s.state?.equity;
  const rs = s.state?.risk_state;
  const best = bestSetup(s.state);
  const race = s.ledger.race();
  return {
    trades: {
      opened: s.trades.length,
      closed: s.trades.filter((t) => t.status === 'CLOSED').length,
      open: s.trades.filter((t) => t.status === 'OPEN').length,
    },
    rejections: Object.fromEntries([...s.ledger.rejectionsByCode()].sort((x, y) => y[1] - x[1])),
    race: { symbol: RACE_SYMBOL, winner: race.winners[0]?.id ?? null, duplicate_symbol: race.losers.filter((r) => r.code === 'DUPLICATE_SYMBOL').length },
    equity: e?.current_equity ?? null,
    realized_pnl: e?.total_pnl ?? null,
    total_return_pct: e?.total_return_pct ?? null,
    drawdown_pct: e?.drawdown_percent ?? null,
    max_drawdown_pct: e?.max_drawdown_pct ?? null,
    drawdown_status: e?.drawdown_status ?? null,
    halted: rs?.halted ?? null,
    halt_reason: rs?.halt_reason ?? null,
    win_rate: e?.win_rate ?? null,
    profit_factor: e?.profit_factor ?? null,
    best_setup: best ? { name: best[0], ...best[1] } : null,
    checks: s.checks,
    verdict: s.checks.every((c) => c.ok) ? 'PASS' : 'FAIL',
  };
}

/** setup_performance.json is sorted by expectancy, best first. */
function bestSetup(state: DerivedState | null): [string, SetupStats] | undefined {
  return Object.entries(state?.setup_performance.setups ?? {})[0];
}

export function summaryText(s: SummaryInput): string[] {
  const closed = s.trades.filter((t) => t.status === 'CLOSED').length;
  const race = s.ledger.race();
  const raceDup = race.losers.filter((r) => r.code === 'DUPLICATE_SYMBOL').length;
  const rejections = [...s.ledger.rejectionsByCode()]
    .sort((x, y) => y[1] - x[1])
    .map(([code, n]) => `${code} ${n}${code === 'DUPLICATE_SYMBOL' && raceDup > 0 ? ` (${raceDup} in the race)` : ''}`);
  const out = [
    '',
    '=== Summary ===',
    `Trades        ${s.trades.length} opened, ${closed} closed, ${s.trades.length - closed} still open`,
    `Rejections    ${rejections.length > 0 ? rejections.join(', ') : 'none'}`,
  ];
  const e = s.state?.equity;
  const rs = s.state?.risk_state;
  if (e && rs) {
    const best = bestSetup(s.state);
    out.push(
      `Equity        ${usd(e.current_equity)} (start ${usd(e.starting_capital)}, realized ${signedUsd(e.total_pnl)}, ${signedPct(e.total_return_pct)})`,
      `Drawdown      ${signedPct(e.drawdown_percent)} from peak, max ${signedPct(e.max_drawdown_pct)}, ${e.drawdown_status}; ${rs.halted ? `HALTED: ${rs.halt_reason}` : 'not halted'}`,
      `Win rate      ${pct(e.win_rate, 1)} (${e.winning_trades} won, ${e.losing_trades} lost, ${e.total_trades - e.winning_trades - e.losing_trades} breakeven)`,
      `Profit factor ${e.profit_factor === null ? (e.winning_trades > 0 ? 'no losing trade' : 'n/a') : decimal(e.profit_factor, 2)}`,
      `Best setup    ${
        best
          ? `${best[0]}: ${plural(best[1].total_trades, 'trade')}, win rate ${pct(best[1].win_rate, 1)}, expectancy ${r(best[1].expectancy)}, ${signedUsd(best[1].total_pnl)}`
          : 'n/a (no closed trade)'
      }`,
    );
  } else {
    out.push('Equity        n/a: the derived state files could not be read');
  }
  out.push('', '=== Integrity verdict ===');
  for (const c of s.checks) out.push(`  [${c.ok ? 'ok' : 'FAIL'}] ${c.label}${c.detail ? `: ${c.detail}` : ''}`);
  const failed = s.checks.filter((c) => !c.ok);
  out.push(
    failed.length === 0
      ? `VERDICT: PASS (${s.checks.length} of ${s.checks.length} checks hold)`
      : `VERDICT: FAIL (${failed.map((c) => c.label).join('; ')})`,
  );
  return out;
}
