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

/**
 * The numbers a trader looks at after the run, as JSON. Every figure is the book's (the files'
 * `book` keys: docs/formulas.md), so the summary, `status` and the report say the same.
 */
export function summaryJson(s: SummaryInput): Record<string, unknown> {
  const e = s.state?.equity;
  const b = e?.book;
  const hb = s.state?.risk_state.book;
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
    peak_equity: b?.peak_equity ?? null,
    drawdown_pct: b?.drawdown_pct ?? null,
    max_drawdown_pct: b?.max_drawdown_pct ?? null,
    drawdown_status: b?.drawdown_status ?? null,
    halted: hb?.halted ?? null,
    halt_reason: hb?.halt_reason ?? null,
    win_rate: b?.win_rate ?? null,
    profit_factor: b?.profit_factor ?? null,
    avg_net_r: b?.avg_net_r ?? null,
    best_setup: best ? { name: best[0], ...best[1] } : null,
    checks: s.checks,
    verdict: s.checks.every((c) => c.ok) ? 'PASS' : 'FAIL',
  };
}

/** The setup with the best mean net R (the book's expectancy); ties and setups without one keep the file's order. */
function bestSetup(state: DerivedState | null): [string, SetupStats] | undefined {
  let best: [string, SetupStats] | undefined;
  for (const entry of Object.entries(state?.setup_performance.setups ?? {})) {
    const r = entry[1].book.avg_net_r;
    const top = best?.[1].book.avg_net_r;
    if (best === undefined || (r !== null && (top === null || top === undefined || r > top))) best = entry;
  }
  return best;
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
    const b = e.book;
    const hb = rs.book;
    out.push(
      `Equity        ${usd(e.current_equity)} (start ${usd(e.starting_capital)}, realized ${signedUsd(e.total_pnl)}, ${signedPct(e.total_return_pct)})`,
      `Drawdown      ${signedPct(b.drawdown_pct)} from peak ${usd(b.peak_equity)}, max ${signedPct(b.max_drawdown_pct)}, ${b.drawdown_status}; ${hb.halted ? `HALTED: ${hb.halt_reason}` : 'not halted'}`,
      `Win rate      ${b.win_rate === null ? 'n/a (no closed trade)' : pct(b.win_rate, 1)} (${b.wins} won, ${b.losses} lost, ${b.breakeven} breakeven), avg net R ${b.avg_net_r === null ? 'n/a' : r(b.avg_net_r)}`,
      `Profit factor ${b.profit_factor === null ? (b.wins > 0 ? 'no losing trade' : 'n/a') : decimal(b.profit_factor, 2)}`,
      `Best setup    ${
        best
          ? `${best[0]}: ${plural(best[1].total_trades, 'trade')}, win rate ${best[1].book.win_rate === null ? 'n/a' : pct(best[1].book.win_rate, 1)}, expectancy ${best[1].book.avg_net_r === null ? 'n/a' : r(best[1].book.avg_net_r)}, ${signedUsd(best[1].total_pnl)}`
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
