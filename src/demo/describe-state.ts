import { plain } from '../format.js';
import type { DerivedState } from '../index.js';

const { signedPct, signedUsd, usd } = plain;

/** One line from the reconciler's files, to show they follow the log while the bots run. */
export function describeState(s: DerivedState | null): string {
  if (s === null) return 'no derived state files yet';
  const p = s.portfolio;
  const e = s.equity;
  const open = p.open_positions.map((x) => x.symbol).join(', ');
  return (
    `equity ${usd(p.current_equity)} (realized ${signedUsd(p.realized_pnl)}), ` +
    `${p.open_positions.length} open${open ? ` (${open})` : ''}, ${p.total_trades} closed, ` +
    `drawdown ${signedPct(e.drawdown_percent)} ${e.drawdown_status}, ${s.risk_state.halted ? 'HALTED' : 'not halted'}`
  );
}
